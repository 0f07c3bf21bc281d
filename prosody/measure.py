"""The prosody stage: tracks over the whole recording, features per word, pauses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from capture.audio16k import BLOCK_FRAMES, Audio16k, framewise_in_blocks
from capture.decode import ASR_SAMPLE_RATE_HZ
from capture.record import ChannelTracks, IntensityTrack, Pause, PitchTrack, SpectralTrack, Speaker, Word, replace
from prosody.features import speaker_median_f0, word_prosody
from prosody.intensity import IntensityOptions, high_band_intensity_frames, intensity_frames, intensity_track
from prosody.pauses import PauseOptions, find_pauses
from prosody.pitch import SWIFT_F0_HOP, PitchOptions, f0_frames, pitch_track
from prosody.spectral import SpectralOptions, spectral_change_frames, spectral_track

TRACK_MARGIN_S = 1.5


@dataclass(frozen=True)
class ProsodyOptions:
    pitch: PitchOptions = field(default_factory=PitchOptions)
    intensity: IntensityOptions = field(default_factory=IntensityOptions)
    pauses: PauseOptions = field(default_factory=PauseOptions)
    spectral: SpectralOptions = field(default_factory=SpectralOptions)

    def __post_init__(self):
        if abs(self.pitch.hop_s - self.intensity.hop_s) > 1e-12 or abs(self.pitch.hop_s - self.spectral.hop_s) > 1e-12:
            raise ValueError("pitch, intensity and spectral change must share one hop_s so frames line up")


@dataclass(frozen=True)
class ProsodyResult:
    words: tuple[Word, ...]
    pauses: tuple[Pause, ...]
    pitch: PitchTrack
    intensity: IntensityTrack
    channel_tracks: tuple[ChannelTracks, ...] = ()
    spectral_change: Optional[SpectralTrack] = None


def _tracks(signal: np.ndarray, options: ProsodyOptions) -> np.ndarray:
    """F0, intensity, the intensity above 3 kHz (for pause edges) and the spectral change (for held
    sounds), on one frame grid."""
    f0 = f0_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.pitch)
    db = intensity_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.intensity)
    high = high_band_intensity_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.intensity)
    change = spectral_change_frames(signal, sr=ASR_SAMPLE_RATE_HZ, options=options.spectral)
    n = min(len(f0), len(db), len(high), len(change))
    return np.stack([f0[:n], db[:n], high[:n], change[:n]])


def tracks_in_blocks(audio: Audio16k, options: ProsodyOptions, *, channel: Optional[int] = None,
                     block_frames: int = BLOCK_FRAMES):
    """``_tracks`` over the whole recording, five minutes at a time (bounded memory for long
    recordings); the same frames as one pass, the margins covering every measure's reach."""
    hop = int(round(options.pitch.hop_s * ASR_SAMPLE_RATE_HZ))
    if abs(hop - options.pitch.hop_s * ASR_SAMPLE_RATE_HZ) > 1e-9:
        return _tracks(audio.read_16k(channel=channel), options)  # an odd hop: no common block grid
    grid = np.lcm.reduce([hop, SWIFT_F0_HOP, 160])
    margin = int(np.ceil(TRACK_MARGIN_S * ASR_SAMPLE_RATE_HZ / grid)) * grid
    block = max(grid, block_frames // grid * grid)
    return framewise_in_blocks(audio, lambda x: _tracks(x, options), hop_frames=hop, margin_frames=margin,
                               channel=channel, block_frames=block)


def measure(
    audio: Audio16k,
    words: Sequence[Word],
    speakers: Sequence[Speaker] = (),
    options: ProsodyOptions = ProsodyOptions(),
) -> ProsodyResult:
    """Measure prosody. When speakers are tied to channels, each word is measured on its own
    speaker's channel, and the recording-wide tracks follow the loudest channel frame by frame."""
    hop_s = options.pitch.hop_s
    channel_of = {s.id: s.channel for s in speakers if s.channel is not None}
    if channel_of and audio.info.channels > 1:
        per_channel = {c: tracks_in_blocks(audio, options, channel=c) for c in sorted(set(channel_of.values()))}
        n = min(len(t[0]) for t in per_channel.values())
        stacked_f0, stacked_db, stacked_high, stacked_change = (np.stack([t[k][:n] for t in per_channel.values()])
                                                                for k in range(4))
        loudest = stacked_db.argmax(axis=0)
        f0 = stacked_f0[loudest, np.arange(n)]
        high = stacked_high[loudest, np.arange(n)]
        change = stacked_change[loudest, np.arange(n)]
        db = stacked_db.max(axis=0)
        word_tracks = {sid: (per_channel[c][0][:n], per_channel[c][1][:n]) for sid, c in channel_of.items()}
        channel_tracks = tuple(ChannelTracks(c, pitch_track(t[0][:n], hop_s=hop_s), intensity_track(t[1][:n], hop_s=hop_s),
                                             spectral_track(t[3][:n], hop_s=hop_s))
                               for c, t in per_channel.items())
    else:
        f0, db, high, change = tracks_in_blocks(audio, options)
        word_tracks, channel_tracks = {}, ()

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
        channel_tracks=channel_tracks,
        spectral_change=spectral_track(change, hop_s=hop_s),
    )


