"""Pauses (within a turn), gaps (between speakers) and latching.

Pauses come from the prosody stage's measured silences (``transcript.pauses``); this rule names
them: a silence between two words of one speaker is a ``pause``, between two speakers a ``gap``;
either is a micropause ``(.)`` below ``micropause_below_s``. A speaker change with no measured
silence and the next word starting within ``latch_max_gap_s`` of the last is ``latch`` (``=``).
"""

from __future__ import annotations

import numpy as np

from capture.record import Mark
from prosody.marks.context import Context, r


def _around(ctx: Context, mids: np.ndarray, start_s: float, end_s: float) -> tuple[int | None, int | None]:
    """The last word (time order) centred before a silence and the first centred after it."""
    before, after = np.flatnonzero(mids <= start_s), np.flatnonzero(mids >= end_s)
    return (ctx.order[before[-1]] if before.size else None), (ctx.order[after[0]] if after.size else None)


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.pauses
    words = ctx.transcript.words
    marks: list[Mark] = []
    silent_pairs = set()
    mids = np.array([(words[i].start_s + words[i].end_s) / 2 for i in ctx.order])
    for p in ctx.transcript.pauses:
        before, after = _around(ctx, mids, p.start_s, p.end_s)
        silent_pairs.add((before, after))
        kind = "pause" if p.speaker_before == p.speaker_after else "gap"
        duration_s = r(p.duration_s, 3)  # judged as its evidence shows it, to 1 ms
        marks.append(Mark(
            type=kind, start_s=p.start_s, end_s=p.end_s, first_word=before, last_word=after,
            speaker=p.speaker_before if kind == "pause" else None, value=r(p.duration_s),
            confidence=1.0,
            evidence={"duration_s": duration_s, "micropause": duration_s < th.micropause_below_s,
                      "micropause_below_s": th.micropause_below_s,
                      "speaker_before": p.speaker_before, "speaker_after": p.speaker_after},
        ))
    overlaps = [(o.start_s, o.end_s) for o in ctx.transcript.overlaps]
    reach = float("-inf")
    for a, b in zip(ctx.order, ctx.order[1:]):
        wa, wb = words[a], words[b]
        reach = max(reach, wa.end_s)
        if wa.speaker == wb.speaker or (a, b) in silent_pairs:
            continue
        gap = r(wb.start_s - reach, 3)  # as the evidence shows it: 1.1 - 1.0 is 0.10000000000000009
        if not -th.latch_max_overlap_s <= gap <= th.latch_max_gap_s:
            continue
        if any(s < wb.start_s - th.latch_max_overlap_s < e for s, e in overlaps):
            continue
        marks.append(Mark(
            type="latch", start_s=r(min(reach, wb.start_s), 3), end_s=r(max(reach, wb.start_s), 3),
            first_word=a, last_word=b, speaker=None, value=gap, confidence=1.0,
            evidence={"gap_s": gap, "latch_max_gap_s": th.latch_max_gap_s,
                      "latch_max_overlap_s": th.latch_max_overlap_s,
                      "speaker_before": wa.speaker, "speaker_after": wb.speaker},
        ))
    return marks
