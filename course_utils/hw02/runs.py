"""Runs of named recipes over several seeds, each recorded in one result file: the leaderboard's ladder, the
`concat_nframes` sweep and the ablations of *strong*.

    python -m course_utils.hw02 ladder --seeds 0 1 2       # simple, medium, strong, boss     -> runs/ladder/ladder.json
    python -m course_utils.hw02 sweep --seeds 0 1 2        # medium with 1, 3, …, 31 frames   -> runs/sweep/sweep.json
    python -m course_utils.hw02 ablations --seeds 0 1 2    # medium, + each change of strong  -> runs/ablations/ablations.json

The course's own result files, made with these commands on the default corpus, are in
``course_utils/hw02/results/`` (`published`); the chapter shows them.

`run` trains each recipe once per seed s (the recipe's ``seed``: its initial weights,
shuffling and dropout; the corpus stays the one ``--corpus-seed`` picks), in
``<out>/seed-<s>/<name>/``, predicts the test frames with its best checkpoint and scores
them when the answers are known. After each run it records into the result file
(atomically: temporary file + rename):

- ``corpus``: the data's key and description; ``machine``: processor, CPU count, torch
  threads and device; ``command``: the command line of the last call, less its ``--out`` (written at the end
  of every call, also one that finds all its runs in the file);
- ``runs``: per (seed, name) the recipe, the history of every epoch, the best validation
  accuracy, the public and private accuracy, and the seconds it took (wall clock).

A run already in the file (same corpus, seed, name and recipe) is not trained again, so an
interrupted command goes on where it stopped and ``--seeds 3 4`` adds seeds to a file. Over
the n seeds of a name, `summary` gives the mean and the sample standard deviation
s = √(Σ (a_i − ā)² / (n − 1)) of each accuracy.
"""
import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from .experiments import run_recipe
from .training import PRESETS

ORDER = ("simple", "medium", "strong", "boss")
#: The course's own runs at full size, the result files the chapter shows (`published`).
RESULTS = Path(__file__).parent / "results"
SWEEP_NFRAMES = tuple(range(1, 32, 2))
#: What `strong` changes from `medium`, one thing at a time.
STRONG_CHANGES = {"+ more context": dict(concat_nframes=21), "+ deeper, wider": dict(hidden_layers=4, hidden_dim=512),
                  "+ BatchNorm": dict(batchnorm=True), "+ dropout": dict(dropout=0.3)}


def ladder(presets=ORDER, **changes):
    """{preset: its Recipe, with `changes`}: the leaderboard's lines."""
    return {preset: dataclasses.replace(PRESETS[preset], **changes) for preset in presets}


def sweep(base, nframes=SWEEP_NFRAMES):
    """{"<n> frames": `base` with ``concat_nframes = n``}: how accuracy grows with the context window."""
    return {f"{n} frames": dataclasses.replace(base, concat_nframes=n) for n in nframes}


def ablation(base, changes=None, name="medium"):
    """{name: `base`, then `base` with each of `changes` (default `STRONG_CHANGES`) alone, then ``"all"`` of them
    together (from medium, that is strong)}: which of strong's changes makes its step."""
    changes = STRONG_CHANGES if changes is None else changes
    recipes = {name: base}
    recipes.update({label: dataclasses.replace(base, **change) for label, change in changes.items()})
    recipes["all"] = dataclasses.replace(base, **{k: v for change in changes.values() for k, v in change.items()})
    return recipes


def folder_name(name):
    """A run's folder: its name with every character but letters, digits and ``-`` as ``-`` ("+ BatchNorm" →
    "BatchNorm", "11 frames" → "11-frames")."""
    return "-".join("".join(c if c.isalnum() else " " for c in name).split())


def machine(device):
    """What ran the ladder, in words a reader can compare with their own machine."""
    processor = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        processor = names[0] if names else processor
    except OSError:
        pass
    gpu = torch.cuda.get_device_name() if str(device).startswith("cuda") else None
    return dict(processor=processor, cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), device=str(device),
                gpu=gpu, torch=torch.__version__)


def read(path):
    """The result file at `path` as a dict; ValueError naming the fix when it is no ladder's."""
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise FileNotFoundError(f"{path}: cannot read the result file ({error.strerror}); write it with "
                                f"python -m course_utils.hw02 ladder (or sweep, ablations)") from None
    except ValueError:
        raise ValueError(f"{path} is not a result file of runs (not JSON); write it with "
                         f"python -m course_utils.hw02 ladder (or sweep, ablations)") from None
    if not isinstance(result, dict) or not isinstance(result.get("runs"), list):
        raise ValueError(f"{path} is not a result file of runs (no list of runs); write it with "
                         f"python -m course_utils.hw02 ladder (or sweep, ablations)")
    return result


def published(name):
    """The course's result file of `name` ("ladder", "sweep" or "ablations"): the command's own output, made on
    the default corpus (its ``command`` and ``machine`` say how and where)."""
    return read(RESULTS / f"{name}.json")


def epoch_curves(result, name):
    """(epochs, mean, low, high): the validation accuracy of `name`'s runs after each epoch, the mean over its
    seeds and the lowest and highest seed."""
    histories = [r["history"] for r in result["runs"] if r["name"] == name]
    if not histories:
        raise KeyError(f"{name!r} has no runs in the result file; it has "
                       f"{', '.join(dict.fromkeys(r['name'] for r in result['runs']))}")
    epochs = [h["epoch"] for h in histories[0]]
    by_epoch = [[history[i]["val_acc"] for history in histories] for i in range(len(epochs))]
    return (epochs, [statistics.fmean(a) for a in by_epoch], [min(a) for a in by_epoch],
            [max(a) for a in by_epoch])


def _write(path, result):
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temporary.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def run(data, out, recipes, seeds=(0,), device="cpu", result_file="ladder.json", command="", echo=print):
    """Train, predict and score each of `recipes` ({name: Recipe}) for each seed into ``out/result_file`` (see
    the module's docstring); returns the result."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / result_file
    corpus = dict(key=data.path.name, kind=data.kind, description=data.description)
    result = read(path) if path.exists() else dict(corpus=corpus, runs=[])
    if result.get("corpus", {}).get("key") != corpus["key"]:
        raise ValueError(f"{path} holds the runs of another corpus ({result.get('corpus', {}).get('key')}, not "
                         f"{corpus['key']}): give this one another --out")
    result.update(command=command, machine=machine(device))
    for seed in seeds:
        for name, recipe in recipes.items():
            recipe = dataclasses.replace(recipe, seed=seed)
            done = [r for r in result["runs"] if r["seed"] == seed and r["name"] == name]
            if done and done[0]["recipe"] == dataclasses.asdict(recipe):
                echo(_line(done[0]) + "  (in the result file)")
                continue
            start = time.perf_counter()
            scored = run_recipe(recipe, data.path, out / f"seed-{seed}" / folder_name(name), data.test_labels,
                                device, resume=True)
            entry = dict(seed=seed, name=name, recipe=dataclasses.asdict(recipe), history=scored["history"],
                         val_acc=scored["val_acc"], public=scored["public"], private=scored["private"],
                         seconds=round(time.perf_counter() - start, 1))
            result["runs"] = [r for r in result["runs"] if r not in done] + [entry]
            _write(path, result)
            echo(_line(entry))
    _write(path, result)   # the command and machine of this call, also when every run was in the file
    return result


def _line(entry):
    board = (f"  {entry['public']:.4f}  {entry['private']:.4f}" if entry["public"] is not None else "")
    return f"seed {entry['seed']}  {entry['name']:16s} {entry['val_acc']:.4f}{board}  {entry['seconds']:7.1f} s"


def summary(result):
    """{name: {measure: (mean, standard deviation or None for one seed, seeds)}} for val_acc, public and private,
    in the order the names were first run."""
    table = {}
    for name in dict.fromkeys(r["name"] for r in result["runs"]):
        runs = [r for r in result["runs"] if r["name"] == name]
        table[name] = {}
        for measure in ("val_acc", "public", "private"):
            values = [r[measure] for r in runs if r[measure] is not None]
            if values:
                spread = statistics.stdev(values) if len(values) > 1 else None
                table[name][measure] = (statistics.fmean(values), spread, len(values))
    return table


def summary_table(result):
    """`summary` as text: mean ± standard deviation over the seeds, and the median minutes of a run (a run slowed
    by other work on the machine moves a median less than a mean)."""
    cell = lambda m: "—" if m is None else (f"{m[0]:.3f}" + (f" ± {m[1]:.3f}" if m[1] is not None else ""))  # noqa
    lines = [f"{'':16s}{'validation':>16s}{'public':>16s}{'private':>16s}{'seeds':>6s}{'minutes':>9s}"]
    for name, row in summary(result).items():
        minutes = statistics.median(r["seconds"] for r in result["runs"] if r["name"] == name) / 60
        lines.append(f"{name:16s}{cell(row.get('val_acc')):>16s}{cell(row.get('public')):>16s}"
                     f"{cell(row.get('private')):>16s}{row['val_acc'][2]:6d}{minutes:9.1f}")
    return "\n".join(lines)
