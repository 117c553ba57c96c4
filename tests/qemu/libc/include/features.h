#ifndef _FEATURES_H
#define _FEATURES_H
/* Nothing to select: every interface this runtime has is always on. */
#endif
