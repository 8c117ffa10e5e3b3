"""The ladder over seeds: one result file, resumed where it stopped, read back as mean ± spread and as lines."""
import json

import pytest

from course_utils.hw02 import ladder, lines
from course_utils.hw02.__main__ import main
from course_utils.hw02 import submission
from test_hw02_libriphone import make_fake_libriphone

ARGS = ["--presets", "simple", "medium", "--num-epochs", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_fake_libriphone(tmp_path_factory.mktemp("libriphone") / "libriphone", num_train=40, num_test=6,
                                learnable=True)


def test_two_seeds_make_one_result_file_and_a_third_is_added_without_training_again(data, tmp_path, capsys,
                                                                                      monkeypatch):
    out = tmp_path / "ladder"
    assert main(["ladder", "--seeds", "0", "1", "--out", str(out), "--data", str(data)] + ARGS) == 0
    result = json.loads((out / "ladder.json").read_text())
    assert sorted((r["seed"], r["preset"]) for r in result["runs"]) == [(0, "medium"), (0, "simple"),
                                                                        (1, "medium"), (1, "simple")]
    assert all(len(r["history"]) == 1 and 0 <= r["public"] <= 1 and r["seconds"] > 0 for r in result["runs"])
    assert {r["recipe"]["seed"] for r in result["runs"]} == {0, 1}
    assert result["machine"]["cpus"] >= 1 and "ladder --seeds 0 1" in result["command"]
    for seed in (0, 1):
        assert (out / f"seed-{seed}" / "medium" / "prediction.csv").read_text().startswith("Id,Class")
    printed = capsys.readouterr().out
    mean = sum(r["val_acc"] for r in result["runs"] if r["preset"] == "simple") / 2
    assert f"{mean:.3f} ± " in printed.split("preset", 1)[1] and str(out / "ladder.json") in printed

    trained = []
    monkeypatch.setattr(ladder, "train", lambda *a, **k: trained.append(a) or pytest.fail("trained again"))
    assert main(["ladder", "--seeds", "0", "1", "--out", str(out), "--data", str(data)] + ARGS) == 0
    assert "(in the result file)" in capsys.readouterr().out and not trained
    monkeypatch.undo()
    assert main(["ladder", "--seeds", "2", "--out", str(out), "--data", str(data)] + ARGS) == 0
    result = ladder.read(out / "ladder.json")
    assert len(result["runs"]) == 6 and ladder.summary(result)["medium"]["val_acc"][2] == 3

    answers = submission.test_answers(data / "test_split.txt", data / "test_labels.txt")
    public = submission.public_mask(len(answers))
    (out / "seed-0" / "strong").mkdir()
    with pytest.raises(lines.LinesError, match="seed-0/strong/prediction.csv does not exist"):
        lines.measure([out], answers, public)


def test_a_result_file_of_another_corpus_is_refused_and_kept(data, tmp_path, capsys):
    out = tmp_path / "ladder"
    out.mkdir()
    other = json.dumps(dict(corpus=dict(key="0123456789abcdef"), runs=[]))
    (out / "ladder.json").write_text(other)
    assert main(["ladder", "--out", str(out), "--data", str(data)] + ARGS) == 1
    assert "holds the ladder of another corpus (0123456789abcdef" in capsys.readouterr().err
    assert (out / "ladder.json").read_text() == other
    (out / "ladder.json").write_text("not json")
    assert main(["ladder", "--out", str(out), "--data", str(data)] + ARGS) == 1
    assert "is not a ladder's result file (not JSON)" in capsys.readouterr().err


def test_the_summary_gives_the_sample_standard_deviation_over_seeds():
    runs = [dict(seed=s, preset="strong", val_acc=v, public=None, private=None, seconds=60.0)
            for s, v in enumerate([0.70, 0.72, 0.74])]
    row = ladder.summary(dict(runs=runs))["strong"]
    assert row["val_acc"] == pytest.approx((0.72, 0.02, 3)) and "public" not in row
    assert "0.720 ± 0.020" in ladder.summary_table(dict(runs=runs))
