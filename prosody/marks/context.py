"""What every mark rule reads: the transcript, each word's measures, the speakers' baselines,
the tracks, and who said what in which order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from capture.record import Transcript
from prosody.baselines import SpeakerBaseline, WordMeasure, measure_words, speaker_baselines, track_arrays
from prosody.thresholds import Thresholds


@dataclass
class Context:
    transcript: Transcript
    thresholds: Thresholds
    measures: list[WordMeasure]
    baselines: dict[Optional[str], SpeakerBaseline]
    f0: np.ndarray
    db: np.ndarray
    hop_s: float
    order: list[int] = field(default_factory=list)  # word indices in time order
    by_speaker: dict[Optional[str], list[int]] = field(default_factory=dict)  # time order per speaker
    position: dict[int, int] = field(default_factory=dict)  # word index -> place in its speaker's list

    @classmethod
    def build(cls, transcript: Transcript, thresholds: Thresholds) -> "Context":
        f0, db, hop_s = track_arrays(transcript)
        measures = measure_words(transcript)
        baselines = speaker_baselines(measures, hop_s=hop_s, f0=f0, rate_window_words=thresholds.tempo.window_words)
        ctx = cls(transcript, thresholds, measures, baselines, f0, db, hop_s)
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

    def baseline(self, i: int) -> SpeakerBaseline:
        return self.baselines[self.transcript.words[i].speaker]

    def st(self, i: int, hz: Optional[float]) -> Optional[float]:
        return self.baseline(i).st(hz)


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
