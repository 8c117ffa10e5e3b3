"""Update latency of every demo: what one slider move costs in JupyterLab, against a baseline commit.

For each :class:`~course_utils.widgets.Demo` in ``course_utils.widgets`` and its
submodules, time ``render(demo, **params)`` (compute + draw + PNG) once for every frame,
i.e. every combination of its control values, after one warm-up render, in CPU time (on a
loaded machine the wall clock measures the other load too). The row is the median over the
frames, and the median of that over :data:`ROUNDS` rounds; the slowest frame is given beside
it. Target: ≤ 100 ms.

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
#: Each round starts both sides afresh (their first render of a frame is timed, as a reader's is) and
#: times every frame once; a row gives the median over the rounds, since one round's ratio can move by
#: a fifth on a machine with other work.
ROUNDS = 3
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
    """A worker: for each line ``name index`` on stdin, renders that frame of that demo (the first time a demo
    is named, after a warm-up render of its defaults) and prints the CPU seconds it took."""
    from course_utils.widgets import all_frames, render

    demos = find_demos()
    print(json.dumps({name: len(list(all_frames(demo))) for name, demo in demos.items()}), flush=True)
    warm = set()
    for line in sys.stdin:
        name, index = line.split()
        if name not in warm:
            render(demos[name])
            warm.add(name)
        params = list(all_frames(demos[name]))[int(index)]
        start = time.process_time()
        render(demos[name], **params)
        print(time.process_time() - start, flush=True)


def worker(path):
    """A Python process rendering the demos of the ``course_utils`` in ``path``, and its {demo: frames}."""
    env = {**os.environ, "PYTHONPATH": str(path), "MPLBACKEND": "Agg"}
    process = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=path, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return process, json.loads(process.stdout.readline() or "{}")


def ms(process, name, index):
    """Milliseconds the worker took to render that frame."""
    process.stdin.write(f"{name} {index}\n")
    process.stdin.flush()
    answer = process.stdout.readline()
    if not answer:
        raise RuntimeError(f"the demo worker {process.args} stopped")
    return 1e3 * float(answer)


def run(rounds=ROUNDS):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "course_utils"], capture_output=True)
        if not archive.returncode:        # without git or that commit, no baseline
            subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        medians = {}                      # name → ([now's median of each round], [the baseline's], slowest, frames)
        for _ in range(rounds):
            (now, demos), (base, base_demos) = worker(ROOT), worker(folder) if not archive.returncode else (None, {})
            try:
                for name, n in demos.items():
                    both = base_demos.get(name) == n
                    times, base_times = [], []
                    for i in range(n):                     # the two take turns, frame by frame
                        times.append(ms(now, name, i))
                        if both:
                            base_times.append(ms(base, name, i))
                    ours, theirs, slowest, _ = medians.setdefault(name, ([], [], 0.0, n))
                    ours.append(statistics.median(times))
                    theirs.extend([statistics.median(base_times)] if both else [])
                    medians[name] = (ours, theirs, max(slowest, max(times)), n)
            finally:
                for process in (now, base):
                    if process is not None:
                        process.stdin.close()
                        process.wait()
    for name, (ours, theirs, slowest, n) in medians.items():
        row = {"benchmark": f"demo update {name}: render = compute + draw + PNG",
               "value": statistics.median(ours),
               "unit": f"ms (median of {n} frames, median of {rounds} rounds; slowest {slowest:.0f} ms)",
               "target": f"≤ {TARGET_MS} ms"}
        if theirs:
            ratios = [o / t for o, t in zip(ours, theirs)]
            row["baseline"] = round(statistics.median(theirs), 1)
            row["ratio"] = round(statistics.median(ratios), 2)
            row["unit"] += f"; ratio of each round {min(ratios):.2f} to {max(ratios):.2f}"
        rows.append(row)
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        for row in run():
            print(row)
