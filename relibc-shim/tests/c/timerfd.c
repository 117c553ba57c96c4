/* timerfd: create (clocks, flags), settime relative/absolute/periodic,
 * the old value, gettime, disarm, expirations counted by read, errno
 * values. Reads go through the hosted hook (the fd is the hosted
 * kernel's). Absolute CLOCK_MONOTONIC timers are not used here: the
 * hosted kernel's monotonic clock is not the host's (README.md). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

_Static_assert(TFD_NONBLOCK == O_NONBLOCK, "TFD_NONBLOCK is O_NONBLOCK");
_Static_assert(TFD_CLOEXEC == O_CLOEXEC, "TFD_CLOEXEC is O_CLOEXEC");
_Static_assert(sizeof(struct itimerspec) == 32, "itimerspec is 32 bytes");

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static uint64_t expirations(int fd)
{
    uint64_t n = 0;
    CHECK(rb_shim_hosted_read(fd, &n, sizeof n) == 8);
    return n;
}

int main(void)
{
    struct itimerspec its = {{0, 0}, {0, 20000000L}}, cur, old;

    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* gettime counts down */
    struct itimerspec two = {{0, 0}, {2, 0}};
    CHECK(timerfd_settime(fd, 0, &two, NULL) == 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK((cur.it_value.tv_sec == 1 && cur.it_value.tv_nsec > 0) ||
          (cur.it_value.tv_sec == 2 && cur.it_value.tv_nsec == 0));
    uint64_t n;
    CHECK_ERR(rb_shim_hosted_read(fd, &n, sizeof n), EAGAIN);

    /* one-shot, relative: one expiration */
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0);
    sleep_ms(60);
    CHECK(expirations(fd) == 1);
    CHECK_ERR(rb_shim_hosted_read(fd, &n, sizeof n), EAGAIN);
    unsigned char small[4];
    CHECK_ERR(rb_shim_hosted_read(fd, small, sizeof small), EINVAL);

    /* periodic, and the old value comes back */
    struct itimerspec per = {{0, 10000000L}, {0, 10000000L}};
    CHECK(timerfd_settime(fd, 0, &per, &old) == 0);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0); /* expired */
    sleep_ms(75);
    uint64_t got = expirations(fd);
    CHECK(got >= 3); /* at least 75 ms / 10 ms, less scheduling slack */
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 10000000L);

    /* disarm: a zero it_value; the interval is kept */
    struct itimerspec zero = {{0, 10000000L}, {0, 0}};
    CHECK(timerfd_settime(fd, 0, &zero, &old) == 0);
    CHECK(old.it_interval.tv_nsec == 10000000L);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    sleep_ms(30);
    CHECK_ERR(rb_shim_hosted_read(fd, &n, sizeof n), EAGAIN);

    /* absolute on CLOCK_REALTIME, already past: expires at once */
    int rfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    CHECK(rfd >= 0);
    struct itimerspec past = {{0, 0}, {1, 0}};
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &past, NULL) == 0);
    sleep_ms(20);
    CHECK(expirations(rfd) == 1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec soon = {{0, 0}, {now.tv_sec + 1, now.tv_nsec}};
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &soon, NULL) == 0);
    CHECK(timerfd_gettime(rfd, &cur) == 0);
    CHECK(cur.it_value.tv_sec <= 1 && (cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0));

    /* errors */
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    bad.it_value.tv_nsec = -1;
    CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(fd, 0x8, &its, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(fd, 0, NULL, NULL), EFAULT);
    CHECK_ERR(timerfd_gettime(fd, NULL), EFAULT);
    CHECK_ERR(timerfd_settime(12345, 0, &its, NULL), EBADF);
    CHECK_ERR(timerfd_gettime(-1, &cur), EBADF);
    int efd = eventfd(0, 0);
    CHECK(efd >= 0);
    CHECK_ERR(timerfd_settime(efd, 0, &its, NULL), EINVAL); /* not a timerfd */
    CHECK_ERR(timerfd_gettime(efd, &cur), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(timerfd_create(-1, 0), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x4), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM);
    int bfd = timerfd_create(CLOCK_BOOTTIME, 0);
    CHECK(bfd >= 0);

    CHECK(rb_shim_hosted_close(bfd) == 0);
    CHECK(rb_shim_hosted_close(efd) == 0);
    CHECK(rb_shim_hosted_close(rfd) == 0);
    CHECK(rb_shim_hosted_close(fd) == 0);
    return 0;
}
