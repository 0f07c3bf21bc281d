"""The job store: one SQLite database (WAL mode) under the output folder that says, for every
recording ever seen, what happened to it.

A recording is identified by the SHA-256 of its bytes, so the same file dropped twice or renamed
is one job, and a file whose content changed is a new one. Each job has a ``state`` (``waiting``,
``running``, ``done``, ``failed``), the number of ``attempts``, the last ``stage`` whose result
is checkpointed, the ``error`` of the last failure and its timings. ``stage_log`` keeps one row per
stage run, which is how a restart can be shown not to repeat finished stages. ``sources`` caches
path -> (size, mtime, hash) so an unchanged file is not hashed again after a restart.

Every change is one transaction; the watcher may be killed at any moment and the file stays
consistent. Files that cannot even be read get a job keyed ``path:<sha256 of the path>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

logger = logging.getLogger("tonescribe.jobstore")

STATE_DIR = ".tonescribe"
DB_NAME = "jobs.db"
STATES = ("waiting", "running", "done", "failed")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    interruptions INTEGER NOT NULL DEFAULT 0,
    stage TEXT,
    current_stage TEXT,
    error TEXT,
    transient INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    duration_s REAL,
    added_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    timings_json TEXT NOT NULL DEFAULT '{}',
    warnings_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, not_before, added_at);
CREATE TABLE IF NOT EXISTS stage_log (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    stage TEXT NOT NULL,
    started_at REAL NOT NULL,
    seconds REAL
);
CREATE INDEX IF NOT EXISTS stage_log_job ON stage_log (sha256);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_sha ON sources (sha256);
"""


@dataclass(frozen=True)
class Job:
    sha256: str
    name: str
    path: str
    size_bytes: Optional[int]
    state: str
    attempts: int
    retries: int
    interruptions: int
    stage: Optional[str]
    current_stage: Optional[str]
    error: Optional[str]
    transient: bool
    not_before: float
    duration_s: Optional[float]
    added_at: float
    started_at: Optional[float]
    finished_at: Optional[float]
    timings_s: dict
    warnings: tuple[str, ...] = ()  # the transcript's recording-quality warning codes (capture/quality.py)

    @property
    def readable(self) -> bool:
        """False for a file that could not be read at all (no content hash)."""
        return not self.sha256.startswith("path:")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def unreadable_key(path: str | Path) -> str:
    return "path:" + hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()


def store_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / STATE_DIR


class JobStore:
    """Thread-safe access to ``OUT/.tonescribe/jobs.db``; one connection guarded by a lock."""

    def __init__(self, out_dir: str | Path, *, create: bool = True):
        self.dir = store_dir(out_dir)
        self.path = self.dir / DB_NAME
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no job store at {self.path}: run `tonescribe watch INBOX --out {out_dir}` first")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        if create:
            with self._tx() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                           (str(SCHEMA_VERSION),))
                if "warnings_json" not in {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}:
                    db.execute("ALTER TABLE jobs ADD COLUMN warnings_json TEXT NOT NULL DEFAULT '[]'")  # a store from before

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- sources: what was found where -------------------------------------------------------
    def source(self, path: str) -> Optional[tuple[str, int, int]]:
        rows = self._query("SELECT sha256, size_bytes, mtime_ns FROM sources WHERE path = ?", (path,))
        return (rows[0]["sha256"], rows[0]["size_bytes"], rows[0]["mtime_ns"]) if rows else None

    def remember_source(self, path: str, sha256: str, size_bytes: int, mtime_ns: int) -> Optional[str]:
        """Record what ``path`` holds now; returns the hash it held before, if different."""
        with self._tx() as db:
            row = db.execute("SELECT sha256 FROM sources WHERE path = ?", (path,)).fetchone()
            db.execute("INSERT OR REPLACE INTO sources (path, sha256, size_bytes, mtime_ns, seen_at) "
                       "VALUES (?, ?, ?, ?, ?)", (path, sha256, size_bytes, mtime_ns, time.time()))
        return row["sha256"] if row and row["sha256"] != sha256 else None

    def forget_source(self, path: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sources WHERE path = ?", (path,))

    def source_paths(self, sha256: str) -> list[str]:
        return [r["path"] for r in self._query("SELECT path FROM sources WHERE sha256 = ? ORDER BY seen_at",
                                               (sha256,))]

    # -- jobs ----------------------------------------------------------------------------------
    def add(self, sha256: str, *, path: str, size_bytes: Optional[int], stem: str,
            name_free: Callable[[str], bool] = lambda name: True,
            failed_reason: Optional[str] = None) -> tuple[Job, bool]:
        """The job for this content, and whether it was created now. A new job gets an output
        name unique in the store: ``stem``, else ``stem-2``, ``stem-3``...; it starts ``waiting``,
        or ``failed`` with ``failed_reason``."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE sha256 = ?", (sha256,)).fetchone()
            if row is not None:
                return _job(row), False
            n = 1
            while True:
                name = stem if n == 1 else f"{stem}-{n}"
                taken = db.execute("SELECT 1 FROM jobs WHERE name = ?", (name,)).fetchone()
                if not taken and name_free(name):
                    break
                n += 1
            now = time.time()
            state, error = ("failed", _one_line(failed_reason)) if failed_reason else ("waiting", None)
            db.execute("INSERT INTO jobs (sha256, name, path, size_bytes, state, error, added_at, finished_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (sha256, name, path, size_bytes, state, error, now, now if error else None))
            return _job(db.execute("SELECT * FROM jobs WHERE sha256 = ?", (sha256,)).fetchone()), True

    def get(self, sha256: str) -> Optional[Job]:
        rows = self._query("SELECT * FROM jobs WHERE sha256 = ?", (sha256,))
        return _job(rows[0]) if rows else None

    def jobs(self) -> list[Job]:
        return [_job(r) for r in self._query("SELECT * FROM jobs ORDER BY added_at, name")]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for row in self._query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"):
            counts[row["state"]] = row["n"]
        return counts

    def recover(self, *, crash_limit: int) -> list[Job]:
        """After a crash or kill: jobs left ``running`` go back to ``waiting`` (their checkpoints
        keep the finished stages). One interrupted ``crash_limit`` times in a row without finishing
        a stage fails instead, so a file that kills the process cannot stop the queue for ever.
        Returns the jobs as they are now."""
        with self._tx() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall()
            for row in rows:
                count = row["interruptions"] + 1
                if count >= crash_limit:
                    reason = f"processing was interrupted {count} times (the watcher crashed or was killed)"
                    db.execute("UPDATE jobs SET state = 'failed', current_stage = NULL, error = ?, transient = 0, "
                               "interruptions = ?, finished_at = ? WHERE sha256 = ?",
                               (reason, count, time.time(), row["sha256"]))
                else:
                    db.execute("UPDATE jobs SET state = 'waiting', current_stage = NULL, interruptions = ? "
                               "WHERE sha256 = ?", (count, row["sha256"]))
            return [_job(db.execute("SELECT * FROM jobs WHERE sha256 = ?", (r["sha256"],)).fetchone()) for r in rows]

    def claim(self, now: Optional[float] = None) -> Optional[Job]:
        """Take the oldest waiting job that is due and mark it running."""
        now = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute("SELECT sha256 FROM jobs WHERE state = 'waiting' AND not_before <= ? "
                             "ORDER BY not_before, added_at LIMIT 1", (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ? "
                       "WHERE sha256 = ?", (now, row["sha256"]))
            return _job(db.execute("SELECT * FROM jobs WHERE sha256 = ?", (row["sha256"],)).fetchone())

    def next_due(self) -> Optional[float]:
        rows = self._query("SELECT MIN(not_before) AS t FROM jobs WHERE state = 'waiting'")
        return rows[0]["t"] if rows and rows[0]["t"] is not None else None

    def stage_started(self, sha256: str, stage: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET current_stage = ? WHERE sha256 = ?", (stage, sha256))
            db.execute("INSERT INTO stage_log (sha256, stage, started_at) VALUES (?, ?, ?)",
                       (sha256, stage, time.time()))

    def stage_finished(self, sha256: str, stage: str, seconds: float) -> None:
        with self._tx() as db:
            row = db.execute("SELECT id FROM stage_log WHERE sha256 = ? AND stage = ? ORDER BY id DESC LIMIT 1",
                             (sha256, stage)).fetchone()
            if row is not None:
                db.execute("UPDATE stage_log SET seconds = ? WHERE id = ?", (seconds, row["id"]))
            db.execute("UPDATE jobs SET stage = ?, current_stage = NULL, interruptions = 0 WHERE sha256 = ?",
                       (stage, sha256))

    def stage_runs(self, sha256: str) -> dict[str, int]:
        """How often each stage was started (finished or not) for this recording."""
        rows = self._query("SELECT stage, COUNT(*) AS n FROM stage_log WHERE sha256 = ? GROUP BY stage", (sha256,))
        return {r["stage"]: r["n"] for r in rows}

    def finish(self, sha256: str, *, duration_s: Optional[float], timings_s: dict,
               warnings: Sequence[str] = ()) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'done', stage = 'prosody', current_stage = NULL, error = NULL, "
                       "transient = 0, retries = 0, not_before = 0, duration_s = ?, finished_at = ?, "
                       "timings_json = ?, warnings_json = ? WHERE sha256 = ?",
                       (duration_s, time.time(), json.dumps(timings_s), json.dumps(list(warnings)), sha256))

    def fail(self, sha256: str, reason: str, *, duration_s: Optional[float] = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'failed', current_stage = NULL, error = ?, transient = 0, "
                       "duration_s = COALESCE(?, duration_s), finished_at = ? WHERE sha256 = ?",
                       (_one_line(reason), duration_s, time.time(), sha256))

    def defer(self, sha256: str, reason: str, *, backoff_s: float, backoff_max_s: float,
              transient: bool = True) -> float:
        """Back to ``waiting`` after a delay that doubles with each consecutive retry; returns it."""
        with self._tx() as db:
            row = db.execute("SELECT retries FROM jobs WHERE sha256 = ?", (sha256,)).fetchone()
            retries = (row["retries"] if row else 0) + 1
            delay = min(backoff_max_s, backoff_s * 2 ** (retries - 1))
            db.execute("UPDATE jobs SET state = 'waiting', current_stage = NULL, error = ?, transient = ?, "
                       "retries = ?, not_before = ? WHERE sha256 = ?",
                       (_one_line(reason), int(transient), retries, time.time() + delay, sha256))
        return delay

    def release(self, sha256: str) -> None:
        """Give a running job back unharmed (the watcher is stopping); the attempt is not counted."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = 'waiting', current_stage = NULL, "
                       "attempts = MAX(attempts - 1, 0) WHERE sha256 = ? AND state = 'running'", (sha256,))

    def drop_orphan(self, sha256: str) -> Optional[Job]:
        """Delete a waiting or failed job whose content no file holds any more (it was replaced
        while being copied, say); returns it, or None when it was kept."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE sha256 = ? AND state IN ('waiting', 'failed')",
                             (sha256,)).fetchone()
            if row is None or db.execute("SELECT 1 FROM sources WHERE sha256 = ?", (sha256,)).fetchone():
                return None
            db.execute("DELETE FROM jobs WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM stage_log WHERE sha256 = ?", (sha256,))
            return _job(row)

    def delete(self, sha256: str) -> None:
        """Remove a job outright (an unreadable file's ``path:`` job once the file can be read)."""
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM stage_log WHERE sha256 = ?", (sha256,))

    def retry(self, names: tuple[str, ...] = ()) -> list[Job]:
        """Re-queue failed jobs (all, or those whose output name or file name is in ``names``)."""
        with self._tx() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state = 'failed' ORDER BY added_at").fetchall()
            chosen = [r for r in rows if not names or r["name"] in names or Path(r["path"]).name in names]
            for row in chosen:
                db.execute("UPDATE jobs SET state = 'waiting', attempts = 0, retries = 0, interruptions = 0, "
                           "error = NULL, "
                           "transient = 0, not_before = 0, finished_at = NULL WHERE sha256 = ?", (row["sha256"],))
        return [_job(r) for r in chosen]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _job(row: sqlite3.Row) -> Job:
    return Job(
        sha256=row["sha256"], name=row["name"], path=row["path"], size_bytes=row["size_bytes"],
        state=row["state"], attempts=row["attempts"], retries=row["retries"],
        interruptions=row["interruptions"], stage=row["stage"],
        current_stage=row["current_stage"], error=row["error"], transient=bool(row["transient"]),
        not_before=row["not_before"], duration_s=row["duration_s"], added_at=row["added_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
        timings_s=json.loads(row["timings_json"] or "{}"),
        warnings=tuple(json.loads(row["warnings_json"] or "[]")) if "warnings_json" in row.keys() else (),
    )
