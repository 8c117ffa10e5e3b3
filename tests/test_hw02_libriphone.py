"""The homework's data layout: concat_feat, preprocess_data's split semantics, bad input, and the lean
dataset's batches against preprocess_data's rows."""
import random

import pytest
import torch

from course_utils.hw02.dataset import load_frames
from course_utils.hw02.libriphone import LibriphoneError, concat_feat, preprocess_data, split_ids


def make_fake_libriphone(root, num_train=9, num_test=4, seed=0, feature_dim=39, learnable=False):
    """A tiny libriphone folder of random (T, 39) features; labels random, or with `learnable` the argmax
    of the frame's first four features (a rule a model can learn). Test labels go to test_labels.txt."""
    g = torch.Generator().manual_seed(seed)
    for split in ("train", "test"):
        (root / "feat" / split).mkdir(parents=True, exist_ok=True)
    lines, ids = {}, {}
    for split, n in (("train", num_train), ("test", num_test)):
        ids[split] = [f"{split[:2]}{i:03d}-{seed}" for i in range(n)]
        lines[split] = []
        for uid in ids[split]:
            t = int(torch.randint(1, 30, (), generator=g))
            x = torch.randn(t, feature_dim, generator=g)
            y = x[:, :4].argmax(1) if learnable else torch.randint(0, 41, (t,), generator=g)
            torch.save(x, root / "feat" / split / f"{uid}.pt")
            lines[split].append(f"{uid} " + " ".join(map(str, y.tolist())) + "\n")
        (root / f"{split}_split.txt").write_text("".join(f"{uid}\n" for uid in ids[split]))
    (root / "train_labels.txt").write_text("".join(lines["train"]))
    (root / "test_labels.txt").write_text("".join(lines["test"]))
    return root


def naive_concat(x, n):
    k, t = n // 2, len(x)
    return torch.stack([torch.cat([x[min(max(i + j - k, 0), t - 1)] for j in range(n)]) for i in range(t)])


def homework_concat(x, concat_n):
    """The sample code's concat_feat (valid only while concat_n // 2 < T)."""
    def shift(x, n):
        if n < 0:
            return torch.cat((x[0].repeat(-n, 1), x[:n]), dim=0)
        if n > 0:
            return torch.cat((x[n:], x[-1].repeat(n, 1)), dim=0)
        return x
    seq_len, feature_dim = x.size(0), x.size(1)
    x = x.repeat(1, concat_n).view(seq_len, concat_n, feature_dim).permute(1, 0, 2)
    mid = concat_n // 2
    for r in range(1, mid + 1):
        x[mid + r, :] = shift(x[mid + r], r)
        x[mid - r, :] = shift(x[mid - r], -r)
    return x.permute(1, 0, 2).reshape(seq_len, concat_n * feature_dim)


@pytest.mark.parametrize("t", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("n", [1, 3, 5, 11, 21])
def test_concat_feat_equals_the_naive_loop_including_windows_longer_than_the_utterance(t, n):
    x = torch.randn(t, 4)
    assert torch.equal(concat_feat(x, n), naive_concat(x, n))
    if n // 2 < t:
        assert torch.equal(concat_feat(x, n), homework_concat(x.clone(), n))


def test_concat_feat_puts_the_oldest_frame_first():
    x = torch.arange(5.0)[:, None]
    assert concat_feat(x, 3).tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]]
    with pytest.raises(ValueError, match="odd"):
        concat_feat(x, 4)


def test_preprocess_data_splits_like_the_homework(tmp_path):
    root = make_fake_libriphone(tmp_path)
    usage = (root / "train_split.txt").read_text().splitlines(keepends=True)
    random.seed(1337)
    random.shuffle(usage)
    cut = int(len(usage) * 0.8)
    expected = {"train": [u.strip() for u in usage[:cut]], "val": [u.strip() for u in usage[cut:]],
                "test": (root / "test_split.txt").read_text().split()}
    labels = {line.split()[0]: [int(v) for v in line.split()[1:]]
              for line in (root / "train_labels.txt").read_text().splitlines()}
    for split, ids in expected.items():
        assert split_ids(split, root) == ids
        mode = "test" if split == "test" else "train"
        feats = [torch.load(root / "feat" / mode / f"{uid}.pt") for uid in ids]
        result = preprocess_data(split, root / "feat", root, 5)
        X = result if split == "test" else result[0]
        assert torch.equal(X, torch.cat([naive_concat(f, 5) for f in feats]))
        if split != "test":
            assert result[1].tolist() == [c for uid in ids for c in labels[uid]]


@pytest.mark.parametrize("n", [1, 5, 21])
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_frames_batches_equal_preprocess_data_rows(tmp_path, split, n):
    root = make_fake_libriphone(tmp_path)
    result = preprocess_data(split, root / "feat", root, n)
    X, y = (result, None) if split == "test" else result
    frames = load_frames(root, split, n)
    assert len(frames) == len(X) and frames.input_dim == X.shape[1]
    index = torch.randperm(len(X))[:50]
    xb, yb = frames.batch(index)
    assert torch.equal(xb, X[index])
    assert (yb is None) == (y is None) and (y is None or torch.equal(yb, y[index]))
    assert torch.equal(torch.cat([b for b, _ in frames.batches(16)]), X)
    for xu, yu, lengths in frames.utterance_batches(3):
        for row, length in zip(xu, lengths.tolist()):
            assert any(torch.equal(row[:length], X[s:s + length]) for s in frames.starts[:-1].tolist())


def test_frames_load_float16_files_too(tmp_path):
    root = make_fake_libriphone(tmp_path)
    for path in (root / "feat" / "train").glob("*.pt"):
        torch.save(torch.load(path).half(), path)
    X, _ = preprocess_data("train", root / "feat", root, 3)
    assert torch.equal(load_frames(root, "train", 3).windows(torch.arange(len(X))), X)


def bad(tmp_path):
    return make_fake_libriphone(tmp_path)


def test_a_missing_feature_file_is_named(tmp_path):
    root = bad(tmp_path)
    uid = (root / "test_split.txt").read_text().split()[1]
    (root / "feat" / "test" / f"{uid}.pt").unlink()
    for load in (lambda: preprocess_data("test", root / "feat", root, 1), lambda: load_frames(root, "test")):
        with pytest.raises(FileNotFoundError, match=f"{uid}.pt.*float tensor"):
            load()


def test_a_label_line_whose_length_differs_from_its_features_is_named(tmp_path):
    root = bad(tmp_path)
    lines = (root / "train_labels.txt").read_text().splitlines()
    uid = lines[2].split()[0]
    lines[2] += " 3"
    (root / "train_labels.txt").write_text("\n".join(lines) + "\n")
    for split in ("train", "val"):
        if uid in split_ids(split, root):
            with pytest.raises(LibriphoneError, match=f"train_labels.txt: utterance {uid} has .* labels but"):
                preprocess_data(split, root / "feat", root, 1)
            with pytest.raises(LibriphoneError, match=f"utterance {uid}"):
                load_frames(root, split)


def test_a_label_line_that_is_not_integers_is_named_with_its_line(tmp_path):
    root = bad(tmp_path)
    lines = (root / "train_labels.txt").read_text().splitlines()
    lines[4] = lines[4].split()[0] + " 1 x 2"
    (root / "train_labels.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(LibriphoneError, match="train_labels.txt, line 5: expected"):
        load_frames(root, "train")


def test_a_wrong_feature_width_and_a_corrupt_file_are_named(tmp_path):
    root = bad(tmp_path)
    first, second = (root / "test_split.txt").read_text().split()[:2]
    torch.save(torch.randn(5, 40), root / "feat" / "test" / f"{first}.pt")
    with pytest.raises(LibriphoneError, match=rf"{first}.pt: expected a float tensor \(T, 39\), got tensor \(5, 40\)"):
        load_frames(root, "test")
    torch.save(torch.randn(5, 39), root / "feat" / "test" / f"{first}.pt")
    (root / "feat" / "test" / f"{second}.pt").write_bytes(b"not a torch file")
    with pytest.raises(LibriphoneError, match=f"{second}.pt: not a readable torch file"):
        preprocess_data("test", root / "feat", root, 1)


def test_pieces_of_utterances_cover_every_frame_once_and_keep_their_context(tmp_path):
    root = make_fake_libriphone(tmp_path, num_train=12)
    X, y = preprocess_data("train", root / "feat", root, 5)
    frames = load_frames(root, "train", 5)
    first, length = frames.segments(chunk_frames=7, generator=torch.Generator().manual_seed(0))
    assert length.max() <= 7 and length.min() >= 1
    covered = torch.cat([torch.arange(f, f + n) for f, n in zip(first.tolist(), length.tolist())])
    assert torch.equal(covered.sort().values, torch.arange(len(X)))
    u = frames.utterance_of(first)
    assert torch.equal(u, frames.utterance_of(first + length - 1))          # a piece never crosses utterances
    seen = 0
    for xb, yb, lengths in frames.utterance_batches(4, shuffle=True, generator=torch.Generator().manual_seed(1),
                                                    chunk_frames=7):
        for row, labels, n in zip(xb, yb, lengths.tolist()):
            match = [s for s in range(len(X) - n + 1) if torch.equal(X[s:s + n], row[:n])]
            assert match and torch.equal(labels[:n], y[match[0]:match[0] + n]) and (labels[n:] == -100).all()
            seen += n
    assert seen == len(X)
