"""`tonescribe process` end to end with the real default model on the committed sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile as sf

from capture.decode import sha256_of

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "capture" / "samples" / "dialogue.flac"
SCHEMA = json.loads((REPO / "capture/schema/transcript.schema.json").read_text())

pytestmark = pytest.mark.slow


def tonescribe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "capture.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    work = tmp_path_factory.mktemp("process")
    before = sha256_of(SAMPLE)
    result = tonescribe("process", str(SAMPLE), "--out", str(work / "out"), cwd=work)
    assert result.returncode == 0, result.stderr
    assert sha256_of(SAMPLE) == before
    return work / "out" / "dialogue", result


def test_prints_where_the_transcript_is(processed):
    folder, result = processed
    assert str(folder) in result.stdout


def test_transcript_json_is_complete_and_valid(processed):
    folder, _ = processed
    data = json.loads((folder / "transcript.json").read_text())
    jsonschema.validate(data, SCHEMA)
    text = " ".join(w["text"] for w in data["words"]).lower()
    for expected in ("first week", "honestly", "hard", "team was kind", "every evening"):
        assert expected in text
    assert data["pipeline"]["models"]["asr"]["name"] == "tiny.en"
    assert data["pipeline"]["device"] == "cpu"
    assert set(data["pipeline"]["timings_s"]) >= {"model_load", "decode", "asr", "diarization", "prosody", "total"}
    voiced = [w for w in data["words"] if w["prosody"]["f0_mean_hz"]]
    assert len(voiced) > 0.8 * len(data["words"])
    assert len(data["pitch"]["f0_hz"]) == len(data["intensity"]["db"]) == pytest.approx(data["audio"]["duration_s"] / 0.01, abs=2)
    quality = data["quality"]  # a clean synthesised dialogue: nothing to warn of
    assert quality["warnings"] == [] and quality["clipped_fraction"] == 0 and quality["noise_measured_in"] == "pauses"
    assert quality["snr_db"] > 40 and data["pipeline"]["options"]["quality"]["min_snr_db"] == 20.0


def test_the_synthesised_breaks_are_found(processed):
    folder, _ = processed
    data = json.loads((folder / "transcript.json").read_text())
    words = data["words"]
    # "Honestly? <break 700 ms/> It was hard": a pause of at least the break after "Honestly"
    i = next(i for i, w in enumerate(words) if w["text"].lower().startswith("honestly"))
    pause = next(p for p in data["pauses"] if words[i]["start_s"] < p["start_s"] < words[i + 1]["end_s"])
    assert pause["duration_s"] >= 0.65


def test_text_and_rttm_outputs(processed):
    folder, _ = processed
    text = (folder / "transcript.txt").read_text()
    assert "[00:00.0]" in text and "(0.7)" in text
    rttm = (folder / "diarization.rttm").read_text().splitlines()
    assert rttm and all(line.split()[0] == "SPEAKER" and len(line.split()) == 10 for line in rttm)
    assert not list(folder.parent.glob(".*partial*"))


def test_omit_leaves_marks_out_of_the_notations_and_exports_not_the_record(tmp_path):
    result = tonescribe("process", str(SAMPLE), "--out", str(tmp_path / "out"), "--omit", "emphasis",
                        "--export", "docx,csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "dialogue"
    marks = json.loads((folder / "transcript.json").read_text())["marks"]
    assert any(m["type"] == "emphasis" for m in marks)  # the sample has stressed words
    jefferson = (folder / "transcript.jefferson.txt").read_text(encoding="utf-8")
    assert "\u0332" not in jefferson and jefferson.splitlines()[0].endswith("; not transcribed: emphasis")
    assert "mark_emphasis" not in (folder / "dialogue.words.csv").read_text(encoding="utf-8").splitlines()[0]
    assert (folder / "dialogue.docx").stat().st_size > 0


def test_bad_file_fails_alone(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    result = tonescribe("process", str(bad), str(SAMPLE), "--out", str(tmp_path / "out"), "-q", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "broken.wav" in line]
    assert len(errors) == 1 and "cannot decode" in errors[0]
    assert not (tmp_path / "out" / "broken").exists()
    assert (tmp_path / "out" / "dialogue" / "transcript.json").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dialogue"]


def test_a_clipped_recording_is_processed_and_says_so(tmp_path):
    """The sample 20 dB too hot, cut at full scale as a recorder would: a warning in the log, the
    quality record and the transcripts' first line; the marks are made as ever."""
    samples, sr = sf.read(SAMPLE, dtype="float64")
    hot = tmp_path / "hot.wav"
    sf.write(hot, np.clip(samples * 10, -1.0, 1.0), sr, subtype="PCM_16")
    result = tonescribe("process", str(hot), "--out", "out", "-q", "--speakers", "none", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (warning,) = [line for line in result.stderr.splitlines() if "clipped at full scale" in line]
    assert "WARNING" in warning and "hot.wav" in warning
    folder = tmp_path / "out" / "hot"
    quality = json.loads((folder / "transcript.json").read_text())["quality"]
    assert quality["clipped_fraction"] > 0.001 and quality["peak_dbfs"] == pytest.approx(0.0, abs=0.01)
    assert [w["code"] for w in quality["warnings"]] == ["clipping"]
    for name in ("transcript.txt", "transcript.jefferson.txt", "transcript.gat2.txt"):
        first = (folder / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.endswith(f"; quality: {100 * quality['clipped_fraction']:.1f} % clipped"), first


def test_same_names_get_a_suffix(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "dialogue.flac").write_bytes(SAMPLE.read_bytes()[:])
    result = tonescribe("process", "a/dialogue.flac", "b/dialogue.flac", "--out", "out", "-q", "--speakers", "none",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dialogue", "dialogue-2"]


def test_the_same_recording_gives_the_same_transcript_again(processed, tmp_path):
    """All of transcript.json but the stage timings, processed again in another process (README,
    The same transcript on every run)."""
    folder, _ = processed
    result = tonescribe("process", str(SAMPLE), "--out", "out", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    def without_timings(path: Path) -> dict:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["pipeline"].pop("timings_s")["total"] > 0
        return data

    assert without_timings(tmp_path / "out" / "dialogue" / "transcript.json") == without_timings(
        folder / "transcript.json")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_stopped_process_leaves_no_worker_processes_behind(tmp_path, signal_name):
    """Stopped while the aligner's worker processes run: SIGTERM ends it cleanly (exit 143, its
    scratch folder of decoded audio removed, nothing published); after SIGKILL, which nothing
    can catch, the workers see their parent gone and end within seconds instead of waiting for
    work for ever."""
    import signal
    import time

    samples, sr = sf.read(SAMPLE, dtype="float64")
    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([samples] * 3), sr, subtype="PCM_16")  # > 25 s of talk: aligned in workers
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "capture.cli", "process", str(long), "--out", "out",
                             "--speakers", "none"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(scratch)})
    try:
        deadline = time.monotonic() + 300
        while len(workers := _children(proc.pid)) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the aligner's workers never started"
            time.sleep(0.2)
        proc.send_signal(getattr(signal, signal_name))
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), f"worker processes {workers} outlived their parent"
    assert not (tmp_path / "out" / "long").exists()
    if signal_name == "SIGTERM":
        assert proc.returncode == 143 and "stopped (SIGTERM)" in err, (proc.returncode, err)
        assert list(scratch.glob("tonescribe-decoded-*")) == []
