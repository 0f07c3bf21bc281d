"""Faster (``>..<``) and slower (``<..>``) stretches: the speaker's local syllable rate (over
``window_words`` words) beyond their median rate by more than ``mads`` median absolute
deviations, as GailBot marks tempo, held for at least ``min_words`` words."""

from __future__ import annotations

from capture.record import Mark
from prosody.baselines import local_rates
from prosody.marks.context import Context, confidence, r


def _beyond(ctx: Context, i: int, direction: str, median: float, limit: float) -> bool:
    own = ctx.measures[i].syllables / ctx.measures[i].sounding_s
    return own > median + limit if direction == "faster" else own < median - limit


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.tempo
    words = ctx.transcript.words
    marks = []
    for speaker, mine in ctx.by_speaker.items():
        base = ctx.baselines[speaker]
        if base.rate_median_syl_s is None:
            continue
        timed = [i for i in mine if ctx.measures[i].sounding_s > 0 and ctx.measures[i].syllables > 0]
        rates = local_rates([ctx.measures[i] for i in timed], window_words=th.window_words)
        spread = max(base.rate_mad_syl_s or 0.0, th.min_mad_ratio * base.rate_median_syl_s)
        limit = th.mads * spread
        direction = []
        for rate in rates:
            if rate is None:
                direction.append(None)
            elif rate > base.rate_median_syl_s + limit:
                direction.append("faster")
            elif rate < base.rate_median_syl_s - limit:
                direction.append("slower")
            else:
                direction.append(None)
        k = 0
        while k < len(timed):
            if direction[k] is None:
                k += 1
                continue
            end = k
            while end + 1 < len(timed) and direction[end + 1] == direction[k]:
                end += 1
            first, last = k, end
            while first <= last and not _beyond(ctx, timed[first], direction[k], base.rate_median_syl_s, limit):
                first += 1  # the window blurs a stretch's edges: keep words that are fast/slow themselves
            while last >= first and not _beyond(ctx, timed[last], direction[k], base.rate_median_syl_s, limit):
                last -= 1
            run = timed[first: last + 1]
            if len(run) >= th.min_words:
                syllables = sum(ctx.measures[i].syllables for i in run)
                seconds = sum(ctx.measures[i].sounding_s for i in run)
                rate = syllables / seconds
                deviation = abs(rate - base.rate_median_syl_s)
                marks.append(Mark(
                    type="tempo", start_s=words[run[0]].start_s, end_s=words[run[-1]].end_s,
                    first_word=run[0], last_word=run[-1], speaker=speaker, value=direction[k],
                    confidence=confidence(deviation, limit),
                    evidence={"rate_syl_s": r(rate), "local_rates_syl_s": [r(x) for x in rates[first: last + 1]],
                              "speaker_median_syl_s": base.rate_median_syl_s,
                              "speaker_mad_syl_s": base.rate_mad_syl_s, "mads": th.mads,
                              "threshold_syl_s": r(limit)},
                ))
            k = end + 1
    return marks
