"""The leaderboard's ladder: every preset trained over several seeds, into one result file.

``python -m course_utils.hw02 ladder --seeds 0 1 2`` trains each preset of `training.PRESETS`
once per seed s (the recipe's ``seed``: its initial weights, shuffling and dropout; the
corpus stays the one ``--corpus-seed`` picks), in ``<out>/seed-<s>/<preset>/``, predicts the
test frames with its best checkpoint and scores them when the answers are known. After each
run it records into ``<out>/ladder.json`` (atomically: temporary file + rename):

- ``corpus``: the data's key and description; ``machine``: processor, CPU count, torch
  threads and device; ``command``: the command line;
- ``runs``: per (seed, preset) the recipe, the history of every epoch, the best validation
  accuracy, the public and private accuracy, and the seconds it took (wall clock).

A run already in the file (same corpus, seed, preset and recipe) is not trained again, so an
interrupted ladder goes on where it stopped and ``--seeds 3 4`` adds seeds to a file. Over the
n seeds of a preset, `summary` gives the mean and the sample standard deviation
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

from .dataset import load_frames
from .submission import score, write_submission
from .training import PRESETS, load_checkpoint, predict_classes, train

RESULT_FILE = "ladder.json"
ORDER = ("simple", "medium", "strong", "boss")


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
        raise FileNotFoundError(f"{path}: cannot read the ladder's result file ({error.strerror}); write it with "
                                f"python -m course_utils.hw02 ladder") from None
    except ValueError:
        raise ValueError(f"{path} is not a ladder's result file (not JSON); write it with "
                         f"python -m course_utils.hw02 ladder") from None
    if not isinstance(result, dict) or not isinstance(result.get("runs"), list):
        raise ValueError(f"{path} is not a ladder's result file (no list of runs); write it with "
                         f"python -m course_utils.hw02 ladder")
    return result


def _write(path, result):
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temporary.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def run(data, out, presets=ORDER, seeds=(0,), device="cpu", num_epochs=None, command="", echo=print):
    """Train, predict and score each preset for each seed (see the module's docstring); returns the result."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULT_FILE
    corpus = dict(key=data.path.name, kind=data.kind, description=data.description)
    result = read(path) if path.exists() else dict(corpus=corpus, runs=[])
    if result.get("corpus", {}).get("key") != corpus["key"]:
        raise ValueError(f"{path} holds the ladder of another corpus ({result.get('corpus', {}).get('key')}, not "
                         f"{corpus['key']}): give this one another --out")
    result.update(command=command, machine=machine(device))
    for seed in seeds:
        for preset in presets:
            recipe = dataclasses.replace(PRESETS[preset], seed=seed,
                                         **({"num_epochs": num_epochs} if num_epochs else {}))
            done = [r for r in result["runs"] if r["seed"] == seed and r["preset"] == preset]
            if done and done[0]["recipe"] == dataclasses.asdict(recipe):
                echo(_line(done[0]) + "  (in the result file)")
                continue
            folder, start = out / f"seed-{seed}" / preset, time.perf_counter()
            history = train(recipe, data.path, folder, device=device, progress=False)
            model, recipe = load_checkpoint(folder / "best.pt", device)
            classes = predict_classes(model, recipe, load_frames(data.path, "test", recipe.concat_nframes), device)
            csv = write_submission(folder / "prediction.csv", classes)
            board = (score(csv, data.path / "test_split.txt", data.test_labels) if data.test_labels is not None
                     else dict(public=None, private=None))
            entry = dict(seed=seed, preset=preset, recipe=dataclasses.asdict(recipe), history=history,
                         val_acc=max(h["val_acc"] for h in history), public=board["public"],
                         private=board["private"], seconds=round(time.perf_counter() - start, 1))
            result["runs"] = [r for r in result["runs"] if r not in done] + [entry]
            _write(path, result)
            echo(_line(entry))
    return result


def _line(entry):
    board = (f"  {entry['public']:.4f}  {entry['private']:.4f}" if entry["public"] is not None else "")
    return f"seed {entry['seed']}  {entry['preset']:7s} {entry['val_acc']:.4f}{board}  {entry['seconds']:7.1f} s"


def summary(result):
    """{preset: {measure: (mean, standard deviation or None for one seed, seeds)}} for val_acc, public, private,
    seconds, in the ladder's order."""
    table = {}
    for preset in sorted({r["preset"] for r in result["runs"]}, key=lambda p: (p not in ORDER, ORDER.index(p)
                                                                                if p in ORDER else p)):
        runs = [r for r in result["runs"] if r["preset"] == preset]
        table[preset] = {}
        for measure in ("val_acc", "public", "private", "seconds"):
            values = [r[measure] for r in runs if r[measure] is not None]
            if values:
                spread = statistics.stdev(values) if len(values) > 1 else None
                table[preset][measure] = (statistics.fmean(values), spread, len(values))
    return table


def summary_table(result):
    """`summary` as text: mean ± standard deviation over the seeds."""
    cell = lambda m: "—" if m is None else (f"{m[0]:.3f}" + (f" ± {m[1]:.3f}" if m[1] is not None else ""))  # noqa
    lines = [f"{'preset':8s}{'validation':>16s}{'public':>16s}{'private':>16s}{'seeds':>6s}{'minutes':>9s}"]
    for preset, row in summary(result).items():
        minutes = row["seconds"][0] / 60
        lines.append(f"{preset:8s}{cell(row.get('val_acc')):>16s}{cell(row.get('public')):>16s}"
                     f"{cell(row.get('private')):>16s}{row['val_acc'][2]:6d}{minutes:9.1f}")
    return "\n".join(lines)
