"""What each word measures on the recording's tracks, and each speaker's baseline.

Every relative judgement of the marks (louder, higher, longer, faster) compares a word with the
same speaker: either the speaker's whole baseline (median and median absolute deviation) or the
speaker's words around it. Word spans from the recogniser often include some silence, so a
word's length is its *sounding* time: the frames of its span above the recording's silence level
(the level the pause finder uses) and within ``WITHIN_PEAK_DB`` of the word's own loudest
frame, so that raising or lowering a word's gain does not make it longer or shorter (a louder
word otherwise lifts more of its consonants and edges above the silence level). A word's *held*
time is its longest run of frames within ``HELD_DB`` of its loudest frame: the sustained core
(vowel or continuant) that a prolonged sound stretches, much less dependent on how many
consonants the word has or on where the recogniser put its edges than the word's whole length.

A word's level is the energy mean of its sounding frames (how loud the word is as a whole: what
quiet talk lowers). Its *core* level is the ``CORE_PERCENTILE``th percentile of their dB: how loud
its loudest sustained part is, which is what "louder than the surrounding talk" (CAPS, a stressed
word's loudness) compares. The energy mean follows its loudest frames, and in fast talk a word's
aligned span often takes in 20-30 ms of the next word's onset: one such frame 10-15 dB over the
word lifts its mean by several dB, its core level hardly at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from capture.record import ChannelTracks, Transcript
from prosody.features import frame_range
from prosody.pauses import silence_threshold_db
from prosody.syllables import count_syllables

WITHIN_PEAK_DB = 25.0  # ours: frames further below the word's loudest frame do not count as sounding
HELD_DB = 9.0  # ours: a held sound is a run of frames within this of the word's loudest frame
CORE_PERCENTILE = 90  # ours: a word's core level is the level its loudest tenth of frames lie above


@dataclass(frozen=True)
class WordMeasure:
    index: int
    speaker: Optional[str]
    start_s: float
    end_s: float
    syllables: int
    sounding_s: float
    voiced_s: float
    f0_hz: Optional[float]  # median over voiced frames
    f0_peak_hz: Optional[float]  # 90th percentile over voiced frames
    f0_onset_hz: Optional[float]  # median over the first half of the voiced frames
    level_db: Optional[float]  # energy mean over sounding frames
    held_s: float = 0.0  # longest run of frames within HELD_DB of the word's loudest frame
    core_level_db: Optional[float] = None  # CORE_PERCENTILE of the sounding frames' dB


@dataclass(frozen=True)
class SpeakerBaseline:
    speaker: Optional[str]
    n_words: int
    f0_median_hz: Optional[float]
    f0_mad_st: Optional[float]
    level_median_db: Optional[float]
    level_mad_db: Optional[float]
    rate_median_syl_s: Optional[float]
    rate_mad_syl_s: Optional[float]
    syllable_s: Optional[float]  # median sounding time per syllable
    duration_norm_s: dict  # syllable count -> median sounding time of such words (>= 5 words)
    held_median_s: Optional[float] = None  # median of the words' held_s

    def expected_duration_s(self, syllables: int) -> Optional[float]:
        if syllables in self.duration_norm_s:
            return self.duration_norm_s[syllables]
        return None if self.syllable_s is None else self.syllable_s * max(1, syllables)

    def st(self, f0_hz: Optional[float]) -> Optional[float]:
        """Semitones re the speaker's median F0."""
        if f0_hz is None or not self.f0_median_hz:
            return None
        return 12.0 * float(np.log2(f0_hz / self.f0_median_hz))


def track_arrays(transcript: Transcript) -> tuple[np.ndarray, np.ndarray, float]:
    """F0 (Hz, NaN unvoiced) and intensity (dB) on one grid, and its hop: the recording-wide tracks."""
    if transcript.pitch is None or transcript.intensity is None:
        return np.array([]), np.array([]), 0.01
    return (*_arrays(transcript.pitch, transcript.intensity), transcript.pitch.hop_s)


def _arrays(pitch, intensity) -> tuple[np.ndarray, np.ndarray]:
    f0 = np.array([np.nan if v is None else v for v in pitch.f0_hz], dtype=float)
    db = np.array([np.nan if v is None else v for v in intensity.db], dtype=float)
    n = min(len(f0), len(db))
    return f0[:n], db[:n]


def speaker_tracks(transcript: Transcript, f0: np.ndarray, db: np.ndarray) -> dict:
    """Speaker -> (F0, dB) to measure that speaker's words on: their own channel's tracks where the
    transcript has them (a microphone each), else the recording-wide ``f0``, ``db`` (the very same
    arrays, so callers can tell the two apart with ``is``)."""
    out = {}
    for speaker in {w.speaker for w in transcript.words}:
        own = own_channel_tracks(transcript, speaker)
        out[speaker] = _arrays(own.pitch, own.intensity) if own is not None else (f0, db)
    return out


def own_channel_tracks(transcript: Transcript, speaker) -> Optional[ChannelTracks]:
    """The tracks of the speaker's own channel, where the transcript has them (a microphone each)."""
    channel = next((s.channel for s in transcript.speakers if s.id == speaker), None)
    return next((t for t in transcript.channel_tracks if t.channel == channel), None) if channel is not None else None


def silence_level_db(db: np.ndarray) -> Optional[float]:
    valid = db[~np.isnan(db)] if db.size else db
    return silence_threshold_db(valid) if valid.size else None


def measure_words(transcript: Transcript, spans: Optional[Sequence[tuple[float, float]]] = None,
                  tracks: Optional[dict] = None) -> list[WordMeasure]:
    """Measures per word, over ``spans`` (start_s, end_s) when given, else the words' own times, on
    its speaker's ``tracks`` (``speaker_tracks``; default: the recording-wide tracks)."""
    wide_f0, wide_db, hop_s = track_arrays(transcript)
    tracks = tracks if tracks is not None else speaker_tracks(transcript, wide_f0, wide_db)
    silence_of = {id(db): silence_level_db(db) for _f0, db in tracks.values()}  # one per track, not per speaker
    out = []
    for i, w in enumerate(transcript.words):
        f0, db = tracks[w.speaker]
        threshold = silence_of[id(db)]
        syllables = count_syllables(w.text, language=transcript.language)
        start_s, end_s = spans[i] if spans is not None else (w.start_s, w.end_s)
        if threshold is None or end_s <= start_s:
            out.append(WordMeasure(i, w.speaker, start_s, end_s, syllables, max(0.0, end_s - start_s),
                                   0.0, None, None, None, None, 0.0))
            continue
        frames = frame_range(start_s, end_s, hop_s=hop_s, n_frames=len(db))
        levels, pitches = db[frames], f0[frames]
        peak = float(np.nanmax(levels)) if levels.size and not np.isnan(levels).all() else -np.inf
        sounding = levels >= max(threshold, peak - WITHIN_PEAK_DB)
        voiced = pitches[sounding & ~np.isnan(pitches)]
        sounding_s = min(end_s - start_s, float(sounding.sum()) * hop_s)
        level = float(10 * np.log10(np.mean(10 ** (levels[sounding] / 10)))) if sounding.any() else None
        out.append(WordMeasure(
            index=i, speaker=w.speaker, start_s=start_s, end_s=end_s, syllables=syllables,
            sounding_s=round(sounding_s, 3), voiced_s=round(voiced.size * hop_s, 3),
            f0_hz=float(np.median(voiced)) if voiced.size else None,
            f0_peak_hz=float(np.percentile(voiced, 90)) if voiced.size else None,
            f0_onset_hz=float(np.median(voiced[: max(1, (voiced.size + 1) // 2)])) if voiced.size else None,
            level_db=level,
            held_s=round(longest_run(levels >= peak - HELD_DB) * hop_s, 3),
            core_level_db=float(np.percentile(levels[sounding], CORE_PERCENTILE)) if sounding.any() else None,
        ))
    return out


def longest_run(flags: np.ndarray) -> int:
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


def local_rates(measures: Sequence[WordMeasure], *, window_words: int) -> list[Optional[float]]:
    """Syllables per second over ``window_words`` consecutive words centred on each word (the
    measures of one speaker, in time order)."""
    half = window_words // 2
    rates: list[Optional[float]] = []
    for k in range(len(measures)):
        chunk = measures[max(0, k - half): k - half + window_words] if k >= half else measures[: window_words]
        seconds = sum(m.sounding_s for m in chunk)
        rates.append(sum(m.syllables for m in chunk) / seconds if seconds > 0 else None)
    return rates


def _mad(values: np.ndarray) -> float:
    return float(np.median(np.abs(values - np.median(values))))


def speaker_baselines(
    measures: Sequence[WordMeasure], *, hop_s: float = 0.01, f0: Optional[np.ndarray | dict] = None,
    rate_window_words: int = 3
) -> dict[Optional[str], SpeakerBaseline]:
    """Per speaker: F0 median (Hz) and MAD (semitones), level median and MAD (dB, over words),
    local speech rate median and MAD (syllables/s), and duration norms per syllable count. ``f0``:
    the F0 track, or speaker -> their F0 track."""
    out = {}
    for speaker in sorted({m.speaker for m in measures}, key=lambda s: (s is None, s or "")):
        mine = sorted((m for m in measures if m.speaker == speaker), key=lambda m: m.start_s)
        own_f0 = f0.get(speaker) if isinstance(f0, dict) else f0
        if own_f0 is not None and own_f0.size:
            chunks = [own_f0[frame_range(m.start_s, m.end_s, hop_s=hop_s, n_frames=len(own_f0))] for m in mine]
            voiced = np.concatenate(chunks) if chunks else np.array([])
            voiced = voiced[~np.isnan(voiced)]
        else:
            voiced = np.array([m.f0_hz for m in mine if m.f0_hz is not None])
        f0_median = float(np.median(voiced)) if voiced.size else None
        f0_mad = _mad(12 * np.log2(voiced / f0_median)) if voiced.size else None
        levels = np.array([m.level_db for m in mine if m.level_db is not None])
        timed = [m for m in mine if m.sounding_s > 0 and m.syllables > 0]
        rates = np.array([r for r in local_rates(timed, window_words=rate_window_words) if r is not None])
        per_syllable = np.array([m.sounding_s / m.syllables for m in timed])
        held = np.array([m.held_s for m in mine if m.held_s > 0])
        norms = {}
        for n in sorted({m.syllables for m in timed}):
            durations = [m.sounding_s for m in timed if m.syllables == n]
            if len(durations) >= 5:
                norms[n] = float(np.median(durations))
        out[speaker] = SpeakerBaseline(
            speaker=speaker,
            n_words=len(mine),
            f0_median_hz=_r(f0_median),
            f0_mad_st=_r(f0_mad),
            level_median_db=_r(float(np.median(levels))) if levels.size else None,
            level_mad_db=_r(_mad(levels)) if levels.size else None,
            rate_median_syl_s=_r(float(np.median(rates))) if rates.size else None,
            rate_mad_syl_s=_r(_mad(rates)) if rates.size else None,
            syllable_s=_r(float(np.median(per_syllable)), 3) if per_syllable.size else None,
            duration_norm_s={n: round(v, 3) for n, v in norms.items()},
            held_median_s=_r(float(np.median(held)), 3) if held.size else None,
        )
    return out


def _r(value: Optional[float], digits: int = 2) -> Optional[float]:
    return None if value is None else round(value, digits)
