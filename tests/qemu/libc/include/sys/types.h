#ifndef _SYS_TYPES_H
#define _SYS_TYPES_H
#include <features.h>
#include <stddef.h>
#include <stdint.h>
typedef long ssize_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned int mode_t;
typedef long off_t;
typedef long time_t;
typedef int clockid_t;
typedef int key_t;
typedef long suseconds_t;
/* Those whose glibc type is the same on x86_64 and aarch64. */
typedef unsigned long dev_t;
typedef unsigned long ino_t;
typedef unsigned int id_t;
typedef unsigned int useconds_t;
typedef long clock_t;
typedef long blkcnt_t;
#endif
