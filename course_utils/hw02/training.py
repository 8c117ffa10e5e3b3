"""Training recipes for the homework's leaderboard, with checkpoints that survive interruption.

A `Recipe` is everything a run depends on. The four presets follow the
homework's hints: *simple* is the sample code (one frame, one hidden layer of
256, AdamW at 10⁻⁴, batch 512, 5 epochs); *medium* adds context frames and
layers; *strong* adds BatchNorm and Dropout; *boss* labels whole utterances
with a bidirectional GRU (trained on pieces of 100 frames, which keeps the
sequential steps of the recurrence few enough for a CPU).

Each epoch minimises the cross-entropy L = −(1/B) Σ_b log softmax(f(x_b))[y_b]
with AdamW over shuffled batches, then measures the validation accuracy. After
every epoch `train` writes, each atomically (temporary file + rename):

- ``last.pt``: model, optimiser, epoch and history; a new run in the same folder
  resumes from it (the shuffling and dropout of epoch e are seeded by (seed, e),
  so a resumed run equals an uninterrupted one);
- ``best.pt``: the model with the best validation accuracy so far;
- ``history.json`` and ``curves.png``: loss and accuracy per epoch.

**Several processes.** Under ``torchrun --nproc_per_node=W`` (`process_group` joins its
process group: gloo on CPUs, nccl on GPUs) `train` wraps the model in
DistributedDataParallel and the W processes share every batch: all draw the same
shuffled order (seeded by (seed, e), as ``DistributedSampler.set_epoch`` seeds it), cut
it into the same batches of B = ``recipe.batch_size`` items, and process r takes items
r, r + W, r + 2W, … of each (DistributedSampler's rule, applied batch by batch). So
``batch_size`` is the *global* batch, and each process computes on about B/W of it. A
share one item short of ⌈B/W⌉ is padded, as DistributedSampler pads, but with an item
whose frames weigh nothing, so every process takes every step. With n_r the frames of
process r's share and n = Σ_r n_r those of the whole batch, process r back-propagates

    L_r = (W / n) · Σ (the losses of its n_r frames),

and DDP averages the gradients over the W processes: (1/W) Σ_r ∇L_r = ∇ (1/n) Σ_b ℓ_b,
the gradient of the whole batch's mean loss. Each update is then the one process's
update (float sums in another order aside), also when the shares differ in frames.
What cannot agree is what depends on the share: BatchNorm normalises over each
process's share, and dropout draws other masks. Losses and accuracies are summed over
the processes; only rank 0 writes files.
"""
import contextlib
import dataclasses
import datetime
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from .dataset import load_frames
from .libriphone import NUM_CLASSES
from .models import Classifier, SequenceClassifier


@dataclasses.dataclass
class Recipe:
    model: str = "mlp"            # "mlp" (frame classifier) or "rnn" (sequence labeller)
    concat_nframes: int = 1
    hidden_layers: int = 1
    hidden_dim: int = 256
    dropout: float = 0.0
    batchnorm: bool = False
    cell: str = "gru"
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    batch_size: int = 512         # frames for "mlp", utterances (or pieces of them) for "rnn"; over all processes
    chunk_frames: int = 0         # "rnn": train on pieces of utterances this long (0: whole utterances)
    num_epochs: int = 5
    train_ratio: float = 0.8
    seed: int = 0


PRESETS = {
    "simple": Recipe(),
    "medium": Recipe(concat_nframes=11, hidden_layers=3, hidden_dim=256, learning_rate=1e-3, num_epochs=8),
    "strong": Recipe(concat_nframes=21, hidden_layers=4, hidden_dim=512, dropout=0.3, batchnorm=True,
                     learning_rate=1e-3, num_epochs=8),
    "boss": Recipe(model="rnn", concat_nframes=3, hidden_layers=2, hidden_dim=128, dropout=0.25, learning_rate=2e-3,
                   batch_size=32, chunk_frames=100, num_epochs=8),
}


def build_model(recipe, input_dim, num_classes=NUM_CLASSES):
    if recipe.model == "rnn":
        return SequenceClassifier(input_dim, num_classes, recipe.hidden_layers, recipe.hidden_dim, recipe.dropout,
                                  recipe.cell)
    return Classifier(input_dim, num_classes, recipe.hidden_layers, recipe.hidden_dim, recipe.dropout,
                      recipe.batchnorm)


def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def launched_by_torchrun():
    """True in a process that torchrun started with others (WORLD_SIZE > 1 in its environment)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_and_world_size():
    """(rank r, world size W) of this process: (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@contextlib.contextmanager
def process_group(device=None):
    """The device this process trains on (default: `default_device()`); under torchrun, inside its process group.

    Started by ``torchrun --nproc_per_node=W`` (which sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT), this joins the process group from those variables, nccl on a GPU (process r takes GPU
    LOCAL_RANK) and gloo on the CPU, and leaves it on the way out, also after an error. A plain
    ``python`` process (or W = 1) stays one process and the device is used as it is."""
    device = device or default_device()
    if not launched_by_torchrun():
        yield device
        return
    device = torch.device(device)
    if device.type == "cuda":
        local_rank, gpus = int(os.environ["LOCAL_RANK"]), torch.cuda.device_count()
        if local_rank >= gpus:
            raise ValueError(f"torchrun started process {local_rank} on this machine, which has {gpus} GPU(s): "
                             f"use --nproc_per_node={gpus} or fewer (one process per GPU), or --device cpu")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    # a generous timeout: the other processes wait while rank 0 makes the local corpus on first use
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=2),
                            device_id=device if device.type == "cuda" else None)
    try:
        yield str(device)
    finally:
        dist.destroy_process_group()


def first_on_rank_0(make):
    """`make()` on rank 0, then on the other processes: they find what it made (e.g. the cached corpus), or
    fail as it failed, each with its own message."""
    rank, world_size = rank_and_world_size()
    if world_size == 1:
        return make()
    if rank == 0:
        try:
            return make()
        finally:
            dist.barrier()
    dist.barrier()
    return make()


def share(items, rank, world_size):
    """(process `rank`'s share of a batch's `items`, how many of them are padding): every `world_size`-th item
    from the `rank`-th on, then the batch's first item if the share is one short of ⌈len/world_size⌉ (so all
    processes take the same steps, as DistributedSampler pads); its frames get the label −100, which weighs
    nothing."""
    mine = items[rank::world_size]
    padding = -(-len(items) // world_size) - len(mine)
    return torch.cat([mine, items[:padding]]) if padding else mine.contiguous(), padding


def batches(recipe, frames, shuffle=False, generator=None, rank=0, world_size=1):
    """(x, y, lengths or None, n) for the recipe's kind of model: process `rank`'s `share` of each batch, and
    the number n of frames of the whole batch (all processes' shares)."""
    if recipe.model == "rnn":   # trains on pieces of utterances, evaluates and predicts on whole ones
        chunk_frames = recipe.chunk_frames if shuffle else 0
        for first, lengths in frames.utterance_pieces(recipe.batch_size, shuffle, generator, chunk_frames):
            (mine, padding), n = share(torch.arange(len(first)), rank, world_size), int(lengths.sum())
            x, y, lengths = frames.utterance_batch(first[mine], lengths[mine])
            if padding:
                y[-padding:] = -100
            yield x, y, lengths, n
    else:
        for index in frames.batch_indices(recipe.batch_size, shuffle, generator):
            mine, padding = share(index, rank, world_size)
            x, y = frames.batch(mine)
            if padding:
                y[-padding:] = -100
            yield x, y, None, len(index)


def logits_of(model, x, lengths, device):
    x = x.to(device, non_blocking=True)
    return model(x, lengths) if lengths is not None else model(x)


def make_optimizer(model, recipe, device):
    """AdamW with the recipe's η and weight decay; the fused kernel (one pass over all parameters per update
    instead of a dozen tensor operations each) on the CPU and CUDA, where PyTorch has it."""
    fused = torch.device(device).type in ("cpu", "cuda")
    return torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay,
                             fused=fused or None)


def run_epoch(model, recipe, frames, device, optimizer=None, generator=None, progress=False, desc="",
              refresh_every=64):
    """One pass over `frames`: trains when an optimizer is given, else evaluates. Returns (loss, accuracy).

    The loss and the count of correct frames are summed on the device, and read back (a synchronisation on
    a GPU) only at the end and every `refresh_every` batches for the progress bar. In a process group each
    process takes its share of every batch (see the module's docstring; `model` is then the
    DistributedDataParallel wrapper when training), and the sums are over all processes."""
    from tqdm.auto import tqdm

    training = optimizer is not None
    rank, world_size = rank_and_world_size()
    model.train(training)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    count = 0
    bar = tqdm(total=len(frames), desc=desc, unit="frame", unit_scale=True, leave=False, disable=not progress)
    with torch.set_grad_enabled(training):
        for number, (x, y, lengths, n_batch) in enumerate(batches(recipe, frames, training, generator, rank,
                                                                  world_size)):
            n = int(torch.count_nonzero(y != -100))    # frames that count (padding has label -100)
            logits = logits_of(model, x, lengths, device).reshape(-1, NUM_CLASSES)
            y = y.to(device, non_blocking=True).reshape(-1)
            if world_size == 1:
                loss = nn.functional.cross_entropy(logits, y, ignore_index=-100)   # the mean over the n frames
                frames_loss = None
            else:   # this share's part of the whole batch's mean: (W / n_batch) · the sum over its n frames
                frames_loss = nn.functional.cross_entropy(logits, y, ignore_index=-100, reduction="sum")
                loss = frames_loss * (world_size / n_batch)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if frames_loss is None:
                loss_sum.add_(loss.detach(), alpha=n)                # in place: one operation, no new tensor
            else:
                loss_sum.add_(frames_loss.detach())
            correct.add_(torch.eq(logits.detach().argmax(1), y).sum())
            count += n
            if progress:
                bar.update(n * world_size)
                if number % refresh_every == 0:
                    bar.set_postfix(loss=f"{loss_sum.item() / count:.3f}", acc=f"{correct.item() / count:.3f}")
    bar.close()
    if world_size == 1:
        return loss_sum.item() / count, correct.item() / count
    sums = torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(count), device=device)])
    dist.all_reduce(sums)
    loss_sum, correct, count = sums.tolist()
    return loss_sum / count, correct / count


def predict_classes(model, recipe, frames, device=None):
    """The predicted class of every frame of `frames`, in frame order (LongTensor (N,))."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for x, _, lengths, _ in batches(recipe, frames):
            logits = logits_of(model, x, lengths, device)
            if lengths is None:
                out.append(logits.argmax(-1).cpu())
            else:
                out += [row[:n].argmax(-1).cpu() for row, n in zip(logits, lengths.tolist())]
    return torch.cat(out)


def atomic_save(obj, path):
    """torch.save to a temporary file beside `path`, then rename: `path` is always a complete file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(recipe, data_dir, out_dir, device=None, resume=True, progress=True, max_epochs=None):
    """Train `recipe` on the libriphone folder `data_dir`, writing checkpoints into `out_dir`.

    Resumes from ``out_dir/last.pt`` when it exists for the same recipe (unless `resume` is False). Stops
    after `max_epochs` epochs of this call when given (the others are left for a later call). Returns the
    history: a list of {epoch, train_loss, train_acc, val_loss, val_acc} dicts. Called in a process group
    (`process_group`), every process must call it with the same arguments (`device`: its own); they share the
    work, all return the same history, and only rank 0 writes files and shows progress.

    Not on the chapters' `course_utils.training.fit`, which fits what the chapters train (one tensor of
    examples, indexed by batch, measured by extra passes over whole tensors) and not what this loop must do:
    batches of padded utterances with their lengths; under DDP each process's share of a batch, padded with
    frames that weigh nothing and weighted by W / n so the processes' gradients average to the whole batch's
    (`run_epoch`); loss and accuracy summed during the training pass itself, on the device, since another pass
    over millions of frames would double an epoch's cost; and, after every epoch, BatchNorm's statistics
    broadcast from rank 0, atomic checkpoints (`best.pt`, `last.pt`) and a resume that repeats an interrupted run
    exactly because epoch e's shuffling and dropout are seeded by (seed, e)."""
    from tqdm.auto import tqdm

    rank, world_size = rank_and_world_size()
    progress = progress and rank == 0
    device = device or default_device()
    out_dir = Path(out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    train_set = load_frames(data_dir, "train", recipe.concat_nframes, recipe.train_ratio)
    val_set = load_frames(data_dir, "val", recipe.concat_nframes, recipe.train_ratio)
    torch.manual_seed(recipe.seed)
    model = build_model(recipe, train_set.input_dim).to(device)
    optimizer = make_optimizer(model, recipe, device)
    history, best = [], -1.0   # below any accuracy: the first epoch is kept even at accuracy 0
    last, state = out_dir / "last.pt", None
    if resume and rank == 0 and last.is_file():
        state = torch.load(last, weights_only=True, map_location=device if world_size == 1 else "cpu")
    if world_size > 1:   # the others resume from rank 0's checkpoint (its disk may not be theirs)
        state = [state]
        dist.broadcast_object_list(state, 0)
        state = state[0]
    if state is not None:
        if state["recipe"] != dataclasses.asdict(recipe):
            raise ValueError(f"{last} was written by another recipe ({state['recipe']}); use another --out "
                             f"folder or resume=False")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best = state["history"], state["best_val_acc"]
    trained = model   # what the training steps call: the model, or its DDP wrapper that averages the gradients
    if world_size > 1:
        from torch.nn.parallel import DistributedDataParallel
        trained = DistributedDataParallel(model, device_ids=[device] if torch.device(device).type == "cuda" else None)
    epochs = range(len(history), recipe.num_epochs)
    if max_epochs is not None:
        epochs = epochs[:max_epochs]
    for epoch in tqdm(epochs, desc=f"{recipe.model} epochs", unit="epoch", disable=not progress):
        torch.manual_seed(recipe.seed * 1000 + epoch + (rank << 32))   # dropout: other masks on other processes
        generator = torch.Generator().manual_seed(recipe.seed * 1000 + epoch)   # the order: the same on all
        train_loss, train_acc = run_epoch(trained, recipe, train_set, device, optimizer, generator, progress,
                                          f"epoch {epoch + 1} train")
        if world_size > 1:   # BatchNorm's running statistics: rank 0's everywhere, as in its checkpoint
            for buffer in model.buffers():
                dist.broadcast(buffer, 0)
        val_loss, val_acc = run_epoch(model, recipe, val_set, device, progress=progress, desc=f"epoch {epoch + 1} val")
        history.append(dict(epoch=epoch + 1, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss,
                            val_acc=val_acc))
        if val_acc > best:
            best = val_acc
            if rank == 0:
                atomic_save(dict(model=model.state_dict(), recipe=dataclasses.asdict(recipe), epoch=epoch + 1,
                                 val_acc=val_acc, input_dim=train_set.input_dim), out_dir / "best.pt")
        if rank == 0:
            atomic_save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(),
                             recipe=dataclasses.asdict(recipe), history=history, best_val_acc=best), last)
            save_curves(history, out_dir)
    return history


def save_curves(history, out_dir):
    """history.json, and curves.png (loss and accuracy per epoch) when matplotlib is installed."""
    out_dir = Path(out_dir)
    tmp = out_dir / f".history.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(history, indent=1) + "\n")
    os.replace(tmp, out_dir / "history.json")
    try:   # a Figure of its own with an Agg canvas: pyplot and its backend (a notebook's) stay untouched
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:   # pragma: no cover
        return
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(9, 3.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, key, name in ((axes[0], "loss", "cross-entropy"), (axes[1], "acc", "frame accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / f".curves.png.tmp{os.getpid()}.png")
    os.replace(out_dir / f".curves.png.tmp{os.getpid()}.png", out_dir / "curves.png")


def load_checkpoint(path, device=None):
    """(model, recipe) from a ``best.pt`` or ``last.pt``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint (train first: python -m course_utils.hw02 train)")
    state = torch.load(path, weights_only=True, map_location=device or "cpu")
    recipe = Recipe(**state["recipe"])
    input_dim = state.get("input_dim", 39 * recipe.concat_nframes)
    model = build_model(recipe, input_dim)
    model.load_state_dict(state["model"])
    return model.to(device or "cpu"), recipe
