/* ipc_curves: the scaling curves of ci/bench (ipc_bench.c, IPC_CURVES). */
#define IPC_CURVES 1
#include "ipc_bench.c"
