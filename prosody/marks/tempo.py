"""Faster (``>..<``) and slower (``<..>``) stretches: a run of the speaker's words whose rate lies
beyond the speaker's median rate by more than a number of median absolute deviations, as GailBot
marks tempo (on syllables per second).

The rate judged is how fast the sound changes (``by: spectral_change``): the mean of the
``spectral_change`` track (``prosody.spectral``: how far the spectrum's shape moves in 20 ms)
over the stretch's frames that sound above the silence level. Said faster, the same sounds follow
each other sooner and every frame sees more of a transition; said slower, less. It needs neither a
syllable count nor the recogniser's word edges inside the stretch, and against the reader's own
variation it stands out further than the syllable rate: on the test set's unedited LJ Speech
recordings the spread (MAD) of 5-word windows is 0.02-0.05 in log units, where a 25 % edit moves it
0.10-0.12; the syllable rate's spread is 0.07-0.16 against the edit's 0.22 (bench/marks_rounds.md,
round after f642383). Its limit is ``change_mads`` MADs, the MAD at least ``change_min_mad``.
Transcripts written before schema 1.4 have no such track: there the syllable rate is judged
(``by: syllables``, ``mads`` and ``min_mad_ratio``), and either way the evidence gives the
stretch's syllable rate and the syllables' reference beside it.

Both rates are taken over each word's share of the speaker's talking time (``talk_seconds``: in a
forced-aligned recording the silences shorter than a micropause count as talk): its syllables
over those seconds, or its change summed over the frames of those seconds that sound, over their
time (``sound_change``). Rates are compared on a log scale, so a stretch said 25 % faster and one
25 % slower lie equally far from the median. The speaker's distribution is that of the rates
over windows of ``window_words`` words (single word durations from a recogniser are too noisy). For each candidate run it is taken over the
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
judgements in the 15-word synthetic test items). ``min_mad_ratio`` and ``change_min_mad`` are
floors on the MAD (log units, about a fraction of the rate): a short recording has few windows and
their MAD can be near zero.

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


def window_log_rates(camount: np.ndarray, csec: np.ndarray, window: int) -> np.ndarray:
    """Log rate (amount per second: syllables, or spectral change) of each run of ``window``
    consecutive words (element k starts at word k), from cumulative amounts and seconds
    (``cumulative``); NaN for a window with no amount or no time (words that do not sound)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = (camount[window:] - camount[:-window]) / (csec[window:] - csec[:-window])
        return np.where(rates > 0, np.log(np.where(rates > 0, rates, 1.0)), np.nan)


def reference(camount: np.ndarray, csec: np.ndarray, log_rates: np.ndarray, window: int, a: int,
              b: int) -> tuple[float, float] | None:
    """Median and MAD of the log rates of ``window``-word windows over the speaker's talk
    outside words a..b, within REFERENCE_WORDS of them, the talk before and after the stretch
    joined (a window may take its first words before the stretch and its last after it); None when
    fewer than MIN_REFERENCE_WINDOWS fit. ``camount``, ``csec``: cumulative amounts and seconds
    (``cumulative``); ``log_rates``: their ``window_log_rates``, worked out once per speaker, as
    every window that does not span the stretch is one of them."""
    n = len(camount) - 1
    lo, hi = max(0, a - REFERENCE_WORDS), min(n, b + 1 + REFERENCE_WORDS)
    before = np.arange(1, window)  # words a window takes from before the stretch, the rest after it
    before = before[(a - before >= lo) & (b + 1 + window - before <= hi)]
    after_end = b + 1 + window - before
    with np.errstate(divide="ignore", invalid="ignore"):
        spanning = ((camount[a] - camount[a - before] + camount[after_end] - camount[b + 1])
                    / (csec[a] - csec[a - before] + csec[after_end] - csec[b + 1]))
        spanning = np.log(spanning[spanning > 0])
    values = np.concatenate((log_rates[lo: max(lo, a - window + 1)], log_rates[b + 1: max(b + 1, hi - window + 1)],
                             spanning))
    values = values[np.isfinite(values)]
    if values.size < MIN_REFERENCE_WINDOWS:
        return None
    median = float(np.median(values))
    return median, float(np.median(np.abs(values - median)))


def _not_one_word(amounts: np.ndarray, seconds: np.ndarray, log_median: float, limit: float) -> bool:
    """The stretch stays beyond the limit without its most deviant word."""
    worst = int(np.argmax(np.abs(seconds - amounts / math.exp(log_median))))
    amount, sec = amounts.sum() - amounts[worst], seconds.sum() - seconds[worst]
    return sec > 0 and amount > 0 and abs(math.log(amount / sec) - log_median) > limit


def stretches(amounts: np.ndarray, seconds: np.ndarray, *, window: int, min_words: int, mads: float, min_mad: float,
              groups: Optional[Sequence] = None) -> list[tuple]:
    """(gained_s, a, b, log_deviation, log_median, mad, limit) of the stretches of one speaker's
    words (time order) whose rate (``amounts`` per ``seconds``) lies beyond ``mads`` MADs (at least
    ``min_mad``) of the reference, strongest first; a, b index the words. With ``groups`` (e.g.
    each word's utterance) a stretch stays within one group: it does not run across another
    speaker's turn."""
    n = len(amounts)
    camount, csec = cumulative(amounts), cumulative(seconds)
    log_rates = window_log_rates(camount, csec, window)
    candidates = []
    for a in range(n):
        for b in range(a + min_words - 1, min(n, a + MAX_WORDS)):
            if groups is not None and groups[b] != groups[a]:
                break
            ref = reference(camount, csec, log_rates, window, a, b)
            if ref is None:
                continue
            log_median, mad = ref
            limit = mads * max(mad, min_mad)
            amount, sec = amounts[a: b + 1].sum(), seconds[a: b + 1].sum()
            if amount <= 0 or sec <= 0:
                continue
            deviation = math.log(amount / sec) - log_median
            beyond = r(abs(deviation), 3) > r(limit, 3)  # as the evidence shows them
            if beyond and _not_one_word(amounts[a: b + 1], seconds[a: b + 1], log_median, limit):
                gained = abs(sec - amount / math.exp(log_median))
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


def sound_change(ctx: Context, speaker, timed: list[int], talk: dict[int, float]) -> Optional[tuple]:
    """Per word of ``timed``: its spectral change summed over the frames of its talking time that
    sound above the silence level, and those frames' seconds (arrays in ``timed`` order); None
    without a spectral change track (transcripts before schema 1.4). A word the aligner placed
    is read from its start over its ``talk`` seconds, another over its recognised span. A word with
    no frame above the silence level adds neither change nor time."""
    change, db, silence = ctx.change_of(speaker), ctx.db_of(speaker), ctx.silence_db(speaker)
    if change is None or silence is None:
        return None
    n = min(len(change), len(db))
    with np.errstate(invalid="ignore"):
        sounding = np.isfinite(change[:n]) & (db[:n] >= silence)
    csum, ccount = cumulative(np.where(sounding, change[:n], 0.0)), cumulative(sounding.astype(float))
    words = ctx.transcript.words
    amounts, seconds = [], []
    for i in timed:
        a_s, b_s = words[i].start_s, (words[i].start_s + talk[i] if words[i].aligned else words[i].end_s)
        a, b = (min(n, max(0, int(round(t / ctx.hop_s)))) for t in (a_s, b_s))
        amounts.append(csum[b] - csum[a])
        seconds.append((ccount[b] - ccount[a]) * ctx.hop_s)
    return np.array(amounts), np.array(seconds)


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.tempo
    marks = []
    for speaker, mine in ctx.by_speaker.items():
        talk = talk_seconds(ctx, mine)
        timed = [i for i in mine if talk[i] > 0 and ctx.measures[i].syllables > 0]
        syllables = np.array([ctx.measures[i].syllables for i in timed], dtype=float)
        seconds = np.array([talk[i] for i in timed], dtype=float)
        change = sound_change(ctx, speaker, timed, talk)
        if change is None:
            by, (amounts, spans), mads, min_mad = "syllables", (syllables, seconds), th.mads, th.min_mad_ratio
        else:
            by, (amounts, spans), mads, min_mad = "spectral_change", change, th.change_mads, th.change_min_mad
        groups = [ctx.utterance_of(i) for i in timed]
        csyl, csec = cumulative(syllables), cumulative(seconds)
        syllable_rates = window_log_rates(csyl, csec, th.window_words)
        for gained, a, b, deviation, log_median, mad, limit in stretches(
                amounts, spans, window=th.window_words, min_words=th.min_words, mads=mads, min_mad=min_mad,
                groups=groups):
            first, last = timed[a], timed[b]
            them = slice(a, b + 1)
            usual = reference(csyl, csec, syllable_rates, th.window_words, a, b)  # the syllables' reference
            marks.append(Mark(
                type="tempo", start_s=ctx.measures[first].start_s, end_s=ctx.measures[last].end_s,
                first_word=first, last_word=last, speaker=speaker,
                value="faster" if deviation > 0 else "slower",
                confidence=confidence(abs(deviation), limit),
                evidence={"by": by, "rate_syl_s": r(syllables[them].sum() / seconds[them].sum()),
                          "reference_rate_syl_s": r(math.exp(usual[0])) if usual else None,
                          **({} if by == "syllables" else
                             {"change_per_s": r(amounts[them].sum() / spans[them].sum()),
                              "reference_change_per_s": r(math.exp(log_median))}),
                          "seconds_gained_or_lost": r(gained, 3),
                          "log_rate_deviation": r(deviation, 3), "reference_log_mad": r(mad, 3),
                          "mads": mads, "min_mad": min_mad, "threshold_log": r(limit, 3),
                          "window_words": th.window_words},
            ))
    return marks
