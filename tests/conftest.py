"""Fixtures shared by the book, browser and JupyterLab tests.

- ``built_book``: ``make book`` once per test session (the reader's own command, so the
  offline assets and the execution-cache rules of the Makefile are exercised too);
- ``book_url``: ``_build/html`` served on a free 127.0.0.1 port;
- ``browser``: Debian's chromium driven by Playwright (never a downloaded browser);
- ``toc_page``: tests that take this argument run once per page of ``_toc.yml``.
"""
import functools
import http.server
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HTML = REPO / "_build" / "html"
EXECUTION_CACHE = REPO / "_build" / ".jupyter_cache"
BOOK_BUILD_TIMEOUT_S = 1500

CHROMIUM = "/usr/bin/chromium"
# Root needs --no-sandbox; the machine has no internet, so nothing may phone home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def toc_pages():
    """Every page of the book, as Sphinx docnames ("book/intro", "notebooks/00_...")."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(REPO / "_toc.yml"))


def page_source(docname):
    """The file a docname is built from (a .md page or a chapter notebook)."""
    for suffix in (".md", ".ipynb", ".rst"):
        path = REPO / f"{docname}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"_toc.yml lists {docname!r} but neither {docname}.md nor {docname}.ipynb exists")


def tail(text, lines=60):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def pytest_configure(config):
    _nbval_honours_trailing_semicolons()
    _nbval_blanks_digits_that_vary()
    from tests.low_priority import kernels_follow

    kernels_follow()  # in a run at lowered priority (make test's second code path), its kernels too


def _nbval_honours_trailing_semicolons():
    """Run notebook cells under nbval with ``store_history=True``, as Jupyter does.

    nbval 0.11 sends cells with ``store_history=False``, and IPython decides whether a trailing
    ``;`` silences a cell by reading the cell from its history, so under nbval ``ax.legend(...);``
    shows ``<matplotlib.legend.Legend at 0x...>`` that Jupyter never showed, and the outputs
    differ (nbval issue #194, IPython issue #14162, both open).
    """
    from nbval.kernel import RunningKernel

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    RunningKernel.execute_cell_input = execute_cell_input


def _nbval_blanks_digits_that_vary():
    """Compare a cell tagged ``digits-vary`` by its text with every number blanked out.

    A training run's digits depend on the CPU code path PyTorch picks (SSE4.2, AVX2, AVX-512),
    so a stored output made on one machine cannot match another's digit for digit. Such cells
    (found and tagged by ``python -m tests.cpu_paths --store``) are still compared word for
    word, line for line; what their numbers show is tested over seeds and code paths in
    ``tests/test_claims.py``. Every other cell is compared exactly.
    """
    from nbval.plugin import IPyNbCell

    from tests.cpu_paths import TAG, blank_digits

    plain = IPyNbCell.sanitize

    def sanitize(self, s):
        s = plain(self, s)
        if isinstance(s, str) and TAG in self.cell.get("metadata", {}).get("tags", []):
            s = blank_digits(s)
        return s

    IPyNbCell.sanitize = sanitize


def pytest_collection_modifyitems(config, items):
    """Chapter 6's notebook and claims first: they train the homework's models, the longest work of the notebooks
    and claims run. ``make test`` runs that on two workers, a whole notebook or claims class each, in this order
    (``--dist loadscope --no-loadscope-reorder``); started last, one of them would leave the other worker idle."""
    def later(item):
        return not (item.path.suffix == ".ipynb" and item.path.name.startswith("06_")
                    or item.path.name == "test_claims.py" and "::TestChapter6" in item.nodeid)

    items.sort(key=later)


def pytest_generate_tests(metafunc):
    if "toc_page" in metafunc.fixturenames:
        metafunc.parametrize("toc_page", toc_pages())


@dataclass
class BookBuild:
    html: Path
    output: str
    seconds: float


def make_book():
    """Run ``make book`` in the repository; return (exit code, combined output, seconds)."""
    started = time.monotonic()
    try:
        proc = subprocess.run(["make", "book"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=BOOK_BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return -1, output + f"\n(make book killed after {BOOK_BUILD_TIMEOUT_S} s)", time.monotonic() - started
    return proc.returncode, proc.stdout, time.monotonic() - started


@pytest.fixture(scope="session")
def built_book():
    """The book, built once per session with ``make book`` (warnings are errors there)."""
    code, output, seconds = make_book()
    if code != 0:
        pytest.fail(f"`make book` failed (exit {code}). Last lines of its output:\n{tail(output)}", pytrace=False)
    return BookBuild(html=HTML, output=output, seconds=seconds)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def book_url(built_book):
    """Base URL (ending in /) of the built book, served from 127.0.0.1 on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, through Playwright's Python API."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package).", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def verdict(capsys, *args):
    """(result, printed text) of one ``check(*args)`` call in a test; the text must be the result's message,
    printed once, with no traceback."""
    from course_utils.exercises import check

    result = check(*args)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n"
    assert "Traceback" not in printed
    return result, printed


# --- submissions for the chapters' grader tests ------------------------------------------------------

def answered_release(cells, answers):
    """A chapter notebook as a student hands it in: the released cells (no solutions) that the grader reads
    (exercise stubs, checks, cells that call ``problem(``), each stub named in ``answers`` (a dict from the
    exercise's function or variable name to its code) replaced by that answer."""
    import nbformat

    def tags(cell):
        return cell.metadata.get("tags", [])

    handed_in = [nbformat.v4.new_code_cell("import torch\nfrom course_utils.exercises import check, problem")]
    for cell in cells:
        if "solution" in tags(cell):
            continue
        if "exercise" in tags(cell) or "check" in tags(cell) or "problem(" in cell.source:
            name = next((n for n in answers if "exercise" in tags(cell) and
                         (f"def {n}(" in cell.source or cell.source.startswith(f"{n} ="))), None)
            source = answers[name] if name else cell.source
            handed_in.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags(cell)}))
    return nbformat.v4.new_notebook(cells=handed_in, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def grade_with_the_command(tmp_path, notebook_name, notebook):
    """Grade one student's ``notebook`` with ``python -m course_utils grade`` in the bwrap sandbox, as an
    instructor would: (the student's row of grades.csv, the feedback report as JSON text)."""
    import csv
    import json
    import sys

    import nbformat

    path = tmp_path / "submissions" / "student" / f"{notebook_name}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    done = subprocess.run([sys.executable, "-m", "course_utils", "grade", str(tmp_path / "submissions"),
                           "--out", "grades.csv", "--feedback-dir", "feedback", "--sandbox", "bwrap"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "grades.csv") as grades:
        [row] = list(csv.DictReader(grades))
    [report] = [json.loads(p.read_text()) for p in (tmp_path / "feedback").glob("*.json")]
    return row, json.dumps(report, ensure_ascii=False)


def grade_cells(tmp_path, notebook_name, sources, student="student"):
    """The grader's report (in process, no sandbox) on a notebook of one code cell per source in ``sources``,
    handed in by ``student`` under the chapter notebook's file name."""
    import nbformat

    from course_utils.exercises.grade import grade_submission
    from course_utils.exercises.session import Limits

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    path = tmp_path / student / f"{notebook_name}.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    return grade_submission(student, path, tmp_path / f"work-{student}", Limits(memory_bytes=2 * 2**30),
                            isolation="none", key=b"the instructor's key")


def above_the_stub(cells, exercise_id):
    """(the cells before the exercise's stub that a student reads before answering, the stub cell)."""
    import re

    name = exercise_id.partition(".")[2]
    [stub] = [i for i, cell in enumerate(cells) if "exercise" in cell.metadata.get("tags", [])
              and re.match(rf"(def )?{name}\b", cell.source)]
    return [cell for cell in cells[:stub] if "solution" not in cell.metadata.get("tags", [])], cells[stub]


# --- the checks' feedback on labels and choices -------------------------------------------------------

def assert_saying_instead_gets_the_pairs_reason(capsys, exercise_id, reference, true, said, reasons):
    """An answer right on every record except where ``reference`` gives the label ``true`` (there it says ``said``)
    fails, and the check's message names both labels and gives that pair's reason and no other (but the ones its
    reason is made of). A pair with no reason fails too."""
    def answer(record):
        label = reference(record)
        return said if label == true else label

    assert (true, said) in reasons, f"no reason for saying {said!r} of a {true!r} record"
    reason = reasons[true, said]
    result, printed = verdict(capsys, exercise_id, answer)
    assert not result.passed and f"you said {said!r}, but this is {true!r}" in printed and f"hint: {reason}" in printed
    assert [why for pair, why in reasons.items() if pair != (true, said) and why in printed and why not in reason] == []


def labels_of_cases(exercise_id, keys=range(10)):
    """The reference's labels on the exercise's visible cases (its fixed ones first), and on the random ones of the
    grader's hidden cases for each grading key ``bytes([k])``, k in ``keys`` (repeatable, unlike a fresh seed)."""
    from course_utils.exercises import get_exercise
    from course_utils.exercises.cases import hidden_cases

    exercise = get_exercise(exercise_id)
    visible = [exercise.reference(*case.args) for case in exercise.visible_cases()]
    hidden = [exercise.reference(*case.args) for key in keys
              for case in hidden_cases(exercise, bytes([key]))[len(exercise.fixed):]]
    return visible, hidden


def every_pair(labels, reasons):
    """Every (true, said) pair of two different labels (the confusions a diagnosis exercise must explain), and
    every pair that ``reasons`` explains (a pair of no two labels is a reason never given), sorted."""
    return sorted({(true, said) for true in labels for said in labels if true != said} | set(reasons))


def typed_in_on_the_graders_problems(exercise_id, **options):
    """The result of grading, on the grader's own problems, the number that is right for the notebook's problem
    (a prediction typed in rather than computed)."""
    from course_utils.exercises import get_exercise
    from course_utils.exercises.cases import hidden_cases
    from course_utils.exercises.evaluate import Returned, run_cases

    exercise = get_exercise(exercise_id)
    typed = exercise.reference(*exercise.visible_cases()[0].args)
    return run_cases(exercise, hidden_cases(exercise, b"the instructor's key"), lambda case: Returned(typed),
                     **options)


def giveaways_shown(cells, exercise_id, giveaways, last=None):
    """Which of ``giveaways`` (pieces of the answer's code or worked-out formula) the exercise's prompt shows: the
    cells above its stub (the ``last`` of them, or all) and the stub."""
    above, stub = above_the_stub(cells, exercise_id)
    text = "\n".join(cell.source for cell in above[-last if last else 0:] + [stub])
    return [words for words in giveaways if words in text]


def choice_tests(exercise_id, right, letters="abcd"):
    """The two tests of a multiple-choice exercise, for its test module to take as its own: the ``right`` letter
    passes however a student writes it (b, B, (b), ' b) '), and each wrong one fails, says so, and gives that
    choice's own explanation and no other."""
    def test_the_choice_reads_the_letter_in_any_common_form(capsys):
        for answer in (right, right.upper(), f"({right})", f" {right}) "):
            assert verdict(capsys, exercise_id, answer)[0].passed, answer

    @pytest.mark.parametrize("letter", [letter for letter in letters if letter != right])
    def test_each_wrong_choice_gets_its_own_explanation(capsys, letter):
        from course_utils.exercises import get_exercise

        result, printed = verdict(capsys, exercise_id, letter)
        mistakes = get_exercise(exercise_id).mistakes
        assert not result.passed and f"({letter}) is not the right choice" in printed
        assert [m.hint for m in mistakes if m.hint in printed] == [m.hint for m in mistakes if m.answer() == letter]

    return test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation
