"""Decoding: any common audio or video file to float32 samples, original channels kept.

The original file is only ever opened for reading. ``soundfile`` (libsndfile) reads wav, flac,
ogg and mp3 quickly; everything else (m4a/aac, opus in webm, the audio track of mp4/mov) goes
through PyAV's bundled FFmpeg.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from capture.record import AudioInfo

logger = logging.getLogger("tonescribe.decode")

ASR_SAMPLE_RATE_HZ = 16000
AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .mp3 .m4a .aac .ogg .oga .opus .webm .mp4 .mov .aif .aiff .wma .mka .3gp".split()
)


class DecodeError(Exception):
    """The file could not be read as audio; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: cannot decode: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class Audio:
    """A recording held in memory at its own rate (short clips, tests). Offers the 16 kHz reading
    interface of ``capture.audio16k.Audio16k`` too, resampling once on first use."""

    samples: np.ndarray  # (channels, frames) float32 in [-1, 1] at the file's own rate
    sample_rate_hz: int
    info: AudioInfo
    _16k: dict = field(default_factory=dict, repr=False)

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    def channel_16k(self, channel: int) -> np.ndarray:
        if channel not in self._16k:
            self._16k[channel] = resample(self.samples[channel], self.sample_rate_hz, ASR_SAMPLE_RATE_HZ)
        return self._16k[channel]

    def mono_16k(self) -> np.ndarray:
        if "mono" not in self._16k:
            self._16k["mono"] = resample(self.samples.mean(axis=0), self.sample_rate_hz, ASR_SAMPLE_RATE_HZ)
        return self._16k["mono"]

    @property
    def frames_16k(self) -> int:
        return len(self.mono_16k())

    def read_16k(self, start: int = 0, stop: int | None = None, *, channel: int | None = None) -> np.ndarray:
        whole = self.mono_16k() if channel is None else self.channel_16k(channel)
        return whole[max(0, start): stop]


def resample(signal: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    if from_hz == to_hz:
        return signal
    import soxr

    return soxr.resample(signal, from_hz, to_hz, quality="HQ").astype(np.float32, copy=False)


def sha256_of(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def load_audio(path: str | Path) -> Audio:
    """Read ``path`` whole into memory without modifying it (short recordings, tests; the pipeline
    streams instead: ``capture.audio16k``). Raises ``DecodeError`` with a one-line reason."""
    path = Path(path)
    with open_native(path) as reader:
        blocks = list(reader.blocks())
    if not blocks:
        raise DecodeError(path, "the file holds no audio samples")
    samples = np.ascontiguousarray(np.concatenate(blocks).T)
    info = AudioInfo(
        path=str(path.resolve()),
        sha256=sha256_of(path),
        duration_s=round(samples.shape[1] / reader.rate, 6),
        sample_rate_hz=int(reader.rate),
        channels=int(samples.shape[0]),
        format=reader.format,
        codec=reader.codec,
    )
    logger.debug("decoded %s: %d ch, %d Hz, %.2f s", path, info.channels, reader.rate, info.duration_s)
    return Audio(samples=samples, sample_rate_hz=int(reader.rate), info=info)


class NativeReader:
    """An open recording read block by block at its own rate: ``blocks()`` yields float32 arrays
    shaped (frames, channels); every problem becomes a ``DecodeError`` naming the file."""

    block_s = 10.0

    def __init__(self, path: Path):
        self.path = path
        self.rate = 0
        self.channels = 0
        self.format = self.codec = ""
        self._close = lambda: None
        self._blocks = None

    def __enter__(self) -> "NativeReader":
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def blocks(self) -> Iterator[np.ndarray]:
        for block in self._blocks():
            if not np.isfinite(block).all():
                raise DecodeError(self.path, "the decoded audio contains invalid (NaN or infinite) samples")
            if block.shape[0]:
                yield block


def open_native(path: str | Path) -> NativeReader:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DecodeError(path, exc.strerror or str(exc)) from None
    if not path.is_file():
        raise DecodeError(path, "not a regular file")
    if size == 0:
        raise DecodeError(path, "the file is empty (0 bytes)")
    reader = NativeReader(path)
    try:
        _open_soundfile(reader)
    except _NotForSoundfile:
        _open_pyav(reader)
    return reader


class _NotForSoundfile(Exception):
    pass


def _open_soundfile(reader: NativeReader) -> None:
    import soundfile as sf

    _check_riff_size(reader.path)
    try:
        fh = sf.SoundFile(str(reader.path))
    except sf.LibsndfileError as exc:
        raise _NotForSoundfile(str(exc)) from None
    except RuntimeError as exc:  # libsndfile reports some corrupt streams this way
        raise DecodeError(reader.path, f"corrupt audio data ({exc})") from None
    reader.rate, reader.channels = fh.samplerate, fh.channels
    reader.format, reader.codec = fh.format.lower(), fh.subtype.lower()
    reader._close = fh.close

    def blocks():
        declared, read = fh.frames, 0
        try:
            while True:
                data = fh.read(max(1, int(reader.block_s * fh.samplerate)), dtype="float32", always_2d=True)
                if not data.shape[0]:
                    break
                read += data.shape[0]
                yield data
        except RuntimeError as exc:
            raise DecodeError(reader.path, f"corrupt audio data ({exc})") from None
        if declared > 0 and read < declared * 0.99:
            raise DecodeError(reader.path, f"the file is truncated: header promises {declared} frames, only {read} present")

    reader._blocks = blocks


def _check_riff_size(path: Path) -> None:
    """libsndfile quietly reads what is there of a cut-off WAV; its data chunk header still says
    how long it was meant to be."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        size = path.stat().st_size
        while chunk := fh.read(8):
            if len(chunk) < 8:
                return
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                missing = fh.tell() + length - size
                if length != 0xFFFFFFFF and missing > 0:
                    raise DecodeError(path, f"the file is truncated: {missing} bytes of audio data are missing")
                return
            fh.seek(length + (length & 1), 1)


def _open_pyav(reader: NativeReader) -> None:
    import av

    path = reader.path
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise DecodeError(path, f"not a readable audio or video file ({_short(exc)})") from None
    reader._close = container.close
    if not container.streams.audio:
        container.close()
        raise DecodeError(path, "the file has no audio track")
    stream = container.streams.audio[0]
    reader.channels = stream.codec_context.channels or 1
    reader.rate = stream.codec_context.sample_rate or stream.rate
    reader.format, reader.codec = container.format.name.split(",")[0], stream.codec_context.name
    layout = stream.codec_context.layout.name if stream.codec_context.layout else None

    def blocks():
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=reader.rate)
        pending: list[np.ndarray] = []
        held = decoded = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.append(_planar(out.to_ndarray(), reader.channels))
                    held += pending[-1].shape[1]
                if held >= reader.block_s * reader.rate:
                    decoded += held
                    yield np.concatenate(pending, axis=1).T
                    pending, held = [], 0
            for out in resampler.resample(None):
                pending.append(_planar(out.to_ndarray(), reader.channels))
        except av.error.FFmpegError as exc:
            if not decoded and not pending:
                raise DecodeError(path, f"corrupt audio data ({_short(exc)})") from None
            raise DecodeError(path, f"the audio stream is damaged part-way through ({_short(exc)})") from None
        if pending:
            decoded += sum(p.shape[1] for p in pending)
            yield np.concatenate(pending, axis=1).T
        if not decoded:
            raise DecodeError(path, "the audio track holds no decodable samples")

    reader._blocks = blocks


def _planar(data: np.ndarray, channels: int) -> np.ndarray:
    data = data.astype(np.float32, copy=False)
    if data.shape[0] != channels and data.shape[0] == 1:
        data = data.reshape(channels, -1)
    return data


def _short(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if ":" in text else text
