"""Run the benchmarks and print one table: ``python -m benchmarks`` (what ``make bench`` runs).

Every ``benchmarks/bench_*.py`` has ``run() -> list[dict]``; each dict is one row with the
keys benchmark, value, unit and target, and optionally baseline and ratio. A target such as
"≤ 15 s" or "≥ 20×" is checked against the value (same unit); rows whose target is not of
that form are shown without a verdict. The rows also go to ``benchmarks/results/latest.json``.

``python -m benchmarks demos book`` runs only the modules whose names contain one of the words.
A benchmark module that raises is reported in the table and makes the exit status 1; a
missed target does not (timings depend on the machine and its load).
"""
import datetime
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
COLUMNS = ("benchmark", "value", "unit", "target", "baseline", "ratio", "verdict")
TARGET = re.compile(r"^\s*(≤|<=|<|≥|>=|>)\s*([-+]?\d+(?:\.\d+)?)")


def verdict(row):
    """'met', 'MISSED', 'FAILED' (no value) or '' (a target that is not a simple bound)."""
    value = row.get("value")
    if not isinstance(value, (int, float)):
        return "FAILED"
    target = row.get("target")
    if isinstance(target, (int, float)):
        return "met" if value <= target else "MISSED"
    match = TARGET.match(str(target or ""))
    if not match:
        return ""
    op, bound = match.group(1), float(match.group(2))
    ok = {"≤": value <= bound, "<=": value <= bound, "<": value < bound,
          "≥": value >= bound, ">=": value >= bound, ">": value > bound}[op]
    return "met" if ok else "MISSED"


def cell(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def table(rows):
    """The rows as an aligned plain-text table (numbers right-aligned)."""
    lines = [list(COLUMNS)] + [[cell(row.get(c)) for c in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    numeric = {"value", "baseline", "ratio"}
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(text.rjust(w) if COLUMNS[i] in numeric and n else text.ljust(w)
                             for i, (text, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def bench_modules(words):
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [n for n in names if not words or any(w in n for w in words)]


def run_module(name):
    """The rows of one module, each tagged with the module; a failure becomes one FAILED row."""
    try:
        module = importlib.import_module(f"{__package__ or 'benchmarks'}.{name}")
        rows = list(module.run())
        for row in rows:
            missing = {"benchmark", "value", "unit", "target"} - set(row)
            if missing:
                raise ValueError(f"{name}.run() returned a row without {sorted(missing)}: {row}")
        return [{**row, "module": name} for row in rows], True
    except Exception as error:
        return [{"benchmark": f"{name} (the whole module)", "value": None, "unit": f"FAILED: {type(error).__name__}: {error}",
                 "target": None, "module": name, "error": traceback.format_exc()}], False


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip() or None
    except OSError:
        return None


def main(argv):
    words = [a for a in argv if not a.startswith("-")]
    names = bench_modules(words)
    if not names:
        print(f"no benchmarks/bench_*.py matches {words}", file=sys.stderr)
        return 2
    rows, all_ran = [], True
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        module_rows, ran = run_module(name)
        all_ran &= ran
        rows += module_rows
        print(f"  {name}: {len(module_rows)} rows in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    for row in rows:
        row["verdict"] = verdict(row)

    print(table(rows))
    judged = [r for r in rows if r["verdict"] in {"met", "MISSED"}]
    print(f"\n{sum(r['verdict'] == 'met' for r in judged)} of {len(judged)} targets met; "
          f"{sum(r['verdict'] == 'FAILED' for r in rows)} failed. Machine: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} now.")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average": os.getloadavg()},
        "rows": rows,
    }, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"Written to {RESULTS.relative_to(HERE.parent)}")
    return 0 if all_ran and not any(r["verdict"] == "FAILED" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
