"""Where the student's process runs: inside bubblewrap, or (only when asked by name) plainly.

With bubblewrap (Debian package ``bubblewrap``, command ``bwrap``) the student's
process gets a private view of the file system:

- read-only: the system (``/usr``, a few files of ``/etc``), the Python
  installation and its site-packages, and the ``course_utils`` package;
- writable: its working copy (the submission, on a RAM disk of
  ``Limits.disk_bytes``), and empty private ``/tmp`` and ``/dev/shm`` of the
  same size each;
- nothing else: not the other submissions, not the grader's output, not the
  course repository, no network, no other processes (its own PID namespace);
  it runs as user 65534 ("nobody") in its own user namespace when the kernel
  allows it.

The grader **fails closed**: without a working bubblewrap it refuses to run
student code (:class:`SandboxUnavailable`), unless the instructor asks for
``isolation="none"`` by name; then the process still gets its own working
directory, the limits and its own session, but it can read and write whatever
the grader's user can, and the gradebook says so on every row.

Limits for the whole submission (:class:`Containment`): when the grader may
create cgroups (v1 ``memory`` + ``pids`` controllers, or v2), every process the
submission starts is in one cgroup whose memory (RAM-disk files included) and
number of processes are capped together. Without cgroups, each process has the
memory limit (``RLIMIT_AS``), the number of processes is capped per user
(``RLIMIT_NPROC``, which the kernel does not apply to root) and the RAM disks
have their sizes; the report says which containment held (``"containment"``).

The student's Python starts in isolated mode (``python -I``): nothing from its
working directory or the environment is imported; the first lines it runs (the
bootstrap below, standard library only) set the limits and give it a fresh,
empty session keyring before anything else is imported.
"""
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import course_utils

BWRAP_ENVIRONMENT = "COURSE_GRADER_BWRAP"   # the bwrap command to use (default: `bwrap` on PATH)
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime",
             "nsswitch.conf", "passwd", "group", "hosts", "mime.types")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
NOBODY = "65534"
FIX = ("Install bubblewrap (Debian/Ubuntu: `apt-get install -y bubblewrap`; `make grade` installs it), or, "
       "to grade WITHOUT isolation on a machine where the students' code may do anything the grader's user "
       "can, pass --sandbox none.")

#: Run by ``python -I -B -c`` as the student's process starts: standard library only, before anything else.
#: Limits; then an anonymous session keyring of its own, and a seccomp filter that refuses the keyring
#: system calls (add_key, request_key, keyctl: a user namespace does not separate keyrings), so no key
#: of the grader's user can be listed or read; then the worker.
BOOTSTRAP = """\
import ctypes, os, resource, struct, sys
memory, processes, file_bytes = (int(value) for value in sys.argv[3:6])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
if processes >= 0:
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
ARCHES = {"x86_64": (0xC000003E, 248, 249, 250), "aarch64": (0xC00000B7, 217, 218, 219)}
libc = ctypes.CDLL(None, use_errno=True)
arch = ARCHES.get(os.uname().machine)
if arch is not None:
    audit_arch, add_key, request_key, keyctl = arch
    libc.syscall(keyctl, 1, None)   # KEYCTL_JOIN_SESSION_KEYRING, anonymous
    program = [(0x20, 0, 0, 4), (0x15, 0, 7, audit_arch), (0x20, 0, 0, 0), (0x35, 4, 0, 0x40000000),
               (0x15, 3, 0, add_key), (0x15, 2, 0, request_key), (0x15, 1, 0, keyctl),
               (0x06, 0, 0, 0x7FFF0000), (0x06, 0, 0, 0x00050001), (0x06, 0, 0, 0x80000000)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in program))
    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(Program(len(program),
                                                                       ctypes.addressof(code))), 0, 0):
        sys.exit("could not install the seccomp filter")
sys.path[:0] = [ROOT]
cwd = os.getcwd()
from course_utils.exercises.worker import main
sys.path.append(cwd)   # after the grader's modules: a file written here can never shadow one
main(sys.argv[1:])
"""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox here; the message says how to fix it."""


def bwrap_command():
    return os.environ.get(BWRAP_ENVIRONMENT) or shutil.which("bwrap") or "bwrap"


def python_roots():
    """Directories the student's Python needs to read: the installation, site-packages, course_utils."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(course_utils.__file__).resolve().parent)}
    roots.update(path for path in sys.path if path.endswith("-packages") and os.path.isdir(path))
    roots = sorted(os.path.realpath(root) for root in roots if os.path.isdir(root))
    return [root for root in roots if not any(root.startswith(other + os.sep) for other in roots if other != root)]


def bwrap_arguments(workdir, user_namespace=True, disk_bytes=None, bound=()):
    """The bwrap options that build the student's view of the file system.

    ``workdir`` is the working directory; with ``disk_bytes`` it is a RAM disk of that size holding
    read-only copies of the names in ``bound`` (files of the real ``workdir``), otherwise the real
    folder, writable. ``/tmp`` and ``/dev/shm`` are private RAM disks (of ``disk_bytes`` each, if given).
    """
    workdir = str(workdir)
    args = [bwrap_command(), "--unshare-all", "--die-with-parent", "--new-session"]
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
    size = ["--size", str(int(disk_bytes))] if disk_bytes else []
    args += ["--proc", "/proc"]
    for hidden in ("/proc/keys", "/proc/key-users"):   # the kernel's keys, and whose they are
        if os.path.exists(hidden):
            args += ["--ro-bind", "/dev/null", hidden]
    args += ["--dev", "/dev", *size, "--tmpfs", "/dev/shm", *size, "--tmpfs", "/tmp"]
    if disk_bytes:
        args += [*size, "--tmpfs", workdir]
        for name in bound:
            args += ["--ro-bind", os.path.join(workdir, name), os.path.join(workdir, name)]
    else:
        args += ["--bind", workdir, workdir]
    # Python's own folders come last, over the RAM disks: a checkout or virtual environment under
    # /tmp (a CI clone, say) would otherwise be hidden by the private /tmp and Python would not start.
    for root in python_roots():
        if not root.startswith(SYSTEM_DIRS):
            args += ["--ro-bind", root, root]
    return args + ["--chdir", workdir]


@functools.lru_cache(maxsize=None)
def _probe(command):
    with tempfile.TemporaryDirectory(prefix="course-grading-probe-") as probe:
        for user_namespace, name in ((True, "bubblewrap"), (False, "bubblewrap-root")):
            arguments = bwrap_arguments(probe, user_namespace, disk_bytes=2**20)
            try:
                done = subprocess.run(arguments + [sys.executable, "-I", "-c", "pass"], stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                return "none"
            if done.returncode == 0:
                return name
    return "none"


def available_isolation():
    """'bubblewrap' (with a user namespace), 'bubblewrap-root' (without one) or 'none' (no working bwrap)."""
    return _probe(bwrap_command())


def resolve_isolation(requested):
    """The isolation for ``--sandbox auto|bwrap|none``: the grader fails closed.

    "none" only when asked for by name; "auto" and "bwrap" both need a working bubblewrap and raise
    :class:`SandboxUnavailable` (whose message names the fix) without one. An isolation that
    :func:`available_isolation` named is returned as it is.
    """
    if requested == "none":
        return "none"
    if requested in ("bubblewrap", "bubblewrap-root"):
        return requested
    if requested not in ("auto", "bwrap"):
        raise ValueError(f"unknown sandbox {requested!r}: auto, bwrap or none")
    found = available_isolation()
    if found == "none":
        command = bwrap_command()
        why = "is not installed" if shutil.which(command) is None else "cannot create a sandbox on this machine"
        raise SandboxUnavailable(f"refusing to grade: the grader runs student code only inside a bubblewrap "
                                 f"sandbox, and bubblewrap (`{command}`) {why}. Nothing was graded. {FIX}")
    return found


# ----------------------------------------------------------------------------- the whole submission's limits


def _cgroup_parents():
    """{controller: the folder to create a submission's cgroup in}: this process's own cgroups, if writable."""
    parents = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return parents
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in ("memory", "pids"):
            if controller in controllers.split(","):
                folder = Path("/sys/fs/cgroup", controller) / path.lstrip("/")
                if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK):
                    parents[controller] = folder
    return parents


_PROBING = threading.Lock()


@functools.lru_cache(maxsize=None)
def cgroups_available():
    """True when this process may create memory and pids cgroups (cgroup v1, as the grader's machine has)."""
    with _PROBING:
        parents = _cgroup_parents()
        if set(parents) != {"memory", "pids"}:
            return False
        try:
            for folder in parents.values():
                probe = folder / f"course-grader-probe-{os.getpid()}-{secrets.token_hex(4)}"
                probe.mkdir()
                probe.rmdir()
        except OSError:
            return False
        return True


class Containment:
    """The cgroups that hold every process of one submission, or nothing where cgroups are unavailable.

    ``prefix()`` is the command to put before the student's process: it joins the cgroups, then runs it.
    ``kill()`` kills every process in them; ``remove()`` kills and deletes them.
    """

    def __init__(self, name, memory_bytes, processes):
        self.folders = []
        self.kind = "rlimit"
        if not cgroups_available():
            return
        parents = _cgroup_parents()
        try:
            for controller, setting, value in (("memory", "memory.limit_in_bytes", memory_bytes),
                                               ("pids", "pids.max", processes)):
                folder = parents[controller] / f"course-grader-{os.getpid()}-{name}"
                folder.mkdir(exist_ok=True)
                self.folders.append(folder)
                (folder / setting).write_text(str(value))
            try:   # no swap either (where the kernel accounts it)
                (self.folders[0] / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            except OSError:
                pass
            self.kind = "cgroup"
        except OSError:
            self.remove()
            self.folders, self.kind = [], "rlimit"

    def prefix(self):
        if not self.folders:
            return []
        joins = " && ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in self.folders)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh"]

    def kill(self):
        for _ in range(50):
            pids = set()
            for folder in self.folders:
                try:
                    pids.update(int(pid) for pid in (folder / "cgroup.procs").read_text().split())
                except OSError:
                    pass
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def remove(self):
        self.kill()
        for folder in self.folders:
            for _ in range(100):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:   # its last processes are still exiting
                    self.kill()
                    time.sleep(0.02)
        self.folders = []


def worker_command(isolation, workdir, worker_args, limits=None, bound=()):
    """The command line that starts the student's process under the given isolation.

    ``worker_args`` are the worker's (fd in, fd out, memory, processes, file bytes, threads).
    """
    root = str(Path(course_utils.__file__).resolve().parent.parent)
    python = [sys.executable, "-I", "-B", "-c", BOOTSTRAP.replace("ROOT", repr(root)), *map(str, worker_args)]
    if isolation == "none":
        return python
    disk_bytes = getattr(limits, "disk_bytes", None)
    return bwrap_arguments(workdir, user_namespace=isolation == "bubblewrap", disk_bytes=disk_bytes,
                           bound=bound) + ["--", *python]


def worker_environment(workdir, threads):
    """A clean environment: nothing of the grader's own, except what Python and matplotlib need."""
    return {
        "PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(Path(workdir) / ".matplotlib"),
        "IPYTHONDIR": str(Path(workdir) / ".ipython"), "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
