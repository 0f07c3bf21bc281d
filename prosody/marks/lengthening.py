"""Lengthening (``::``): a sound held clearly longer than the speaker's norm, while the words
around it are not slow too (a slow stretch is tempo).

Where the forced aligner placed a word's phones (``Word.phones``, English), each sound that can
be held (vowels, nasals, liquids, glides, fricatives; not stops or affricates) is compared with
the same speaker's median duration of that phone, taken over the words that do not end an
intonation unit: the sound held longest beyond its norm must reach ``phone_ratio`` times the
norm *and* ``phone_excess_s`` beyond it (the aligner's phones come in 10 ms frames, at least 30 ms
each, so a short phone's ratio alone is noisy: with the ratio alone every fifth word of the LJ
reader would be lengthened). A word drawn out as a whole, each of its sounds longer but none by
that much, is lengthened too when its phones are ``word_ratio`` times their norms (geometric
mean) and ``word_excess_s`` longer in all (the issue's "held longer than the speaker's norm for
that word's syllable count"; espeak-ng's slowed words and sox-stretched ones are like this),
unless another word near it is drawn out as a whole too (``slow_neighbour_ratio`` within
``slow_neighbour_words``): several drawn-out words close together are a slow stretch, and a slow
stretch does not slow its short function words much, so the median of the neighbours below does
not show it. Such a word's length is no cue to emphasis either. In a slow stretch a held sound
is lengthening only when its ratio is ``slow_stretch_phone_ratio`` times the stretch's pace (the
largest whole-word ratio near it): a slow stretch holds the vowels of its content words too.

The last word of a unit is lengthened by every speaker before a boundary (final lengthening;
Wightman et al. 1992, JASA 91(3), 1707-1717), and it falls on the rhyme of the word's last
syllable (from its last vowel on), so there the norms are scaled by the speaker's own final
lengthening: the median over unit-final words of their rhyme's longest phone ratio, over the
same median of the other words (at least 1). With fewer than 3 unit-final words (a short
recording) that median cannot be taken, and ``default_final_factor`` stands in for it. The sounds
before that rhyme are judged against the plain norms. The evidence names the held phone, and
where it is a vowel, which of the word's vowels (``held_vowel``), where a consonant, which of the
consonants between which vowels (``held_consonant``): the renderers put the colons after that
sound's letters where the spelling shows it (``mo::rning``, ``plan::s``), else after the last vowel
sounded (and for a word drawn out as a whole). A word that is also emphasised
without its length counting, or with its pitch and its length (an accented word drawn out), is
emphasis, not lengthening (``emphasis.either``); one whose emphasis rests on loudness and length
is lengthening, with those cues in ``emphasis_cues_passed``.

In a recording without phones (other languages, or ``--no-align``) the rule falls back on the
*held* sound: each word's longest run of frames near its loudest level (``held_s``, see
``prosody.baselines``) against the median held time of the speaker's words. In an aligned
recording, words the aligner could not place are not judged by their duration.

A word these leave unmarked is lengthened still when it holds a sound *steady*: its longest run of
frames whose spectral change (``Transcript.spectral_change``, ``prosody/spectral.py``) stays under
``steady_change_max`` while sounding above the silence level is ``steady_ratio`` times the
speaker's norm (``STEADY_NORM_PERCENTILE`` of their words' longest runs) and ``steady_min_s``
long. This reads the drawn-out sound from the audio, whatever the recogniser made of the word: a
drawn-out "park" heard as "power" spreads its held vowel over AW and ER, and "pencils" heard as
"pen souls" halves the word, so the phones show nothing held. A steady sound that long stands out
from any pace, so no slow-stretch or neighbour veto applies. Transcripts written before schema
1.4 have no such track, and their words are judged on their phones alone.
"""

from __future__ import annotations

import bisect
import math
from typing import Optional

import numpy as np

from capture.record import Mark
from prosody.features import frame_range
from prosody.marks.context import Context, confidence, median_or_none, r
from prosody.marks import emphasis

VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
HOLDABLE = VOWELS | {"M", "N", "NG", "L", "R", "W", "Y", "F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH"}
MIN_PHONES = 4  # ours: a phone's own norm needs this many of the speaker's tokens; else its class's
MIN_FINALS = 3  # the speaker's own final lengthening needs this many unit-final words with phones
MIN_STEADY_WORDS = 5  # ours: a speaker's steady-sound norm needs this many words holding a steady run
STEADY_NORM_PERCENTILE = 75  # ours: the norm is this percentile of the words' longest steady runs


def phone_s(ctx: Context, phone, speaker=None) -> float:
    """How long an aligned phone sounds: its frames above the recording's silence level. The
    aligner may stretch a phone over silence next to it (a fricative's first frames over a pause
    whose noise floor hisses like it: JFK's "fellow" got an F of 1.55 s), and silence is not a sound
    held."""
    aligned = phone.end_s - phone.start_s
    silence = ctx.silence_db(speaker)
    if silence is None:
        return aligned
    db = ctx.db_of(speaker)
    frames = frame_range(phone.start_s, phone.end_s, hop_s=ctx.hop_s, n_frames=len(db))
    return min(aligned, max(1.0, float(np.sum(db[frames] >= silence))) * ctx.hop_s)  # at least a frame


def held_ratio(ctx: Context, i: int) -> float | None:
    """The word's held time over the speaker's median held time (the fallback measure)."""
    norm = ctx.baseline(i).held_median_s
    held = ctx.measures[i].held_s
    return held / norm if norm and held > 0 else None


class PhoneNorms:
    """Per speaker: median duration of each phone over words that do not end a unit, the median of
    vowels and of consonants as fallbacks, and the speaker's final lengthening factor."""

    def __init__(self, ctx: Context):
        finals = emphasis.unit_final(ctx)
        self.by_speaker: dict = {}
        for speaker, mine in ctx.by_speaker.items():
            durations: dict[str, list[float]] = {}
            for i in mine:
                if i not in finals:
                    for p in ctx.transcript.words[i].phones:
                        durations.setdefault(p.label, []).append(phone_s(ctx, p, speaker))
            norms = {label: float(np.median(v)) for label, v in durations.items() if len(v) >= MIN_PHONES}
            vowels = [d for label, v in durations.items() if label in VOWELS for d in v]
            others = [d for label, v in durations.items() if label not in VOWELS for d in v]
            classes = {True: float(np.median(vowels)) if vowels else None,
                       False: float(np.median(others)) if others else None}
            self.by_speaker[speaker] = (norms, classes)
        self.final_factor, self.final_factor_measured = {}, {}
        for speaker, mine in ctx.by_speaker.items():
            # the longest phone of any rhyme is over its norm (a maximum over several ratios), so the
            # final words' rhymes are set against the other words' rhymes on that same measure
            longest = {i: max((x for _, x, *_ in self._ratios(ctx, i, 1.0, rhyme_only=True)), default=None)
                       for i in mine}
            at_end = [x for i, x in longest.items() if x is not None and i in finals]
            inside = [x for i, x in longest.items() if x is not None and i not in finals]
            measured = len(at_end) >= MIN_FINALS and inside
            self.final_factor[speaker] = (max(1.0, float(np.median(at_end)) / float(np.median(inside))) if measured
                                          else ctx.thresholds.lengthening.default_final_factor)
            self.final_factor_measured[speaker] = bool(measured)
        self.finals = finals
        self._ratio_cache: dict[int, list] = {}

    def norm(self, speaker, label: str) -> Optional[float]:
        norms, classes = self.by_speaker[speaker]
        return norms.get(label, classes[label in VOWELS])

    def _ratios(self, ctx: Context, i: int, factor: float, *, rhyme_only: bool = False) -> list[tuple[str, float, float, int]]:
        """(phone, ratio, excess, its index in the word's phones) of word i's holdable phones, those
        of its final rhyme (from its last vowel on) against their norms times ``factor``, the others
        against their norms."""
        speaker = ctx.transcript.words[i].speaker
        phones = ctx.transcript.words[i].phones
        rhyme = max((k for k, p in enumerate(phones) if p.label in VOWELS), default=0)
        out = []
        for k, p in enumerate(phones):
            if rhyme_only and k < rhyme:
                continue
            norm = self.norm(speaker, p.label) if p.label in HOLDABLE else None
            if norm:
                expected = norm * (factor if k >= rhyme else 1.0)
                sounding = phone_s(ctx, p, speaker)
                out.append((p.label, sounding / expected, sounding - expected, k))
        return out

    def ratios(self, ctx: Context, i: int) -> list[tuple[str, float, float, int]]:
        """(phone, duration / norm, seconds beyond the norm, index) for each holdable phone of word i
        (worked out once per word: each word is also a neighbour of four others)."""
        if i not in self._ratio_cache:
            factor = self.final_factor[ctx.transcript.words[i].speaker] if i in self.finals else 1.0
            self._ratio_cache[i] = self._ratios(ctx, i, factor)
        return self._ratio_cache[i]

    def word_ratio(self, ctx: Context, i: int) -> Optional[float]:
        """Geometric mean of the word's phone ratios: how slowly the whole word was said."""
        got = self.ratios(ctx, i)
        return math.exp(float(np.mean([math.log(x) for _, x, *_ in got]))) if got else None


def held_consonant(at: int, vowels: list[int], n_phones: int) -> dict:
    """Where held consonant ``at`` (an index into a word's ``n_phones`` phones) sits: after which of
    the word's vowels (their indices ``vowels``; -1 before the first), and which of the consonants
    between that vowel and the next (or the word's edge) it is, for the renderers' colons."""
    before = [k for k in vowels if k < at]
    after = [k for k in vowels if k > at]
    first = before[-1] + 1 if before else 0
    last = after[0] if after else n_phones
    return {"after_vowel": len(before) - 1, "vowels": len(vowels), "index": at - first, "of": last - first}


def slow_pace(ctx: Context, phones: PhoneNorms, i: int) -> Optional[float]:
    """The largest whole-word ratio (``PhoneNorms.word_ratio``) of the words within
    ``slow_neighbour_words`` either side, when it reaches ``slow_neighbour_ratio``: word i is then in
    a slow stretch, said at about that pace; else None."""
    th = ctx.thresholds.lengthening
    words = ctx.transcript.words
    pace = max(((phones.word_ratio(ctx, j) or 0.0) for j in ctx.neighbours(i, th.slow_neighbour_words) if words[j].phones),
               default=0.0)
    return pace if pace >= th.slow_neighbour_ratio else None


def in_slow_stretch(ctx: Context, i: int) -> bool:
    """Word i was drawn out as a whole with the words near it (a slow stretch), so its duration
    makes it no lengthening (a sound it holds steady still may: ``_by_steady``)."""
    return i in _judgements(ctx)[1]


def judged(ctx: Context) -> dict[int, tuple]:
    """Word -> (ratio, limit, seconds beyond the norm, evidence) for each word held long enough to
    be lengthening, before the choice between lengthening and emphasis (``emphasis.either``)."""
    return _judgements(ctx)[0]


def _judgements(ctx: Context) -> tuple[dict[int, tuple], set[int]]:
    """``judged``'s words, and the words of slow stretches (``in_slow_stretch``); worked out once
    per annotation."""
    if "lengthening" in ctx.cache:
        return ctx.cache["lengthening"]
    words = ctx.transcript.words
    phones = PhoneNorms(ctx) if any(w.phones for w in words) else None
    out, slow = {}, set()
    for i in ctx.order:
        got = (_by_phones(ctx, phones, i, slow) if phones is not None else _by_held(ctx, i)) or _by_steady(ctx, i)
        if got is not None:
            out[i] = got
    ctx.cache["lengthening"] = out, slow
    return out, slow


def _with_neighbours(ctx: Context, judgement: tuple, around: Optional[float]) -> Optional[tuple]:
    """The judgement with its neighbours' ratio in its evidence; None when the neighbours are
    drawn out too (that is tempo)."""
    th = ctx.thresholds.lengthening
    if around is not None and around > th.neighbour_ratio_max:
        return None
    mine, limit, excess, evidence = judgement
    return mine, limit, excess, {**evidence, "neighbours_ratio": r(around), "neighbour_ratio_max": th.neighbour_ratio_max,
                                 "colon_per_s": th.colon_per_s}


def _by_phones(ctx: Context, phones: PhoneNorms, i: int, slow: set[int]) -> Optional[tuple]:
    """(ratio, limit, seconds beyond the norm, evidence) of word i judged on its aligned phones (an
    aligned recording: words without phones are not judged here); adds it to ``slow`` when it is
    drawn out with the words near it."""
    th = ctx.thresholds.lengthening
    words = ctx.transcript.words
    got = phones.ratios(ctx, i) if words[i].phones else []
    if not got:
        return None
    label, mine, excess, at = max(got, key=lambda g: g[2])
    whole = phones.word_ratio(ctx, i)
    whole_excess = sum(max(0.0, g[2]) for g in got)
    # judged on the numbers the evidence shows (durations come in 10 ms frames, and 0.27 s
    # - 0.12 s is 0.1499... in floating point)
    shown = {"phone_ratio": r(mine), "phone_excess_s": r(excess, 3),
             "word_ratio": r(whole), "word_excess_s": r(whole_excess, 3)}
    by_phone = shown["phone_ratio"] >= th.phone_ratio and shown["phone_excess_s"] >= th.phone_excess_s
    by_word = shown["word_ratio"] >= th.word_ratio and shown["word_excess_s"] >= th.word_excess_s
    if not (by_phone or by_word):
        return None
    pace = slow_pace(ctx, phones, i)
    if pace is not None and not by_phone:
        slow.add(i)
        return None  # drawn out with the words near it: a slow stretch
    if pace is not None and mine < th.slow_stretch_phone_ratio * pace:
        return None  # a sound held about as much as the slow stretch around it holds its words
    around = median_or_none(phones.word_ratio(ctx, j) for j in ctx.neighbours(i, 2) if words[j].phones)
    evidence = {"phone": label, **shown, "by": "phone" if by_phone else "word",
                **held_place(words[i].phones, at if by_phone else None),
                "final_lengthening_factor": r(phones.final_factor[words[i].speaker]) if i in phones.finals else None,
                "final_factor_measured": phones.final_factor_measured[words[i].speaker] if i in phones.finals else None,
                "phone_ratio_threshold": th.phone_ratio, "phone_excess_threshold_s": th.phone_excess_s,
                "word_ratio_threshold": th.word_ratio, "word_excess_threshold_s": th.word_excess_s,
                "slow_neighbours_word_ratio": r(pace) if pace is not None else None,
                "slow_neighbour_ratio": th.slow_neighbour_ratio, "slow_stretch_phone_ratio": th.slow_stretch_phone_ratio}
    if by_phone:
        return _with_neighbours(ctx, (mine, th.phone_ratio, excess, evidence), around)
    return _with_neighbours(ctx, (whole, th.word_ratio, whole_excess, evidence), around)  # the whole word drawn out


def held_place(phones, at: Optional[int]) -> dict:
    """Where in the word the held phone ``at`` (an index into ``phones``) is, for the renderers'
    colons: which of its vowels (``held_vowel``), or which consonant between which vowels
    (``held_consonant``); both None for a phone that cannot be held (a stop), or for no phone."""
    vowels = [k for k, p in enumerate(phones) if p.label in VOWELS]
    label = phones[at].label if at is not None else None
    return {"held_vowel": {"index": vowels.index(at), "of": len(vowels)} if label in VOWELS else None,
            "held_consonant": held_consonant(at, vowels, len(phones)) if label in HOLDABLE - VOWELS else None}


def _by_held(ctx: Context, i: int) -> Optional[tuple]:
    """Word i judged on its held time (a recording without phones)."""
    th = ctx.thresholds.lengthening
    mine = held_ratio(ctx, i)
    if mine is None or mine < th.held_ratio:
        return None
    norm = ctx.baseline(i).held_median_s
    evidence = {"held_ratio": r(mine), "held_s": ctx.measures[i].held_s, "speaker_held_median_s": norm,
                "held_ratio_threshold": th.held_ratio}
    around = median_or_none(held_ratio(ctx, j) for j in ctx.neighbours(i, 2))
    return _with_neighbours(ctx, (mine, th.held_ratio, ctx.measures[i].held_s - norm, evidence), around)


def steady_runs(ctx: Context, speaker) -> list[tuple[int, int]]:
    """[first, last + 1) frames of each run where the speaker's track holds a sound steady: its
    spectral change under ``steady_change_max`` and its level at or above the silence level."""
    change, db, silence = ctx.change_of(speaker), ctx.db_of(speaker), ctx.silence_db(speaker)
    if change is None or silence is None:
        return []
    n = min(len(change), len(db))
    with np.errstate(invalid="ignore"):
        steady = (change[:n] < ctx.thresholds.lengthening.steady_change_max) & (db[:n] >= silence)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], steady.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def longest_steady(ctx: Context) -> tuple[dict[int, tuple[float, float]], dict]:
    """Word -> (seconds, middle in seconds) of the longest steady run whose middle falls within the
    word's measured span; and speaker -> their norm, the ``STEADY_NORM_PERCENTILE`` of their words'
    longest runs (for a speaker with ``MIN_STEADY_WORDS`` such words)."""
    if "steady" in ctx.cache:
        return ctx.cache["steady"]
    out: dict[int, tuple[float, float]] = {}
    norms: dict = {}
    for speaker, mine in ctx.by_speaker.items():
        spans = sorted((ctx.measures[i].start_s, ctx.measures[i].end_s, i) for i in mine)
        starts = [a for a, _, _ in spans]
        for first, stop in steady_runs(ctx, speaker):
            seconds, middle = (stop - first) * ctx.hop_s, (first + stop) / 2 * ctx.hop_s
            k = bisect.bisect_right(starts, middle) - 1
            for a, b, i in spans[max(0, k - 1): k + 1]:
                if a <= middle < b and seconds > out.get(i, (0.0,))[0]:
                    out[i] = (seconds, middle)
        held = [out[i][0] for i in mine if i in out]
        if len(held) >= MIN_STEADY_WORDS:
            norms[speaker] = float(np.percentile(held, STEADY_NORM_PERCENTILE))
    ctx.cache["steady"] = out, norms
    return out, norms


def _by_steady(ctx: Context, i: int) -> Optional[tuple]:
    """Word i judged on the longest sound it holds steady, against the speaker's norm."""
    th = ctx.thresholds.lengthening
    steady, norms = longest_steady(ctx)
    norm = norms.get(ctx.transcript.words[i].speaker)
    if i not in steady or not norm:
        return None
    seconds, middle = steady[i]
    ratio = seconds / norm
    if r(seconds) < th.steady_min_s or r(ratio) < th.steady_ratio:
        return None
    phones = ctx.transcript.words[i].phones
    at = next((k for k, p in enumerate(phones) if p.start_s <= middle < p.end_s), None)
    evidence = {"by": "steady", "steady_s": r(seconds), "steady_ratio": r(ratio), "speaker_steady_norm_s": r(norm, 3),
                "phone": phones[at].label if at is not None else None,
                **held_place(phones, at),
                "steady_change_max": th.steady_change_max, "steady_ratio_threshold": th.steady_ratio,
                "steady_min_threshold_s": th.steady_min_s}
    return _with_neighbours(ctx, (ratio, th.steady_ratio, seconds - norm, evidence), None)


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.lengthening
    marks = []
    for i, (mine, limit, excess, evidence) in judged(ctx).items():
        if emphasis.either(ctx, i) == "emphasis":
            continue
        with_length = emphasis.passed_cues(ctx, i)[1]
        if with_length:  # what emphasis it had: with the length, the word is lengthened instead
            evidence = {**evidence, "emphasis_cues_passed": with_length}
        colons = int(min(3, max(1, round(excess / th.colon_per_s))))
        marks.append(Mark(
            type="lengthening", start_s=ctx.measures[i].start_s, end_s=ctx.measures[i].end_s, first_word=i, last_word=i,
            speaker=ctx.transcript.words[i].speaker, value=colons, confidence=confidence(mine, limit), evidence=evidence,
        ))
    return marks
