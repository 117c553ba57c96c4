/* Bad C pointers handed to the shim's pointer arguments that a real kernel
 * receives unchanged (timerfd_settime new/old, timerfd_gettime, signalfd,
 * eventfd_read): NULL, 8, an object ending at the end of the user address
 * space, and one straddling from a mapped page into an unmapped one. Each
 * is -1/EFAULT from the hosted kernel itself, and nothing changes: the
 * timer setting, the fd table, the signal mask, the counter, the mapped
 * half of the buffer. (sem_t, deadlines and names are read in user space,
 * as glibc does: tests/qemu/c/shim_efault.c shows that part in QEMU.) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "check.h"
#include "hosted.h"

#define PAGE 4096UL
#define FILL 0xa5
#if defined(__x86_64__)
#define TOP_END 0x800000000000UL
#else
#define TOP_END 0x1000000000000UL
#endif

static unsigned char *page; /* mapped, followed by an unmapped page */

enum { KINDS = 4 };

static void *bad(int kind, unsigned long len)
{
    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return (void *)8;
    case 2:
        return (void *)(TOP_END - len);
    default:
        memset(page, FILL, PAGE);
        return page + PAGE - len / 2;
    }
}

static void check_fill(void)
{
    for (unsigned long i = 0; i < PAGE; i++)
        CHECK(page[i] == FILL);
}

static int armed_timer(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec set = {{7, 0}, {100, 0}};
    CHECK(fd >= 0 && timerfd_settime(fd, 0, &set, NULL) == 0);
    return fd;
}

static void check_timer(int fd)
{
    struct itimerspec cur;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 7 && cur.it_interval.tv_nsec == 0);
    CHECK(cur.it_value.tv_sec >= 50);
    CHECK(rb_shim_hosted_close(fd) == 0);
}

static int lowest_free_fd(void)
{
    int fd = eventfd(0, 0);
    CHECK(fd >= 0 && rb_shim_hosted_close(fd) == 0);
    return fd;
}

int main(void)
{
    page = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED && munmap(page + PAGE, PAGE) == 0);
    memset(page, FILL, PAGE);
    struct itimerspec other = {{3, 0}, {200, 0}};
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);

    for (int k = 0; k < KINDS; k++) {
        int fd = armed_timer();
        CHECK_ERR(timerfd_settime(fd, 0, bad(k, 32), NULL), EFAULT);
        check_timer(fd);

        if (k > 0) { /* NULL old is "no old value" */
            fd = armed_timer();
            CHECK_ERR(timerfd_settime(fd, 0, &other, bad(k, 32)), EFAULT);
            check_timer(fd);
            check_fill();
        }

        fd = armed_timer();
        CHECK_ERR(timerfd_gettime(fd, bad(k, 32)), EFAULT);
        check_timer(fd);
        check_fill();

        int before = lowest_free_fd();
        CHECK_ERR(signalfd(-1, bad(k, 8), SFD_NONBLOCK), EFAULT);
        CHECK(lowest_free_fd() == before);

        int sfd = signalfd(-1, &usr1, SFD_NONBLOCK);
        CHECK(sfd >= 0);
        CHECK_ERR(signalfd(sfd, bad(k, 8), 0), EFAULT);
        rb_shim_hosted_raise(SIGUSR1); /* the mask still has it */
        struct signalfd_siginfo si;
        CHECK(rb_shim_hosted_read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1);
        CHECK(rb_shim_hosted_close(sfd) == 0);

        int efd = eventfd(5, EFD_NONBLOCK);
        CHECK(efd >= 0);
        CHECK_ERR(eventfd_read(efd, bad(k, 8)), EFAULT);
        check_fill();
        CHECK_ERR(rb_shim_hosted_read(efd, bad(k, 8), 8), EFAULT);
        check_fill();
        eventfd_t v = 0;
        CHECK(eventfd_read(efd, &v) == 0 && v == 5); /* not consumed */
        CHECK(rb_shim_hosted_close(efd) == 0);
    }

    /* A read-only page is readable but not writable. */
    unsigned char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    int fd = armed_timer();
    CHECK_ERR(timerfd_gettime(fd, (struct itimerspec *)ro), EFAULT);
    CHECK_ERR(timerfd_settime(fd, 0, &other, (struct itimerspec *)ro), EFAULT);
    check_timer(fd);
    struct itimerspec zero = {{0, 0}, {0, 0}};
    fd = armed_timer();
    CHECK(timerfd_settime(fd, 0, (const struct itimerspec *)ro, NULL) == 0); /* all zero: disarm */
    CHECK(timerfd_gettime(fd, &other) == 0 && memcmp(&other, &zero, sizeof zero) == 0);
    CHECK(rb_shim_hosted_close(fd) == 0);
    return 0;
}
