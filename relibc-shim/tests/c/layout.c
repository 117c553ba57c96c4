/* sem_t and struct timespec as the C compiler lays them out equal what
 * the shim's Rust side assumes, and the libc constants it translates
 * (O_CREAT, O_EXCL, CLOCK_*) are this libc's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stddef.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

_Static_assert(sizeof(sem_t) == 32, "sem_t is 32 bytes (as glibc's)");
_Static_assert(_Alignof(sem_t) == 8, "sem_t is aligned as long");

int main(void)
{
    CHECK(rb_shim_sem_abi(0) == (long long)sizeof(sem_t));
    CHECK(rb_shim_sem_abi(1) == (long long)_Alignof(sem_t));
    CHECK(rb_shim_sem_abi(2) == SEM_VALUE_MAX);
    CHECK(rb_shim_sem_abi(3) == (long long)sizeof(struct timespec));
    CHECK(rb_shim_sem_abi(4) == (long long)offsetof(struct timespec, tv_nsec));
    CHECK(rb_shim_sem_abi(5) == O_CREAT);
    CHECK(rb_shim_sem_abi(6) == O_EXCL);
    CHECK(rb_shim_sem_abi(7) == CLOCK_REALTIME);
    CHECK(rb_shim_sem_abi(8) == CLOCK_MONOTONIC);
    CHECK(rb_shim_sem_abi(99) == -1);
    CHECK(SEM_FAILED == (sem_t *)0);
    return 0;
}
