"""The HW02 command line: make the corpus, train, predict, score.

    python -m course_utils.hw02 corpus [--corpus-seed S] [--num-train N] [--num-test N] [--release DIR]
    python -m course_utils.hw02 train --preset simple|medium|strong|boss [--out runs/simple] [options]
    torchrun --nproc_per_node=N -m course_utils.hw02 train [the same options]
    python -m course_utils.hw02 predict --checkpoint runs/simple/best.pt --out prediction.csv
    python -m course_utils.hw02 score prediction.csv
    python -m course_utils.hw02 ladder [--presets simple medium strong boss] [--seeds 0 1 2] [--out runs/ladder]
    python -m course_utils.hw02 sweep [--preset medium] [--nframes 1 3 … 31] [--seeds 0 1 2] [--out runs/sweep]
    python -m course_utils.hw02 ablations [--preset medium] [--seeds 0 1 2] [--out runs/ablations]

Data: ``--data DIR`` or ``$LIBRIPHONE_DIR`` for the real libriphone folder, else the
local synthetic corpus (``--corpus-seed``, ``--num-train``, ``--num-test`` choose it).
Exit status 0 on success, 1 on bad data or files, 2 on a bad command line.

Under torchrun, ``train`` runs as N processes with DistributedDataParallel (gloo on the
CPU, nccl with one GPU per process); ``--batch-size`` stays the batch of one update, over
all N processes, so N processes train as one process with the same options would. Only
rank 0 prints and writes files. The other commands are one process.

``ladder``, ``sweep`` and ``ablations`` train their recipes once per seed and record each
run in ``<out>/<command>.json`` (`runs`); run again, they train only what the file lacks.
"""
import argparse
import dataclasses
import os
import shlex
import sys
import time
from pathlib import Path

import torch.distributed as dist

from . import corpus, runs, source, submission, training
from .dataset import load_frames
from .libriphone import LibriphoneError


def _data_options(parser):
    group = parser.add_argument_group("data")
    group.add_argument("--data", type=Path, help="a real libriphone folder (default: $LIBRIPHONE_DIR, else the local "
                                                 "synthetic corpus)")
    group.add_argument("--corpus-seed", type=int, default=0, help="seed of the local corpus (default: 0)")
    group.add_argument("--num-train", type=int, default=corpus.CorpusConfig.num_train,
                       help="train+validation utterances of the local corpus (default: %(default)s)")
    group.add_argument("--num-test", type=int, default=corpus.CorpusConfig.num_test,
                       help="test utterances of the local corpus (default: %(default)s)")
    group.add_argument("--workers", type=int, help="processes that make the local corpus (default: all CPUs)")


def _source(args, verbose=True):
    config = corpus.CorpusConfig(seed=args.corpus_seed, num_train=args.num_train, num_test=args.num_test)
    data = source.data_source(args.data, config, args.workers, progress=verbose)
    if verbose:
        print(f"data: {data.description}", file=sys.stderr)
    return data


def _corpus(args):
    data = _source(args)
    print(data.path)
    if args.release:
        corpus.student_release(data.path, args.release)
        print(f"student copy (without test_labels.txt): {args.release}", file=sys.stderr)


def _train(args):
    recipe = training.PRESETS[args.preset]
    changes = {name: getattr(args, name) for name in ("concat_nframes", "hidden_layers", "hidden_dim", "dropout",
                                                      "learning_rate", "batch_size", "num_epochs", "seed")
               if getattr(args, name) is not None}
    recipe = dataclasses.replace(recipe, **changes)
    out = args.out or Path("runs") / args.preset
    device = args.device   # main() chose it: under torchrun, this process's, inside its process group
    rank, world_size = training.rank_and_world_size()
    data = training.first_on_rank_0(lambda: _source(args, verbose=rank == 0))   # rank 0 makes the corpus
    if rank == 0:
        processes = "" if world_size == 1 else (f" and {world_size - 1} more processes (DistributedDataParallel, "
                                                f"{dist.get_backend()}; each computes 1/{world_size} of a batch)")
        print(f"recipe: {recipe}\ndevice: {device}{processes}; checkpoints in {out}/", file=sys.stderr)
    history = training.train(recipe, data.path, out, device=device, resume=not args.no_resume)
    if rank > 0:
        return
    for h in history:
        print(f"epoch {h['epoch']:2d}: train loss {h['train_loss']:.3f} acc {h['train_acc']:.4f} | "
              f"val loss {h['val_loss']:.3f} acc {h['val_acc']:.4f}")
    print(f"best validation accuracy {max(h['val_acc'] for h in history):.4f}: {out}/best.pt")
    if args.predict:
        _write_prediction(data, out / "best.pt", args.predict, device)


def _write_prediction(data, checkpoint, csv, device):
    model, recipe = training.load_checkpoint(checkpoint, device)
    frames = load_frames(data.path, "test", recipe.concat_nframes)
    classes = training.predict_classes(model, recipe, frames, device)
    submission.write_submission(csv, classes)
    print(f"wrote {len(classes)} predictions to {csv}", file=sys.stderr)


def _predict(args):
    data = _source(args)
    _write_prediction(data, args.checkpoint, args.out, args.device or training.default_device())


def _score(args):
    data = _source(args)
    labels = args.labels or data.test_labels
    if labels is None:
        raise FileNotFoundError(f"no test labels for {data.path}: pass --labels test_labels.txt (Kaggle keeps the "
                                f"real ones)")
    result = submission.score(args.submission, data.path / "test_split.txt", labels)
    print(f"public {result['public']:.5f}  private {result['private']:.5f}  ({result['frames']} frames)")


def _without_out(words):
    """The command line's words less ``--out``'s: the result file records what made its runs, not where it was
    written."""
    kept, skip = [], False
    for word in words:
        if skip or word.startswith("--out="):
            skip = False
        elif word == "--out":
            skip = True
        else:
            kept.append(word)
    return kept


def _runs(args):
    """The ladder, the sweep or the ablations (`runs`), over ``--seeds``, into ``<out>/<command>.json``."""
    if args.command == "sweep" and any(n < 1 or n % 2 == 0 for n in args.nframes):
        raise ValueError(f"--nframes {' '.join(map(str, args.nframes))}: each must be odd and positive (k frames on "
                         f"each side of the frame, n = 2k + 1), e.g. --nframes 1 3 5 11 21")
    data = _source(args)
    device = args.device or training.default_device()
    epochs = {"num_epochs": args.num_epochs} if args.num_epochs else {}
    if args.command == "ladder":
        recipes = runs.ladder(args.presets, **epochs)
    else:
        base = dataclasses.replace(training.PRESETS[args.preset], **epochs)
        recipes = runs.sweep(base, args.nframes) if args.command == "sweep" else runs.ablation(base, name=args.preset)
    start = time.perf_counter()
    result = runs.run(data, args.out or Path("runs") / args.command, recipes, args.seeds, device,
                      f"{args.command}.json", f"python -m course_utils.hw02 {shlex.join(_without_out(args.words))}",
                      echo=lambda line: print(line, flush=True))
    print(f"\n{runs.summary_table(result)}\n\n{(args.out or Path('runs') / args.command) / f'{args.command}.json'} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils.hw02", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("corpus", help="make (or find) the local corpus and print its folder")
    _data_options(command)
    command.add_argument("--release", type=Path, help="also copy it here without test_labels.txt (for students)")
    command.set_defaults(run=_corpus)

    command = commands.add_parser("train", help="train a preset, resuming from --out/last.pt if it is there")
    command.add_argument("--preset", choices=sorted(training.PRESETS), default="simple")
    command.add_argument("--out", type=Path, help="checkpoint folder (default: runs/<preset>)")
    command.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    command.add_argument("--no-resume", action="store_true", help="start afresh even if --out/last.pt exists")
    command.add_argument("--predict", type=Path, metavar="CSV",
                         help="then write the best model's test predictions there (Kaggle's Id,Class)")
    for name, kind in (("concat-nframes", int), ("hidden-layers", int), ("hidden-dim", int), ("dropout", float),
                       ("learning-rate", float), ("num-epochs", int), ("seed", int)):
        command.add_argument(f"--{name}", type=kind, help="override the preset's value")
    command.add_argument("--batch-size", type=int, help="override the preset's value: frames (utterances for "
                                                        "boss) per update, over all processes under torchrun")
    _data_options(command)
    command.set_defaults(run=_train)

    command = commands.add_parser("predict", help="write Kaggle's CSV (Id,Class) for the test frames")
    command.add_argument("--checkpoint", type=Path, required=True)
    command.add_argument("--out", type=Path, default=Path("prediction.csv"))
    command.add_argument("--device")
    _data_options(command)
    command.set_defaults(run=_predict)

    command = commands.add_parser("score", help="public and private accuracy of a prediction CSV")
    command.add_argument("submission", type=Path)
    command.add_argument("--labels", type=Path, help="test labels (default: the local corpus's test_labels.txt)")
    _data_options(command)
    command.set_defaults(run=_score)

    for name, words in (("ladder", "train, predict and score the four presets (the leaderboard's lines)"),
                        ("sweep", "a preset (default medium) with each context window of --nframes"),
                        ("ablations", "a preset (default medium), then it with each change of strong alone")):
        command = commands.add_parser(name, help=f"{words}, per seed, into <out>/{name}.json")
        if name == "ladder":
            command.add_argument("--presets", nargs="+", choices=runs.ORDER, default=list(runs.ORDER))
        else:
            command.add_argument("--preset", choices=sorted(training.PRESETS), default="medium")
        if name == "sweep":
            command.add_argument("--nframes", type=int, nargs="+", default=list(runs.SWEEP_NFRAMES),
                                 help="the concat_nframes to try, odd (default: 1 3 … 31)")
        command.add_argument("--seeds", type=int, nargs="+", default=[0],
                             help="training seeds, each a whole set of runs in <out>/seed-<s> (default: 0)")
        command.add_argument("--out", type=Path, help=f"(default: runs/{name})")
        command.add_argument("--num-epochs", type=int, help="override every recipe's epochs")
        command.add_argument("--device")
        _data_options(command)
        command.set_defaults(run=_runs)

    args = parser.parse_args(argv)
    args.words = list(map(str, sys.argv[1:] if argv is None else argv))
    if args.command != "train":
        if training.launched_by_torchrun():
            parser.error(f"only train runs under torchrun; run {args.command} as one process: python -m "
                         f"course_utils.hw02 {args.command} ...")
        return _run(args)
    try:   # under torchrun, in its process group, left also after an error (reported before it is left)
        with training.process_group(args.device) as args.device:
            return _run(args)
    except ValueError as error:   # more processes than GPUs
        return _report(error)


def _run(args):
    try:
        args.run(args)
    except (LibriphoneError, FileNotFoundError, ValueError) as error:
        return _report(error)
    return 0


def _report(error):
    """Prints the error (with the rank of the process under torchrun); exit status 1."""
    rank = f"rank {os.environ['RANK']}: " if training.launched_by_torchrun() else ""
    print(f"{rank}error: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
