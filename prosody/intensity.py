"""Intensity in dB on a 10 ms grid, following Praat's convention (samples read as pascals,
re 20 µPa), so values are comparable with what analysts see in Praat: dBFS + 93.98 dB."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import oaconvolve

from capture.record import IntensityTrack

REFERENCE_PA = 2e-5
FLOOR_DB = 0.0


@dataclass(frozen=True)
class IntensityOptions:
    hop_s: float = 0.01
    window_s: float = 0.032

    def __post_init__(self):
        if not 0.001 <= self.hop_s <= 0.1:
            raise ValueError(f"hop_s must lie between 0.001 and 0.1 s, not {self.hop_s}")
        if not self.hop_s <= self.window_s <= 0.2:
            raise ValueError("window_s must lie between hop_s and 0.2 s")


def intensity_frames(signal: np.ndarray, *, sr: int, options: IntensityOptions = IntensityOptions()) -> np.ndarray:
    """Hann-weighted mean-square level in dB per frame (frame ``j`` centred at ``j * hop_s``)."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError("intensity_frames takes a mono signal; mix or pick a channel first")
    n_out = int(np.floor(len(signal) / sr / options.hop_s)) + 1
    width = max(3, int(round(options.window_s * sr)) | 1)
    window = np.hanning(width)
    window /= window.sum()
    power = oaconvolve(signal * signal, window, mode="same")
    centres = np.minimum(np.round(np.arange(n_out) * options.hop_s * sr).astype(int), len(signal) - 1)
    mean_square = np.maximum(power[centres], 0.0)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(mean_square / REFERENCE_PA**2)
    return np.maximum(db, FLOOR_DB)


def high_band_intensity_frames(
    signal: np.ndarray, *, sr: int, cutoff_hz: float = 3000.0, options: IntensityOptions = IntensityOptions()
) -> np.ndarray:
    """``intensity_frames`` of the signal above ``cutoff_hz`` (4th-order Butterworth; one pass: its
    delay, a fraction of a millisecond, is far below a frame): where frication (s, sh, f) carries
    its energy and room tone mostly does not."""
    from scipy.signal import butter, sosfilt

    if not 0 < cutoff_hz < sr / 2:
        raise ValueError(f"cutoff_hz must lie between 0 and {sr / 2} Hz (half the sample rate)")
    sos = butter(4, cutoff_hz, btype="highpass", fs=sr, output="sos")
    return intensity_frames(sosfilt(sos, np.asarray(signal, dtype=np.float64)), sr=sr, options=options)


def intensity_track(db: np.ndarray, *, hop_s: float) -> IntensityTrack:
    return IntensityTrack(hop_s=hop_s, start_s=0.0, db=tuple(round(float(v), 2) for v in db))
