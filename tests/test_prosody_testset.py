"""The controlled test set's choice of pitch-step targets (bench/prosody_testset.py): a shifted
word is a step only where the jump it then makes from the word before it is perceptible."""

from __future__ import annotations

import numpy as np
import pytest

from bench.prosody_testset import PERCEPTIBLE_STEP_ST, STEP_SHIFT_ST, pitch_step_targets, word_pitch_halves


def test_word_pitch_halves_follow_a_known_tone_per_word():
    sr = 16000
    # three "words" of 0.4 s: 200 Hz; 200 -> 252 Hz (4 st) halfway; unvoiced noise
    t = np.arange(int(0.4 * sr)) / sr
    second = np.where(t < 0.2, 200.0, 200.0 * 2 ** (4 / 12))
    phase = 2 * np.pi * np.cumsum(second) / sr
    x = np.concatenate([np.sin(2 * np.pi * 200 * t), np.sin(phase),
                        np.random.default_rng(0).normal(0, 0.05, len(t))]) * 0.5
    words = [(0.0, 0.4, "a"), (0.4, 0.8, "b"), (0.8, 1.2, "c")]
    halves = word_pitch_halves(x, sr, words)
    reference = halves[0][0]
    assert halves[0][1] == pytest.approx(reference, abs=0.2)
    assert halves[1][0] == pytest.approx(reference, abs=0.3)
    assert halves[1][1] - reference == pytest.approx(4.0, abs=0.3)
    assert halves[2] == (None, None)


def test_only_shifts_that_make_a_perceptible_jump_from_a_voiced_word_just_before_are_targets():
    words = [(0.0, 0.3, "w0"), (0.3, 0.6, "w1"), (0.6, 0.9, "w2"), (1.2, 1.5, "w3"), (1.5, 1.8, "w4"),
             (1.8, 2.1, "w5")]
    halves = [(0.0, 0.0), (0.0, 2.0), (0.5, 0.5), (3.0, 3.0), (None, None), (1.0, 1.0)]
    up = pitch_step_targets([1, 2, 3, 5], words, halves, 1.0)
    # w1 starts level with w0 (0 st + 4 st); w2 starts 1.5 st under w1's end (2.5 st: too small);
    # w3 follows a pause; w5 follows an unvoiced word
    assert up == {1: STEP_SHIFT_ST}
    down = pitch_step_targets([1, 2, 3, 5], words, halves, -1.0)
    assert down == {1: -STEP_SHIFT_ST, 2: -5.5}
    assert all(abs(v) >= PERCEPTIBLE_STEP_ST for v in {**up, **down}.values())
