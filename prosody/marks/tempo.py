"""Faster (``>..<``) and slower (``<..>``) stretches: a run of the speaker's words whose syllable
rate lies beyond the speaker's median rate by more than ``mads`` median absolute deviations, as
GailBot marks tempo.

A word's time is its share of the speaker's talking time (``talk_seconds``: in a forced-aligned
recording the silences shorter than a micropause count as talk). Rates are compared on a log
scale, so a stretch said 25 % faster and one 25 % slower lie equally far from the median. The
speaker's distribution is that of the rates over windows of ``window_words`` words (single word
durations from a recogniser are too noisy). For each candidate run it is taken over the
speaker's talk without the run, at most ``REFERENCE_WORDS`` words on either side, the talk
before and after the run joined, so that windows may span the run (``reference``): the stretch
being judged does not pull the reference towards itself (a 5-word stretch is a quarter of a
20-word recording, and with it in the reference a slow stretch also turned its normal neighbours
"faster"), and in a long recording the reference is the surrounding talk. Joined, a short
recording keeps enough windows to judge a stretch in its middle: in a sentence of 13-15 words,
leaving out every window that overlaps a 5-word run left 2-4 (too few to judge it, or to give
a steady median and MAD), joined there are 5-7 (bench/marks_rounds.md, round after edd928d).
The price is that a run in a recording of a dozen words is judged against the other half-dozen
(the test set's 11-word PTDB sentence got more false tempo marks in its edited copies).
In a recording of under about 25 words the reference is still a handful of windows, and one
very long word or a very slow stretch in them can make the normal words beside them read as
fast (measured on 14- and 20-word signals; requiring more windows removed that but also most
judgements in the 15-word synthetic test items). ``min_mad_ratio`` is a floor on the MAD (log
units, about a fraction of the rate): a short recording has few windows and their MAD can be
near zero.

Every run of ``min_words`` to ``MAX_WORDS`` words beyond the limit is a candidate; the runs kept
are those with the most time gained or lost against the reference rate, less 0.02 s per word (so
a stretch's edges fall where the fast or slow talk ends), taken greedily without overlap. A run
that is only beyond the limit because of one long (or short) word is that word's doing, not
tempo (a long one is lengthening).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from capture.record import Mark
from prosody.marks.context import Context, confidence, r

MAX_WORDS = 12
WORD_PENALTY_S = 0.02  # per word, so a stretch does not grow over words said at the usual rate
REFERENCE_WORDS = 150  # ours: the reference is the speaker's talk up to this many words either side
MIN_REFERENCE_WINDOWS = 3


def cumulative(values: np.ndarray) -> np.ndarray:
    """Running sums from 0: the sum of ``values[a:b]`` is ``c[b] - c[a]``."""
    return np.concatenate(([0.0], np.cumsum(values)))


def window_log_rates(csyl: np.ndarray, csec: np.ndarray, window: int) -> np.ndarray:
    """Log syllable rate of each run of ``window`` consecutive words (element k starts at word k),
    from cumulative syllables and seconds (``cumulative``)."""
    return np.log((csyl[window:] - csyl[:-window]) / (csec[window:] - csec[:-window]))


def reference(csyl: np.ndarray, csec: np.ndarray, log_rates: np.ndarray, window: int, a: int,
              b: int) -> tuple[float, float] | None:
    """Median and MAD of the log syllable rates of ``window``-word windows over the speaker's talk
    outside words a..b, within REFERENCE_WORDS of them, the talk before and after the stretch
    joined (a window may take its first words before the stretch and its last after it); None when
    fewer than MIN_REFERENCE_WINDOWS fit. ``csyl``, ``csec``: cumulative syllables and seconds
    (``cumulative``); ``log_rates``: their ``window_log_rates``, worked out once per speaker, as
    every window that does not span the stretch is one of them."""
    n = len(csyl) - 1
    lo, hi = max(0, a - REFERENCE_WORDS), min(n, b + 1 + REFERENCE_WORDS)
    before = np.arange(1, window)  # words a window takes from before the stretch, the rest after it
    before = before[(a - before >= lo) & (b + 1 + window - before <= hi)]
    after_end = b + 1 + window - before
    spanning = ((csyl[a] - csyl[a - before] + csyl[after_end] - csyl[b + 1])
                / (csec[a] - csec[a - before] + csec[after_end] - csec[b + 1]))
    values = np.concatenate((log_rates[lo: max(lo, a - window + 1)], log_rates[b + 1: max(b + 1, hi - window + 1)],
                             np.log(spanning)))
    if values.size < MIN_REFERENCE_WINDOWS:
        return None
    median = float(np.median(values))
    return median, float(np.median(np.abs(values - median)))


def _not_one_word(syllables: np.ndarray, seconds: np.ndarray, log_median: float, limit: float) -> bool:
    """The stretch stays beyond the limit without its most deviant word."""
    worst = int(np.argmax(np.abs(seconds - syllables / math.exp(log_median))))
    syl, sec = syllables.sum() - syllables[worst], seconds.sum() - seconds[worst]
    return sec > 0 and syl > 0 and abs(math.log(syl / sec) - log_median) > limit


def stretches(syllables: np.ndarray, seconds: np.ndarray, th, groups: Optional[Sequence] = None) -> list[tuple]:
    """(gained_s, a, b, log_deviation, log_median, mad, limit) of the stretches of one speaker's
    words (time order), strongest first; a, b index the words. With ``groups`` (e.g. each word's
    utterance) a stretch stays within one group: it does not run across another speaker's turn."""
    n, window = len(syllables), th.window_words
    csyl, csec = cumulative(syllables), cumulative(seconds)
    log_rates = window_log_rates(csyl, csec, window)
    candidates = []
    for a in range(n):
        for b in range(a + th.min_words - 1, min(n, a + MAX_WORDS)):
            if groups is not None and groups[b] != groups[a]:
                break
            ref = reference(csyl, csec, log_rates, window, a, b)
            if ref is None:
                continue
            log_median, mad = ref
            limit = th.mads * max(mad, th.min_mad_ratio)
            syl, sec = syllables[a: b + 1].sum(), seconds[a: b + 1].sum()
            deviation = math.log(syl / sec) - log_median
            beyond = r(abs(deviation), 3) > r(limit, 3)  # as the evidence shows them
            if beyond and _not_one_word(syllables[a: b + 1], seconds[a: b + 1], log_median, limit):
                gained = abs(sec - syl / math.exp(log_median))
                candidates.append((gained - WORD_PENALTY_S * (b - a + 1), (gained, a, b, deviation, log_median, mad,
                                                                           limit)))
    taken = np.zeros(n, dtype=bool)
    found = []
    for _score, row in sorted(candidates, key=lambda c: c[0], reverse=True):
        a, b = row[1], row[2]
        if not taken[a: b + 1].any():
            taken[a: b + 1] = True
            found.append(row)
    return found


def talk_seconds(ctx: Context, mine: list[int]) -> dict[int, float]:
    """Each word's share of the speaker's talking time. In a forced-aligned recording: from the
    word's start to the next word's start when the silence between them is shorter than a
    micropause (a stop's closure, a breath between words: part of the flow of talk, and what a
    slowed stretch stretches too), else to its own end; timed pauses are not talk, also not where
    a word the aligner could not place keeps a recogniser span across one. Otherwise the
    word's sounding time (its recognised span's frames above the silence level), as the
    recogniser's edges cannot tell a short silence from the word."""
    words = ctx.transcript.words
    if not any(words[i].aligned for i in mine):
        return {i: ctx.measures[i].sounding_s for i in mine}
    micro = ctx.thresholds.pauses.micropause_below_s
    pauses = [(p.start_s, p.end_s) for p in ctx.transcript.pauses]
    out = {}
    for k, i in enumerate(mine):
        seconds = words[i].end_s - words[i].start_s
        if not words[i].aligned:
            seconds -= sum(max(0.0, min(b, words[i].end_s) - max(a, words[i].start_s)) for a, b in pauses)
        if k + 1 < len(mine):
            gap = words[mine[k + 1]].start_s - words[i].end_s
            if 0 < gap < micro:
                seconds += gap
        out[i] = max(0.0, seconds)
    return out


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.tempo
    marks = []
    for speaker, mine in ctx.by_speaker.items():
        talk = talk_seconds(ctx, mine)
        timed = [i for i in mine if talk[i] > 0 and ctx.measures[i].syllables > 0]
        syllables = np.array([ctx.measures[i].syllables for i in timed], dtype=float)
        seconds = np.array([talk[i] for i in timed], dtype=float)
        groups = [ctx.utterance_of(i) for i in timed]
        for gained, a, b, deviation, log_median, mad, limit in stretches(syllables, seconds, th, groups):
            first, last = timed[a], timed[b]
            marks.append(Mark(
                type="tempo", start_s=ctx.measures[first].start_s, end_s=ctx.measures[last].end_s,
                first_word=first, last_word=last, speaker=speaker,
                value="faster" if deviation > 0 else "slower",
                confidence=confidence(abs(deviation), limit),
                evidence={"rate_syl_s": r(syllables[a: b + 1].sum() / seconds[a: b + 1].sum()),
                          "seconds_gained_or_lost": r(gained, 3),
                          "reference_rate_syl_s": r(math.exp(log_median)),
                          "log_rate_deviation": r(deviation, 3), "reference_log_mad": r(mad, 3),
                          "mads": th.mads, "min_mad": th.min_mad_ratio, "threshold_log": r(limit, 3),
                          "window_words": th.window_words},
            ))
    return marks
