"""Grading: a second crafted class, the attacks found by a hostile suite written outside the project.

Like ``test_grade.py``: every submission is the small chapter-0 notebook (all answers right unless the
attack needs otherwise), the class is graded once by ``python -m course_utils grade`` under bubblewrap with
``--jobs 2``, and each test reads its row. Every attack must be contained with a status, the grader must
exit 0, and no file outside the grader's folders may change.
"""
import csv
import ctypes
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises.report import file_stem
from course_utils.exercises.sandbox import cgroups_available
from grading_fixtures import STUBS, correct, submission, write

pytestmark = pytest.mark.grading

LIMITS = ["--cell-timeout", "15", "--exercise-timeout", "8", "--submission-timeout", "120", "--memory-gib", "2",
          "--disk-mib", "64", "--processes", "64"]
IDS = ["recipe.hard_sigmoid", "recipe.sigmoid_model", "recipe.linear_regression_step", "recipe.updates_per_epoch",
       "recipe.parameter_count", "recipe.diagnose_training"]
ENVIRONMENT_SECRET = "GRADER-ENV-SECRET-51c2"
KEY_PAYLOAD = "GRADER-KEY-PAYLOAD-93ab"
OUTSIDE_SECRET = "OUTSIDE-NOTEBOOK-SECRET-0d44"


def _answer(name, body):
    return STUBS[name].splitlines()[0] + "\n" + "\n".join("    " + line for line in body.splitlines())


def _grader_key():
    """Put a key with a known payload into this process's session keyring (the grader inherits it); its id."""
    if platform.machine() != "x86_64":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    key = libc.syscall(248, b"user", b"course-grader-test-key", KEY_PAYLOAD.encode(), len(KEY_PAYLOAD), -3)
    return key if key > 0 else None


KEYRING_CELL = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buffer = ctypes.create_string_buffer(256)
for keyring in ({key}, -1, -2, -3, -4, -5):
    size = libc.syscall(250, 11, ctypes.c_long(keyring), buffer, 256)
    print('keyctl read', keyring, size, buffer.raw[:max(size, 0)], ctypes.get_errno())
print('request_key', libc.syscall(249, b'user', b'course-grader-' + b'test-key', None, 0))
print(open('/proc/keys').read())"""

PROC_CELL = """import os
for pid in sorted(name for name in os.listdir('/proc') if name.isdigit()):
    for part in ('cmdline', 'environ'):
        try:
            print(pid, part, open(f'/proc/{pid}/{part}', 'rb').read().replace(b'\\0', b' ')[:300])
        except OSError as error:
            print(pid, part, error)
print('pids', len([name for name in os.listdir('/proc') if name.isdigit()]))"""

FORK_BOMB = "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)"

CHILDREN_CELL = """import subprocess, sys
hold = "import time; b = b'x' * (900 << 20); time.sleep(2)"
children = [subprocess.Popen([sys.executable, '-c', hold]) for _ in range(3)]
held = sum(child.wait() == 0 for child in children)
print(f'HELD {held} OF 3')"""

FILL_CELLS = [
    "for i in range(100):\n    open(f'fill{i}', 'wb').write(b'x' * (16 << 20))",
    "for i in range(100):\n    open(f'/tmp/fill{i}', 'wb').write(b'x' * (16 << 20))",
    "for i in range(100):\n    open(f'/dev/shm/fill{i}', 'wb').write(b'x' * (16 << 20))",
]


def crafted(outside, port, key):
    """{student folder: notebook, raw bytes, or ('symlink', target)}: the hostile class."""
    good = nbformat.writes(submission(correct()))
    odd = submission(correct())
    odd.metadata["course"] = {"chapter": ["not", "a", "name"]}
    odd.cells[1].outputs = [{"output_type": "stream", "name": "stdout", "text": "\ud800" * 10}]
    odd.cells[1].metadata["tags"] = ["exercise", 7, None, {"x": 1}]
    many = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [],
                       "execution_count": None}] * 100_000}
    return {
        "surrogates": submission({
            "hard_sigmoid": _answer("hard_sigmoid", "raise ValueError('\\udcff' * 3)"),
            "sigmoid_model": correct()["sigmoid_model"],
            "linear_regression_step": correct()["linear_regression_step"],
            "updates_per_epoch": _answer("updates_per_epoch", "return '\\ud800'"),
            "parameter_count": correct()["parameter_count"],
            "diagnose_training": _answer("diagnose_training", "return '\\udcff model bias'"),
        }, before=["raise ValueError('\\ud800 lone')", "print('\\udcff')", "\ud800 = 1"]),
        "a__b": submission(correct()),
        "a/b__": submission(correct("hard_sigmoid")),
        "keyring": submission(correct(), before=[KEYRING_CELL.format(key=key or 0)]),
        **({} if not cgroups_available() else {   # as root, only cgroups hold these two
            "fork_bomb": submission(correct(), before=[FORK_BOMB]),
            "children_memory": submission(correct(), before=[CHILDREN_CELL])}),
        "network": submission(correct(), before=[
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            f"    print('CONN' + 'ECTED')\nexcept OSError as error:\n    print('no connection:', error)\n    raise"]),
        "symlink_cell": submission(correct(), before=[
            f"import os\nos.symlink(r'{outside / 'secret.txt'}', 'link')\nprint(open('link').read())"]),
        "symlink_file": ("symlink", outside / "notebook.ipynb"),
        "proc": submission(correct(), before=[PROC_CELL]),
        "disk_fill": submission(correct(), before=FILL_CELLS),
        "many_cells": json.dumps(many).encode(),
        "deep_json": b'{"nbformat": 4, "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b', "cells": []}',
        "not_utf8": good.encode().replace(b"def updates_per_epoch", b"def updates_per_epoch\xff\xfe", 1),
        "signal_handler": submission(correct(), before=[
            "import signal\nfor number in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGHUP):\n"
            "    signal.signal(number, lambda *args: None)\nwhile True:\n    pass"]),
        "thread_left": submission(correct(), before=[
            "import threading, time\ndef spin():\n    while True:\n        time.sleep(0.001)\n"
            "threading.Thread(target=spin).start()"]),
        "hostile_values": submission({
            "hard_sigmoid": _answer("hard_sigmoid", "return 10 ** 5000"),
            "sigmoid_model": _answer("sigmoid_model", "import numpy as np\nreturn np.array(['a'])"),
            "linear_regression_step": _answer("linear_regression_step", "return float('nan'), '\\ud800'"),
            "updates_per_epoch": _answer("updates_per_epoch", "value = []\nfor _ in range(100):\n"
                                                              "    value = [value]\nreturn value"),
            "parameter_count": "parameter_count = float('nan')",
            "diagnose_training": _answer("diagnose_training", "return b'\\xff' * 3"),
        }),
        "odd_structure": odd,
        "sources_not_strings": json.dumps({"nbformat": 4, "metadata": {}, "cells": [
            {"cell_type": "code", "source": [1, 2], "metadata": {}}]}).encode(),
        "nbformat_string": json.dumps({"nbformat": "4", "cells": []}).encode(),
        "cells_not_list": json.dumps({"nbformat": 4, "metadata": {}, "cells": {"0": {}}}).encode(),
    }


def _snapshot(*folders):
    return {path: hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders for path in sorted(Path(folder).rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions_dir, outside = root / "submissions", root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(OUTSIDE_SECRET)
    write(submission(correct(), before=[f"secret = '{OUTSIDE_SECRET}'"]), outside / "notebook.ipynb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    key = _grader_key()
    for student, content in crafted(outside, listener.getsockname()[1], key).items():
        path = submissions_dir / student / "00_training_recipe.ipynb" if "/" not in student else \
            submissions_dir / (student + "00_training_recipe.ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            path.symlink_to(content[1])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:   # as JSON with \u escapes: some of these strings cannot be encoded as UTF-8
            path.write_text(json.dumps(content))
    before = _snapshot(submissions_dir, outside)
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "grade", str(submissions_dir), "--out", str(root / "grades.csv"),
         "--feedback-dir", str(root / "feedback"), "--jobs", "2", "--sandbox", "bwrap", *LIMITS,
         "--key-file", str(root / "grading-key")],
        cwd=root, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, COURSE_TEST_SECRET=ENVIRONMENT_SECRET))
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    rows = {row["submission"].removesuffix("/00_training_recipe"): row
            for row in csv.DictReader(open(root / "grades.csv", encoding="utf-8"))} \
        if (root / "grades.csv").exists() else {}
    reports = {report["submission"].removesuffix("/00_training_recipe"): report
               for report in (json.loads(path.read_text(encoding="utf-8"))
                              for path in (root / "feedback").glob("*.json"))}
    return {"done": done, "rows": rows, "reports": reports, "root": root, "connected": connected, "key": key,
            "before": before, "after": _snapshot(submissions_dir, outside)}


def points(row):
    return [float(row[exercise_id]) if row[exercise_id] else None for exercise_id in IDS]


def everything(hostile, student):
    """All the grader wrote about one submission: its JSON report and its gradebook row."""
    return json.dumps(hostile["reports"][student], ensure_ascii=False) + json.dumps(hostile["rows"][student])


def test_the_hostile_class_is_graded_every_submission_has_a_status_and_the_grader_exits_0(hostile):
    assert hostile["done"].returncode == 0, hostile["done"].stderr[-3000:]
    expected = {name.replace("a/b__", "a/b__00_training_recipe") for name in crafted(Path("/x"), 1, None)}
    assert set(hostile["rows"]) == expected and set(hostile["reports"]) == expected
    assert all(row["status"] in ("graded", "graded-with-issues", "unreadable") for row in hostile["rows"].values())
    assert not any(result["status"] == "grader-error" for report in hostile["reports"].values()
                   for result in report["exercises"].values())
    assert hostile["after"] == hostile["before"]


def test_text_that_is_not_valid_unicode_is_written_as_replacement_characters(hostile):
    row = hostile["rows"]["surrogates"]
    assert points(row) == [0, 1, 1, 0, 1, 0] and row["status"] == "graded-with-issues"
    assert "\ufffd lone" in row["notes"] and "raised SyntaxError: invalid character '\ufffd'" in row["notes"]
    stem = file_stem("surrogates/00_training_recipe")
    feedback = (hostile["root"] / "feedback" / f"{stem}.md").read_bytes().decode("utf-8")
    assert "\ufffd" in feedback and "raised ValueError" in feedback


def test_feedback_files_of_two_submissions_never_collide(hostile):
    first, second = "a__b/00_training_recipe", "a/b__00_training_recipe"
    assert first.replace("/", "__") == second.replace("/", "__")   # the old names were one file
    for submission_id, total in ((first, "6"), (second, "1")):
        text = (hostile["root"] / "feedback" / f"{file_stem(submission_id)}.md").read_text()
        assert text.startswith(f"# Feedback on {submission_id}\n") and f"**{total} / 6 points**" in text
    assert file_stem(first) != file_stem(second) and file_stem(first) == file_stem(first)


def test_the_graders_keyring_is_out_of_reach(hostile):
    if hostile["key"] is None:
        pytest.skip("no key could be added to this process's keyring here")
    output = hostile["reports"]["keyring"]["output"]["excerpt"]
    assert KEY_PAYLOAD not in everything(hostile, "keyring")
    assert re.search(rf"keyctl read {hostile['key']} -1 b'' 1\b", output), output   # EPERM: the call is refused
    assert "request_key -1" in output and "course-grader-test-key" not in output
    assert points(hostile["rows"]["keyring"]) == [1] * 6


def test_a_fork_bomb_is_stopped_with_its_cell(hostile):
    if "fork_bomb" not in hostile["rows"]:
        pytest.skip("no cgroups here, and RLIMIT_NPROC does not hold for root: not tried")
    row = hostile["rows"]["fork_bomb"]
    assert points(row) == [1] * 6 and "did not finish within the cell's time limit (15 s)" in row["notes"]


def test_memory_is_limited_for_all_the_processes_of_a_submission_together(hostile):
    if "children_memory" not in hostile["reports"]:
        pytest.skip("no cgroups here: the memory limit holds per process only")
    report = hostile["reports"]["children_memory"]
    if report["containment"] != "cgroup":
        pytest.skip("no cgroups here: the memory limit holds per process only")
    held = re.search(r"HELD (\d) OF 3", report["output"]["excerpt"])   # 3 × 900 MiB at once, under 2 GiB
    cell = [c for c in report["cells"] if "import subprocess" in c["first_line"]]
    assert held is not None and int(held.group(1)) <= 2, (report["output"]["excerpt"], cell, report["notes"])
    assert points(hostile["rows"]["children_memory"]) == [1] * 6


def test_no_network_not_even_to_the_graders_own_machine(hostile):
    assert not hostile["connected"]
    report = hostile["reports"]["network"]
    assert "CONNECTED" not in report["output"]["excerpt"] and "no connection" in report["output"]["excerpt"]
    assert points(hostile["rows"]["network"]) == [1] * 6


def test_a_symlink_reaches_nothing_outside(hostile):
    row = hostile["rows"]["symlink_cell"]
    assert points(row) == [1] * 6 and "FileNotFoundError" in row["notes"]
    assert OUTSIDE_SECRET not in everything(hostile, "symlink_cell")
    row = hostile["rows"]["symlink_file"]
    assert row["status"] == "unreadable" and "symbolic link" in row["notes"]
    assert OUTSIDE_SECRET not in everything(hostile, "symlink_file")


def test_the_graders_processes_environment_and_command_line_are_invisible(hostile):
    text = everything(hostile, "proc")
    assert ENVIRONMENT_SECRET not in text and "course_utils grade" not in text
    pids = int(re.search(r"pids (\d+)", hostile["reports"]["proc"]["output"]["excerpt"]).group(1))
    assert pids <= 3 and points(hostile["rows"]["proc"]) == [1] * 6


def test_filling_the_working_copy_tmp_or_shared_memory_stops_at_their_size(hostile):
    row = hostile["rows"]["disk_fill"]
    assert points(row) == [1] * 6 and row["notes"].count("No space left on device") == 3, row["notes"]


@pytest.mark.parametrize("student, words", [
    ("many_cells", "100000 cells, more than the 10000"),
    ("deep_json", "nested too deeply"),
    ("not_utf8", "not text (UTF-8)"),
    ("sources_not_strings", "cell 1 has no valid source"),
    ("nbformat_string", "no nbformat version"),
    ("cells_not_list", "no list of cells"),
])
def test_notebooks_of_hostile_structure_are_unreadable_with_the_reason(hostile, student, words):
    row = hostile["rows"][student]
    assert row["status"] == "unreadable" and words in row["notes"] and row["total"] == "0"


def test_odd_but_readable_metadata_and_outputs_are_graded(hostile):
    assert points(hostile["rows"]["odd_structure"]) == [1] * 6


def test_a_signal_handler_does_not_outlive_the_time_limit(hostile):
    row = hostile["rows"]["signal_handler"]
    assert points(row) == [1] * 6 and "did not finish within the cell's time limit (15 s)" in row["notes"]


def test_a_thread_left_running_changes_nothing(hostile):
    row = hostile["rows"]["thread_left"]
    assert points(row) == [1] * 6 and row["status"] == "graded"


def test_hostile_answer_values_are_wrong_answers_not_grader_errors(hostile):
    report = hostile["reports"]["hostile_values"]
    assert report["status"] == "graded-with-issues" or report["status"] == "graded"
    statuses = {exercise_id: result["status"] for exercise_id, result in report["exercises"].items()}
    assert statuses == {"recipe.hard_sigmoid": "error", "recipe.sigmoid_model": "failed",
                        "recipe.linear_regression_step": "failed", "recipe.updates_per_epoch": "failed",
                        "recipe.parameter_count": "failed", "recipe.diagnose_training": "failed"}, statuses
    assert "UnsendableAnswer" in report["exercises"]["recipe.hard_sigmoid"]["message"]
