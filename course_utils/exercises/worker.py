"""The student's process: runs a submission's cells, then calls its answers on request.

Started by the grader (:mod:`.session`) inside the sandbox as::

    python -I -B -c BOOTSTRAP FD_IN FD_OUT MEMORY_BYTES PROCESSES FILE_BYTES THREADS

in isolated mode, so nothing in its (writable) working directory can shadow a
module; the bootstrap (:data:`.sandbox.BOOTSTRAP`) sets the limits and joins a
fresh session keyring before it imports this module. It then answers requests
read from ``FD_IN`` with replies written to ``FD_OUT`` (frames of
:mod:`.protocol`):

- ``run_cell`` (source): run one code cell in an IPython shell; reply ok or the error;
- ``call`` (name, args, kwargs): call the answer; reply its value and its
  arguments afterwards, as plain data, or the exception it raised;
- ``value`` (name): the value a name holds (the answer of a value exercise);
- ``problems`` ({id: problem}): the grader's problems for the value exercises,
  sent before the cells run (see :mod:`.problems`).

Everything here runs alongside the student's code and may be tampered with by
it; that is why the grader computes every expected value and every comparison
in its own process, and trusts nothing from here but plain data.
"""
import os
import sys

from .feedback import student_line
from .protocol import FrameReader, ProtocolError, decode, encode, write_frame

MAX_NAMES = 2000


def make_shell():
    """An IPython shell without history or colours: cells run as they do in a notebook (magics included)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    return InteractiveShell.instance(config=config)


def run_cell(shell, header):
    result = shell.run_cell(str(header["source"]), store_history=False)
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return {"ok": True}, []
    return {"ok": False, "error": _error(error)}, []


def names(shell):
    public = [name for name in shell.user_ns if isinstance(name, str) and not name.startswith("_")]
    return public[:MAX_NAMES]


def call(shell, header, buffers):
    answer = shell.user_ns.get(header["name"])
    if answer is None and header["name"] not in shell.user_ns:
        return {"missing": True, "names": names(shell)}, []
    if not callable(answer):
        return {"missing": True, "found": f"a {type(answer).__name__}"}, []
    args = decode(header["args"], buffers)
    kwargs = decode(header["kwargs"], buffers)
    try:
        value = answer(*args, **kwargs)
    except BaseException as error:   # SystemExit and KeyboardInterrupt from student code are answers too
        return {"raised": _error(error)}, []
    return _value_reply((value, tuple(args)))


def value(shell, header):
    """The value a name holds (a value exercise's answer), as plain data; missing if the cells defined no such name."""
    name = header["name"]
    if name not in shell.user_ns:
        return {"missing": True, "names": names(shell)}, []
    return _value_reply(shell.user_ns[name])


def _value_reply(value):
    """The reply carrying ``value`` as plain data, or a failed answer when it cannot be sent."""
    try:
        tree, reply_buffers = encode(value)
    except Exception as error:   # e.g. an int too long to write out: a failed answer, not a dead process
        return {"raised": {"type": "UnsendableAnswer", "message": f"the answer cannot be sent to the grader "
                                                                  f"({type(error).__name__})", "where": ""}}, []
    return {"value": tree}, reply_buffers


def problems(header, buffers):
    """Hand the grader's problems to :func:`course_utils.exercises.problem` before the cells run."""
    from .problems import use_problems

    found = decode(header["problems"], buffers)
    use_problems(found if isinstance(found, dict) else {})
    return {"ok": True}, []


def _flush_output():
    """Push what the cell printed to the grader now: the process may be stopped before its buffers fill."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:   # student code may have replaced or closed the stream
            pass


def _error(error):
    return {"type": type(error).__name__, "message": str(error)[:2000], "where": student_line(error)[:500]}


def serve(fd_in, fd_out, shell):
    """Answer requests until the grader closes the pipe."""
    reader = FrameReader(fd_in)
    while True:
        try:
            header, buffers = reader.read()
        except EOFError:
            return
        op = header.get("op")
        if op == "run_cell":
            reply, reply_buffers = run_cell(shell, header)
        elif op == "call":
            reply, reply_buffers = call(shell, header, buffers)
        elif op == "value":
            reply, reply_buffers = value(shell, header)
        elif op == "problems":
            reply, reply_buffers = problems(header, buffers)
        else:
            reply, reply_buffers = {"error": {"type": "ProtocolError", "message": f"unknown op {op!r}"}}, []
        reply["seq"] = header.get("seq")
        _flush_output()
        try:
            write_frame(fd_out, reply, reply_buffers)
        except ProtocolError as error:   # an answer too large to send is a failed answer, not a crash
            write_frame(fd_out, {"seq": header.get("seq"), "raised": {"type": "AnswerTooLarge",
                                                                     "message": str(error), "where": ""}})


def main(argv):
    """Serve the grader; the limits are already set (by the bootstrap), so only the pipes and threads are left."""
    fd_in, fd_out, _memory, _processes, _file_bytes, threads = (int(arg) for arg in argv)
    for fd in (fd_in, fd_out):
        os.set_inheritable(fd, False)   # a subprocess started by student code gets no pipe to the grader
    import torch

    torch.set_num_threads(threads)
    shell = make_shell()
    write_frame(fd_out, {"op": "ready", "seq": 0})
    serve(fd_in, fd_out, shell)

