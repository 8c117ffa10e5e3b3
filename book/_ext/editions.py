"""Build the book in one language, or extract its text for translation (``make book``, ``make translations``).

The English notebooks and pages are the only source. The Chinese text lives in gettext
catalogues, one ``.po`` file per page or chapter, in ``book/locales/<language>/LC_MESSAGES/``
(``notebooks/01_critical_points.po``, ``book/glossary.po``, ...), and Sphinx puts it in
place of each English paragraph, heading and caption as it reads the page. MyST-NB parses a
translated paragraph of a notebook as Markdown (it sees the ``<translated>`` source), not
as notebook JSON, so its maths, links and roles work as in the English cell.

Every edition reads the same jupyter-cache (``_build/.jupyter_cache``): no notebook runs
twice. Each edition has its own record of read pages (``_build/.doctrees`` for English,
``_build/.doctrees-<language>`` for the others), so a rebuild with nothing changed reads
nothing again, whichever edition was built last.

The Traditional Chinese catalogues are converted from the Simplified ones (OpenCC) just
before their edition is built (``catalogues.py``); a catalogue is rewritten only when its
text changed, so an unchanged book reads nothing again.

Usage::

    python book/_ext/editions.py html -W --keep-going -n en zh_CN zh_TW  # -> _build/html/, _build/html/zh_CN/, ...
    python book/_ext/editions.py gettext -W --keep-going                 # -> _build/gettext/*.pot (the English)
"""
import os
import sys
import time
import warnings
from pathlib import Path

from catalogues import catalogue_paths, convert

from course_utils.languages import CONVERTED, LANGUAGES, SOURCE_LANGUAGE

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"


def output_dir(language):
    """Where an edition's HTML goes: English at the top, every other language in its own folder."""
    return BUILD / "html" if language == "en" else BUILD / "html" / language


def doctree_dir(builder, language):
    if builder == "gettext":
        return BUILD / ".doctrees-gettext"
    return BUILD / ".doctrees" if language == "en" else BUILD / f".doctrees-{language}"


def build(builder, language="en", editions=(), quiet=True, warnings_are_errors=True, keep_going=True,
          nitpicky=True, out=None):
    """Build one edition (``html``) or the message templates (``gettext``); Sphinx's status.
    Each page links to its twins in ``editions`` (the editions built together)."""
    from jupyter_book.sphinx import build_sphinx

    if builder not in ("html", "gettext"):
        raise SystemExit(f"unknown builder {builder!r}: use html or gettext")
    if language not in LANGUAGES:
        raise SystemExit(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    source = SOURCE_LANGUAGE if language in CONVERTED else language
    if language != "en" and not catalogue_paths(source):
        raise SystemExit(f"no catalogues for {source}: book/locales/{source}/LC_MESSAGES/ has no .po file "
                         "(make translations writes them)")
    if language in CONVERTED:
        convert(language)
    outdir = Path(out).resolve() if out else BUILD / "gettext" if builder == "gettext" else output_dir(language)
    doctrees = outdir / ".doctrees" if out else doctree_dir(builder, language)
    # What `jupyter-book build . -n` passes to Sphinx, plus the language.
    overrides = {"nitpicky": nitpicky, "external_toc_path": str(ROOT / "_toc.yml"), "latex_individualpages": False,
                 "language_editions": sorted(set(editions) | {language})}
    if language != "en":
        overrides["language"] = language
    os.chdir(ROOT)
    # Sphinx keeps every message catalogue it opened for the rest of the process, and adds a new
    # language's as a mere fallback of the old: each edition starts with none.
    import sphinx.locale

    sphinx.locale.translators.clear()
    return build_sphinx(
        ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"), confoverrides=overrides,
        doctreedir=doctrees, builder=builder, warningiserror=warnings_are_errors, keep_going=keep_going,
        quiet=quiet, really_quiet=False, freshenv=builder == "gettext")


def main(argv):
    import argparse

    # sphinx-external-toc looks at every live object to find Sphinx's toctree collector; in a
    # process that builds a second edition that includes torch's deprecated aliases (harmless).
    warnings.filterwarnings("ignore", category=FutureWarning, module="sphinx_external_toc.collectors")
    parser = argparse.ArgumentParser(description="Build the book's editions, or extract its text.")
    parser.add_argument("builder", choices=["html", "gettext"])
    parser.add_argument("languages", nargs="*", help="html: the editions, e.g. en zh_CN zh_TW (default: en)")
    parser.add_argument("-W", dest="warnings_are_errors", action="store_true", help="warnings are errors")
    parser.add_argument("--keep-going", action="store_true", help="with -W: report every warning, then fail")
    parser.add_argument("-n", dest="nitpicky", action="store_true", help="warn about every missing reference")
    parser.add_argument("--out", help="gettext: write the templates here instead of _build/gettext")
    args = parser.parse_intermixed_args(argv)
    options = dict(warnings_are_errors=args.warnings_are_errors, keep_going=args.keep_going, nitpicky=args.nitpicky)
    if args.builder == "gettext":
        if args.languages:
            parser.error("gettext extracts the English: it takes no language")
        result = build("gettext", out=args.out, **options)
        return result if isinstance(result, int) else 1
    status = 0
    editions = args.languages or ["en"]
    for language in editions:
        started = time.monotonic()
        result = build("html", language, editions, **options)
        result = result if isinstance(result, int) else 1
        where = output_dir(language).relative_to(ROOT)
        print(f"{language}: {'built' if result == 0 else 'FAILED'} in {time.monotonic() - started:.1f} s "
              f"({where}/index.html)", flush=True)
        status = status or result
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
