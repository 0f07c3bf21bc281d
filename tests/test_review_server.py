"""The review server over real HTTP semantics (Starlette's TestClient, and uvicorn for the command):
Range requests, the Host check, the token, paths outside OUTDIR, edits, the library and search."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from capture.outputs import write_output_dir
from capture.record import AudioInfo, QualityWarning, RecordingQuality, Transcript, replace
from conftest import harmonic_tone
from review.app import create_app
from review.corrections import CORRECTIONS_JSON
from review.library import NotInOutdir, folder_of
from review.security import cookie_name
from test_review_corrections import small_transcript

TOKEN = "test-token-0123456789"
PORT = 8717
BASE = f"http://127.0.0.1:{PORT}"


def _outdir(tmp_path: Path, name: str = "x.wav") -> tuple[Path, Path]:
    audio = tmp_path / "rec" / name
    audio.parent.mkdir()
    sf.write(audio, harmonic_tone(150.0, duration_s=4.0), 16000, subtype="PCM_16")
    t = small_transcript()
    t = replace(t, audio=AudioInfo(path=str(audio), sha256=hashlib.sha256(audio.read_bytes()).hexdigest(),
                                   duration_s=4.0, sample_rate_hz=16000, channels=1, format="wav"))
    out = tmp_path / "out"
    write_output_dir(t, out / "x")
    return out, audio


@pytest.fixture()
def served(tmp_path: Path):
    from starlette.testclient import TestClient

    out, audio = _outdir(tmp_path)
    client = TestClient(create_app(out, token=TOKEN, port=PORT), base_url=BASE, follow_redirects=False)
    client.headers["X-Tonescribe-Token"] = TOKEN
    return client, out, audio


def test_range_requests_return_the_right_bytes(served):
    client, _, audio = served
    data = audio.read_bytes()
    whole = client.get("/audio/x")
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    for header, expected in [("bytes=10-19", data[10:20]), ("bytes=1000-", data[1000:]), ("bytes=-7", data[-7:])]:
        r = client.get("/audio/x", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.content == expected, header
        first = len(data) - len(expected) if header.startswith("bytes=-") else int(header[6:].split("-")[0])
        assert r.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert client.get("/audio/x", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_audio_is_served_only_when_it_is_the_transcripts_recording(served):
    client, _, audio = served
    audio.write_bytes(audio.read_bytes()[:-2] + b"\0\1")  # same path, different content
    r = client.get("/audio/x")
    assert r.status_code == 409 and "not the recording" in r.json()["error"]
    audio.unlink()
    assert client.get("/audio/x").status_code == 404


def test_a_recording_browsers_cannot_play_is_served_as_a_flac_copy(tmp_path: Path):
    import io

    from starlette.testclient import TestClient

    out, audio = _outdir(tmp_path, "x.aiff")
    original = audio.read_bytes()
    client = TestClient(create_app(out, token=TOKEN, port=PORT), base_url=BASE)
    client.headers["X-Tonescribe-Token"] = TOKEN
    r = client.get("/audio/x")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/flac"
    played, sr = sf.read(io.BytesIO(r.content), dtype="int16")
    source, _ = sf.read(audio, dtype="int16")
    assert sr == 16000 and np.array_equal(played, source)
    assert client.get("/audio/x", headers={"Range": "bytes=0-3"}).content == b"fLaC"
    assert [p.name for p in (out / "x").glob(".listen-*.flac")] and audio.read_bytes() == original
    assert [e["id"] for e in client.get("/api/library").json()["recordings"]] == ["x"]


def test_wrong_host_is_refused(served):
    client, _, _ = served
    for host in ("evil.example", "127.0.0.1.evil.example", "attacker.localhost.example:8717"):
        r = client.get("/api/library", headers={"Host": host})
        assert r.status_code == 400, host
    assert client.get("/api/library", headers={"Host": f"localhost:{PORT}"}).status_code == 200


def test_token_is_required(served):
    client, out, _ = served
    del client.headers["X-Tonescribe-Token"]
    for path in ("/", "/api/library", "/api/transcript/x", "/audio/x", "/t/x"):
        assert client.get(path).status_code == 403, path
    assert client.get("/api/library", headers={"X-Tonescribe-Token": "wrong"}).status_code == 403
    edit = {"op": "word.text", "args": {"word": 1, "text": "who"}}
    assert client.post("/api/transcript/x/edit", json=edit).status_code == 403
    # the address printed at start sets a cookie for this port and drops the token from the URL
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.cookies.get(cookie_name(PORT)) == TOKEN
    assert client.get("/api/library").status_code == 200
    # ...but a cookie alone cannot change data (another site's form could send it)
    assert client.post("/api/transcript/x/edit", json=edit).status_code == 403
    assert not (out / "x" / CORRECTIONS_JSON).exists()
    assert client.get("/static/review.css").status_code == 200  # assets are not private


@pytest.mark.parametrize("path", [
    "/t/..%2F..%2Fetc", "/api/transcript/..%2Fout%2Fx", "/audio/%2e%2e/x", "/api/transcript/../../x",
    "/api/transcript/.tonescribe", "/audio/x%2F..%2F..%2Frec", "/t/%2Fetc%2Fpasswd",
    "/static/..%2Fapp.py", "/static/%2e%2e/security.py", "/static/../templates/base.html",
])
def test_paths_outside_outdir_are_refused(served, path):
    client, _, _ = served
    r = client.get(path)
    assert r.status_code == 404
    assert b"root:" not in r.content and b"import" not in r.content and b"<html" not in r.content


def test_folder_of_refuses_escapes(tmp_path: Path):
    out, _ = _outdir(tmp_path)
    assert folder_of(out, "x") == (out / "x").resolve()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "transcript.json").write_text("{}")
    (out / "link").symlink_to(tmp_path / "outside")
    for rid in ("..", "../outside", "x/../../outside", "/etc", "link", ".hidden", "x\\..\\..", ""):
        with pytest.raises(NotInOutdir):
            folder_of(out, rid)


def test_edits_through_the_api_keep_transcript_json(served):
    client, out, _ = served
    original = (out / "x" / "transcript.json").read_bytes()
    r = client.post("/api/transcript/x/edit", json={"op": "word.text", "args": {"word": 1, "text": "who"}})
    assert r.status_code == 200 and r.json()["words"]["text"][1] == "who" and r.json()["revision"] == 1
    r = client.post("/api/transcript/x/edit", json={"op": "mark.review", "args": {"mark": 0, "status": "rejected"}})
    assert [m["status"] for m in r.json()["marks"]] == ["rejected", "unreviewed"]
    bad = client.post("/api/transcript/x/edit", json={"op": "word.text", "args": {"word": 999, "text": "x"}})
    assert bad.status_code == 400 and "outside" in bad.json()["error"]
    assert client.post("/api/transcript/x/edit", content=b"not json",
                       headers={"content-type": "application/json"}).status_code == 400
    assert "who" in client.get("/api/transcript/x/render/transcript.txt").text
    seen = client.get("/api/transcript/x/revision").json()
    assert seen["revision"] == 2 and seen["version"] == client.get("/api/transcript/x").json()["version"]
    r = client.post("/api/transcript/x/undo", json={})
    assert r.json()["marks"][0]["status"] == "unreviewed"
    assert client.post("/api/transcript/x/frobnicate", json={}).status_code == 404
    assert (out / "x" / "transcript.json").read_bytes() == original
    before = client.get("/api/transcript/x/revision").json()["version"]
    time.sleep(0.01)
    write_output_dir(Transcript.load(out / "x" / "transcript.json"), out / "x")  # processed again
    after = client.get("/api/transcript/x/revision").json()
    assert after["revision"] == 3 and after["version"] != before  # open pages reload


def test_view_model_has_prosody_lines_and_relative_pitch(served):
    client, _, _ = served
    data = client.get("/api/transcript/x").json()
    assert [(ln["first"], ln["last"]) for ln in data["lines"]] == [(0, 3), (4, 6), (7, 7)]
    assert [s["label"] for s in data["speakers"]] == ["Speaker 1", "Speaker 2"]
    assert data["marks"][0]["type"] == "emphasis" and "evidence" not in data["marks"][0]
    tracks = client.get("/api/transcript/x/tracks").json()
    assert tracks["evidence"][0] == {"intensity_z": 2.3, "threshold": 1.5}
    assert tracks["f0_hz"] is None  # this synthetic transcript has no pitch track


def test_library_search_and_job_states(served):
    client, out, _ = served
    lib = client.get("/api/library").json()["recordings"]
    assert [(r["id"], r["words"], r["marks"], r["state"], r["quality"]) for r in lib] == [("x", 8, 2, "done", [])]
    hits = client.get("/api/search", params={"q": "Really  HARD"}).json()["hits"]
    assert [(h["id"], h["match"], h["word"]) for h in hits] == [("x", "really hard", 5)]
    assert client.get("/api/search", params={"q": "nothing like this"}).json()["hits"] == []
    client.post("/api/transcript/x/edit", json={"op": "speaker.label", "args": {"speaker": "S2", "label": "Nurse"}})
    client.post("/api/transcript/x/edit", json={"op": "mark.review", "args": {"mark": 1, "status": "rejected"}})
    (entry,) = client.get("/api/library").json()["recordings"]
    assert (entry["speakers"], entry["marks"], entry["corrections"]) == (["Speaker 1", "Nurse"], 1, 2)
    t = Transcript.load(out / "x" / "transcript.json")
    warned = RecordingQuality(peak_dbfs=0.0, clipped_fraction=0.01, clipped_spans=(), speech_level_dbfs=-20.0,
                              noise_level_dbfs=None, noise_measured_in=None, snr_db=None,
                              warnings=(QualityWarning("clipping", "1.0 % of the samples are clipped at full scale"),))
    write_output_dir(replace(t, quality=warned), out / "x")
    (entry,) = client.get("/api/library").json()["recordings"]
    assert entry["quality"] == ["1.0 % of the samples are clipped at full scale"]
    jobstore = pytest.importorskip("capture.jobstore")
    store = jobstore.JobStore(out)
    job, _ = store.add("a" * 64, path="/in/late.wav", size_bytes=10, stem="late")
    store.fail(job.sha256, "cannot decode: not an audio file")
    store.close()
    states = {r["name"]: (r["state"], r["error"]) for r in client.get("/api/library").json()["recordings"]}
    assert states == {"x": ("done", None), "late": ("failed", "cannot decode: not an audio file")}


def test_pages_use_local_assets_only(served):
    client, _, _ = served
    for path in ("/", "/t/x"):
        html = client.get(path).text
        assert "<script" in html
        assert not re.search(r"""(src|href)=["']https?://(?!127\.0\.0\.1)""", html), path
    for asset in ("review.css", "common.js", "library.js", "transcript.js", "prosody.js"):
        text = client.get(f"/static/{asset}").text
        assert "http://" not in text and "https://" not in text, asset


def test_review_command_serves_on_loopback_with_a_token(tmp_path: Path):
    out, _ = _outdir(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "capture.cli", "review", str(out), "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", line)
            url = m and m.group(0)
        assert url, "the command did not print its address"
        port, token = int(m.group(1)), m.group(2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/library", headers={"X-Tonescribe-Token": token})
        with urllib.request.urlopen(request) as r:
            assert json.loads(r.read())["recordings"][0]["id"] == "x"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/library")
        assert refused.value.code == 403
    finally:
        proc.terminate()
        proc.wait(10)


def test_review_command_rejects_a_missing_folder(tmp_path: Path):
    r = subprocess.run([sys.executable, "-m", "capture.cli", "review", str(tmp_path / "nope"), "--no-browser"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "is not a folder" in r.stderr


def test_a_large_audio_file_is_hashed_once(served, monkeypatch):
    client, _, _ = served
    calls = []
    real = hashlib.sha256

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", counting)
    for _ in range(3):
        assert client.get("/audio/x", headers={"Range": "bytes=0-99"}).status_code == 206
    assert len(calls) == 1
    assert np.frombuffer(client.get("/audio/x", headers={"Range": "bytes=44-45"}).content, dtype="<i2").size == 1


def test_a_broken_transcript_gives_a_clear_error_and_the_library_still_lists(served, tmp_path: Path):
    client, out, _ = served
    (out / "broken").mkdir()
    (out / "broken" / "transcript.json").write_text('{"schema_version": "1.0", "audio": ')
    r = client.get("/api/transcript/broken")
    assert r.status_code == 422 and "cannot read 'broken'" in r.json()["error"]
    (out / "broken" / "transcript.json").write_text('{"schema_version": "9.0"}')
    assert "schema_version" in client.get("/api/transcript/broken").json()["error"]
    states = {e["name"]: e["state"] for e in client.get("/api/library").json()["recordings"]}
    assert states == {"broken": "unreadable", "x": "done"}
    assert client.get("/api/transcript/x").status_code == 200
