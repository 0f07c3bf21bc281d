"""Pauses between words, measured from the signal.

Recogniser word times smear into silences, so each gap between two words is re-measured: we take
the silent stretches of the intensity track (below a threshold set from the recording's own
speech and noise levels, as Praat's "To TextGrid (silences)" does) and, for each pair of
neighbouring words, keep the longest silence that lies between their centres and touches the
recogniser's gap. Its edges are the pause's edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from capture.record import Pause, Word


@dataclass(frozen=True)
class PauseOptions:
    min_pause_s: float = 0.1
    silence_below_speech_db: float = 25.0
    silence_above_noise_db: float = 6.0
    min_sounding_s: float = 0.03
    gap_tolerance_s: float = 0.2

    def __post_init__(self):
        if self.min_pause_s <= 0:
            raise ValueError("min_pause_s must be positive")


def silence_threshold_db(db: np.ndarray, options: PauseOptions = PauseOptions()) -> float:
    """Below this level a frame is silent: 25 dB under the loud speech (99th percentile), but never
    closer than 6 dB to the noise floor (5th percentile), so a noisy room still has pauses."""
    speech = float(np.percentile(db, 99))
    noise = float(np.percentile(db, 5))
    return max(speech - options.silence_below_speech_db, min(noise + options.silence_above_noise_db, speech - 10.0))


def silent_intervals(
    db: np.ndarray, *, hop_s: float, threshold_db: float, min_sounding_s: float = 0.03
) -> list[tuple[float, float]]:
    """Maximal runs of frames below ``threshold_db`` as (start_s, end_s); sounding blips shorter
    than ``min_sounding_s`` (clicks) inside a silence do not break it."""
    silent = np.asarray(db) < threshold_db
    if not silent.any():
        return []
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs: list[list[int]] = []
    for s, e in zip(starts, ends):
        if runs and (s - runs[-1][1]) * hop_s < min_sounding_s:
            runs[-1][1] = e
        else:
            runs.append([s, e])
    return [((s - 0.5) * hop_s if s > 0 else 0.0, (e - 0.5) * hop_s) for s, e in runs]


def find_pauses(
    words: Sequence[Word], db: np.ndarray, *, hop_s: float, options: PauseOptions = PauseOptions()
) -> list[Pause]:
    ordered = sorted(words, key=lambda w: (w.start_s, w.end_s))
    if len(ordered) < 2 or len(db) == 0:
        return []
    threshold = silence_threshold_db(np.asarray(db), options)
    silences = silent_intervals(db, hop_s=hop_s, threshold_db=threshold, min_sounding_s=options.min_sounding_s)
    starts = np.array([s for s, _ in silences])
    pauses: list[Pause] = []
    reach_end = ordered[0].end_s
    for before, after in zip(ordered, ordered[1:]):
        reach_end = max(reach_end, before.end_s)
        if after.start_s < reach_end - options.gap_tolerance_s:
            continue  # the next word starts inside talk still going on (overlap)
        lo = (before.start_s + before.end_s) / 2
        hi = (after.start_s + after.end_s) / 2
        gap_lo, gap_hi = reach_end - options.gap_tolerance_s, after.start_s + options.gap_tolerance_s
        best = None
        first = max(0, int(np.searchsorted(starts, lo)) - 1)
        for s, e in silences[first:]:
            if s >= hi:
                break
            s_c, e_c = max(s, lo), min(e, hi)
            if e_c <= s_c or e_c <= gap_lo or s_c >= gap_hi:
                continue
            if best is None or e_c - s_c > best[1] - best[0]:
                best = (s_c, e_c)
        if best is not None and best[1] - best[0] >= options.min_pause_s - 1e-9:
            pauses.append(
                Pause(
                    start_s=round(best[0], 3),
                    end_s=round(best[1], 3),
                    duration_s=round(best[1] - best[0], 3),
                    speaker_before=before.speaker,
                    speaker_after=after.speaker,
                )
            )
    return pauses
