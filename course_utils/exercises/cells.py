"""Reading the exercise cells of a notebook: tags, check calls, and what a cell defines.

An exercise is three code cells (DESIGN.md): ``exercise`` (the stub),
``solution`` + ``remove-cell`` (the reference answer) and ``check``
(``check("<chapter>.<name>", answer)``). Release and grading both read
notebooks through these helpers, without running anything.
"""
import ast
import json

from .feedback import abridged

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_CELLS = 10_000


class Unreadable(Exception):
    """A file that is not a notebook the grader can read; the message says why, for the gradebook."""


def tags(cell):
    return {tag for tag in cell.get("metadata", {}).get("tags", []) or [] if isinstance(tag, str)}


def check_ids(source):
    """The exercise ids of the ``check("…", …)`` calls in a cell's source (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
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
        body = ast.parse(cell["source"]).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and all(
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "check" for statement in body)


def defined_names(source):
    """The names a cell defines at top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
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
    return [(index, cell["source"]) for index, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "code" and cell["source"].strip() and not is_check_cell(cell)]


def read_submission(data):
    """(notebook as a plain nbformat-4 dict, notes) of a submitted file's bytes; raise Unreadable with the reason.

    Reads the JSON directly (nbformat's import alone takes seconds here); only a notebook in an
    older format goes through nbformat, to be converted.
    """
    if not data.strip():
        raise Unreadable("the file is empty")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the file is {len(data) / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                         "a notebook may have: clear its outputs and submit again")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("the file is not text (UTF-8): it is not a notebook") from None
    except ValueError as error:
        raise Unreadable(f"the file is not a notebook (not valid JSON: {abridged(error, 200)})") from None
    except RecursionError:
        raise Unreadable("the file is JSON nested too deeply to be a notebook") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("nbformat"), int):
        raise Unreadable("the file is JSON but not a notebook (it has no nbformat version)")
    notes = []
    if notebook["nbformat"] != 4:
        notes.append(f"the notebook is in nbformat {notebook['nbformat']}; it was converted to nbformat 4 to be graded")
        notebook = _converted(notebook)
    problem = _structure_problem(notebook)
    if problem:
        raise Unreadable(f"the file is not a valid notebook ({problem})")
    for cell in notebook["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
        # JSON may hold lone surrogates (\ud800), which no UTF-8 text can: they become U+FFFD
        cell["source"] = cell["source"].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return notebook, notes


def _converted(notebook):
    import nbformat

    try:
        return json.loads(nbformat.writes(nbformat.convert(nbformat.from_dict(notebook), 4)))
    except Exception as error:
        raise Unreadable(f"the notebook is in nbformat {notebook['nbformat']}, which could not be converted to "
                         f"nbformat 4 ({abridged(error, 200)})") from None


def _structure_problem(notebook):
    """What makes this nbformat-4 dict unusable for grading, or '' (a light check of the schema)."""
    if not isinstance(notebook.get("cells"), list) or not isinstance(notebook.get("metadata", {}), dict):
        return "it has no list of cells"
    if len(notebook["cells"]) > MAX_CELLS:
        return f"it has {len(notebook['cells'])} cells, more than the {MAX_CELLS} a notebook may have"
    for number, cell in enumerate(notebook["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {number} has no valid cell_type"
        source = cell.get("source")
        if not (isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
            return f"cell {number} has no valid source"
        if not isinstance(cell.get("metadata", {}), dict) or not isinstance(
                cell.get("metadata", {}).get("tags", []), list):
            return f"cell {number} has invalid metadata"
    return ""
