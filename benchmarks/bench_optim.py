"""Chapters 2 and 3 targets: the step time of our Momentum and Adam on a 10 M-parameter
model against torch.optim.SGD(momentum=...) and torch.optim.Adam (default settings).

Timings on a shared machine are noisy, so the two optimisers are measured in alternation
(ours, theirs, theirs, ours, ...: load from other processes hits both alike), in several
blocks; each block gives a ratio of median step times, and the row reports the median of
the blocks' ratios, with the spread of the blocks beside it.
"""
import statistics
import time

import torch

from course_utils import optim

N_PARAMETERS = "10 M"


def ten_million_parameters():
    """Ten 1000 × 1000 tensors with gradients (the same values for every optimiser)."""
    generator = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(1000, 1000, generator=generator)) for _ in range(10)]
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator)
    return params


def step_seconds(optimizer):
    start = time.perf_counter()
    optimizer.step()
    return time.perf_counter() - start


def compare_step_times(make_ours, make_theirs, blocks=5, steps_per_block=6):
    """(median ratio ours/theirs over the blocks, lowest and highest block ratio,
    median step time of ours, of theirs), each optimiser on its own copy of the parameters."""
    ours, theirs = make_ours(ten_million_parameters()), make_theirs(ten_million_parameters())
    for optimizer in (ours, theirs):       # warm-up: state allocated, caches and allocator primed
        for _ in range(2):
            optimizer.step()
    ratios, all_ours, all_theirs = [], [], []
    for _ in range(blocks):
        ours_times, theirs_times = [], []
        for i in range(steps_per_block):
            pair = [(ours, ours_times), (theirs, theirs_times)]
            for optimizer, record in (pair if i % 2 == 0 else pair[::-1]):
                record.append(step_seconds(optimizer))
        ratios.append(statistics.median(ours_times) / statistics.median(theirs_times))
        all_ours += ours_times
        all_theirs += theirs_times
    return statistics.median(ratios), min(ratios), max(ratios), statistics.median(all_ours), statistics.median(all_theirs)


def row(name, target, comparison):
    ratio, low, high, ours, theirs = comparison
    return {"benchmark": name, "value": ratio, "target": target,
            "unit": f"× (blocks {low:.2f}–{high:.2f}; {ours * 1e3:.0f} ms vs {theirs * 1e3:.0f} ms, "
                    f"{torch.get_num_threads()} threads)"}


def run():
    momentum = compare_step_times(lambda p: optim.Momentum(p, lr=0.01, momentum=0.9),
                                  lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9))
    adam = compare_step_times(lambda p: optim.Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3))
    return [
        row(f"Momentum.step, {N_PARAMETERS} params: ours / torch.optim.SGD(momentum)", "≤ 1.5×", momentum),
        row(f"Adam.step, {N_PARAMETERS} params: ours / torch.optim.Adam (default)", "≤ 2×", adam),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
