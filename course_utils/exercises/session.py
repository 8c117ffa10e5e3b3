"""One submission, graded: the student's process runs its cells, the grader judges its answers.

The grader (this module, in the grader's own process) starts the student's
process (:mod:`.worker`) in the sandbox, sends it the submission's code cells
one at a time, then, for each exercise, sends it hidden cases and judges what
comes back with the reference, here. It never runs student code itself.

Limits are kept from outside: each cell and each exercise has a wall-time
budget, the whole submission has one, and the process has a memory limit. When
a cell or an answer hangs or kills the process, the grader stops it, starts a
fresh one that re-runs the cells (skipping the one that hung or crashed), and
goes on with the next exercise: one broken exercise costs that exercise only.
"""
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cases import hidden_cases
from .evaluate import Missing, Raised, Returned, Stopped, run_cases
from .protocol import FrameReader, Opaque, ProtocolError, decode, encode, write_frame
from .sandbox import Containment, worker_command, worker_environment

STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Limits:
    """Wall-time limits in seconds; the memory limit in bytes (of the whole submission where cgroups are
    available, of each process otherwise); the processes and threads it may have at once; the size of each
    of its RAM disks (working copy, /tmp, /dev/shm) and of any file it writes; the output kept; the
    threads its PyTorch uses."""

    cell_seconds: float = 120
    exercise_seconds: float = 30
    submission_seconds: float = 900
    memory_bytes: int = 4 * 2**30
    processes: int = 64
    disk_bytes: int = 512 * 2**20
    output_bytes: int = 64 * 2**10
    threads: int = 1


class WorkerGone(Exception):
    """The student's process died, hung, or broke the protocol; ``status`` says which."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class Worker:
    """One student process in the sandbox, spoken to over two pipes, killed at the end."""

    def __init__(self, workdir, limits, isolation, output, containment, bound=()):
        to_worker, self._request_fd = os.pipe()
        self._reply_fd, from_worker = os.pipe()
        processes = limits.processes if isolation != "none" else -1   # RLIMIT_NPROC counts the grader's user
        command = worker_command(isolation, workdir, [to_worker, from_worker, limits.memory_bytes, processes,
                                                      limits.disk_bytes, limits.threads], limits, bound)
        self.containment = containment
        try:
            self.process = subprocess.Popen(
                containment.prefix() + command, cwd=workdir, env=worker_environment(workdir, limits.threads),
                pass_fds=(to_worker, from_worker), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True)
        except OSError:
            for fd in (self._request_fd, self._reply_fd):
                os.close(fd)
            raise
        finally:
            os.close(to_worker)
            os.close(from_worker)
        self.reader = FrameReader(self._reply_fd)
        self.limits, self.seq = limits, 0
        self.drain = threading.Thread(target=output.drain, args=(self.process.stdout,), daemon=True)
        self.drain.start()

    def request(self, header, buffers=(), deadline=None):
        """Send one request and return the reply (header, buffers); raise WorkerGone if there is none in time."""
        self.seq += 1
        try:
            write_frame(self._request_fd, dict(header, seq=self.seq), buffers, deadline)
            while True:
                reply, reply_buffers = self.reader.read(deadline)
                if reply.get("seq") == self.seq:
                    return reply, reply_buffers
        except TimeoutError:
            self.stop()
            raise WorkerGone("timeout", "no answer before the time limit") from None
        except (EOFError, BrokenPipeError):
            raise WorkerGone(*self._death()) from None
        except ProtocolError as error:
            self.stop()
            raise WorkerGone("crashed", f"the process sent something that is not an answer ({error})") from None

    def _death(self):
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.stop()
            return "crashed", "the process closed its pipe to the grader"
        self.stop()
        number = -code if code < 0 else code - 128 if code > 128 else 0
        if number == signal.SIGKILL:
            return "memory", "the process was killed (SIGKILL), most likely for using too much memory"
        if number:
            return "crashed", f"the process died with signal {signal.Signals(number).name}"
        return "crashed", f"the process exited (exit code {code}), e.g. by os._exit or sys.exit"

    def stop(self):
        """Kill the process and everything it started (its own session), and close the pipes."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.containment.kill()   # whatever it started, in any session or process group
        self.process.wait()
        self.drain.join(timeout=5)
        for fd in (self._request_fd, self._reply_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._request_fd = self._reply_fd = -1


@dataclass
class Output:
    """What the student's code printed: the first ``keep`` bytes, and how many there were in all."""

    keep: int
    excerpt: bytearray = field(default_factory=bytearray)
    total: int = 0

    def drain(self, stream):
        for chunk in iter(lambda: stream.read1(1 << 16), b""):
            self.total += len(chunk)
            room = self.keep - len(self.excerpt)
            if room > 0:
                self.excerpt += chunk[:room]
        stream.close()


@dataclass
class CellReport:
    index: int
    status: str          # ok, error, timeout, crashed
    seconds: float
    error: str = ""


class Session:
    """Grades one submission's cells and exercises in one working directory, within the limits."""

    def __init__(self, workdir, cells, limits, isolation, key=b"", bound=(), exercises=()):
        self.workdir, self.cells, self.limits, self.isolation = Path(workdir), cells, limits, isolation
        self.key, self.bound = key, tuple(bound)
        # The grader's problems for the value exercises: the same for every student with this key.
        self.problems = {exercise.id: hidden_cases(exercise, key)[0].args[0] for exercise in exercises
                         if exercise.is_value and exercise.draw is not None}
        self.containment = Containment(f"{self.workdir.name}-{secrets.token_hex(4)}", limits.memory_bytes,
                                       limits.processes)   # cgroups hold without bubblewrap too
        self.deadline = time.monotonic() + limits.submission_seconds
        self.output = Output(limits.output_bytes)
        self.worker, self.skipped, self.reports = None, set(), {}
        self.startups = []   # seconds each start of the student's process took, before its cells ran

    # -------------------------------------------------------------------- the process and its cells

    def ready_worker(self):
        """A live process that has run the cells (starting a fresh one if needed); raise WorkerGone if it cannot."""
        while self.worker is None:
            if time.monotonic() >= self.deadline:
                raise WorkerGone("timeout", "the submission's time limit ran out")
            started = time.monotonic()
            self.worker = Worker(self.workdir, self.limits, self.isolation, self.output, self.containment,
                                 self.bound)
            try:
                self.worker.reader.read(min(self.deadline, started + STARTUP_SECONDS))
            except (TimeoutError, EOFError, ProtocolError):
                self.close()
                raise WorkerGone("crashed", "the student's Python process did not start") from None
            self.startups.append(time.monotonic() - started)
            if self.problems:
                self._send_problems()
            self._run_cells()
        return self.worker

    def _send_problems(self):
        """Hand the value exercises' problems to the fresh process, before its cells run."""
        tree, buffers = encode(self.problems)
        try:
            self.worker.request({"op": "problems", "problems": tree}, buffers,
                                deadline=min(self.deadline, time.monotonic() + STARTUP_SECONDS))
        except WorkerGone:
            self.close()
            if time.monotonic() >= self.deadline:
                raise
            raise WorkerGone("crashed", "the student's Python process did not start") from None

    def _run_cells(self):
        for index, source in self.cells:
            if index in self.skipped:
                continue
            started = time.monotonic()
            deadline = min(self.deadline, started + self.limits.cell_seconds)
            try:
                reply, _ = self.worker.request({"op": "run_cell", "source": source}, deadline=deadline)
            except WorkerGone as gone:
                self.reports[index] = CellReport(index, gone.status, time.monotonic() - started, self._cell_problem(
                    gone, deadline))
                self.skipped.add(index)
                self.close()
                if time.monotonic() >= self.deadline:
                    raise
                return
            error = reply.get("error") or {}
            status = "ok" if reply.get("ok") else "error"
            message = f"{error.get('type', '')}: {error.get('message', '')}" if error else ""
            self.reports.setdefault(index, CellReport(index, status, time.monotonic() - started, message[:500]))

    def _cell_problem(self, gone, deadline):
        if gone.status == "timeout":
            limit = "the submission's" if deadline >= self.deadline else "the cell's"
            seconds = self.limits.submission_seconds if deadline >= self.deadline else self.limits.cell_seconds
            return f"did not finish within {limit} time limit ({seconds:g} s)"
        return gone.message

    def close(self):
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def release(self):
        """Stop the process for good and remove the submission's cgroups."""
        self.close()
        self.containment.remove()

    # -------------------------------------------------------------------- exercises

    def grade(self, exercise):
        """The ExerciseResult of one exercise on its hidden cases (drawn from the grading key: the same
        cases on every run with the same key).

        The exercise's time limit starts once the process is ready (its cells run), so a restart
        after an earlier exercise crashed costs this exercise nothing.
        """
        cases = hidden_cases(exercise, self.key)
        try:
            self.ready_worker()
        except WorkerGone as gone:
            stopped = Stopped(gone.status, self._exercise_problem(gone, self.deadline), during_case=False)
            return run_cases(exercise, cases, lambda case: stopped, label="hidden cases")
        started = time.monotonic()
        deadline = min(self.deadline, started + self.limits.exercise_seconds)
        result = run_cases(exercise, cases, lambda case: self._call(exercise, case, deadline), label="hidden cases")
        result.seconds = time.monotonic() - started
        return result

    def _call(self, exercise, case, deadline):
        try:
            if self.worker is None:
                raise WorkerGone("crashed", "the process is gone")
            if exercise.is_value:
                reply, reply_buffers = self.worker.request({"op": "value", "name": exercise.name}, (), deadline)
            else:
                args, buffers = encode((tuple(case.args), dict(case.kwargs)))
                reply, reply_buffers = self.worker.request(
                    {"op": "call", "name": exercise.name, "args": args["items"][0], "kwargs": args["items"][1]},
                    buffers, deadline)
        except WorkerGone as gone:
            self.close()
            return Stopped(gone.status, self._exercise_problem(gone, deadline))
        if reply.get("missing"):
            return Missing(_strings(reply.get("names")), reply.get("found"))
        if "raised" in reply:
            raised = reply["raised"] if isinstance(reply["raised"], dict) else {}
            return Raised(*(str(raised.get(key, ""))[:2000] for key in ("type", "message", "where")))
        try:
            if exercise.is_value:
                value = decode(reply["value"], reply_buffers)
                if value is Ellipsis or (isinstance(value, Opaque) and "ellipsis" in value.description):
                    return Raised("NotImplementedError", "still `...`")
                return Returned(value)
            value, args_after = decode(reply["value"], reply_buffers)
        except (KeyError, TypeError, ValueError, ProtocolError) as error:
            self.close()
            return Stopped("crashed", f"the answer could not be read ({error})")
        return Returned(value, tuple(args_after) if isinstance(args_after, (tuple, list)) else ())

    def _exercise_problem(self, gone, deadline):
        if gone.status != "timeout":
            return gone.message
        if deadline >= self.deadline:
            return f"the submission's time limit ({self.limits.submission_seconds:g} s) ran out"
        return (f"no answer within the exercise's time limit ({self.limits.exercise_seconds:g} s): "
                f"is there an endless loop?")


def _strings(items):
    return [item for item in items if isinstance(item, str)][:2000] if isinstance(items, list) else []


def prepare_workdir(workdir, name, data):
    """A fresh working directory holding a copy of the submission (and matplotlib's font cache, to save time).

    Returns (workdir, the names of its files): in the sandbox the working copy is a RAM disk that holds
    read-only copies of these files.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True)
    (workdir / name).write_bytes(data)
    font_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "matplotlib"
    (workdir / ".matplotlib").mkdir()
    files = [name]
    for fonts in font_cache.glob("fontlist-*.json"):
        shutil.copyfile(fonts, workdir / ".matplotlib" / fonts.name)
        files.append(f".matplotlib/{fonts.name}")
    return workdir, files
