"""Pitch and intensity tracks against analytic ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from prosody.intensity import REFERENCE_PA, intensity_frames
from prosody.pitch import PitchOptions, f0_frames
from tests.conftest import harmonic_tone

SR = 16000


@pytest.mark.parametrize("f0_hz", [90.0, 140.0, 220.0, 330.0])
def test_steady_tone_f0_within_one_percent(f0_hz):
    f0 = f0_frames(harmonic_tone(f0_hz, duration_s=1.0), sr=SR)
    core = f0[10:-10]
    assert np.isfinite(core).mean() > 0.95
    assert np.nanmedian(core) == pytest.approx(f0_hz, rel=0.01)
    assert np.nanmax(np.abs(core / f0_hz - 1)) < 0.01


def test_chirp_follows_the_analytic_frequency():
    duration_s, f_start, f_end = 2.0, 120.0, 240.0
    t = np.arange(int(duration_s * SR)) / SR
    instantaneous = f_start * (f_end / f_start) ** (t / duration_s)
    phase = 2 * np.pi * np.cumsum(instantaneous) / SR
    signal = sum(np.sin(k * phase) / k for k in range(1, 6)).astype(np.float32) * 0.2
    f0 = f0_frames(signal, sr=SR)
    frames_t = np.arange(len(f0)) * 0.01
    truth = f_start * (f_end / f_start) ** (frames_t / duration_s)
    inner = (frames_t > 0.1) & (frames_t < duration_s - 0.1)
    ok = np.isfinite(f0[inner])
    assert ok.mean() > 0.95
    errors = np.abs(f0[inner][ok] / truth[inner][ok] - 1)
    assert np.median(errors) < 0.01 and np.percentile(errors, 95) < 0.02


def test_silence_and_noise_are_unvoiced():
    rng = np.random.default_rng(1)
    signal = np.concatenate([np.zeros(SR), rng.normal(0, 0.05, SR)]).astype(np.float32)
    assert np.isnan(f0_frames(signal, sr=SR)).mean() > 0.95


def test_hop_is_ten_ms_and_frames_cover_the_signal():
    f0 = f0_frames(harmonic_tone(200, duration_s=1.234), sr=SR)
    assert len(f0) == int(np.floor(1.234 / 0.01)) + 1


def test_options_are_validated_with_a_fix():
    with pytest.raises(ValueError, match="fmin_hz"):
        PitchOptions(fmin_hz=10)


def test_intensity_of_a_sine_is_its_mean_square_in_db():
    amplitude = 0.1
    t = np.arange(SR) / SR
    db = intensity_frames(amplitude * np.sin(2 * np.pi * 500 * t), sr=SR)
    expected = 10 * np.log10((amplitude**2 / 2) / REFERENCE_PA**2)
    assert np.median(db[5:-5]) == pytest.approx(expected, abs=0.1)


def test_doubling_amplitude_adds_six_db():
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 300 * t) * np.where(t < 0.5, 0.05, 0.1)
    db = intensity_frames(x, sr=SR)
    assert db[75] - db[25] == pytest.approx(20 * np.log10(2), abs=0.05)
