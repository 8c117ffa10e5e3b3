"""A student's JupyterLab: open chapter 0, run every cell, move a demo slider, and the
kernel redraws the figure (the live ``Image`` widget gets a new picture).

JupyterLab runs on a temporary copy of notebooks/ (the real notebooks are never touched),
with its own settings, workspaces and runtime folders, and no news or update checks.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, tail

pytestmark = pytest.mark.browser

CHAPTER = "00_training_recipe.ipynb"
START_TIMEOUT_S = 90
PAGE_TIMEOUT_MS = 90_000
RUN_ALL_TIMEOUT_MS = 240_000
REDRAW_TIMEOUT_MS = 30_000

# Quiet, deterministic JupyterLab: no news or update checks (they would fetch from the
# internet), no toasts over the menus, and every cell kept in the DOM.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base, token, path, method="GET", timeout=10):
    request = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


class Lab:
    """A JupyterLab server in a temporary folder, stopped cleanly by ``stop()``."""

    def __init__(self, home, root=None):
        self.root = root or home / "notebooks"
        if root is None:
            shutil.copytree(REPO / "notebooks", self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name, values in SETTINGS.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
               "MPLBACKEND": "Agg"}
        env.pop("COURSE_BOOK_BUILD", None)  # a student's kernel: live demos
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--ServerApp.port_retries=0", "--ServerApp.terminals_enabled=False",
             "--LabApp.extension_manager=readonly"]  # the default one asks PyPI for extensions
            + (["--allow-root"] if os.geteuid() == 0 else []),
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=home,
        )

    def log(self):
        if not self._log.closed:
            self._log.flush()
        return tail(self.log_path.read_text(errors="replace"), 40)

    def wait_until_up(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {self.process.returncode}:\n{self.log()}", pytrace=False)
            try:
                _api(self.base, self.token, "/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT_S} s:\n{self.log()}", pytrace=False)

    def stop(self):
        if self.process.poll() is None:
            try:
                _api(self.base, self.token, "/api/shutdown", method="POST")  # also shuts its kernels down
                self.process.wait(timeout=30)
            except Exception:
                self.process.terminate()
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=15)
        self._log.close()


@pytest.fixture
def lab(tmp_path):
    server = Lab(tmp_path)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
    assert server.process.returncode is not None


# The figure of the first demo: the live Image widget next to its first slider.
DEMO_FIGURE_JS = """() => {
  const handle = document.querySelector('.jp-OutputArea-output .widget-slider .noUi-handle');
  if (!handle) return null;
  const demo = handle.closest('.widget-vbox');
  const img = demo && demo.querySelector('img');
  return {src: img ? img.src : null, loaded: !!img && img.complete && img.naturalWidth > 0,
          at_end: Number(handle.getAttribute('aria-valuenow')) >= Number(handle.getAttribute('aria-valuemax')),
          readout: (handle.closest('.widget-slider').querySelector('.widget-readout') || {}).textContent};
}"""

# Every code cell numbered, or an error (Run All stops at the first one and unqueues the rest).
CELLS_DONE_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
  const done = prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
  return done || !!document.querySelector("[data-mime-type='application/vnd.jupyter.error']");
}"""


def test_chapter_0_demo_redraws_live_in_jupyterlab(lab, browser):
    assert (lab.root / CHAPTER).is_file(), f"notebooks/{CHAPTER} does not exist yet"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # JupyterLab itself may try to reach the internet (extensions, fonts); the machine has none.
    context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "blob:", "data:")),
                  lambda route: route.abort())
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab.base}/lab/tree/{CHAPTER}?token={lab.token}", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=PAGE_TIMEOUT_MS)
        _wait_for_kernel_idle(page, lab, PAGE_TIMEOUT_MS, "after opening the notebook")

        # The saved notebook has outputs and execution counts: clear them, so that "every cell
        # numbered" below means "every cell ran here".
        _menu(page, "Edit", "editmenu:clear-all")
        page.wait_for_function("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
                               ".every(p => !/\\d/.test(p.textContent))", timeout=PAGE_TIMEOUT_MS)
        _menu(page, "Run", "runmenu:run-all")
        try:
            page.wait_for_function(CELLS_DONE_JS, timeout=RUN_ALL_TIMEOUT_MS, polling=500)
        except Exception:
            pytest.fail(f"Run All did not finish within {RUN_ALL_TIMEOUT_MS // 1000} s; prompts: "
                        f"{page.eval_on_selector_all('.jp-CodeCell .jp-InputArea-prompt', 'ps => ps.map(p => p.textContent)')}",
                        pytrace=False)
        _wait_for_kernel_idle(page, lab, RUN_ALL_TIMEOUT_MS, "after Run All")
        tracebacks = page.eval_on_selector_all("[data-mime-type='application/vnd.jupyter.error']",
                                               "els => els.map(e => e.textContent.slice(-600))")
        assert not tracebacks, f"cells of {CHAPTER} raised errors in JupyterLab: {tracebacks}"

        try:
            page.wait_for_function(f"() => {{ const f = ({DEMO_FIGURE_JS})(); return f && f.loaded; }}",
                                   timeout=REDRAW_TIMEOUT_MS)
        except Exception:
            pytest.fail(f"no demo (a slider beside a picture) appeared in the outputs of {CHAPTER}: "
                        f"{page.evaluate(DEMO_FIGURE_JS)}", pytrace=False)
        before = page.evaluate(DEMO_FIGURE_JS)
        handle = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.press("ArrowLeft" if before["at_end"] else "ArrowRight")
        try:
            page.wait_for_function(
                f"(old) => {{ const f = ({DEMO_FIGURE_JS})(); return f && f.loaded && f.src !== old; }}",
                arg=before["src"], timeout=REDRAW_TIMEOUT_MS)
        except Exception:
            after = page.evaluate(DEMO_FIGURE_JS)
            pytest.fail(f"moving the first demo slider (readout {before['readout']!r} -> {after['readout']!r}) did not "
                        f"redraw its figure within {REDRAW_TIMEOUT_MS // 1000} s; JupyterLab log:\n{lab.log()}",
                        pytrace=False)
        after = page.evaluate(DEMO_FIGURE_JS)
        assert after["readout"] != before["readout"], "the slider's readout did not change"
        assert not errors, f"JupyterLab threw JavaScript errors: {errors}"
    finally:
        context.close()


def _menu(page, menu, command):
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.click(f".lm-Menu-item[data-command='{command}']")


def _wait_for_kernel_idle(page, lab, timeout_ms, when):
    """Wait until the notebook's kernel has started and is idle (asked of the server, not the DOM)."""
    deadline = time.monotonic() + timeout_ms / 1000
    states = []
    while time.monotonic() < deadline:
        try:
            states = [k["execution_state"] for k in _api(lab.base, lab.token, "/api/kernels")]
        except urllib.error.HTTPError as exc:  # a kernel still starting can make this a 500
            states = [f"HTTP {exc.code}"]
        if states and all(s == "idle" for s in states):
            return
        page.wait_for_timeout(500)
    pytest.fail(f"the kernel was not idle {when} within {timeout_ms // 1000} s (states {states}):\n{lab.log()}",
                pytrace=False)


# ---------------------------------------------------------------------------- a student answers a value exercise

VALUE_CHAPTER = "03_adaptive_learning_rate.ipynb"
VALUE_EXERCISE = "adaptive.largest_stable_lr"
ANSWERS = {   # typed into the exercise cell, as a student would: first wrong (the flat direction), then right
    "wrong": "import torch\nfrom course_utils.exercises import problem\n"
             "largest_stable_lr = 2 / float(torch.linalg.eigvalsh(problem('adaptive.largest_stable_lr')['hessian']).min())",
    "right": "import torch\nfrom course_utils.exercises import problem\n"
             "largest_stable_lr = 2 / float(torch.linalg.eigvalsh(problem('adaptive.largest_stable_lr')['hessian']).max())",
}


@pytest.fixture
def student_lab(tmp_path):
    """JupyterLab on the student's own folder, made by `make lab`'s workspace step; chapter 3 is cut down to its
    exercises (and the cells before them that define what they use), so that Run All is quick."""
    import nbformat

    from course_utils.exercises.workspace import workspace

    folder = tmp_path / "my-notebooks"
    workspace(folder, [REPO / "notebooks" / VALUE_CHAPTER])
    notebook = nbformat.read(folder / VALUE_CHAPTER, as_version=4)
    first_exercise = next(i for i, cell in enumerate(notebook.cells) if "## " in cell.source
                          and "Exercises" in cell.source and cell.cell_type == "markdown")
    imports = [cell for cell in notebook.cells[:first_exercise] if cell.cell_type == "code" and "import" in cell.source
               and "course_utils" in cell.source][:1]
    notebook.cells = imports + notebook.cells[first_exercise:]
    nbformat.write(notebook, folder / VALUE_CHAPTER)
    server = Lab(tmp_path, root=folder)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


CHECK_OUTPUT_JS = """(id) => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const cell = cells.find(c => (c.querySelector('.jp-InputArea-editor') || {}).textContent
                               .includes('check("' + id + '"'));
  return cell ? (cell.querySelector('.jp-OutputArea') || {}).textContent || '' : null;
}"""


def test_a_student_answers_a_value_exercise_and_reads_its_verdict(student_lab, browser):
    lab = student_lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "blob:", "data:")),
                  lambda route: route.abort())
    page = context.new_page()
    try:
        page.goto(f"{lab.base}/lab/tree/{VALUE_CHAPTER}?token={lab.token}", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=PAGE_TIMEOUT_MS)
        _wait_for_kernel_idle(page, lab, PAGE_TIMEOUT_MS, "after opening the notebook")
        _menu(page, "Run", "runmenu:run-all")
        page.wait_for_function(CELLS_DONE_JS, timeout=RUN_ALL_TIMEOUT_MS, polling=500)
        _wait_for_kernel_idle(page, lab, RUN_ALL_TIMEOUT_MS, "after Run All")
        assert "not attempted yet" in page.evaluate(CHECK_OUTPUT_JS, VALUE_EXERCISE)

        verdicts = {}
        for kind, answer in ANSWERS.items():
            stub = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-editor",
                                has_text="largest_stable_lr =").first
            stub.scroll_into_view_if_needed()
            stub.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(answer)
            page.keyboard.press("Shift+Enter")    # runs the answer and selects the check cell below it
            page.keyboard.press("Shift+Enter")    # runs the check
            mark = "✘" if kind == "wrong" else "✔"
            page.wait_for_function(f"(id) => ({CHECK_OUTPUT_JS})(id).includes('{mark} ' + id)",
                                   arg=VALUE_EXERCISE, timeout=PAGE_TIMEOUT_MS)
            verdicts[kind] = page.evaluate(CHECK_OUTPUT_JS, VALUE_EXERCISE)
        assert "too high" in verdicts["wrong"] and "hint:" in verdicts["wrong"], verdicts["wrong"]
        assert f"✔ {VALUE_EXERCISE}: correct" in verdicts["right"], verdicts["right"]
        shots = Path(tempfile.gettempdir()) / "course-book-screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "lab__value_exercise.png"))
    finally:
        context.close()
