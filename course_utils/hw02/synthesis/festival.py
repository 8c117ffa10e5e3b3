"""Voices made from recordings of real speakers: Flite and Festival, with their phone segments.

eSpeak NG is a formant synthesiser: every one of its voices is the same rule-made
vocal tract. Flite and Festival (Debian packages ``flite``, ``festival``,
``festvox-kallpc16k``, ``festvox-kdlpc16k``, ``festvox-us-slt-hts``) speak with
voices built from recordings of real speakers (diphone concatenation, or a
statistical model trained on one speaker), so their spectra carry that speaker's
vocal tract. Both report the phone segments they spoke with their *end* times:

- Flite: ``flite -voice rms -psdur -t "text" -o out.wav`` prints ``pau:0.212 dh:0.395 …``;
  ``-p "pau b ay ch pau"`` speaks a phone string (the random syllables);
  ``--setf duration_stretch=1.2`` slows it, ``--setf int_f0_target_mean=140`` sets the pitch (Hz).
- Festival: a Scheme script, ``(utt.synth utt)`` then ``(utt.save.segs utt "out.segs")``
  writes ``0.2569 100 dh`` lines (end time, unused, phone) after a ``#`` line.

Both use the US "radio" phone set, ARPAbet in lower case (``ax`` = schwa, ``pau`` =
pause), which `RADIO_TO_CLASS` maps onto the course's 41 classes. A segment lasts
from the previous end to its own end. Both engines are deterministic: the same
arguments give the same samples. The audio (16 kHz, or 32 kHz for the HTS voice) is
resampled to eSpeak's 22 050 Hz, so the features mean the same; nothing above 8 kHz
is left, like speech recorded by a 16 kHz channel.
"""
import functools
import os
import shutil
import subprocess
import tempfile
from fractions import Fraction

import numpy as np

from ..phonemes import CLASSES
from .acoustics import resample
from .text import syllable_mnemonics

SAMPLE_RATE = 22050
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
VOICES = tuple(f"flite:{v}" for v in FLITE_VOICES) + tuple(f"festival:{v}" for v in FESTIVAL_VOICES)
INSTALL = "apt-get install -y flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"

RADIO_TO_CLASS = {
    "pau": "sil", "h#": "sil", "brth": "sil", "sil": "sil",
    "aa": "AA", "ae": "AE", "ah": "AH", "ax": "AH", "ao": "AO", "aw": "AW", "ay": "AY", "eh": "EH", "er": "ER",
    "axr": "ER", "ey": "EY", "ih": "IH", "ix": "IH", "iy": "IY", "ow": "OW", "oy": "OY", "uh": "UH", "uw": "UW",
    "b": "B", "ch": "CH", "d": "D", "dh": "DH", "dx": "DX", "f": "F", "g": "G", "hh": "HH", "hv": "HH", "jh": "JH",
    "k": "K", "l": "L", "el": "L", "m": "M", "em": "M", "n": "N", "en": "N", "nx": "N", "ng": "NG", "p": "P",
    "r": "R", "s": "S", "sh": "SH", "t": "T", "th": "TH", "v": "V", "w": "W", "y": "Y", "z": "Z", "zh": "ZH",
}
#: eSpeak mnemonics of `text.syllables` in the radio phone set (for speaking random syllables with ``-p``).
ESPEAK_TO_RADIO = {
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "f": "f", "v": "v", "T": "th", "D": "dh", "s": "s",
    "z": "z", "S": "sh", "Z": "zh", "h": "hh", "tS": "ch", "dZ": "jh", "m": "m", "n": "n", "N": "ng", "l": "l",
    "r": "r", "w": "w", "j": "y",
    "a": "ae", "A:": "aa", "0": "aa", "O:": "ao", "V": "ah", "E": "eh", "eI": "ey", "aI": "ay", "aU": "aw",
    "OI": "oy", "oU": "ow", "I": "ih", "i:": "iy", "U": "uh", "u:": "uw", "3:": "er", "@": "ax",
}


def phone_class(phone):
    """Class index of a radio phone, e.g. ``phone_class("ax") == CLASSES.index("AH")`` (stress digits ignored)."""
    name = phone.rstrip("012")
    if name not in RADIO_TO_CLASS:
        raise ValueError(f"Festival/Flite phone {phone!r} has no class: add it to RADIO_TO_CLASS")
    return CLASSES.index(RADIO_TO_CLASS[name])


@functools.lru_cache(maxsize=None)
def available():
    """True when the ``flite`` and ``festival`` programs are installed."""
    return shutil.which("flite") is not None and shutil.which("festival") is not None


def syllables_to_phones(text):
    """``[[b'aItS mOI]]`` (eSpeak syllable input, as `text.syllables` writes it) → ``"pau b ay ch m oy pau"``."""
    return " ".join(["pau"] + [ESPEAK_TO_RADIO[mnemonic] for mnemonic in syllable_mnemonics(text)] + ["pau"])


def _segments(ends):
    """[(phone, end s)] → [(class index, start sample at 22 050 Hz)] plus the end-of-speech event (class sil)."""
    out, start = [], 0.0
    for phone, end in ends:
        out.append((phone_class(phone), int(round(start * SAMPLE_RATE))))
        start = end
    out.append((CLASSES.index("sil"), int(round(start * SAMPLE_RATE))))
    return out


def speak(text, voice, stretch=1.0, f0_hz=None):
    """Say `text` (natural text, or eSpeak ``[[syllables]]``) with a voice of `VOICES`, durations × `stretch`,
    mean pitch `f0_hz` (None: the voice's own). Returns (float32 samples at 22 050 Hz, segments
    [(class index, start sample)] whose last entry marks the end of the speech)."""
    from scipy.io import wavfile

    if not available():
        raise RuntimeError(f"the recorded voices need Flite and Festival (Debian): {INSTALL}")
    engine, name = voice.split(":")
    with tempfile.TemporaryDirectory(prefix="hw02-festival-") as folder:
        wav = os.path.join(folder, "out.wav")
        if engine == "flite":
            args = ["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.4f}", "-psdur"]
            if f0_hz is not None:
                args += ["--setf", f"int_f0_target_mean={f0_hz:.1f}"]
            args += ["-p", syllables_to_phones(text)] if text.startswith("[[") else ["-t", text]
            done = subprocess.run(args + ["-o", wav], capture_output=True, text=True, check=True)
            ends = [(p.rsplit(":", 1)[0], float(p.rsplit(":", 1)[1])) for p in done.stdout.split()]
        elif engine == "festival":
            if text.startswith("[["):   # Festival has no phone-string input here: say the phones as words
                raise ValueError("festival voices speak natural text only; use a flite voice for syllables")
            quoted = text.replace("\\", " ").replace('"', " ")
            pitch = "" if f0_hz is None else (f"(set! int_lr_params (list (list 'target_f0_mean {f0_hz:.1f}) "
                                              f"'(target_f0_std 15) '(model_f0_mean 170) '(model_f0_std 34)))")
            script = (f"(voice_{name})\n(Parameter.set 'Duration_Stretch {stretch:.4f})\n{pitch}\n"
                      f"(set! utt (Utterance Text \"{quoted}\"))\n(utt.synth utt)\n"
                      f"(utt.save.wave utt \"{wav}\" 'riff)\n(utt.save.segs utt \"{wav}.segs\")\n")
            with open(os.path.join(folder, "say.scm"), "w") as f:
                f.write(script)
            subprocess.run(["festival", "-b", os.path.join(folder, "say.scm")], capture_output=True, check=True)
            with open(f"{wav}.segs") as f:
                rows = [line.split() for line in f.read().split("#", 1)[1].splitlines() if line.strip()]
            ends = [(row[2], float(row[0])) for row in rows]
        else:
            raise ValueError(f"unknown voice {voice!r}: choose one of {', '.join(VOICES)}")
        rate, samples = wavfile.read(wav)
    samples = samples.astype(np.float32) / 32768
    if rate != SAMPLE_RATE:
        samples = resample(samples, Fraction(SAMPLE_RATE, rate))
    return samples, _segments(ends)
