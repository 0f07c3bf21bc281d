"""Faster (``>..<``) and slower (``<..>``) stretches: a run of the speaker's words whose syllable
rate lies beyond the speaker's median rate by more than ``mads`` median absolute deviations, as
GailBot marks tempo.

The speaker's rate distribution is taken over windows of ``window_words`` words (single word
durations from a recogniser are too noisy). Every run of ``min_words`` to ``max_words`` words
beyond the limit is a candidate; the runs kept are those with the most time gained or lost
against the median rate, less 0.02 s per word (so a stretch's edges fall where the fast or slow
talk ends), taken greedily without overlap. A run that is only beyond the limit because of one
long word is that word's lengthening, not tempo.
"""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.context import Context, confidence, r

MAX_WORDS = 12
WORD_PENALTY_S = 0.02  # per word, so a stretch does not grow over words said at the usual rate


def _not_one_word(syllables: list[int], seconds: list[float], median: float, limit: float) -> bool:
    """The stretch stays beyond the limit without its most deviant word (else: lengthening)."""
    worst = max(range(len(seconds)), key=lambda k: abs(seconds[k] - syllables[k] / median))
    syl, sec = sum(syllables) - syllables[worst], sum(seconds) - seconds[worst]
    return sec > 0 and abs(syl / sec - median) > limit


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.tempo
    marks = []
    for speaker, mine in ctx.by_speaker.items():
        base = ctx.baselines[speaker]
        if not base.rate_median_syl_s:
            continue
        median = base.rate_median_syl_s
        limit = th.mads * max(base.rate_mad_syl_s or 0.0, th.min_mad_ratio * median)
        timed = [i for i in mine if ctx.measures[i].sounding_s > 0 and ctx.measures[i].syllables > 0]
        syllables = [ctx.measures[i].syllables for i in timed]
        seconds = [ctx.measures[i].sounding_s for i in timed]
        candidates = []
        for a in range(len(timed)):
            syl = sec = 0.0
            for b in range(a, min(len(timed), a + MAX_WORDS)):
                syl += syllables[b]
                sec += seconds[b]
                if b - a + 1 < th.min_words:
                    continue
                rate = syl / sec
                if abs(rate - median) > limit and _not_one_word(syllables[a: b + 1], seconds[a: b + 1], median, limit):
                    gained = abs(sec - syl / median)
                    candidates.append((gained - WORD_PENALTY_S * (b - a + 1), gained, a, b, rate))
        taken: set[int] = set()
        for _score, gained, a, b, rate in sorted(candidates, reverse=True):
            if taken & set(range(a, b + 1)):
                continue
            taken |= set(range(a, b + 1))
            run = timed[a: b + 1]
            marks.append(Mark(
                type="tempo", start_s=ctx.measures[run[0]].start_s, end_s=ctx.measures[run[-1]].end_s,
                first_word=run[0], last_word=run[-1], speaker=speaker,
                value="faster" if rate > median else "slower",
                confidence=confidence(abs(rate - median), limit),
                evidence={"rate_syl_s": r(rate), "seconds_gained_or_lost": r(gained, 3),
                          "speaker_median_syl_s": median, "speaker_mad_syl_s": base.rate_mad_syl_s,
                          "mads": th.mads, "threshold_syl_s": r(limit), "window_words": th.window_words},
            ))
    return marks
