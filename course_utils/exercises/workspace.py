"""A student's own notebook folder: the student copies of every chapter, never overwritten.

``make lab`` calls :func:`workspace` (``python -m course_utils workspace DIR``) before it
opens JupyterLab in ``DIR``. The first run makes the folder and writes the student copy of
every chapter, exactly as ``python -m course_utils release`` writes it (solutions removed).
A later run writes only the chapters that are missing and leaves every notebook already
there as it is, whatever it holds: that is the student's work. So a student gets a fresh
copy of one chapter by renaming or deleting it and running ``make lab`` again.

A student who reads Chinese gets Chinese notebooks (``make lab LAB_LANGUAGE=zh_CN``, or
``zh_TW``): the same student copies, with each paragraph, heading and table cell of their
markdown cells replaced by its translation from the book's catalogues
(``book/locales/zh_CN/LC_MESSAGES/notebooks/<chapter>.po``; Traditional Chinese is converted
from them by OpenCC, as the book's zh_TW edition is). Code cells are the English ones, byte
for byte. A paragraph whose translation is missing or marked fuzzy stays in English.

Each notebook is written whole or not at all (a temporary file in the same folder, then a
hard link to its name, which fails rather than replace a file that appeared meanwhile).
A target that cannot hold the notebooks (a file, a folder without write permission, the
instructor's own ``notebooks/``) is refused before anything is written, with the reason
and the fix.
"""
import errno
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..languages import CONVERTED, LANGUAGES, SOURCE_LANGUAGE
from .release import ReleaseError, release

#: What the errors suggest: the two ways of naming another folder.
OTHER_FOLDER = "choose another folder: make lab LAB_DIR=/path/to/folder (or python -m course_utils workspace FOLDER)"


class WorkspaceError(Exception):
    """The student's folder cannot be made or filled; the message names the problem and the fix."""


@dataclass
class Workspace:
    """What :func:`workspace` did: the folder, whether it was made now, the chapters added and kept."""

    folder: Path
    created: bool
    added: list = field(default_factory=list)
    kept: list = field(default_factory=list)


def workspace(target, notebooks, language="en", locales=None):
    """Fill the folder ``target`` with the student copies of ``notebooks`` that it lacks.

    ``language`` other than ``"en"`` translates their markdown cells with the catalogues in
    ``locales`` (the book's ``book/locales``, found beside the notebooks' folder by default).
    Returns a :class:`Workspace`. Raises :class:`WorkspaceError`, having changed nothing, when
    ``target`` cannot be used, a notebook cannot be released or the language has no catalogues.
    """
    folder = Path(os.path.abspath(Path(target).expanduser()))
    notebooks = [Path(path) for path in notebooks]
    translations = {}
    if language != "en":
        locales = Path(locales) if locales else (notebooks[0].resolve().parent.parent / "book" / "locales"
                                                 if notebooks else Path("book/locales"))
        translations = {path.name: chapter_translations(locales, path.stem, language) for path in notebooks}
    _refuse_unusable(folder, notebooks)
    created = not folder.exists()
    missing = [path for path in notebooks if created or not os.path.lexists(folder / path.name)]
    result = Workspace(folder, created, kept=[path.name for path in notebooks if path not in missing])
    if not missing:
        return result
    with tempfile.TemporaryDirectory(prefix="course-workspace-") as scratch:
        try:
            released = release(missing, scratch)
        except ReleaseError as error:
            raise WorkspaceError(f"{error}\n(nothing was written to {folder})") from None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkspaceError(f"cannot make the folder {folder}: {error.strerror}; {OTHER_FOLDER}") from None
        for path in released:
            data = path.read_bytes()
            if language != "en":
                notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
                translate_notebook(notebook, translations[path.name])
                data = (nbformat.writes(notebook) + "\n").encode("utf-8")
            try:
                written = write_new(folder / path.name, data)
            except OSError as error:
                added = ", ".join(result.added) or "nothing"
                raise WorkspaceError(f"cannot write {folder / path.name}: {error.strerror}. Added before that: "
                                     f"{added}; no existing notebook was changed. Free some space or fix the "
                                     f"folder's permissions and run again, or {OTHER_FOLDER}") from None
            (result.added if written else result.kept).append(path.name)
    result.kept.sort()
    return result


def chapter_translations(locales, chapter, language):
    """{English text: translation} of one chapter's markdown, from the book's catalogue
    ``<locales>/<language>/LC_MESSAGES/notebooks/<chapter>.po``: every message translated and
    not marked fuzzy (a fuzzy one's English has changed since it was translated)."""
    from babel.messages.pofile import read_po

    if language not in LANGUAGES:
        raise WorkspaceError(f"no notebooks in {language!r}: choose one of {', '.join(LANGUAGES)} "
                             f"(make lab LAB_LANGUAGE=zh_CN)")
    source = SOURCE_LANGUAGE if language in CONVERTED else language
    path = Path(locales) / source / "LC_MESSAGES" / "notebooks" / f"{chapter}.po"
    if not path.is_file():
        raise WorkspaceError(f"no {language} translation of {chapter}: {path} is missing (the book's catalogues; "
                             f"make translations writes them). Nothing was written.")
    with open(path, "rb") as file:
        catalog = read_po(file, abort_invalid=True)
    convert = CONVERTED.get(language, str)
    return {message.id: convert(message.string) for message in catalog
            if message.id and message.string and not message.fuzzy and message.string != message.id}


# Where a message starts in a markdown cell: at a line's start or after a table's "|", past
# the marks of a heading, list item, quote or definition; and where it ends: at the line's
# end or the next "|". A message is one block of the cell, never a piece of a sentence.
_BEFORE = r"(?m)((?:^|\|)[ \t]*(?:(?:#{1,6}|[-*+:>]|\d{1,9}[.)])[ \t]+)*)"
_AFTER = r"(?=[ \t]*(?:\||$))"


def translate_markdown(source, translations):
    """``source`` (a markdown cell's text) with each block found in ``translations`` replaced
    by its translation; (new source, set of the messages replaced). A message's text is the
    block's with its line breaks as spaces (as Sphinx extracts it)."""
    found = set()
    for message in sorted(translations, key=len, reverse=True):
        words = message.split()
        if not words:
            continue
        pattern = re.compile(_BEFORE + r"\s+".join(re.escape(word) for word in words) + _AFTER)
        replaced = []

        def translate(match, message=message, replaced=replaced):
            if not _whole_block(match):
                return match[0]
            replaced.append(match)
            return match[1] + translations[message]

        source = pattern.sub(translate, source)
        if replaced:
            found.add(message)
    return source, found


_NEW_BLOCK = re.compile(r"[ \t]*(?:#{1,6}|[-*+:>]|\d{1,9}[.)])[ \t]+|[ \t]*\|")


def _whole_block(match):
    """Whether ``match`` is a whole block of its cell (a paragraph, heading, list item, quote line
    or table cell), not a line or a piece of a longer one: it starts after a blank line, the cell's
    start, a "|" or at a block's mark, and ends before a blank line, the cell's end, a "|" or a
    line that starts another block."""
    text, start, end = match.string, match.start(), match.end()
    starts = (start == 0 or text[:start].endswith("\n\n") or text[start:].lstrip(" \t").startswith("|")
              or text[start - 1] == "|" or bool(match[1].strip()))
    rest = text[end:].lstrip(" \t")
    ends = (not rest.strip() or rest.startswith("|") or rest.startswith("\n\n")
            or (rest.startswith("\n") and bool(_NEW_BLOCK.match(rest[1:]))))
    return starts and ends


def translate_notebook(notebook, translations):
    """Translate the markdown cells of ``notebook`` in place; the set of messages found."""
    found = set()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source, replaced = translate_markdown(cell.source, translations)
            found |= replaced
    return found


def _refuse_unusable(folder, notebooks):
    """Raise WorkspaceError when ``folder`` is not, or cannot become, a writable folder of student copies."""
    sources = {path.parent.resolve() for path in notebooks}
    if folder.resolve() in sources:
        raise WorkspaceError(f"{folder} holds the instructor notebooks (with solutions), not a student's copies; "
                             f"{OTHER_FOLDER}")
    if os.path.lexists(folder) and not folder.is_dir():
        what = "a link to nothing" if folder.is_symlink() and not folder.exists() else "a file"
        raise WorkspaceError(f"{folder} is {what}, not a folder, so the notebooks cannot go there; move or rename "
                             f"it, or {OTHER_FOLDER}")
    existing = folder
    while not existing.exists():   # the nearest folder that exists: the one a new folder is made in
        existing = existing.parent
    if not existing.is_dir():
        raise WorkspaceError(f"{existing} is a file, so the folder {folder} cannot be made; {OTHER_FOLDER}")
    if not os.access(existing, os.W_OK | os.X_OK):
        doing = "write in" if existing == folder else f"make the folder {folder} in"
        raise WorkspaceError(f"no permission to {doing} {existing}; give yourself write permission there "
                             f"(chmod u+w {existing}), or {OTHER_FOLDER}")


def write_new(path, data):
    """Write ``data`` (bytes) to a new file ``path``, whole or not at all; never replace a file.

    Returns False, writing nothing, when ``path`` already exists (a file, a folder or a link).
    """
    path = Path(path)
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(scratch, 0o666 & ~_umask())
        try:
            os.link(scratch, path)   # atomic, and fails if path exists
        except FileExistsError:
            return False
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(path):   # a file system without hard links: look, then rename
                return False
            os.rename(scratch, path)
        return True
    finally:
        try:
            os.unlink(scratch)
        except FileNotFoundError:
            pass


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def report(result):
    """What a run did, in lines for the student: the folder, the chapters added, those left as they are."""
    lines = [f"{'Made your' if result.created else 'Your'} notebook folder: {result.folder} (student copies: "
             f"exercises without their solutions)"]
    if result.added:
        lines.append(f"added {len(result.added)} chapter{'s' * (len(result.added) != 1)}: {', '.join(result.added)}")
    else:
        lines.append("added nothing: every chapter is already there")
    if result.kept:
        lines.append(f"left as they are (your work): {', '.join(result.kept)}")
        lines.append("For a fresh copy of a chapter, rename or delete its notebook and run make lab again.")
    return lines
