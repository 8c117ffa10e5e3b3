"""Our torch MFCC against python_speech_features 0.6, and the 39-dim normalised features."""
import numpy as np
import pytest
import python_speech_features as psf   # the reference; it needs scipy
import torch

from course_utils.hw02 import features


@pytest.fixture(scope="module")
def speech():
    """Two seconds of vowel-like harmonics with a moving formant, a fricative burst and a little noise."""
    sr = 22050
    t = np.arange(2 * sr) / sr
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    formant = 700 + 500 * np.sin(2 * np.pi * 0.5 * t)
    x = sum(np.sin(h * phase) / h * np.exp(-((h * f0 - formant) / 400) ** 2) for h in range(1, 40))
    rng = np.random.default_rng(0)
    x[sr // 2:sr // 2 + 3000] += 0.3 * rng.standard_normal(3000)
    return (x + 0.01 * rng.standard_normal(len(x))).astype(np.float32), sr


def test_mfcc_matches_python_speech_features(speech):
    x, sr = speech
    ours = features.mfcc(x, sr).numpy()
    ref = psf.mfcc(x, sr, winlen=0.025, winstep=0.01, numcep=13, nfilt=26, nfft=1024, preemph=0.97,
                   ceplifter=22, appendEnergy=False, winfunc=np.hamming)
    assert ours.shape == ref.shape
    for i in range(13):
        assert np.corrcoef(ours[:, i], ref[:, i])[0, 1] > 0.99, f"cepstrum {i}"


def test_delta_equals_python_speech_features(speech):
    c = features.mfcc(*speech)
    np.testing.assert_allclose(features.delta(c).numpy(), psf.delta(c.numpy(), 2), atol=1e-4)


@pytest.mark.parametrize("n", [100, 551, 552, 771, 772, 10000])
def test_frame_count_equals_python_speech_features(n):
    win, hop = features.frame_geometry(22050)
    assert (win, hop) == (551, 221)
    assert features.num_frames(n, win, hop) == len(psf.sigproc.framesig(np.zeros(n), win, hop))


def test_features_are_39_normalised_columns(speech):
    f = features.features(*speech)
    assert f.shape[1] == 39 and f.dtype == torch.float32
    torch.testing.assert_close(f.mean(0), torch.zeros(39), atol=1e-4, rtol=0)
    torch.testing.assert_close(f.std(0, unbiased=False), torch.ones(39), atol=1e-3, rtol=0)
