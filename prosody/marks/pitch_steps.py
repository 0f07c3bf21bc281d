"""Pitch steps up (``↑``) and down (``↓``) onto a word: its median F0 against the preceding word
of the same speaker, in semitones. A step that only brings the voice back to the speaker's usual
level (e.g. the word after a raised one) is not marked."""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.context import Context, confidence, r


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.pitch_steps
    words = ctx.transcript.words
    marks = []
    for i in ctx.order:
        p = ctx.previous(i)
        if p is None:
            continue
        now, before = ctx.measures[i], ctx.measures[p]
        if min(now.voiced_s, before.voiced_s) < th.min_voiced_s or now.start_s - before.end_s > 1.0:
            continue
        level, previous = ctx.st(i, now.f0_hz), ctx.st(i, before.f0_hz)
        if level is None or previous is None:
            continue
        step = level - previous
        direction = "up" if step > 0 else "down"
        sign = 1.0 if step > 0 else -1.0
        if abs(step) < th.min_step_st or sign * level < th.landing_beyond_median_st:
            continue
        marks.append(Mark(
            type="pitch_step", start_s=words[i].start_s, end_s=words[i].end_s, first_word=i, last_word=i,
            speaker=words[i].speaker, value=direction, confidence=confidence(abs(step), th.min_step_st),
            evidence={"step_st": r(step), "word_st": r(level), "previous_word_st": r(previous),
                      "previous_word": p, "min_step_st": th.min_step_st,
                      "landing_beyond_median_st": th.landing_beyond_median_st},
        ))
    return marks
