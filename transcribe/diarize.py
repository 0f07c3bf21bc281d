"""The diarization stage: who spoke when.

Backends sit behind one function type, ``Backend(audio, options) -> list[Turn]`` with arbitrary
speaker labels; ``transcribe.align`` then gives them stable ids and attaches words. ``channels``
is special: each channel is recognised on its own, so overlapping talk on two channels keeps
both speakers' words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from capture.audio16k import BLOCK_FRAMES, Audio16k
from capture.decode import ASR_SAMPLE_RATE_HZ
from capture.device import VALID_DEVICES
from capture.record import Turn

logger = logging.getLogger("tonescribe.diarize")

SPEAKER_MODES = ("auto", "embedded", "pyannote", "channels", "none")

Backend = Callable[[Audio16k, "SpeakerOptions"], list[Turn]]
BACKENDS: dict[str, Backend] = {}


@dataclass(frozen=True)
class SpeakerOptions:
    mode: str = "auto"
    num_speakers: Optional[int] = None
    min_speakers: Optional[int] = None
    max_speakers: Optional[int] = None
    turn_merge_gap_s: float = 0.5
    device: str = "auto"  # where the speaker models run: auto (CUDA when torch sees a GPU), cpu, cuda

    def __post_init__(self):
        if self.mode not in SPEAKER_MODES + tuple(BACKENDS):
            raise ValueError(f"--speakers must be one of {', '.join(SPEAKER_MODES + tuple(BACKENDS))}")
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.device not in VALID_DEVICES:
            raise ValueError(f"the speakers' device must be {', '.join(VALID_DEVICES[:-1])} or {VALID_DEVICES[-1]}")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers cannot exceed max_speakers")


@dataclass(frozen=True)
class ChannelEvidence:
    distinct_talkers: bool
    correlation: float
    dominance: tuple[float, ...]

    def as_dict(self) -> dict:
        return {"distinct_talkers": self.distinct_talkers, "correlation": round(self.correlation, 3),
                "dominance": [round(d, 3) for d in self.dominance]}


def channel_evidence(audio: Audio16k, *, frame_s: float = 0.05, dominance_db: float = 6.0) -> ChannelEvidence:
    """Does each channel carry its own talker? Yes when the channels are not copies of one another
    (waveform correlation below 0.8) and, over frames with speech, each channel is clearly the
    loudest (by ``dominance_db``) in a good share of them. Read block by block at 16 kHz."""
    channels = audio.info.channels
    frame = max(1, int(frame_s * ASR_SAMPLE_RATE_HZ))
    n = audio.frames_16k // frame
    if channels < 2 or n < 4:
        return ChannelEvidence(False, 1.0, ())
    block = max(frame, BLOCK_FRAMES // frame * frame)
    levels, sums, products = [], np.zeros(channels), np.zeros((channels, channels))
    for start in range(0, n * frame, block):
        stop = min(n * frame, start + block)
        x = np.stack([audio.read_16k(start, stop, channel=c) for c in range(channels)]).astype(np.float64)
        power = (x ** 2).reshape(channels, -1, frame).mean(axis=2)
        levels.append(10 * np.log10(power + 1e-12))
        sums += x.sum(axis=1)
        products += x @ x.T
    db = np.concatenate(levels, axis=1)
    mean = sums / (n * frame)
    cov = products / (n * frame) - np.outer(mean, mean)
    std = np.sqrt(np.maximum(np.diag(cov), 0.0))
    if np.all(std > 1e-9):
        off_diag = np.abs((cov / np.outer(std, std))[~np.eye(channels, dtype=bool)])
        correlation = float(np.nanmax(off_diag))
    else:
        correlation = 1.0
    loud = db.max(axis=0)
    active = loud > np.percentile(loud, 95) - 30
    dominance = []
    for c in range(channels):
        others = np.delete(db, c, axis=0).max(axis=0)
        dominance.append(float(np.mean(db[c, active] - others[active] > dominance_db)) if active.any() else 0.0)
    distinct = bool(correlation < 0.8 and sum(d >= 0.1 for d in dominance) >= 2)
    return ChannelEvidence(distinct, correlation, tuple(dominance))


def choose_mode(audio: Audio16k, options: SpeakerOptions) -> tuple[str, dict]:
    """The backend to run and the evidence for the choice (written into the transcript)."""
    if options.mode != "auto":
        check = getattr(BACKENDS.get(options.mode), "check", None)
        if check is not None:
            check()  # a backend asked for by name that cannot run says so before recognition starts
        return options.mode, {}
    evidence = channel_evidence(audio)
    if evidence.distinct_talkers:
        return "channels", {"channels": evidence.as_dict()}
    for name in BACKENDS:  # registered in order of preference; each says whether it can run
        available = getattr(BACKENDS[name], "available", lambda: True)
        if available():
            return name, {"channels": evidence.as_dict()}
    return "none", {"channels": evidence.as_dict()}


def turns_from_words(words, *, merge_gap_s: float) -> list[Turn]:
    """Speech stretches per speaker from its words, joined across gaps shorter than ``merge_gap_s``."""
    by_speaker: dict[str, list[list[float]]] = {}
    for w in sorted(words, key=lambda w: w.start_s):
        spans = by_speaker.setdefault(w.speaker or "S1", [])
        if spans and w.start_s - spans[-1][1] < merge_gap_s:
            spans[-1][1] = max(spans[-1][1], w.end_s)
        else:
            spans.append([w.start_s, w.end_s])
    turns = [Turn(speaker=s, start_s=a, end_s=b) for s, spans in by_speaker.items() for a, b in spans]
    return sorted(turns, key=lambda t: (t.start_s, t.speaker))


def _register_backends() -> None:
    """In order of preference for ``auto``: pyannote when its weights are installed, else embedded."""
    from transcribe.embedded import embedded_backend
    from transcribe.pyannote_backend import pyannote_backend

    BACKENDS["pyannote"] = pyannote_backend
    BACKENDS["embedded"] = embedded_backend


_register_backends()
