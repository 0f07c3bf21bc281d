"""The watched folder, end to end: each test runs the real `tonescribe watch` process (real
models, real files, real signals) and checks its job store, its output folder and the originals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import soundfile as sf

from watch_helpers import (
    REPO, WatchProcess, all_finished, assert_store_matches_outputs, checksums, leftovers, read_jobs, sha256,
    speech, speech_then_noise, stage_runs, states, status_json, status_text, tone_file, unprivileged_prefix,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Test audio made once: two sentences, and two long files (speech then quiet noise)."""
    folder = tmp_path_factory.mktemp("clips")
    made = {
        "hello": speech("The weather is nice today.", folder / "hello.wav"),
        "bye": speech("Thank you and goodbye.", folder / "bye.wav"),
    }
    made["long1"] = speech_then_noise(made["hello"], folder / "long1.wav", noise_s=80, seed=1)
    made["long2"] = speech_then_noise(made["bye"], folder / "long2.wav", noise_s=80, seed=2)
    return made


@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path]:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    return inbox, out


@pytest.fixture
def watchers(tmp_path):
    started: list[WatchProcess] = []

    def start(inbox: Path, out: Path, *extra: str, prefix=()) -> WatchProcess:
        w = WatchProcess(inbox, out, *extra, prefix=tuple(prefix), log=tmp_path / "watch.log").start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()


def test_slow_copy_is_taken_once_after_it_completes(clips, dirs, watchers):
    inbox, out = dirs
    data = clips["hello"].read_bytes()
    w = watchers(inbox, out, "--settle", "1.5")
    wait_until(lambda: (out / ".tonescribe" / "jobs.db").exists(), timeout_s=120, what="the store", proc=w)
    target = inbox / "slow copy.wav"
    chunks = 8
    with open(target, "wb") as fh:
        for i in range(chunks):  # about 4 s in all, each pause shorter than the settle time
            fh.write(data[i * len(data) // chunks:(i + 1) * len(data) // chunks])
            fh.flush()
            time.sleep(0.5)
            assert read_jobs(out) == [], "a file still being copied was taken"
    wait_until(lambda: states(out) == {"slow copy": "done"}, timeout_s=120, what="the copy to be done", proc=w)
    assert w.terminate() == 0
    [job] = assert_store_matches_outputs(out)
    assert job["sha256"] == sha256(clips["hello"]) == sha256(target)
    assert stage_runs(out)[job["sha256"]] == {"decode": 1, "asr": 1, "align": 1, "diarization": 1, "prosody": 1}
    transcript = json.loads((out / "slow copy" / "transcript.json").read_text())
    assert transcript["words"], "the complete sentence should be recognised"
    assert target.read_bytes() == data


def test_burst_of_200_files_each_processed_once(clips, dirs, watchers, tmp_path):
    inbox, out = dirs
    staging = tmp_path / "staging"
    (staging / "sub folder").mkdir(parents=True)
    names = []
    for i in range(196):  # distinct content each: tones 1 Hz apart
        rel = f"sub folder/tone {i:03d}.wav" if i % 4 == 0 else f"tone_{i:03d}.wav"
        tone_file(staging / rel, 150.0 + i)
        names.append(rel)
    for rel, clip in (("intervista è già.wav", "hello"), ("Gespräch Nr 2.wav", "bye")):
        shutil.copyfile(clips[clip], staging / rel)
        names.append(rel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    tone_file(outside / "linked.wav", 90.0)
    tone_file(outside / "linked2.wav", 95.0)
    (inbox / "sub folder").mkdir()
    w = watchers(inbox, out)
    wait_until(lambda: (out / ".tonescribe" / "jobs.db").exists(), timeout_s=120, what="the store", proc=w)
    for rel in names:  # dropped at once: each arrives complete, by rename
        os.rename(staging / rel, inbox / rel)
    os.symlink(outside / "linked.wav", inbox / "a link.wav")
    os.symlink(outside, inbox / "linked folder")
    total = len(names) + 2
    before = checksums(inbox)

    wait_until(lambda: 20 <= sum(s == "done" for s in states(out).values()), timeout_s=240,
               what="the first 20 jobs", proc=w)
    during = status_json(out)
    folders_after = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert during["watcher_pid"] == w.proc.pid
    assert sum(during["counts"].values()) == len(during["jobs"])
    assert during["counts"]["running"] <= 2  # one in recognition, one overlapping
    done_then = {j["name"] for j in during["jobs"] if j["state"] == "done"}
    assert done_then <= folders_after, "status called a job done before its transcript existed"
    assert "running (pid" in status_text(out)

    wait_until(lambda: all_finished(out, total), timeout_s=300, what=f"all {total} jobs", proc=w, every_s=0.5)
    assert w.terminate() == 0
    jobs = assert_store_matches_outputs(out)
    assert len(jobs) == total and {j["state"] for j in jobs} == {"done"}
    runs = stage_runs(out)
    assert all(runs[j["sha256"]] == {"decode": 1, "asr": 1, "align": 1, "diarization": 1, "prosody": 1} for j in jobs)
    assert {"intervista è già", "Gespräch Nr 2", "a link", "linked2"} <= {j["name"] for j in jobs}
    after = status_text(out)
    assert "watcher: not running" in after and f"{total}/{total} finished ({total} done, 0 failed)" in after
    assert checksums(inbox) == before


def _catch_in_stage(w: WatchProcess, out: Path, stage: str, names: set[str]) -> dict:
    """Freeze the watcher (SIGSTOP) while the store says it is inside ``stage`` for one of
    ``names``; re-read the store while frozen to be sure, then kill -9 it. Returns that job."""
    def inside() -> dict | None:
        for job in read_jobs(out):
            if job["state"] == "running" and job["current_stage"] == stage and job["name"] in names:
                return job
        return None

    for _ in range(50):
        wait_until(inside, timeout_s=300, what=f"a job in {stage}", proc=w, every_s=0.005)
        w.proc.send_signal(signal.SIGSTOP)
        job = inside()
        if job is not None:
            w.kill9()
            return job
        w.proc.send_signal(signal.SIGCONT)
    raise AssertionError(f"never caught the watcher inside {stage}")


def test_kill9_in_recognition_and_in_prosody_then_restart(clips, dirs, watchers):
    inbox, out = dirs
    for name in ("long1", "long2"):
        shutil.copyfile(clips[name], inbox / f"{name}.wav")
    shutil.copyfile(clips["hello"], inbox / "short.wav")
    before = checksums(inbox)
    extra = ("--no-overlap",)

    w = watchers(inbox, out, *extra)
    in_asr = _catch_in_stage(w, out, "asr", {"long1", "long2"})
    killed = status_json(out)
    assert killed["watcher_pid"] is None
    assert {j["name"]: j["shown_state"] for j in killed["jobs"]}[in_asr["name"]] == "interrupted"
    assert not (out / in_asr["name"]).exists()

    w = watchers(inbox, out, *extra)
    in_prosody = _catch_in_stage(w, out, "prosody", {"long1", "long2"})
    assert not (out / in_prosody["name"]).exists()
    runs_at_kill = stage_runs(out)[in_prosody["sha256"]]

    w = watchers(inbox, out, *extra)
    wait_until(lambda: all_finished(out, 3), timeout_s=300, what="all jobs after restarts", proc=w)
    assert w.terminate() == 0
    jobs = assert_store_matches_outputs(out)
    assert {j["name"]: j["state"] for j in jobs} == {"long1": "done", "long2": "done", "short": "done"}
    runs = stage_runs(out)
    # killed in prosody: recognition and diarization were not repeated, only prosody (and decoding)
    assert runs[in_prosody["sha256"]]["asr"] == runs_at_kill["asr"]
    assert runs[in_prosody["sha256"]]["diarization"] == runs_at_kill["diarization"]
    assert runs[in_prosody["sha256"]]["prosody"] == runs_at_kill["prosody"] + 1
    if in_prosody["sha256"] != in_asr["sha256"]:
        assert runs[in_prosody["sha256"]]["asr"] == 1
    assert runs[in_asr["sha256"]]["asr"] == 2  # the recognition that was killed, then the one that finished
    assert not (out / ".tonescribe" / "checkpoints").exists() or not any((out / ".tonescribe" / "checkpoints").iterdir())
    assert leftovers(out) == []
    assert checksums(inbox) == before


def test_sigterm_finishes_the_stage_checkpoints_and_exits(clips, dirs, watchers):
    inbox, out = dirs
    shutil.copyfile(clips["long1"], inbox / "long.wav")
    before = checksums(inbox)
    w = watchers(inbox, out, "--no-overlap")
    wait_until(lambda: any(j["current_stage"] == "asr" for j in read_jobs(out)), timeout_s=300,
               what="recognition to start", proc=w, every_s=0.02)
    assert w.terminate() == 0
    [job] = read_jobs(out)
    assert job["state"] == "waiting" and job["stage"] in ("asr", "diarization", "prosody")
    assert list((out / ".tonescribe" / "checkpoints" / job["sha256"]).glob("*/asr.json"))
    assert "stopping after the current stage" in w.output()

    w = watchers(inbox, out, "--no-overlap")
    wait_until(lambda: all_finished(out, 1), timeout_s=300, what="the job to finish", proc=w)
    assert w.terminate() == 0
    [job] = assert_store_matches_outputs(out)
    assert job["state"] == "done" and stage_runs(out)[job["sha256"]]["asr"] == 1
    assert checksums(inbox) == before


def test_bad_inputs_fail_with_a_reason_and_the_queue_goes_on(clips, dirs, watchers):
    prefix = unprivileged_prefix()
    inbox, out = dirs
    hello = clips["hello"].read_bytes()
    (inbox / "empty.wav").write_bytes(b"")
    (inbox / "truncated.wav").write_bytes(hello[: len(hello) // 2])
    (inbox / "notes.mp3").write_text("These are my interview notes, not audio.\n")
    tone_file(inbox / "blip.wav", 300.0, duration_s=0.4)
    sf.write(inbox / "silence.wav", np.zeros(3 * 16000, np.float32), 16000, subtype="PCM_16")
    if prefix is not None:
        shutil.copyfile(clips["bye"], inbox / "locked.wav")
        os.chmod(inbox / "locked.wav", 0)
    before = checksums(inbox)
    w = watchers(inbox, out, "--poll", prefix=prefix or ())
    expected_failed = {"empty": "empty", "truncated": "truncated", "notes": "not a readable audio",
                       "blip": "only 0.40 s long"}
    if prefix is not None:
        expected_failed["locked"] = "Permission denied"
    wait_until(lambda: all_finished(out, len(expected_failed) + 1), timeout_s=240, what="the bad files", proc=w)
    shutil.copyfile(clips["hello"], inbox / "good.wav")
    before["good.wav"] = sha256(inbox / "good.wav")
    wait_until(lambda: states(out).get("good") == "done", timeout_s=120, what="the good file", proc=w)
    assert w.alive()

    jobs = {j["name"]: j for j in assert_store_matches_outputs(out)}
    for name, words in expected_failed.items():
        assert jobs[name]["state"] == "failed", name
        assert words in jobs[name]["error"], (name, jobs[name]["error"])
        note = (out / f"{name}.error.txt").read_text(encoding="utf-8")
        assert note.startswith(f"{Path(jobs[name]['path']).name}: ") and words in note
    assert jobs["silence"]["state"] == "done"
    silent = json.loads((out / "silence" / "transcript.json").read_text())
    assert silent["words"] == [] and silent["audio"]["duration_s"] == 3.0
    assert json.loads((out / "good" / "transcript.json").read_text())["words"]
    text = status_text(out)
    assert "the file is empty (0 bytes)" in text and "failed" in text
    shown = {j["name"]: j for j in status_json(out)["jobs"]}
    assert shown["silence"]["warnings"] == ["no_speech"] and shown["good"]["warnings"] == []
    assert "quality: no speech" in next(line for line in text.splitlines() if line.startswith("silence "))
    assert silent["quality"]["warnings"][0]["message"].startswith("no words were recognised")

    if prefix is not None:  # once readable, `tonescribe retry` gets it transcribed
        os.chmod(inbox / "locked.wav", 0o644)
        retried = subprocess.run([sys.executable, "-m", "capture.cli", "retry", str(out), "locked"], cwd=REPO,
                                 capture_output=True, text=True)
        assert retried.returncode == 0 and "queued again: locked" in retried.stdout, retried
        wait_until(lambda: states(out).get("locked") == "done", timeout_s=120, what="the retried file", proc=w)
        before["locked.wav"] = sha256(inbox / "locked.wav")
        assert_store_matches_outputs(out)
    assert w.terminate() == 0
    assert checksums(inbox) == before


def test_same_content_twice_and_renamed_once_changed_content_again(clips, dirs, watchers):
    inbox, out = dirs
    shutil.copyfile(clips["hello"], inbox / "a.wav")
    w = watchers(inbox, out)
    wait_until(lambda: states(out) == {"a": "done"}, timeout_s=120, what="a.wav", proc=w)
    shutil.copyfile(inbox / "a.wav", inbox / "b copy.wav")
    os.rename(inbox / "a.wav", inbox / "c.wav")

    def sources() -> set[str]:
        con = sqlite3.connect(f"file:{out / '.tonescribe' / 'jobs.db'}?mode=ro", uri=True)
        try:
            return {Path(p).name for (p,) in con.execute("SELECT path FROM sources")}
        finally:
            con.close()

    wait_until(lambda: {"b copy.wav", "c.wav"} <= sources(), timeout_s=60, what="the copies to be seen", proc=w)
    assert states(out) == {"a": "done"}
    with open(inbox / "c.wav", "r+b") as fh:  # edited in place: new content under an old name
        fh.write(clips["bye"].read_bytes())
    wait_until(lambda: states(out) == {"a": "done", "c": "done"}, timeout_s=120, what="the changed file", proc=w)
    assert w.terminate() == 0
    jobs = assert_store_matches_outputs(out)
    assert [j["sha256"] for j in jobs] == [sha256(clips["hello"]), sha256(inbox / "c.wav")]
    assert all(n["asr"] == 1 for n in stage_runs(out).values())
    assert checksums(inbox) == {"b copy.wav": sha256(clips["hello"]), "c.wav": sha256(inbox / "c.wav")}


def test_output_folder_not_writable_then_writable(clips, dirs, watchers):
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: cannot make a folder unwritable for the watcher")
    inbox, out = dirs
    shutil.copyfile(clips["hello"], inbox / "first.wav")
    w = watchers(inbox, out, prefix=prefix)
    wait_until(lambda: states(out) == {"first": "done"}, timeout_s=120, what="the first file", proc=w)
    out.chmod(0o555)
    try:
        shutil.copyfile(clips["bye"], inbox / "second.wav")
        before = checksums(inbox)

        def retried() -> Optional[dict]:
            # one snapshot for the stored state and the shown one: with a 1.5 s backoff the next try
            # can start between two separate reads
            job = next((j for j in status_json(out)["jobs"] if j["name"] == "second"), None)
            return job if job and job["state"] == "waiting" and job["retries"] >= 2 else None

        job = wait_until(retried, timeout_s=120, what="retries while the folder is read-only", proc=w)
        assert "Permission denied" in job["error"] and job["transient"] == 1
        assert job["shown_state"] == "retrying"
        assert not (out / "second").exists() and not (out / "second.error.txt").exists()
    finally:
        out.chmod(0o755)
    wait_until(lambda: states(out).get("second") == "done", timeout_s=60, what="completion once writable", proc=w)
    assert w.terminate() == 0
    jobs = assert_store_matches_outputs(out)
    assert [j["state"] for j in jobs] == ["done", "done"]
    # the retries reused the checkpoint: recognition ran once
    assert stage_runs(out)[jobs[1]["sha256"]]["asr"] == 1
    assert checksums(inbox) == before


def test_kill9_at_random_moments_never_shows_partial_output_or_duplicates(clips, dirs, watchers, tmp_path):
    inbox, out = dirs
    for i in range(6):
        tone_file(inbox / f"tone {i}.wav", 180.0 + 7 * i)
    shutil.copyfile(clips["hello"], inbox / "hello.wav")
    shutil.copyfile(clips["bye"], inbox / "bye.wav")
    speech_then_noise(clips["hello"], inbox / "medium1.wav", noise_s=15, seed=3)
    speech_then_noise(clips["bye"], inbox / "medium2.wav", noise_s=15, seed=4)
    before = checksums(inbox)
    rng = np.random.default_rng(20261126)
    kills = 4  # fewer than the 5 interruptions without progress after which a file is failed
    for _ in range(kills):
        w = watchers(inbox, out)
        time.sleep(float(rng.uniform(2.0, 6.0)))  # start-up, intake and processing all get hit
        w.kill9()
        con = sqlite3.connect(f"file:{out / '.tonescribe' / 'jobs.db'}?mode=ro", uri=True)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        known = {j["sha256"] for j in read_jobs(out)}
        for folder in out.iterdir():  # whatever is visible is complete and belongs to a job
            if folder.is_dir() and not folder.name.startswith("."):
                data = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
                assert data["audio"]["sha256"] in known
    w = watchers(inbox, out)
    wait_until(lambda: all_finished(out, 10), timeout_s=300, what="all jobs after the kills", proc=w)
    # the store may say "all done" before this last watcher's interpreter has even started, and
    # no program can handle a signal before it runs: stop it once it is up
    wait_until(lambda: "watching" in w.output().rsplit("=== start", 1)[-1], timeout_s=120,
               what="the watcher to start", proc=w)
    assert w.terminate() == 0
    jobs = assert_store_matches_outputs(out)
    assert sorted(j["name"] for j in jobs if j["state"] == "done") == sorted(Path(p).stem for p in before)
    assert all(r["asr"] <= kills + 1 for r in stage_runs(out).values())
    assert checksums(inbox) == before


def test_move_done_moves_originals_and_a_second_watcher_is_refused(clips, dirs, watchers, tmp_path):
    inbox, out = dirs
    done_dir = tmp_path / "done"
    (inbox / "day 1").mkdir()
    shutil.copyfile(clips["hello"], inbox / "day 1" / "a.wav")
    shutil.copyfile(clips["bye"], inbox / "b.wav")
    before = checksums(inbox)
    w = watchers(inbox, out, "--move-done", str(done_dir), "--export", "cha", "--omit", "intonation")
    wait_until(lambda: states(out) == {"a": "done", "b": "done"}, timeout_s=120, what="both files", proc=w)
    # the notations and exports leave the asked-for marks out and say so; transcript.json keeps them
    assert any(m["type"] == "intonation" for m in json.loads((out / "a" / "transcript.json").read_text())["marks"])
    jefferson = (out / "a" / "transcript.jefferson.txt").read_text(encoding="utf-8").splitlines()
    assert jefferson[0].endswith("; not transcribed: intonation") and "?" not in "".join(jefferson[2:])
    assert "not transcribed: intonation" in (out / "a" / "a.cha").read_text(encoding="utf-8")
    second = subprocess.run([sys.executable, "-m", "capture.cli", "watch", str(inbox), "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and "already" in second.stderr
    wait_until(lambda: checksums(done_dir) == before, timeout_s=30, what="the originals to be moved", proc=w)
    shutil.copyfile(clips["hello"], inbox / "a again.wav")  # known content: not processed, moved too
    wait_until(lambda: "a again.wav" in checksums(done_dir), timeout_s=30, what="the duplicate to be moved", proc=w)
    assert w.terminate() == 0
    assert checksums(inbox) == {}
    assert len(assert_store_matches_outputs(out)) == 2


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB filesystem (tmpfs) for the output folder, so it can really run full."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_disk_full_is_waited_out_not_failed(clips, dirs, watchers, small_disk):
    inbox, _ = dirs
    out = small_disk / "out"
    shutil.copyfile(clips["bye"], inbox / "first.wav")
    w = watchers(inbox, out)
    wait_until(lambda: states(out) == {"first": "done"}, timeout_s=120, what="the first file", proc=w)
    filler = small_disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    try:
        shutil.copyfile(clips["hello"], inbox / "second.wav")
        before = checksums(inbox)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # while the disk is full: nothing fails, nothing half-written
            assert "failed" not in states(out).values()
            assert not (out / "second").exists() and w.alive()
            time.sleep(0.5)
        assert "No space left on device" in w.output() or "disk is full" in w.output()
    finally:
        filler.unlink()
    wait_until(lambda: states(out).get("second") == "done", timeout_s=120, what="completion with space", proc=w)
    assert w.terminate() == 0
    assert [j["state"] for j in assert_store_matches_outputs(out)] == ["done", "done"]
    assert checksums(inbox) == before
