"""Decoding: any common audio or video file to float32 samples, original channels kept.

The original file is only ever opened for reading. ``soundfile`` (libsndfile) reads wav, flac,
ogg and mp3 quickly; everything else (m4a/aac, opus in webm, the audio track of mp4/mov) goes
through PyAV's bundled FFmpeg.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

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
    samples: np.ndarray  # (channels, frames) float32 in [-1, 1] at the file's own rate
    sample_rate_hz: int
    info: AudioInfo

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    def channel_16k(self, channel: int) -> np.ndarray:
        return resample(self.samples[channel], self.sample_rate_hz, ASR_SAMPLE_RATE_HZ)

    def mono_16k(self) -> np.ndarray:
        return resample(self.samples.mean(axis=0), self.sample_rate_hz, ASR_SAMPLE_RATE_HZ)


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
    """Read ``path`` without modifying it. Raises ``DecodeError`` with a one-line reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DecodeError(path, exc.strerror or str(exc)) from None
    if not path.is_file():
        raise DecodeError(path, "not a regular file")
    if size == 0:
        raise DecodeError(path, "the file is empty (0 bytes)")
    try:
        samples, rate, fmt, codec = _read_soundfile(path)
    except _NotForSoundfile:
        samples, rate, fmt, codec = _read_pyav(path)
    if samples.shape[1] == 0:
        raise DecodeError(path, "the file holds no audio samples")
    if not np.isfinite(samples).all():
        raise DecodeError(path, "the decoded audio contains invalid (NaN or infinite) samples")
    info = AudioInfo(
        path=str(path.resolve()),
        sha256=sha256_of(path),
        duration_s=round(samples.shape[1] / rate, 6),
        sample_rate_hz=int(rate),
        channels=int(samples.shape[0]),
        format=fmt,
        codec=codec,
    )
    logger.debug("decoded %s: %d ch, %d Hz, %.2f s", path, info.channels, rate, info.duration_s)
    return Audio(samples=samples, sample_rate_hz=int(rate), info=info)


class _NotForSoundfile(Exception):
    pass


def _read_soundfile(path: Path) -> tuple[np.ndarray, int, str, str]:
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as fh:
            declared = fh.frames
            data = fh.read(dtype="float32", always_2d=True)
            fmt, codec = fh.format, fh.subtype
    except sf.LibsndfileError as exc:
        raise _NotForSoundfile(str(exc)) from None
    except RuntimeError as exc:  # libsndfile reports some corrupt streams this way
        raise DecodeError(path, f"corrupt audio data ({exc})") from None
    if declared > 0 and data.shape[0] < declared * 0.99:
        raise DecodeError(
            path, f"the file is truncated: header promises {declared} frames, only {data.shape[0]} present"
        )
    _check_riff_size(path)
    return np.ascontiguousarray(data.T), fh.samplerate, fmt.lower(), codec.lower()


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


def _read_pyav(path: Path) -> tuple[np.ndarray, int, str, str]:
    import av

    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise DecodeError(path, f"not a readable audio or video file ({_short(exc)})") from None
    with container:
        if not container.streams.audio:
            raise DecodeError(path, "the file has no audio track")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 1
        layout = stream.codec_context.layout.name if stream.codec_context.layout else None
        rate = stream.codec_context.sample_rate or stream.rate
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            if not chunks:
                raise DecodeError(path, f"corrupt audio data ({_short(exc)})") from None
            raise DecodeError(path, f"the audio stream is damaged part-way through ({_short(exc)})") from None
        fmt = container.format.name.split(",")[0]
        codec = stream.codec_context.name
    if not chunks:
        raise DecodeError(path, "the audio track holds no decodable samples")
    data = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if data.shape[0] != channels and data.shape[0] == 1:
        data = data.reshape(channels, -1)
    return np.ascontiguousarray(data), int(rate), fmt, codec


def _short(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if ":" in text else text
