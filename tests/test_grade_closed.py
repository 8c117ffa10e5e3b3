"""The grader fails closed: without a working sandbox it grades nothing, unless asked by name for none.

"No bubblewrap" is simulated twice, as a new user meets it: a PATH on which there is no ``bwrap``, and
the setting the sandbox module reads (``COURSE_GRADER_BWRAP``) naming a command that does not exist.
The run with ``--sandbox none`` grades a submission that writes a ``resource.py`` and a ``course_utils/``
package into its working folder, then crashes: the restarted process must import neither.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import course_utils
from course_utils.exercises import check, sandbox
from course_utils.exercises.sandbox import BWRAP_ENVIRONMENT
from grading_fixtures import SOLUTIONS, correct, submission, write

pytestmark = pytest.mark.grading

SHADOWS = (
    "import os\n"
    "open('resource.py', 'w').write('RLIMIT_AS = RLIMIT_CORE = RLIMIT_NPROC = RLIMIT_FSIZE = 0\\n'\n"
    "                               'def setrlimit(*args):\\n    pass\\n')\n"
    "os.makedirs('course_utils/exercises', exist_ok=True)\n"
    "for name in ('course_utils/__init__.py', 'course_utils/exercises/__init__.py'):\n"
    "    open(name, 'w').write('import os\\nos._exit(7)\\n')"
)


@pytest.fixture(scope="module")
def no_bwrap(tmp_path_factory):
    """A class of two, a canary file outside, and environments in which bubblewrap is missing."""
    root = tmp_path_factory.mktemp("closed")
    canary = root / "outside" / "keep.txt"
    canary.parent.mkdir()
    canary.write_text("do not delete")
    write(submission(correct(), before=[f"import os\nos.remove(r'{canary}')"]),
          root / "class" / "vandal" / "00_training_recipe.ipynb")
    write(submission(correct(), before=[SHADOWS, "import os\nos._exit(1)", "hog = b'x' * (2560 << 20)"]),
          root / "class" / "shadow" / "00_training_recipe.ipynb")
    (root / "empty_bin").mkdir()
    without_bwrap_on_path = dict(os.environ, PATH=str(root / "empty_bin"), XDG_CONFIG_HOME=str(root / "config"))
    without_bwrap_on_path.pop(BWRAP_ENVIRONMENT, None)
    missing_command = dict(os.environ, XDG_CONFIG_HOME=str(root / "config"),
                           **{BWRAP_ENVIRONMENT: str(root / "no-such-bwrap")})
    return root, canary, {"empty PATH": without_bwrap_on_path, "setting": missing_command}


def _grade(root, out, environment, *options):
    return subprocess.run(
        [sys.executable, "-m", "course_utils", "grade", str(root / "class"), "--out", str(root / out / "grades.csv"),
         "--feedback-dir", str(root / out / "feedback"), "--jobs", "2", "--memory-gib", "2", "--cell-timeout", "20",
         *options], cwd=root, env=environment, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("how, sandbox", [("empty PATH", []), ("setting", ["--sandbox", "auto"]),
                                          ("empty PATH", ["--sandbox", "bwrap"])])
def test_without_bubblewrap_grade_refuses_names_the_fix_and_changes_nothing(no_bwrap, how, sandbox):
    root, canary, environments = no_bwrap
    out = f"refused-{how.replace(' ', '-')}-{len(sandbox)}-{sandbox[-1] if sandbox else ''}"
    done = _grade(root, out, environments[how], *sandbox)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refusing to grade" in done.stderr and "make grade" in done.stderr
    assert "apt-get install -y bubblewrap" in done.stderr and "--sandbox none" in done.stderr
    assert not (root / out).exists() and not (root / "config").exists()   # not even the grading key
    assert canary.read_text() == "do not delete" and done.stdout == ""


@pytest.fixture(scope="module")
def unisolated(no_bwrap):
    root, canary, environments = no_bwrap
    done = _grade(root, "none", environments["empty PATH"], "--sandbox", "none")
    rows = {row["student"]: row for row in csv.DictReader(open(root / "none" / "grades.csv"))} \
        if (root / "none" / "grades.csv").exists() else {}
    return done, rows, canary


def test_sandbox_none_grades_only_when_asked_and_every_row_says_so(unisolated):
    done, rows, canary = unisolated
    assert done.returncode == 0, done.stderr
    assert "WITHOUT isolation" in done.stderr
    assert set(rows) == {"vandal", "shadow"} and {row["isolation"] for row in rows.values()} == {"none"}
    assert rows["vandal"]["total"] == "6" and not canary.exists()   # what --sandbox none means


def test_a_restarted_worker_imports_nothing_from_its_working_folder_and_keeps_its_limits(unisolated):
    _, rows, _ = unisolated
    row = rows["shadow"]
    assert row["total"] == "6", row["notes"]   # a course_utils/ of the cell's would have killed every restart
    assert "exit code 1" in row["notes"] and "MemoryError" in row["notes"], row["notes"]


def test_check_in_a_students_notebook_needs_no_sandbox(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(BWRAP_ENVIRONMENT, str(tmp_path / "no-such-bwrap"))
    namespace = {}
    exec(SOLUTIONS["updates_per_epoch"], namespace)
    assert check("recipe.updates_per_epoch", namespace["updates_per_epoch"]).passed
    assert "✔" in capsys.readouterr().out


def test_pythons_folders_are_bound_over_every_ram_disk(monkeypatch):
    """A checkout or virtual environment under /tmp (a CI clone) stays visible inside the sandbox."""
    monkeypatch.setattr(sandbox, "python_roots", lambda: ["/tmp/clone/.venv", "/tmp/clone/course_utils"])
    for disk_bytes in (None, 2**20):
        arguments = sandbox.bwrap_arguments("/tmp/grading-work", disk_bytes=disk_bytes)
        last_ram_disk = max(i for i, word in enumerate(arguments) if word in ("--tmpfs", "--bind"))
        binds = [i for i, word in enumerate(arguments)
                 if word == "--ro-bind" and arguments[i + 1].startswith("/tmp/clone")]
        assert len(binds) == 2 and min(binds) > last_ram_disk, arguments


def test_a_course_copied_under_tmp_grades_inside_the_sandbox(tmp_path):
    """The course's own package under /tmp, as in a fresh clone there: the sandbox must still find it."""
    if sandbox.available_isolation() == "none":
        pytest.fail("bubblewrap cannot create a sandbox here; `make test` installs it (apt-get install -y bubblewrap)")
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="course-under-tmp-") as copy:
        shutil.copytree(Path(course_utils.__file__).parent, Path(copy) / "course_utils",
                        ignore=shutil.ignore_patterns("__pycache__"))
        write(submission(correct()), tmp_path / "class" / "ada" / "00_training_recipe.ipynb")
        environment = dict(os.environ, PYTHONPATH=copy, XDG_CONFIG_HOME=str(tmp_path / "config"))
        environment.pop(BWRAP_ENVIRONMENT, None)
        where = subprocess.run([sys.executable, "-c", "import course_utils; print(course_utils.__file__)"],
                               cwd=tmp_path, env=environment, capture_output=True, text=True, check=True).stdout
        assert where.startswith(copy), where
        done = _grade(tmp_path, "under-tmp", environment, "--sandbox", "auto")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(open(tmp_path / "under-tmp" / "grades.csv")))
    assert [row["student"] for row in rows] == ["ada"]
    assert rows[0]["isolation"].startswith("bubblewrap") and rows[0]["total"] == "6", rows[0]["notes"]
