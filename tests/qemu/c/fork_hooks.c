/* FORK calls redbear-ipc's process hooks (testbed-only: IPC_PROBE). The
 * parent attaches the probe state; a forked child finds it inherited
 * (count 100 + its own attach) only if FORK ran `Ipc::process_fork`, and
 * the child's exit settles its state once (`Ipc::process_exit`). */
#include <stdio.h>
#include <sys/wait.h>
#include <testbed.h>
#include <unistd.h>

int main(void)
{
    if (tb_ipc_probe(0, 0, 0) != 1) {
        printf("attach in the parent failed\n");
        return 1;
    }
    pid_t c = fork();
    if (c == 0)
        _exit(tb_ipc_probe(0, 0, 0) == 101 ? 0 : 1);
    int st = -1;
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("the child did not inherit the probe (status %#x)\n", st);
        return 1;
    }
    long settled = tb_ipc_probe(1, c, 0);
    if (settled != 1101) {
        printf("child settlement %ld, expected 1101 (once, 101 attached)\n", settled);
        return 1;
    }
    printf("fork hooks: ok\n");
    return 0;
}
