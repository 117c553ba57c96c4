/* signalfd: create, read whole records of pending masked signals, replace
 * the mask, flags and errno values. Signals here are the hosted kernel's
 * (rb_shim_hosted_raise, as kill(getpid(), sig) would make one pending),
 * and reads go through the hosted hook. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include "check.h"
#include "hosted.h"

_Static_assert(sizeof(struct signalfd_siginfo) == 128, "128 bytes");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_pid) == 12, "ssi_pid");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_int) == 44, "ssi_int");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_ptr) == 48, "ssi_ptr");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_addr_lsb) == 80, "ssi_addr_lsb");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_syscall) == 84, "ssi_syscall");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_call_addr) == 88, "ssi_call_addr");
_Static_assert(offsetof(struct signalfd_siginfo, ssi_arch) == 96, "ssi_arch");
_Static_assert(SFD_NONBLOCK == O_NONBLOCK, "SFD_NONBLOCK is O_NONBLOCK");
_Static_assert(SFD_CLOEXEC == O_CLOEXEC, "SFD_CLOEXEC is O_CLOEXEC");

int main(void)
{
    sigset_t mask;
    struct signalfd_siginfo info[2];

    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_ERR(rb_shim_hosted_read(fd, info, sizeof info), EAGAIN);

    rb_shim_hosted_raise(SIGUSR1);
    CHECK_ERR(rb_shim_hosted_read(fd, info, 64), EINVAL); /* under 128 bytes */
    CHECK(rb_shim_hosted_read(fd, info, sizeof info) == 128);
    CHECK(info[0].ssi_signo == SIGUSR1);
    CHECK_ERR(rb_shim_hosted_read(fd, info, sizeof info), EAGAIN); /* consumed */

    /* a signal outside the mask is not read */
    rb_shim_hosted_raise(SIGUSR2);
    CHECK_ERR(rb_shim_hosted_read(fd, info, sizeof info), EAGAIN);

    /* the same fd with a new mask */
    sigset_t mask2;
    sigemptyset(&mask2);
    sigaddset(&mask2, SIGUSR2);
    CHECK(signalfd(fd, &mask2, 0) == fd);
    CHECK(rb_shim_hosted_read(fd, info, sizeof info) == 128);
    CHECK(info[0].ssi_signo == SIGUSR2);

    /* errors */
    CHECK_ERR(signalfd(-1, &mask, 0x4), EINVAL);
    CHECK_ERR(signalfd(-1, NULL, 0), EFAULT);
    CHECK_ERR(signalfd(12345, &mask, 0), EBADF);
    int efd = eventfd(0, 0);
    CHECK(efd >= 0);
    CHECK_ERR(signalfd(efd, &mask, 0), EINVAL); /* not a signalfd */

    CHECK(rb_shim_hosted_close(efd) == 0);
    CHECK(rb_shim_hosted_close(fd) == 0);
    return 0;
}
