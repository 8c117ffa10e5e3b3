"""Reading the exercise cells of a notebook: tags, check calls, and what a cell defines.

An exercise is three code cells (DESIGN.md): ``exercise`` (the stub),
``solution`` + ``remove-cell`` (the reference answer) and ``check``
(``check("<chapter>.<name>", answer)``). Release and grading both read
notebooks through these helpers, without running anything.
"""
import ast

import nbformat

MAX_NOTEBOOK_BYTES = 50 * 2**20


class Unreadable(Exception):
    """A file that is not a notebook the grader can read; the message says why, for the gradebook."""


def tags(cell):
    return set(cell.get("metadata", {}).get("tags", []) or [])


def check_ids(source):
    """The exercise ids of the ``check("…", …)`` calls in a cell's source (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]


def is_check_cell(cell):
    """A cell tagged ``check``, or one whose every statement is a ``check(...)`` call: grading skips it."""
    if cell.get("cell_type") != "code":
        return False
    if "check" in tags(cell):
        return True
    try:
        body = ast.parse(cell.source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "check" for statement in body)


def defined_names(source):
    """The names a cell defines at top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def cells_to_run(notebook):
    """[(cell index, source)] of the code cells grading runs: every code cell except the check cells."""
    return [(index, cell.source) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and cell.source.strip() and not is_check_cell(cell)]


def read_submission(path):
    """(notebook as nbformat v4, notes) of a submitted file; raise Unreadable with the reason."""
    data = path.read_bytes()
    if not data.strip():
        raise Unreadable("the file is empty")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the file is {len(data) / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                         "a notebook may have: clear its outputs and submit again")
    try:
        raw = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
    except UnicodeDecodeError:
        raise Unreadable("the file is not text (UTF-8): it is not a notebook") from None
    except Exception as error:
        raise Unreadable(f"the file is not a notebook (not valid notebook JSON: {_short(error)})") from None
    notes = []
    version = raw.get("nbformat")
    if version != 4:
        notes.append(f"the notebook is in nbformat {version}; it was converted to nbformat 4 to be graded")
    try:
        notebook = nbformat.convert(raw, 4)
        nbformat.validate(notebook)
    except Exception as error:
        raise Unreadable(f"the file is not a valid notebook ({_short(error)})") from None
    return notebook, notes


def _short(error, limit=200):
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
