"""Fundamental frequency on a 10 ms grid, from SwiftF0 (an MIT-licensed CNN that ships its weights).

SwiftF0 gives one estimate per 16 ms at 16 kHz; we resample its output onto the requested hop:
voicing from the interpolated confidence, F0 interpolated in log frequency between voiced frames.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from capture.record import PitchTrack

SWIFT_F0_HOP = 256  # samples at 16 kHz: SwiftF0's own frame step
_detector = None
_detector_lock = threading.Lock()


@dataclass(frozen=True)
class PitchOptions:
    hop_s: float = 0.01
    fmin_hz: float = 55.0
    fmax_hz: float = 800.0
    voicing_threshold: float = 0.5

    def __post_init__(self):
        if not 0.001 <= self.hop_s <= 0.1:
            raise ValueError(f"hop_s must lie between 0.001 and 0.1 s, not {self.hop_s}")
        if not 46.875 <= self.fmin_hz < self.fmax_hz <= 2093.75:
            raise ValueError("need 46.875 <= fmin_hz < fmax_hz <= 2093.75 (SwiftF0's range)")
        if not 0.0 < self.voicing_threshold < 1.0:
            raise ValueError("voicing_threshold must lie strictly between 0 and 1")


def _swift_f0():
    global _detector
    with _detector_lock:
        if _detector is None:
            from swift_f0 import SwiftF0

            _detector = SwiftF0(spin=False)
        return _detector


def pitch_model_identity() -> dict:
    from importlib.metadata import version

    return {"name": "swift-f0", "version": version("swift-f0")}


def f0_frames(signal: np.ndarray, *, sr: int, options: PitchOptions = PitchOptions()) -> np.ndarray:
    """F0 in Hz per ``options.hop_s`` frame (frame ``j`` centred at ``j * hop_s``), NaN where unvoiced."""
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError("f0_frames takes a mono signal; mix or pick a channel first")
    n_out = int(np.floor(len(signal) / sr / options.hop_s)) + 1
    if len(signal) < 512:
        return np.full(n_out, np.nan)
    result = _swift_f0().detect(signal, sr, fmin=options.fmin_hz, fmax=options.fmax_hz)
    t_out = np.arange(n_out) * options.hop_s
    confidence = np.interp(t_out, result.timestamps, result.confidence)
    voiced_in = result.confidence >= options.voicing_threshold
    f0 = np.full(n_out, np.nan)
    if voiced_in.sum() >= 1:
        log_f0 = np.interp(t_out, result.timestamps[voiced_in], np.log(result.pitch_hz[voiced_in]))
        f0 = np.exp(log_f0)
    f0[confidence < options.voicing_threshold] = np.nan
    return f0


def pitch_track(f0_hz: np.ndarray, *, hop_s: float) -> PitchTrack:
    return PitchTrack(
        hop_s=hop_s, start_s=0.0, f0_hz=tuple(None if np.isnan(v) else round(float(v), 2) for v in f0_hz)
    )
