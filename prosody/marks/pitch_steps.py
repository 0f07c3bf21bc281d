"""Pitch steps up (``↑``) and down (``↓``) onto a word, within an intonation unit: the F0 at the
word's start (median of the first half of its voiced frames) against the preceding word's F0
(median of all its voiced frames), in semitones: a jump between words ("against the preceding
word"), not an accent's rise or fall inside one. That word is taken whole, not its last half:
the end of a word carries its own movements (an accent's fall, a rise into a boundary) and the
tracker's least certain frames, and against the end a 4 st shift of a whole word often came out
under 3.5 st, or a natural accent's fall over it. It is the nearest earlier word of the unit
with enough voiced sound to carry a pitch, if it ends within ``reach_back_s``: a barely voiced
"the" or "of" in between has no pitch to step from.

A step must reach ``min_step_st`` and, where ``relative_step`` is set (off by default), that many
times the speaker's own median word-to-word step, for a lively speaker whose ordinary accents
would all be arrows. The word must land
``landing_beyond_median_st`` above (or below) the speaker's median: Jefferson's arrows mark
"especially high or low pitch", so a step that only brings the voice to or near its usual level
(the fall after an accent, the rise out of a low stretch) is not marked. Where it starts does
not matter: a word shifted up from below the median is still a step up. The step back from a
word that was itself marked (down after an up, up after a down) is a return, not a new step,
when it lands within ``min_step_st`` of where that marked step started; going on well past it
(from an accent down to a low "agencies", 6 st under the word before the accent) is a step of its own.
No step is marked over a pause (a new unit starts there: pitch resets), nor from or to an F0
more than ``max_from_median_st`` (an octave) from the speaker's median: that is the pitch
tracker halving or doubling, or creak, not a step in the speaker's range. A step up onto a word
that is emphasised and as loud over its neighbours as a loud word (``loud_above_db``) is that
stress's rise: the word is underlined, not given an arrow as well (a word raised and made
clearly louder is heard as stressed; one only raised, or a little louder as a higher voice is,
keeps its arrow).
"""

from __future__ import annotations

import numpy as np

from capture.record import Mark
from prosody.marks import emphasis
from prosody.marks.context import Context, confidence, r
from prosody.marks.intonation import units


def steps(ctx: Context) -> list[tuple[int, int, float, float, float]]:
    """(word, previous word, step_st, word_st, previous_st) for neighbours in one unit.

    The previous word is the nearest earlier word of the unit with enough voiced sound to carry a
    pitch, if it ends within ``reach_back_s`` of the word's start: a short unvoiced or barely
    voiced word in between ("the", "a", "of") has no pitch of its own to step from, and a listener
    hears the step from the last pitch heard.
    """
    th = ctx.thresholds.pitch_steps
    out = []
    for unit in units(ctx):
        for k, i in enumerate(unit[1:], start=1):
            now = ctx.measures[i]
            if now.voiced_s < th.min_voiced_s:
                continue
            p = next((j for j in reversed(unit[:k]) if ctx.measures[j].voiced_s >= th.min_voiced_s), None)
            if p is None or now.start_s - ctx.measures[p].end_s > th.reach_back_s:
                continue
            before = ctx.measures[p]
            level, previous = ctx.st(i, now.f0_onset_hz), ctx.st(i, before.f0_hz)
            if level is None or previous is None or max(abs(level), abs(previous)) > th.max_from_median_st:
                continue
            out.append((i, p, r(level - previous), r(level), r(previous)))  # to 0.01 st, as the evidence shows them
    return out


def stressed(ctx: Context, i: int) -> bool:
    """Word i is emphasised (the emphasis rule's own verdict, ``emphasis.is_emphasised``) and as loud
    over its neighbours as a loud word (``loud_above_db``)."""
    measured, passed = emphasis.passed_cues(ctx, i)
    return ("loudness_above_db" in passed and measured["loudness_above_db"] >= ctx.thresholds.loudness.loud_above_db
            and emphasis.is_emphasised(ctx, i))


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.pitch_steps
    words = ctx.transcript.words
    found = steps(ctx)
    typical = {}
    for speaker in ctx.by_speaker:
        sizes = [abs(s) for i, _, s, _, _ in found if words[i].speaker == speaker]
        typical[speaker] = float(np.median(sizes)) if sizes else 0.0
    limits = {i: r(max(th.min_step_st, th.relative_step * typical[words[i].speaker])) for i, *_ in found}
    marks = []
    marked: dict[int, tuple[float, float]] = {}  # word -> (sign of its step mark, level the step left from)
    for i, p, step, level, previous in found:
        limit = limits[i]
        sign = 1.0 if step > 0 else -1.0
        if abs(step) < limit or sign * level < th.landing_beyond_median_st:
            continue
        sign_before, left_from = marked.get(p, (0.0, 0.0))
        if sign_before == -sign and r(abs(level - left_from)) < th.min_step_st:
            continue  # back from a word that was itself marked as a step down (or up): a return
        marked[i] = (sign, previous)
        if sign > 0 and stressed(ctx, i):
            continue  # the rise of a stress, underlined; the step back from it is still a return
        marks.append(Mark(
            type="pitch_step", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i,
            speaker=words[i].speaker, value="up" if step > 0 else "down", confidence=confidence(abs(step), limit),
            evidence={"step_st": step, "word_onset_st": level, "previous_word_st": previous,
                      "previous_word": p, "reach_back_s": th.reach_back_s, "threshold_st": limit, "min_step_st": th.min_step_st,
                      "speaker_median_step_st": r(typical[words[i].speaker]), "relative_step": th.relative_step,
                      "landing_beyond_median_st": th.landing_beyond_median_st,
                      "max_from_median_st": th.max_from_median_st},
        ))
    return marks
