/* Shared by the *_stress.c programs. Each runs a bounded number of
 * operations from several threads or processes and then checks exact
 * totals. They are Linux programs too (tests/posix_c_glibc.rs builds and
 * runs them with glibc), so only POSIX and Linux calls appear here.
 *
 * stress_watchdog(name, seconds) arms alarm(): a program that has not
 * finished by then (a lost wake-up leaves threads asleep forever) prints
 * the program, the phase it was in and its progress counter, runs the
 * cleanup hook (remove IPC objects, kill children) and exits 2, so a hang
 * is a failure of that program and not of the whole run. Forked children
 * call it again: alarm() is not inherited across fork. */
#ifndef STRESS_H
#define STRESS_H
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "posix_check.h"

/* Seconds before the watchdog fires: well inside the testbed runner's
 * 10 s budget per program, far above what a run takes. */
#define STRESS_SECONDS 8

static const char *stress_name = "stress";
static const char *volatile stress_phase = "start";
static volatile long stress_progress;
static void (*volatile stress_cleanup)(void);
/* Children the watchdog kills (SIGKILL) before it exits. */
#define STRESS_MAX_CHILDREN 16
static volatile pid_t stress_children[STRESS_MAX_CHILDREN];
static volatile int stress_nchildren;

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

static void stress_put(const char *s) { (void)!write(1, s, strlen(s)); }

static inline void stress_put_long(long v)
{
    char buf[24];
    int i = sizeof buf;
    int neg = v < 0;
    unsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (neg)
        buf[--i] = '-';
    (void)!write(1, buf + i, sizeof buf - i);
}

/* Async-signal-safe: write(2), kill(2) and _exit(2) only (the hooks). */
static void stress_on_alarm(int sig)
{
    (void)sig;
    stress_put(stress_name);
    stress_put(": watchdog: not done after ");
    stress_put_long(STRESS_SECONDS);
    stress_put(" s in phase '");
    stress_put(stress_phase);
    stress_put("', progress ");
    stress_put_long(stress_progress);
    stress_put(" (a lost wake-up or a hang)\n");
    for (int i = 0; i < stress_nchildren; i++)
        kill(stress_children[i], SIGKILL);
    if (stress_cleanup)
        stress_cleanup();
    _exit(2);
}

static inline void stress_watchdog(const char *name)
{
    stress_name = name;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stress_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(STRESS_SECONDS);
}

/* fork() for the program: the parent's watchdog kills the child, the
 * child gets a watchdog of its own (named `name`) and no children. */
static inline pid_t stress_fork(const char *name)
{
    pid_t pid = fork();
    if (pid == 0) {
        stress_nchildren = 0;
        stress_name = name;
        alarm(STRESS_SECONDS);
    } else if (pid > 0 && stress_nchildren < STRESS_MAX_CHILDREN) {
        stress_children[stress_nchildren] = pid;
        stress_nchildren = stress_nchildren + 1;
    }
    return pid;
}

static inline void stress_set_phase(const char *phase)
{
    stress_phase = phase;
    stress_progress = 0;
}

/* Ends the program: the verdict line and the exit status. */
static inline int stress_end(void)
{
    alarm(0);
    if (failures == 0)
        printf("%s: all cases passed\n", stress_name);
    return failures != 0;
}
#endif
