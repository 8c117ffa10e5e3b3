"""Update latency of every demo: what one slider move costs in JupyterLab.

For each :class:`~course_utils.widgets.Demo` in ``course_utils.widgets`` and its
submodules, time ``render(demo, **params)`` (compute + draw + PNG) once for every frame,
i.e. every combination of its control values, after one warm-up render. The row is the
median over the frames; the slowest frame is given beside it. Target: ≤ 100 ms.

Frames are drawn at 2 pixels per CSS pixel (sharp on high-DPI screens). The baseline column
is the same demo drawn at 1× (``at_one_x``), in the same run: the ratio is what 2× costs.
"""
import dataclasses
import importlib
import pkgutil
import statistics
import time

from course_utils import widgets
from course_utils.plotting import CSS_PX_PER_INCH
from course_utils.widgets import Demo, all_frames, render

TARGET_MS = 100


def find_demos():
    """Every Demo of the widgets package, as {"module.NAME": demo}.

    A module offers its demos as module-level ``Demo`` instances, or in a module-level
    ``DEMOS`` list or dict. Submodules are searched before the package itself, so a demo
    re-exported by the package keeps the name of the module that defines it.
    """
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


def at_one_x(demo):
    """The same demo drawn at one pixel per CSS pixel."""
    one_x = type("OneX", (type(demo),), {"dpi": CSS_PX_PER_INCH})
    return one_x(**{f.name: getattr(demo, f.name) for f in dataclasses.fields(demo)})


def frame_seconds(demo):
    """Seconds to render each frame of a demo (after one warm-up render of the defaults)."""
    render(demo)
    times = []
    for params in all_frames(demo):
        start = time.perf_counter()
        render(demo, **params)
        times.append(time.perf_counter() - start)
    return times


def run():
    rows = []
    for name, demo in find_demos().items():
        times_ms = [t * 1e3 for t in frame_seconds(demo)]
        one_x_ms = statistics.median(t * 1e3 for t in frame_seconds(at_one_x(demo)))
        rows.append({
            "benchmark": f"demo update {name}: render = compute + draw + PNG",
            "value": statistics.median(times_ms),
            "unit": f"ms (median of {len(times_ms)} frames; slowest {max(times_ms):.0f} ms)",
            "target": f"≤ {TARGET_MS} ms",
            "baseline": round(one_x_ms, 1),
            "ratio": round(statistics.median(times_ms) / one_x_ms, 2),
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
