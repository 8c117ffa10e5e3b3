"""A libriphone-style corpus made here from synthesised speech.

Each utterance is drawn from its own random stream, seeded by (seed, split, index),
so the corpus depends only on its `CorpusConfig` and never on how many processes
made it:

    text  ~ sentences | word lists | [[random syllables]]        (`text`)
            (syllables as words of one lexicon; unstressed vowels
             said as schwa, labelled as the lexicon has them   *)  (`text.pseudo_word_text`, `as_meant`)
    voice = accent + variant, rate, pitch, pitch range             (eSpeak NG, `espeak`)
          | a recorded voice (Flite/Festival), stretch, f0     *   (`festival`)
    s     ← rate and pitch changing within the utterance       *   (`text.with_prosody`, eSpeak SSML)
    stops start at their closure, as an aligner puts them  *   (`closures_to_stops`)
    s     ← s resampled to play `speed` times faster           *   (`acoustics.change_speed`)
    x     = [silence | speech s | silence]                         (labelled sil)
    x     ← x * h  with probability p_reverb                       (`acoustics`)
    x     ← x + noise at an SNR drawn from the range               (`acoustics`)
    x     ← x through a random channel, with probability p     *   (`acoustics.apply_channel`)
    X     = 39-dim MFCC + Δ + ΔΔ, CMVN (cepstra smeared in time *) (`features`)
    y_t   = class of the phoneme sounding at frame t's centre     (`phonemes`)
            (boundaries jittered as a forced aligner's         *)

The steps marked * are `OPTIONS`; each draws its values from a stream of its own
(`draw_options`), so that switching one on changes nothing else. The default corpus
switches on three of them (stops labelled from their closure, random syllables as
pseudo-words with reduced vowels, speed from 0.8 to 1.25) and has short edge silences,
few word lists and noise at −5 to 15 dB: measured one option at a time
(``benchmarks/hw02_difficulty.md``), these give the homework's ladder its real shape.
`VERSION_3` is the milder corpus the course had before.

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

from . import features, phonemes
from .synthesis import acoustics, espeak, festival, text

GENERATOR_VERSION = 3   # bump whenever the same configuration would give different data (OPTIONS off: as version 3)
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
    word_list_fraction: float = 0.05
    edge_silence_s: tuple = (0.02, 0.2)
    reverb_probability: float = 0.5
    rt60_s: tuple = (0.2, 0.8)
    drr_db: tuple = (-3.0, 8.0)
    snr_db: tuple = (-5.0, 15.0)
    noise_colours: tuple = ("white", "pink", "brown")
    # Options that make the speech harder the way real speech is hard (`OPTIONS` says what "off" is):
    recorded_voice_fraction: float = 0.0   # share said by Flite/Festival voices made from real speakers
    recorded_voices: tuple = festival.VOICES
    speed_perturbation: tuple = (0.8, 1.25)  # resampling factor: tempo, pitch and formants scale together
    prosody_variation: float = 0.0          # within-utterance rate/pitch changes: σ of log2(rate) per chunk
    channel_probability: float = 0.0        # band limits and a random microphone response
    channel_low_hz: tuple = (50.0, 400.0)
    channel_high_hz: tuple = (3400.0, 11025.0)
    channel_ripple_db: float = 6.0
    smearing_ms: tuple = (0.0, 0.0)         # temporal smearing of the spectrum (sluggish articulators)
    label_jitter_ms: float = 0.0            # σ of the boundary shifts of a forced aligner's labels
    closure_labels: bool = True             # a stop's closure silence labelled as the stop, as aligners label it
    pseudo_words: int = 300                 # > 0: random syllables come as words of a lexicon this large
    vowel_reduction: float = 0.6            # share of unstressed pseudo-word vowels said as schwa, labelled as meant

    def spec(self):
        """The configuration as a dict, without the `OPTIONS` left at their defaults (so that a corpus made
        before they existed keeps its key and its ``corpus.json``), with the generator and eSpeak versions."""
        spec = {name: value for name, value in dataclasses.asdict(self).items()
                if name not in OPTIONS or value != OPTIONS[name]}
        if self.pseudo_words:   # the lexicon's spelling rules changed once: its corpora have their own version
            spec["pseudo_lexicon_version"] = text.PSEUDO_LEXICON_VERSION
        return dict(spec, generator_version=GENERATOR_VERSION, espeak=espeak.engine().version)

    def key(self):
        """A short hash of the configuration, the generator version and the eSpeak NG version."""
        return hashlib.sha256(json.dumps(self.spec(), sort_keys=True).encode()).hexdigest()[:16]


#: The options added after generator version 3, each with the value that switches it off (all off: the
#: corpus is what version 3 made). An option at its off value is left out of the key.
OPTIONS = dict(recorded_voice_fraction=0.0, recorded_voices=festival.VOICES, speed_perturbation=(1.0, 1.0),
               prosody_variation=0.0, channel_probability=0.0, channel_low_hz=(50.0, 400.0),
               channel_high_hz=(3400.0, 11025.0), channel_ripple_db=6.0, smearing_ms=(0.0, 0.0),
               label_jitter_ms=0.0, closure_labels=False, pseudo_words=0, vowel_reduction=0.0)
#: Generator version 3's corpus (the course's default until the ladder's shape was measured on it and found
#: squeezed): every option off, and the milder text and noise of that time. ``CorpusConfig(**VERSION_3)``.
VERSION_3 = dict(OPTIONS, word_list_fraction=0.2, edge_silence_s=(0.05, 0.6), snr_db=(0.0, 20.0))


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
    recipe = dict(
        id=utterance_id(split, index), accent=accent, voice=f"{accent}+{rng.choice(variants)}",
        text=text.utterance_text(rng, config.syllable_fraction, config.word_list_fraction),
        rate=int(uniform(config.rate_wpm)), pitch=int(uniform(config.pitch)),
        pitch_range=int(uniform(config.pitch_range)),
        lead_s=uniform(config.edge_silence_s), trail_s=uniform(config.edge_silence_s),
        reverb=bool(rng.random() < config.reverb_probability), rt60_s=uniform(config.rt60_s),
        drr_db=uniform(config.drr_db), snr_db=uniform(config.snr_db),
        noise=str(rng.choice(config.noise_colours)), noise_seed=int(rng.integers(2 ** 63)),
        **draw_options(config, split, index))
    return with_pseudo_words(config, recipe)


def with_pseudo_words(config, recipe):
    """With ``config.pseudo_words`` > 0, a recipe of random syllables says words of the corpus's lexicon instead
    (`text.pseudo_word_text`): ``text`` is what the words mean (the labels), ``said_text`` how they are said."""
    if config.pseudo_words > 0 and recipe["text"].startswith("[["):
        lexicon = text.pseudo_lexicon(config.seed, config.pseudo_words)
        said, meant = text.pseudo_word_text(np.random.default_rng(recipe["words_seed"]), lexicon,
                                            config.vowel_reduction)
        recipe = dict(recipe, text=meant, said_text=said)
    return recipe


def draw_options(config, split, index):
    """The recipe's part for the `OPTIONS`, from a stream of its own: switching an option on or off leaves
    everything else about the utterance as it was."""
    rng = np.random.default_rng([config.seed, SPLITS[split], index, 1])
    uniform = lambda bounds: float(rng.uniform(*bounds))
    recorded = bool(rng.random() < config.recorded_voice_fraction)
    voice = str(rng.choice(config.recorded_voices))
    options = dict(recorded_voice=voice if recorded else None, recorded_stretch=float(2 ** rng.uniform(-0.5, 0.5)),
                   recorded_f0_hz=float(rng.uniform(80, 240)), speed=uniform(config.speed_perturbation),
                   prosody_variation=config.prosody_variation, prosody_seed=int(rng.integers(2 ** 63)),
                   channel=bool(rng.random() < config.channel_probability), channel_low_hz=uniform(config.channel_low_hz),
                   channel_high_hz=uniform(config.channel_high_hz), channel_ripple_db=config.channel_ripple_db,
                   smearing_ms=uniform(config.smearing_ms), label_jitter_ms=config.label_jitter_ms,
                   closure_labels=config.closure_labels,
                   option_seed=int(rng.integers(2 ** 63)))
    options["words_seed"] = int(rng.integers(2 ** 63))   # drawn last: the draws before it stay what they were
    return options


#: The Flite voice that says random syllables for a Festival voice (Festival here takes text only).
SYLLABLE_VOICE = {"festival:kal_diphone": "flite:kal16", "festival:ked_diphone": "flite:rms",
                  "festival:cmu_us_slt_arctic_hts": "flite:slt"}


def speech_segments(recipe):
    """The recipe's speech: (float32 samples at 22 050 Hz, [(class index, start sample)], the last entry marking
    the end of the speech). eSpeak NG says it unless the recipe names a recorded voice (`festival`); with
    ``prosody_variation`` eSpeak changes rate and pitch from one group of words to the next."""
    voice = recipe.get("recorded_voice")
    said = recipe.get("said_text", recipe["text"])
    if voice:
        if said.startswith("[["):
            voice = SYLLABLE_VOICE.get(voice, voice)
        samples, segments = festival.speak(said, voice, recipe["recorded_stretch"], recipe["recorded_f0_hz"])
        to_class = lambda m: festival.phone_class(festival.ESPEAK_TO_RADIO[m])
    else:
        variation = recipe.get("prosody_variation", 0.0)
        if variation > 0:
            said = text.with_prosody(np.random.default_rng(recipe["prosody_seed"]), said, variation)
        speech = espeak.engine().speak(said, recipe["voice"], recipe["rate"], recipe["pitch"], recipe["pitch_range"],
                                       seed=recipe["noise_seed"] % 2 ** 31, ssml=variation > 0)
        samples = speech.samples.astype(np.float32) / 32768
        to_class = lambda m: phonemes.phoneme_class(m, recipe["accent"])
        segments = [(to_class(m), s) for m, s in speech.phonemes[:-1]]
        segments += [(phonemes.SILENCE, s) for _, s in speech.phonemes[-1:]]   # the last event ends the speech
    if "said_text" in recipe:
        segments = as_meant(segments, recipe["said_text"], recipe["text"], to_class)
    return samples, segments


def as_meant(segments, said, meant, to_class):
    """`segments` of the speech of `said` relabelled with the phonemes of `meant` (``[[...]]`` texts of the same
    phonemes but where `said` reduced a vowel): the segments are matched in order to the phonemes said (a
    segment of another class, such as a pause, is left as it is; one phoneme the engine dropped is skipped)."""
    said_classes = [to_class(m) for m in text.syllable_mnemonics(said)]
    meant_classes = [to_class(m) for m in text.syllable_mnemonics(meant)]
    out, j = [], 0
    for cls, start in segments[:-1]:
        if j + 1 < len(said_classes) and cls != said_classes[j] and cls == said_classes[j + 1]:
            j += 1
        if j < len(said_classes) and cls == said_classes[j]:
            cls = meant_classes[j]
            j += 1
        out.append((cls, start))
    return out + segments[-1:]


def render_signal(recipe):
    """Synthesise one recipe: (signal x float32, sample rate, [(class, start sample)] of the speech, samples of
    leading silence). The options of `draw_options` that the recipe switches on apply in the order of the
    module's docstring."""
    samples, segments = speech_segments(recipe)
    sr = espeak.engine().sample_rate
    if recipe.get("closure_labels"):
        segments = closures_to_stops(samples, segments, sr)
    option_rng = np.random.default_rng(recipe.get("option_seed", 0))
    speed = recipe.get("speed", 1.0)
    if speed != 1.0:
        samples, segments = acoustics.change_speed(samples, segments, speed)
    lead, trail = int(recipe["lead_s"] * sr), int(recipe["trail_s"] * sr)
    x = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(trail, np.float32)])
    is_speech = np.zeros(len(x), bool)
    is_speech[lead:lead + len(samples)] = True
    rng = np.random.default_rng(recipe["noise_seed"])
    if recipe["reverb"]:
        x = acoustics.reverberate(x, acoustics.room_impulse_response(rng, sr, recipe["rt60_s"], recipe["drr_db"]))
    x = acoustics.add_noise(rng, x, is_speech, recipe["snr_db"], acoustics.NOISE_COLOURS[recipe["noise"]])
    if recipe.get("channel"):
        x = acoustics.apply_channel(option_rng, x, sr, recipe["channel_low_hz"], recipe["channel_high_hz"],
                                    recipe["channel_ripple_db"])
    if recipe.get("label_jitter_ms", 0.0) > 0:
        segments = jitter_boundaries(option_rng, segments, recipe["label_jitter_ms"] * sr / 1000)
    return x, sr, segments, lead


STOPS = frozenset(phonemes.CLASSES.index(name) for name in ("B", "D", "G", "P", "T", "K", "CH", "JH"))


def closures_to_stops(samples, segments, sample_rate, block_s=0.0025, floor_db=40.0):
    """Segments whose stops (and affricates) begin where their closure begins, as a forced aligner labels them.

    eSpeak NG starts a voiceless stop's event at its burst: the silent closure before it ends the previous
    phoneme's segment. For each stop, the blocks of `block_s` at the end of the previous segment whose RMS lies
    more than `floor_db` below the utterance's loudest block are moved into the stop (the previous segment keeps
    at least its first block). A closure frame then sounds like silence alone, and only the burst and formant
    transitions around it say which stop it is."""
    block = max(1, int(block_s * sample_rate))
    n = len(samples) // block
    if n == 0:
        return segments
    rms = np.sqrt(np.mean(samples[:n * block].astype(np.float64).reshape(n, block) ** 2, axis=1))
    quiet = rms < rms.max() * 10 ** (-floor_db / 20)
    out = list(segments)
    for i in range(1, len(out) - 1):
        cls, start = out[i]
        previous = out[i - 1][1]
        if cls not in STOPS:
            continue
        b = min(start // block, n)   # blocks wholly before the stop's start
        first = previous // block + 1
        while b - 1 >= first and quiet[b - 1]:
            b -= 1
        if b * block < start:
            out[i] = (cls, b * block)
    return out


def jitter_boundaries(rng, segments, sigma):
    """Move every boundary by N(0, σ²) samples, as a forced aligner misplaces them, but by at most a third of
    either neighbouring segment (so every segment keeps a third of its length, and the order stays)."""
    starts = np.array([s for _, s in segments], dtype=np.float64)
    if len(starts) < 2:
        return segments
    shift = rng.normal(0.0, sigma, len(starts))
    before = np.diff(starts, prepend=starts[0]) / 3       # a third of the segment before each boundary
    after = np.diff(starts, append=starts[-1]) / 3        # a third of the segment after it
    moved = starts + np.clip(shift, -before, after)
    return [(c, int(round(s))) for (c, _), s in zip(segments, moved)]


def render_utterance(recipe):
    """Synthesise one recipe: (features (T, 39) float32, labels (T,) int64)."""
    x, sr, segments, lead = render_signal(recipe)
    win, hop = features.frame_geometry(sr)
    smearing_frames = recipe.get("smearing_ms", 0.0) / 1000 * sr / hop
    feats = features.features(x, sr, smearing_frames=smearing_frames)
    labels = phonemes.segment_labels(segments, len(feats), win, hop, offset=lead)
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
    (folder / "corpus.json").write_text(json.dumps(config.spec(), indent=1) + "\n")   # written last: marks it complete


def student_release(corpus, out):
    """Copy a corpus without the instructor's ``test_labels.txt`` (what students get)."""
    shutil.copytree(corpus, out, ignore=shutil.ignore_patterns("test_labels.txt", ".tmp-*"))
    return Path(out)
