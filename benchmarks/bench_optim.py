"""Chapters 2 and 3 targets: the step time of our Momentum and Adam on a 10 M-parameter
model against torch.optim.SGD(momentum=...) and torch.optim.Adam (default, foreach)."""
import statistics
import time

import torch

from course_utils import optim


def compare_step_times(make_ours, make_theirs, repeats=25):
    """Median step time of two optimisers on separate 10 M-parameter copies, measured in
    alternation so that load from other processes hits both alike."""
    def setup(make):
        torch.manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(1000, 1000)) for _ in range(10)]   # 10 M parameters
        for p in params:
            p.grad = torch.randn_like(p)
        optimizer = make(params)
        for _ in range(3):
            optimizer.step()
        return optimizer

    optimizers = [setup(make_ours), setup(make_theirs)]
    times = ([], [])
    for _ in range(repeats):
        for optimizer, record in zip(optimizers, times):
            start = time.perf_counter()
            optimizer.step()
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def run():
    ours_m, torch_m = compare_step_times(lambda p: optim.Momentum(p, lr=0.01, momentum=0.9),
                                         lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9))
    ours_a, torch_a = compare_step_times(lambda p: optim.Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3))
    return [
        {"benchmark": "Momentum.step, 10 M params: ours / torch.optim.SGD(momentum)",
         "value": ours_m / torch_m, "unit": f"× ({ours_m * 1e3:.1f} ms vs {torch_m * 1e3:.1f} ms)", "target": "≤ 1.5×"},
        {"benchmark": "Adam.step, 10 M params: ours / torch.optim.Adam (foreach)",
         "value": ours_a / torch_a, "unit": f"× ({ours_a * 1e3:.1f} ms vs {torch_a * 1e3:.1f} ms)", "target": "≤ 2×"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
