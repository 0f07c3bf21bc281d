"""Overlapped speech from d-vectors: windows that one speaker explains poorly and two explain well.

A d-vector of a window where two people talk at once lies, roughly, in the cone spanned by their
two centroids. For every window ``e`` (unit length) and every pair of speaker centroids
``c_i, c_j`` (unit length) the best non-negative fit ``e ~ a c_i + b c_j`` is solved in closed
form (a 2 x 2 least-squares problem); the window's *mixture gain* is how much that fit lowers the
residual against the best single centroid, ``|e - (e.c) c|``. A pair only counts when the smaller
weight is at least ``min_share`` of the larger, so one dominant voice with a little leakage is not
called overlap. Gains are spread onto the frame grid with the same triangular weights as the
speaker scores (``transcribe.embedded.spread_to_frames``).

Windows that straddle a change of speaker also look like a mix of two voices, so a turn change
without overlap can raise the gain too; ``transcribe.embedded`` therefore only marks overlap where
the gain stays high for at least ``overlap_min_s`` and the frame's own speaker is one of the pair.
"""

from __future__ import annotations

import numpy as np


def speaker_pairs(k: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def mixture_gains(embeddings: np.ndarray, centroids: np.ndarray, *, min_share: float) -> np.ndarray:
    """``(n_windows, n_pairs)`` residual drop of the best non-negative two-speaker fit over the
    best single speaker, 0 where the fit is not a genuine mix; pairs as in ``speaker_pairs``."""
    if not 0 < min_share <= 1:
        raise ValueError("min_share must be in (0, 1]; e.g. 0.25 means the quieter voice weighs a quarter of the louder")
    e = np.asarray(embeddings, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    pairs = speaker_pairs(len(c))
    if not pairs or not len(e):
        return np.zeros((len(e), len(pairs)))
    sims = e @ c.T  # (n, k)
    e_sq = np.sum(e * e, axis=1)
    single = np.sqrt(np.maximum(e_sq - np.max(sims, axis=1) ** 2, 0.0))
    gains = np.zeros((len(e), len(pairs)))
    for p, (i, j) in enumerate(pairs):
        cij = float(c[i] @ c[j])
        det = 1.0 - cij * cij
        if det < 1e-6:  # the same voice twice
            continue
        bi, bj = sims[:, i], sims[:, j]
        a = (bi - cij * bj) / det
        b = (bj - cij * bi) / det
        residual = np.sqrt(np.maximum(e_sq - (a * bi + b * bj), 0.0))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        genuine = (lo > 0) & (lo >= min_share * hi)
        gains[:, p] = np.where(genuine, np.maximum(single - residual, 0.0), 0.0)
    return gains
