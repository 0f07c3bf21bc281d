"""Lengthening (``::``): a sound held clearly longer than the speaker's norm, while the words
around it are not slow too (a slow stretch is tempo).

The held sound is each word's longest run of frames near its loudest level (``held_s``, see
``prosody.baselines``): the sustained vowel or continuant that a prolonged sound stretches. It is
compared with the median held time of the speaker's words. A whole word's length would also
count its consonants and the recogniser's edge errors, which vary more from word to word than
the prolongations Jefferson's colons mark. Without phone boundaries the held sound is not
named: renderers put the colons after the last vowel letter of the word, a documented
approximation."""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.context import Context, confidence, median_or_none, r


def ratio(ctx: Context, i: int) -> float | None:
    norm = ctx.baseline(i).held_median_s
    held = ctx.measures[i].held_s
    return held / norm if norm and held > 0 else None


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.lengthening
    words = ctx.transcript.words
    marks = []
    for i in ctx.order:
        mine = ratio(ctx, i)
        if mine is None or mine < th.held_ratio:
            continue
        around = median_or_none(ratio(ctx, j) for j in ctx.neighbours(i, 2))
        if around is not None and around > th.neighbour_ratio_max:
            continue
        norm = ctx.baseline(i).held_median_s
        excess = ctx.measures[i].held_s - norm
        colons = int(min(3, max(1, round(excess / th.colon_per_s))))
        marks.append(Mark(
            type="lengthening", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i,
            speaker=words[i].speaker, value=colons, confidence=confidence(mine, th.held_ratio),
            evidence={"held_ratio": r(mine), "held_s": ctx.measures[i].held_s, "speaker_held_median_s": norm,
                      "neighbours_ratio": r(around), "held_ratio_threshold": th.held_ratio,
                      "neighbour_ratio_max": th.neighbour_ratio_max, "colon_per_s": th.colon_per_s},
        ))
    return marks
