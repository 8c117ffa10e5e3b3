"""How long the book takes to build, and each chapter notebook to run.

- cold build: a temporary copy of the repository (git's tracked and unignored files, plus
  the offline assets of ``make assets``) with no execution cache and no previous build,
  built with the command ``make book`` runs;
- cached rebuild: the same command again with nothing changed, median of 3 (target ≤ 15 s);
- each ``notebooks/*.ipynb`` run top to bottom by nbclient in a fresh kernel, kernel start
  included, as a student runs it in JupyterLab (live demos, no ``COURSE_BOOK_BUILD``);
  once each (target ≤ 60 s; the HW02 notebook ≤ 120 s in its quick configuration).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "_build" / "assets"
CACHED_REPEATS = 3
BUILD_TIMEOUT_S = 1800
NOTEBOOK_TIMEOUT_S = 600


def jupyter_book_command():
    """The build command of ``make book`` (the Makefile's flags: warnings are errors)."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return [str(jupyter_book), "build", ".", "--path-output", ".", "-W", "-n", "--keep-going", "--quiet"]


def copy_repository(target):
    """Git's tracked and unignored files of the repository, and a link to its offline assets."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if not (ASSETS / "vendor" / ".stamp").is_file():
        raise RuntimeError(f"{ASSETS} has no offline assets: run `make assets` (make bench does) first")
    (target / "_build").mkdir(exist_ok=True)
    (target / "_build" / "assets").symlink_to(ASSETS, target_is_directory=True)


def build_seconds(root):
    """Seconds for one book build in ``root``; raises with the build's output if it fails."""
    env = {**os.environ, "COURSE_BOOK_BUILD": "1", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.run(jupyter_book_command(), cwd=root, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        output = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise RuntimeError(f"the book build failed (exit {proc.returncode}):\n{output}")
    return seconds


def notebook_seconds(path):
    """Seconds for nbclient to run one notebook top to bottom in a fresh kernel (its folder as cwd)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=NOTEBOOK_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}})
    saved = os.environ.pop("COURSE_BOOK_BUILD", None)  # the kernel inherits our environment
    try:
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        if saved is not None:
            os.environ["COURSE_BOOK_BUILD"] = saved


def failed_row(benchmark, target, error):
    return {"benchmark": benchmark, "value": None, "unit": f"FAILED: {str(error).splitlines()[0]}", "target": target,
            "error": str(error)}


def run():
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        root = Path(tmp)
        copy_repository(root)
        try:
            cold = build_seconds(root)
            cached = [build_seconds(root) for _ in range(CACHED_REPEATS)]
            rows += [
                {"benchmark": "book build, cold (no execution cache, no previous build)", "value": cold, "unit": "s",
                 "target": "—"},
                {"benchmark": f"book rebuild with nothing changed (median of {CACHED_REPEATS})",
                 "value": statistics.median(cached), "unit": "s", "target": "≤ 15 s",
                 "baseline": cold, "ratio": statistics.median(cached) / cold},
            ]
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            rows.append(failed_row("book build (cold, then cached)", "≤ 15 s cached", error))

        for path in sorted((root / "notebooks").glob("*.ipynb")):
            target = "≤ 120 s" if "hw02" in path.name else "≤ 60 s"
            benchmark = f"notebook {path.name}, top to bottom (nbclient, fresh kernel)"
            try:
                rows.append({"benchmark": benchmark, "value": notebook_seconds(path), "unit": "s", "target": target})
            except Exception as error:  # a failing cell: report it and time the other notebooks
                reason = f"{getattr(error, 'ename', type(error).__name__)}: {getattr(error, 'evalue', error)}"
                rows.append(failed_row(benchmark, target, reason))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
