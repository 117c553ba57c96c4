/* A futex word in a page that is mapped but not yet resident: the kernel
 * is the first to touch it. On Redox anonymous and file mappings get
 * their frames on the first fault, so the adapter's no-fault read
 * (read_user_u32_nofault) answers "not resident" and the futex table
 * must drop its bucket lock, fault the page in (fault_in_user) and retry
 * the compare; a read that gave up would be EFAULT, one that compared a
 * wrong value would sleep or not sleep where it must not. Every case uses
 * a fresh page that no user-space instruction has touched before the
 * call, for each of SYS_FUTEX, SYS_RB_FUTEX and SYS_RB_FUTEX shared:
 *   - the value differs (the word is 0, the call expects 7): EAGAIN;
 *   - the value matches: sleeps until its timeout, ETIMEDOUT;
 *   - the value matches and another thread wakes it: 0, with one woken;
 *   - across fork on MAP_SHARED|MAP_ANONYMOUS: a child waits on a page
 *     neither process touched and the parent's wake reaches it; then the
 *     parent waits and a child that never touched the page wakes it (the
 *     wake's key is the frame, so the wake side faults it in too);
 *   - a page of a file mapping (our own executable) never read through
 *     the mapping: EAGAIN against the value read with pread, ETIMEDOUT
 *     against that value.
 * Redox only in what it exercises; compiles unchanged against glibc on
 * Linux (-lpthread), where the same results hold. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../qemu/c/check.h"
#include "../futex_os.h"

#define PAGE 4096
/* Not at the page's start: the word's offset must survive the retry. */
#define WORD_OFF 1000

static uint32_t *fresh_word(int shared)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                   (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p == MAP_FAILED ? NULL : (uint32_t *)((char *)p + WORD_OFF);
}

static void drop_word(uint32_t *w)
{
    if (w)
        munmap((char *)w - WORD_OFF, PAGE);
}

struct waiter {
    enum fx_kind kind;
    uint32_t *word;
    int result;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    w->result = fx_wait(w->kind, w->word, 0, 10 * 1000000000L);
    return NULL;
}

/* Wakes *word until one waiter was woken (or 10 s passed): never writes
 * the word, so the waiter's call is what faulted the page in. */
static long wake_one(enum fx_kind kind, uint32_t *word)
{
    struct timespec d = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 5000; i++) {
        long n = fx_wake(kind, word, 1);
        if (n != 0)
            return n;
        nanosleep(&d, NULL);
    }
    return 0;
}

static void threads_case(enum fx_kind kind)
{
    uint32_t *w = fresh_word(kind != FX_RB);
    if (!w)
        return;
    int r = fx_wait(kind, w, 7, 1000000000L);
    printf("futex_fault_in: %-19s fresh page, expects 7: %d (%s)\n", fx_name[kind], r,
           r == EAGAIN ? "EAGAIN, ok" : "FAILED");
    CHECK(r == EAGAIN);
    drop_word(w);

    w = fresh_word(kind != FX_RB);
    if (!w)
        return;
    r = fx_wait(kind, w, 0, 30 * 1000000L);
    printf("futex_fault_in: %-19s fresh page, 30 ms: %d (%s)\n", fx_name[kind], r,
           r == ETIMEDOUT ? "ETIMEDOUT, ok" : "FAILED");
    CHECK(r == ETIMEDOUT);
    drop_word(w);

    w = fresh_word(kind != FX_RB);
    if (!w)
        return;
    struct waiter wt = {kind, w, -1};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_thread, &wt) == 0);
    long n = wake_one(kind, w);
    CHECK(pthread_join(t, NULL) == 0);
    printf("futex_fault_in: %-19s fresh page, woken by a thread: wake %ld, wait %d (%s)\n",
           fx_name[kind], n, wt.result, n == 1 && wt.result == 0 ? "ok" : "FAILED");
    CHECK(n == 1);
    CHECK(wt.result == 0);
    drop_word(w);
}

static void fork_case(enum fx_kind kind)
{
    /* The child waits on a page neither process touched. */
    uint32_t *w = fresh_word(1);
    if (!w)
        return;
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0)
        _exit(fx_wait(kind, w, 0, 10 * 1000000000L) == 0 ? 0 : 1);
    long n = wake_one(kind, w);
    int st = -1;
    CHECK(waitpid(c, &st, 0) == c);
    int ok = n == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("futex_fault_in: %-19s MAP_SHARED, child waits, parent wakes: wake %ld, child %d (%s)\n",
           fx_name[kind], n, st, ok ? "ok" : "FAILED");
    CHECK(ok);
    drop_word(w);

    /* The parent waits (its call faults the page in); a child that never
     * touched the page wakes it. */
    w = fresh_word(1);
    if (!w)
        return;
    c = fork();
    CHECK(c >= 0);
    if (c == 0)
        _exit(wake_one(kind, w) == 1 ? 0 : 1);
    int r = fx_wait(kind, w, 0, 10 * 1000000000L);
    st = -1;
    CHECK(waitpid(c, &st, 0) == c);
    ok = r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("futex_fault_in: %-19s MAP_SHARED, parent waits, child wakes: wait %d, child %d (%s)\n",
           fx_name[kind], r, st, ok ? "ok" : "FAILED");
    CHECK(ok);
    drop_word(w);
}

/* A page of our own executable, mapped and never read through the
 * mapping. Redox: the image's first process is /scheme/initfs/bin/init. */
static void file_case(enum fx_kind kind)
{
    static const char *const paths[] = {"/scheme/initfs/bin/init", "/proc/self/exe"};
    int fd = -1;
    for (unsigned i = 0; i < sizeof paths / sizeof paths[0] && fd < 0; i++)
        fd = open(paths[i], O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    off_t off = 2 * PAGE;
    uint32_t v = 0;
    CHECK(pread(fd, &v, sizeof v, off + WORD_OFF) == (ssize_t)sizeof v);
    void *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, off);
    CHECK(p != MAP_FAILED);
    if (p != MAP_FAILED) {
        uint32_t *w = (uint32_t *)((char *)p + WORD_OFF);
        int r1 = fx_wait(kind, w, v + 1, 1000000000L);
        int r2 = fx_wait(kind, w, v, 30 * 1000000L);
        /* Only now does user space read the word: what the mapping holds,
         * to tell a wrong page from a wrong futex read. */
        uint32_t seen = *(volatile uint32_t *)w;
        int ok = r1 == EAGAIN && r2 == ETIMEDOUT && seen == v;
        printf("futex_fault_in: %-19s file page (word 0x%08x): %d then %d, then read 0x%08x (%s)\n",
               fx_name[kind], (unsigned)v, r1, r2, (unsigned)seen,
               ok ? "EAGAIN, ETIMEDOUT: ok" : "FAILED");
        CHECK(r1 == EAGAIN);
        CHECK(r2 == ETIMEDOUT);
        CHECK(seen == v);
        munmap(p, PAGE);
    }
    /* The same with the page read by user space first (resident before
     * the call): separates the fault-in path from the mapping itself. */
    p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, off);
    CHECK(p != MAP_FAILED);
    if (p != MAP_FAILED) {
        uint32_t *w = (uint32_t *)((char *)p + WORD_OFF);
        uint32_t seen = *(volatile uint32_t *)w;
        int r = fx_wait(kind, w, seen, 30 * 1000000L);
        printf("futex_fault_in: %-19s file page read first (0x%08x): %d (%s)\n", fx_name[kind],
               (unsigned)seen, r, r == ETIMEDOUT && seen == v ? "ETIMEDOUT: ok" : "FAILED");
        CHECK(seen == v);
        CHECK(r == ETIMEDOUT);
        munmap(p, PAGE);
    }
    close(fd);
}

int main(void)
{
    for (int k = FX_SYS; k <= FX_RB_SHARED; k++)
        threads_case((enum fx_kind)k);
    fork_case(FX_SYS);
    fork_case(FX_RB_SHARED);
    file_case(FX_SYS);
    file_case(FX_RB);
    printf("futex_fault_in: %s\n", failures ? "FAILED" : "all cases passed");
    return failures ? 1 : 0;
}
