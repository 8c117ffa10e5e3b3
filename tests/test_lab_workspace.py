"""A student's own notebook folder (``make lab``): the student copies, made once, never overwritten.

``python -m course_utils workspace FOLDER`` is the step ``make lab`` runs before it opens
JupyterLab in FOLDER. These tests run that step on the real chapter notebooks, as a student's
``make lab`` does, and read ``make -n lab`` (nothing is started) to see what it opens.
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from course_utils.exercises import workspace as workspace_module
from course_utils.exercises.release import release, secret_lines
from course_utils.exercises.workspace import write_new
from grading_fixtures import instructor_notebook, write

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))
EDITED, DELETED = CHAPTERS[0], CHAPTERS[3]


def run_workspace(folder, *extra, user=()):
    return subprocess.run([*user, sys.executable, "-m", "course_utils", "workspace", str(folder), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def snapshot(root):
    """Every path under ``root`` with its bytes (None for a folder) and inode: what "changed nothing" compares."""
    return {str(path.relative_to(root)): (None if path.is_dir() else path.read_bytes(), path.stat().st_ino)
            for path in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """What `python -m course_utils release` writes for every chapter: the copies a student must get."""
    out = tmp_path_factory.mktemp("release")
    release([REPO / "notebooks" / name for name in CHAPTERS], out)
    return {name: (out / name).read_bytes() for name in CHAPTERS}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("home") / "why-training-fails-notebooks"
    return folder, run_workspace(folder)


def test_first_run_makes_the_folder_with_the_student_copy_of_every_chapter(first_run, released):
    folder, result = first_run
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == CHAPTERS   # and no temporary file left behind
    assert {name: (folder / name).read_bytes() for name in CHAPTERS} == released
    assert f"Made your notebook folder: {folder}" in result.stdout
    assert f"added {len(CHAPTERS)} chapters: {', '.join(CHAPTERS)}" in result.stdout


def test_the_student_copies_hold_no_solution(first_run):
    folder, _ = first_run
    for name in CHAPTERS:
        copy = nbformat.read(folder / name, as_version=4)
        assert copy.metadata["course"]["released"] is True
        assert [cell for cell in copy.cells if "solution" in cell.metadata.get("tags", [])] == []
        text = (folder / name).read_text(encoding="utf-8")
        secrets = secret_lines(nbformat.read(REPO / "notebooks" / name, as_version=4))
        assert [line for line in secrets if line in text] == [], name


def test_a_second_run_keeps_the_students_work_and_adds_a_deleted_chapter(first_run, released, tmp_path):
    folder = tmp_path / "lab"
    shutil.copytree(first_run[0], folder)
    edited = nbformat.read(folder / EDITED, as_version=4)
    edited.cells[0].source += "\n\nMy notes: the loss stalls because the model is too simple."
    edited.cells.append(new_code_cell("def my_own_experiment():\n    return 42"))
    nbformat.write(edited, folder / EDITED)
    (folder / DELETED).unlink()
    before = snapshot(folder)

    result = run_workspace(folder)

    assert result.returncode == 0, result.stderr
    after = snapshot(folder)
    assert after.pop(DELETED)[0] == released[DELETED]
    assert after == before   # the edited chapter and every other one: same bytes, same file
    kept = [name for name in CHAPTERS if name != DELETED]
    assert f"Your notebook folder: {folder}" in result.stdout
    assert f"added 1 chapter: {DELETED}" in result.stdout
    assert f"left as they are (your work): {', '.join(kept)}" in result.stdout
    assert "rename or delete its notebook and run make lab again" in result.stdout


def test_a_run_with_every_chapter_there_changes_nothing_and_says_so(first_run, tmp_path):
    folder = tmp_path / "lab"
    shutil.copytree(first_run[0], folder)
    before = snapshot(folder)
    result = run_workspace(folder)
    assert result.returncode == 0, result.stderr
    assert snapshot(folder) == before
    assert "added nothing: every chapter is already there" in result.stdout
    assert f"left as they are (your work): {', '.join(CHAPTERS)}" in result.stdout


def test_a_target_that_is_a_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "why-training-fails-notebooks"
    target.write_text("a student's file with the folder's name\n")
    before = snapshot(tmp_path)
    result = run_workspace(target)
    assert result.returncode == 1
    assert f"{target} is a file, not a folder" in result.stderr
    assert "move or rename it" in result.stderr and "make lab LAB_DIR=" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_folder_below_a_file_is_refused(tmp_path):
    (tmp_path / "notes").write_text("not a folder\n")
    before = snapshot(tmp_path)
    result = run_workspace(tmp_path / "notes" / "lab")
    assert result.returncode == 1
    assert f"{tmp_path / 'notes'} is a file, so the folder {tmp_path / 'notes' / 'lab'} cannot be made" in result.stderr
    assert snapshot(tmp_path) == before


@pytest.fixture
def read_only_home():
    """A folder this test's user cannot write in, and how to run a command as that user.

    As root (who may write anywhere) the command runs as ``nobody`` on a root-owned folder.
    """
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv (util-linux): no user to lack write permission")
    home = Path(tempfile.mkdtemp(prefix="lab-workspace-"))
    user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    try:
        yield home, user
    finally:
        for path in [home, *home.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(home)


def test_a_folder_without_write_permission_is_refused_and_kept(read_only_home, first_run):
    home, user = read_only_home
    folder = home / "lab"
    folder.mkdir()
    shutil.copy(first_run[0] / EDITED, folder / EDITED)
    home.chmod(0o755)
    folder.chmod(0o555)
    before = snapshot(home)
    result = run_workspace(folder, user=user)
    assert result.returncode == 1, result.stdout
    assert f"no permission to write in {folder}" in result.stderr
    assert f"chmod u+w {folder}" in result.stderr and "make lab LAB_DIR=" in result.stderr
    assert snapshot(home) == before


def test_a_new_folder_in_a_folder_without_write_permission_is_refused(read_only_home):
    home, user = read_only_home
    home.chmod(0o555)
    result = run_workspace(home / "lab", user=user)
    assert result.returncode == 1, result.stdout
    assert f"no permission to make the folder {home / 'lab'} in {home}" in result.stderr
    assert list(home.iterdir()) == []


def test_the_instructor_notebooks_folder_is_refused(tmp_path):
    before = snapshot(REPO / "notebooks")
    result = run_workspace(REPO / "notebooks")
    assert result.returncode == 1
    assert "holds the instructor notebooks (with solutions)" in result.stderr
    assert snapshot(REPO / "notebooks") == before


def test_a_notebook_that_cannot_be_released_writes_nothing(tmp_path):
    notebook = instructor_notebook()
    solution = next(cell for cell in notebook.cells if "solution" in cell.metadata.get("tags", []))
    solution.metadata["tags"] = ["solution"]   # not remove-cell: release refuses it
    source = write(notebook, tmp_path / "notebooks" / "00_training_recipe.ipynb")
    result = run_workspace(tmp_path / "lab", "--source", str(source.parent))
    assert result.returncode == 1
    assert "tagged `solution` but not `remove-cell`" in result.stderr
    assert f"nothing was written to {tmp_path / 'lab'}" in result.stderr
    assert not (tmp_path / "lab").exists()


def test_write_new_writes_a_new_file_whole_and_never_replaces_one(tmp_path):
    assert write_new(tmp_path / "a.ipynb", b"first") is True
    assert write_new(tmp_path / "a.ipynb", b"second") is False
    (tmp_path / "b.ipynb").mkdir()
    assert write_new(tmp_path / "b.ipynb", b"third") is False
    assert (tmp_path / "a.ipynb").read_bytes() == b"first"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.ipynb", "b.ipynb"]


def test_write_new_without_hard_links_still_never_replaces(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EPERM, "hard links are not supported here")

    monkeypatch.setattr(workspace_module.os, "link", no_links)
    assert write_new(tmp_path / "a.ipynb", b"first") is True
    assert write_new(tmp_path / "a.ipynb", b"second") is False
    assert (tmp_path / "a.ipynb").read_bytes() == b"first"
    assert [path.name for path in tmp_path.iterdir()] == ["a.ipynb"]


def test_write_new_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workspace_module.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_new(tmp_path / "a.ipynb", b"x" * 100_000)
    assert list(tmp_path.iterdir()) == []


def make_dry_run(target, **variables):
    command = ["make", "-n", target] + [f"{name}={value}" for name, value in variables.items()]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOME": variables.get("HOME", os.environ.get("HOME", "/root"))})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_make_lab_fills_the_students_folder_then_opens_it_not_notebooks(tmp_path):
    folder = tmp_path / "my lab"
    lines = make_dry_run("lab", LAB_DIR=folder)
    [step] = [index for index, line in enumerate(lines) if "-m course_utils workspace" in line]
    [opens] = [index for index, line in enumerate(lines) if "jupyter" in line and " lab " in line]
    assert lines[step].endswith(f'--language "en" "{folder}"')
    assert lines[opens].startswith(f'cd "{folder}" && ')
    assert step < opens
    assert not any("notebooks" in line for line in lines)
    assert not folder.exists()   # a dry run


def test_make_lab_by_default_uses_a_folder_outside_the_repository(tmp_path):
    lines = make_dry_run("lab", HOME=tmp_path)
    folder = tmp_path / "why-training-fails-notebooks"
    assert any("-m course_utils workspace" in line and line.endswith(f'"{folder}"') for line in lines)
    assert not folder.is_relative_to(REPO)


def test_make_lab_instructor_opens_the_instructor_notebooks(tmp_path):
    lines = make_dry_run("lab-instructor", LAB_DIR=tmp_path)
    assert any(line.startswith("cd notebooks && ") and "jupyter lab" in line for line in lines)
    assert not any("course_utils workspace" in line for line in lines)


# -- Chinese notebooks: make lab LAB_LANGUAGE=zh_CN (or zh_TW) -------------------------------------------------

LOCALES = REPO / "book" / "locales"


def chapter_catalogue(name):
    from babel.messages.pofile import read_po

    with open(LOCALES / "zh_CN" / "LC_MESSAGES" / "notebooks" / f"{Path(name).stem}.po", "rb") as file:
        return [message for message in read_po(file) if message.id]


@pytest.fixture(scope="module")
def chinese_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("home") / "why-training-fails-notebooks-zh_CN"
    return folder, run_workspace(folder, "--language", "zh_CN")


def test_chinese_notebooks_translate_the_markdown_and_keep_the_code(chinese_run, released):
    folder, result = chinese_run
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == CHAPTERS
    for name in CHAPTERS:
        chinese = nbformat.read(folder / name, as_version=4)
        english = nbformat.reads(released[name].decode("utf-8"), as_version=4)
        assert [cell.cell_type for cell in chinese.cells] == [cell.cell_type for cell in english.cells]
        for zh, en in zip(chinese.cells, english.cells):
            if en.cell_type != "markdown":
                assert zh == en, f"{name}: a {en.cell_type} cell differs from the English student copy"
        markdown = "\n".join(cell.source for cell in chinese.cells if cell.cell_type == "markdown")
        translated = [m for m in chapter_catalogue(name) if m.string and not m.fuzzy and m.string != m.id]
        missing = [m.string[:80] for m in translated if m.string not in markdown]
        assert not missing, (f"{name}: translations from the catalogue not in the Chinese notebook: {missing} (their "
                             f"English paragraphs changed since: run make translations and translate what it marks)")


def test_every_paragraph_of_a_chapter_catalogue_is_found_in_its_notebook():
    """What the Chinese notebooks are made from must be the notebook's own text: a catalogue paragraph not
    found in the notebook's markdown (the English changed; run make translations) stays English there."""
    for name in CHAPTERS:
        notebook = nbformat.read(REPO / "notebooks" / name, as_version=4)
        marks = {m.id: f"<<{index}>>" for index, m in enumerate(chapter_catalogue(name))}
        found = workspace_module.translate_notebook(notebook, marks)
        absent = [message[:100] for message in marks if message not in found]
        assert not absent, (f"{name}: catalogue paragraphs not in the notebook's markdown cells: {absent} (the English "
                            f"changed: run make translations, then translate the paragraphs it marks fuzzy or new)")


@pytest.mark.parametrize("source, expected", [
    ("## 1. Why it stops\n\nThe loss stops\ngoing down.", "## 1. 为什么停下\n\n损失不再下降。"),
    ("- a **local minimum**: rises;\n- Why it stops", "- 局部极小值：上升；\n- 为什么停下"),
    ("| Why it stops | The loss stops going down. |", "| 为什么停下 | 损失不再下降。 |"),
    ("We ask: Why it stops and more.", "We ask: Why it stops and more."),   # never a piece of a sentence
    ("Why it stops\nand more text follows.", "Why it stops\nand more text follows."),   # nor a line of one
    ("More text first, then\nWhy it stops", "More text first, then\nWhy it stops"),
    ("Why it stops\n\n- The loss stops going down.", "为什么停下\n\n- 损失不再下降。"),
])
def test_markdown_is_translated_block_by_block(source, expected):
    translations = {"Why it stops": "为什么停下", "1. Why it stops": "1. 为什么停下",
                    "The loss stops going down.": "损失不再下降。", "a **local minimum**: rises;": "局部极小值：上升；"}
    assert workspace_module.translate_markdown(source, translations)[0] == expected


def test_traditional_chinese_notebooks_are_converted_from_the_simplified(tmp_path):
    result = run_workspace(tmp_path / "zh_TW", "--language", "zh_TW")
    assert result.returncode == 0, result.stderr
    simplified = workspace_module.chapter_translations(LOCALES, Path(CHAPTERS[0]).stem, "zh_CN")
    traditional = workspace_module.chapter_translations(LOCALES, Path(CHAPTERS[0]).stem, "zh_TW")
    assert set(traditional) == set(simplified)
    notebook = nbformat.read(tmp_path / "zh_TW" / CHAPTERS[0], as_version=4)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert traditional and all(translation in markdown for translation in traditional.values())


def test_an_unknown_language_is_refused_with_the_choices_and_writes_nothing(tmp_path):
    result = run_workspace(tmp_path / "lab", "--language", "fr")
    assert result.returncode == 1
    assert "choose one of en, zh_CN, zh_TW" in result.stderr and "LAB_LANGUAGE=zh_CN" in result.stderr
    assert not (tmp_path / "lab").exists()


def test_make_lab_in_chinese_uses_a_folder_of_its_own(tmp_path):
    lines = make_dry_run("lab", HOME=tmp_path, LAB_LANGUAGE="zh_CN")
    folder = tmp_path / "why-training-fails-notebooks-zh_CN"
    assert any(line.endswith(f'workspace --language "zh_CN" "{folder}"') for line in lines), lines
