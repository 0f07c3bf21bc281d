"""The faster paths of the pause finder give exactly what the plain scans gave (issue 8).

Silences are looked up by bisection instead of a pass over all of them per word (quadratic on
long recordings), and the frication edge is found with one array comparison instead of a
frame-by-frame loop. Both are checked here against the plain versions on a synthetic recording
with many words and silences.
"""

from __future__ import annotations

import numpy as np
import pytest

from capture.record import Word
from prosody import pauses
from prosody.intensity import high_band_intensity_frames, intensity_frames

SR = 16000


def _talk(seed: int, *, duration_s: float = 60.0):
    """Bursts of voiced sound and hiss with silences of random length between them, and words
    whose recogniser spans run a little into the silences (and sometimes across them)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(duration_s * SR)) * 1e-4
    words, t = [], 0.2
    while t < duration_s - 1.0:
        length = rng.uniform(0.08, 0.6)
        n0, n1 = int(t * SR), int((t + length) * SR)
        tt = np.arange(n1 - n0) / SR
        x[n0:n1] += 0.2 * np.sin(2 * np.pi * rng.uniform(90, 300) * tt)
        if rng.random() < 0.3:  # a word-final fricative: hiss fading into the silence
            tail = int(0.12 * SR)
            x[n1:n1 + tail] += rng.standard_normal(tail) * 0.05 * np.linspace(1, 0, tail) ** 2
        start = max(0.0, t - rng.uniform(0, 0.25))
        end = t + length + rng.uniform(0, 0.25)
        words.append(Word(text="w", start_s=round(start, 3), end_s=round(end, 3), probability=0.9, speaker=f"S{rng.integers(1, 3)}"))
        t += length + rng.choice([0.02, 0.05, 0.15, 0.4, 1.2])
    return x, words


class _PlainScan(pauses._SilenceOrder):
    """The behaviour before: every silence looked at for every word."""

    def __init__(self, silences):
        super().__init__(silences)
        self.ascending = False


def _past_frication_plain(db, high_db, start, end, margin_db):
    n = min(end, len(high_db))
    if n - start < 2:
        return [start, end]
    level = float(np.median(high_db[start:n] - db[start:n])) + margin_db
    k = start
    while k < n - 1 and high_db[k] - db[k] > level:
        k += 1
    return [k, end]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pauses_identical_to_plain_scan(seed, monkeypatch):
    x, words = _talk(seed)
    db = intensity_frames(x, sr=SR)
    high = high_band_intensity_frames(x, sr=SR)
    fast = pauses.find_pauses(words, db, hop_s=0.01, high_db=high)
    silences = pauses.silent_intervals(db, hop_s=0.01, threshold_db=pauses.silence_threshold_db(db),
                                       floor_margin_db=8.0, window_s=0.032, high_db=high, frication_margin_db=9.0)
    assert len(fast[1]) > 20 and len(silences) > 50  # the check has something to check
    assert pauses._SilenceOrder(silences).ascending
    trimmed_fast = pauses.trim_to_sound(words, silences)
    monkeypatch.setattr(pauses, "_SilenceOrder", _PlainScan)
    monkeypatch.setattr(pauses, "_past_frication", _past_frication_plain)
    plain = pauses.find_pauses(words, db, hop_s=0.01, high_db=high)
    assert fast == plain
    assert trimmed_fast == pauses.trim_to_sound(words, silences)
    assert trimmed_fast != words  # some spans were trimmed


def test_past_frication_identical_to_loop():
    rng = np.random.default_rng(3)
    db = rng.uniform(20, 60, 400)
    high = db + rng.uniform(-30, 10, 400)
    high[50:70] = db[50:70] + 20  # a hissy stretch at a silence's start
    for start, end in [(50, 120), (50, 52), (0, 400), (390, 400), (50, 69), (399, 400), (60, 500)]:
        assert pauses._past_frication(db, high, start, end, 9.0) == _past_frication_plain(db, high, start, end, 9.0)


def test_unordered_silences_still_scanned_whole():
    silences = [(2.0, 2.5), (0.5, 1.0)]  # not in time order: no bisection shortcut
    order = pauses._SilenceOrder(silences)
    assert not order.ascending
    assert pauses._sounding_pieces(0.0, 3.0, silences, order) == pauses._sounding_pieces(0.0, 3.0, silences)
