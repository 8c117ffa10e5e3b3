"""Training with resumable checkpoints, prediction in Kaggle's format, scoring and its bad input."""
import dataclasses
import json

import pytest
import torch

from course_utils.hw02 import training
from course_utils.hw02.__main__ import main
from course_utils.hw02.libriphone import LibriphoneError
from course_utils.hw02.submission import public_mask, read_submission, score, write_submission
from course_utils.hw02.training import Recipe, load_checkpoint, train
from test_hw02_libriphone import make_fake_libriphone

TINY = Recipe(concat_nframes=3, hidden_layers=2, hidden_dim=16, dropout=0.1, batchnorm=True, learning_rate=2e-2,
              batch_size=32, num_epochs=3)


@pytest.fixture
def data(tmp_path):
    return make_fake_libriphone(tmp_path / "libriphone", num_train=60, num_test=6, learnable=True)


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_training_learns_and_writes_best_last_and_curves(data, tmp_path):
    history = train(TINY, data, tmp_path / "run", device="cpu", progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_acc"] > 0.55                     # 4 classes: chance is 1/4
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["val_acc"] == max(h["val_acc"] for h in history)
    assert json.loads((tmp_path / "run" / "history.json").read_text()) == history
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0


def test_saving_the_curves_leaves_pyplot_and_its_backend_alone(tmp_path):
    """A notebook that trains keeps drawing: writing curves.png must not switch pyplot's backend (to Agg,
    after which every plt.show() of the notebook draws nothing) nor leave a figure open in pyplot."""
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        figures = plt.get_fignums()
        history = [dict(epoch=e, train_loss=1 / e, train_acc=0.5, val_loss=1 / e, val_acc=0.4) for e in (1, 2)]
        training.save_curves(history, tmp_path)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == figures
        assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        matplotlib.use(before)


def test_an_interrupted_run_resumes_to_the_same_result(data, tmp_path):
    whole = train(TINY, data, tmp_path / "whole", device="cpu", progress=False)
    first = train(TINY, data, tmp_path / "parts", device="cpu", progress=False, max_epochs=1)
    assert len(first) == 1
    (tmp_path / "parts" / ".last.pt.tmp123").write_bytes(b"half a checkpoint")   # a crash during a save
    resumed = train(TINY, data, tmp_path / "parts", device="cpu", progress=False)
    assert resumed == whole
    for name, tensor in weights(tmp_path / "whole" / "last.pt").items():
        assert torch.equal(tensor, weights(tmp_path / "parts" / "last.pt")[name]), name
    with pytest.raises(ValueError, match="another recipe"):
        train(dataclasses.replace(TINY, hidden_dim=8), data, tmp_path / "parts", device="cpu", progress=False)


def test_a_failed_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    training.atomic_save({"epoch": 1}, path)

    def crash(obj, f):
        open(f, "wb").write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        training.atomic_save({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}


def test_predict_and_score_through_the_command_line(data, tmp_path, capsys):
    run, csv = tmp_path / "boss", tmp_path / "prediction.csv"
    args = ["--data", str(data)]
    assert main(["train", "--preset", "boss", "--num-epochs", "1", "--hidden-dim", "8", "--out", str(run),
                 "--device", "cpu"] + args) == 0
    assert main(["predict", "--checkpoint", str(run / "best.pt"), "--out", str(csv), "--device", "cpu"] + args) == 0
    assert main(["score", str(csv), "--labels", str(data / "test_labels.txt")] + args) == 0
    out = capsys.readouterr()
    assert f"data: libriphone data at {data} (from argument)" in out.err
    assert "public " in out.out and "private " in out.out
    model, recipe = load_checkpoint(run / "best.pt")
    assert recipe.model == "rnn" and recipe.hidden_dim == 8
    assert csv.read_text().splitlines()[0] == "Id,Class"


def test_perfect_predictions_score_one_on_both_leaderboards(data, tmp_path):
    answers = torch.cat([torch.tensor([int(v) for v in line.split()[1:]])
                         for line in (data / "test_labels.txt").read_text().splitlines()])
    csv = write_submission(tmp_path / "p.csv", answers)
    assert torch.equal(read_submission(csv, len(answers)), answers)
    assert score(csv, data / "test_split.txt", data / "test_labels.txt") == {"public": 1.0, "private": 1.0,
                                                                              "frames": len(answers)}
    mask = public_mask(len(answers))
    assert mask.sum() == len(answers) // 2 and torch.equal(mask, public_mask(len(answers)))


@pytest.mark.parametrize("text, message", [
    ("id,class\n0,1\n1,2\n", r"p.csv, line 1: expected the header 'Id,Class'"),
    ("Id,Class\n0,1\n", r"p.csv: 1 of 2 Ids are missing \(first: \[1\]\)"),
    ("Id,Class\n0,1\n0,2\n", r"p.csv, line 3: duplicate Id 0"),
    ("Id,Class\n0,1\n1,x\n", r"p.csv, line 3: expected '<Id>,<Class>'"),
    ("Id,Class\n0,1\n2,1\n", r"p.csv, line 3: Id 2 is not a test frame"),
    ("Id,Class\n0,1\n1,41\n", r"p.csv, line 3: Class 41 is not a class"),
])
def test_bad_submissions_name_the_line_and_what_was_expected(tmp_path, text, message):
    (tmp_path / "p.csv").write_text(text)
    with pytest.raises(LibriphoneError, match=message):
        read_submission(tmp_path / "p.csv", 2)


def test_the_command_line_reports_bad_files_with_exit_status_1(data, tmp_path, capsys):
    (tmp_path / "p.csv").write_text("Id,Label\n")
    assert main(["score", str(tmp_path / "p.csv"), "--data", str(data), "--labels", str(data / "test_labels.txt")]) == 1
    assert "expected the header 'Id,Class'" in capsys.readouterr().err


def test_a_run_that_never_gets_a_frame_right_still_keeps_its_best_epoch(data, tmp_path, monkeypatch):
    run_epoch = training.run_epoch
    monkeypatch.setattr(training, "run_epoch", lambda model, recipe, frames, device, optimizer=None, *args, **kwargs:
                        run_epoch(model, recipe, frames, device, optimizer, *args, **kwargs) if optimizer else (4.0, 0.0))
    history = train(dataclasses.replace(TINY, num_epochs=1), data, tmp_path / "run", device="cpu", progress=False)
    assert history[0]["val_acc"] == 0.0 and (tmp_path / "run" / "best.pt").is_file()
