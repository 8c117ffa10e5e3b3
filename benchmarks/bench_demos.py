"""Update latency of every demo: what one slider move costs in JupyterLab, against a baseline commit.

For each :class:`~course_utils.widgets.Demo` in ``course_utils.widgets`` and its
submodules, time ``render(demo, **params)`` (compute + draw + PNG) once for every frame,
i.e. every combination of its control values, after one warm-up render, in CPU time (on a
loaded machine the wall clock measures the other load too). The row is the median over the
frames; the slowest frame is given beside it. Target: ≤ 100 ms.

The baseline column is the same demo at :data:`BASELINE` (the commit before the course's
demos moved to one harness), measured in the same run: its ``course_utils`` is taken from git
into a temporary folder, each side renders in its own Python process, and the two take turns
frame by frame, so that a load on the machine weighs on both alike. The ratio is now / baseline.
Without git (or that commit) the baseline columns stay empty.
"""
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 100
#: The commit the demos are compared with (issue 18's start).
BASELINE = "194d605"
ROOT = Path(__file__).resolve().parent.parent


def find_demos():
    """Every Demo of the widgets package, as {"module.NAME": demo}.

    A module offers its demos as module-level ``Demo`` instances, or in a module-level
    ``DEMOS`` list or dict. Submodules are searched before the package itself, so a demo
    re-exported by the package keeps the name of the module that defines it.
    """
    from course_utils import widgets
    from course_utils.widgets import Demo

    modules = [importlib.import_module(f"{widgets.__name__}.{m.name}")
               for m in sorted(pkgutil.iter_modules(widgets.__path__), key=lambda m: m.name)]
    found = {}
    for module in modules + [widgets]:
        short = module.__name__.removeprefix(widgets.__name__).lstrip(".") or "widgets"
        candidates = list(vars(module).items())
        listed = getattr(module, "DEMOS", None)
        if isinstance(listed, dict):
            candidates += [(f"DEMOS[{key!r}]", demo) for key, demo in listed.items()]
        elif isinstance(listed, (list, tuple)):
            candidates += [(f"DEMOS[{i}]", demo) for i, demo in enumerate(listed)]
        for name, obj in candidates:
            if isinstance(obj, Demo) and not any(obj is seen for seen in found.values()):
                found[f"{short}.{name}"] = obj
    return found


def serve():
    """A worker: on stdin ``name`` or ``name <frame index>``, renders and answers on stdout with the
    frame count (after a warm-up render of the defaults) or the seconds that frame took."""
    from course_utils.widgets import all_frames, render

    demos = find_demos()
    print(json.dumps(sorted(demos)), flush=True)
    for line in sys.stdin:
        name, *index = line.split()
        demo = demos[name]
        if not index:
            render(demo)
            print(len(list(all_frames(demo))), flush=True)
            continue
        params = list(all_frames(demo))[int(index[0])]
        start = time.process_time()
        render(demo, **params)
        print(time.process_time() - start, flush=True)


class Worker:
    """A Python process rendering the demos of the ``course_utils`` found in ``path``."""

    def __init__(self, path):
        env = {**os.environ, "PYTHONPATH": str(path), "MPLBACKEND": "Agg"}
        self.process = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=path, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.demos = json.loads(self.ask(None))

    def ask(self, request):
        if request is not None:
            self.process.stdin.write(request + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the demo worker in {self.process.args} stopped")
        return answer

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def baseline_tree(folder):
    """``course_utils`` at :data:`BASELINE`, extracted into ``folder``; None without git or that commit."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "course_utils"], capture_output=True)
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def run():
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        now = Worker(ROOT)
        tree = baseline_tree(folder)
        base = Worker(tree) if tree else None
        try:
            for name in now.demos:
                n = int(now.ask(name))
                both = base is not None and name in base.demos and int(base.ask(name)) == n
                times, base_times = [], []
                for i in range(n):                     # the two take turns, frame by frame
                    times.append(1e3 * float(now.ask(f"{name} {i}")))
                    if both:
                        base_times.append(1e3 * float(base.ask(f"{name} {i}")))
                row = {"benchmark": f"demo update {name}: render = compute + draw + PNG",
                       "value": statistics.median(times),
                       "unit": f"ms (median of {n} frames; slowest {max(times):.0f} ms)",
                       "target": f"≤ {TARGET_MS} ms"}
                if both:
                    row["baseline"] = round(statistics.median(base_times), 1)
                    row["ratio"] = round(row["value"] / row["baseline"], 2)
                rows.append(row)
        finally:
            now.close()
            if base is not None:
                base.close()
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        for row in run():
            print(row)
