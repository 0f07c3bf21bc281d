"""Pauses measured from the signal, not from recogniser times."""

from __future__ import annotations

import numpy as np
import pytest

from capture.record import Word
from prosody.intensity import intensity_frames
from prosody.pauses import find_pauses, silent_intervals, trim_to_sound
from tests.conftest import harmonic_tone

SR = 16000


def _speech_with_silence(silence_s: float, *, at_s: float = 1.0, after_s: float = 1.3):
    rng = np.random.default_rng(0)
    first = harmonic_tone(150, duration_s=at_s)
    second = harmonic_tone(180, duration_s=after_s)
    gap = rng.normal(0, 1e-4, int(silence_s * SR)).astype(np.float32)  # room noise, not digital zero
    return np.concatenate([first, gap, second])


@pytest.mark.parametrize("silence_s", [0.15, 0.3, 0.7, 1.5])
def test_inserted_silence_found_within_20_ms(silence_s):
    signal = _speech_with_silence(silence_s)
    db = intensity_frames(signal, sr=SR)
    # recogniser-like times: the first word's end runs 0.2 s into the silence
    words = [
        Word("before", 0.3, 1.0 + min(0.2, silence_s / 2), 0.9, "S1"),
        Word("after", 1.0 + silence_s, 2.0 + silence_s, 0.9, "S1"),
    ]
    trimmed, pauses = find_pauses(words, db, hop_s=0.01)
    assert len(pauses) == 1
    assert pauses[0].start_s == pytest.approx(1.0, abs=0.02)
    assert pauses[0].end_s == pytest.approx(1.0 + silence_s, abs=0.02)
    assert pauses[0].duration_s == pytest.approx(silence_s, abs=0.02)
    assert trimmed[0].end_s == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("spans", [
    # the aligner laid the second word over the whole pause (its sound is the last 1.3 s of its span)
    ((0.3, 1.0), (1.0, 3.8)),
    # ... or the first word over it, and a sliver of the second word's span is in the silence too
    ((0.3, 2.4), (2.4, 3.8)),
])
def test_a_pause_an_aligned_word_was_laid_over_is_measured_whole(spans):
    """Aligned words keep their spans (no trimming), and on a hissy recording the aligner can put a
    word over a silence. The pause reaches up to the middle of each word's sounding part, not of
    its span: cut at the span's middle, the 1.5 s pause came out 0.9 s, or split in two."""
    signal = _speech_with_silence(1.5)
    db = intensity_frames(signal, sr=SR)
    words = [Word("before", *spans[0], 0.9, "S1", aligned=True), Word("after", *spans[1], 0.9, "S1", aligned=True)]
    (pause,) = find_pauses(words, db, hop_s=0.01)[1]
    assert (pause.start_s, pause.end_s) == (pytest.approx(1.0, abs=0.02), pytest.approx(2.5, abs=0.02))


def test_no_pause_in_continuous_sound():
    signal = harmonic_tone(150, duration_s=2.0)
    db = intensity_frames(signal, sr=SR)
    words = [Word("a", 0.1, 1.0, 0.9, "S1"), Word("b", 1.0, 1.9, 0.9, "S1")]
    assert find_pauses(words, db, hop_s=0.01)[1] == []


def test_pauses_shorter_than_the_minimum_are_ignored():
    signal = _speech_with_silence(0.06)
    db = intensity_frames(signal, sr=SR)
    words = [Word("a", 0.3, 1.0, 0.9, "S1"), Word("b", 1.06, 2.2, 0.9, "S1")]
    assert find_pauses(words, db, hop_s=0.01)[1] == []


def test_pause_between_speakers_names_both():
    signal = _speech_with_silence(0.5)
    db = intensity_frames(signal, sr=SR)
    words = [Word("yes", 0.3, 1.0, 0.9, "S1"), Word("well", 1.5, 2.6, 0.9, "S2")]
    (pause,) = find_pauses(words, db, hop_s=0.01)[1]
    assert (pause.speaker_before, pause.speaker_after) == ("S1", "S2")


def test_clicks_inside_a_silence_do_not_split_it():
    db = np.array([70.0] * 50 + [20.0] * 20 + [60.0] * 2 + [20.0] * 30 + [70.0] * 50)
    assert silent_intervals(db, hop_s=0.01, threshold_db=40, min_sounding_s=0.03) == [
        pytest.approx((0.495, 1.015))  # no window given: frame edges
    ]


def test_word_straddling_a_pause_keeps_its_sounding_side():
    silences = [(1.0, 1.4)]
    word = Word("of", 0.9, 1.7, 0.9, "S1")  # 0.1 s of the previous word, the pause, then "of"
    (trimmed,) = trim_to_sound([word], silences)
    assert (trimmed.start_s, trimmed.end_s) == (1.4, 1.7)


def test_a_fading_fricative_stays_with_its_word():
    """Vowel, then 200 ms of hiss (/s/) fading from 38 to 46 dB below the vowel, then room tone
    50 dB below: the pause starts where the hiss ends. Level alone (the hiss's tail is within a
    few dB of the room) would start it half-way through the hiss."""
    from scipy.signal import butter, sosfiltfilt

    from prosody.intensity import high_band_intensity_frames

    rng = np.random.default_rng(2)

    def at_rms(x, rms):
        return (x / np.sqrt(np.mean(x**2)) * rms).astype(np.float32)

    vowel = harmonic_tone(140, duration_s=0.8)
    ref = float(np.sqrt(np.mean(vowel**2)))
    hiss = sosfiltfilt(butter(4, 4000, "hp", fs=SR, output="sos"), rng.normal(0, 1, int(0.2 * SR)))
    hiss = at_rms(hiss, ref * 10 ** (-38 / 20)) * np.logspace(0, -8 / 20, len(hiss)).astype(np.float32)
    room = at_rms(sosfiltfilt(butter(2, 300, "lp", fs=SR, output="sos"), rng.normal(0, 1, int(0.6 * SR))),
                  ref * 10 ** (-50 / 20))
    signal = np.concatenate([vowel, hiss, room, harmonic_tone(180, duration_s=0.8)])
    db = intensity_frames(signal, sr=SR)
    high = high_band_intensity_frames(signal, sr=SR)
    words = [Word("yes", 0.2, 1.0, 0.9, "S1"), Word("so", 1.6, 2.3, 0.9, "S1")]
    (pause,) = find_pauses(words, db, hop_s=0.01, high_db=high)[1]
    assert pause.start_s == pytest.approx(1.0, abs=0.03)
    assert pause.end_s == pytest.approx(1.6, abs=0.02)
    (level_only,) = find_pauses(words, db, hop_s=0.01)[1]
    assert level_only.start_s < 0.96
