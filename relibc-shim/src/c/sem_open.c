/* sem_open's variadic entry (C: `sem_t *sem_open(const char *, int, ...)`).
 * Rust's c_variadic is unstable, so the variadic ABI (x86_64 SysV,
 * aarch64 AAPCS64) is left to the C compiler; this reads the mode and
 * value only when O_CREAT is set, as glibc does, and hands over to Rust.
 * build.rs defines RB_SHIM_O_CREAT as libc's O_CREAT on the target.
 * Freestanding: only <stdarg.h>. */
#include <stdarg.h>

#ifndef RB_SHIM_O_CREAT
#error "build.rs defines RB_SHIM_O_CREAT"
#endif

union rb_sem;
extern union rb_sem *__rb_shim_sem_open(const char *name, int oflag, unsigned int mode,
                                        unsigned int value);

union rb_sem *sem_open(const char *name, int oflag, ...)
{
    unsigned int mode = 0, value = 0;
    if (oflag & RB_SHIM_O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        /* mode_t is unsigned int (Linux) or int (relibc): same promotion. */
        mode = va_arg(ap, unsigned int);
        value = va_arg(ap, unsigned int);
        va_end(ap);
    }
    return __rb_shim_sem_open(name, oflag, mode, value);
}
