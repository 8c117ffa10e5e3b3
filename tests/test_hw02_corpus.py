"""The synthetic corpus: eSpeak events → frame labels, the class map, determinism, the atomic cache."""
import dataclasses

import numpy as np
import pytest
import torch

from course_utils.hw02 import corpus, espeak, features, phonemes
from course_utils.hw02.corpus import CorpusConfig, make_corpus
from course_utils.hw02.dataset import load_frames
from course_utils.hw02.libriphone import preprocess_data, read_labels
from course_utils.hw02.source import data_source

TINY = CorpusConfig(num_train=5, num_test=2)


def test_there_are_41_classes_and_every_class_has_an_espeak_phoneme():
    assert phonemes.NUM_CLASSES == 41 and phonemes.CLASSES[phonemes.SILENCE] == "sil"
    assert set(phonemes.ESPEAK_TO_CLASS.values()) == set(phonemes.CLASSES)
    assert phonemes.phoneme_class("'aI") == phonemes.CLASSES.index("AY")
    assert phonemes.phoneme_class(",oU") == phonemes.CLASSES.index("OW")
    assert phonemes.phoneme_class("3", accent="en-gb-x-rp") == phonemes.CLASSES.index("AH")
    assert phonemes.phoneme_class("3", accent="en-us") == phonemes.CLASSES.index("ER")
    with pytest.raises(ValueError, match="has no class"):
        phonemes.phoneme_class("Q!")


def test_frame_labels_take_the_phoneme_sounding_at_each_frame_centre():
    events = [("s", 0), ("'i:", 500), ("_:", 900), ("_", 1000)]   # the last event ends the speech
    labels = phonemes.frame_labels(events, num_frames=8, win=100, hop=200, offset=250)
    # frame centres 50, 250, 450, ... ; speech starts at 250, i: at 750, pause at 1150, end at 1250
    names = [phonemes.CLASSES[c] for c in labels]
    assert names == ["sil", "S", "S", "S", "IY", "IY", "sil", "sil"]


def test_espeak_phoneme_events_line_up_with_the_audio():
    """In "sasha" /s/ and /ʃ/ are noise (many zero crossings), the vowels are voiced (few): the labels
    must put the frames of each kind where the audio has it."""
    speech = espeak.engine().speak("[[s'aSa]]", voice="en-us", rate=120)
    assert [phonemes.CLASSES[phonemes.phoneme_class(m)] for m, _ in speech.phonemes][:4] == ["S", "AA", "SH", "AA"] \
        or [m.strip("'") for m, _ in speech.phonemes][:4] == ["s", "a", "S", "a"]
    x = speech.samples.astype(np.float32) / 32768
    win, hop = features.frame_geometry(speech.sample_rate)
    n = features.num_frames(len(x), win, hop)
    labels = phonemes.frame_labels(speech.phonemes, n, win, hop)
    frames = np.stack([np.pad(x, (0, win + n * hop))[t * hop:t * hop + win] for t in range(n)])
    crossings = (np.diff(np.sign(frames), axis=1) != 0).mean(1)
    fricative = np.isin(labels, [phonemes.CLASSES.index(c) for c in ("S", "SH")])
    vowel = labels == phonemes.CLASSES.index("AE")
    assert fricative.sum() >= 5 and vowel.sum() >= 5
    assert np.median(crossings[fricative]) > 3 * np.median(crossings[vowel])
    # run-length-collapsed labels follow the events, in order
    runs = [int(c) for i, c in enumerate(labels) if i == 0 or c != labels[i - 1]]
    spoken = [phonemes.phoneme_class(m) for m, _ in speech.phonemes[:-1]]
    assert [c for c in runs if c] == [c for c in spoken if c]


def test_the_same_seed_gives_identical_data_and_another_seed_other_data(tmp_path):
    a = make_corpus(TINY, root=tmp_path / "a", workers=1, progress=False)
    b = make_corpus(TINY, root=tmp_path / "b", workers=1, progress=False)
    c = make_corpus(dataclasses.replace(TINY, seed=1), root=tmp_path / "c", workers=1, progress=False)
    assert a.name == b.name != c.name
    for name in ("train_split.txt", "train_labels.txt", "test_split.txt", "test_labels.txt"):
        assert (a / name).read_text() == (b / name).read_text()
    assert (a / "train_labels.txt").read_text() != (c / "train_labels.txt").read_text()
    for uid in (a / "train_split.txt").read_text().split():
        x = torch.load(a / "feat" / "train" / f"{uid}.pt")
        assert torch.equal(x, torch.load(b / "feat" / "train" / f"{uid}.pt"))
        assert x.shape[1] == 39 and x.dtype == torch.float32
    # one utterance alone (as a worker process makes it) equals the same utterance made in sequence
    alone, _ = corpus.render_utterance(corpus.draw_utterance(TINY, "train", 3))
    assert torch.equal(alone, torch.load(a / "feat" / "train" / "S00003.pt"))
    # the layout reads with the homework's function
    X, y = preprocess_data("train", a / "feat", a, 3)
    assert X.shape[1] == 117 and len(X) == len(y) and y.max() < 41


def test_parallel_generation_equals_sequential(tmp_path):
    config = CorpusConfig(num_train=3, num_test=1)
    one = make_corpus(config, root=tmp_path / "one", workers=1, progress=False)
    two = make_corpus(config, root=tmp_path / "two", workers=2, progress=False)
    assert (one / "train_labels.txt").read_text() == (two / "train_labels.txt").read_text()
    assert torch.equal(load_frames(one, "train").feats, load_frames(two, "train").feats)


def test_an_interrupted_generation_leaves_no_corpus_and_a_finished_one_is_reused(tmp_path, monkeypatch):
    made = []
    real = corpus._make_one

    def fail_on_third(task):
        if len(made) == 2:
            raise KeyboardInterrupt
        made.append(task)
        return real(task)

    monkeypatch.setattr(corpus, "_make_one", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        make_corpus(TINY, root=tmp_path, workers=1, progress=False)
    assert list((tmp_path / "hw02").iterdir()) == []          # no half corpus, no temporary folder
    monkeypatch.setattr(corpus, "_make_one", real)
    abandoned = tmp_path / "hw02" / f".tmp-{TINY.key()}-999999999-x"      # left by a killed process
    (abandoned / "feat").mkdir(parents=True)
    path = make_corpus(TINY, root=tmp_path, workers=1, progress=False)
    assert not abandoned.exists()
    assert (path / "corpus.json").is_file() and len(read_labels(path / "train_labels.txt")) == 5
    monkeypatch.setattr(corpus, "_generate", lambda *a: pytest.fail("regenerated a cached corpus"))
    assert make_corpus(TINY, root=tmp_path, workers=1, progress=False) == path
    assert dataclasses.replace(TINY, snr_db=(5.0, 20.0)).key() != TINY.key()


def test_the_student_release_has_no_test_labels(tmp_path):
    path = make_corpus(TINY, root=tmp_path, workers=1, progress=False)
    release = corpus.student_release(path, tmp_path / "release")
    assert (path / "test_labels.txt").is_file() and not (release / "test_labels.txt").exists()
    assert (release / "feat" / "test").is_dir() and (release / "train_labels.txt").is_file()


def test_real_data_is_used_when_given_and_said(tmp_path, monkeypatch):
    from test_hw02_libriphone import make_fake_libriphone

    real = make_fake_libriphone(tmp_path / "libriphone")
    monkeypatch.setenv("LIBRIPHONE_DIR", str(real))
    source = data_source()
    assert source.kind == "libriphone" and source.path == real and "LIBRIPHONE_DIR" in source.description
    (real / "train_labels.txt").unlink()
    with pytest.raises(FileNotFoundError, match="lacks train_labels.txt"):
        data_source(real)
