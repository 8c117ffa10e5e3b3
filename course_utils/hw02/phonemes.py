"""The 41 phoneme classes and eSpeak's phoneme events turned into frame labels.

**Classes.** The 39 phonemes of the CMU Pronouncing Dictionary (ARPAbet without
stress marks: 15 vowels and 24 consonants), plus ``sil`` (silence, pauses and the
glottal stop) and ``DX`` (the flap of American "butter"): 41 classes, as many as the
homework's. Index 0 is ``sil``. This is not TIMIT's 39-class folding (Lee and Hon),
which merges AA with AO, SH with ZH and the closures into silence; nor is it known to be
the homework's set: libriphone's files number its 41 classes without naming them.

**From eSpeak to classes.** eSpeak writes English phonemes as mnemonics
(``'aI`` = /aɪ/ with primary stress, ``@`` = schwa, ``t#`` = flap, ``_:`` =
pause). We strip the stress marks ``' , % =``, look the rest up in `ESPEAK_TO_CLASS`,
and apply a few accent-specific values (in non-rhotic British accents ``3`` is a
schwa, /ə/, not /ɚ/; the BATH vowel ``aa`` is /ɑː/).

**Frame labels.** A phoneme event at sample s starts that phoneme; it lasts until
the next event. Frame t covers samples [t·hop, t·hop + win) and takes the label
of the phoneme that is sounding at its centre, t·hop + ⌊win/2⌋. Before the first
event, and at the end-of-utterance event, it is silence.
"""
import numpy as np

CLASSES = ("sil", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "DX", "EH", "ER", "EY", "F", "G",
           "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
           "UW", "V", "W", "Y", "Z", "ZH")
NUM_CLASSES = len(CLASSES)   # 41
SILENCE = 0

ESPEAK_TO_CLASS = {
    # pauses, glottal stop
    "_": "sil", "_:": "sil", "_!": "sil", "_|": "sil", "?": "sil",
    # vowels
    "0": "AA", "A:": "AA", "A@": "AA", "A": "AA", "aa": "AE", "a": "AE", "a2": "AE",
    "@": "AH", "@2": "AH", "@5": "AH", "a#": "AH", "V": "AH",
    "O:": "AO", "O2": "AO", "O@": "AO", "o@": "AO", "O": "AO",
    "aU": "AW", "aU@": "AW", "aI": "AY", "aI2": "AY", "aI3": "AY", "aI@": "AY",
    "E": "EH", "e": "EH", "e@": "EH", "3": "ER", "3:": "ER", "@3": "ER", "VR": "ER", "IR": "ER",
    "eI": "EY", "I": "IH", "I2": "IH", "I#": "IH", "i@": "IH", "i@3": "IH", "I@": "IH",
    "i": "IY", "i:": "IY", "oU": "OW", "o": "OW", "OI": "OY", "U": "UH", "U@": "UH", "u:": "UW", "u": "UW",
    # consonants
    "b": "B", "tS": "CH", "d": "D", "D": "DH", "t#": "DX", "d#": "DX", "f": "F", "g": "G", "h": "HH", "x": "HH",
    "dZ": "JH", "k": "K", "l": "L", "@L": "L", "l/": "L", "m": "M", "m-": "M", "n": "N", "n-": "N", "N": "NG",
    "p": "P", "r": "R", "r-": "R", "r/": "R", "s": "S", "S": "SH", "t": "T", "t2": "T", "t[": "T", "T": "TH",
    "v": "V", "w": "W", "w#": "W", "j": "Y", ";": "Y", "z": "Z", "Z": "ZH",
}
NON_RHOTIC = {"3": "AH", "aa": "AA"}
NON_RHOTIC_ACCENTS = ("en", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
STRESS_MARKS = "',%="


def phoneme_class(mnemonic, accent="en-us"):
    """The class index of an eSpeak mnemonic, e.g. ``phoneme_class("'aI") == CLASSES.index("AY")``.
    Unknown mnemonics lose trailing modifiers (``# / - 2 3``) until one is known; failing that, ValueError."""
    name = mnemonic.strip(STRESS_MARKS)
    while name:
        if accent in NON_RHOTIC_ACCENTS and name in NON_RHOTIC:
            return CLASSES.index(NON_RHOTIC[name])
        if name in ESPEAK_TO_CLASS:
            return CLASSES.index(ESPEAK_TO_CLASS[name])
        if name[-1] not in "#/-23":
            break
        name = name[:-1]
    raise ValueError(f"eSpeak phoneme {mnemonic!r} (accent {accent}) has no class: add it to ESPEAK_TO_CLASS")


def frame_labels(phonemes, num_frames, win, hop, offset=0, accent="en-us"):
    """Class index of each frame: `phonemes` is eSpeak's [(mnemonic, start sample), ...] for speech that
    starts at sample `offset` of the signal the frames were cut from (leading silence)."""
    classes = [phoneme_class(m, accent) for m, _ in phonemes][:-1] + [SILENCE]   # the last event ends the speech
    return segment_labels([(c, s) for c, (_, s) in zip(classes, phonemes)], num_frames, win, hop, offset)


def segment_labels(segments, num_frames, win, hop, offset=0):
    """Class index of each frame from segments [(class index, start sample)] (eSpeak's events as classes, or
    `festival.speak`'s), by the same rule: the segment sounding at the frame's centre t·hop + ⌊win/2⌋; silence
    before the first and after the last."""
    starts = np.array([offset + s for _, s in segments], dtype=np.int64)
    classes = np.array([c for c, _ in segments] + [SILENCE], dtype=np.int64)
    centres = np.arange(num_frames) * hop + win // 2
    sounding = np.searchsorted(starts, centres, side="right") - 1   # -1: before the first event
    return np.where(sounding >= 0, classes[sounding], SILENCE)
