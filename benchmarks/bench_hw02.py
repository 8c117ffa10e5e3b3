"""HW02 targets, on a local corpus of 1000 + 300 utterances (made on first use, then cached):

- peak memory of our training pipeline at concat_nframes = 21 (features kept once, windows gathered per
  batch) against the homework's `preprocess_data` (every window materialised), each in a fresh process,
  as the growth of the peak resident set over the process after imports; target: ours ≤ 1.5× the raw
  (frames, 39) float32 feature tensor;
- training throughput (frames per CPU second of the process, one thread, the same model: CPU time rather
  than wall time, so that other processes on a shared machine do not blur it) of `Frames.batches` against a per-item
  `Dataset` + `DataLoader(batch_size=512, shuffle=True)` over `preprocess_data`'s X, as in the sample code;
  target ≥ 3× with the sample code's model and features (concat 1, one hidden layer of 256); at
  concat 21 the model's own compute dominates both, so that row is reported without a target. A last row
  times the data side alone (assembling a batch), where the two pipelines differ.
"""
import json
import resource
import subprocess
import sys
import time

import torch

CONFIG = dict(num_train=1000, num_test=300)
STEPS = 40


def corpus_path():
    from course_utils.hw02.corpus import CorpusConfig, make_corpus

    return make_corpus(CorpusConfig(**CONFIG))


def step(model, optimizer, x, y):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(which, path, concat_nframes=21):
    """In a fresh process: load the train split one way, take STEPS training steps of the strong MLP."""
    from course_utils.hw02.dataset import load_frames
    from course_utils.hw02.libriphone import preprocess_data
    from course_utils.hw02.models import Classifier

    torch.set_num_threads(1)
    model = Classifier(39 * concat_nframes, 41, hidden_layers=3, hidden_dim=384, dropout=0.25, batchnorm=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step(model, optimizer, torch.randn(512, 39 * concat_nframes), torch.randint(0, 41, (512,)))   # warm-up
    base = peak_rss_bytes()
    if which == "ours":
        frames = load_frames(path, "train", concat_nframes)
        batches, n = frames.batches(512, shuffle=True), len(frames)
    else:
        X, Y = preprocess_data("train", f"{path}/feat", path, concat_nframes)
        batches, n = ((X[i], Y[i]) for i in torch.randperm(len(X)).split(512)), len(X)
    for _, (x, y) in zip(range(STEPS), batches):
        step(model, optimizer, x, y)
    print(json.dumps({"peak_growth": peak_rss_bytes() - base, "frames": n}))


def measure_memory(which, path):
    out = subprocess.run([sys.executable, __file__, "--memory", which, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class LibriDataset(torch.utils.data.Dataset):
    """The sample code's dataset: one (x, y) item at a time."""

    def __init__(self, X, y):
        self.data, self.label = X, y

    def __getitem__(self, idx):
        return self.data[idx], self.label[idx]

    def __len__(self):
        return len(self.data)


def timed_steps(batches, model, optimizer, steps):
    """(frames, CPU seconds of this process) of `steps` training steps on the next batches."""
    count, start = 0, time.process_time()
    for _, (x, y) in zip(range(steps), batches):
        step(model, optimizer, x, y)
        count += len(x)
    return count, time.process_time() - start


def compare_throughput(path, concat_nframes, rounds=8, steps=10):
    from course_utils.hw02.dataset import load_frames
    from course_utils.hw02.libriphone import preprocess_data
    from course_utils.hw02.models import Classifier

    frames = load_frames(path, "train", concat_nframes)
    X, y = preprocess_data("train", f"{path}/feat", path, concat_nframes)
    loader = torch.utils.data.DataLoader(LibriDataset(X, y), batch_size=512, shuffle=True)
    torch.manual_seed(0)
    model = Classifier(39 * concat_nframes, 41, hidden_layers=1, hidden_dim=256)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    pipelines = [frames.batches(512, shuffle=True), iter(loader)]
    totals = [[0, 0.0], [0, 0.0]]
    for _ in range(rounds):   # alternate in short rounds, so that load from other processes hits both alike
        for batches, total in zip(pipelines, totals):
            frames_done, seconds = timed_steps(batches, model, optimizer, steps)
            total[0] += frames_done
            total[1] += seconds
    return totals[0][0] / totals[0][1], totals[1][0] / totals[1][1]


def compare_batch_assembly(path, concat_nframes=1, batches=200):
    """CPU seconds per 512-frame batch of the data side alone: Frames.batches against the DataLoader."""
    from course_utils.hw02.dataset import load_frames

    frames = load_frames(path, "train", concat_nframes)
    loader = torch.utils.data.DataLoader(LibriDataset(frames.feats, frames.labels.long()), batch_size=512,
                                         shuffle=True)
    times = []
    for pipeline in (frames.batches(512, shuffle=True), iter(loader)):
        start = time.process_time()
        for _, batch in zip(range(batches), pipeline):
            pass
        times.append((time.process_time() - start) / batches)
    return times


def run():
    path = corpus_path()
    ours, theirs = measure_memory("ours", path), measure_memory("preprocess_data", path)
    raw = ours["frames"] * 39 * 4
    rows = [
        {"benchmark": f"peak memory, ours (Frames, concat 21, {ours['frames']} frames) / raw features",
         "value": ours["peak_growth"] / raw,
         "unit": f"× ({ours['peak_growth'] / 2**20:.0f} MiB vs {raw / 2**20:.0f} MiB raw)", "target": "≤ 1.5×"},
        {"benchmark": "peak memory, preprocess_data (concat 21) / raw features",
         "value": theirs["peak_growth"] / raw, "unit": f"× ({theirs['peak_growth'] / 2**20:.0f} MiB)",
         "target": "(reference)"},
    ]
    torch.set_num_threads(1)
    for n, target in ((1, "≥ 3×"), (21, "(reference)")):
        mine, sample = compare_throughput(path, n)
        rows.append({"benchmark": f"training frames/s, Frames.batches / per-item DataLoader (concat {n}, 1×256 MLP)",
                     "value": mine / sample, "unit": f"× ({mine:.0f} vs {sample:.0f} frames/s)", "target": target})
    mine, sample = compare_batch_assembly(path)
    rows.append({"benchmark": "batch assembly alone, DataLoader / Frames.batches (concat 1, 512 frames)",
                 "value": sample / mine, "unit": f"× ({mine * 1e3:.2f} vs {sample * 1e3:.2f} ms per batch)",
                 "target": "(reference: the model step, the same in both, bounds the training ratio)"})
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory":
        memory_child(sys.argv[2], sys.argv[3])
    else:
        for row in run():
            print(row)
