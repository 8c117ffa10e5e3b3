"""`train` under torchrun: two CPU processes (gloo) train as one process with the same global batch.

Each process takes every second item of each batch and back-propagates its share's loss weighted by its
share of the batch's frames, so the averaged gradient is the whole batch's and every update is the single
process's, up to float sums taken in another order. Over two epochs of a small model the losses then agree
to LOSS_RTOL, the accuracies to one validation frame (an argmax may flip on a near tie), and every weight to
WEIGHTS_ATOL: AdamW divides a step by √v + ε, so a weight whose gradient is near ε = 10⁻⁸ turns a float
difference of 10⁻¹⁰ in its gradient into about η/100 in its step. Measured: at most 1·10⁻⁷ (MLP) and
2.5·10⁻⁵ (GRU); averaging each process's mean loss instead (DDP's usual recipe, wrong when shares differ in
frames) is off by 10⁻². The batch size is chosen so that the last batch of every epoch has one frame: the
second process gets only padding there, which must weigh nothing.

A `sitecustomize` on the workers' path records, through Python's audit hooks, every file each process
opens for writing or renames in the run's folder: only rank 0 may write checkpoints, curves and the CSV.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from course_utils.hw02.__main__ import main
from course_utils.hw02.dataset import load_frames
from course_utils.hw02.submission import read_submission
from test_hw02_libriphone import make_fake_libriphone

TORCHRUN = Path(sys.executable).with_name("torchrun")
WEIGHTS_ATOL = 2e-4
LOSS_RTOL = 1e-5
TIMEOUT_S = 240       # a hang (a process waiting for another forever) fails instead of blocking the suite

RECORD_WRITES = """
import os, sys
if "RANK" in os.environ:
    _log = os.path.join(os.environ["HW02_WRITE_LOG"], f"rank{os.environ['RANK']}.txt")
    _watch = os.environ["HW02_WATCH"]

    def _record(*paths):
        fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, ("\\t".join(paths) + "\\n").encode())
        os.close(fd)

    def _hook(event, args):
        if event == "open" and isinstance(args[0], str) and args[0].startswith(_watch) and (
                any(c in (args[1] or "") for c in "wax+") or (args[2] or 0) & (os.O_WRONLY | os.O_RDWR)):
            _record("write", args[0])
        elif event == "os.rename" and str(args[1]).startswith(_watch):
            _record("rename", os.path.basename(str(args[1])))

    _record("started")
    sys.addaudithook(_hook)
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_fake_libriphone(tmp_path_factory.mktemp("ddp") / "libriphone", num_train=60, num_test=6,
                                learnable=True)


def batch_with_one_frame_left(data):
    """A batch size in 40 … 99 that leaves one frame for the last batch of an epoch."""
    frames = len(load_frames(data, "train"))
    return next(b for b in range(40, 100) if frames % b == 1)


def torchrun(args, tmp_path):
    """Runs ``torchrun --nproc_per_node=2 --standalone -m course_utils.hw02 ARGS``; (the completed process,
    {rank: what it wrote in the run's folder, a list of (what, path)})."""
    hooks, log = tmp_path / "hooks", tmp_path / "writes"
    hooks.mkdir()
    log.mkdir()
    (hooks / "sitecustomize.py").write_text(textwrap.dedent(RECORD_WRITES))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]),
               HW02_WRITE_LOG=str(log), HW02_WATCH=str(tmp_path / "run"), OMP_NUM_THREADS="1")
    command = [str(TORCHRUN), "--nproc_per_node=2", "--standalone", "-m", "course_utils.hw02"] + args
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                          cwd=Path(__file__).parents[1])
    writes = {rank: [tuple(line.split("\t")) for line in (log / f"rank{rank}.txt").read_text().splitlines()]
              for rank in (0, 1)}
    return done, writes


def train_args(data, out, **options):
    args = ["train", "--data", str(data), "--device", "cpu", "--out", str(out), "--num-epochs", "2"]
    return args + [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]


def single_process(args):
    """`main(args)` in this process with one thread, as each torchrun worker has (OMP_NUM_THREADS=1): a float
    sum split over another number of threads rounds otherwise, and earlier tests may have changed the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(args)
    finally:
        torch.set_num_threads(threads)


def assert_same_training(one, two, num_val):
    for name, tensor in one["model"].items():
        worst = (two["model"][name].double() - tensor.double()).abs().max().item() if tensor.numel() else 0.0
        assert worst <= WEIGHTS_ATOL, f"{name}: the processes' weights differ by up to {worst:.2e}"
    assert len(one["history"]) == len(two["history"]) == 2
    for h1, h2 in zip(one["history"], two["history"]):
        for key in ("train_loss", "val_loss"):
            assert h2[key] == pytest.approx(h1[key], rel=LOSS_RTOL), (h1, h2)
        for key in ("train_acc", "val_acc"):
            assert abs(h2[key] - h1[key]) <= 1 / num_val + 1e-12, (h1, h2)


def test_two_processes_train_as_one_and_only_rank_0_writes(data, tmp_path):
    batch_size = batch_with_one_frame_left(data)
    options = dict(preset="simple", concat_nframes=3, hidden_layers=2, hidden_dim=16, learning_rate=0.01,
                   batch_size=batch_size)
    assert single_process(train_args(data, tmp_path / "one", **options) + ["--predict", str(tmp_path / "one.csv")]) == 0
    csv = tmp_path / "run" / "prediction.csv"
    done, writes = torchrun(train_args(data, tmp_path / "run", **options) + ["--predict", str(csv)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    one, two = (torch.load(path / "last.pt", weights_only=True) for path in (tmp_path / "one", tmp_path / "run"))
    assert_same_training(one, two, len(load_frames(data, "val")))
    assert "each computes 1/2 of a batch" in done.stderr
    assert done.stdout.count("epoch  2: train loss") == 1                      # one log, from rank 0

    assert writes[1] == [("started",)]                                         # rank 1 wrote nothing there
    renamed = {path for what, *path in writes[0] if what == "rename" for path in path}
    assert renamed == {"best.pt", "last.pt", "history.json", "curves.png", "prediction.csv"}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(renamed)   # no temporary leftovers
    test_frames = len(load_frames(data, "test"))
    agree = read_submission(csv, test_frames) == read_submission(tmp_path / "one.csv", test_frames)
    assert agree.float().mean() >= 0.95


def test_two_processes_train_the_sequence_model_as_one(data, tmp_path):
    """The GRU's batches are utterances (pieces of them) of different lengths: each process's share of the
    loss is weighted by its frames, not by its utterances."""
    options = dict(preset="boss", hidden_layers=1, hidden_dim=8, dropout=0, batch_size=7)
    assert single_process(train_args(data, tmp_path / "one", **options)) == 0
    done, _ = torchrun(train_args(data, tmp_path / "run", **options), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = (torch.load(path / "last.pt", weights_only=True) for path in (tmp_path / "one", tmp_path / "run"))
    assert_same_training(one, two, len(load_frames(data, "val")))


def test_an_error_stops_every_process_and_keeps_the_checkpoint(data, tmp_path):
    """A run that cannot go on (here: --out holds a checkpoint of another recipe) stops with the message and
    exit status 1, no process left waiting for the others, nothing written. (torchrun stops the other
    processes as soon as one exits with an error, so not every process need live to print its message.)"""
    options = dict(preset="simple", hidden_dim=8)
    assert main(train_args(data, tmp_path / "run", **options)) == 0
    before = (tmp_path / "run" / "last.pt").read_bytes()
    done, writes = torchrun(train_args(data, tmp_path / "run", **dict(options, hidden_dim=16)), tmp_path)
    assert done.returncode == 1
    assert f"error: {tmp_path / 'run' / 'last.pt'} was written by another recipe" in done.stderr
    assert "exitcode  : 1 " in done.stderr                    # the first to stop: an error exit, not a crash
    assert writes == {0: [("started",)], 1: [("started",)]}
    assert (tmp_path / "run" / "last.pt").read_bytes() == before
