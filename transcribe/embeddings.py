"""Speaker embeddings: Resemblyzer's pretrained d-vector encoder (weights ship inside the
``resemblyzer`` wheel on PyPI, so nothing is downloaded).

The network is small (3-layer LSTM over 40 mel bands, 256-d output) and is rebuilt here from the
shipped ``pretrained.pt`` rather than imported from ``resemblyzer``: that package imports
``webrtcvad``, which needs ``pkg_resources`` (gone from current setuptools). The features match
Resemblyzer's exactly: power mel spectrogram, 25 ms window, 10 ms hop, 40 bands, at 16 kHz, on a
waveform normalised to -30 dBFS (gain only raised, as Resemblyzer does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from prosody.spectral import MEL_HOP, N_FFT, N_MELS, SAMPLE_RATE_HZ, mel_power_frames, mel_power_of_padded
from transcribe.models import ModelNotFound

logger = logging.getLogger("tonescribe.embeddings")

TARGET_DBFS = -30.0
_THREADS_LOCK = threading.Lock()


class EncoderNotFound(ModelNotFound):
    pass


def encoder_weights_path() -> Path:
    """The ``pretrained.pt`` inside the installed resemblyzer package (found without importing it)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderNotFound("the embedded speaker encoder needs the resemblyzer package: pip install resemblyzer")
    path = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    if not path.is_file():
        raise EncoderNotFound(f"resemblyzer is installed but its weights are missing: {path}; reinstall resemblyzer")
    return path


def encoder_available() -> bool:
    try:
        encoder_weights_path()
        return importlib.util.find_spec("torch") is not None
    except EncoderNotFound:
        return False


def normalise_volume(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    gain = _volume_gain(rms)
    return samples * gain if gain != 1.0 else samples


def _volume_gain(rms: float) -> float:
    """Resemblyzer's normalisation to ``TARGET_DBFS``, gain only raised."""
    if rms <= 1e-8:
        return 1.0
    gain_db = TARGET_DBFS - 20 * np.log10(rms)
    return float(10 ** (gain_db / 20)) if gain_db > 0 else 1.0


def mel_frames(samples_16k: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram on a 10 ms hop; frame i is centred at i * 10 ms.

    Same numbers as ``librosa.feature.melspectrogram`` with Resemblyzer's settings (centred
    frames, zero padding, periodic Hann window, Slaney mel scale and area normalisation)."""
    return mel_power_frames(normalise_volume(np.asarray(samples_16k, dtype=np.float32)))


def mel_frames_in_blocks(audio, *, block_frames: int = 300 * SAMPLE_RATE_HZ) -> np.ndarray:
    """``mel_frames`` of a whole recording (``capture.audio16k.Audio16k``) read block by block: the
    volume normalisation is measured over the whole recording first, as in one pass."""
    from capture.audio16k import blocks_16k

    if block_frames % MEL_HOP:
        raise ValueError(f"block_frames must be a multiple of {MEL_HOP}")
    square_sum = sum(float(np.square(x, dtype=np.float64).sum()) for *_, x in blocks_16k(audio, block_frames=block_frames))
    total = audio.frames_16k
    gain = _volume_gain(np.sqrt(square_sum / total) if total else 0.0)
    half = N_FFT // 2
    parts = []
    for start, stop, left, x in blocks_16k(audio, block_frames=block_frames, margin_frames=half):
        last_block = stop >= total
        padded = np.pad(x * np.float32(gain), (half - left, half if last_block else 0))
        mel = mel_power_of_padded(padded)
        parts.append(mel if last_block else mel[: (stop - start) // MEL_HOP])
    return np.concatenate(parts) if parts else np.zeros((0, N_MELS), dtype=np.float32)


class VoiceEncoder:
    """Loaded once per device; ``embed`` turns mel-frame spans into unit-length d-vectors."""

    def __init__(self, device: str = "cpu"):
        import torch
        from torch import nn

        path = encoder_weights_path()
        self.device = device
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.to(device).eval()
        self.linear.to(device).eval()
        self.identity = {"name": "resemblyzer d-vector (GE2E, 3x256 LSTM)", "weights_sha256": _sha256(path)[:16]}

    def embed(self, mel: np.ndarray, spans: Sequence[tuple[int, int]], *, batch_size: int = 64,
              cpu_threads: int = 1) -> np.ndarray:
        """One embedding per ``(first_frame, end_frame)`` span of ``mel``; spans may differ in length.

        On CPU the LSTM runs on ``cpu_threads`` threads (then torch's setting is restored): this
        small recurrent net gains little from more threads, and on a busy machine torch's
        spinning worker threads made it up to ten times slower (measured: 1.0 s of CPU with one
        thread against 9 s with two, for 60 s of audio)."""
        import torch

        out = np.zeros((len(spans), 256), dtype=np.float32)
        order = sorted(range(len(spans)), key=lambda i: spans[i][1] - spans[i][0], reverse=True)
        with _THREADS_LOCK:  # torch's thread count is process-wide: one caller changes it at a time
            threads = torch.get_num_threads()
            if self.device == "cpu" and cpu_threads:
                torch.set_num_threads(cpu_threads)
            try:
                self._embed(mel, spans, order, out, batch_size)
            finally:
                torch.set_num_threads(threads)
        return out

    def _embed(self, mel, spans, order, out, batch_size) -> None:
        """Batches of ``batch_size`` spans, longest first. On a CUDA out-of-memory error (the GPU
        is shared with the recogniser) the batch is halved and retried, down to one span, then the
        encoder moves to the CPU for good: the recording is slower, not lost."""
        b = 0
        while b < len(order):
            idx = order[b: b + batch_size]
            try:
                out[idx] = self._embed_batch(mel, spans, idx)
            except RuntimeError as exc:
                if self.device == "cpu" or not is_out_of_memory(exc):
                    raise
                if batch_size > 1:
                    note = f"CUDA out of memory at batch {batch_size}; retrying at batch {batch_size // 2}"
                    batch_size //= 2
                else:
                    note = "CUDA out of memory at batch 1; speaker encoder moved to the CPU"
                    self._move_to_cpu()
                logger.warning(note)
                self.identity.setdefault("memory_fallbacks", []).append(note)
                continue
            b += len(idx)

    def _embed_batch(self, mel, spans, idx) -> np.ndarray:
        import torch
        from torch.nn.utils.rnn import pack_padded_sequence

        with torch.inference_mode():
            lengths = [max(1, spans[i][1] - spans[i][0]) for i in idx]
            batch = np.zeros((len(idx), lengths[0], N_MELS), dtype=np.float32)
            for row, i in enumerate(idx):
                chunk = mel[spans[i][0]: spans[i][0] + lengths[row]]
                batch[row, : len(chunk)] = chunk
            x = self._on_device(batch)
            packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=True)
            _, (hidden, _) = self.lstm(packed)
            e = torch.relu(self.linear(hidden[-1]))
            e = e / (torch.linalg.norm(e, dim=1, keepdim=True) + 1e-9)
            return e.cpu().numpy()

    def _on_device(self, batch: np.ndarray):
        import torch

        return torch.from_numpy(batch).to(self.device)

    def _move_to_cpu(self) -> None:
        import torch

        self.lstm.to("cpu")
        self.linear.to("cpu")
        self.device = "cpu"
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    """torch raises ``torch.cuda.OutOfMemoryError`` (a ``RuntimeError``); cuDNN's RNN kernels may
    report a failed allocation as a plain ``RuntimeError`` naming it."""
    import torch

    text = str(exc)
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in text or "CUDNN_STATUS_ALLOC_FAILED" in text


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _cached_encoder(device: str) -> VoiceEncoder:
    return VoiceEncoder(device)


def load_encoder(device: str = "cpu") -> VoiceEncoder:
    """The encoder for ``device``, loaded once per process (watch workers share it)."""
    with _LOAD_LOCK:
        return _cached_encoder(device)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def torch_device(preferred: Optional[str] = None) -> str:
    """``cuda`` when torch sees a GPU (unless ``preferred`` says otherwise), else ``cpu``."""
    import torch

    if preferred and preferred != "auto":
        return preferred
    return "cuda" if torch.cuda.is_available() else "cpu"
