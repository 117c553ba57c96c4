#ifndef _SYS_STAT_H
#define _SYS_STAT_H
#include <sys/types.h>
/* umask(2): the process's file-mode creation mask; returns the old one. */
mode_t umask(mode_t mask);
#endif
