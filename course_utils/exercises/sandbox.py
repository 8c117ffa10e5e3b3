"""Where the student's process runs: inside bubblewrap, or (when it is unavailable) plainly.

With bubblewrap (Debian package ``bubblewrap``, command ``bwrap``) the student's
process gets a private view of the file system:

- read-only: the system (``/usr``, a few files of ``/etc``), the Python
  installation and its site-packages, and the ``course_utils`` package;
- writable: its own working directory (a temporary copy of the submission) and
  an empty private ``/tmp``;
- nothing else: not the other submissions, not the grader's output, not the
  course repository, no network, no other processes; it runs as user 65534
  ("nobody") in its own user namespace when the kernel allows it.

Without bubblewrap (``isolation="none"``) the process still gets its own
working directory, a memory limit, time limits and its own session, but it can
read and write whatever the grader's user can: the grader says so in its
output and in every report.
"""
import functools
import os
import subprocess
import sys
from pathlib import Path

import course_utils

BWRAP = "bwrap"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime",
             "nsswitch.conf", "passwd", "group", "hosts", "mime.types")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
NOBODY = "65534"


def python_roots():
    """Directories the student's Python needs to read: the installation, site-packages, course_utils."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(course_utils.__file__).resolve().parent)}
    roots.update(path for path in sys.path if path.endswith("-packages") and os.path.isdir(path))
    roots = sorted(os.path.realpath(root) for root in roots if os.path.isdir(root))
    return [root for root in roots if not any(root.startswith(other + os.sep) for other in roots if other != root)]


def bwrap_arguments(workdir, user_namespace=True):
    """The bwrap options that build the student's view of the file system, with ``workdir`` writable."""
    args = [BWRAP, "--unshare-all", "--die-with-parent", "--new-session"]
    if user_namespace:
        args += ["--unshare-user", "--uid", NOBODY, "--gid", NOBODY]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for root in python_roots():
        if not root.startswith(SYSTEM_DIRS):
            args += ["--ro-bind", root, root]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return args


@functools.lru_cache(maxsize=None)
def available_isolation():
    """'bubblewrap' (with a user namespace), 'bubblewrap-root' (without one) or 'none'."""
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    for user_namespace, name in ((True, "bubblewrap"), (False, "bubblewrap-root")):
        try:
            done = subprocess.run(bwrap_arguments(probe, user_namespace) + [sys.executable, "-c", "pass"],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return "none"
        if done.returncode == 0:
            return name
    return "none"


def resolve_isolation(requested):
    """The isolation for ``--sandbox auto|bwrap|none``; RuntimeError when bwrap is demanded but missing."""
    found = available_isolation()
    if requested == "none":
        return "none"
    if requested == "bwrap" and found == "none":
        raise RuntimeError("bubblewrap is not available (the command `bwrap` is missing or cannot create a sandbox). "
                           "Install it (Debian: apt-get install -y bubblewrap), or pass --sandbox none to grade "
                           "without isolation.")
    return found


def worker_command(isolation, workdir, worker_args):
    """The command line that starts the student's process under the given isolation."""
    python = [sys.executable, "-m", "course_utils.exercises.worker", *map(str, worker_args)]
    if isolation == "none":
        return python
    return bwrap_arguments(workdir, user_namespace=isolation == "bubblewrap") + ["--", *python]


def worker_environment(workdir, threads):
    """A clean environment: nothing of the grader's own, except what Python and matplotlib need."""
    return {
        "PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": str(Path(course_utils.__file__).resolve().parent.parent), "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(Path(workdir) / ".matplotlib"),
        "IPYTHONDIR": str(Path(workdir) / ".ipython"), "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
