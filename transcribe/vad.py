"""Where somebody speaks: silero VAD (the ONNX model that faster-whisper ships) on a 32 ms grid.

No torch is needed here: faster-whisper runs silero through onnxruntime. The probabilities are
turned into regions with hysteresis (``onset_prob`` to enter speech, ``offset_prob`` to leave it),
short gaps are bridged and very short blips dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from capture.audio16k import BLOCK_FRAMES, Audio16k, blocks_16k

logger = logging.getLogger("tonescribe.vad")

SAMPLE_RATE_HZ = 16000
WINDOW_SAMPLES = 512  # silero's fixed window at 16 kHz
FRAME_S = WINDOW_SAMPLES / SAMPLE_RATE_HZ


@dataclass(frozen=True)
class VadOptions:
    onset_prob: float = 0.5
    offset_prob: float = 0.35
    min_speech_s: float = 0.12
    min_silence_s: float = 0.25
    pad_s: float = 0.05

    def __post_init__(self):
        if not 0 < self.offset_prob <= self.onset_prob < 1:
            raise ValueError("VAD thresholds need 0 < offset_prob <= onset_prob < 1")
        for name in ("min_speech_s", "min_silence_s", "pad_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"VAD {name} cannot be negative")


def vad_model_identity() -> dict:
    import faster_whisper

    return {"name": "silero-vad v6 (onnx, from faster-whisper)", "faster_whisper": faster_whisper.__version__}


def speech_probabilities(samples_16k: np.ndarray) -> np.ndarray:
    """Silero's speech probability for each 32 ms frame (frame i covers i*32 ms to (i+1)*32 ms)."""
    from faster_whisper.vad import get_vad_model

    x = np.asarray(samples_16k, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("speech_probabilities expects mono 16 kHz samples (one dimension)")
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.pad(x, (0, (-x.size) % WINDOW_SAMPLES))
    return np.asarray(get_vad_model()(padded), dtype=np.float32).reshape(-1)


def speech_probabilities_in_blocks(audio: Audio16k, *, block_frames: int = BLOCK_FRAMES,
                                   margin_frames: int = 128 * WINDOW_SAMPLES) -> np.ndarray:
    """``speech_probabilities`` of a whole recording read block by block (bounded memory); each
    block starts ``margin_frames`` early so silero's recurrent state has settled by its first frame."""
    if block_frames % WINDOW_SAMPLES or margin_frames % WINDOW_SAMPLES:
        raise ValueError(f"block_frames and margin_frames must be multiples of {WINDOW_SAMPLES}")
    parts = []
    for start, stop, left, samples in blocks_16k(audio, block_frames=block_frames, margin_frames=margin_frames):
        probs = speech_probabilities(samples[: left + stop - start])
        parts.append(probs[left // WINDOW_SAMPLES:])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def regions_from_probabilities(probs: np.ndarray, *, options: VadOptions = VadOptions(),
                               duration_s: float | None = None) -> list[tuple[float, float]]:
    """Speech regions ``[(start_s, end_s), ...]`` from frame probabilities, by hysteresis."""
    regions: list[list[float]] = []
    speaking = False
    start = 0
    for i, p in enumerate(probs):
        if not speaking and p >= options.onset_prob:
            speaking, start = True, i
        elif speaking and p < options.offset_prob:
            speaking = False
            regions.append([start * FRAME_S, i * FRAME_S])
    if speaking:
        regions.append([start * FRAME_S, len(probs) * FRAME_S])
    merged: list[list[float]] = []
    for r in regions:
        if merged and r[0] - merged[-1][1] < options.min_silence_s:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    end_limit = duration_s if duration_s is not None else len(probs) * FRAME_S
    out = []
    for a, b in merged:
        if b - a < options.min_speech_s:
            continue
        out.append((max(0.0, a - options.pad_s), min(end_limit, b + options.pad_s)))
    return out


def speech_regions(samples_16k: np.ndarray, *, options: VadOptions = VadOptions()) -> list[tuple[float, float]]:
    probs = speech_probabilities(samples_16k)
    regions = regions_from_probabilities(probs, options=options, duration_s=len(samples_16k) / SAMPLE_RATE_HZ)
    logger.debug("VAD: %d speech regions, %.1f s of speech", len(regions), sum(b - a for a, b in regions))
    return regions
