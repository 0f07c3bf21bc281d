"""The spectral change track (prosody/spectral.py) on synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from prosody.intensity import intensity_frames
from prosody.spectral import SpectralOptions, spectral_change_frames
from prosody.thresholds import load_thresholds

SR = 16000


def vowel(seconds: float, *, f0_hz: float = 100.0, formants_hz=(700.0, 1200.0, 2600.0)) -> np.ndarray:
    """A harmonic complex whose harmonics are weighted by resonances at ``formants_hz``: a held vowel."""
    t = np.arange(int(round(seconds * SR))) / SR
    out = np.zeros_like(t)
    for k in range(1, int(4000 / f0_hz)):
        f = k * f0_hz
        gain = sum(1.0 / (1.0 + ((f - fm) / 80.0) ** 2) for fm in formants_hz)
        out += gain * np.sin(2 * np.pi * f * t)
    return 0.1 * out / np.max(np.abs(out))


def test_a_sound_held_perfectly_steady_does_not_change():
    # F0 100 Hz: one period is exactly one 10 ms hop, so every frame sees the same samples
    change = spectral_change_frames(vowel(1.0), sr=SR)
    inner = change[5:-5]
    assert np.isfinite(inner).all()
    assert np.max(inner) < 1e-3


def test_a_change_of_vowel_shows_for_the_lag_either_side_and_nowhere_else():
    a = vowel(0.5, formants_hz=(700.0, 1200.0, 2600.0))  # "ah"
    b = vowel(0.5, formants_hz=(300.0, 2300.0, 3000.0))  # "ee"
    change = spectral_change_frames(np.concatenate([a, b]), sr=SR)
    switch = 50  # the frame centred on the join
    # frames whose +-20 ms reach, plus the 25 ms window's half, stays on one side compare like with like
    assert np.max(change[5: switch - 4]) < 1e-3 and np.max(change[switch + 5: -5]) < 1e-3
    assert np.min(change[switch - 1: switch + 2]) > 30  # far beyond the steady limit (30)


def test_loudness_alone_is_no_change():
    noise = np.random.default_rng(5).normal(size=SR) * 0.05  # a changing spectrum, at two levels
    quiet, loud = spectral_change_frames(noise * 0.1, sr=SR), spectral_change_frames(noise, sr=SR)
    np.testing.assert_allclose(quiet[2:-2], loud[2:-2], atol=1e-3)  # the level is cepstrum 0, left out
    swell = vowel(1.0) * 10 ** (np.arange(SR) / SR)  # a held vowel growing 20 dB louder as it goes
    limit = load_thresholds(None).lengthening.steady_change_max
    assert np.nanmax(spectral_change_frames(swell, sr=SR)[5:-5]) < limit / 10  # still held steady


def test_the_track_is_the_mel_cepstrum_distance_librosa_gives():
    librosa = pytest.importorskip("librosa")
    x = np.random.default_rng(3).normal(size=SR).astype(np.float32) * 0.05
    mel = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=400, hop_length=160, n_mels=40, center=True,
                                         pad_mode="constant")
    mfcc = librosa.feature.mfcc(S=10 * np.log10(np.maximum(mel, 1e-10)), n_mfcc=13)[1:]
    expected = np.linalg.norm(mfcc[:, 4:] - mfcc[:, :-4], axis=0)
    ours = spectral_change_frames(x, sr=SR)
    assert np.isnan(ours[:2]).all() and np.isnan(ours[-2:]).all()
    np.testing.assert_allclose(ours[2:-2], expected, rtol=1e-3, atol=1e-2)


def test_frames_lie_on_the_intensity_grid():
    x = vowel(1.234)
    assert len(spectral_change_frames(x, sr=SR)) == len(intensity_frames(x, sr=SR))


@pytest.mark.parametrize("kwargs, message", [
    ({"hop_s": 0.01001}, "whole number of samples"),
    ({"lag_s": 0.015}, "whole number of hops"),
    ({"n_cepstra": 40}, "n_cepstra"),
])
def test_bad_options_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpectralOptions(**kwargs)


def test_other_sample_rates_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="16000 Hz"):
        spectral_change_frames(np.zeros(8000), sr=8000)
