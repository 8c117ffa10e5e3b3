"""The translation catalogues: update them from the English, list what is left to translate.

One catalogue per page or chapter: ``book/locales/<language>/LC_MESSAGES/<page>.po``, for
example ``notebooks/01_critical_points.po``. A message is one paragraph, heading, list
item, table cell or caption of the English source, as MyST wrote it (inline maths, roles
and code spans included: a translation keeps them as they are); display maths is not a
message (it reads the same in every language).

``make translations`` runs ``update``: it extracts the English text (Sphinx's gettext
builder, into ``_build/gettext/*.pot``) and merges it into every catalogue with Babel
(pinned in requirements.txt), as ``msgmerge`` would: a new paragraph comes in untranslated,
a changed one keeps its old translation marked ``fuzzy`` (Sphinx shows the English until a
translator checks it and removes the mark), a removed one is kept at the end of the file as
obsolete (``#~``). A message with nothing to translate (only code, maths, numbers or
Chinese) gets itself as its translation. Then it writes the Traditional Chinese catalogues
from the Simplified ones (``zh_TW``, below).

``check`` lists every untranslated or fuzzy message, by file; ``tests/test_translations.py``
fails on any.

Traditional Chinese (``zh_TW``) is never edited by hand: it is the Simplified catalogue
converted message by message, with the fuzzy marks kept, by ``course_utils.languages``
(OpenCC's ``s2twp``, phrase by phrase, then the course's own terms: 參數, not 引數).

Usage::

    python book/_ext/catalogues.py update        # extract, merge into zh_CN, convert zh_TW
    python book/_ext/catalogues.py check [LANG]  # what is left to translate (exit 1 if any)
"""
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from course_utils.languages import CONVERTED, SOURCE_LANGUAGE

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "book" / "locales"
TEMPLATES = ROOT / "_build" / "gettext"
PROJECT = "Why training fails, and how to fix it"
WIDTH = 76  # the line width of the .po files (Babel's and msgmerge's default)

# What a translation copies as it is: code spans, inline maths and MyST roles.
_VERBATIM = re.compile(r"\{[\w:.-]+\}`[^`]*`|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", re.S)


# Converted catalogues are made by every build, never committed.
CONVERTED_LOCALES = ROOT / "_build" / "locales"


def catalogue_dir(language, locales=None):
    """The folder of a language's catalogues, in ``locales`` (default: where the book has them)."""
    if locales is None:
        locales = CONVERTED_LOCALES if language in CONVERTED else LOCALES
    return Path(locales) / language / "LC_MESSAGES"


def catalogue_paths(language, locales=None):
    """Every catalogue of a language, sorted."""
    return sorted(catalogue_dir(language, locales).rglob("*.po"))


def page_of(path, language, locales=None):
    """The book page a catalogue translates: ``notebooks/01_critical_points`` for its .po."""
    return path.relative_to(catalogue_dir(language, locales)).with_suffix("").as_posix()


def needs_translation(msgid):
    """Whether a message has words to translate: English letters outside code, maths and roles."""
    return re.search(r"[A-Za-z]", _VERBATIM.sub("", msgid)) is not None


def read(path):
    with open(path, "rb") as file:
        return read_po(file, abort_invalid=True)


def write(path, catalog):
    """Write a catalogue as msgmerge would, without Babel's guessed format flags (a message is
    Markdown, not a Python format string). A file whose text would not change is left alone
    (Sphinx re-reads every page of a catalogue whose file is newer than its compiled .mo)."""
    for message in catalog:
        message.flags.discard("python-format")
        message.flags.discard("python-brace-format")
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, omit_header=False, include_previous=False)
    if path.exists() and path.read_bytes() == buffer.getvalue():
        return False
    path.write_bytes(buffer.getvalue())
    return True


def _new_catalog(template, language):
    catalog = Catalog(locale=language, project=PROJECT, version="main", copyright_holder="the course authors",
                      fuzzy=False, header_comment=f"# {language} translation of {PROJECT}.\n"
                      "# Made by `make translations`; translators fill in the msgstr lines.\n#")
    for message in template:
        if message.id:
            catalog.add(message.id, "" if needs_translation(message.id) else message.id)
    return catalog


def pending(language=SOURCE_LANGUAGE, locales=None):
    """[(catalogue path, msgid, "untranslated" | "fuzzy")] for every message left to do."""
    left = []
    for path in catalogue_paths(language, locales):
        for message in read(path):
            if not message.id:
                continue
            if not message.string:
                left.append((path, message.id, "untranslated"))
            elif message.fuzzy:
                left.append((path, message.id, "fuzzy"))
    return left


def templates(folder=TEMPLATES):
    """{page: template catalog} from an extraction (``_build/gettext``, by default)."""
    folder = Path(folder)
    return {pot.relative_to(folder).with_suffix("").as_posix(): read(pot) for pot in sorted(folder.rglob("*.pot"))}


def _shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def merge(language=SOURCE_LANGUAGE, template_dir=TEMPLATES, locales=None):
    """Merge the extracted English into the language's catalogues; the pages changed, as text."""
    report = []
    pages = templates(template_dir)
    if not pages:
        raise SystemExit(f"no message templates in {template_dir}: run `make translations` (it extracts them first)")
    for page, template in pages.items():
        path = catalogue_dir(language, locales) / f"{page}.po"
        if not path.exists():
            write(path, _new_catalog(template, language))
            report.append(f"{_shown(path)}: new, {sum(1 for m in template if m.id)} messages")
            continue
        catalog = read(path)
        catalog.update(template, update_creation_date=False)
        for message in catalog:
            if message.id and not message.string and not needs_translation(message.id):
                message.string = message.id
        if write(path, catalog):
            fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
            empty = sum(1 for m in catalog if m.id and not m.string)
            report.append(f"{_shown(path)}: updated ({empty} untranslated, {fuzzy} fuzzy)")
    for path in catalogue_paths(language, locales):
        if page_of(path, language, locales) not in pages:
            report.append(f"{_shown(path)}: its page is no longer in the book; delete the file "
                          "if the page is gone for good")
    return report


def convert(target, source=SOURCE_LANGUAGE, source_locales=None, target_locales=None):
    """Write the ``target`` catalogues converted from the ``source`` ones (``CONVERTED``); the files written."""
    convert = CONVERTED[target]
    written = []
    for path in catalogue_paths(source, source_locales):
        catalog = read(path)
        catalog.locale = target
        for message in list(catalog) + list(catalog.obsolete.values()):
            if message.id and message.string:
                message.string = convert(message.string)
        out = catalogue_dir(target, target_locales) / path.relative_to(catalogue_dir(source, source_locales))
        if write(out, catalog):
            written.append(out)
    return written


def main(argv):
    command = argv[0] if argv else ""
    if command == "update":
        for line in merge(SOURCE_LANGUAGE) or ["the catalogues already match the English"]:
            print(line)
        for target in CONVERTED:
            written = convert(target)
            print(f"{target}: {len(written)} catalogue(s) converted from {SOURCE_LANGUAGE} ({CONVERTED[target].__name__})")
        return 0
    if command == "check":
        language = argv[1] if len(argv) > 1 else SOURCE_LANGUAGE
        left = pending(language)
        for path, msgid, why in left:
            print(f"{_shown(path)}: {why}: {msgid[:80]!r}")
        print(f"{len(left)} message(s) left to translate in {language}")
        return 1 if left else 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
