/* Named semaphores from C across processes with different uids, through
 * relibc-shim: a 0600 semaphore is EACCES for another uid, a 0666 one is
 * shared, and a post in one process wakes a sem_wait in the other; the
 * creator's umask is cleared from the mode (022 by default, as on Linux). */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/stat.h>
#include <testbed.h>
#include <unistd.h>

#define PRIV "/rb-c-uid-private"
#define PUB "/rb-c-uid-public"
#define BACK "/rb-c-uid-back"
#define MASKED "/rb-c-uid-masked"

static int child(void)
{
    if (getuid() != 1000)
        return 10;
    if (sem_open(PRIV, 0) != SEM_FAILED || errno != EACCES)
        return 11;
    if (sem_open(MASKED, 0) != SEM_FAILED || errno != EACCES) /* 0666 & ~022 */
        return 15;
    sem_t *pub = sem_open(PUB, 0);
    sem_t *back = sem_open(BACK, 0);
    if (pub == SEM_FAILED || back == SEM_FAILED)
        return 12;
    if (sem_wait(pub) != 0) /* the parent's post */
        return 13;
    if (sem_post(back) != 0)
        return 14;
    sem_close(pub);
    sem_close(back);
    return 0;
}

int main(void)
{
    if (tb_arg() == 1)
        return child();
    sem_unlink(PRIV);
    sem_unlink(PUB);
    sem_unlink(BACK);
    sem_unlink(MASKED);
    sem_t *masked = sem_open(MASKED, O_CREAT | O_EXCL, 0666, 0);
    mode_t old = umask(0);
    if (masked == SEM_FAILED || old != 022 || umask(0) != 0) {
        printf("umask: old %o\n", (unsigned)old);
        return 7;
    }
    sem_t *priv = sem_open(PRIV, O_CREAT | O_EXCL, 0600, 0);
    sem_t *pub = sem_open(PUB, O_CREAT | O_EXCL, 0666, 0);
    sem_t *back = sem_open(BACK, O_CREAT | O_EXCL, 0666, 0);
    if (priv == SEM_FAILED || pub == SEM_FAILED || back == SEM_FAILED) {
        printf("sem_open: errno %d\n", errno);
        return 1;
    }
    pid_t pid = tb_spawn("sem_named_uids", 1000, 1);
    if (pid < 0)
        return 2;
    struct timespec d = {0, 10 * 1000 * 1000};
    nanosleep(&d, NULL);
    if (sem_post(pub) != 0)
        return 3;
    if (sem_wait(back) != 0)
        return 4;
    int status = tb_wait(pid);
    if (status != 0) {
        printf("child status %d\n", status);
        return 5;
    }
    if (sem_unlink(PRIV) != 0 || sem_unlink(PUB) != 0 || sem_unlink(BACK) != 0 ||
        sem_unlink(MASKED) != 0)
        return 6;
    sem_close(masked);
    sem_close(priv);
    sem_close(pub);
    sem_close(back);
    printf("named semaphores across uids from C: ok\n");
    return 0;
}
