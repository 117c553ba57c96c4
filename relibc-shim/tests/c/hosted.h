/* Test hooks of relibc-shim's hosted backend (src/backend/hosted.rs). */
#ifndef RB_HOSTED_H
#define RB_HOSTED_H
unsigned long long rb_shim_hosted_syscalls(void);
int rb_shim_hosted_parked(void);
void rb_shim_hosted_raise(int sig);
void rb_shim_hosted_take_signal(int sig);
int rb_shim_hosted_pending(int sig);
void rb_shim_hosted_set_creds(unsigned uid, unsigned gid);
long long rb_shim_sem_abi(int what);
/* read/write/close on the hosted kernel's fds (the program's own read,
 * write and close are the host's). */
#include <stddef.h>
long rb_shim_hosted_read(int fd, void *buf, size_t len);
long rb_shim_hosted_write(int fd, const void *buf, size_t len);
int rb_shim_hosted_close(int fd);

/* Sleeps until `n` tasks sleep in the hosted kernel (5 s at most). */
#include <time.h>
static inline int rb_wait_parked(int n)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 5000; i++) {
        if (rb_shim_hosted_parked() >= n)
            return 1;
        nanosleep(&ms, NULL);
    }
    return 0;
}
#endif
