"""Loud (``CAPS``) and quiet (``°..°``) stretches: words whose level stands out from the same
speaker's words around them, joined into stretches of neighbouring words.

Loud compares words' core levels (the loudness of their loudest sustained part, not carried by a
neighbour's onset at the edge of a word's span), quiet their levels as a whole (energy mean): see
``prosody.baselines``.

A single loud word that is also emphasised (louder *and* higher or longer: ``emphasis``) is a
stressed word, underlined rather than CAPS, because stress itself makes a word louder. It is
CAPS as well (Jefferson writes loud stressed talk in underlined capitals) when it stands out by
``stressed_loud_margin_db`` more than ``loud_above_db``: louder than a stress alone makes it.
Its emphasis mark stays.

A quiet stretch of a single word needs ``quiet_word_min_voiced_s`` of voiced sound (more than a
word needs to have a level at all): the level of a short "of", "the" or "for" is taken over a few
frames of a reduced vowel and its consonants' edges, and such words came out 6.6-7.5 dB under
their neighbours in recording after recording (LJ Speech "of", 0.07 s voiced) or crossed the
limit when anything near them changed.
"""

from __future__ import annotations

from capture.record import Mark
from prosody.marks import emphasis
from prosody.marks.context import Context, confidence, level_db, level_differences_db, r


def stretches(ctx: Context, flagged: dict[int, float]) -> list[list[int]]:
    """Runs of flagged words that follow each other in their speaker's talk, within one utterance
    (a run does not continue across another speaker's turn)."""
    runs: list[list[int]] = []
    for speaker, mine in ctx.by_speaker.items():
        for k, i in enumerate(mine):
            if i not in flagged:
                continue
            if (runs and k > 0 and runs[-1][-1] == mine[k - 1]
                    and ctx.utterance_of(mine[k - 1]) == ctx.utterance_of(i)):
                runs[-1].append(i)
            else:
                runs.append([i])
    return runs


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.loudness
    marks = []
    for kind, threshold, sign, core in (("loud", th.loud_above_db, 1.0, True), ("quiet", th.quiet_below_db, -1.0, False)):
        flagged = {i: d for i, d in level_differences_db(ctx, core=core).items() if d is not None and sign * d >= threshold}
        for run in stretches(ctx, flagged):
            if (kind == "loud" and len(run) == 1 and flagged[run[0]] < threshold + th.stressed_loud_margin_db
                    and emphasis.is_emphasised(ctx, run[0])):
                continue  # one word louder *and* higher or longer is stressed (underlined), not CAPS
            if kind == "quiet" and len(run) == 1 and ctx.measures[run[0]].voiced_s < th.quiet_word_min_voiced_s - 1e-9:
                continue  # the level of a few frames of a short "of" or "the", not quiet talk
            words = [ctx.transcript.words[i] for i in run]
            mean = sum(flagged[i] for i in run) / len(run)
            marks.append(Mark(
                type=kind, start_s=ctx.measures[run[0]].start_s, end_s=ctx.measures[run[-1]].end_s, first_word=run[0],
                last_word=run[-1], speaker=words[0].speaker, value=r(mean),
                confidence=confidence(sign * mean, threshold),
                evidence={"level_difference_db": [r(flagged[i]) for i in run],
                          "level_db": [r(level_db(ctx, i, th.min_voiced_s, core=core)) for i in run],
                          "level": "core" if core else "energy mean",
                          "threshold_db": sign * threshold, "window_words": th.window_words,
                          **({"stressed_loud_margin_db": th.stressed_loud_margin_db} if kind == "loud" else {}),
                          **({"quiet_word_min_voiced_s": th.quiet_word_min_voiced_s} if kind == "quiet" and len(run) == 1
                             else {}),
                          "min_voiced_s": th.min_voiced_s},
            ))
    return marks
