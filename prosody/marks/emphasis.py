"""Emphasis (prominence) of a word: pitch, loudness and length, each against the same speaker.

Cues, per word: its F0 peak (90th percentile) over the median F0 of the speaker's words around
it, in semitones; its core level over their median core level, in dB (how loud its loudest
sustained part is, as for ``loud``: ``prosody.baselines``), leaving out neighbours that are
themselves quiet (``quiet_below_db`` under theirs: a word beside one said quietly does not stand
out for it; the evidence lists them); its sounding length over the speaker's norm for words of
its syllable count. A word is emphasised when ``min_cues`` of the three pass their thresholds:
a word that is only louder is ``loud``, only higher a pitch step. One whose passing cues leave
its pitch out (louder and longer) needs its pitch still ``pitch_support_st`` over its
neighbours': English marks an accent with a pitch movement (a pitch accent; Ladd 2008,
*Intonational Phonology*, 2nd ed.), and louder and longer talk at the pitch around it is written
as loud or drawn out (``loud``, ``lengthening``), not underlined.
A word is emphasis or lengthening, never both (``either``): stressed syllables are longer anyway
(accentual lengthening), so a word emphasised without its length, or with its pitch and its
length (a pitch accent on a drawn-out word: its length is the accent's), is underlined; one
whose emphasis rests on loudness and length, and which is held long enough to be lengthening,
is lengthening instead.

In a word the aligner gave two or more vowels, the evidence names the accented one
(``accented_syllable``, ``prosody.marks.accent``), and the notations mark that syllable.

The length of the last word of an intonation unit does not count as a cue: words before a
prosodic boundary are lengthened whether or not they are prominent (final lengthening, e.g.
Wightman et al. 1992, JASA 91(3), 1707-1717), so there length marks the boundary, not the word.
The measured ratio stays in the evidence, with ``duration_unit_final: true``.
"""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.accent import accented_syllable
from prosody.marks.context import Context, confidence, level_db, median_or_none, quiet_words, r
from prosody.marks.intonation import units


def cues(ctx: Context, i: int) -> dict:
    th = ctx.thresholds.emphasis
    m = ctx.measures[i]
    around = ctx.neighbours(i, th.window_words)
    ref_st = median_or_none(ctx.st(i, ctx.measures[j].f0_hz) for j in around)
    peak_st = ctx.st(i, m.f0_peak_hz)
    level = level_db(ctx, i, th.min_voiced_s, core=True)
    quiet_ones = quiet_words(ctx)
    quiet = [j for j in around if j in quiet_ones]
    ref_db = median_or_none(level_db(ctx, j, th.min_voiced_s, core=True) for j in around if j not in quiet)
    expected = ctx.baseline(i).expected_duration_s(m.syllables)
    return {
        "pitch_above_st": r(peak_st - ref_st) if peak_st is not None and ref_st is not None else None,
        "loudness_above_db": r(level - ref_db) if level is not None and ref_db is not None else None,
        "duration_ratio": r(m.sounding_s / expected) if expected else None,
        "quiet_neighbours_left_out": quiet,
    }


def limits(ctx: Context) -> dict:
    th = ctx.thresholds.emphasis
    return {"pitch_above_st": th.pitch_above_st, "loudness_above_db": th.loudness_above_db,
            "duration_ratio": th.duration_ratio}


def unit_final(ctx: Context) -> set[int]:
    if "unit_final" not in ctx.cache:
        ctx.cache["unit_final"] = {unit[-1] for unit in units(ctx) if unit}
    return ctx.cache["unit_final"]


def passed_cues(ctx: Context, i: int) -> tuple[dict, list[str]]:
    """The word's cues and those that pass; no cues for a word without a measurable level.
    Worked out once per word: emphasis, lengthening, loudness and pitch steps all ask."""
    known = ctx.cache.setdefault("passed_cues", {})
    if i not in known:
        known[i] = _passed_cues(ctx, i)
    return known[i]


def _passed_cues(ctx: Context, i: int) -> tuple[dict, list[str]]:
    if level_db(ctx, i, ctx.thresholds.emphasis.min_voiced_s) is None:
        return {}, []
    measured, limit = cues(ctx, i), limits(ctx)
    final = i in unit_final(ctx)
    if final:
        measured["duration_unit_final"] = True
    return measured, [k for k, v in measured.items()
                      if k in limit and v is not None and v >= limit[k] and not (final and k == "duration_ratio")]


def pitch_supports(ctx: Context, i: int) -> bool:
    """Whether word i's pitch stands ``pitch_support_st`` over its neighbours' (short of the pitch
    cue, it still moves with the accent): a word louder and longer at their pitch is not accented."""
    measured = passed_cues(ctx, i)[0]
    above = measured.get("pitch_above_st")
    return above is not None and above >= ctx.thresholds.emphasis.pitch_support_st


def either(ctx: Context, i: int) -> str | None:
    """"emphasis", "lengthening" or None for word i. A word both emphasised and lengthened is one
    of the two: stressed syllables are longer anyway (accentual lengthening), so a word that
    passes ``min_cues`` without its length is emphasis, and so is one whose pitch cue passes with
    its length (accented, and drawn out as accented syllables are); one whose emphasis rests on
    loudness and length is a lengthened word (its length is what stands out). A word whose cues
    leave its pitch out is emphasis only when its pitch still rises ``pitch_support_st`` over its
    neighbours' (``pitch_supports``); louder and longer at a level pitch, it is loud or drawn-out
    talk (``loud``, ``lengthening``), not an accent."""
    from prosody.marks import lengthening  # it imports this module

    passed = passed_cues(ctx, i)[1]
    need = ctx.thresholds.emphasis.min_cues
    accented = "pitch_above_st" in passed or pitch_supports(ctx, i)
    if accented and sum(k != "duration_ratio" for k in passed) >= need:
        return "emphasis"
    if lengthening.in_slow_stretch(ctx, i):
        return None  # its length is the slow stretch's (tempo), not this word's
    if len(passed) >= need and "pitch_above_st" in passed:
        return "emphasis"
    if i in lengthening.judged(ctx):
        return "lengthening"
    return "emphasis" if accented and len(passed) >= need else None


def is_emphasised(ctx: Context, i: int) -> bool:
    return either(ctx, i) == "emphasis"


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.emphasis
    limit = limits(ctx)
    marks = []
    for i in ctx.order:
        measured, passed = passed_cues(ctx, i)
        if not is_emphasised(ctx, i):
            continue
        w = ctx.transcript.words[i]
        score = sum(min(2.0, measured[k] / limit[k]) for k in passed) / len(passed)
        marks.append(Mark(
            type="emphasis", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i, speaker=w.speaker,
            value=len(passed), confidence=confidence(score, 1.0),
            evidence={**measured, "cues_passed": passed, "thresholds": limit, "min_cues": th.min_cues,
                      "pitch_support_st": th.pitch_support_st, "min_voiced_s": th.min_voiced_s,
                      "accented_syllable": accented_syllable(ctx, i)},
        ))
    return marks
