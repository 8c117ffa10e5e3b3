"""How much each of the corpus generator's options makes HW02 harder, and how it changes the ladder's first step.

For every condition (the default corpus, each option of `corpus.OPTIONS` alone, and all of them together) a
small corpus is made (``--utterances`` training utterances; 20 % of them validate) and the homework's
``simple`` preset (one frame) and ``medium`` preset (11 frames, 3 layers) are trained for a few epochs each.
Printed and written to ``benchmarks/results/hw02_difficulty.json`` (per condition and seed: validation
accuracy of both, their gap, and the seconds per utterance the corpus took to make, wall clock with
``--workers`` processes).

    nice -n 19 .venv/bin/python -m benchmarks.hw02_difficulty [--utterances 600] [--seeds 0] [--only base,speed]
        [--epochs simple=5,medium=8] [--root DIR (keeps the corpora for the next run)] [--out FILE]

``--epochs strong=5,boss=5`` also trains those presets (the ladder's other steps), ``"strong 4x512=5"`` a variant
of one (`RECIPES`); ``simple=0`` leaves one out. Each row keeps every recipe's validation accuracy per epoch and
its training time.

Not a ``bench_*`` module: it takes many minutes, so `python -m benchmarks` does not run it. The absolute
numbers are lower than the full-size ladder's (less data, fewer epochs); compare conditions with each other.
"""
import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

from course_utils.hw02.corpus import CorpusConfig, make_corpus
from course_utils.hw02.training import PRESETS, train

CONDITIONS = {
    "base": {},
    "recorded voices 50 %": dict(recorded_voice_fraction=0.5),
    "speed 0.8–1.25": dict(speed_perturbation=(0.8, 1.25)),
    "prosody 0.4": dict(prosody_variation=0.4),
    "channel 100 %": dict(channel_probability=1.0),
    "smearing 5–25 ms": dict(smearing_ms=(5.0, 25.0)),
    "label jitter 15 ms": dict(label_jitter_ms=15.0),
    "all": dict(recorded_voice_fraction=0.5, speed_perturbation=(0.8, 1.25), prosody_variation=0.4,
                channel_probability=1.0, smearing_ms=(5.0, 25.0), label_jitter_ms=15.0),
    # existing fields pushed further, for comparison
    "snr −5–15 dB": dict(snr_db=(-5.0, 15.0)),
    "rate 160–360 wpm": dict(rate_wpm=(160, 360)),
    "natural text 90 %": dict(syllable_fraction=0.1, word_list_fraction=0.1),
    "voices+speed+snr −5–15": dict(recorded_voice_fraction=0.5, speed_perturbation=(0.8, 1.25), snr_db=(-5.0, 15.0)),
    # frames ambiguous alone and clear in context
    "closures to stops": dict(closure_labels=True),
    "edges 0.02–0.2 s": dict(edge_silence_s=(0.02, 0.2)),
    "closures+edges": dict(closure_labels=True, edge_silence_s=(0.02, 0.2)),
    "hard+closures+edges": dict(recorded_voice_fraction=0.5, speed_perturbation=(0.8, 1.25), snr_db=(-5.0, 15.0),
                                closure_labels=True, edge_silence_s=(0.02, 0.2)),
    "pseudo-words 300": dict(pseudo_words=300),
    "pseudo-words 300, reduced 0.6": dict(pseudo_words=300, vowel_reduction=0.6),
    "CE+lists 5 %": dict(closure_labels=True, edge_silence_s=(0.02, 0.2), word_list_fraction=0.05),
    "CE+lists 5 %+PW": dict(closure_labels=True, edge_silence_s=(0.02, 0.2), word_list_fraction=0.05,
                            pseudo_words=300, vowel_reduction=0.6),
    "candidate A": dict(closure_labels=True, edge_silence_s=(0.02, 0.2), word_list_fraction=0.05, pseudo_words=300,
                        vowel_reduction=0.6, speed_perturbation=(0.8, 1.25), snr_db=(-5.0, 15.0)),
}
EPOCHS = {"simple": 5, "medium": 3}
#: What ``--epochs`` can name: the homework's presets and variants of them (a wider `strong`).
RECIPES = dict(PRESETS, **{
    "strong 4x512": dataclasses.replace(PRESETS["strong"], hidden_layers=4, hidden_dim=512, dropout=0.3),
})
RESULTS = Path(__file__).parent / "results" / "hw02_difficulty.json"


def measure(name, options, utterances, seed, root, workers, save=lambda row: None):
    config = CorpusConfig(seed=seed, num_train=utterances, num_test=1, **options)
    start = time.perf_counter()
    path = make_corpus(config, root=root, workers=workers, progress=False)
    row = dict(condition=name, seed=seed, options=options, key=config.key(),
               seconds_per_utterance=(time.perf_counter() - start) / (utterances + 1))
    for preset, epochs in EPOCHS.items():
        if epochs == 0:   # --epochs simple=0: leave it out
            continue
        recipe = dataclasses.replace(RECIPES[preset], num_epochs=epochs, seed=seed)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            history = train(recipe, path, out, device="cpu", resume=False, progress=False)
        row[preset] = max(h["val_acc"] for h in history)
        row[f"{preset} val_acc by epoch"] = [round(h["val_acc"], 4) for h in history]
        row[f"{preset} seconds"] = round(time.perf_counter() - start, 1)
        save(row)   # after every recipe: a long run that is stopped keeps what it measured
    row["gap"] = row["medium"] - row["simple"] if "simple" in row and "medium" in row else float("nan")
    return row


def write(args, rows):
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(utterances=args.utterances, epochs=EPOCHS, rows=rows), indent=1))
    tmp.replace(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=600)
    parser.add_argument("--seeds", default="0", help="comma-separated corpus and training seeds")
    parser.add_argument("--only", default="", help="comma-separated condition names (default: all)")
    parser.add_argument("--epochs", default="", help="e.g. simple=5,medium=8,strong=5,boss=5; 0 leaves a preset out "
                                                     "(default: %s)" % EPOCHS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", default=None, help="where the corpora go (default: a temporary folder)")
    parser.add_argument("--out", default=str(RESULTS), help="the JSON result file")
    args = parser.parse_args()
    torch.set_num_threads(2)
    for item in filter(None, args.epochs.split(",")):
        preset, _, epochs = item.partition("=")
        if preset not in RECIPES or not epochs.isdigit():
            parser.error(f"--epochs {item!r}: write NAME=EPOCHS with NAME one of {', '.join(RECIPES)}")
        EPOCHS[preset] = int(epochs)
    nan = float("nan")
    names = [n for n in CONDITIONS if not args.only or any(part in n for part in args.only.split(","))]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.root or scratch)
        print(f"{'condition':22s} seed  simple  medium    gap   s/utt", flush=True)
        for seed in map(int, args.seeds.split(",")):
            for name in names:
                row = measure(name, CONDITIONS[name], args.utterances, seed, root, args.workers,
                              save=lambda partial: write(args, rows + [partial]))
                rows.append(row)
                write(args, rows)
                others = "".join(f"  {p} {row[p]:.3f}" for p in EPOCHS if p not in ("simple", "medium") and p in row)
                print(f"{name:22s} {seed:4d}  {row.get('simple', nan):.3f}   {row.get('medium', nan):.3f}  "
                      f"{row['gap']:+.3f}  "
                      f"{row['seconds_per_utterance']:.3f}{others}", flush=True)


if __name__ == "__main__":
    main()
