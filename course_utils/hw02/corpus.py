"""A libriphone-style corpus made here from synthesised speech.

Each utterance is drawn from its own random stream, seeded by (seed, split, index),
so the corpus depends only on its `CorpusConfig` and never on how many processes
made it:

    text  ~ sentences | word lists | [[random syllables]]        (`text`)
    voice = accent + variant, rate, pitch, pitch range             (eSpeak NG, `espeak`)
    x     = [silence | speech | silence]                           (labelled sil)
    x     ← x * h  with probability p_reverb                       (`acoustics`)
    x     ← x + noise at an SNR drawn from the range               (`acoustics`)
    X     = 39-dim MFCC + Δ + ΔΔ, CMVN                             (`features`)
    y_t   = class of the phoneme sounding at frame t's centre     (`phonemes`)

The result has the homework's layout (`libriphone`), plus ``test_labels.txt``
(the instructor's answers: leave it out of a student release) and
``corpus.json`` (the configuration). It is cached under
``$COURSE_DATA_DIR/hw02/<hash of the configuration>/`` (default
``~/.cache/course_utils``), made in a temporary folder and renamed into place when
complete, so an interrupted run leaves no half corpus. Change any parameter
and a new corpus is made; the same parameters reuse the old one.
"""
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from . import acoustics, espeak, features, phonemes, text

GENERATOR_VERSION = 3   # bump whenever the same configuration would give different data
SPLITS = {"train": 0, "test": 1}


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
    """Everything the corpus depends on. `seed` picks the utterances: a seed of your own gives a private set."""
    seed: int = 0
    num_train: int = 3000
    num_test: int = 1000
    accents: tuple = (("en-us", 0.55), ("en-us-nyc", 0.1), ("en", 0.1), ("en-gb-x-rp", 0.05),
                      ("en-gb-scotland", 0.05), ("en-gb-x-gbclan", 0.05), ("en-gb-x-gbcwmd", 0.05), ("en-029", 0.05))
    variants: str = "all"            # "all" eSpeak variants, or a comma-separated list such as "m3,f2"
    rate_wpm: tuple = (120, 240)
    pitch: tuple = (20, 80)
    pitch_range: tuple = (10, 90)
    syllable_fraction: float = 0.4
    word_list_fraction: float = 0.2
    edge_silence_s: tuple = (0.05, 0.6)
    reverb_probability: float = 0.5
    rt60_s: tuple = (0.2, 0.8)
    drr_db: tuple = (-3.0, 8.0)
    snr_db: tuple = (0.0, 20.0)
    noise_colours: tuple = ("white", "pink", "brown")

    def key(self):
        """A short hash of the configuration, the generator version and the eSpeak NG version."""
        spec = dict(dataclasses.asdict(self), generator_version=GENERATOR_VERSION, espeak=espeak.engine().version)
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def data_root():
    """Where generated data lives: ``$COURSE_DATA_DIR``, else ``~/.cache/course_utils``."""
    return Path(os.environ.get("COURSE_DATA_DIR") or Path.home() / ".cache" / "course_utils")


def utterance_id(split, index):
    return f"{'S' if split == 'train' else 'T'}{index:05d}"


def draw_utterance(config, split, index):
    """The recipe of one utterance: text, voice, prosody and acoustic conditions, from its own stream."""
    rng = np.random.default_rng([config.seed, SPLITS[split], index])
    names, weights = zip(*config.accents)
    accent = str(rng.choice(names, p=np.array(weights) / sum(weights)))
    variants = espeak.voice_variants() if config.variants == "all" else config.variants.split(",")
    uniform = lambda bounds: float(rng.uniform(*bounds))
    return dict(
        id=utterance_id(split, index), accent=accent, voice=f"{accent}+{rng.choice(variants)}",
        text=text.utterance_text(rng, config.syllable_fraction, config.word_list_fraction),
        rate=int(uniform(config.rate_wpm)), pitch=int(uniform(config.pitch)),
        pitch_range=int(uniform(config.pitch_range)),
        lead_s=uniform(config.edge_silence_s), trail_s=uniform(config.edge_silence_s),
        reverb=bool(rng.random() < config.reverb_probability), rt60_s=uniform(config.rt60_s),
        drr_db=uniform(config.drr_db), snr_db=uniform(config.snr_db),
        noise=str(rng.choice(config.noise_colours)), noise_seed=int(rng.integers(2 ** 63)))


def render_signal(recipe):
    """Synthesise one recipe: (signal x float32, sample rate, eSpeak's phoneme events, samples of leading silence)."""
    speech = espeak.engine().speak(recipe["text"], recipe["voice"], recipe["rate"], recipe["pitch"],
                                   recipe["pitch_range"], seed=recipe["noise_seed"] % 2 ** 31)
    sr = speech.sample_rate
    lead, trail = int(recipe["lead_s"] * sr), int(recipe["trail_s"] * sr)
    x = np.concatenate([np.zeros(lead, np.float32), speech.samples.astype(np.float32) / 32768,
                        np.zeros(trail, np.float32)])
    is_speech = np.zeros(len(x), bool)
    is_speech[lead:lead + len(speech.samples)] = True
    rng = np.random.default_rng(recipe["noise_seed"])
    if recipe["reverb"]:
        x = acoustics.reverberate(x, acoustics.room_impulse_response(rng, sr, recipe["rt60_s"], recipe["drr_db"]))
    x = acoustics.add_noise(rng, x, is_speech, recipe["snr_db"], acoustics.NOISE_COLOURS[recipe["noise"]])
    return x, sr, speech.phonemes, lead


def render_utterance(recipe):
    """Synthesise one recipe: (features (T, 39) float32, labels (T,) int64)."""
    x, sr, events, lead = render_signal(recipe)
    feats = features.features(x, sr)
    win, hop = features.frame_geometry(sr)
    labels = phonemes.frame_labels(events, len(feats), win, hop, offset=lead, accent=recipe["accent"])
    return feats, torch.from_numpy(labels)


def example_recipe(text, voice="en-us+m3", rate=150, snr_db=30.0, reverb=False, seed=0):
    """A recipe for `text` said by one voice, with short silences and a little noise (for the chapter's
    listening and pictures; the corpus draws its own with `draw_utterance`)."""
    return dict(id="example", accent=voice.split("+")[0], voice=voice, text=text, rate=rate, pitch=50,
                pitch_range=50, lead_s=0.15, trail_s=0.15, reverb=reverb, rt60_s=0.5, drr_db=0.0, snr_db=snr_db,
                noise="pink", noise_seed=seed)


def _make_one(task):
    config, split, index, folder = task
    recipe = draw_utterance(config, split, index)
    feats, labels = render_utterance(recipe)
    torch.save(feats.contiguous().clone(), Path(folder) / "feat" / split / f"{recipe['id']}.pt")
    return split, index, recipe["id"], " ".join(map(str, labels.tolist()))


def _init_worker():
    torch.set_num_threads(1)


def make_corpus(config=CorpusConfig(), root=None, workers=None, progress=True):
    """The folder of the corpus for `config`, made first if it is not in the cache (with a tqdm bar).

    `workers` processes synthesise in parallel (eSpeak NG has one global state per process; default:
    the number of CPUs). The folder has the homework's layout plus ``test_labels.txt`` and ``corpus.json``."""
    root = Path(root) if root is not None else data_root()
    final = root / "hw02" / config.key()
    if (final / "corpus.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-{os.getpid()}-", dir=final.parent))
    try:
        _generate(config, tmp, workers or os.cpu_count() or 1, progress)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "corpus.json").is_file():   # not a finished corpus from a concurrent run
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _remove_abandoned(final):
    """Delete temporary folders of `final` left by processes that no longer run (killed mid-generation)."""
    for tmp in final.parent.glob(f".tmp-{final.name}-*"):
        try:
            os.kill(int(tmp.name.split("-")[2]), 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:   # alive, another user's
            pass


def _generate(config, folder, workers, progress):
    from tqdm.auto import tqdm

    for split in SPLITS:
        (folder / "feat" / split).mkdir(parents=True)
    tasks = [(config, split, i, str(folder)) for split, n in (("train", config.num_train), ("test", config.num_test))
             for i in range(n)]
    lines = {"train": [None] * config.num_train, "test": [None] * config.num_test}
    bar = tqdm(total=len(tasks), desc=f"HW02 corpus {folder.name.split('-')[1]}", unit="utt", disable=not progress)
    if workers <= 1:
        results = map(_make_one, tasks)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker)
        results = pool.imap_unordered(_make_one, tasks, chunksize=8)
    try:
        for split, index, uid, labels in results:
            lines[split][index] = (uid, labels)
            bar.update()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    for split in SPLITS:
        (folder / f"{split}_split.txt").write_text("".join(f"{uid}\n" for uid, _ in lines[split]))
        (folder / f"{split}_labels.txt").write_text("".join(f"{uid} {labels}\n" for uid, labels in lines[split]))
    (folder / "phones.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(phonemes.CLASSES)))
    spec = dict(dataclasses.asdict(config), generator_version=GENERATOR_VERSION, espeak=espeak.engine().version)
    (folder / "corpus.json").write_text(json.dumps(spec, indent=1) + "\n")   # written last: marks it complete


def student_release(corpus, out):
    """Copy a corpus without the instructor's ``test_labels.txt`` (what students get)."""
    shutil.copytree(corpus, out, ignore=shutil.ignore_patterns("test_labels.txt", ".tmp-*"))
    return Path(out)
