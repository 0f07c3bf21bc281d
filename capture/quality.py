"""How fit a recording is for the measures: clipping, speech and noise levels, sample rate.

A researcher who sees "(.)" between every word, or a shouted word without capitals, should know
when the recording and not the talk is the reason. ``ClipCounter`` counts clipped samples while
the decoder reads the file at its own rate (resampling to 16 kHz rounds the flat tops off);
``assess`` adds the speech and background levels from the measured intensity track and the
words, and says in ``warnings`` which measures to trust less. The limits are in
``QualityOptions`` and go into every ``transcript.json`` (``pipeline.options.quality``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from capture.record import ChannelQuality, IntensityTrack, QualityWarning, RecordingQuality, TimeSpan, Transcript, replace
from prosody.intensity import REFERENCE_PA

WARNING_CODES = ("clipping", "noise", "low_sample_rate", "no_speech")
PRAAT_DB_RE_FULL_SCALE = -20 * math.log10(REFERENCE_PA)  # the intensity track's dB are dBFS + 93.98


@dataclass(frozen=True)
class QualityOptions:
    clip_level: float = 0.99  # of full scale: -0.09 dBFS
    clip_run_samples: int = 3  # consecutive samples there make a clipped run (one loud sample is a peak)
    span_join_s: float = 0.25
    max_spans: int = 200
    max_clipped_fraction: float = 0.001  # a warning from 0.1 % of the samples on
    # The background, between the first word and the last: the noise_percentile level of the
    # pauses' frames (word_margin_s from every word) where they add up to min_noise_s; else the
    # quiet_talk_percentile level of all the frames, where there are min_talk_s of them and their
    # 2nd and 10th percentiles lie within floor_spread_db (a floor: noise filling the dips).
    word_margin_s: float = 0.1
    min_noise_s: float = 1.0
    noise_percentile: float = 10.0
    quiet_talk_percentile: float = 5.0
    min_talk_s: float = 5.0
    floor_spread_db: float = 2.0
    min_snr_db: float = 20.0  # below it, dips between words start to read as micropauses (README)
    min_sample_rate_hz: int = 16000

    def __post_init__(self):
        if not 0.5 <= self.clip_level <= 1.0:
            raise ValueError(f"clip_level is a share of full scale between 0.5 and 1, not {self.clip_level}")
        if self.clip_run_samples < 1 or self.max_spans < 0:
            raise ValueError("clip_run_samples must be at least 1 and max_spans not negative")
        if not 0 <= self.max_clipped_fraction <= 1:
            raise ValueError(f"max_clipped_fraction is a share between 0 and 1, not {self.max_clipped_fraction}")
        if self.word_margin_s < 0 or self.span_join_s < 0 or self.floor_spread_db < 0:
            raise ValueError("word_margin_s, span_join_s and floor_spread_db must not be negative")
        if self.min_noise_s <= 0 or self.min_talk_s <= 0:
            raise ValueError("min_noise_s and min_talk_s must be positive")
        for name in ("noise_percentile", "quiet_talk_percentile"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} lies between 0 and 100, not {getattr(self, name)}")


@dataclass(frozen=True)
class Clipping:
    """What the decoder saw of the samples at the file's own rate."""

    peak: float  # the largest sample magnitude (1.0 is full scale)
    clipped_samples: int
    total_samples: int
    spans: tuple[TimeSpan, ...]
    by_channel: tuple[int, ...] = ()  # clipped samples in each channel (total_samples / channels each)

    @property
    def fraction(self) -> float:
        """The share of the samples clipped in the most clipped channel (all of them when the
        channels are not known apart): one speaker's clipped microphone is not diluted by the other's."""
        if self.by_channel and self.total_samples:
            return max(self.by_channel) * len(self.by_channel) / self.total_samples
        return self.clipped_samples / self.total_samples if self.total_samples else 0.0

    def channel_fraction(self, channel: int) -> Optional[float]:
        if not 0 <= channel < len(self.by_channel) or not self.total_samples:
            return None
        return self.by_channel[channel] * len(self.by_channel) / self.total_samples

    @property
    def peak_dbfs(self) -> Optional[float]:
        return round(20 * math.log10(self.peak), 2) + 0.0 if self.peak > 0 else None  # (+ 0.0: no "-0.0"); NaN too


class ClipCounter:
    """Counts samples in clipped runs block by block, a run that crosses a block's edge included;
    ``add`` takes (frames, channels) float arrays in file order."""

    def __init__(self, *, sr: int, channels: int, options: QualityOptions = QualityOptions()):
        if sr <= 0 or channels <= 0:
            raise ValueError("sr and channels must be positive")
        self.sr, self.options = sr, options
        self._open = [(0, 0)] * channels  # per channel: (first frame, length) of a run still going at the block's end
        self._frames = 0
        self._clipped = [0] * channels
        self._peak = 0.0
        self._runs: list[tuple[int, int]] = []  # (first, end) frames, joined and capped as they come

    def add(self, block: np.ndarray) -> None:
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != len(self._open):
            raise ValueError(f"add takes (frames, {len(self._open)}) blocks, not {block.shape}")
        n = block.shape[0]
        if n == 0:
            return
        peak = max(float(block.max()), -float(block.min()))
        self._peak = max(self._peak, peak)
        if peak < self.options.clip_level and not any(length for _, length in self._open):
            self._frames += n  # nothing near full scale: the usual block, counted without a copy
            return
        magnitude = np.abs(block)
        runs = []
        for c in range(block.shape[1]):
            hot = (magnitude[:, c] >= self.options.clip_level).view(np.int8)
            edges = np.diff(np.concatenate(([0], hot, [0])))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            first, length = self._open[c]
            if length and (starts.size == 0 or starts[0] != 0):
                runs.append((first, first + length, c))
                length = 0
            for k, (s, e) in enumerate(zip(starts, ends)):
                s0 = first if (k == 0 and s == 0 and length) else self._frames + s
                if e == n:
                    self._open[c] = (s0, self._frames + e - s0)
                    break
                runs.append((s0, self._frames + e, c))
            else:
                self._open[c] = (0, 0)
        self._frames += n
        self._keep(runs)

    def _keep(self, runs: list[tuple[int, int, int]]) -> None:
        """Count the runs (first, end frame, channel) long enough to be clipping; keep where they are."""
        long_enough = [r for r in runs if r[1] - r[0] >= self.options.clip_run_samples]
        for s, e, c in long_enough:
            self._clipped[c] += int(e - s)
        join = self.options.span_join_s * self.sr
        joined: list[list[int]] = []
        for s, e in sorted(self._runs + [(s, e) for s, e, _ in long_enough]):
            if joined and s <= joined[-1][1] + join:
                joined[-1][1] = max(joined[-1][1], e)
            else:
                joined.append([s, e])
        self._runs = [(int(s), int(e)) for s, e in joined[: self.options.max_spans]]

    def result(self) -> Clipping:
        self._keep([(first, first + length, c) for c, (first, length) in enumerate(self._open) if length])
        self._open = [(0, 0)] * len(self._open)
        return Clipping(peak=self._peak, clipped_samples=sum(self._clipped), total_samples=self._frames * len(self._open),
                        spans=tuple(TimeSpan(round(s / self.sr, 3), round(e / self.sr, 3)) for s, e in self._runs),
                        by_channel=tuple(self._clipped))


def clipping_of(samples: np.ndarray, *, sr: int, options: QualityOptions = QualityOptions()) -> Clipping:
    """``ClipCounter`` over a whole (channels, frames) array at once."""
    samples = np.atleast_2d(samples)
    counter = ClipCounter(sr=sr, channels=samples.shape[0], options=options)
    counter.add(samples.T)
    return counter.result()


def assess(transcript: Transcript, clipping: Optional[Clipping],
           options: QualityOptions = QualityOptions()) -> RecordingQuality:
    """The recording's quality from the decoder's ``clipping`` (None: not counted) and the
    transcript's intensity track and words, with a warning for each limit crossed."""
    clipping = clipping or Clipping(peak=float("nan"), clipped_samples=0, total_samples=0, spans=())
    spans = [(w.start_s, w.end_s) for w in transcript.words]
    speech_db, noise_db, noise_in = _levels(transcript.intensity, spans, spans, options)
    # With a channel per speaker, each speaker's words against their own microphone's background.
    channel_of = {s.id: s.channel for s in transcript.speakers if s.channel is not None}
    channels = []
    for tracks in transcript.channel_tracks:
        mine = [(w.start_s, w.end_s) for w in transcript.words if channel_of.get(w.speaker) == tracks.channel]
        ch_speech, ch_noise, ch_in = _levels(tracks.intensity, mine, spans, options)
        share = clipping.channel_fraction(tracks.channel)
        channels.append(ChannelQuality(channel=tracks.channel, clipped_fraction=round(share or 0.0, 6),
                                       speech_level_dbfs=ch_speech, noise_level_dbfs=ch_noise, noise_measured_in=ch_in,
                                       snr_db=_difference(ch_speech, ch_noise)))
    quality = RecordingQuality(peak_dbfs=clipping.peak_dbfs, clipped_fraction=round(clipping.fraction, 6),
                               clipped_spans=clipping.spans, speech_level_dbfs=speech_db, noise_level_dbfs=noise_db,
                               noise_measured_in=noise_in, snr_db=_difference(speech_db, noise_db),
                               channels=tuple(channels))
    return replace(quality, warnings=_warnings(quality, transcript, options, clipping.total_samples > 0))


def _difference(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a - b, 1) if a is not None and b is not None else None


def _levels(track: Optional[IntensityTrack], speech: list[tuple[float, float]], talk: list[tuple[float, float]],
            options: QualityOptions) -> tuple[Optional[float], Optional[float], Optional[str]]:
    """(speech level, background level, where it was read) in dBFS on ``track``: the speech over
    the ``speech`` spans, the background away from every span of ``talk`` (all the words, whoever
    says them), between its first and last."""
    if track is None or not track.db:
        return None, None, None
    db = np.array([np.nan if v is None else v for v in track.db], dtype=np.float64) - PRAAT_DB_RE_FULL_SCALE
    inside = _covered(speech, len(db), hop_s=track.hop_s, start_s=track.start_s)
    speech_db = round(float(np.nanmedian(db[inside])), 1) if np.isfinite(db[inside]).any() else None
    near = _covered(talk, len(db), hop_s=track.hop_s, start_s=track.start_s, margin_s=options.word_margin_s)
    during = _covered([(min(a for a, _ in talk), max(b for _, b in talk))] if talk else [], len(db),
                      hop_s=track.hop_s, start_s=track.start_s)
    return (speech_db, *_background(db[during & ~near], db[during], hop_s=track.hop_s, options=options))


def _background(pauses: np.ndarray, talk: np.ndarray, *, hop_s: float,
                options: QualityOptions) -> tuple[Optional[float], Optional[str]]:
    """The background level (dBFS) and where it was read: in the pauses under the talk, else in the
    talk's quietest frames where those sit on a floor (noise fills the dips between words up to
    its level, so the quietest frames of noisy talk lie within a dB or two; in clean talk they
    spread over 10 dB and more). Digital silence before or after the talk is left out: it is not
    what the pauses and quiet words contend with."""
    pauses, talk = pauses[np.isfinite(pauses)], talk[np.isfinite(talk)]
    if pauses.size * hop_s >= options.min_noise_s:
        return round(float(np.percentile(pauses, options.noise_percentile)), 1), "pauses"
    if talk.size * hop_s >= options.min_talk_s:
        p2, p10 = np.percentile(talk, [2, 10])
        if p10 - p2 <= options.floor_spread_db:
            return round(float(np.percentile(talk, options.quiet_talk_percentile)), 1), "quietest_talk"
    return None, None


def _covered(spans: list[tuple[float, float]], n: int, *, hop_s: float, start_s: float,
             margin_s: float = 0.0) -> np.ndarray:
    """Frames (centres at ``start_s + i * hop_s``) within ``margin_s`` of a span."""
    count = np.zeros(n + 1, dtype=np.int64)
    for a, b in spans:
        i = max(0, math.ceil((a - margin_s - start_s) / hop_s))
        j = min(n, math.floor((b + margin_s - start_s) / hop_s) + 1)
        if j > i:
            count[i] += 1
            count[j] -= 1
    return np.cumsum(count[:n]) > 0


def _warnings(q: RecordingQuality, transcript: Transcript, options: QualityOptions,
              samples_counted: bool) -> tuple[QualityWarning, ...]:
    out = []
    if q.clipped_fraction > 0 and q.clipped_fraction >= options.max_clipped_fraction:
        first = f", first at {q.clipped_spans[0].start_s:.1f} s" if q.clipped_spans else ""
        whose = " of the most clipped channel" if transcript.audio.channels > 1 else ""
        out.append(QualityWarning("clipping", (
            f"{_percent(q.clipped_fraction)} of the samples{whose} are clipped at full scale{first}: levels there "
            f"read too low, so loud talk can go unmarked, and the recogniser hears distorted sound")))
    labels = {s.channel: s.label for s in transcript.speakers if s.channel is not None}
    for who, part in ([(f"channel {c.channel} ({labels.get(c.channel, 'no speaker')}): ", c) for c in q.channels]
                      or [("", q)]):
        if part.snr_db is not None and part.snr_db < options.min_snr_db:
            where = ("the background noise" if part.noise_measured_in == "pauses"
                     else "the quietest moments of the talk (too few pauses to measure the background alone)")
            out.append(QualityWarning("noise", (
                f"{who}speech is only {part.snr_db:.0f} dB above {where}: dips between words can read as "
                f"micropauses (.), and quiet talk is hard to tell from the noise")))
    rate = transcript.audio.sample_rate_hz
    if rate < options.min_sample_rate_hz:
        out.append(QualityWarning("low_sample_rate", (
            f"recorded at {rate} Hz: sound above {rate / 2000:g} kHz is missing (the hiss of s and f), so expect "
            f"more misheard words, and fricatives read as micropauses (.)")))
    if not transcript.words:
        why = ("" if q.peak_dbfs is not None and q.peak_dbfs >= -40
               else f"its loudest sample is at {q.peak_dbfs:.0f} dBFS" if q.peak_dbfs is not None
               else "the recording is digital silence" if samples_counted else "")
        out.append(QualityWarning("no_speech", "no words were recognised" + (f": {why}" if why else "")))
    return tuple(out)


def _percent(share: float) -> str:
    return f"{100 * share:.1f} %" if share >= 0.001 else f"{100 * share:.2f} %"


def warnings_of(transcript: Transcript) -> tuple[QualityWarning, ...]:
    """The recording's quality warnings; none for a transcript written before quality was measured."""
    return transcript.quality.warnings if transcript.quality is not None else ()


def quality_note(transcript: Transcript) -> str:
    """``"quality: 2.3 % clipped; speech 12 dB above the noise"`` for a file's header, or "" when
    the recording drew no warning (or was processed before quality was measured)."""
    if not warnings_of(transcript):
        return ""
    q = transcript.quality
    snrs = [c.snr_db for c in q.channels if c.snr_db is not None] or [q.snr_db]
    short = {"clipping": lambda: f"{_percent(q.clipped_fraction)} clipped",
             "noise": lambda: f"speech {min(snrs):.0f} dB above the noise",
             "low_sample_rate": lambda: f"{transcript.audio.sample_rate_hz} Hz",
             "no_speech": lambda: "no words recognised"}
    return "quality: " + "; ".join(dict.fromkeys(short[w.code]() for w in q.warnings if w.code in short))
