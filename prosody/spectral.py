"""Spectral change: how far the shape of the spectrum moves around each frame.

A sound held steady (a drawn-out vowel, nasal or fricative) keeps the shape of its spectrum while
it lasts; running speech moves it all the time, from one sound to the next. The lengthening rule
reads held sounds from this track (``prosody/marks/lengthening.py``), so a drawn-out sound is seen
whatever the recogniser made of the word around it.

The shape is the mel cepstrum (coefficients 1 to ``n_cepstra`` of the log power in 40 mel bands,
25 ms Hann window; coefficient 0, the level, is left out, so loudness changes do not count), and
the change at frame ``j`` is the Euclidean distance between the cepstra ``lag_s`` before and after
it (in dB-like cepstral units). The mel spectrogram is Resemblyzer's (``transcribe/embeddings.py``
uses it too) and equals ``librosa.feature.melspectrogram`` with the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from capture.decode import ASR_SAMPLE_RATE_HZ as SAMPLE_RATE_HZ
from capture.record import SpectralTrack

N_FFT = int(0.025 * SAMPLE_RATE_HZ)  # a 25 ms window
MEL_HOP = int(0.01 * SAMPLE_RATE_HZ)  # 10 ms: the tracks' frame step, and the speaker encoder's
N_MELS = 40
FLOOR_POWER = 1e-10  # the log's floor (digital silence); a fixed floor keeps block-by-block equal to one pass


@dataclass(frozen=True)
class SpectralOptions:
    hop_s: float = 0.01
    lag_s: float = 0.02
    n_cepstra: int = 12

    def __post_init__(self):
        if not 0.001 <= self.hop_s <= 0.1:
            raise ValueError(f"hop_s must lie between 0.001 and 0.1 s, not {self.hop_s}")
        hop = self.hop_s * SAMPLE_RATE_HZ
        if abs(hop - round(hop)) > 1e-9:
            raise ValueError(f"hop_s must be a whole number of samples at {SAMPLE_RATE_HZ} Hz, not {self.hop_s}")
        lag = self.lag_s / self.hop_s
        if self.lag_s <= 0 or abs(lag - round(lag)) > 1e-9:
            raise ValueError(f"lag_s must be a positive whole number of hops ({self.hop_s} s), not {self.lag_s}")
        if not 1 <= self.n_cepstra < N_MELS:
            raise ValueError(f"n_cepstra must lie between 1 and {N_MELS - 1}, not {self.n_cepstra}")


def mel_power_frames(samples_16k: np.ndarray, *, hop: int = MEL_HOP) -> np.ndarray:
    """(frames, 40) power mel spectrogram, frame ``j`` centred at sample ``j * hop`` (zero padding
    at the ends): ``1 + len // hop`` frames, on the grid of ``prosody.intensity.intensity_frames``."""
    x = np.asarray(samples_16k, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("mel_power_frames takes a mono signal; mix or pick a channel first")
    return mel_power_of_padded(np.pad(x, N_FFT // 2), hop=hop)


def mel_power_of_padded(x: np.ndarray, *, hop: int = MEL_HOP) -> np.ndarray:
    """``mel_power_frames`` of a signal already padded by half a window at each end."""
    n = 1 + max(0, (x.size - N_FFT) // hop)
    frames = np.lib.stride_tricks.as_strided(x, (n, N_FFT), (x.strides[0] * hop, x.strides[0]), writeable=False)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    basis = mel_basis(N_FFT).T
    out = np.empty((n, N_MELS), dtype=np.float32)
    for a in range(0, n, 6000):  # a minute at a time keeps the FFT's working memory flat
        out[a: a + 6000] = (np.abs(np.fft.rfft(frames[a: a + 6000] * window, axis=1)) ** 2) @ basis
    return out


@lru_cache(maxsize=2)
def mel_basis(n_fft: int) -> np.ndarray:
    """Slaney-style mel filterbank (librosa's default), shape (40, n_fft // 2 + 1)."""

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        linear = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, linear)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * 200.0 / 3)

    fft_hz = np.linspace(0, SAMPLE_RATE_HZ / 2, n_fft // 2 + 1)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE_HZ / 2), N_MELS + 2))
    ramps = mel_hz[:, None] - fft_hz[None, :]
    fdiff = np.diff(mel_hz)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2: N_MELS + 2] - mel_hz[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def spectral_change_frames(signal: np.ndarray, *, sr: int, options: SpectralOptions = SpectralOptions()) -> np.ndarray:
    """Per frame ``j`` (centred at ``j * hop_s``): the distance between the mel cepstra ``lag_s``
    before and after it; NaN where either lies outside the signal."""
    from scipy.fft import dct

    if sr != SAMPLE_RATE_HZ:
        raise ValueError(f"spectral_change_frames needs {SAMPLE_RATE_HZ} Hz audio (capture.decode gives it), not {sr}")
    mel = mel_power_frames(signal, hop=int(round(options.hop_s * sr)))
    cepstra = dct(10.0 * np.log10(np.maximum(mel.astype(np.float64), FLOOR_POWER)), type=2, norm="ortho",
                  axis=1)[:, 1: options.n_cepstra + 1]
    lag = int(round(options.lag_s / options.hop_s))
    change = np.full(len(cepstra), np.nan)
    if len(cepstra) > 2 * lag:
        change[lag:-lag] = np.linalg.norm(cepstra[2 * lag:] - cepstra[: -2 * lag], axis=1)
    return change


def spectral_track(change: np.ndarray, *, hop_s: float) -> SpectralTrack:
    return SpectralTrack(hop_s=hop_s, start_s=0.0,
                         change=tuple(None if np.isnan(v) else round(float(v), 1) for v in change))
