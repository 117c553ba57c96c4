/* mq_open's variadic entry (C: `mqd_t mq_open(const char *, int, ...)`).
 * As sem_open.c: the variadic ABI is left to the C compiler; the mode and
 * the attributes are read only when O_CREAT is set, as glibc does, and
 * handed to Rust. build.rs defines RB_SHIM_O_CREAT as libc's O_CREAT on
 * the target. Freestanding: only <stdarg.h>. */
#include <stdarg.h>

#ifndef RB_SHIM_O_CREAT
#error "build.rs defines RB_SHIM_O_CREAT"
#endif

struct mq_attr;
extern int __rb_shim_mq_open(const char *name, int oflag, unsigned int mode,
                             const struct mq_attr *attr);

int mq_open(const char *name, int oflag, ...)
{
    unsigned int mode = 0;
    const struct mq_attr *attr = 0;
    if (oflag & RB_SHIM_O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        /* mode_t is unsigned int (Linux) or int (relibc): same promotion. */
        mode = va_arg(ap, unsigned int);
        attr = va_arg(ap, const struct mq_attr *);
        va_end(ap);
    }
    return __rb_shim_mq_open(name, oflag, mode, attr);
}
