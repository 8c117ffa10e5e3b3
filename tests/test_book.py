"""The HTML book: it builds with warnings as errors, has every page, loads nothing from a
CDN, offers each chapter's student notebook (never the solutions) for download, and rebuilds from the execution cache."""
import html
import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import nbformat
from bs4 import BeautifulSoup

from course_utils.exercises.release import secret_lines
from course_utils.exercises.workspace import workspace
from course_utils.languages import LANGUAGES

from conftest import EXECUTION_CACHE, REPO, make_book, page_source, tail, toc_pages

pytestmark = pytest.mark.book

# <link rel=...> values that make the browser fetch something (others, e.g. "prev", are links).
FETCHING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
                      "icon", "shortcut", "apple-touch-icon", "manifest"}
URL_ATTRIBUTES = ("src", "href", "srcset", "data", "poster", "data-jupyter-widgets-cdn")
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)


def _is_remote(url):
    return url.strip().lower().startswith(("http://", "https://", "//"))


def _remote_loads(html):
    """(tag, attribute, url) for everything in a page that would be fetched from another host."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for tag in soup.find_all(True):
        if tag.name == "a":
            continue  # a plain link is followed only when the reader clicks it
        if tag.name == "link" and not FETCHING_LINK_RELS & {r.lower() for r in tag.get("rel", [])}:
            continue
        for attribute in URL_ATTRIBUTES:
            value = tag.get(attribute)
            if not value:
                continue
            urls = [part.split()[0] for part in value.split(",") if part.strip()] if attribute == "srcset" else [value]
            found += [(tag.name, attribute, url) for url in urls if _is_remote(url)]
        styles = [tag.get("style") or ""] + ([tag.get_text()] if tag.name == "style" else [])
        found += [(tag.name, "style", url) for css in styles for url in CSS_URL.findall(css)]
    return found


def _built_pages(html_dir):
    return sorted(p for p in html_dir.rglob("*.html")
                  if not {"_static", "_sources", "@jupyter-widgets"} & set(p.relative_to(html_dir).parts))


def test_make_book_builds_with_warnings_as_errors(built_book):
    plan = subprocess.run(["make", "-n", "book"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    builds = [line for line in plan.splitlines() if "jupyter-book build" in line or "editions.py html" in line]
    assert builds, f"`make -n book` runs no book build (jupyter-book build, or book/_ext/editions.py html):\n{plan}"
    for line in builds:
        flags = line.split()
        assert "-W" in flags and "--keep-going" in flags, f"the book build must turn warnings into errors (-W --keep-going): {line}"
    sphinx_warnings = [line for line in built_book.output.splitlines() if ": WARNING:" in line]
    assert not sphinx_warnings, f"the build printed warnings: {sphinx_warnings}"
    assert (built_book.html / "index.html").is_file(), "make book succeeded but wrote no _build/html/index.html"


def test_every_toc_page_has_an_html_file(built_book):
    missing = [f"{doc}.html" for doc in toc_pages() if not (built_book.html / f"{doc}.html").is_file()]
    assert not missing, f"pages listed in _toc.yml with no HTML in {built_book.html}: {missing}"


def test_no_page_loads_scripts_or_styles_from_another_host(built_book):
    pages = _built_pages(built_book.html)
    assert len(pages) >= len(toc_pages())
    remote = {str(p.relative_to(built_book.html)): loads for p in pages
              if (loads := _remote_loads(p.read_text(encoding="utf-8")))}
    assert not remote, f"pages that load from another host (the book must work offline): {remote}"


def test_remote_load_detector_catches_cdn_scripts_and_styles():
    page = """<html><head>
      <script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>
      <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
      <link rel="prev" href="https://example.org/previous.html">
      <style>@import "https://unpkg.com/x.css";</style>
      <script src="_static/local.js"></script></head>
      <body><a href="https://pytorch.org">PyTorch</a><img srcset="a.png 1x, https://cdn.example/b.png 2x"></body></html>"""
    assert sorted(url for _, _, url in _remote_loads(page)) == [
        "//fonts.googleapis.com/css?family=Lato",
        "https://cdn.example/b.png",
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js",
        "https://unpkg.com/x.css",
    ]


CHAPTERS = [d for d in toc_pages() if d.startswith("notebooks/")]


def _edition_dir(html, language):
    return html if language == "en" else html / language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_page_offers_the_students_notebook_for_download(built_book, docname, language, tmp_path):
    """The download button gives the notebook a student works in, in the edition's language: the student
    copy that `make lab` writes (no solution, nothing of one), never the instructor's copy; and no launch
    button opens the instructor's copy elsewhere."""
    page = _edition_dir(built_book.html, language) / f"{docname}.html"
    assert page.is_file(), f"{docname} was not built in the {language} edition"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    links = [a.get("href", "") for a in soup.select("a.btn-download-source-button")]
    notebooks = [href for href in links if urlsplit(href).path.endswith(".ipynb")]
    assert notebooks, f"{docname}: no 'download .ipynb' button (found download links {links})"
    target = (page.parent / urlsplit(notebooks[0]).path).resolve()
    assert target.is_file(), f"{docname}: the download button points at {notebooks[0]}, which is not in the build"
    opening = [a["href"] for a in soup.find_all("a", href=True)
               if page_source(docname).name in a["href"] and a["href"] != notebooks[0]]
    assert opening == [], f"{docname}: links that open the instructor's notebook (with the solutions): {opening}"
    instructor = nbformat.read(page_source(docname), as_version=4)
    offered = nbformat.reads(target.read_text(encoding="utf-8"), as_version=4)
    assert [c for c in offered.cells if "solution" in c.metadata.get("tags", [])] == [], \
        f"{docname} ({language}): the downloadable notebook holds the solution cells"
    text = target.read_text(encoding="utf-8")
    assert [line for line in secret_lines(instructor) if line in text] == [], \
        f"{docname} ({language}): lines of the solutions are in the downloadable notebook"
    workspace(tmp_path, [page_source(docname)], language=language)
    assert target.read_bytes() == (tmp_path / page_source(docname).name).read_bytes(), \
        f"{docname} ({language}): the downloadable notebook is not the student copy that make lab writes"


def test_no_file_of_the_book_holds_a_line_of_a_solution(built_book):
    """Nothing the book publishes, in any edition (pages, search index, downloads), holds a line of a solution."""
    secrets = {line: docname for docname in CHAPTERS
               for line in secret_lines(nbformat.read(page_source(docname), as_version=4))}
    assert len(secrets) > 20
    found = []
    for path in sorted(built_book.html.rglob("*")):
        if path.suffix not in {".html", ".ipynb", ".js", ".json", ".md", ".txt"} or not path.is_file() \
                or {"_static", "@jupyter-widgets"} & set(path.relative_to(built_book.html).parts):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        text += html.unescape(text)
        found += [(str(path.relative_to(built_book.html)), line) for line in secrets if line in text]
    assert found == [], f"solution lines published in the book: {found[:10]}"


def _stored_figures(notebook):
    """How many pictures (image/png or image/svg+xml outputs) the notebook's shown code cells hold.

    Cells tagged ``reveal`` are left out: they follow an exercise and show its answer at work (a prediction
    tested by a run), so in the book, which shows every exercise unanswered, they only ask for the answer."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(
        any(mime in output.get("data", {}) for mime in ("image/png", "image/svg+xml"))
        for cell in cells if cell["cell_type"] == "code"
        and not {"remove-cell", "remove-output", "reveal"} & set(cell.get("metadata", {}).get("tags", []))
        for output in cell.get("outputs", [])
    )


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_page_shows_every_figure_its_notebook_draws(built_book, docname):
    """The book executes the notebook itself: each figure the saved notebook shows must be on the page too
    (a non-interactive matplotlib backend in the build, for one, makes plt.show() draw nothing)."""
    soup = BeautifulSoup((built_book.html / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
    shown = [img for img in soup.select(".cell_output img") if not img.find_parent("noscript")]
    expected = _stored_figures(page_source(docname))
    assert len(shown) >= expected, f"{docname}: the saved notebook shows {expected} figures, the built page {len(shown)}"


def _cache_records():
    from jupyter_cache import get_cache

    return {r.pk: (r.hashkey, r.uri, r.created) for r in get_cache(str(EXECUTION_CACHE)).list_cache_records()}


def _build_inputs():
    """What decides whether a rebuild re-executes: the pages' sources, and the checksum of
    course_utils that ``make book`` keeps (it empties the cache when the library changes)."""
    checksum = REPO / "_build" / ".course_utils.sum"
    return ({doc: page_source(doc).stat().st_mtime_ns for doc in toc_pages()},
            checksum.read_text().strip() if checksum.is_file() else None)


def test_rebuild_with_nothing_changed_reuses_the_execution_cache(built_book):
    notebooks = [str(page_source(d).resolve()) for d in toc_pages() if page_source(d).suffix == ".ipynb"]
    # In a shared working tree someone may edit course_utils or a page meanwhile; then the
    # rebuild rightly re-executes, and we measure once more.
    for _ in range(2):
        before, inputs = _cache_records(), _build_inputs()
        cached = {uri for _, uri, _ in before.values()}
        assert set(notebooks) <= cached, (
            f"chapter notebooks missing from the execution cache after a build: {sorted(set(notebooks) - cached)}. "
            "If the cache was emptied while Sphinx's environment (_build/.doctrees) was kept, Sphinx did not "
            "re-read those notebooks, and the book shows their old outputs.")
        code, output, _ = make_book()
        assert code == 0, f"the second `make book` failed (exit {code}):\n{tail(output)}"
        if _build_inputs() == inputs:
            break
    else:
        pytest.fail("course_utils or a page changed during each of two rebuilds; cannot test the cache", pytrace=False)
    after = _cache_records()
    rerun = sorted({uri for pk, (_, uri, _) in after.items() if before.get(pk) != after[pk]}
                   | {uri for pk, (_, uri, _) in before.items() if pk not in after})
    assert not rerun, f"a rebuild with nothing changed did not reuse the execution cache of {rerun} (records replaced or gone)"
