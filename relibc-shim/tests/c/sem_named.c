/* Named semaphores: sem_open (variadic, O_CREAT/O_EXCL, mode, value),
 * sem_close, sem_unlink, every wait and post through the kernel object,
 * name rules, permissions, and glibc's error order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

static sem_t *shared_sem;

static void *waiter(void *arg)
{
    (void)arg;
    CHECK(sem_wait(shared_sem) == 0);
    return NULL;
}

int main(void)
{
    int v;

    /* create, use, reopen */
    sem_t *a = sem_open("/rb_a", O_CREAT | O_EXCL, 0600, 3);
    CHECK(a != SEM_FAILED);
    CHECK(sem_getvalue(a, &v) == 0 && v == 3);
    CHECK(sem_wait(a) == 0);
    CHECK(sem_trywait(a) == 0);
    CHECK(sem_post(a) == 0);
    CHECK(sem_getvalue(a, &v) == 0 && v == 2);
    sem_t *a2 = sem_open("/rb_a", 0);
    CHECK(a2 == a); /* same name, same process: same address (POSIX) */
    sem_t *a3 = sem_open("/rb_a", O_CREAT, 0600, 99);
    CHECK(a3 == a); /* existing name: the value is ignored */
    CHECK(sem_getvalue(a3, &v) == 0 && v == 2);

    /* errors of sem_open, in glibc's order */
    CHECK_NULL_ERR(sem_open("/rb_a", O_CREAT | O_EXCL, 0600, 1), EEXIST);
    CHECK_NULL_ERR(sem_open("/rb_a", O_CREAT | O_EXCL, 0600, (unsigned)SEM_VALUE_MAX + 1), EINVAL);
    CHECK_NULL_ERR(sem_open("/rb_new", O_CREAT, 0600, (unsigned)SEM_VALUE_MAX + 1), EINVAL);
    CHECK_NULL_ERR(sem_open("/rb_missing", 0), ENOENT);
    CHECK_NULL_ERR(sem_open("/rb_missing", O_EXCL), ENOENT); /* O_EXCL alone: ignored */
    /* glibc's name rules: leading '/'s are stripped */
    CHECK_NULL_ERR(sem_open("", O_CREAT, 0600, 0), EINVAL);
    CHECK_NULL_ERR(sem_open("/", O_CREAT, 0600, 0), EINVAL);
    CHECK_NULL_ERR(sem_open("///", O_CREAT, 0600, 0), EINVAL);
    CHECK_NULL_ERR(sem_open("/a/b", O_CREAT, 0600, 0), EINVAL);
    CHECK_ERR(sem_unlink("/a/b"), ENOENT);
    CHECK_ERR(sem_unlink(""), ENOENT);
    sem_t *ns = sem_open("rb_noslash", O_CREAT | O_EXCL, 0600, 2);
    CHECK(ns != SEM_FAILED);
    CHECK(sem_open("//rb_noslash", 0) == ns); /* one name: the same sem_t */
    CHECK_NULL_ERR(sem_open("/rb_noslash", O_CREAT | O_EXCL, 0600, 0), EEXIST);
    CHECK(sem_unlink("///rb_noslash") == 0);
    CHECK_ERR(sem_unlink("rb_noslash"), ENOENT);
    CHECK(sem_close(ns) == 0 && sem_close(ns) == 0);
    /* lengths after the slashes: ..251 valid, 252..255 ENAMETOOLONG, 256.. EINVAL */
    char longname[600];
    memset(longname, '/', 300);
    memset(longname + 300, 'x', sizeof longname - 301);
    longname[sizeof longname - 1] = 0;
    CHECK_NULL_ERR(sem_open(longname, O_CREAT, 0600, 0), EINVAL);
    CHECK_ERR(sem_unlink(longname), ENOENT);
    longname[300 + 256] = 0;
    CHECK_NULL_ERR(sem_open(longname, O_CREAT, 0600, 0), EINVAL);
    longname[300 + 252] = 0;
    CHECK_NULL_ERR(sem_open(longname, O_CREAT, 0600, 0), ENAMETOOLONG);
    CHECK_ERR(sem_unlink(longname), ENAMETOOLONG);
    longname[300 + 251] = 0; /* the longest name, behind 300 slashes */
    sem_t *l = sem_open(longname, O_CREAT | O_EXCL, 0600, 0);
    CHECK(l != SEM_FAILED);
    CHECK(sem_unlink(longname + 299) == 0);
    CHECK(sem_close(l) == 0);

    /* umask: cleared from a new semaphore's mode (hosted default 022) */
    sem_t *um = sem_open("/rb_umask", O_CREAT | O_EXCL, 0666, 0);
    CHECK(um != SEM_FAILED);
    rb_shim_hosted_set_creds(1001, 1001);
    CHECK_NULL_ERR(sem_open("/rb_umask", 0), EACCES); /* 0644: no write */
    rb_shim_hosted_set_creds(1000, 1000);
    CHECK(sem_unlink("/rb_umask") == 0);
    CHECK(sem_close(um) == 0);

    /* waits and posts on the kernel object */
    sem_t *z = sem_open("/rb_z", O_CREAT | O_EXCL, 0644, 0);
    CHECK(z != SEM_FAILED && z != a);
    CHECK_ERR(sem_trywait(z), EAGAIN);
    struct timespec zero = {0, 0}, bad = {0, 1000000000L}, neg = {-5, 0};
    CHECK_ERR(sem_timedwait(z, &zero), ETIMEDOUT);
    CHECK_ERR(sem_timedwait(z, &neg), ETIMEDOUT);
    CHECK_ERR(sem_timedwait(z, &bad), EINVAL);
    CHECK_ERR(sem_clockwait(z, CLOCK_MONOTONIC, &zero), ETIMEDOUT);
    CHECK_ERR(sem_clockwait(z, 12345, &zero), EINVAL);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += 50000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    CHECK_ERR(sem_clockwait(z, CLOCK_MONOTONIC, &t), ETIMEDOUT);
    CHECK(sem_post(z) == 0);
    CHECK_ERR(sem_timedwait(z, &bad), EINVAL); /* checked first, even if available */
    CHECK(sem_timedwait(z, &zero) == 0);        /* available: a past deadline takes it */

    /* the fast path: the semaphore's page is mapped, so uncontended post,
     * wait, trywait and getvalue make no system call */
    unsigned long long calls = rb_shim_hosted_syscalls();
    CHECK(sem_post(z) == 0);
    CHECK(sem_post(z) == 0);
    CHECK(sem_wait(z) == 0);
    CHECK(sem_trywait(z) == 0);
    CHECK(sem_getvalue(z, &v) == 0 && v == 0);
    CHECK(rb_shim_hosted_syscalls() == calls);
    CHECK_ERR(sem_trywait(z), EAGAIN); /* at 0: no sleep, still no call */
    CHECK(rb_shim_hosted_syscalls() == calls);

    /* a sleeping waiter woken by a post from another thread */
    pthread_t th;
    shared_sem = z;
    CHECK(pthread_create(&th, NULL, waiter, NULL) == 0);
    CHECK(rb_wait_parked(1));
    CHECK(sem_post(z) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(sem_getvalue(z, &v) == 0 && v == 0);

    /* SEM_VALUE_MAX */
    sem_t *m = sem_open("/rb_max", O_CREAT | O_EXCL, 0600, SEM_VALUE_MAX);
    CHECK(m != SEM_FAILED);
    CHECK_ERR(sem_post(m), EOVERFLOW);
    CHECK(sem_getvalue(m, &v) == 0 && v == SEM_VALUE_MAX);
    CHECK(sem_unlink("/rb_max") == 0);
    CHECK(sem_close(m) == 0);

    /* the table of open named semaphores: EMFILE when full, before any
     * semaphore is created; a name already open still opens */
    static sem_t *many[64];
    char nm[32];
    int opened = 0;
    for (; opened < 64; opened++) {
        snprintf(nm, sizeof nm, "/rb_many_%d", opened);
        many[opened] = sem_open(nm, O_CREAT | O_EXCL, 0600, 0);
        if (many[opened] == SEM_FAILED)
            break;
    }
    CHECK(opened >= 60 && errno == EMFILE); /* a, z and l took slots too */
    CHECK_NULL_ERR(sem_open("/rb_many_x", O_CREAT, 0600, 0), EMFILE);
    CHECK_NULL_ERR(sem_open("/rb_many_x", 0), EMFILE);
    CHECK(sem_open("/rb_z", 0) == z); /* already open: no new entry */
    CHECK(sem_close(z) == 0);
    for (int i = 0; i < opened; i++) {
        snprintf(nm, sizeof nm, "/rb_many_%d", i);
        CHECK(sem_unlink(nm) == 0);
        CHECK(sem_close(many[i]) == 0);
    }
    CHECK_NULL_ERR(sem_open("/rb_many_x", 0), ENOENT); /* never created */

    /* permissions: another user cannot open a 0600 semaphore or unlink it */
    rb_shim_hosted_set_creds(1001, 1001);
    CHECK_NULL_ERR(sem_open("/rb_a", 0), EACCES);
    CHECK_ERR(sem_unlink("/rb_a"), EACCES);
    sem_t *zz = sem_open("/rb_z", 0); /* 0644 does not grant write: EACCES */
    CHECK(zz == SEM_FAILED && errno == EACCES);
    rb_shim_hosted_set_creds(1000, 1000);

    /* unlink: the name goes, the object lives while open */
    CHECK(sem_unlink("/rb_a") == 0);
    CHECK_ERR(sem_unlink("/rb_a"), ENOENT);
    CHECK_NULL_ERR(sem_open("/rb_a", 0), ENOENT);
    CHECK(sem_post(a) == 0);
    CHECK(sem_getvalue(a, &v) == 0 && v == 3);
    /* a new semaphore under the old name is another object */
    sem_t *b = sem_open("/rb_a", O_CREAT, 0600, 7);
    CHECK(b != SEM_FAILED && b != a);
    CHECK(sem_getvalue(b, &v) == 0 && v == 7);
    CHECK(sem_getvalue(a, &v) == 0 && v == 3);

    /* close: counted per open; then the pointer is dead */
    CHECK(sem_close(a) == 0);
    CHECK(sem_close(a2) == 0);
    CHECK(sem_getvalue(a, &v) == 0 && v == 3); /* still open once (a3) */
    CHECK(sem_close(a3) == 0);
    CHECK_ERR(sem_close(a), EINVAL);
    sem_t local;
    CHECK_ERR(sem_close(&local), EINVAL);
    CHECK_ERR(sem_close(NULL), EINVAL);
    CHECK(sem_init(&local, 0, 1) == 0);
    CHECK_ERR(sem_destroy(b), EINVAL); /* named: sem_close, not sem_destroy */

    CHECK(sem_unlink("/rb_a") == 0);
    CHECK(sem_close(b) == 0);
    CHECK(sem_unlink("/rb_z") == 0);
    CHECK(sem_close(z) == 0);
    CHECK_ERR(sem_unlink("/rb_z"), ENOENT);
    CHECK_ERR(sem_unlink(NULL), EINVAL);
    return 0;
}
