"""Chapter 6's demo: the context window of n = 2k + 1 frames sliding over an utterance.

Left, the utterance's 39 features per 10 ms frame as an image (time across), its
phoneme labels above it, and the window around frame t; right, what the classifier
is given for frame t: the n frames of `concat_feat`, oldest first, with the frames
that replicate padding repeated at the utterance's edges marked.

A frame draws quickly because the utterance, its labels and every axis are drawn once for each
n (:func:`~course_utils.widgets.backdrop.paste_backdrop`); moving t redraws only the window, the
block and a title.
"""
from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from ..hw02 import corpus
from ..hw02.libriphone import concat_feat
from ..hw02.phonemes import CLASSES
from ..pictures import show_picture
from ..plotting import ROLE_COLORS
from . import Control, Demo
from .backdrop import paste_backdrop, spines_on_top, without_spines

#: What the example utterance says (about 1.6 s, all of it shown).
EXAMPLE_TEXT = "She reads a strange story."


@lru_cache(maxsize=4)
def example_utterance(text=EXAMPLE_TEXT):
    """{"signal", "sample_rate", "feats" (T, 39), "labels" (T,)} of `text`, synthesised once (eSpeak NG)."""
    recipe = corpus.example_recipe(text)
    signal, sample_rate, _, _ = corpus.render_signal(recipe)
    feats, labels = corpus.render_utterance(recipe)
    return {"signal": signal, "sample_rate": sample_rate, "feats": feats, "labels": labels, "text": text}


def label_segments(labels):
    """[(first frame, last frame, class name)] of the runs of equal labels."""
    labels = np.asarray(labels)
    cuts = np.flatnonzero(np.diff(labels)) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(labels)] - 1
    return [(int(a), int(b), CLASSES[labels[a]]) for a, b in zip(starts, ends)]


@lru_cache(maxsize=None)
def _windows(concat_nframes):
    """concat_feat of the example utterance with windows of `concat_nframes` frames, (T, 39·n) NumPy."""
    return concat_feat(example_utterance()["feats"], concat_nframes).numpy()


@lru_cache(maxsize=1)
def _example_arrays():
    """The example utterance's features (T, 39), labels (T,) as NumPy, and its label segments."""
    utterance = example_utterance()
    return utterance["feats"].numpy(), utterance["labels"].numpy(), label_segments(utterance["labels"])


def window_compute(concat_nframes=11, position=50):
    """The window of `concat_nframes` frames around frame t = `position` percent of the way through the
    example utterance: which frames it reads (clamped to the edges) and the (n, 39) block it hands over."""
    feats, labels, segments = _example_arrays()
    t = round(position / 100 * (len(feats) - 1))
    k = concat_nframes // 2
    wanted = np.arange(t - k, t + k + 1)
    block = _windows(concat_nframes)[t].reshape(concat_nframes, -1)
    return {"feats": feats, "segments": segments, "t": t, "k": k,
            "frames": np.clip(wanted, 0, len(feats) - 1), "padded": (wanted < 0) | (wanted >= len(feats)),
            "block": block, "label": CLASSES[int(labels[t])], "concat_nframes": concat_nframes}


_LIMITS = dict(vmin=-3, vmax=3, cmap="viridis", aspect="auto", interpolation="nearest")
#: The same colours for the block, which is drawn as a picture (quicker than imshow on every frame).
_NORM, _COLOURS = Normalize(_LIMITS["vmin"], _LIMITS["vmax"]), colormaps[_LIMITS["cmap"]]


def _window_static(image, block, concat_nframes, padded):
    """What every frame with n = `concat_nframes` and `padded` repeated edge frames shares: the utterance with
    its labels and axes (left), the block's axes, title and label (right)."""
    feats, _, segments = _example_arrays()
    image.imshow(feats.T, origin="lower", **_LIMITS)
    image.vlines([first - 0.5 for first, _, _ in segments[1:]], -0.5, 38.5, color="white", linewidth=0.4,
                 alpha=0.6)
    for first, last, name in segments:
        if last - first >= 3:
            image.text((first + last) / 2, 39, name, ha="center", va="bottom", fontsize=6.5)
    image.set(ylim=(-0.5, 43), yticks=[0, 13, 26, 38], xlabel="frame (10 ms each)", ylabel="feature (MFCC, Δ, ΔΔ)")
    n, k = concat_nframes, concat_nframes // 2
    block.set(xlim=(-0.5, n - 0.5), ylim=(-0.5, 38.5), xticks=[0, k, n - 1] if k else [0],
              xticklabels=[f"t−{k}", "t", f"t+{k}"] if k else ["t"], yticks=[])
    for ax in (image, block):
        ax.grid(False)
    without_spines(image, block)                            # each frame draws them, over its window and block
    block.set_xlabel(f"{padded} edge frame{'s' if padded != 1 else ''} repeated (hatched)" if padded
                     else "oldest frame first")
    block.set_title(f"input: {n} × 39 = {39 * n} numbers")


def window_draw(data, axes):
    image, block = axes
    feats, t, k, n = data["feats"], data["t"], data["k"], data["concat_nframes"]
    # The utterance, its labels and every axis are the same for every frame of one n (and number of
    # repeated edge frames): a picture drawn once; each frame draws the window, the block and the title.
    paste_backdrop(axes, _window_static, n, int(data["padded"].sum()))
    spines_on_top(*axes)
    left, right = max(t - k, 0) - 0.5, min(t + k, len(feats) - 1) + 0.5
    image.axvspan(left, right, facecolor="none", edgecolor=ROLE_COLORS["model"], linewidth=2)
    image.set_title(f"frame t = {t} is labelled {data['label']}")
    show_picture(block, _COLOURS(_NORM(data["block"].T), bytes=True), (-0.5, n - 0.5), (-0.5, 38.5))
    before, after = int(data["padded"][:k].sum()), int(data["padded"][k + 1:].sum())
    for start, width in ((-0.5, before), (n - 0.5 - after, after)):
        if width:
            block.axvspan(start, start + width, facecolor="white", alpha=0.35, hatch="//", edgecolor="black")


WINDOW_DEMO = Demo(
    "The context window: n frames around frame t", window_compute, window_draw,
    {"concat_nframes": Control("frames n = 2k + 1", (1, 3, 5, 11, 21), 11),
     "position": Control("frame t, % of the utterance", (0, 3, 25, 50, 75, 97, 100), 50)},
    ncols=2, alt="An utterance's 39 features per frame with its phoneme labels, and the window of 11 frames "
        "around its middle frame that the classifier reads.")
