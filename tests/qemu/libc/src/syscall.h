/* Internal: raw testbed system calls (numbers: tests/qemu/abi). */
#ifndef TB_SYSCALL_H
#define TB_SYSCALL_H

enum {
    TB_CONSOLE_WRITE = 1, TB_EXIT = 2, TB_THREAD_EXIT = 3, TB_SPAWN_THREAD = 4,
    TB_SPAWN_PROCESS = 5, TB_WAIT_PROCESS = 6, TB_THREAD_JOIN = 7, TB_GETPID = 8,
    TB_GETTID = 9, TB_GETPPID = 10, TB_GETUID = 11, TB_GETGID = 12, TB_SETUID = 13,
    TB_SETGID = 14, TB_CLOCK_GETTIME = 15, TB_NANOSLEEP = 16, TB_YIELD = 17,
    TB_KILL = 18, TB_SIGPROCMASK = 19, TB_SIGPENDING = 20, TB_MMAP_ANON = 21,
    TB_SHM_MAP = 22, TB_READ = 23, TB_WRITE = 24, TB_CLOSE = 25, TB_DUP = 26,
    TB_POLL = 27, TB_FCNTL = 28, TB_SYSCALL_COUNT = 29, TB_CLOCK_SETTIME = 30, TB_SIGQUEUE = 31, TB_SIGCATCH = 32,
    TB_IPC_PROBE = 35, TB_UMASK = 36, TB_SIGACTION = 37, TB_SIGRETURN = 38, TB_SIGTIMEDWAIT = 39, TB_SETITIMER = 40,
    TB_THREAD_KILL = 41, TB_SIGSUSPEND = 42, TB_FORK = 43, TB_WAITPID = 44, TB_PIPE2 = 45, TB_EXEC = 46, TB_SIGALTSTACK = 47, TB_CPU_INFO = 48, TB_MUNMAP = 49,
    TB_CLOCK_GETRES = 50, TB_STAT = 51, TB_FSTAT = 52, TB_SHM_OPEN = 53, TB_SHM_UNLINK = 54,
    TB_FTRUNCATE = 55, TB_MMAP_FD = 56,
};

static inline long __tb_syscall(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#else
#error "unsupported architecture"
#endif
}

#define tb_sys0(n) __tb_syscall((n), 0, 0, 0, 0, 0, 0)
#define tb_sys1(n, a) __tb_syscall((n), (long)(a), 0, 0, 0, 0, 0)
#define tb_sys2(n, a, b) __tb_syscall((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define tb_sys3(n, a, b, c) __tb_syscall((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define tb_sys4(n, a, b, c, d) __tb_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* A raw result to the libc convention: -1 with errno set, or the value. */
long __tb_ret(long r);

#endif
