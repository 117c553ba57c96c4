/* eventfd: creation flags, counter and semaphore modes, nonblocking
 * EAGAIN, overflow limits, errno values. The fd lives in the hosted
 * kernel, so reads and writes other than eventfd_read/eventfd_write go
 * through the hosted hooks (the program's own read/write are the host's). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "check.h"
#include "hosted.h"

_Static_assert(EFD_NONBLOCK == O_NONBLOCK, "EFD_NONBLOCK is O_NONBLOCK");
_Static_assert(EFD_CLOEXEC == O_CLOEXEC, "EFD_CLOEXEC is O_CLOEXEC");

static int blocking_fd;

static void *reader(void *arg)
{
    (void)arg;
    eventfd_t v = 0;
    CHECK(eventfd_read(blocking_fd, &v) == 0 && v == 42);
    return NULL;
}

int main(void)
{
    eventfd_t v = 0;

    int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(eventfd_read(fd, &v) == 0 && v == 3);
    CHECK_ERR(eventfd_read(fd, &v), EAGAIN);
    CHECK(eventfd_write(fd, 5) == 0);
    CHECK(eventfd_write(fd, 7) == 0);
    CHECK(eventfd_read(fd, &v) == 0 && v == 12);
    CHECK_ERR(eventfd_write(fd, UINT64_MAX), EINVAL);
    CHECK(eventfd_write(fd, UINT64_MAX - 1) == 0);
    CHECK_ERR(eventfd_write(fd, 1), EAGAIN); /* would pass the maximum */
    CHECK(eventfd_read(fd, &v) == 0 && v == UINT64_MAX - 1);
    CHECK_ERR(eventfd_read(fd, NULL), EFAULT);

    /* raw read/write sizes */
    unsigned char small[4];
    uint64_t one = 1;
    unsigned char big[16] = {0};
    CHECK_ERR(rb_shim_hosted_read(fd, small, sizeof small), EINVAL);
    CHECK_ERR(rb_shim_hosted_write(fd, small, sizeof small), EINVAL);
    CHECK(rb_shim_hosted_write(fd, &one, sizeof one) == 8);
    CHECK(rb_shim_hosted_read(fd, big, sizeof big) == 8);
    CHECK(rb_shim_hosted_close(fd) == 0);
    CHECK_ERR(eventfd_read(fd, &v), EBADF);
    CHECK_ERR(eventfd_write(fd, 1), EBADF);
    CHECK_ERR(rb_shim_hosted_close(fd), EBADF);

    /* EFD_SEMAPHORE: each read takes one */
    int sfd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(sfd >= 0);
    CHECK(eventfd_read(sfd, &v) == 0 && v == 1);
    CHECK(eventfd_read(sfd, &v) == 0 && v == 1);
    CHECK_ERR(eventfd_read(sfd, &v), EAGAIN);
    CHECK(rb_shim_hosted_close(sfd) == 0);

    /* a blocking read sleeps until a write */
    blocking_fd = eventfd(0, 0);
    CHECK(blocking_fd >= 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reader, NULL) == 0);
    CHECK(rb_wait_parked(1));
    CHECK(eventfd_write(blocking_fd, 42) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(rb_shim_hosted_close(blocking_fd) == 0);

    /* bad flags */
    CHECK_ERR(eventfd(0, 0x4), EINVAL);
    CHECK_ERR(eventfd(0, ~0), EINVAL);
    CHECK_ERR(eventfd_read(-1, &v), EBADF);
    return 0;
}
