"""Every supported container/codec, sample rate, bit depth and channel count decodes, with the
channel layout kept and the original untouched; bad files give one clear error."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from capture.decode import DecodeError, load_audio, sha256_of

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (Debian package) makes the fixtures")


def _tone_wav(path: Path, *, sr: int, channels: int, subtype: str = "PCM_16", seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    data = np.stack([0.3 * np.sin(2 * np.pi * (440 + 110 * c) * t) for c in range(channels)], axis=1)
    sf.write(path, data, sr, subtype=subtype)
    return data


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _dominant_hz(signal: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * sr / len(signal))


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_any_rate_and_depth(tmp_path, sr, subtype):
    path = tmp_path / "x.wav"
    _tone_wav(path, sr=sr, channels=1, subtype=subtype)
    audio = load_audio(path)
    assert audio.info.sample_rate_hz == sr and audio.info.channels == 1
    assert audio.duration_s == pytest.approx(1.0, abs=1e-3)
    assert _dominant_hz(audio.mono_16k(), 16000) == pytest.approx(440, abs=2)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_layout_kept_and_resampled_for_asr(tmp_path, channels):
    path = tmp_path / "x.flac"
    _tone_wav(path, sr=44100, channels=channels)
    audio = load_audio(path)
    assert audio.samples.shape[0] == channels
    for c in range(channels):
        assert _dominant_hz(audio.channel_16k(c), 16000) == pytest.approx(440 + 110 * c, abs=2)
    assert audio.mono_16k().shape == (16000,)


ENCODINGS = {
    "mp3": ["-c:a", "libmp3lame"],
    "m4a": ["-c:a", "aac"],
    "aac": ["-c:a", "aac", "-f", "adts"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus"],
    "webm": ["-c:a", "libopus"],
}


@pytest.mark.parametrize("ext", sorted(ENCODINGS))
@pytest.mark.parametrize("channels", [1, 2])
def test_compressed_formats(tmp_path, ext, channels):
    source = tmp_path / "source.wav"
    _tone_wav(source, sr=48000, channels=channels, seconds=2.0)
    path = tmp_path / f"x.{ext}"
    _ffmpeg("-i", str(source), *ENCODINGS[ext], str(path))
    audio = load_audio(path)
    assert audio.info.channels == channels
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert _dominant_hz(audio.channel_16k(0), 16000) == pytest.approx(440, abs=3)


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_audio_track_of_video(tmp_path, ext):
    source = tmp_path / "source.wav"
    _tone_wav(source, sr=44100, channels=2, seconds=2.0)
    path = tmp_path / f"clip.{ext}"
    _ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=64x48:d=2", "-i", str(source), "-shortest",
            "-c:v", "mpeg4", "-c:a", "aac", str(path))
    audio = load_audio(path)
    assert audio.info.channels == 2
    assert audio.duration_s == pytest.approx(2.0, abs=0.15)
    assert _dominant_hz(audio.channel_16k(1), 16000) == pytest.approx(550, abs=3)


def test_original_is_not_modified(tmp_path):
    path = tmp_path / "x.wav"
    _tone_wav(path, sr=16000, channels=2)
    before, mtime = sha256_of(path), path.stat().st_mtime_ns
    audio = load_audio(path)
    assert audio.info.sha256 == before == sha256_of(path)
    assert path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.wav", b"", "empty"),
        ("noise.wav", bytes(range(256)) * 40, "not a readable"),
        ("notes.mp3", b"These are my interview notes, not audio.\n" * 50, "not a readable"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DecodeError) as info:
        load_audio(path)
    message = str(info.value)
    assert str(path) in message and reason in message and "\n" not in message


def test_truncated_wav_is_reported(tmp_path):
    path = tmp_path / "cut.wav"
    _tone_wav(path, sr=16000, channels=1, seconds=2.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError, match="truncated"):
        load_audio(path)


def test_video_without_audio_track(tmp_path):
    path = tmp_path / "silent.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x48:d=1", "-c:v", "mpeg4", str(path))
    with pytest.raises(DecodeError, match="no audio track"):
        load_audio(path)
