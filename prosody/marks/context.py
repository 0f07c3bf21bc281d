"""What every mark rule reads: the transcript, each word's measures, the speakers' baselines,
the tracks, and who said what in which order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from capture.record import Transcript
from prosody.baselines import (SpeakerBaseline, WordMeasure, measure_words, own_channel_tracks, silence_level_db,
                               speaker_baselines, speaker_tracks, track_arrays)
from prosody.marks.timing import nuclei, refine
from prosody.thresholds import Thresholds


@dataclass
class Context:
    transcript: Transcript
    thresholds: Thresholds
    measures: list[WordMeasure]
    baselines: dict[Optional[str], SpeakerBaseline]
    f0: np.ndarray  # the recording-wide tracks
    db: np.ndarray
    hop_s: float
    tracks: dict = field(default_factory=dict)  # speaker -> (F0, dB) their words are measured on
    order: list[int] = field(default_factory=list)  # word indices in time order
    by_speaker: dict[Optional[str], list[int]] = field(default_factory=dict)  # time order per speaker
    position: dict[int, int] = field(default_factory=dict)  # word index -> place in its speaker's list
    cache: dict = field(default_factory=dict)  # results shared by several rules (e.g. intonation units)

    @classmethod
    def build(cls, transcript: Transcript, thresholds: Thresholds) -> "Context":
        f0, db, hop_s = track_arrays(transcript)
        tracks = speaker_tracks(transcript, f0, db)
        measures = measure_words(transcript, spans=measuring_spans(transcript, f0, db, hop_s, tracks=tracks),
                                 tracks=tracks)
        baselines = speaker_baselines(measures, hop_s=hop_s, f0={s: t[0] for s, t in tracks.items()},
                                      rate_window_words=thresholds.tempo.window_words)
        ctx = cls(transcript, thresholds, measures, baselines, f0, db, hop_s, tracks)
        words = transcript.words
        ctx.order = sorted(range(len(words)), key=lambda i: (words[i].start_s, words[i].end_s, i))
        for i in ctx.order:
            mine = ctx.by_speaker.setdefault(words[i].speaker, [])
            ctx.position[i] = len(mine)
            mine.append(i)
        return ctx

    def neighbours(self, i: int, window: int) -> list[int]:
        """Up to ``window`` words of the same speaker on each side of word ``i``."""
        mine = self.by_speaker[self.transcript.words[i].speaker]
        k = self.position[i]
        return mine[max(0, k - window): k] + mine[k + 1: k + 1 + window]

    def previous(self, i: int) -> Optional[int]:
        k = self.position[i]
        return self.by_speaker[self.transcript.words[i].speaker][k - 1] if k > 0 else None

    def utterance_of(self, i: int) -> Optional[int]:
        """The utterance (one speaker's run of talk) word ``i`` belongs to, if any."""
        if "utterance_of" not in self.cache:
            self.cache["utterance_of"] = {k: u for u, utt in enumerate(self.transcript.utterances)
                                          for k in range(utt.first_word, utt.last_word + 1)}
        return self.cache["utterance_of"].get(i)

    def baseline(self, i: int) -> SpeakerBaseline:
        return self.baselines[self.transcript.words[i].speaker]

    def st(self, i: int, hz: Optional[float]) -> Optional[float]:
        return self.baseline(i).st(hz)

    def f0_of(self, speaker) -> np.ndarray:
        """The F0 track a speaker's words are measured on (their own channel's, where they have one)."""
        return self.tracks.get(speaker, (self.f0, self.db))[0]

    def db_of(self, speaker) -> np.ndarray:
        return self.tracks.get(speaker, (self.f0, self.db))[1]

    def change_of(self, speaker) -> Optional[np.ndarray]:
        """The spectral change track (NaN where unmeasured) a speaker's words are measured on: their
        own channel's where they have one, like ``f0_of``; None in transcripts before schema 1.4."""
        own = own_channel_tracks(self.transcript, speaker)
        track = own.spectral_change if own is not None else self.transcript.spectral_change
        if track is None:
            return None
        known = self.cache.setdefault("spectral_change", {})  # one array per track, not per speaker
        if id(track) not in known:
            known[id(track)] = np.array(track.change, dtype=float)  # None (not measured) becomes NaN
        return known[id(track)]

    def silence_db(self, speaker=None) -> Optional[float]:
        """The silence level (the pause finder's) of the track a speaker is measured on (default: the
        recording-wide one), worked out once."""
        db = self.db_of(speaker)
        known = self.cache.setdefault("silence_db", {})
        if id(db) not in known:
            known[id(db)] = silence_level_db(db)
        return known[id(db)]


def measuring_spans(transcript: Transcript, f0: np.ndarray, db: np.ndarray, hop_s: float,
                    tracks: Optional[dict] = None) -> list[tuple[float, float]]:
    """Each word's span re-timed on syllable nuclei, per speaker (see ``timing``); words that the
    forced aligner placed (``aligned``) keep their own times, which are the more accurate. A speaker
    with a channel of their own (``tracks``, see ``speaker_tracks``) is re-timed on it."""
    from prosody.syllables import count_syllables

    words = transcript.words
    spans = [(w.start_s, w.end_s) for w in words]
    silence = silence_level_db(db)
    if silence is None or all(w.aligned for w in words):  # (no words, or every one placed by the aligner)
        return spans
    peaks = nuclei(db, f0, hop_s=hop_s, silence_db=silence)
    speakers = {w.speaker for w in words}
    for speaker in speakers:
        mine = sorted((i for i, w in enumerate(words) if w.speaker == speaker), key=lambda i: words[i].start_s)
        if all(words[i].aligned for i in mine):
            continue  # nothing to re-time
        own_f0, own_db = (tracks or {}).get(speaker, (f0, db))
        if own_db is not db:  # their own channel: its nuclei are all theirs
            own_silence = silence_level_db(own_db)
            own = nuclei(own_db, own_f0, hop_s=hop_s, silence_db=own_silence)
        else:
            own_silence, own = silence, peaks
            if len(speakers) > 1:  # leave out nuclei inside other speakers' words
                taken = np.zeros(len(db), dtype=bool)
                for w in words:
                    if w.speaker != speaker:
                        taken[int(np.ceil(w.start_s / hop_s - 1e-9)): int(np.floor(w.end_s / hop_s + 1e-9)) + 1] = True
                own = peaks[~taken[peaks]]
        got = refine([(words[i].start_s, words[i].end_s, count_syllables(words[i].text, language=transcript.language))
                      for i in mine], own_db, own_f0, hop_s=hop_s, silence_db=own_silence, peaks=own)
        for i, span in zip(mine, got):
            if not words[i].aligned:
                spans[i] = span
    return spans


def level_db(ctx: Context, i: int, min_voiced_s: float, *, core: bool = False) -> Optional[float]:
    """A word's level (with ``core``, its core level: see ``prosody.baselines``), when it has enough
    voiced sound to carry one: a (re-timed) span with less holds a consonant or a neighbour's
    edge, not the word's vowel."""
    m = ctx.measures[i]
    if m.voiced_s < min_voiced_s - 1e-9:
        return None
    return m.core_level_db if core else m.level_db


def level_differences_db(ctx: Context, *, core: bool = False, leave_out: frozenset = frozenset()) -> dict[int, Optional[float]]:
    """Each word's level (with ``core``, its core level) over the median of its neighbours' (the
    ``[loudness]`` window, without those in ``leave_out``), in dB to 0.01 as the evidence shows it
    (the loud and quiet limits are judged on that); None without a level. Worked out once per
    annotation: loud, quiet and the emphasis cue's quiet neighbours all ask."""
    key = ("level_differences_db", core, leave_out)
    if key not in ctx.cache:
        th = ctx.thresholds.loudness
        out = {}
        for i in ctx.order:
            mine = level_db(ctx, i, th.min_voiced_s, core=core)
            ref = median_or_none(level_db(ctx, j, th.min_voiced_s, core=core)
                                 for j in ctx.neighbours(i, th.window_words) if j not in leave_out)
            out[i] = None if mine is None or ref is None else r(mine - ref)
        ctx.cache[key] = out
    return ctx.cache[key]


def quiet_words(ctx: Context) -> set[int]:
    """The words at least ``quiet_below_db`` under their neighbours (the level test of ``quiet``,
    before its other conditions)."""
    if "quiet_words" not in ctx.cache:
        limit = ctx.thresholds.loudness.quiet_below_db
        ctx.cache["quiet_words"] = {i for i, d in level_differences_db(ctx).items() if d is not None and d <= -limit}
    return ctx.cache["quiet_words"]


def confidence(measured: float, threshold: float) -> float:
    """0.5 at the threshold, rising linearly to 1.0 at twice the threshold (or beyond)."""
    if threshold <= 0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, measured / threshold - 1.0)), 2)


def median_or_none(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def r(value: Optional[float], digits: int = 2) -> Optional[float]:
    return None if value is None else round(float(value), digits)
