"""Word spans for measuring, re-timed on syllable nuclei.

Recogniser word edges are often 0.1 s or more off, which puts part of a loud or high word into
its neighbour. Syllable nuclei are easy to find in the intensity track (peaks standing out by
``PROMINENCE_DB`` from the dips around them, voiced and well above silence: de Jong & Wempe's
2009 speech-rate method), and each word's syllable count is known from its spelling. A dynamic
programme assigns the nuclei, in order, to the words (each word wants as many as it has
syllables and prefers nuclei inside or near its recognised span); the edge between two words
is then the intensity dip between the last nucleus of one and the first of the next. Words
without nuclei keep their recognised span. Only the measuring uses these spans; the words'
own times in the transcript are not changed.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy.signal import find_peaks

PROMINENCE_DB = 2.0
ABOVE_SILENCE_DB = 10.0
MIN_NUCLEUS_GAP_S = 0.05
NEAR_S = 0.2  # cost scale (s) for a nucleus outside the word's recognised span
MISSING_SYLLABLE_COST = 1.0
SPARE_NUCLEUS_COST = 1.5
CHUNK_GAP_S = 0.25
REACH_S = 0.3


def nuclei(db: np.ndarray, f0: np.ndarray, *, hop_s: float, silence_db: float) -> np.ndarray:
    """Frame indices of syllable nuclei."""
    if db.size < 3:
        return np.array([], dtype=int)
    smooth = np.convolve(np.nan_to_num(db, nan=0.0), np.ones(3) / 3, mode="same")
    peaks, _ = find_peaks(smooth, prominence=PROMINENCE_DB, distance=max(1, int(MIN_NUCLEUS_GAP_S / hop_s)))
    voiced = ~np.isnan(f0)
    keep = [p for p in peaks if smooth[p] > silence_db + ABOVE_SILENCE_DB and voiced[max(0, p - 2): p + 3].any()]
    return np.array(keep, dtype=int)


def _assign(spans: Sequence[tuple[float, float]], wants: Sequence[int], times: np.ndarray) -> list[list[int]]:
    """Nuclei (indices into ``times``) per word: monotonic, minimal cost."""
    n_words, n_nuclei = len(spans), len(times)
    inf = float("inf")
    cost = np.full((n_words + 1, n_nuclei + 1), inf)
    back: dict = {}
    cost[0, 0] = 0.0
    for k in range(n_words + 1):
        for j in range(n_nuclei + 1):
            here = cost[k, j]
            if here == inf:
                continue
            if j < n_nuclei and here + SPARE_NUCLEUS_COST < cost[k, j + 1]:
                cost[k, j + 1] = here + SPARE_NUCLEUS_COST
                back[(k, j + 1)] = (k, j, 0)
            if k == n_words:
                continue
            a, b = spans[k]
            total = here
            for m in range(0, min(wants[k] + 2, n_nuclei - j) + 1):
                if m > 0:
                    t = times[j + m - 1]
                    total += max(a - t, t - b, 0.0) / NEAR_S
                step = total + MISSING_SYLLABLE_COST * abs(m - wants[k])
                if step < cost[k + 1, j + m]:
                    cost[k + 1, j + m] = step
                    back[(k + 1, j + m)] = (k, j, m)
    out: list[list[int]] = [[] for _ in range(n_words)]
    state = (n_words, n_nuclei)
    while state != (0, 0):
        k, j, m = back[state]
        if k < state[0]:
            out[k] = list(range(j, j + m))
        state = (k, j)
    return out


def refine(
    words: Sequence[tuple[float, float, int]],
    db: np.ndarray,
    f0: np.ndarray,
    *,
    hop_s: float,
    silence_db: float,
    peaks: Optional[np.ndarray] = None,
) -> list[tuple[float, float]]:
    """Measuring spans for one speaker's words, given as (start_s, end_s, syllables) in time order."""
    if not words or db.size == 0:
        return [(a, b) for a, b, _ in words]
    peaks = nuclei(db, f0, hop_s=hop_s, silence_db=silence_db) if peaks is None else peaks
    times = peaks * hop_s
    smooth = np.convolve(np.nan_to_num(db, nan=0.0), np.ones(3) / 3, mode="same")
    out = [(a, b) for a, b, _ in words]
    chunks, start = [], 0
    for k in range(1, len(words) + 1):
        if k == len(words) or words[k][0] - words[k - 1][1] >= CHUNK_GAP_S:
            chunks.append(range(start, k))
            start = k
    for chunk in chunks:
        lo, hi = words[chunk[0]][0] - REACH_S, words[chunk[-1]][1] + REACH_S
        if chunk[0] > 0:
            lo = max(lo, (words[chunk[0] - 1][1] + words[chunk[0]][0]) / 2)
        if chunk[-1] + 1 < len(words):
            hi = min(hi, (words[chunk[-1]][1] + words[chunk[-1] + 1][0]) / 2)
        inside = np.flatnonzero((times >= lo) & (times <= hi))
        if inside.size == 0:
            continue
        spans = [(words[k][0], words[k][1]) for k in chunk]
        assigned = _assign(spans, [max(1, words[k][2]) for k in chunk], times[inside])
        frames = [[int(peaks[inside[j]]) for j in got] for got in assigned]
        edges: list[Optional[int]] = [None] * (len(chunk) + 1)
        for n in range(1, len(chunk)):
            before = next((f for f in reversed(frames[:n]) if f), None)
            after = next((f for f in frames[n:] if f), None)
            if before and after and frames[n - 1] and frames[n]:
                a, b = before[-1], after[0]
                edges[n] = a + int(np.argmin(smooth[a: b + 1])) if b > a else None
        for n, k in enumerate(chunk):
            a, b = out[k]
            if edges[n] is not None:
                a = edges[n] * hop_s
            if edges[n + 1] is not None:
                b = edges[n + 1] * hop_s
            if b > a:
                out[k] = (round(a, 3), round(b, 3))
    return out
