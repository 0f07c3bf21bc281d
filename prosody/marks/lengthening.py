"""Lengthening (``::``): a word held clearly longer than the speaker's norm for words of its
syllable count, while the words around it are not slow too (a slow stretch is tempo).

Without phone boundaries the held sound is not located: renderers put the colons after the last
vowel letter of the word, a documented approximation."""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.context import Context, confidence, median_or_none, r


def ratio(ctx: Context, i: int) -> float | None:
    expected = ctx.baseline(i).expected_duration_s(ctx.measures[i].syllables)
    return ctx.measures[i].sounding_s / expected if expected else None


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.lengthening
    words = ctx.transcript.words
    marks = []
    for i in ctx.order:
        mine = ratio(ctx, i)
        if mine is None or mine < th.duration_ratio:
            continue
        around = median_or_none(ratio(ctx, j) for j in ctx.neighbours(i, 2))
        if around is not None and around > th.neighbour_ratio_max:
            continue
        expected = ctx.baseline(i).expected_duration_s(ctx.measures[i].syllables)
        excess = ctx.measures[i].sounding_s - expected
        colons = int(min(3, max(1, round(excess / th.colon_per_s))))
        marks.append(Mark(
            type="lengthening", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i,
            speaker=words[i].speaker, value=colons, confidence=confidence(mine, th.duration_ratio),
            evidence={"duration_ratio": r(mine), "sounding_s": ctx.measures[i].sounding_s,
                      "expected_s": r(expected, 3), "syllables": ctx.measures[i].syllables,
                      "neighbours_ratio": r(around), "duration_ratio_threshold": th.duration_ratio,
                      "neighbour_ratio_max": th.neighbour_ratio_max, "colon_per_s": th.colon_per_s},
        ))
    return marks
