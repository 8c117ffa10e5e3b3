"""39-dimensional MFCC features: 13 cepstra, their Δ and ΔΔ, normalised per utterance.

For a signal x sampled at f_s (22 050 Hz here):

1. pre-emphasis  x'[n] = x[n] − 0.97·x[n−1];
2. frames of win = 0.025·f_s samples every hop = 0.010·f_s samples (rounded half up), the last one zero-padded
   (T = 1 + ⌈(N − win)/hop⌉ frames, as python_speech_features cuts them), times a Hamming window;
3. power spectrum P = |rfft(frame, nfft)|² / nfft with nfft the next power of two ≥ win;
4. 26 triangular filters equally spaced on the mel scale m(f) = 2595·log10(1 + f/700), 0 … f_s/2;
   E = log(max(P · F, 2.2e-16));
5. c = DCT-II(E) (orthonormal), first 13, liftered: c_i ← c_i·(1 + (L/2)·sin(π·i/L)), L = 22;
6. Δc_t = Σ_{n=1}^{2} n·(c_{t+n} − c_{t−n}) / (2·Σ n²) with edge frames repeated; ΔΔ = Δ(Δc);
7. per-utterance mean and variance normalisation of each of the 39 columns.

Optionally (`smearing_frames` = s > 0) the cepstra are smoothed over time before step 6,
c_t ← Σ_k g_k·c_{t+k} / Σ_k g_k with g_k = exp(−k²/(2s²)), |k| ≤ 3s: each frame's spectrum
blends with its neighbours', as when sluggish articulators carry a sound into the next
(smoothing the log-mel energies over time is the same, the DCT being linear).

`tests/test_hw02_features.py` holds steps 1–6 against python_speech_features 0.6.
"""
import functools
import math

import torch

NUM_CEPSTRA, NUM_FILTERS, LIFTER, PREEMPHASIS = 13, 26, 22, 0.97
LOG_FLOOR = 2.220446049250313e-16   # energies below this (digital silence) are floored, as in python_speech_features
FEATURE_DIM = 3 * NUM_CEPSTRA   # 39


def frame_geometry(sample_rate, win_s=0.025, hop_s=0.010):
    """(win, hop) in samples, rounded half up: 551 and 221 at 22 050 Hz."""
    return int(win_s * sample_rate + 0.5), int(hop_s * sample_rate + 0.5)


def num_frames(num_samples, win, hop):
    """T = 1 + ⌈(N − win)/hop⌉ (at least 1)."""
    return 1 if num_samples <= win else 1 + math.ceil((num_samples - win) / hop)


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate, nfft, num_filters=NUM_FILTERS):
    """(nfft//2 + 1, num_filters) matrix of triangles equally spaced on the mel scale."""
    mel = lambda f: 2595 * math.log10(1 + f / 700)
    edges_mel = torch.linspace(0, mel(sample_rate / 2), num_filters + 2, dtype=torch.float64)
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    freqs = torch.linspace(0, sample_rate / 2, nfft // 2 + 1, dtype=torch.float64)[:, None]
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising, falling = (freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0).float()


@functools.lru_cache(maxsize=8)
def dct_matrix(num_filters=NUM_FILTERS, num_cepstra=NUM_CEPSTRA):
    """(num_filters, num_cepstra) orthonormal DCT-II: E @ D gives the cepstra."""
    n, k = torch.arange(num_filters, dtype=torch.float64)[:, None], torch.arange(num_cepstra, dtype=torch.float64)
    d = torch.cos(math.pi * k * (2 * n + 1) / (2 * num_filters)) * math.sqrt(2 / num_filters)
    d[:, 0] /= math.sqrt(2)
    return d.float()


def mfcc(signal, sample_rate):
    """(T, 13) liftered MFCC of a 1-D float signal (steps 1–5)."""
    win, hop = frame_geometry(sample_rate)
    x = torch.as_tensor(signal, dtype=torch.float32)
    x = torch.cat([x[:1], x[1:] - PREEMPHASIS * x[:-1]])
    t = num_frames(len(x), win, hop)
    x = torch.nn.functional.pad(x, (0, (t - 1) * hop + win - len(x)))
    frames = x.unfold(0, win, hop) * torch.hamming_window(win, periodic=False)
    nfft = 1 << (win - 1).bit_length()
    power = torch.fft.rfft(frames, nfft).abs() ** 2 / nfft
    energies = torch.log(torch.clamp(power @ mel_filterbank(sample_rate, nfft), min=LOG_FLOOR))
    c = energies @ dct_matrix()
    return c * (1 + LIFTER / 2 * torch.sin(math.pi * torch.arange(NUM_CEPSTRA) / LIFTER))


def delta(c, n=2):
    """Δc_t = Σ_{i=1}^{n} i·(c_{t+i} − c_{t−i}) / (2·Σ i²), edge frames repeated (step 6)."""
    padded = torch.cat([c[:1].expand(n, -1), c, c[-1:].expand(n, -1)])
    t = len(c)
    return sum(i * (padded[n + i:n + i + t] - padded[n - i:n - i + t]) for i in range(1, n + 1)) / (
        2 * sum(i * i for i in range(1, n + 1)))


def smear(c, frames):
    """c smoothed over time by a Gaussian of σ = `frames` (edge frames repeated)."""
    reach = max(1, int(3 * frames))
    k = torch.arange(-reach, reach + 1, dtype=torch.float32)
    g = torch.exp(-k ** 2 / (2 * frames ** 2))
    g = g / g.sum()
    padded = torch.cat([c[:1].expand(reach, -1), c, c[-1:].expand(reach, -1)])
    return torch.nn.functional.conv1d(padded.T[:, None], g[None, None])[:, 0].T


def features(signal, sample_rate, smearing_frames=0.0):
    """(T, 39) float32: MFCC, Δ, ΔΔ, each column normalised to mean 0 and variance 1 over the utterance
    (with `smearing_frames` > 0, the cepstra smoothed over time first)."""
    c = mfcc(signal, sample_rate)
    if smearing_frames > 0:
        c = smear(c, smearing_frames)
    d = delta(c)
    f = torch.cat([c, d, delta(d)], dim=1)
    return (f - f.mean(0)) / (f.std(0, unbiased=False) + 1e-5)
