"""Running one queued job: pipeline with checkpoints, output published atomically, outcome in the
job store. Errors are sorted into three kinds:

- the recording itself is bad (cannot be decoded, too short): ``failed`` at once, with a one-line
  reason in the store and in ``OUT/<name>.error.txt``;
- the machine is temporarily in the way (disk full, output folder not writable): back to
  ``waiting`` with a growing delay, never failed for that;
- anything else: retried a few times (``max_attempts``), then failed with the error text.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from capture import atomic
from capture.checkpoints import StageCheckpoints
from capture.decode import DecodeError, sha256_of
from capture.jobstore import Job, JobStore, unreadable_key
from capture.outputs import TRANSCRIPT_JSON, write_output_dir
from capture.pipeline import STAGES, Engine
from capture.quality import warnings_of
from capture.watcher import read_problem
from export import export_after_write

logger = logging.getLogger("tonescribe.worker")

TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                              errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.ESTALE})
ERROR_SUFFIX = ".error.txt"


@dataclass(frozen=True)
class WorkerOptions:
    min_duration_s: float = 1.0
    max_attempts: int = 3
    backoff_s: float = 5.0
    backoff_max_s: float = 300.0
    move_done: Optional[Path] = None
    inbox: Optional[Path] = None
    exports: tuple[str, ...] = ()  # export formats written after each output folder (export.FORMATS)
    omit: tuple[str, ...] = ()  # mark types the notation and export files leave out (prosody.notation.omit)


class Stop(Exception):
    """Raised between stages when the watcher is asked to stop."""


class Requeued(Exception):
    """An unreadable file became readable (after ``tonescribe retry``): queue it by content."""


class BadRecording(Exception):
    """The recording decodes but cannot be transcribed (e.g. too short)."""


def error_note_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}{ERROR_SUFFIX}"


def is_transient(exc: BaseException) -> bool:
    """Errors of the machine rather than of the recording: worth waiting out."""
    if isinstance(exc, sqlite3.OperationalError):  # the job store's own disk is full or read-only
        return any(m in str(exc) for m in ("full", "readonly", "disk I/O", "locked", "unable to open"))
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


class JobRunner:
    """Shared by the worker threads: one Engine (models loaded once), one store."""

    def __init__(self, engine: Engine, store: JobStore, out_dir: Path, options: WorkerOptions,
                 *, stop: threading.Event, asr_slots: threading.Semaphore):
        self.engine = engine
        self.store = store
        self.out_dir = out_dir
        self.options = options
        self.stop = stop
        self.asr_slots = asr_slots
        self._local = threading.local()
        self.work = threading.Event()
        engine.hook = self._hook

    # Intake: runs in the main thread for each complete file the watcher reports.
    def take_in(self, path: Path, size_bytes: int, mtime_ns: int, unreadable: Optional[str]) -> Optional[Job]:
        """Record what ``path`` holds and queue its content unless already known."""
        key_path = str(path)
        if unreadable is None:
            known = self.store.source(key_path)
            if known and known[1:] == (size_bytes, mtime_ns) and not known[0].startswith("path:"):
                sha = known[0]
            else:
                try:
                    sha = sha256_of(path)
                except FileNotFoundError:
                    return None
                except OSError as exc:
                    unreadable = f"cannot read the file: {exc.strerror or exc}"
        if unreadable is not None:
            sha = unreadable_key(key_path)
        previous = self.store.remember_source(key_path, sha, size_bytes, mtime_ns)
        if previous:
            dropped = self.store.drop_orphan(previous)
            if dropped is not None:
                error_note_path(self.out_dir, dropped.name).unlink(missing_ok=True)
                logger.info("%s changed before it was processed; the earlier content is dropped", path)
        job, created = self.store.add(sha, path=key_path, size_bytes=size_bytes, stem=path.stem or "recording",
                                      name_free=lambda name: self._name_free(name, sha), failed_reason=unreadable)
        if created and unreadable is not None:
            self._fail(job, unreadable)
        elif created:
            logger.info("queued %s as %s", path, job.name)
            self.work.set()
        elif job.path != key_path:
            logger.info("%s has the same content as %s (%s): not processed again", path, job.path, job.state)
            if job.state == "done" and self.options.move_done is not None:
                move_original(path, self.options.move_done, self.options.inbox, self.store)
        return job

    def _name_free(self, name: str, sha256: str) -> bool:
        folder = self.out_dir / name
        if _published(folder, sha256):
            return True
        return not folder.exists() and not error_note_path(self.out_dir, name).exists()

    # Pipeline hook: runs in the worker thread that calls Engine.process.
    def _hook(self, stage: str, event: str, info: dict) -> None:
        job: Optional[Job] = getattr(self._local, "job", None)
        if job is None or stage not in STAGES:
            return
        if event == "start":
            if self.stop.is_set():
                raise Stop()
            if stage == "asr":
                self.asr_slots.acquire()
                self._local.holds_slot = True
                if self.stop.is_set():  # asked to stop while waiting for the slot
                    raise Stop()
            self.store.stage_started(job.sha256, stage)
        elif event == "end":
            if stage == "asr":
                self._release_slot()
            self.store.stage_finished(job.sha256, stage, float(info.get("seconds", 0.0)))
            logger.info("%s: %s done in %.2f s", job.name, stage, info.get("seconds", 0.0))

    def _release_slot(self) -> None:
        if getattr(self._local, "holds_slot", False):
            self._local.holds_slot = False
            self.asr_slots.release()

    def run(self, job: Job) -> str:
        """Process ``job`` (already claimed); returns the state it ended in."""
        self._local.job = job
        try:
            return self._run(job)
        except Requeued:
            self.store.delete(job.sha256)
            st = os.stat(job.path)
            requeued = self.take_in(Path(job.path), st.st_size, st.st_mtime_ns, None)
            return requeued.state if requeued else "waiting"
        except Stop:
            self.store.release(job.sha256)
            logger.info("%s: stopped between stages; it resumes from its checkpoint next time", job.name)
            return "waiting"
        except DecodeError as exc:
            return self._fail(job, exc.reason)
        except BadRecording as exc:
            return self._fail(job, str(exc))
        except Exception as exc:  # noqa: BLE001 - every error must end in the store, not kill the watcher
            reason = f"{type(exc).__name__}: {exc}"
            if is_transient(exc):
                delay = self.store.defer(job.sha256, reason, backoff_s=self.options.backoff_s,
                                         backoff_max_s=self.options.backoff_max_s)
                logger.warning("%s: %s; trying again in %.0f s", job.name, reason, delay)
                return "waiting"
            if job.attempts < self.options.max_attempts:
                delay = self.store.defer(job.sha256, reason, backoff_s=self.options.backoff_s,
                                         backoff_max_s=self.options.backoff_max_s, transient=False)
                logger.exception("%s: attempt %d failed; trying again in %.0f s", job.name, job.attempts, delay)
                return "waiting"
            logger.exception("%s: failed after %d attempts", job.name, job.attempts)
            return self._fail(job, reason)
        finally:
            self._release_slot()
            self._local.job = None

    def _run(self, job: Job) -> str:
        path = self._source_of(job)
        folder = self.out_dir / job.name
        if _published(folder, job.sha256):  # killed after publishing, before the store knew
            transcript_json = json.loads((folder / TRANSCRIPT_JSON).read_text(encoding="utf-8"))
            export_after_write(folder, self.options.exports, self.options.omit)
            self._finish(job, path, transcript_json["audio"]["duration_s"], transcript_json["pipeline"]["timings_s"],
                         [w["code"] for w in (transcript_json.get("quality") or {}).get("warnings", ())])
            return "done"
        checkpoints = StageCheckpoints(self.store.dir, job.sha256, self.engine.options.as_dict())
        transcript = self.engine.process(path, checkpoint=checkpoints)
        if transcript.audio.sha256 != job.sha256:
            raise BadRecording("the file changed while it was being read; its new content is queued separately")
        if transcript.audio.duration_s < self.options.min_duration_s:
            raise BadRecording(f"the recording is only {transcript.audio.duration_s:.2f} s long "
                               f"(at least {self.options.min_duration_s:g} s is needed to transcribe it)")
        write_output_dir(transcript, folder, omit=self.options.omit)
        export_after_write(folder, self.options.exports, self.options.omit)
        self._finish(job, path, transcript.audio.duration_s, transcript.pipeline.timings_s,
                     [w.code for w in warnings_of(transcript)])
        checkpoints.clear()
        return "done"

    def _source_of(self, job: Job) -> Path:
        """A path that holds the job's content now (the file may have been renamed)."""
        if not job.readable:
            problem = read_problem(job.path)
            if problem:
                raise DecodeError(job.path, problem)
            raise Requeued()
        candidates = [job.path] + [p for p in self.store.source_paths(job.sha256) if p != job.path]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return Path(candidate)
        raise BadRecording("the file is no longer in the inbox (moved or deleted before it was processed)")

    def _finish(self, job: Job, path: Path, duration_s: float, timings_s: dict, warnings: list[str]) -> None:
        error_note_path(self.out_dir, job.name).unlink(missing_ok=True)
        self.store.finish(job.sha256, duration_s=duration_s, timings_s=timings_s, warnings=warnings)
        logger.info("%s: done -> %s", job.name, self.out_dir / job.name)
        print(self.out_dir / job.name, flush=True)
        if self.options.move_done is not None:
            move_original(path, self.options.move_done, self.options.inbox, self.store)

    def _fail(self, job: Job, reason: str) -> str:
        self.store.fail(job.sha256, reason)
        write_error_note(self.out_dir, job.name, job.path, reason)
        logger.error("%s: failed: %s", job.name, reason)
        return "failed"


def write_error_note(out_dir: Path, name: str, source: str, reason: str) -> None:
    """``OUT/<name>.error.txt``: one line, the file name and why it failed."""
    note = error_note_path(out_dir, name)
    try:
        atomic.write_text(note, f"{Path(source).name}: {' '.join(str(reason).split())}\n")
    except OSError as exc:
        logger.warning("%s: could not write %s (%s)", name, note, exc)


def move_original(path: Path, move_dir: Path, inbox: Optional[Path], store: JobStore) -> Optional[Path]:
    """``--move-done``: move a finished original out of the inbox, keeping its subfolder and never
    overwriting anything there."""
    try:
        relative = path.resolve().relative_to(inbox.resolve()) if inbox else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    target = move_dir / relative
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = target.with_name(f"{relative.stem}-{n}{relative.suffix}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))
    except OSError as exc:
        logger.warning("could not move %s to %s (%s); it stays where it is", path, target, exc)
        return None
    store.forget_source(str(path))
    logger.info("moved %s -> %s", path, target)
    return target


def _published(folder: Path, sha256: str) -> bool:
    try:
        data = json.loads((folder / TRANSCRIPT_JSON).read_text(encoding="utf-8"))
        return data["audio"]["sha256"] == sha256
    except (OSError, ValueError, KeyError, TypeError):
        return False


