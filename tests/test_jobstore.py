"""The job store, the stage checkpoints and the folder watcher's settle rule, without models."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from capture.checkpoints import StageCheckpoints
from capture.jobstore import _SCHEMA, JobStore, unreadable_key
from capture.record import AudioInfo, Pipeline, Transcript, Word
from capture.watcher import FolderWatcher, WatchOptions


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "out")
    yield s
    s.close()


def test_database_is_sqlite_in_wal_mode_under_the_output_folder(store, tmp_path):
    assert store.path == tmp_path / "out" / ".tonescribe" / "jobs.db"
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_same_content_is_one_job_and_names_are_unique(store):
    job, created = store.add("a" * 64, path="/in/talk.wav", size_bytes=10, stem="talk")
    again, created_again = store.add("a" * 64, path="/in/renamed.wav", size_bytes=10, stem="renamed")
    other, _ = store.add("b" * 64, path="/in/sub/talk.wav", size_bytes=10, stem="talk")
    taken_on_disk, _ = store.add("c" * 64, path="/in/x/talk.wav", size_bytes=10, stem="talk",
                                 name_free=lambda name: name != "talk-3")
    assert created and not created_again and again == job
    assert (job.name, other.name, taken_on_disk.name) == ("talk", "talk-2", "talk-4")
    assert store.counts() == {"waiting": 3, "running": 0, "done": 0, "failed": 0}


def test_claim_takes_oldest_due_job_and_counts_attempts(store):
    store.add("a" * 64, path="/a.wav", size_bytes=1, stem="a")
    store.add("b" * 64, path="/b.wav", size_bytes=1, stem="b")
    first = store.claim()
    assert (first.name, first.state, first.attempts) == ("a", "running", 1)
    delay = store.defer(first.sha256, "OSError: [Errno 28] No space left on device", backoff_s=10, backoff_max_s=15)
    assert delay == 10
    second = store.claim()
    assert second.name == "b"
    assert store.claim() is None  # a is not due yet, b is running
    assert store.claim(now=time.time() + 11).name == "a"
    assert store.defer("a" * 64, "again", backoff_s=10, backoff_max_s=15) == 15  # doubles, capped
    job = store.get("a" * 64)
    assert job.state == "waiting" and job.transient and job.retries == 2 and job.attempts == 2


def test_concurrent_claims_never_hand_out_a_job_twice(tmp_path):
    out = tmp_path / "out"
    setup = JobStore(out)
    for i in range(100):
        setup.add(f"{i:064d}", path=f"/{i}.wav", size_bytes=1, stem=str(i))
    setup.close()
    taken: list[str] = []
    lock = threading.Lock()

    def worker():
        store = JobStore(out)  # separate connections, as separate processes would have
        while (job := store.claim()) is not None:
            with lock:
                taken.append(job.sha256)
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 100 and len(set(taken)) == 100


def test_recover_requeues_interrupted_jobs_and_fails_a_file_that_keeps_crashing(store):
    store.add("b" * 64, path="/b.wav", size_bytes=1, stem="b")
    for _ in range(2):  # b "crashed the process" twice: back in the queue each time
        store.claim()
        assert [j.name for j in store.recover(crash_limit=3)] == ["b"]
    store.add("a" * 64, path="/a.wav", size_bytes=1, stem="a")
    store.stage_started(store.claim().sha256, "asr")  # b, third time
    store.claim()  # a, first time
    recovered = {j.name: j for j in store.recover(crash_limit=3)}
    a, b = store.get("a" * 64), store.get("b" * 64)
    assert recovered == {"a": a, "b": b}
    assert a.state == "waiting" and a.current_stage is None and a.attempts == 1
    assert b.state == "failed" and "interrupted 3 times" in b.error


def test_finishing_a_stage_resets_the_interruption_count(store):
    store.add("a" * 64, path="/a.wav", size_bytes=1, stem="a")
    for stage in ("asr", "diarization", "prosody"):  # killed once in each stage: progress each time
        store.stage_started(store.claim().sha256, stage)
        store.stage_finished("a" * 64, stage, 1.0)
        store.stage_started("a" * 64, "next")
        store.recover(crash_limit=2)
    assert store.get("a" * 64).state == "waiting"


def test_stage_log_counts_runs_and_finish_records_timings(store):
    store.add("a" * 64, path="/a.wav", size_bytes=1, stem="a")
    job = store.claim()
    for stage in ("decode", "asr", "decode", "asr", "diarization", "prosody"):
        store.stage_started(job.sha256, stage)
        store.stage_finished(job.sha256, stage, 0.5)
    store.finish(job.sha256, duration_s=12.5, timings_s={"asr": 0.5, "total": 2.0}, warnings=["clipping", "noise"])
    assert store.stage_runs(job.sha256) == {"decode": 2, "asr": 2, "diarization": 1, "prosody": 1}
    done = store.get(job.sha256)
    assert (done.state, done.stage, done.duration_s, done.timings_s["total"]) == ("done", "prosody", 12.5, 2.0)
    assert done.warnings == ("clipping", "noise")


def test_a_store_from_before_the_quality_warnings_is_read_and_gains_them(tmp_path):
    """A jobs.db written before the warnings column: status reads it as it is (no warnings), and
    the next watcher adds the column without losing a job."""
    old = tmp_path / ".tonescribe"
    old.mkdir()
    db = sqlite3.connect(old / "jobs.db")
    db.executescript(_SCHEMA.replace(",\n    warnings_json TEXT NOT NULL DEFAULT '[]'", ""))
    db.execute("INSERT INTO jobs (sha256, name, path, state, added_at) VALUES (?, 'a', '/a.wav', 'done', 0)", ("a" * 64,))
    db.commit()
    db.close()
    reader = JobStore(tmp_path, create=False)
    assert reader.get("a" * 64).warnings == ()
    reader.close()
    writer = JobStore(tmp_path)
    writer.finish("a" * 64, duration_s=1.0, timings_s={}, warnings=["noise"])
    assert writer.get("a" * 64).warnings == ("noise",) and [j.name for j in writer.jobs()] == ["a"]
    writer.close()


def test_fail_keeps_one_line_reason_and_retry_requeues(store):
    store.add("a" * 64, path="/in/a.wav", size_bytes=1, stem="a")
    store.add("b" * 64, path="/in/b.wav", size_bytes=1, stem="b")
    for _ in range(2):
        store.fail(store.claim().sha256, "cannot decode:\n  the file is truncated")
    assert store.get("a" * 64).error == "cannot decode: the file is truncated"
    assert [j.name for j in store.retry(("b.wav",))] == ["b"]
    assert store.get("b" * 64).state == "waiting" and store.get("b" * 64).attempts == 0
    assert store.get("a" * 64).state == "failed"
    assert [j.name for j in store.retry()] == ["a"]


def test_release_does_not_count_the_attempt(store):
    store.add("a" * 64, path="/a.wav", size_bytes=1, stem="a")
    store.release(store.claim().sha256)
    job = store.get("a" * 64)
    assert (job.state, job.attempts) == ("waiting", 0)


def test_sources_detect_changed_content_and_orphans_are_dropped(store):
    assert store.remember_source("/in/a.wav", "a" * 64, 10, 1) is None
    store.add("a" * 64, path="/in/a.wav", size_bytes=10, stem="a")
    assert store.remember_source("/in/a.wav", "a" * 64, 10, 1) is None
    assert store.remember_source("/in/a.wav", "b" * 64, 20, 2) == "a" * 64
    assert store.drop_orphan("a" * 64).name == "a"
    assert store.get("a" * 64) is None
    store.add("b" * 64, path="/in/a.wav", size_bytes=20, stem="a")
    store.remember_source("/in/copy.wav", "b" * 64, 20, 3)
    assert store.drop_orphan("b" * 64) is None  # still held by files
    assert store.source_paths("b" * 64) == ["/in/a.wav", "/in/copy.wav"]


def test_unreadable_files_get_a_path_key_and_start_failed(store):
    key = unreadable_key("/in/locked.wav")
    job, created = store.add(key, path="/in/locked.wav", size_bytes=5, stem="locked",
                             failed_reason="cannot read the file: Permission denied")
    assert created and not job.readable and job.state == "failed" and "Permission" in job.error


def test_status_without_a_store_says_how_to_start(tmp_path):
    with pytest.raises(FileNotFoundError, match="tonescribe watch"):
        JobStore(tmp_path / "nothing", create=False)


def _transcript(stage: str) -> Transcript:
    return Transcript(
        audio=AudioInfo(path="/in/a.wav", sha256="a" * 64, duration_s=2.0, sample_rate_hz=16000, channels=1),
        pipeline=Pipeline(version="0", models={}, options={"stage_reached": stage}, device="cpu", timings_s={}),
        words=(Word(text="hello", start_s=0.1, end_s=0.5, probability=0.9),),
    )


def test_checkpoints_round_trip_atomically_and_ignore_damage(tmp_path):
    ck = StageCheckpoints(tmp_path / "state", "a" * 64)
    assert ck.load("asr") is None
    ck.save("asr", _transcript("asr"))
    assert ck.load("asr") == _transcript("asr")
    assert [p.name for p in ck.dir.iterdir()] == ["asr.json"]  # no temporary files left
    (ck.dir / "diarization.json").write_text('{"schema_version": "1.0", "audio": ')
    assert ck.load("diarization") is None
    assert ck.stages() == ["asr", "diarization"]
    other_model = StageCheckpoints(tmp_path / "state", "a" * 64, {"asr": {"model": "base"}})
    assert other_model.load("asr") is None  # results of other options are not reused
    ck.clear()
    assert not ck.dir.exists() and not ck.root.exists()


def test_watcher_reports_a_file_only_after_it_settles(tmp_path):
    inbox = tmp_path / "in"
    (inbox / "sub").mkdir(parents=True)
    w = FolderWatcher(inbox, WatchOptions(poll=True, interval_s=1.0, settle_s=2.0))
    target = inbox / "sub" / "a b é.wav"
    target.write_bytes(b"x" * 10)
    (inbox / "notes.txt").write_text("not audio")
    (inbox / ".hidden.wav").write_bytes(b"x")
    assert w.poll(now=100.0) == []
    assert w.busy()
    with open(target, "ab") as fh:  # still growing
        fh.write(b"y" * 10)
    assert w.poll(now=101.5) == []
    assert w.poll(now=103.0) == []  # unchanged for 1.5 s only
    [arrival] = w.poll(now=103.6)
    assert arrival.path == target and arrival.size_bytes == 20 and arrival.unreadable is None
    assert w.poll(now=110.0) == [] and not w.busy()  # reported once
    os.utime(target, ns=(1, 1))  # touched: reported again once settled
    assert w.poll(now=111.0) == []
    assert [a.path for a in w.poll(now=113.5)] == [target]


def test_watcher_follows_symlinks_and_skips_excluded_folders(tmp_path):
    inbox, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.flac").write_bytes(b"x")
    os.symlink(elsewhere, inbox / "linked")
    os.symlink(elsewhere / "x.flac", inbox / "link.flac")
    os.symlink(inbox, inbox / "loop")  # a cycle must not hang the scan
    os.symlink(tmp_path / "missing.wav", inbox / "dangling.wav")
    (inbox / "out").mkdir()
    (inbox / "out" / "y.wav").write_bytes(b"y")
    w = FolderWatcher(inbox, WatchOptions(poll=True, settle_s=0.0), exclude=[inbox / "out"])
    found = sorted(a.path.name for a in w.poll(now=1.0))
    assert found == ["link.flac", "x.flac"]
