"""eSpeak NG through ctypes: speech plus the phoneme events that label it.

`espeakng-loader` ships ``libespeak-ng`` (1.52; it needs only libc, libm and
libstdc++) and its ``espeak-ng-data``. We initialise the library in
*synchronous* mode with the phoneme-events option, so that ``espeak_Synth`` calls our callback with chunks of 16-bit audio and, for
every phoneme it speaks, an event::

    espeak_EVENT (40 bytes on x86_64)
      type              int    @0    7 = phoneme, 0 = end of the list
      unique_identifier uint   @4
      text_position     int    @8
      length            int    @12
      audio_position    int    @16   milliseconds
      sample            int    @20   sample index from the start of this utterance
      user_data         void*  @24
      id                union  @32   for a phoneme: its mnemonic, char[8]

A phoneme event marks where the phoneme *starts*; it lasts until the next event.
That is what turns the events into frame labels (`phonemes.frame_labels`).

The library has one global state per process: use separate processes, not
threads, to synthesise in parallel (`corpus` does). It also keeps state from one
utterance to the next, so `ESpeak.speak` loads it afresh for each utterance.
"""
import _ctypes
import ctypes
import functools
from dataclasses import dataclass

import numpy as np

SYNCHRONOUS = 2
PHONEME_EVENTS, DONT_EXIT = 0x0001, 0x8000
POS_CHARACTER = 1
CHARS_AUTO, PHONEME_INPUT = 0x0000, 0x0100   # flags of espeak_Synth; 0x100: [[...]] is phoneme mnemonics
SSML = 0x0010
EVENT_LIST_TERMINATED, EVENT_PHONEME = 0, 7
RATE, PITCH, RANGE = 1, 3, 4                  # espeak_PARAMETER values


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class Speech:
    """One synthesised utterance: int16 samples and (mnemonic, start sample) per phoneme."""
    samples: np.ndarray
    sample_rate: int
    phonemes: list


class ESpeak:
    """eSpeak NG, loaded afresh for every utterance.

    The library keeps state between utterances in static variables that no call resets (the pitch
    flutter's phase, the waveform phase, the resonators), so the same text would sound slightly different
    depending on what was said before. `speak` therefore loads the library, initialises it, synthesises,
    and unloads it (dlclose): each utterance starts from the same state, and eSpeak's own random numbers
    are seeded (`espeak_ng_SetRandSeed`). The Klatt voices (variants such as ``caleb`` and ``Reed``) draw their
    noise from the C library's ``rand()``, which outlives the unloading: it is reset with ``srand(1)``, the state
    a fresh process starts in, before every utterance. This costs well under a millisecond."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as error:   # pragma: no cover - depends on the environment
            raise ImportError("the local HW02 corpus needs eSpeak NG: pip install espeakng-loader==0.2.4") from error
        self.library_path = espeakng_loader.get_library_path()
        self.data_path = espeakng_loader.get_data_path()
        self._chunks, self._phonemes = [], []
        self._callback = _CALLBACK(self._on_audio)   # keep a reference: the library holds only a pointer
        self._libc = ctypes.CDLL(None)
        lib = self._load()
        self.version = lib.espeak_Info(None).decode()
        self._unload(lib)

    def _load(self):
        lib = ctypes.CDLL(self.library_path)
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.sample_rate = lib.espeak_Initialize(SYNCHRONOUS, 0, self.data_path.encode(), PHONEME_EVENTS | DONT_EXIT)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {self.sample_rate}) with data at {self.data_path}")
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    @staticmethod
    def _unload(lib):
        lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)

    def _on_audio(self, wav, n, events):
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                self._phonemes.append((events[i].id.decode("ascii", "replace"), events[i].sample))
            i += 1
        return 0

    def speak(self, text, voice="en-us", rate=175, pitch=50, pitch_range=50, seed=0, ssml=False):
        """Synthesise `text` (``[[...]]`` spans are eSpeak phoneme mnemonics) with a voice such as
        ``"en-us"`` or ``"en-us+f3"`` (accent + variant), `rate` in words per minute, `pitch` and
        `pitch_range` in 0–100, and `seed` for eSpeak's random numbers; with `ssml` the text is SSML
        (``<speak>…<prosody rate="80%" pitch="+10%">…</prosody>…</speak>``). Returns a `Speech`; the same
        arguments always give the same samples."""
        lib = self._load()
        try:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"eSpeak NG has no voice {voice!r}")
            for parameter, value in ((RATE, rate), (PITCH, pitch), (RANGE, pitch_range)):
                lib.espeak_SetParameter(parameter, int(value), 0)
            lib.espeak_ng_SetRandSeed(seed)
            self._libc.srand(1)
            self._chunks, self._phonemes = [], []
            data = text.encode()
            status = lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_AUTO | PHONEME_INPUT | (SSML if ssml else 0),
                                      None, None)
            lib.espeak_Synchronize()
        finally:
            self._unload(lib)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status} on {text!r}")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return Speech(samples, self.sample_rate, list(self._phonemes))


@functools.lru_cache(maxsize=None)
def engine():
    """The process's one `ESpeak` (created on first use)."""
    return ESpeak()


def voice_variants():
    """Names of the voice variants shipped with eSpeak NG (``!v`` folder), e.g. ``["Alex", ..., "m3", ...]``;
    a voice is ``"<accent>+<variant>"``. Names with spaces are left out."""
    import os

    import espeakng_loader

    folder = os.path.join(espeakng_loader.get_data_path(), "voices", "!v")
    return sorted(name for name in os.listdir(folder) if " " not in name)
