"""The book runs each chapter as a student has it: without its ``solution`` cells
(book/_ext/student_view.py), both in ``execute_parallel.py`` and in MyST-NB's own reading,
so a check cell in the book shows the verdict before an answer, never a ✔ earned by the
hidden reference answer. The built pages themselves are checked in test_browser.py."""
import copy
import sys

import nbformat
import pytest
import yaml
from jupyter_cache import get_cache

from conftest import REPO, page_source, toc_pages

sys.path.insert(0, str(REPO / "book" / "_ext"))
import execute_parallel  # noqa: E402
import student_view  # noqa: E402

CHAPTERS = [page_source(d) for d in toc_pages() if page_source(d).suffix == ".ipynb"]


def _tags(cell):
    return cell.get("metadata", {}).get("tags") or []


def _notebook():
    """A chapter in miniature: prose, setup, an exercise's stub, solution and check, and a cell after it."""
    cells = [
        nbformat.v4.new_markdown_cell("## Exercise\nWrite `double`."),
        nbformat.v4.new_code_cell("from course_utils.exercises import check"),
        nbformat.v4.new_code_cell("def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError",
                                  metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell("def double(x):\n    return 2 * x", metadata={"tags": ["solution", "remove-cell"]}),
        nbformat.v4.new_code_cell('check("demo.double", double)', metadata={"tags": ["check"]},
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="✔ demo.double\n")]),
        nbformat.v4.new_markdown_cell("A value exercise."),
        nbformat.v4.new_code_cell("largest_stable_lr = ...", metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell("largest_stable_lr = 0.5", metadata={"tags": ["remove-cell", "solution"]}),
        nbformat.v4.new_code_cell('check("demo.lr", largest_stable_lr)', metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("print('after')", metadata={"tags": ["reveal"]}),
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                          "display_name": "Python 3"}})


def test_solution_cells_are_dropped_and_every_other_cell_kept_in_order():
    notebook = _notebook()
    before = copy.deepcopy(notebook)
    book = student_view.without_solutions(notebook)
    assert notebook == before, "without_solutions changed the notebook it was given"
    assert book.cells == [c for c in before.cells if "solution" not in _tags(c)]
    assert [c.source for c in book.cells if c.cell_type == "code"] == [
        "from course_utils.exercises import check",
        "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError",
        'check("demo.double", double)',
        "largest_stable_lr = ...",
        'check("demo.lr", largest_stable_lr)',
        "print('after')",
    ]
    assert book.cells[3].outputs == before.cells[4].outputs, "outputs of the cells kept must stay"
    assert book.metadata == before.metadata


def test_a_cell_is_a_solution_by_its_tag_alone():
    assert student_view.is_solution(nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["solution"]}))
    assert not student_view.is_solution(nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["remove-cell"]}))
    assert not student_view.is_solution(nbformat.v4.new_code_cell("x = 1"))
    assert not student_view.is_solution(nbformat.v4.new_markdown_cell("solution"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_runs_in_the_book_without_its_solutions(path):
    notebook = nbformat.read(path, as_version=4)
    book = execute_parallel.book_notebook(str(path))
    solutions = [c for c in notebook.cells if "solution" in _tags(c)]
    assert solutions, f"{path.name} has no solution cells: is the test looking at the right notebooks?"
    assert book.cells == [c for c in notebook.cells if "solution" not in _tags(c)]
    assert sum("check" in _tags(c) for c in book.cells) == sum("check" in _tags(c) for c in notebook.cells)
    left = {c.source for c in book.cells}
    assert not [c.source for c in solutions if c.source in left]


def test_the_book_build_and_execute_parallel_read_the_same_notebook(tmp_path):
    """execute_parallel.py caches exactly what MyST-NB (through _config.yml's reader) looks up."""
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    reader = config["sphinx"]["config"]["nb_custom_formats"][".ipynb"]
    assert reader == "student_view.read_notebook"
    assert config["sphinx"]["local_extensions"]["offline_assets"] == "book/_ext", "student_view must be importable"
    cache = get_cache(str(tmp_path / "cache"))
    for path in CHAPTERS:
        from_sphinx = student_view.read_notebook(path.read_text(encoding="utf-8"))
        assert cache.create_hashed_notebook(from_sphinx)[1] == \
            cache.create_hashed_notebook(execute_parallel.book_notebook(str(path)))[1], path.name


def _hash(cache, notebook):
    return cache.create_hashed_notebook(student_view.without_solutions(notebook))[1]


def test_the_execution_cache_is_keyed_on_what_runs(tmp_path):
    cache = get_cache(str(tmp_path / "cache"))
    notebook = _notebook()
    key = _hash(cache, notebook)

    edited_check = copy.deepcopy(notebook)
    edited_check.cells[4].source = 'check("demo.double", double)  # again'
    assert _hash(cache, edited_check) != key, "editing a check cell must re-execute the notebook"

    edited_stub = copy.deepcopy(notebook)
    edited_stub.cells[6].source = "largest_stable_lr = None"
    assert _hash(cache, edited_stub) != key, "editing a stub must re-execute the notebook"

    retagged = copy.deepcopy(notebook)
    retagged.cells[3].metadata["tags"] = ["remove-cell"]
    assert _hash(cache, retagged) != key, "a cell that stops being a solution runs, so the key must change"

    edited_solution = copy.deepcopy(notebook)
    edited_solution.cells[3].source = "def double(x):\n    return x + x"
    assert _hash(cache, edited_solution) == key, "a solution cell runs nowhere in the book: its edit changes nothing"


def test_a_check_in_the_book_says_not_attempted(tmp_path):
    """The whole step on a real exercise: executed as the book does, the check under the stub
    prints the verdict a student sees before answering, though the solution cell would pass."""
    notebook = nbformat.v4.new_notebook(metadata=_notebook().metadata, cells=[
        nbformat.v4.new_code_cell("from course_utils.exercises import check"),
        nbformat.v4.new_code_cell("def updates_per_epoch(n_examples, batch_size, drop_last=False):\n"
                                  "    raise NotImplementedError", metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell("import math\n\ndef updates_per_epoch(n_examples, batch_size, drop_last=False):\n"
                                  "    return n_examples // batch_size if drop_last else "
                                  "math.ceil(n_examples / batch_size)",
                                  metadata={"tags": ["solution", "remove-cell"]}),
        nbformat.v4.new_code_cell('check("recipe.updates_per_epoch", updates_per_epoch)', metadata={"tags": ["check"]}),
    ])
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, path)
    _, executed, _, error = execute_parallel.execute(str(path))
    assert error is None, error
    assert len(executed.cells) == 3
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert "recipe.updates_per_epoch: not attempted yet" in printed, printed
    assert "✔" not in printed, printed


# ------------------------------------------------------------------ feedback-example, the labelled example
CONF = f"""
import sys
sys.path.insert(0, {str(REPO / "book" / "_ext")!r})
extensions = ["myst_parser", "feedback_example"]
myst_enable_extensions = ["colon_fence"]
"""


def _build_page(tmp_path, body):
    """Build one MyST page with the feedback-example directive (warnings as errors): (exit code, text, log)."""
    import subprocess

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "conf.py").write_text(CONF, encoding="utf-8")
    (tmp_path / "src" / "index.md").write_text("# Example\n\n" + body, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "text", "-W", "-q", "-E", str(tmp_path / "src"),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    page = tmp_path / "out" / "index.txt"
    return proc.returncode, page.read_text(encoding="utf-8") if page.is_file() else "", proc.stdout + proc.stderr


def test_feedback_example_shows_what_check_prints_for_each_answer(tmp_path):
    code, text, log = _build_page(tmp_path, """
```{feedback-example} recipe.updates_per_epoch
def updates_per_epoch(n_examples, batch_size, drop_last=False):
    raise NotImplementedError
```

```{feedback-example} recipe.updates_per_epoch
from course_utils.experiments.recipe import updates_per_epoch
```

```{feedback-example} recipe.updates_per_epoch
def updates_per_epoch(n_examples, batch_size, drop_last=False):
    return n_examples // batch_size
```
""")
    assert code == 0, log
    lines = [line.strip() for line in text.splitlines()]
    verdicts = [line.split(":")[0] for line in lines if line and line[0] in "…✔✘"]
    assert verdicts == [f"{mark} recipe.updates_per_epoch" for mark in "…✔✘"], text
    assert "hint: the last, shorter batch still makes an update" in text, text


@pytest.mark.parametrize("body, problem", [
    ("```{feedback-example} recipe.updates_per_epoch\nraise ValueError('oops')\n```\n", "raised ValueError: oops"),
    ("```{feedback-example} recipe.updates_per_epoch\nanswer = 3\n```\n", "must define `updates_per_epoch`"),
    ("```{feedback-example} recipe.no_such_thing\nno_such_thing = 3\n```\n", "no exercise 'recipe.no_such_thing'"),
])
def test_feedback_example_that_cannot_run_fails_the_build(tmp_path, body, problem):
    code, _, log = _build_page(tmp_path, body)
    assert code != 0 and problem in log and "index.md" in log, log
