/* Process start, exit, errno, and malloc for the testbed's C programs. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syscall.h"
#include "thread.h"

int main(int argc, char **argv);

#if defined(__x86_64__)
__asm__(".section .text._start, \"ax\"\n"
        ".global _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rsi\n"
        "  and $-16, %rsp\n"
        "  call __libc_start\n"
        "  ud2\n"
        ".text\n");
#elif defined(__aarch64__)
__asm__(".section .text._start, \"ax\"\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x1, sp\n"
        "  bl __libc_start\n"
        "  udf #0\n"
        ".text\n");
#endif

/* The kernel passes one word (the spawn argument, 0 after exec), kept
 * for __tb_start_arg(), and lays out argc, argv (a program started by the
 * runner or tb_spawn gets its own name as argv[0]; exec the argv it was
 * given), an empty envp and auxv at the stack pointer, as Linux does. */
static unsigned long start_arg;

unsigned long __tb_start_arg(void) { return start_arg; }

void __tb_note_main_stack(unsigned long sp);

__attribute__((noreturn, used)) void __libc_start(unsigned long arg, long *sp)
{
    start_arg = arg;
    __tb_note_main_stack((unsigned long)sp);
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    exit(main(argc, argv));
}

void exit(int status)
{
    tb_sys1(TB_EXIT, status);
    for (;;) {
    }
}

void _exit(int status) { exit(status); }

void abort(void)
{
    static const char msg[] = "abort()\n";
    tb_sys2(TB_CONSOLE_WRITE, msg, sizeof msg - 1);
    exit(134);
}

/* errno: in the calling thread's record, found by its stack pointer
 * (thread.h), so an error costs no system call. */
int *__errno_location(void) { return &__tb_self()->err; }

long __tb_ret(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* malloc: a bump allocator over MMAP_ANON chunks; free keeps nothing.
 * Each block has a 16-byte header holding its size (for realloc). */
#define CHUNK (1UL << 20)
static int heap_lock;
static uintptr_t heap_next, heap_end;

static void lock(void)
{
    while (__atomic_exchange_n(&heap_lock, 1, __ATOMIC_ACQUIRE)) {
        tb_sys0(TB_YIELD);
    }
}

static void unlock(void) { __atomic_store_n(&heap_lock, 0, __ATOMIC_RELEASE); }

void *malloc(size_t size)
{
    if (size > (16UL << 20) - 32) {
        errno = ENOMEM;
        return 0;
    }
    size_t need = (size + 16 + 15) & ~(size_t)15;
    lock();
    if (heap_next == 0 || heap_next + need > heap_end) {
        size_t len = need > CHUNK ? need : CHUNK;
        long base = tb_sys1(TB_MMAP_ANON, len);
        if (base < 0) {
            unlock();
            errno = ENOMEM;
            return 0;
        }
        heap_next = (uintptr_t)base;
        heap_end = heap_next + len;
    }
    uintptr_t p = heap_next;
    heap_next += need;
    unlock();
    *(size_t *)p = size;
    return (void *)(p + 16);
}

void *calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size) {
        errno = ENOMEM;
        return 0;
    }
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size); /* MMAP_ANON pages are zero, but be plain */
    return p;
}

void *realloc(void *old, size_t size)
{
    void *p = malloc(size);
    if (p && old) {
        size_t had = *(size_t *)((uintptr_t)old - 16);
        memcpy(p, old, had < size ? had : size);
    }
    return p;
}

void free(void *p) { (void)p; }

int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }

unsigned long strtoul(const char *s, char **end, int base)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '+')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0 && s[0] == '0') {
        base = 8;
    } else if (base == 0) {
        base = 10;
    }
    unsigned long v = 0;
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'z')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'Z')
            d = *s - 'A' + 10;
        else
            break;
        if (d >= base)
            break;
        v = v * (unsigned long)base + (unsigned long)d;
    }
    if (end)
        *end = (char *)s;
    return v;
}

long strtol(const char *s, char **end, int base)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    int neg = *s == '-';
    if (neg)
        s++;
    unsigned long v = strtoul(s, end, base);
    return neg ? -(long)v : (long)v;
}

int atoi(const char *s) { return (int)strtol(s, 0, 10); }
