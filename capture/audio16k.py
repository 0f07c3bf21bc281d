"""A recording decoded once to 16 kHz float32 files on disk and read back in blocks.

Long recordings must not need memory in proportion to their length: two hours of 48 kHz stereo
is 2.8 GB as float32. ``decode_to_folder`` streams the file block by block (libsndfile, or PyAV
for everything else), resamples each channel to 16 kHz with a streaming soxr resampler (the same
samples as resampling in one go) and appends them to one file per channel plus the mono mix.
Stages then read the stretch they need (``read_16k``) or walk the recording in blocks
(``blocks_16k``). The folder is private (0700) and removed when the recording is done.

``capture.decode.Audio`` (everything in memory, for short clips and tests) offers the same
reading interface, so every stage accepts either.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Protocol

import numpy as np

from capture.decode import ASR_SAMPLE_RATE_HZ, DecodeError, open_native, sha256_of
from capture.quality import ClipCounter, Clipping, QualityOptions
from capture.record import AudioInfo

logger = logging.getLogger("tonescribe.audio16k")

SCRATCH_PREFIX = "tonescribe-decoded-"
# A block of 300 s is a whole number of every frame grid used on it: 10 ms (160 samples), SwiftF0's
# 16 ms (256), silero's 32 ms (512) and 50 ms (800).
BLOCK_FRAMES = 300 * ASR_SAMPLE_RATE_HZ


class Audio16k(Protocol):
    """What the stages need of a recording: its facts and its 16 kHz samples, by stretch."""

    info: AudioInfo

    @property
    def frames_16k(self) -> int: ...

    def read_16k(self, start: int = 0, stop: Optional[int] = None, *, channel: Optional[int] = None) -> np.ndarray:
        """Samples ``start:stop`` (16 kHz frames) of one channel, or of the mono mix when ``channel`` is None."""
        ...


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    info: AudioInfo
    folder: Path
    frames_16k: int
    clipping: Optional[Clipping] = None  # counted on the samples at the file's own rate

    def _file(self, channel: Optional[int]) -> Path:
        if channel is None:
            return self.folder / ("ch0.f32" if self.info.channels == 1 else "mono.f32")
        if not 0 <= channel < self.info.channels:
            raise ValueError(f"channel {channel} does not exist: the recording has {self.info.channels}")
        return self.folder / f"ch{channel}.f32"

    def read_16k(self, start: int = 0, stop: Optional[int] = None, *, channel: Optional[int] = None) -> np.ndarray:
        start = max(0, int(start))
        stop = self.frames_16k if stop is None else min(self.frames_16k, int(stop))
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        with open(self._file(channel), "rb") as fh:
            fh.seek(start * 4)
            return np.fromfile(fh, dtype=np.float32, count=stop - start)

    def mono_16k(self) -> np.ndarray:
        """The whole mono mix at once (for a backend that takes nothing else)."""
        return self.read_16k()


def decode_to_folder(path: str | Path, folder: str | Path, *, quality: QualityOptions = QualityOptions()) -> DecodedAudio:
    """Decode ``path`` (never written to) into 16 kHz float32 files in ``folder``, counting
    clipped samples on the way (``quality`` says what counts). Raises ``DecodeError`` with a
    one-line reason, as ``capture.decode.load_audio`` does."""
    import soxr

    path, folder = Path(path), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    native = written = 0
    with open_native(path) as reader:
        channels = reader.channels
        names = [f"ch{c}.f32" for c in range(channels)] + (["mono.f32"] if channels > 1 else [])
        outputs = [open(folder / name, "wb") for name in names]
        resampler = None
        clips = ClipCounter(sr=reader.rate, channels=channels, options=quality)
        if reader.rate != ASR_SAMPLE_RATE_HZ:
            resampler = soxr.ResampleStream(reader.rate, ASR_SAMPLE_RATE_HZ, channels, dtype="float32", quality="HQ")

        def write(out: np.ndarray) -> int:
            for c in range(channels):
                np.ascontiguousarray(out[:, c]).tofile(outputs[c])
            if channels > 1:
                out.mean(axis=1, dtype=np.float32).tofile(outputs[-1])
            return out.shape[0]

        try:
            for block in reader.blocks():
                if block.shape[1] != channels:
                    raise DecodeError(path, f"the stream changes from {channels} to {block.shape[1]} channels")
                native += block.shape[0]
                block = np.ascontiguousarray(block)
                clips.add(block)
                written += write(block if resampler is None else resampler.resample_chunk(block))
            if resampler is not None:
                written += write(resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True))
        finally:
            for fh in outputs:
                fh.close()
    if native == 0:
        raise DecodeError(path, "the file holds no audio samples")
    info = AudioInfo(path=str(path.resolve()), sha256=sha256_of(path), duration_s=round(native / reader.rate, 6),
                     sample_rate_hz=int(reader.rate), channels=channels, format=reader.format, codec=reader.codec)
    logger.debug("decoded %s to %s: %d ch, %d Hz, %.2f s", path, folder, channels, reader.rate, info.duration_s)
    return DecodedAudio(info=info, folder=folder, frames_16k=written, clipping=clips.result())


def scratch_folder(parent: Optional[str | Path] = None) -> Path:
    """A new private folder for one recording's decoded samples (under ``parent``, else the
    system's temporary folder, which ``TMPDIR`` sets). Folders left by processes that were killed
    are removed first: they hold decoded interview audio."""
    base = Path(parent) if parent else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    _remove_stale(base)
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=base))


def _remove_stale(base: Path) -> None:
    for folder in base.glob(f"{SCRATCH_PREFIX}*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            logger.info("removing decoded samples left by stopped process %s: %s", pid, folder)
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def blocks_16k(audio: Audio16k, *, block_frames: int = BLOCK_FRAMES, margin_frames: int = 0,
               channel: Optional[int] = None) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """Walk the recording: ``(start, stop, left, samples)`` per block, where ``samples`` covers
    ``start - left`` to ``stop + margin`` (both margins cut at the recording's ends)."""
    if block_frames <= 0 or margin_frames < 0:
        raise ValueError("block_frames must be positive and margin_frames not negative")
    total = audio.frames_16k
    for start in range(0, max(total, 1), block_frames):
        stop = min(total, start + block_frames)
        left = min(start, margin_frames)
        yield start, stop, left, audio.read_16k(start - left, stop + margin_frames, channel=channel)


def framewise_in_blocks(audio: Audio16k, frames_of, *, hop_frames: int, margin_frames: int,
                        channel: Optional[int] = None, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """``frames_of(samples)`` over the whole recording, computed block by block with
    ``margin_frames`` of context on each side. ``frames_of`` returns one value per ``hop_frames``
    (frame ``j`` at sample ``j * hop``), or a (tracks, frames) array of several such measures.
    Gives the frames of one call on the whole signal wherever the margins cover the measures'
    reach; ``block_frames`` and ``margin_frames`` must be multiples of every grid the measures use."""
    if block_frames % hop_frames or margin_frames % hop_frames:
        raise ValueError("block_frames and margin_frames must be whole multiples of hop_frames")
    n_out = audio.frames_16k // hop_frames + 1
    out = None
    for start, stop, left, samples in blocks_16k(audio, block_frames=block_frames, margin_frames=margin_frames,
                                                 channel=channel):
        values = np.asarray(frames_of(samples), dtype=np.float64)
        tracks = np.atleast_2d(values)
        if out is None:
            out = np.full((tracks.shape[0], n_out), np.nan)
        first = start // hop_frames
        last = n_out if stop >= audio.frames_16k else stop // hop_frames
        skip = left // hop_frames
        take = tracks[:, skip: skip + last - first]
        if 0 < take.shape[1] < last - first:  # a measure's own frame count rounds down at the very end
            take = np.pad(take, ((0, 0), (0, last - first - take.shape[1])), mode="edge")
        out[:, first: first + take.shape[1]] = take
    return out[0] if values.ndim == 1 else out
