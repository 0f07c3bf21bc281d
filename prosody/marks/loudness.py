"""Loud (``CAPS``) and quiet (``°..°``) stretches: words whose level stands out from the same
speaker's words around them, joined into stretches of neighbouring words.

Loud compares words' core levels (the loudness of their loudest sustained part, not carried by a
neighbour's onset at the edge of a word's span), quiet their levels as a whole (energy mean): see
``prosody.baselines``. Quiet stretches are found first, and loud leaves their words out of the
talk it compares with: a word beside talk said quietly is not loud for that (the evidence lists
them, ``quiet_neighbours_left_out``).

A single loud word that is also emphasised (louder *and* higher, or louder and longer with its
pitch raised: ``emphasis``) is a stressed word, underlined rather than CAPS, because stress
itself makes a word louder. It is CAPS as well (Jefferson writes loud stressed talk in underlined
capitals) when it stands out by ``stressed_loud_margin_db`` more than ``loud_above_db``: louder
than a stress alone makes it. Its emphasis mark stays.

A quiet stretch of a single word needs ``quiet_word_min_voiced_s`` of voiced sound (more than a
word needs to have a level at all): the level of a short "of", "the" or "for" is taken over a few
frames of a reduced vowel and its consonants' edges, and such words came out 6.6-7.5 dB under
their neighbours in recording after recording (LJ Speech "of", 0.07 s voiced) or crossed the
limit when anything near them changed.
"""

from __future__ import annotations

from capture.record import Mark
from prosody.marks import emphasis
from prosody.marks.context import Context, confidence, level_db, level_differences_db, quiet_words, r


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


def quiet_runs(ctx: Context) -> tuple[dict[int, float], list[list[int]]]:
    """The quiet stretches (runs of ``context.quiet_words``) and each such word's level difference."""
    th = ctx.thresholds.loudness
    differences = level_differences_db(ctx)
    flagged = {i: differences[i] for i in quiet_words(ctx)}
    runs = [run for run in stretches(ctx, flagged)
            if len(run) > 1 or ctx.measures[run[0]].voiced_s >= th.quiet_word_min_voiced_s - 1e-9]
    return flagged, runs  # a lone word needs quiet_word_min_voiced_s: not a few frames of a short "of" or "the"


def loud_runs(ctx: Context, quiet: frozenset) -> tuple[dict[int, float], list[list[int]]]:
    """The loud stretches (runs of words ``loud_above_db`` over their neighbours' core level, the
    neighbours in ``quiet`` left out) and each flagged word's level difference."""
    th = ctx.thresholds.loudness
    flagged = {i: d for i, d in level_differences_db(ctx, core=True, leave_out=quiet).items()
               if d is not None and d >= th.loud_above_db}
    runs = [run for run in stretches(ctx, flagged)
            if len(run) > 1 or flagged[run[0]] >= th.loud_above_db + th.stressed_loud_margin_db
            or not emphasis.is_emphasised(ctx, run[0])]
    return flagged, runs  # one word louder *and* higher or longer is stressed (underlined), not CAPS


def _mark(ctx: Context, kind: str, run: list[int], flagged: dict[int, float], threshold: float, core: bool,
          extra: dict) -> Mark:
    th = ctx.thresholds.loudness
    sign = 1.0 if kind == "loud" else -1.0
    mean = sum(flagged[i] for i in run) / len(run)
    return Mark(
        type=kind, start_s=ctx.measures[run[0]].start_s, end_s=ctx.measures[run[-1]].end_s, first_word=run[0],
        last_word=run[-1], speaker=ctx.transcript.words[run[0]].speaker, value=r(mean),
        confidence=confidence(sign * mean, threshold),
        evidence={"level_difference_db": [r(flagged[i]) for i in run],
                  "level_db": [r(level_db(ctx, i, th.min_voiced_s, core=core)) for i in run],
                  "level": "core" if core else "energy mean",
                  "threshold_db": sign * threshold, "window_words": th.window_words,
                  **extra, "min_voiced_s": th.min_voiced_s},
    )


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.loudness
    quiet_flagged, quiet = quiet_runs(ctx)
    quiet_set = frozenset(i for run in quiet for i in run)
    loud_flagged, loud = loud_runs(ctx, quiet_set)
    marks = []
    for run in loud:
        left_out = sorted({j for i in run for j in ctx.neighbours(i, th.window_words) if j in quiet_set})
        marks.append(_mark(ctx, "loud", run, loud_flagged, th.loud_above_db, True,
                           {"stressed_loud_margin_db": th.stressed_loud_margin_db, "quiet_neighbours_left_out": left_out}))
    for run in quiet:
        marks.append(_mark(ctx, "quiet", run, quiet_flagged, th.quiet_below_db, False,
                           {"quiet_word_min_voiced_s": th.quiet_word_min_voiced_s} if len(run) == 1 else {}))
    return marks
