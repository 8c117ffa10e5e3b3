"""Run a chapter notebook under PyTorch's CPU code paths and find the cells whose outputs differ.

PyTorch picks its CPU kernels by what the processor offers (SSE4.2, AVX2, AVX-512), and a
training run amplifies the last digit of a sum into visibly different numbers. The three
code paths can be forced on one machine, which is how this module simulates other students'
laptops:

    python -m tests.cpu_paths notebooks/02_batch_and_momentum.ipynb
        executes the notebook under every code path and lists the cells whose outputs differ;
    ... --store
        also writes the outputs of this machine's own run into the notebook, and tags each
        cell whose digits vary ``digits-vary`` (the tag ``tests/conftest.py`` gives nbval:
        compare that cell's text with every number blanked out). Tags are only added, never
        removed: some digits also vary between runs on one machine, or on CPUs (other vendors'
        MKL paths) that these three code paths do not reproduce; such cells are tagged by hand.

A cell whose outputs differ in more than their digits (a word, a True/False, the number of
lines) is reported as such: no tag can make it pass on another machine, so the cell (and the
prose about it) must change until it states only what holds on every code path.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SANITIZE = REPO / "tests" / "nbval_sanitize.cfg"
TAG = "digits-vary"

# ATEN_CPU_CAPABILITY picks PyTorch's own kernels; MKL and oneDNN are held to the same ISA.
CODE_PATHS = {
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "native": {},
}
NUMBER = re.compile(r"[-−+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+−]?\d+)?")


def blank_digits(text):
    """``text`` with every number replaced by ``#``: what a ``digits-vary`` cell must keep."""
    return NUMBER.sub("#", text)


def sanitize_patterns():
    from nbval.plugin import get_sanitize_patterns

    return dict(get_sanitize_patterns(SANITIZE.read_text()))


def cell_text(cell, patterns):
    """A code cell's outputs as nbval compares them (text only, sanitised), one string."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            for key, value in sorted(output.get("data", {}).items()):
                if key.startswith("image/") or key == "application/vnd.jupyter.widget-view+json":
                    continue
                parts.append(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    text = "".join(part if isinstance(part, str) else "".join(part) for part in parts)
    for regex, replace in patterns.items():
        text = re.sub(regex, replace, text)
    return text


def execute(path, code_path, timeout=900):
    """The notebook at ``path`` executed under ``code_path`` (a fresh process, so the kernel
    inherits the code path's environment); returns the executed notebook as a dict."""
    env = {**os.environ, **CODE_PATHS[code_path]}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.ipynb"
        proc = subprocess.run([sys.executable, "-m", "tests.cpu_paths", "--execute-one", str(path), str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{path} failed under {code_path}:\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text())


def _execute_one(path, out):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).resolve().parent)}}).execute()
    nbformat.write(notebook, out)


def differing_cells(runs, patterns):
    """{cell index: "digits" or "text"} for the code cells whose outputs differ between runs."""
    found = {}
    cells = [run["cells"] for run in runs.values()]
    for index, group in enumerate(zip(*cells)):
        if group[0]["cell_type"] != "code":
            continue
        texts = {cell_text(cell, patterns) for cell in group}
        if len(texts) > 1:
            found[index] = "digits" if len({blank_digits(text) for text in texts}) == 1 else "text"
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--store", action="store_true",
                        help="write this machine's outputs into the notebook and tag the cells whose digits vary")
    parser.add_argument("--paths", default=",".join(CODE_PATHS), help="comma-separated code paths to run")
    parser.add_argument("--execute-one", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        _execute_one(*args.execute_one)
        return 0
    patterns = sanitize_patterns()
    status = 0
    for path in args.notebooks:
        names = args.paths.split(",")
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            runs = dict(zip(names, pool.map(lambda name: execute(path, name), names)))
        found = differing_cells(runs, patterns)
        print(f"{path}: {len(found)} cell(s) differ between {', '.join(names)}")
        for index, kind in found.items():
            texts = {name: cell_text(run["cells"][index], patterns) for name, run in runs.items()}
            print(f"  cell {index}: {'only digits' if kind == 'digits' else 'MORE THAN DIGITS (rewrite it)'}")
            for name, text in texts.items():
                print(f"    {name:8s} {text.strip()[:300]!r}")
            status |= kind == "text"
        if args.store:
            stored = json.loads(Path(path).read_text())
            native = runs.get("native") or next(iter(runs.values()))
            for index, (cell, fresh) in enumerate(zip(stored["cells"], native["cells"])):
                if cell["cell_type"] != "code":
                    continue
                cell["outputs"] = fresh["outputs"]
                cell["execution_count"] = fresh["execution_count"]
                if "execution" in fresh.get("metadata", {}):
                    cell["metadata"]["execution"] = fresh["metadata"]["execution"]
                tags = cell["metadata"].get("tags", [])
                if index in found and TAG not in tags:
                    cell["metadata"]["tags"] = tags + [TAG]
            Path(path).write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
            print(f"  stored this machine's outputs in {path}; tagged {sorted(found)} {TAG!r}")
            kept = [index for index, cell in enumerate(stored["cells"])
                    if TAG in cell["metadata"].get("tags", []) and index not in found]
            if kept:
                print(f"  kept the tag of cells {kept}: their digits agreed on these runs, but a tag is only ever "
                      "added here (some digits vary between runs or CPUs that these code paths do not show); "
                      "remove one by hand if its cell no longer computes anything that varies")
    return status


if __name__ == "__main__":
    sys.exit(main())
