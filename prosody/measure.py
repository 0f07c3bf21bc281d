"""The prosody stage: tracks over the whole recording, features per word, pauses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from capture.decode import ASR_SAMPLE_RATE_HZ, Audio
from capture.record import IntensityTrack, Pause, PitchTrack, Speaker, Word, replace
from prosody.features import speaker_median_f0, word_prosody
from prosody.intensity import IntensityOptions, high_band_intensity_frames, intensity_frames, intensity_track
from prosody.pauses import PauseOptions, find_pauses
from prosody.pitch import PitchOptions, f0_frames, pitch_track


@dataclass(frozen=True)
class ProsodyOptions:
    pitch: PitchOptions = field(default_factory=PitchOptions)
    intensity: IntensityOptions = field(default_factory=IntensityOptions)
    pauses: PauseOptions = field(default_factory=PauseOptions)

    def __post_init__(self):
        if abs(self.pitch.hop_s - self.intensity.hop_s) > 1e-12:
            raise ValueError("pitch and intensity must share one hop_s so frames line up")


@dataclass(frozen=True)
class ProsodyResult:
    words: tuple[Word, ...]
    pauses: tuple[Pause, ...]
    pitch: PitchTrack
    intensity: IntensityTrack


def _tracks(signal: np.ndarray, options: ProsodyOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F0, intensity and the intensity above 3 kHz (for pause edges), on one frame grid."""
    f0 = f0_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.pitch)
    db = intensity_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.intensity)
    high = high_band_intensity_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.intensity)
    n = min(len(f0), len(db), len(high))
    return f0[:n], db[:n], high[:n]


def measure(
    audio: Audio,
    words: Sequence[Word],
    speakers: Sequence[Speaker] = (),
    options: ProsodyOptions = ProsodyOptions(),
    *,
    mono_16k: Optional[np.ndarray] = None,
) -> ProsodyResult:
    """Measure prosody. When speakers are tied to channels, each word is measured on its own
    speaker's channel, and the recording-wide tracks follow the loudest channel frame by frame."""
    hop_s = options.pitch.hop_s
    channel_of = {s.id: s.channel for s in speakers if s.channel is not None}
    if channel_of and audio.info.channels > 1:
        per_channel = {c: _tracks(audio.channel_16k(c), options) for c in sorted(set(channel_of.values()))}
        n = min(len(f0) for f0, _, _ in per_channel.values())
        stacked_f0, stacked_db, stacked_high = (np.stack([t[k][:n] for t in per_channel.values()]) for k in range(3))
        loudest = stacked_db.argmax(axis=0)
        f0 = stacked_f0[loudest, np.arange(n)]
        high = stacked_high[loudest, np.arange(n)]
        db = stacked_db.max(axis=0)
        word_tracks = {sid: (per_channel[c][0][:n], per_channel[c][1][:n]) for sid, c in channel_of.items()}
    else:
        f0, db, high = _tracks(mono_16k if mono_16k is not None else audio.mono_16k(), options)
        word_tracks = {}

    words, pauses = find_pauses(words, db, hop_s=hop_s, window_s=options.intensity.window_s, high_db=high,
                                options=options.pauses)
    medians: dict = {}
    for speaker in {w.speaker for w in words}:
        sf0, _ = word_tracks.get(speaker, (f0, db))
        medians.update({speaker: m for s, m in speaker_median_f0(
            [w for w in words if w.speaker == speaker], sf0, hop_s=hop_s).items()})
    measured = []
    for w in words:
        wf0, wdb = word_tracks.get(w.speaker, (f0, db))
        measured.append(replace(w, prosody=word_prosody(w, wf0, wdb, hop_s=hop_s, reference_f0_hz=medians.get(w.speaker))))
    return ProsodyResult(
        words=tuple(measured),
        pauses=tuple(pauses),
        pitch=pitch_track(f0, hop_s=hop_s),
        intensity=intensity_track(db, hop_s=hop_s),
    )


