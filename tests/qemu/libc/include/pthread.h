#ifndef _PTHREAD_H
#define _PTHREAD_H
#include <sys/types.h>
typedef unsigned long pthread_t;
typedef struct {
    unsigned long __stack_size;
} pthread_attr_t;
int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int pthread_join(pthread_t t, void **ret);
pthread_t pthread_self(void);
int pthread_equal(pthread_t a, pthread_t b);
void pthread_exit(void *ret) __attribute__((noreturn));
#endif
