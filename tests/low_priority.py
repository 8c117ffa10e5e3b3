"""Run a command at the lowest CPU priority, its Jupyter kernels included.

    python -m tests.low_priority COMMAND [ARG ...]

``make test`` runs the notebooks and claims on the second CPU code path this way, beside
``tests/``, so that they take only the CPU time ``tests/`` leaves idle.

A plain ``nice -n 19`` is not enough where Linux groups processes by session for scheduling
(autogroup, ``/proc/sys/kernel/sched_autogroup_enabled``): the CPU is first shared evenly
between sessions, and a nice value only counts against the processes of its own session. So
the command runs in a session of its own whose group is given nice 19 too; and since each
Jupyter kernel starts a session of its own, `kernels_follow` (called by ``tests/conftest.py``)
gives every kernel that nbval starts in a lowered run the run's nice value, for its group as
well. Without autogroup scheduling the nice value alone does it.

The exit status is the command's. SIGINT and SIGTERM are passed on to the command's whole
session, so stopping ``make test`` stops it too.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

NICE = 19


def lower_group(pid, niceness=NICE):
    """Give the scheduling group (autogroup) of process `pid` the nice value `niceness`;
    nothing where there is no autogroup scheduling."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
    except OSError:
        pass


def _lower_self():  # runs in the child, after its new session begins and before the command starts
    os.nice(NICE - os.nice(0))
    lower_group("self")
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell starts a command put in the background with it ignored


def kernels_follow():
    """In a run whose nice value is above 0, give each kernel that nbval starts the same value,
    for its own scheduling group too (a kernel is a session of its own)."""
    niceness = os.nice(0)
    if niceness <= 0:
        return
    from nbval import kernel

    start = kernel.start_new_kernel

    def start_new_kernel(*args, **kwargs):
        manager, client = start(*args, **kwargs)
        lower_group(manager.provisioner.process.pid, niceness)
        return manager, client

    kernel.start_new_kernel = start_new_kernel


def main(command):
    if not command:
        sys.exit(__doc__)
    child = subprocess.Popen(command, start_new_session=True, preexec_fn=_lower_self)

    def pass_on(signum, frame):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, pass_on)
    status = child.wait()
    return status if status >= 0 else 128 - status  # killed by signal n: 128 + n, as a shell says


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
