"""Per-word prosodic features from the pitch and intensity tracks."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from capture.record import Word, WordProsody


def semitones(f0_hz: float, reference_hz: float) -> float:
    return 12.0 * float(np.log2(f0_hz / reference_hz))


def frame_range(start_s: float, end_s: float, *, hop_s: float, n_frames: int) -> slice:
    first = int(np.ceil(start_s / hop_s - 1e-9))
    last = int(np.floor(end_s / hop_s + 1e-9))
    first, last = max(0, first), min(n_frames - 1, last)
    if last < first:  # a word shorter than one hop still gets its nearest frame
        nearest = min(n_frames - 1, max(0, int(round((start_s + end_s) / 2 / hop_s))))
        return slice(nearest, nearest + 1)
    return slice(first, last + 1)


def energy_mean_db(db: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.power(10.0, db / 10.0))))


def speaker_median_f0(words: Sequence[Word], f0: np.ndarray, *, hop_s: float) -> dict[Optional[str], float]:
    voiced: dict[Optional[str], list[np.ndarray]] = {}
    for w in words:
        values = f0[frame_range(w.start_s, w.end_s, hop_s=hop_s, n_frames=len(f0))]
        voiced.setdefault(w.speaker, []).append(values[~np.isnan(values)])
    medians = {}
    for speaker, chunks in voiced.items():
        values = np.concatenate(chunks) if chunks else np.array([])
        if values.size:
            medians[speaker] = float(np.median(values))
    return medians


def word_prosody(
    word: Word, f0: np.ndarray, db: np.ndarray, *, hop_s: float, reference_f0_hz: Optional[float]
) -> WordProsody:
    frames = frame_range(word.start_s, word.end_s, hop_s=hop_s, n_frames=len(f0))
    values = f0[frames]
    voiced = values[~np.isnan(values)]
    levels = db[frames]
    f0_mean = float(np.mean(voiced)) if voiced.size else None
    return WordProsody(
        duration_s=round(word.end_s - word.start_s, 3),
        f0_mean_hz=_r(f0_mean),
        f0_min_hz=_r(float(voiced.min())) if voiced.size else None,
        f0_max_hz=_r(float(voiced.max())) if voiced.size else None,
        f0_mean_st=_r(semitones(f0_mean, reference_f0_hz)) if f0_mean and reference_f0_hz else None,
        intensity_mean_db=_r(energy_mean_db(levels)) if levels.size else None,
        intensity_max_db=_r(float(levels.max())) if levels.size else None,
        voiced_fraction=round(float(voiced.size / max(1, values.size)), 3),
    )


def _r(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)
