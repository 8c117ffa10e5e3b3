"""``python -m tests.low_priority``: how ``make test`` runs the second CPU code path's notebooks and
claims beside ``tests/`` (see tests/low_priority.py). Everything it starts, Jupyter kernels
included, must run at nice 19, in scheduling groups of nice 19 where Linux has them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO

AUTOGROUP = Path("/proc/self/autogroup")
# What a process knows of its priority: its nice value, its session, its scheduling group's line
# ("/autogroup-42 nice 19", or None without autogroup scheduling).
REPORT = """import json, os, pathlib
group = pathlib.Path("/proc/self/autogroup")
print(json.dumps([os.nice(0), os.getsid(0), group.read_text().strip() if group.exists() else None]))"""


def low_priority(*command, **kwargs):
    return subprocess.run([sys.executable, "-m", "tests.low_priority", *command], cwd=REPO, capture_output=True,
                          text=True, timeout=300, **kwargs)


def assert_lowest(nice, group):
    assert nice == 19
    if AUTOGROUP.exists():
        assert group is not None and group.endswith(" nice 19"), group


def test_the_command_runs_at_nice_19_in_a_session_of_its_own_and_its_status_comes_back():
    done = low_priority(sys.executable, "-c", REPORT + "\nraise SystemExit(3)")
    assert done.returncode == 3, done.stderr
    nice, session, group = json.loads(done.stdout)
    assert session != os.getsid(0)
    assert_lowest(nice, group)
    if AUTOGROUP.exists():  # and the caller's own group keeps its priority
        assert AUTOGROUP.read_text().strip() != group


def test_a_kernel_that_nbval_starts_in_a_lowered_run_runs_as_low(tmp_path):
    """nbval's kernel is a session of its own, so with autogroup scheduling it would share the CPU
    evenly with tests/ unless its group is lowered too (tests/conftest.py → kernels_follow)."""
    report = tmp_path / "priority.json"
    code = REPORT.replace("print(", f"pathlib.Path({str(report)!r}).write_text(")
    notebook = tmp_path / "priority.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(code)]), notebook)
    done = low_priority(sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                        "-c", "pyproject.toml", str(notebook))  # the settings make test runs nbval with
    assert done.returncode == 0, done.stdout + done.stderr
    nice, session, group = json.loads(report.read_text())
    assert_lowest(nice, group)
