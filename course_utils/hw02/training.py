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
"""
import dataclasses
import json
import os
from pathlib import Path

import torch
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
    batch_size: int = 512         # frames for "mlp", utterances (or pieces of them) for "rnn"
    chunk_frames: int = 0         # "rnn": train on pieces of utterances this long (0: whole utterances)
    num_epochs: int = 5
    train_ratio: float = 0.8
    seed: int = 0


PRESETS = {
    "simple": Recipe(),
    "medium": Recipe(concat_nframes=11, hidden_layers=3, hidden_dim=256, learning_rate=1e-3),
    "strong": Recipe(concat_nframes=21, hidden_layers=3, hidden_dim=384, dropout=0.25, batchnorm=True,
                     learning_rate=1e-3),
    "boss": Recipe(model="rnn", concat_nframes=3, hidden_layers=2, hidden_dim=128, dropout=0.25, learning_rate=2e-3,
                   batch_size=32, chunk_frames=100),
}


def build_model(recipe, input_dim, num_classes=NUM_CLASSES):
    if recipe.model == "rnn":
        return SequenceClassifier(input_dim, num_classes, recipe.hidden_layers, recipe.hidden_dim, recipe.dropout,
                                  recipe.cell)
    return Classifier(input_dim, num_classes, recipe.hidden_layers, recipe.hidden_dim, recipe.dropout,
                      recipe.batchnorm)


def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def batches(recipe, frames, shuffle=False, generator=None):
    """(x, y, lengths or None) for the recipe's kind of model."""
    if recipe.model == "rnn":   # trains on pieces of utterances, evaluates and predicts on whole ones
        chunk_frames = recipe.chunk_frames if shuffle else 0
        yield from frames.utterance_batches(recipe.batch_size, shuffle, generator, chunk_frames)
    else:
        for x, y in frames.batches(recipe.batch_size, shuffle, generator):
            yield x, y, None


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
    a GPU) only at the end and every `refresh_every` batches for the progress bar."""
    from tqdm.auto import tqdm

    training = optimizer is not None
    model.train(training)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    count = 0
    bar = tqdm(total=len(frames), desc=desc, unit="frame", unit_scale=True, leave=False, disable=not progress)
    with torch.set_grad_enabled(training):
        for number, (x, y, lengths) in enumerate(batches(recipe, frames, shuffle=training, generator=generator)):
            n = len(y) if lengths is None else int(lengths.sum())   # frames that count (padding has label -100)
            logits = logits_of(model, x, lengths, device).reshape(-1, NUM_CLASSES)
            y = y.to(device, non_blocking=True).reshape(-1)
            loss = nn.functional.cross_entropy(logits, y, ignore_index=-100)   # the mean over the n frames
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            loss_sum.add_(loss.detach(), alpha=n)                    # in place: one operation, no new tensor
            correct.add_(torch.eq(logits.detach().argmax(1), y).sum())
            count += n
            if progress:
                bar.update(n)
                if number % refresh_every == 0:
                    bar.set_postfix(loss=f"{loss_sum.item() / count:.3f}", acc=f"{correct.item() / count:.3f}")
    bar.close()
    return loss_sum.item() / count, correct.item() / count


def predict_classes(model, recipe, frames, device=None):
    """The predicted class of every frame of `frames`, in frame order (LongTensor (N,))."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for x, _, lengths in batches(recipe, frames):
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
    history: a list of {epoch, train_loss, train_acc, val_loss, val_acc} dicts."""
    from tqdm.auto import tqdm

    device = device or default_device()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_set = load_frames(data_dir, "train", recipe.concat_nframes, recipe.train_ratio)
    val_set = load_frames(data_dir, "val", recipe.concat_nframes, recipe.train_ratio)
    torch.manual_seed(recipe.seed)
    model = build_model(recipe, train_set.input_dim).to(device)
    optimizer = make_optimizer(model, recipe, device)
    history, best = [], 0.0
    last = out_dir / "last.pt"
    if resume and last.is_file():
        state = torch.load(last, weights_only=True, map_location=device)
        if state["recipe"] != dataclasses.asdict(recipe):
            raise ValueError(f"{last} was written by another recipe ({state['recipe']}); use another --out "
                             f"folder or resume=False")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best = state["history"], state["best_val_acc"]
    epochs = range(len(history), recipe.num_epochs)
    if max_epochs is not None:
        epochs = epochs[:max_epochs]
    for epoch in tqdm(epochs, desc=f"{recipe.model} epochs", unit="epoch", disable=not progress):
        torch.manual_seed(recipe.seed * 1000 + epoch)
        generator = torch.Generator().manual_seed(recipe.seed * 1000 + epoch)
        train_loss, train_acc = run_epoch(model, recipe, train_set, device, optimizer, generator, progress,
                                          f"epoch {epoch + 1} train")
        val_loss, val_acc = run_epoch(model, recipe, val_set, device, progress=progress, desc=f"epoch {epoch + 1} val")
        history.append(dict(epoch=epoch + 1, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss,
                            val_acc=val_acc))
        if val_acc > best:
            best = val_acc
            atomic_save(dict(model=model.state_dict(), recipe=dataclasses.asdict(recipe), epoch=epoch + 1,
                             val_acc=val_acc, input_dim=train_set.input_dim), out_dir / "best.pt")
        atomic_save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), recipe=dataclasses.asdict(recipe),
                         history=history, best_val_acc=best), last)
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
