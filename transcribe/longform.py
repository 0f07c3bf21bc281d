"""Recognition of long recordings in blocks cut at quiet moments, so memory stays bounded.

faster-whisper wants the whole signal as one array (plus its mel features and, with the VAD
filter, a second copy of the speech). For a recording longer than ``max_block_s`` the signal is
cut into blocks of at most that length, each cut placed at the quietest moment (lowest level
over ``quiet_window_s``) in the last ``search_s`` before the limit, so a cut falls in a pause,
not in a word. Whisper itself works in 30 s windows, so a cut every few minutes costs it nothing
but the text context across the cut. Shorter recordings are recognised in one piece, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np

from capture.audio16k import Audio16k, blocks_16k
from capture.decode import ASR_SAMPLE_RATE_HZ
from capture.record import replace

logger = logging.getLogger("tonescribe.longform")

LEVEL_HOP = 160  # 10 ms


@dataclass(frozen=True)
class BlockOptions:
    max_block_s: float = 600.0
    search_s: float = 30.0
    quiet_window_s: float = 0.3

    def __post_init__(self):
        if not 0 < self.search_s < self.max_block_s:
            raise ValueError("need 0 < search_s < max_block_s")
        if self.quiet_window_s <= 0:
            raise ValueError("quiet_window_s must be positive")


def block_plan(audio: Audio16k, *, channel: Optional[int] = None,
               options: BlockOptions = BlockOptions()) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` in 16 kHz frames, covering the recording without gaps."""
    total = audio.frames_16k
    limit = int(options.max_block_s * ASR_SAMPLE_RATE_HZ)
    if total <= limit:
        return [(0, total)]
    power = np.concatenate([_frame_power(x) for *_, x in blocks_16k(audio, channel=channel)])
    width = max(1, int(options.quiet_window_s * ASR_SAMPLE_RATE_HZ / LEVEL_HOP))
    smooth = np.convolve(power, np.ones(width) / width, mode="same")
    search = int(options.search_s * ASR_SAMPLE_RATE_HZ / LEVEL_HOP)
    plan, start = [], 0
    while total - start > limit:
        end_frame = (start + limit) // LEVEL_HOP
        window = smooth[end_frame - search: end_frame]
        cut = (end_frame - search + int(np.argmin(window))) * LEVEL_HOP
        plan.append((start, cut))
        start = cut
    plan.append((start, total))
    return plan


def _frame_power(x: np.ndarray) -> np.ndarray:
    n = len(x) // LEVEL_HOP
    head = x[: n * LEVEL_HOP].astype(np.float64).reshape(n, LEVEL_HOP)
    power = (head ** 2).mean(axis=1)
    if len(x) > n * LEVEL_HOP:
        power = np.append(power, float(np.mean(x[n * LEVEL_HOP:].astype(np.float64) ** 2)))
    return power


def transcribe_in_blocks(recognizer, audio: Audio16k, *, channel: Optional[int] = None,
                         speaker: Optional[str] = None, options: BlockOptions = BlockOptions()):
    """``recognizer.transcribe`` over the whole recording (one channel, or the mono mix), block by
    block, word times shifted to the recording's clock. Returns the recognizer's ``AsrResult``
    type; the language is the first block's that had words."""
    plan = block_plan(audio, channel=channel, options=options)
    if len(plan) > 1:
        logger.info("recognising %.0f s in %d blocks", audio.frames_16k / ASR_SAMPLE_RATE_HZ, len(plan))
    words, first, loops = [], None, 0
    for start, stop in plan:
        result = recognizer.transcribe(audio.read_16k(start, stop, channel=channel), speaker=speaker)
        loops += result.redecoded_windows
        offset = start / ASR_SAMPLE_RATE_HZ
        words.extend(replace(w, start_s=round(w.start_s + offset, 3), end_s=round(w.end_s + offset, 3))
                     for w in result.words)
        if first is None or (not first.words and result.words):
            first = result
    return replace(first, words=tuple(words), redecoded_windows=loops)
