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
