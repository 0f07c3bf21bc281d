"""Pitch steps up (``↑``) and down (``↓``) onto a word, within an intonation unit: the F0 at the
word's start (median of the first half of its voiced frames) against the F0 at the preceding
word's end (median of its last half), in semitones: a jump between words, not an accent's rise
or fall inside one.

A step must reach ``min_step_st`` and also ``relative_step`` times the speaker's own median
word-to-word step, so a lively speaker's ordinary accents are not all arrows. A step that only
brings the voice back to the speaker's usual level is not marked,
nor one that starts from a word that was itself high (for a step down) or low (for a step up),
nor the reset of pitch after a pause (a new unit starts there), nor a step from or to an F0
more than ``max_from_median_st`` (an octave) from the speaker's median: that is the pitch
tracker halving or doubling, or creak, not a step in the speaker's range.
"""

from __future__ import annotations

import numpy as np

from capture.record import Mark
from prosody.marks.context import Context, confidence, r
from prosody.marks.intonation import units


def steps(ctx: Context) -> list[tuple[int, int, float, float, float]]:
    """(word, previous word, step_st, word_st, previous_st) for neighbours in one unit."""
    th = ctx.thresholds.pitch_steps
    out = []
    for unit in units(ctx):
        for p, i in zip(unit, unit[1:]):
            now, before = ctx.measures[i], ctx.measures[p]
            if min(now.voiced_s, before.voiced_s) < th.min_voiced_s:
                continue
            level, previous = ctx.st(i, now.f0_onset_hz), ctx.st(i, before.f0_offset_hz)
            if level is None or previous is None or max(abs(level), abs(previous)) > th.max_from_median_st:
                continue
            out.append((i, p, level - previous, level, previous))
    return out


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.pitch_steps
    words = ctx.transcript.words
    found = steps(ctx)
    typical = {}
    for speaker in ctx.by_speaker:
        sizes = [abs(s) for i, _, s, _, _ in found if words[i].speaker == speaker]
        typical[speaker] = float(np.median(sizes)) if sizes else 0.0
    marks = []
    for i, p, step, level, previous in found:
        limit = max(th.min_step_st, th.relative_step * typical[words[i].speaker])
        sign = 1.0 if step > 0 else -1.0
        if abs(step) < limit or sign * level < th.landing_beyond_median_st:
            continue
        if -sign * previous >= th.landing_beyond_median_st:
            continue  # coming back from a high (or low) word: a return, not a step
        marks.append(Mark(
            type="pitch_step", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i,
            speaker=words[i].speaker, value="up" if step > 0 else "down", confidence=confidence(abs(step), limit),
            evidence={"step_st": r(step), "word_onset_st": r(level), "previous_word_end_st": r(previous),
                      "previous_word": p, "threshold_st": r(limit), "min_step_st": th.min_step_st,
                      "speaker_median_step_st": r(typical[words[i].speaker]), "relative_step": th.relative_step,
                      "landing_beyond_median_st": th.landing_beyond_median_st,
                      "max_from_median_st": th.max_from_median_st},
        ))
    return marks
