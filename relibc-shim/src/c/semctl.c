/* semctl's variadic entry (C: `int semctl(int, int, int, ...)`). The
 * fourth argument is the caller's union semun, passed by value; as glibc
 * does, it is read only for the commands that use it: SETVAL's int,
 * or a pointer for IPC_STAT, IPC_SET, IPC_INFO, SEM_INFO, SEM_STAT,
 * SEM_STAT_ANY, GETALL and SETALL. A union of an int and pointers is
 * passed in one integer register on x86_64 and aarch64, so reading it as
 * an unsigned long gets the pointer, and its low 32 bits are the int.
 * Freestanding: only <stdarg.h>. */
#include <stdarg.h>

extern int __rb_shim_semctl(int semid, int semnum, int cmd, unsigned long arg);

int semctl(int semid, int semnum, int cmd, ...)
{
    unsigned long arg = 0;
    switch (cmd) {
    case 1:  /* IPC_SET */
    case 2:  /* IPC_STAT */
    case 3:  /* IPC_INFO */
    case 13: /* GETALL */
    case 16: /* SETVAL */
    case 17: /* SETALL */
    case 18: /* SEM_STAT */
    case 19: /* SEM_INFO */
    case 20: /* SEM_STAT_ANY */
    {
        va_list ap;
        va_start(ap, cmd);
        arg = va_arg(ap, unsigned long);
        va_end(ap);
        break;
    }
    default:
        break;
    }
    return __rb_shim_semctl(semid, semnum, cmd, arg);
}
