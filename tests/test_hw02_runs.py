"""Runs over seeds (the ladder, the sweep, the ablations): one result file each, resumed where it stopped, read back
as mean ± spread and as lines."""
import dataclasses
import json

import pytest

from course_utils.hw02 import lines, runs
from course_utils.hw02.training import PRESETS
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
    assert sorted((r["seed"], r["name"]) for r in result["runs"]) == [(0, "medium"), (0, "simple"),
                                                                        (1, "medium"), (1, "simple")]
    assert all(len(r["history"]) == 1 and 0 <= r["public"] <= 1 and r["seconds"] > 0 for r in result["runs"])
    assert {r["recipe"]["seed"] for r in result["runs"]} == {0, 1}
    assert result["machine"]["cpus"] >= 1 and "ladder --seeds 0 1" in result["command"]
    assert "--out" not in result["command"] and str(out) not in result["command"]   # what made it, not where
    for seed in (0, 1):
        assert (out / f"seed-{seed}" / "medium" / "prediction.csv").read_text().startswith("Id,Class")
    printed = capsys.readouterr().out
    mean = sum(r["val_acc"] for r in result["runs"] if r["name"] == "simple") / 2
    assert f"{mean:.3f} ± " in printed.split("validation", 1)[1] and str(out / "ladder.json") in printed

    trained = []
    monkeypatch.setattr(runs, "run_recipe", lambda *a, **k: trained.append(a) or pytest.fail("trained again"))
    assert main(["ladder", "--seeds", "0", "1", "--out", str(out), "--data", str(data)] + ARGS) == 0
    assert "(in the result file)" in capsys.readouterr().out and not trained
    monkeypatch.undo()
    assert main(["ladder", "--seeds", "2", "--out", str(out), "--data", str(data)] + ARGS) == 0
    result = runs.read(out / "ladder.json")
    assert len(result["runs"]) == 6 and runs.summary(result)["medium"]["val_acc"][2] == 3

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
    assert "holds the runs of another corpus (0123456789abcdef" in capsys.readouterr().err
    assert (out / "ladder.json").read_text() == other
    (out / "ladder.json").write_text("not json")
    assert main(["ladder", "--out", str(out), "--data", str(data)] + ARGS) == 1
    assert "is not a result file of runs (not JSON)" in capsys.readouterr().err


def test_the_summary_gives_the_sample_standard_deviation_over_seeds():
    records = [dict(seed=s, name="strong", val_acc=v, public=None, private=None, seconds=seconds)
               for s, (v, seconds) in enumerate([(0.70, 60.0), (0.72, 600.0), (0.74, 120.0)])]
    row = runs.summary(dict(runs=records))["strong"]
    assert row["val_acc"] == pytest.approx((0.72, 0.02, 3)) and "public" not in row
    strong = runs.summary_table(dict(runs=records)).splitlines()[1]
    assert "0.720 ± 0.020" in strong and strong.endswith(" 2.0")   # the median run, 120 s (the mean: 4.0 min)


def test_ablations_change_one_thing_at_a_time_and_all_of_them_make_strong():
    recipes = runs.ablation(PRESETS["medium"])
    medium, together = recipes.pop("medium"), recipes.pop("all")
    assert dataclasses.replace(together, seed=0) == PRESETS["strong"]
    fields = [f.name for f in dataclasses.fields(medium)]
    for name, recipe in recipes.items():
        differ = {f for f in fields if getattr(recipe, f) != getattr(medium, f)}
        assert differ == set(runs.STRONG_CHANGES[name]), name
    assert list(runs.ablation(PRESETS["simple"], {"x": dict(hidden_dim=8)}, name="simple")) == ["simple", "x", "all"]


def test_the_sweep_and_the_ablations_record_their_runs_by_name(data, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--nframes", "1", "3", "--num-epochs", "1", "--out", str(out), "--data", str(data),
                 "--device", "cpu"]) == 0
    result = runs.read(out / "sweep.json")
    assert [r["name"] for r in result["runs"]] == ["1 frames", "3 frames"]
    assert [r["recipe"]["concat_nframes"] for r in result["runs"]] == [1, 3]
    assert (out / "seed-0" / "3-frames" / "best.pt").is_file()
    assert main(["sweep", "--nframes", "1", "4", "--out", str(out), "--data", str(data)]) == 1
    assert "--nframes 1 4: each must be odd and positive" in capsys.readouterr().err
    out = tmp_path / "ablations"
    assert main(["ablations", "--num-epochs", "1", "--out", str(out), "--data", str(data), "--device", "cpu"]) == 0
    names = [r["name"] for r in runs.read(out / "ablations.json")["runs"]]
    assert names == ["medium", *runs.STRONG_CHANGES, "all"] and (out / "seed-0" / "BatchNorm").is_dir()
    assert "+ BatchNorm" in capsys.readouterr().out


def test_epoch_curves_give_the_mean_and_the_range_over_seeds():
    history = lambda *accs: [dict(epoch=i + 1, val_acc=a) for i, a in enumerate(accs)]   # noqa: E731
    result = dict(runs=[dict(name="a", seed=0, history=history(0.1, 0.5)), dict(name="a", seed=1, history=history(0.3, 0.4)),
                        dict(name="b", seed=0, history=history(0.9, 0.9))])
    epochs, mean, low, high = runs.epoch_curves(result, "a")
    assert epochs == [1, 2] and mean == pytest.approx([0.2, 0.45]) and low == [0.1, 0.4] and high == [0.3, 0.5]
    with pytest.raises(KeyError, match="'c' has no runs in the result file; it has"):
        runs.epoch_curves(dict(runs=result["runs"], **{}), "c")


# The course's own result files (course_utils/hw02/results/), which chapter 6 shows and the grader's lines come from

def published_recipes(name, result):
    """What the command of result file `name` trains from today's presets (the epochs and windows as the file's
    command chose them)."""
    if name == "ladder":
        return runs.ladder()
    epochs = {r["recipe"]["num_epochs"] for r in result["runs"]}
    assert len(epochs) == 1, f"{name}.json mixes numbers of epochs: {epochs}"
    medium = dataclasses.replace(PRESETS["medium"], num_epochs=epochs.pop())
    if name == "sweep":
        return runs.sweep(medium, sorted({r["recipe"]["concat_nframes"] for r in result["runs"]}))
    return runs.ablation(medium)


@pytest.mark.parametrize("name", ["ladder", "sweep", "ablations"])
def test_the_published_runs_are_of_todays_presets_on_the_default_corpus(name):
    """Change a preset or the default corpus and these files are stale: run the command in their ``command``
    again (chapter 6 and the grader's lines read them)."""
    from course_utils.hw02.corpus import CorpusConfig

    result = runs.published(name)
    assert result["corpus"]["key"] == CorpusConfig().key(), f"{name}.json was made on another corpus: run it again"
    seeds = sorted({r["seed"] for r in result["runs"]})
    expected = {(seed, label): dataclasses.asdict(dataclasses.replace(recipe, seed=seed))
                for seed in seeds for label, recipe in published_recipes(name, result).items()}
    assert {(r["seed"], r["name"]): r["recipe"] for r in result["runs"]} == expected
    assert all(len(r["history"]) == r["recipe"]["num_epochs"] and r["public"] is not None for r in result["runs"])
    assert f"python -m course_utils.hw02 {name} --seeds" in result["command"]


def test_the_published_ladder_has_the_real_homeworks_shape_over_three_seeds():
    """Chapter 6, "The ladder at full size": the homework's targets for the default corpus, mean over the seeds:
    simple 0.46 ± 0.04; medium ≥ simple + 0.15; strong ≥ medium + 0.03; boss ≥ strong + 0.04; every step larger
    than twice the spread (sample standard deviation) of either of its presets."""
    table = runs.summary(runs.published("ladder"))
    mean = {preset: table[preset]["val_acc"][0] for preset in runs.ORDER}
    sd = {preset: table[preset]["val_acc"][1] for preset in runs.ORDER}
    assert all(table[preset]["val_acc"][2] >= 3 for preset in runs.ORDER)
    assert abs(mean["simple"] - 0.46) <= 0.04, mean
    for (lower, upper), target in zip(zip(runs.ORDER, runs.ORDER[1:]), (0.15, 0.03, 0.04)):
        step = mean[upper] - mean[lower]
        assert step >= target and step > 2 * max(sd[lower], sd[upper]), (lower, upper, step, sd)


def test_the_published_curves_show_medium_overfit_and_strong_keep_learning():
    """Chapter 6, "The ladder at full size": "*medium* levels off … while its training accuracy climbs …
    *strong* … is still climbing at its eighth epoch … *boss* … is ahead of every other preset from its first
    epoch", for every seed."""
    result = runs.published("ladder")
    for seed in sorted({r["seed"] for r in result["runs"]}):
        history = {r["name"]: r["history"] for r in result["runs"] if r["seed"] == seed}
        val = {name: [h["val_acc"] for h in epochs] for name, epochs in history.items()}
        assert max(val["medium"][5:]) - val["medium"][4] < 0.01, (seed, val["medium"])       # epochs 6–8: < 0.01
        assert history["medium"][-1]["train_acc"] > val["medium"][-1] + 0.05, seed            # and it overfits
        assert val["strong"][-1] - val["strong"][4] > 0.01 and val["strong"][-1] == max(val["strong"]), seed
        assert all(val["boss"][e] > max(val[p][e] for p in ("simple", "medium", "strong") if e < len(val[p]))
                   for e in range(len(val["boss"]))), seed


def test_the_default_corpus_lines_are_the_published_ladders_means():
    from course_utils.hw02.corpus import CorpusConfig

    result = runs.published("ladder")
    measured = lines.LINES[CorpusConfig().key()]
    for preset in lines.PRESET_ORDER:
        for board in lines.BOARDS:
            values = [r[board] for r in result["runs"] if r["name"] == preset]
            assert measured.board(board)[preset] == pytest.approx(sum(values) / len(values))
    assert "ladder --seeds 0 1 2" in measured.source


def test_the_published_sweep_rises_then_levels_off_in_every_seed():
    """Chapter 6, "How wide a window?": every odd window from 1 to 31 frames over three seeds; accuracy "climbs
    steeply over the first frames … and then levels off" (the gain beyond 11 frames is a fraction of the gain up
    to 11), in every seed."""
    result = runs.published("sweep")
    seeds = sorted({r["seed"] for r in result["runs"]})
    assert len(seeds) >= 3
    best = {max((r for r in result["runs"] if r["seed"] == seed), key=lambda r: r["val_acc"])["name"] for seed in seeds}
    assert len(best) > 1, best   # "the seeds do not even agree on the best window"
    for seed in seeds:
        by_window = {int(r["name"].split()[0]): r["val_acc"] for r in result["runs"] if r["seed"] == seed}
        assert sorted(by_window) == list(runs.SWEEP_NFRAMES), seed
        climb, beyond = by_window[11] - by_window[1], max(by_window.values()) - by_window[11]
        assert climb > 0.05 and 0 <= beyond < climb / 5, (seed, by_window)
        assert all(by_window[n] < by_window[11] for n in (1, 3, 5)), (seed, by_window)


def test_the_published_ablations_agree_over_seeds():
    """Chapter 6, "Which of strong's changes make its step?": in every seed, against *medium* of the same seed,
    the wider window, the bigger network and BatchNorm each raise the accuracy, dropout alone lowers it, and all
    four together raise it more than any one alone and more than the four effects' sum."""
    result = runs.published("ablations")
    seeds = sorted({r["seed"] for r in result["runs"]})
    assert len(seeds) >= 3
    accuracy = {(r["name"], r["seed"]): r["val_acc"] for r in result["runs"]}
    for seed in seeds:
        effect = {name: accuracy[name, seed] - accuracy["medium", seed] for name in [*runs.STRONG_CHANGES, "all"]}
        assert all(effect[name] > 0 for name in ("+ more context", "+ deeper, wider", "+ BatchNorm")), (seed, effect)
        assert effect["+ dropout"] < 0, (seed, effect)
        alone = [effect[name] for name in runs.STRONG_CHANGES]
        assert effect["all"] > max(alone) and effect["all"] > sum(alone), (seed, effect)
