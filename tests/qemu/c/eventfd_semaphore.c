/* EFD_SEMAPHORE from C: blocked readers each take exactly 1; a counter
 * eventfd hands the whole sum to one reader; O_NONBLOCK via fcntl. Also
 * passes unchanged on Linux/glibc. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define READERS 4

static int sem_fd;
static int taken;

static void *reader(void *arg)
{
    uint64_t v = 0;
    if (read(sem_fd, &v, sizeof v) != sizeof v || v != 1)
        return (void *)0;
    __atomic_fetch_add(&taken, 1, __ATOMIC_SEQ_CST);
    return arg;
}

int main(void)
{
    int failures = 0;
    sem_fd = eventfd(0, EFD_SEMAPHORE);
    if (sem_fd < 0) {
        printf("eventfd: errno %d\n", errno);
        return 1;
    }
    pthread_t t[READERS];
    for (long i = 0; i < READERS; i++)
        pthread_create(&t[i], NULL, reader, (void *)1);
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    uint64_t n = READERS + 2;
    if (write(sem_fd, &n, sizeof n) != sizeof n)
        failures++;
    for (int i = 0; i < READERS; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        if (ok != (void *)1)
            failures++;
    }
    if (taken != READERS)
        failures++;
    /* Two left: nonblocking reads take 1, 1, then EAGAIN. */
    int fl = fcntl(sem_fd, F_GETFL);
    if (fl < 0 || fcntl(sem_fd, F_SETFL, fl | O_NONBLOCK) != 0)
        failures++;
    uint64_t v;
    if (read(sem_fd, &v, sizeof v) != sizeof v || v != 1)
        failures++;
    if (read(sem_fd, &v, sizeof v) != sizeof v || v != 1)
        failures++;
    if (read(sem_fd, &v, sizeof v) != -1 || errno != EAGAIN)
        failures++;
    close(sem_fd);
    if (failures)
        printf("%d checks failed\n", failures);
    else
        printf("EFD_SEMAPHORE from C: ok\n");
    return failures ? 1 : 0;
}
