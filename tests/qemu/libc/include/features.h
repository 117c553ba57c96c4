#ifndef _FEATURES_H
#define _FEATURES_H
/* Every interface this runtime has is always on; what glibc's
 * <features.h> defines by default (no feature macro, or _GNU_SOURCE /
 * _DEFAULT_SOURCE) is defined here too, so a program's
 * `#if _POSIX_C_SOURCE >= 200809L` sees the same answer. */
#if (!defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_POSIX_SOURCE)) ||          \
    defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE)
#ifndef _POSIX_SOURCE
#define _POSIX_SOURCE 1
#endif
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#endif
#endif
