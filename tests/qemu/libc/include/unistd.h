#ifndef _UNISTD_H
#define _UNISTD_H
#include <features.h>
#include <sys/types.h>
#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2
/* Options this runtime supports (glibc's values); the others (timers,
 * shared memory objects, ...) are left undefined. */
#define _POSIX_VERSION 200809L
#define _POSIX_SEMAPHORES 200809L
#define _POSIX_THREADS 200809L
#define _POSIX_TIMEOUTS 200809L
#define _POSIX_REALTIME_SIGNALS 200809L
#define _POSIX_MONOTONIC_CLOCK 200809L
#define _POSIX_CLOCK_SELECTION 200809L
#define _POSIX_THREAD_PROCESS_SHARED 200809L
#define _POSIX_THREAD_ATTR_STACKSIZE 200809L
#define _POSIX_MESSAGE_PASSING 200809L
#define _POSIX_SHARED_MEMORY_OBJECTS 200809L
#define _POSIX_THREAD_ATTR_STACKADDR 200809L
#define _SC_ARG_MAX 0
#define _SC_CLK_TCK 2
#define _SC_NGROUPS_MAX 3
#define _SC_OPEN_MAX 4
#define _SC_REALTIME_SIGNALS 9
#define _SC_MESSAGE_PASSING 20
#define _SC_SEMAPHORES 21
#define _SC_SHARED_MEMORY_OBJECTS 22
#define _SC_MQ_OPEN_MAX 27
#define _SC_MQ_PRIO_MAX 28
#define _SC_VERSION 29
#define _SC_PAGESIZE 30
#define _SC_PAGE_SIZE _SC_PAGESIZE
#define _SC_RTSIG_MAX 31
#define _SC_SEM_NSEMS_MAX 32
#define _SC_SEM_VALUE_MAX 33
#define _SC_SIGQUEUE_MAX 34
#define _SC_THREADS 67
#define _SC_THREAD_DESTRUCTOR_ITERATIONS 73
#define _SC_THREAD_KEYS_MAX 74
#define _SC_THREAD_STACK_MIN 75
#define _SC_THREAD_THREADS_MAX 76
#define _SC_THREAD_ATTR_STACKADDR 77
#define _SC_THREAD_ATTR_STACKSIZE 78
#define _SC_THREAD_PROCESS_SHARED 82
#define _SC_NPROCESSORS_CONF 83
#define _SC_NPROCESSORS_ONLN 84
#define _SC_CLOCK_SELECTION 137
#define _SC_MONOTONIC_CLOCK 149
#define _SC_TIMEOUTS 164
long sysconf(int name);
ssize_t read(int fd, void *buf, size_t count);
ssize_t write(int fd, const void *buf, size_t count);
int close(int fd);
int dup(int fd);
/* Of a shm_open fd only (EINVAL for any other, as a pipe's on Linux). */
int ftruncate(int fd, off_t len);
int pipe(int fds[2]);
/* pipe2 is _GNU_SOURCE in glibc; declared unconditionally (O_NONBLOCK,
 * O_CLOEXEC from <fcntl.h>). */
int pipe2(int fds[2], int flags);
pid_t getpid(void);
pid_t getppid(void);
pid_t gettid(void);
uid_t getuid(void);
uid_t geteuid(void);
gid_t getgid(void);
gid_t getegid(void);
int setuid(uid_t uid);
int setgid(gid_t gid);
unsigned sleep(unsigned seconds);
int usleep(unsigned long usec);
void _exit(int status) __attribute__((noreturn));
int sched_yield(void);
/* Raw system call: -1 with errno on failure (as glibc's). */
long syscall(long number, ...);
int pause(void);
pid_t fork(void);
unsigned alarm(unsigned seconds);
/* exec of an embedded program: the archive is the file system, a path
 * names the program by its last component. There is no environment, so
 * no execve/execle/environ (a program using them does not build). On
 * success they do not return; -1 with errno ENOENT, E2BIG, EFAULT. */
int execv(const char *path, char *const argv[]);
int execvp(const char *file, char *const argv[]);
int execl(const char *path, const char *arg, ...);
int execlp(const char *file, const char *arg, ...);
#endif
