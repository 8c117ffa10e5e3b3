"""What makes the synthetic speech hard: room reverberation and additive noise.

**Reverberation.** A room impulse response is modelled as a direct path followed
by exponentially decaying Gaussian noise,

    h[0] = 1,   h[n] = g · w[n] · 10^(−3·n / (RT60 · f_s)),   w[n] ~ N(0, 1),  0 < n < RT60 · f_s,

so that its energy falls by 60 dB after RT60 seconds; g makes the direct-to-
reverberant ratio DRR = 10 · log10(h[0]² / Σ_{n>0} h[n]²) what is asked (in dB). The reverberant signal is x * h (by FFT),
cut to the length of x.

**Noise.** Coloured noise has power spectrum ∝ 1/f^α: α = 0 white, 1 pink, 2 brown.
It is scaled so that the signal-to-noise ratio over the speech samples is

    SNR = 10 · log10(P_speech / P_noise)  dB,   P = mean of the squared samples.

**Speed perturbation** (as Kaldi's recipes do it): the speech is resampled so that it plays `speed` times
faster; tempo, pitch and formants all scale by `speed`, as from a speaker with a vocal tract 1/`speed` as long.
Phoneme boundaries scale by 1/`speed`.

**Channel** (microphone, line, codec): a zero-phase filter whose gain is 1 between the band limits f_lo and
f_hi, falls off outside them (a 4th-order Butterworth magnitude on each side) and has a random smooth ripple
on top (a sum of 6 random cosines in log frequency, `ripple_db` peak to peak at most).
"""
from fractions import Fraction

import numpy as np

NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def room_impulse_response(rng, sample_rate, rt60_s, drr_db):
    """h as above: a direct path, then a decaying tail of RT60 seconds at `drr_db` below it."""
    n = np.arange(1, max(2, int(rt60_s * sample_rate)))
    tail = rng.standard_normal(len(n)) * 10 ** (-3 * n / (rt60_s * sample_rate))
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail ** 2))
    return np.concatenate([[1.0], tail]).astype(np.float32)


def reverberate(x, h):
    """x * h by FFT, cut to len(x)."""
    size = 1 << (len(x) + len(h) - 2).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:len(x)]
    return y.astype(np.float32)


def coloured_noise(rng, length, alpha):
    """Unit-power noise whose power spectrum falls as 1/f^alpha (shaped over a power-of-two length, for speed)."""
    size = 1 << max(0, length - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal(size))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / f ** (alpha / 2), size)[:length]
    return (noise / np.sqrt(np.mean(noise ** 2) + 1e-20)).astype(np.float32)


def add_noise(rng, x, speech, snr_db, alpha):
    """x plus coloured noise at `snr_db` relative to the power of the samples x[speech]."""
    power = float(np.mean(x[speech] ** 2)) if np.any(speech) else float(np.mean(x ** 2))
    noise = coloured_noise(rng, len(x), alpha) * np.sqrt(power / 10 ** (snr_db / 10))
    return x + noise


def resample(samples, ratio):
    """`samples` (float32) at `ratio` (a `Fraction`) times their sample rate, by polyphase filtering."""
    from scipy.signal import resample_poly

    return resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator).astype(np.float32)


def change_speed(samples, segments, speed):
    """(samples resampled to play `speed`× faster, segments [(class, start sample)] with their starts ÷ `speed`)."""
    ratio = Fraction(1 / speed).limit_denominator(100)
    return resample(samples, ratio), [(c, int(round(s * ratio))) for c, s in segments]


def channel_gain(rng, frequencies, low_hz, high_hz, ripple_db):
    """|H(f)| of the channel above at `frequencies` (Hz)."""
    f = np.maximum(frequencies, 1.0)
    band = 1 / np.sqrt(1 + (low_hz / f) ** 8) / np.sqrt(1 + (f / high_hz) ** 8)
    log_f = np.log(f)
    ripple = sum(np.cos(rng.uniform(0.5, 3.0) * log_f + rng.uniform(0, 2 * np.pi)) for _ in range(6)) / 6
    return band * 10 ** (ripple_db / 2 * ripple / 20)


def apply_channel(rng, x, sample_rate, low_hz, high_hz, ripple_db):
    """x through the channel: multiply its spectrum by `channel_gain` (zero phase), cut to len(x)."""
    size = 1 << (len(x) - 1).bit_length()
    gain = channel_gain(rng, np.fft.rfftfreq(size, 1 / sample_rate), low_hz, high_hz, ripple_db)
    return np.fft.irfft(np.fft.rfft(x, size) * gain, size)[:len(x)].astype(np.float32)
