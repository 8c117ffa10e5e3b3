"""Execute the book's notebooks that are not in the execution cache, two at a time.

``make book`` runs this just before ``jupyter-book build``. Jupyter Book executes the
notebooks it finds outdated one after the other; every chapter runs on one thread, so on a
machine with two cores or more, running them side by side here nearly halves a cold build.
Each result is stored in the same jupyter-cache (``_build/.jupyter_cache``) the book reads
with ``execute_notebooks: cache``, exactly as Jupyter Book would have stored it (same
working directory, timeout and error policy as ``_config.yml``), so the build then finds
every notebook cached. A notebook that fails here is not cached: the book build then runs it
itself and reports the error in its usual way.

What runs, here and in the book build, is the notebook without its ``solution`` cells
(``student_view.without_solutions``; ``_config.yml`` makes it MyST-NB's reader), so a check
cell shows what a student sees before answering. The cache is keyed on that notebook: an
edit of any cell that runs re-executes the notebook, while an edit of a solution cell,
which runs nowhere in the book, does not.

Usage: python book/_ext/execute_parallel.py CACHE_DIR NOTEBOOK...
"""
import os
import sys
import time
from datetime import datetime
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

from student_view import without_solutions

TIMEOUT_S = 300  # execute.timeout in _config.yml
# A kernel's start (nbclient waits 60 s by default) can take longer on a busy two-core machine
# whose fresh .venv has not yet compiled ipykernel's modules: wait as long as for a cell, and
# start it again once before giving the notebook up to the book build.
STARTUP_TIMEOUT_S = TIMEOUT_S
ATTEMPTS = 2


def stored_seconds(path):
    """How long the notebook's stored outputs took to make (from the cells' execution
    timestamps, which nbclient records), or its file size in bytes / 1e5 without them."""
    stamps = []
    for cell in nbformat.read(path, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        stamps += [timing[key] for key in ("iopub.execute_input", "shell.execute_reply") if key in timing]
    if len(stamps) < 2:
        return os.path.getsize(path) / 1e5
    first, last = (datetime.fromisoformat(stamp.replace("Z", "+00:00")) for stamp in (min(stamps), max(stamps)))
    return (last - first).total_seconds()


def book_notebook(path):
    """The notebook at ``path`` as the book executes and renders it: without its solutions."""
    return without_solutions(nbformat.read(path, as_version=4))


def execute(path):
    """(path, executed notebook or None, seconds, error text) for one notebook, as the book runs it.

    A cell's error ends it at once (the book build reports it); a kernel that did not start or
    died gets one more try."""
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        notebook = book_notebook(path)
        try:
            result = single_nb_execution(notebook, cwd=str(Path(path).resolve().parent), timeout=TIMEOUT_S,
                                         allow_errors=False, meta_override=True,
                                         startup_timeout=STARTUP_TIMEOUT_S)
        except Exception as error:  # the kernel itself failed (start, death), not a cell
            message = f"{type(error).__name__}: {error} (attempt {attempt} of {ATTEMPTS})"
            if attempt < ATTEMPTS:
                print(f"  {path}: {message}; starting a new kernel", flush=True)
                continue
            return path, None, time.monotonic() - started, message
        if result.err is not None:
            return path, None, result.time, f"{type(result.err).__name__}: {result.err}"
        return path, notebook, result.time, None


def main(cache_dir, paths):
    cache = get_cache(cache_dir)
    todo = []
    for path in paths:
        try:
            cache.match_cache_notebook(book_notebook(path))
        except KeyError:
            todo.append(path)
    if not todo:
        return 0
    todo.sort(key=stored_seconds, reverse=True)  # the slowest first, so the two workers end together
    workers = max(1, min(len(todo), os.cpu_count() or 1, 2))
    print(f"executing {len(todo)} notebook(s), {workers} at a time", flush=True)
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(execute, path) for path in todo]):
            path, notebook, seconds, error = future.result()
            if error:
                print(f"  {path}: failed after {seconds:.0f} s ({error}); the book build will report it", flush=True)
                continue
            record = cache.add_nb_to_project(path)
            cache.cache_notebook_bundle(CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"  {path}: {seconds:.0f} s", flush=True)
    print(f"all executed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
