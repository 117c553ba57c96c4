#ifndef _SCHED_H
#define _SCHED_H
/* One scheduling class: round robin, reported as SCHED_OTHER priority 0.
 * The policy values and the priority ranges are Linux's. */
struct sched_param {
    int sched_priority;
};
#define SCHED_OTHER 0
#define SCHED_FIFO 1
#define SCHED_RR 2
int sched_yield(void);
int sched_get_priority_min(int policy);
int sched_get_priority_max(int policy);
#endif
