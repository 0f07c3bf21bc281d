"""Long recordings in bounded memory: streamed decoding to 16 kHz files, stages that read blocks
and give the numbers of one pass, recognition in blocks cut at pauses, and a peak-memory check."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from capture.audio16k import DecodedAudio, decode_to_folder, framewise_in_blocks, scratch_folder
from capture.decode import DecodeError, load_audio
from prosody.measure import ProsodyOptions, _tracks, tracks_in_blocks
from transcribe.embeddings import mel_frames, mel_frames_in_blocks
from transcribe.longform import BlockOptions, block_plan, transcribe_in_blocks

REPO = Path(__file__).resolve().parents[1]


def _speechlike(seconds: float, *, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Harmonic 'syllables' with gliding F0 and noise bursts, separated by short silences."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = (np.sin(2 * np.pi * 2.5 * t) > -0.2).astype(float)
    out = [0.2 * voiced * envelope + 0.02 * rng.normal(size=t.size) * (1 - envelope) for _ in range(channels)]
    for c in range(1, channels):
        out[c] = np.roll(out[c], 1234 * c) * 0.5
    return np.stack(out, axis=1).astype(np.float32)


@pytest.mark.parametrize("ext,sr,channels", [("wav", 44100, 2), ("flac", 48000, 1), ("wav", 16000, 1), ("m4a", 48000, 2)])
def test_streamed_decoding_gives_the_samples_of_decoding_whole(tmp_path, ext, sr, channels):
    data = _speechlike(23.0, sr=sr, channels=channels)  # longer than the reader's 10 s blocks
    path = tmp_path / f"x.{ext}"
    if ext == "m4a":
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg (Debian package) makes the m4a fixture")
        sf.write(tmp_path / "src.wav", data, sr)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp_path / "src.wav"), "-c:a", "aac", str(path)],
                       check=True)
    else:
        sf.write(path, data, sr)
    whole = load_audio(path)
    streamed = decode_to_folder(path, tmp_path / "decoded")
    assert streamed.info == whole.info
    assert streamed.frames_16k == whole.frames_16k
    for c in range(channels):
        np.testing.assert_allclose(streamed.read_16k(channel=c), whole.channel_16k(c), atol=1e-6)
    np.testing.assert_allclose(streamed.read_16k(), whole.mono_16k(), atol=1e-6)
    np.testing.assert_array_equal(streamed.read_16k(16000, 32000), streamed.read_16k()[16000:32000])


def test_streamed_decoding_reports_a_truncated_file(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _speechlike(3.0, sr=16000), 16000)
    path.write_bytes(path.read_bytes()[:-20000])
    with pytest.raises(DecodeError, match="truncated"):
        decode_to_folder(path, tmp_path / "decoded")


def test_scratch_folders_of_dead_processes_are_removed(tmp_path):
    stale = tmp_path / "tonescribe-decoded-999999999-abc"
    stale.mkdir()
    (stale / "ch0.f32").write_bytes(b"\0" * 16)
    fresh = scratch_folder(tmp_path)
    assert fresh.is_dir() and not stale.exists()
    assert (fresh.stat().st_mode & 0o777) == 0o700


def _decoded(tmp_path, seconds: float, *, channels: int = 1) -> DecodedAudio:
    path = tmp_path / "long.wav"
    sf.write(path, _speechlike(seconds, sr=16000, channels=channels), 16000)
    return decode_to_folder(path, tmp_path / "decoded")


def test_prosody_tracks_in_blocks_equal_one_pass(tmp_path):
    audio = _decoded(tmp_path, 47.3)
    options = ProsodyOptions()
    whole = _tracks(audio.read_16k(), options)
    blocked = np.stack(tracks_in_blocks(audio, options, block_frames=160000))  # ten-second blocks
    assert blocked.shape == whole.shape
    assert np.array_equal(np.isnan(blocked), np.isnan(whole))
    np.testing.assert_allclose(np.nan_to_num(blocked), np.nan_to_num(whole), atol=1e-6)


def test_framewise_in_blocks_keeps_every_frame_once(tmp_path):
    """A signal that holds its own sample index: frame j of the stitched result must read j * 160."""
    n = int(12.345 * 16000)
    path = tmp_path / "ramp.wav"
    sf.write(path, (np.arange(n) / 2**20).astype(np.float32), 16000, subtype="FLOAT")
    audio = decode_to_folder(path, tmp_path / "decoded")
    positions = framewise_in_blocks(audio, lambda x: x[::160].astype(np.float64) * 2**20,
                                    hop_frames=160, margin_frames=1600, block_frames=16000)
    assert positions.size == n // 160 + 1
    np.testing.assert_array_equal(positions[:-1], np.arange(positions.size - 1) * 160.0)


def test_speaker_features_in_blocks_equal_one_pass(tmp_path):
    audio = _decoded(tmp_path, 33.3)
    np.testing.assert_allclose(mel_frames_in_blocks(audio, block_frames=80000), mel_frames(audio.read_16k()),
                               rtol=1e-5, atol=1e-7)


def test_blocks_are_cut_in_pauses_and_cover_the_recording(tmp_path):
    sr = 16000
    rng = np.random.default_rng(3)
    x = (0.1 * rng.normal(size=40 * sr)).astype(np.float32)
    pauses = [(7.2, 7.8), (15.5, 16.0), (24.1, 24.6), (33.0, 33.5)]
    for a, b in pauses:
        x[int(a * sr): int(b * sr)] *= 0.001
    path = tmp_path / "x.wav"
    sf.write(path, x, sr)
    audio = decode_to_folder(path, tmp_path / "decoded")
    plan = block_plan(audio, options=BlockOptions(max_block_s=9.0, search_s=3.0))
    assert plan[0][0] == 0 and plan[-1][1] == audio.frames_16k
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))
    assert all(b - a <= 9 * sr for a, b in plan)
    for _, cut in plan[:-1]:
        assert any(a <= cut / sr <= b for a, b in pauses), cut / sr


@pytest.mark.slow
def test_recognition_in_blocks_matches_one_pass(corpus_dir, tmp_path):
    from transcribe.asr import AsrOptions, Recognizer

    audio = decode_to_folder(corpus_dir / "jfk" / "jfk.flac", tmp_path / "decoded")
    recognizer = Recognizer(AsrOptions())
    one = recognizer.transcribe(audio.read_16k())
    blocks = transcribe_in_blocks(recognizer, audio, options=BlockOptions(max_block_s=5.0, search_s=2.0))
    assert len(block_plan(audio, options=BlockOptions(max_block_s=5.0, search_s=2.0))) >= 3

    def text(result):
        return [w.text.strip(",.!?").lower() for w in result.words]

    # Five-second blocks are far shorter than the real ones (ten minutes) and take Whisper's text
    # context away at every cut; the words must still come out nearly the same, at the same times.
    matcher = difflib.SequenceMatcher(a=text(one), b=text(blocks), autojunk=False)
    pairs = [(one.words[m.a + k], blocks.words[m.b + k]) for m in matcher.get_matching_blocks() for k in range(m.size)]
    assert len(pairs) >= 0.85 * len(one.words)
    assert np.median([abs(a.start_s - b.start_s) for a, b in pairs]) < 0.1
    starts = [w.start_s for w in blocks.words]
    assert starts == sorted(starts) and starts[-1] > 8.0


MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys, tempfile
    from capture.audio16k import decode_to_folder
    from prosody.measure import ProsodyOptions, tracks_in_blocks
    from transcribe.embeddings import mel_frames_in_blocks
    from transcribe.vad import speech_probabilities_in_blocks
    import numpy as np
    audio = decode_to_folder(sys.argv[1], tempfile.mkdtemp())
    f0, db, high, change = tracks_in_blocks(audio, ProsodyOptions())
    probs = speech_probabilities_in_blocks(audio)
    mel = mel_frames_in_blocks(audio)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "frames": int(db.size), "minutes": audio.info.duration_s / 60}))
""")


@pytest.mark.slow
def test_peak_memory_does_not_follow_the_recording_length(tmp_path):
    """20 minutes of 48 kHz stereo would be 920 MB as float32; decoding and the block-reading
    stages must not come near holding it."""

    def probe(minutes: int) -> dict:
        path = tmp_path / f"{minutes}min.wav"
        minute = _speechlike(60.0, sr=48000, channels=2)
        with sf.SoundFile(path, "w", samplerate=48000, channels=2, subtype="PCM_16") as fh:
            for _ in range(minutes):
                fh.write(minute)
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                             cwd=REPO, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    short, long = probe(2), probe(20)
    assert long["minutes"] == pytest.approx(20, abs=0.01)
    assert long["frames"] == 20 * 6000 + 1
    assert long["peak_mb"] - short["peak_mb"] < 150, (short, long)


@pytest.mark.slow
def test_decoded_samples_live_in_the_scratch_folder_only_while_processing(corpus_dir, tmp_path):
    from capture.pipeline import Engine, ProcessOptions
    from transcribe.diarize import SpeakerOptions

    scratch = tmp_path / "scratch"
    seen: list[list[str]] = []

    def hook(stage, event, info):
        if stage == "prosody" and event == "start":
            seen.append(sorted(p.name for p in scratch.glob("*/*")))

    engine = Engine(ProcessOptions(speakers=SpeakerOptions(mode="none")), hook=hook, scratch_dir=scratch)
    transcript = engine.process(corpus_dir / "jfk" / "jfk.flac")
    assert transcript.words
    assert seen == [["ch0.f32", "ch1.f32", "mono.f32"]]
    assert list(scratch.iterdir()) == []
