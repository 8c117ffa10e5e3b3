"""Every page of the built book in a real browser (Debian's chromium): it works offline,
throws no JavaScript error, typesets its maths, loads every picture, every demo
slider changes the figure with no kernel behind the page, and under every exercise the
check shows what a student sees before answering, never a ✔ the stub did not earn.

Each page is opened once (``visit``); the tests below assert on what that visit saw.
A full-page screenshot of every page, as the reader first sees it, is written to
``$TMPDIR/course-book-screenshots/`` (e.g. ``notebooks__00_training_recipe.png``) for a
person to look at, and one of each chapter's first exercise with its check
(``notebooks__00_training_recipe__exercise.png``).
"""
import importlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import page_source, toc_pages

pytestmark = pytest.mark.browser

PAGES = ["index"] + toc_pages()
SCREENSHOTS = Path(tempfile.gettempdir()) / "course-book-screenshots"
LOAD_TIMEOUT_MS = 60_000
SETTLE_TIMEOUT_MS = 20_000
SLIDER_TIMEOUT_MS = 10_000
LOCAL_SCHEMES = {"blob", "data", "file"}
SLIDER_MODELS = {"SelectionSliderModel", "IntSliderModel", "FloatSliderModel", "FloatLogSliderModel",
                 "SelectionRangeSliderModel", "IntRangeSliderModel", "FloatRangeSliderModel"}

# Raw TeX that MathJax should have replaced. Single dollars follow pandoc's rule: "$5 and $10" is money.
RAW_MATH = re.compile(r"\$\$|\\\[|\\\(|\\begin\{|(?<![\w$\\])\$(?=\S)[^$\n]{1,200}(?<=\S)\$(?![\w$])")
SOURCE_MATH = re.compile(r"\{math\}|" + RAW_MATH.pattern)


def _source_has_math(docname):
    path = page_source(docname)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^(```|~~~).*?^\1", "", text)  # code blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return bool(SOURCE_MATH.search(text))


def _is_local(url):
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.scheme in {"http", "https"} and parts.hostname == "127.0.0.1")


@dataclass
class Visit:
    url: str
    external: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # the page never reached a state worth testing
    math: dict = field(default_factory=dict)
    images: list = field(default_factory=list)
    expected_sliders: int = 0
    sliders: list = field(default_factory=list)
    screenshot: str = ""
    checks: list = field(default_factory=list)  # every cell tagged `check`: its code and what it shows
    marks: list = field(default_factory=list)  # every "✔|✘|… <id>:" on the page, and the example box it is in


# Text a reader sees: visible text nodes, minus code and already-typeset maths.
VISIBLE_TEXT_JS = """() => {
  const skip = 'pre, code, script, style, noscript, mjx-container, .highlight, textarea';
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !el.checkVisibility()) continue;
    parts.push(n.textContent);
  }
  return parts.join(' ');
}"""

MATH_JS = """() => ({
  containers: document.querySelectorAll('mjx-container').length,
  elements: document.querySelectorAll('.math').length,
  untypeset: [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
  mathjax: !!(window.MathJax && window.MathJax.startup),
})"""

WAIT_MATHJAX_JS = """async () => {
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return false;
  await MathJax.startup.promise;
  return true;
}"""

# Mark every slider with data-test-slider="demo/slider" and return their starting state.
TAG_SLIDERS_JS = """() => {
  const demos = [...new Set([...document.querySelectorAll('.widget-slider')].map(s => s.closest('.widget-vbox') || s.parentElement))];
  const out = [];
  demos.forEach((demo, d) => {
    demo.querySelectorAll('.widget-slider').forEach((slider, s) => {
      const handle = slider.querySelector('.noUi-handle');
      if (handle) handle.setAttribute('data-test-slider', d + '/' + s);
      const label = slider.querySelector('.widget-label');
      out.push({id: d + '/' + s, demo: d, label: label ? label.textContent : '', has_handle: !!handle,
                at_end: handle ? Number(handle.getAttribute('aria-valuenow')) >= Number(handle.getAttribute('aria-valuemax')) : false});
    });
  });
  return out;
}"""

FIGURE_JS = """(id) => {
  const handle = document.querySelector(`[data-test-slider="${id}"]`);
  const demo = handle.closest('.widget-vbox') || document;
  const imgs = [...demo.querySelectorAll('img.widget-image')].filter(i => i.checkVisibility());
  const slider = handle.closest('.widget-slider');
  const readout = slider && slider.querySelector('.widget-readout');
  return {srcs: imgs.map(i => i.src), loaded: imgs.every(i => i.complete && i.naturalWidth > 0),
          readout: readout ? readout.textContent : null, index: handle.getAttribute('aria-valuenow')};
}"""


# The cells MyST-NB renders carry their tags as classes (`tag_check`).
CHECKS_JS = """() => [...document.querySelectorAll('div.cell.tag_check')].map(cell => ({
  code: (cell.querySelector('.cell_input') || {}).textContent || '',
  shown: [...cell.querySelectorAll('.cell_output')].map(o => o.innerText).join('\\n').trim(),
  visible: cell.checkVisibility(),
}))"""
EXAMPLE_TITLE = "Example of the feedback"
# Every "✔|✘|… <id>:" in the page's text, code included, with the title of the admonition around it.
MARKS_JS = """() => {
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (const m of n.textContent.matchAll(/[✔✘…]\\s+[\\w]+\\.[\\w]+:/g)) {
      const box = n.parentElement.closest('.admonition');
      const title = box && box.querySelector('.admonition-title');
      out.push({verdict: m[0], example: title ? title.textContent.trim() : null});
    }
  }
  return out;
}"""
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")


def _screenshot_first_exercise(page, path):
    """The first exercise's stub and its check, as one picture (for a person to look at)."""
    box = page.evaluate("""() => {
      const stub = document.querySelector('div.cell.tag_exercise');
      if (!stub) return null;
      let check = stub.nextElementSibling;
      while (check && !check.matches('div.cell.tag_check')) check = check.nextElementSibling;
      stub.scrollIntoView();
      const a = stub.getBoundingClientRect(), b = (check || stub).getBoundingClientRect();
      return {x: a.left + window.scrollX, y: a.top + window.scrollY,
              width: Math.max(a.right, b.right) - a.left, height: b.bottom - a.top};
    }""")
    if box and box["width"] > 0 and box["height"] > 0:
        page.screenshot(path=str(path), full_page=True, clip={k: max(0, v) for k, v in box.items()})


def _expected_sliders(page):
    """How many sliders the page's embedded widget state says the reader should see."""
    states = page.eval_on_selector_all(
        'script[type="application/vnd.jupyter.widget-state+json"]', "els => els.map(e => e.textContent)")
    return sum(model.get("model_name") in SLIDER_MODELS
               for text in states for model in json.loads(text).get("state", {}).values())


def _load_every_image(page):
    """Scroll top to bottom so lazy pictures load, then wait for every <img> to finish."""
    height = page.evaluate("document.documentElement.scrollHeight")
    step = page.evaluate("window.innerHeight")
    for y in range(0, height + step, step):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(40)
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { if (!i.complete) i.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=SETTLE_TIMEOUT_MS)
    page.evaluate("window.scrollTo(0, 0)")
    return page.evaluate("() => [...document.images].map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}))")


def _move_sliders(page, report):
    for slider in page.evaluate(TAG_SLIDERS_JS):
        result = {**slider, "changed": False, "loaded": False}
        report.sliders.append(result)
        if not slider["has_handle"]:
            continue
        handle = page.locator(f'[data-test-slider="{slider["id"]}"]')
        handle.scroll_into_view_if_needed()
        before = page.evaluate(FIGURE_JS, slider["id"])
        handle.press("ArrowLeft" if slider["at_end"] else "ArrowRight")
        try:
            page.wait_for_function(
                "([id, srcs]) => { const h = document.querySelector(`[data-test-slider=\"${id}\"]`);"
                " const demo = h.closest('.widget-vbox') || document;"
                " const now = [...demo.querySelectorAll('img.widget-image')].filter(i => i.checkVisibility()).map(i => i.src);"
                " return now.length > 0 && JSON.stringify(now) !== JSON.stringify(srcs); }",
                arg=[slider["id"], before["srcs"]], timeout=SLIDER_TIMEOUT_MS)
        except Exception:
            pass  # recorded below: the figure did not change
        page.wait_for_timeout(100)
        after = page.evaluate(FIGURE_JS, slider["id"])
        result.update(before=before, after=after, changed=bool(after["srcs"]) and after["srcs"] != before["srcs"],
                      loaded=after["loaded"])


def _visit(browser, url, screenshot_path):
    report = Visit(url=url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: None if _is_local(r.url) else report.external.append(r.url))
    page.on("requestfailed", lambda r: report.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: report.failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
    page.on("pageerror", lambda e: report.errors.append(str(e)))
    try:
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        report.expected_sliders = _expected_sliders(page)
        views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if views:
            try:
                page.wait_for_function(f"() => document.querySelectorAll('.widget-subarea > *').length >= {views}",
                                       timeout=SETTLE_TIMEOUT_MS)
            except Exception:
                report.problems.append(f"the page embeds {views} widgets but the widget manager did not render them")
        page.evaluate(WAIT_MATHJAX_JS)
        report.images = _load_every_image(page)
        page.evaluate(WAIT_MATHJAX_JS)  # widgets typeset their labels after they render
        report.math = page.evaluate(MATH_JS)
        report.math["raw"] = sorted(set(RAW_MATH.findall(page.evaluate(VISIBLE_TEXT_JS))))
        try:  # the screenshot is for people reading a failure; it is not itself a check
            page.screenshot(path=str(screenshot_path), full_page=True, timeout=60_000)
            report.screenshot = str(screenshot_path)
        except PlaywrightTimeoutError:
            report.screenshot = "no screenshot: taking it timed out"
        report.checks = page.evaluate(CHECKS_JS)
        report.marks = page.evaluate(MARKS_JS)
        if report.checks:
            try:
                _screenshot_first_exercise(page, screenshot_path.with_name(screenshot_path.stem + "__exercise.png"))
            except PlaywrightTimeoutError:
                pass  # only a picture for people, as above
        _move_sliders(page, report)
    except Exception as exc:  # a timeout: say where, and keep what was seen so far
        report.problems.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        context.close()
    return report


@pytest.fixture(scope="module")
def visit(browser, book_url):
    """visit(docname) -> Visit, opening each page once per test module."""
    shots = SCREENSHOTS
    shots.mkdir(exist_ok=True)
    seen = {}

    def get(docname):
        if docname not in seen:
            seen[docname] = _visit(browser, f"{book_url}{docname}.html", shots / f"{docname.replace('/', '__')}.png")
        report = seen[docname]
        assert not report.problems, f"{report.url}: {report.problems}"
        return report

    return get


#: What a page must not do, and how to find it in what its visit saw.
PAGE_PROBLEMS = {
    "made requests that leave 127.0.0.1": lambda report: report.external,
    "requests for the book's own files failed": lambda report: [
        f for f in report.failed if not urlsplit(f.split(" ")[0]).path.endswith("/favicon.ico")],
    "uncaught JavaScript errors": lambda report: report.errors,
    "pictures that did not load": lambda report: [i["src"][:120] for i in report.images if i["width"] == 0],
}


@pytest.mark.parametrize("problem", list(PAGE_PROBLEMS))
@pytest.mark.parametrize("docname", PAGES)
def test_page_works_offline_and_whole(visit, docname, problem):
    report = visit(docname)
    found = PAGE_PROBLEMS[problem](report)
    assert not found, f"{report.url} {problem}: {found}"


@pytest.mark.parametrize("docname", PAGES)
def test_page_maths_is_typeset(visit, docname):
    report = visit(docname)
    math = report.math
    assert not math["raw"], f"{report.url}: maths left as raw TeX in the visible text: {math['raw']} (see {report.screenshot})"
    assert not math["untypeset"], f"{report.url}: maths elements MathJax did not typeset: {math['untypeset']}"
    if docname != "index" and _source_has_math(docname):
        assert math["mathjax"], f"{report.url}: the source has maths but MathJax did not load"
        assert math["containers"] > 0, f"{report.url}: the source has maths but no mjx-container is on the page"


@pytest.mark.parametrize("docname", PAGES)
def test_every_demo_slider_changes_the_figure(visit, docname):
    report = visit(docname)
    assert len(report.sliders) == report.expected_sliders, (
        f"{report.url}: the page embeds {report.expected_sliders} sliders but {len(report.sliders)} rendered")
    stuck = [f"demo {s['demo']} slider {s['label']!r}: {s.get('before')} -> {s.get('after')}"
             for s in report.sliders if not (s["changed"] and s["loaded"])]
    assert not stuck, f"{report.url}: moving these sliders did not change the figure (or it did not load): {stuck} (see {report.screenshot})"


def _source_checks(docname):
    """The exercise ids of the chapter's cells tagged `check`, in order."""
    cells = json.loads(page_source(docname).read_text(encoding="utf-8"))["cells"]
    return [m.group(1) for c in cells if "check" in (c.get("metadata", {}).get("tags") or [])
            for m in [CHECK_CALL.search("".join(c["source"]))] if m]


@pytest.mark.parametrize("docname", [d for d in PAGES if d.startswith("notebooks/")])
def test_every_check_shows_the_verdict_before_an_answer(visit, docname):
    """The book runs a chapter without its hidden solution cells, so under each exercise's stub
    the reader sees what a student sees before answering, never "✔ correct" for a stub that
    still raises NotImplementedError."""
    report = visit(docname)
    expected = _source_checks(docname)
    assert expected, f"{docname}: the notebook has no check cells; is this test looking at the right pages?"
    found = [m.group(1) for c in report.checks for m in [CHECK_CALL.search(c["code"])] if m]
    assert found == expected, f"{report.url}: the page shows the check cells {found}, the notebook has {expected}"
    wrong = [f"{exercise}: {check['shown'][:200]!r}" for exercise, check in zip(found, report.checks)
             if not (check["visible"] and check["shown"].startswith(f"… {exercise}: not attempted yet"))]
    assert not wrong, (f"{report.url}: these checks do not show the verdict before an answer "
                       f"('… <id>: not attempted yet'): {wrong} (see {report.screenshot})")


@pytest.mark.parametrize("docname", PAGES)
def test_a_tick_appears_only_in_a_labelled_example(visit, docname):
    """A "✔ correct" is shown only as an example of the feedback, in a box that says so."""
    report = visit(docname)
    bare = [m["verdict"] for m in report.marks
            if m["verdict"].startswith("✔") and not (m["example"] or "").startswith(EXAMPLE_TITLE)]
    assert not bare, f"{report.url}: ✔ verdicts outside an '{EXAMPLE_TITLE}' box: {bare} (see {report.screenshot})"


def test_the_exercises_page_shows_an_example_of_each_verdict(visit):
    report = visit("book/exercises")
    examples = [m["verdict"] for m in report.marks if (m["example"] or "").startswith(EXAMPLE_TITLE)]
    assert examples == ["… recipe.sigmoid_model:", "✔ recipe.sigmoid_model:", "✘ recipe.sigmoid_model:",
                        "✘ adaptive.largest_stable_lr:"], (
        f"{report.url}: the example boxes should show a function's verdict before an answer, a correct one and a "
        f"wrong one, then a wrong prediction's, not {examples} (see {report.screenshot})")


# --- Demos on a wide screen and on a phone ---------------------------------------------------------

#: A laptop and a phone (an iPhone's 390 CSS pixels), each at the device pixel ratio it usually has.
SCREENS = {"1280px": {"width": 1280, "height": 900, "scale": 1}, "390px": {"width": 390, "height": 844, "scale": 3}}
CHAPTERS = [d for d in PAGES if d.startswith("notebooks/")]

# Every demo's box, picture, controls and readouts: where each lies, and whether its text is cut off.
DEMO_LAYOUT_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const demos = [...document.querySelectorAll('.course-demo')];
  const problems = [], widths = [];
  demos.forEach((demo, d) => {
    const title = (demo.querySelector('.widget-html-content') || demo).textContent.trim().slice(0, 50);
    const column = (demo.closest('.cell_output') || demo.parentElement).getBoundingClientRect();
    const right = Math.min(vw, column.right) + 1, left = Math.max(0, column.left) - 1;
    const parts = [demo, ...demo.querySelectorAll('.widget-label, .widget-readout, .slider-container, '
      + '.widget-toggle-button, .widget-dropdown select, img.widget-image, .widget-html-content')];
    for (const el of parts) {
      if (!el.checkVisibility()) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const what = `demo ${d} (${title}): ${el.className || el.tagName} ${JSON.stringify(el.textContent.trim().slice(0, 30))}`;
      if (r.right > right || r.left < left) problems.push(`${what} spans x ${Math.round(r.left)}–${Math.round(r.right)}, outside ${Math.round(left)}–${Math.round(right)}`);
      if (el.matches('.widget-readout, .widget-label, .widget-toggle-button') && el.scrollWidth > el.clientWidth + 1)
        problems.push(`${what} is cut off (${el.scrollWidth} px of text in ${el.clientWidth} px)`);
    }
    const img = [...demo.querySelectorAll('img.widget-image')].find(i => i.checkVisibility());
    if (img) widths.push(Math.round(img.getBoundingClientRect().width));
  });
  return {demos: demos.length, problems, widths, column: Math.round((document.querySelector('.cell_output') || document.body).getBoundingClientRect().width),
          page_scrolls_sideways: document.documentElement.scrollWidth > vw + 1};
}"""

# Each toggle-button group and dropdown of every demo: pick another option and say whether the picture changed.
NAMED_CHOICES_JS = """async () => {
  const visible = demo => [...demo.querySelectorAll('img.widget-image')].filter(i => i.checkVisibility()).map(i => i.src).join();
  const results = [];
  for (const [d, demo] of [...document.querySelectorAll('.course-demo')].entries()) {
    for (const group of demo.querySelectorAll('.widget-toggle-buttons')) {
      const before = visible(demo);
      const other = [...group.querySelectorAll('.widget-toggle-button')].find(b => !b.classList.contains('mod-active'));
      other.click();
      await new Promise(r => setTimeout(r, 150));
      results.push({demo: d, kind: 'toggle buttons', option: other.textContent, changed: visible(demo) !== before && visible(demo) !== ''});
    }
    for (const select of demo.querySelectorAll('.widget-dropdown select')) {
      const before = visible(demo);
      select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
      select.dispatchEvent(new Event('change', {bubbles: true}));
      await new Promise(r => setTimeout(r, 150));
      results.push({demo: d, kind: 'dropdown', option: select.value, changed: visible(demo) !== before && visible(demo) !== ''});
    }
  }
  return results;
}"""


def _demo_layout(browser, url, screen):
    context = browser.new_context(viewport={"width": screen["width"], "height": screen["height"]},
                                  device_scale_factor=screen["scale"])
    try:
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        page.wait_for_function(f"() => document.querySelectorAll('.widget-subarea > *').length >= {views}",
                               timeout=SETTLE_TIMEOUT_MS)
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=SETTLE_TIMEOUT_MS)
        layout = page.evaluate(DEMO_LAYOUT_JS)
        layout["named"] = page.evaluate(NAMED_CHOICES_JS) if screen["width"] > 1000 else []
        return layout
    finally:
        context.close()


@pytest.fixture(scope="module")
def demo_layout(browser, book_url):
    seen = {}

    def get(docname, screen):
        if (docname, screen) not in seen:
            seen[docname, screen] = _demo_layout(browser, f"{book_url}{docname}.html", SCREENS[screen])
        return seen[docname, screen]

    return get


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("docname", CHAPTERS)
def test_no_demo_control_or_readout_overflows(demo_layout, docname, screen):
    """Every control, readout and picture of every demo stays inside the text column and the screen,
    and no label, readout or option is cut off, on a laptop and on a 390 px phone."""
    layout = demo_layout(docname, screen)
    assert layout["demos"] > 0, f"{docname}: no demo (.course-demo) found at {screen}"
    assert not layout["problems"], f"{docname} at {screen}: " + "; ".join(layout["problems"])
    assert not layout["page_scrolls_sideways"], f"{docname} at {screen}: the page scrolls sideways"


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("docname", CHAPTERS)
def test_every_demo_spans_the_column_at_one_size(demo_layout, docname, screen):
    layout = demo_layout(docname, screen)
    expected = min(688, layout["column"])
    assert layout["widths"] and all(abs(width - expected) <= 1 for width in layout["widths"]), (
        f"{docname} at {screen}: demo pictures {layout['widths']} px wide, the column {layout['column']} px")


def _expected_named_choices(docname):
    """How many named choices (toggle buttons or a dropdown each) the demos a chapter shows declare:
    its notebook's ``show(demos.NAME)`` calls, ``demos`` being the widgets module it imports as such."""
    code = "\n".join("".join(c["source"]) for c in json.loads(page_source(docname).read_text(encoding="utf-8"))["cells"]
                     if c["cell_type"] == "code")
    module = re.search(r"from course_utils\.widgets import (\w+) as demos", code)
    if module is None:
        return 0
    demos = importlib.import_module(f"course_utils.widgets.{module.group(1)}")
    return sum(control.named for name in re.findall(r"\bshow\(demos\.(\w+)\)", code)
               for control in getattr(demos, name).controls.values())


@pytest.mark.parametrize("docname", CHAPTERS)
def test_every_named_choice_changes_the_figure(demo_layout, docname):
    named = demo_layout(docname, "1280px")["named"]
    expected = _expected_named_choices(docname)
    assert len(named) == expected, (f"{docname}: its demos declare {expected} named choices, but the page shows "
                                    f"{len(named)} as toggle buttons or dropdowns")
    stuck = [r for r in named if not r["changed"]]
    assert not stuck, f"{docname}: choosing these did not change the figure: {stuck}"
