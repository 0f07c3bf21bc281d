"""``tonescribe status OUT`` and ``tonescribe retry OUT [NAME...]``: the job store, read by a person."""

from __future__ import annotations

import argparse
import fcntl
import json
import sys
import time
from pathlib import Path
from typing import Optional

from capture.cmd_watch import LOCK_NAME
from capture.jobstore import Job, JobStore, store_dir
from capture.progress import table_lines
from capture.worker import error_note_path


def register(sub) -> None:
    status = sub.add_parser("status", help="show what a watched folder's jobs are doing",
                            description="List every recording the watcher has seen under OUT: state, stage, "
                                        "audio duration, processing time, error or recording-quality warnings; "
                                        "then the queue's progress.")
    status.add_argument("out", type=Path, help="the --out folder of `tonescribe watch`")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)

    retry = sub.add_parser("retry", help="queue failed recordings again",
                           description="Put failed recordings (all, or the NAMEs given: output name or file "
                                       "name) back in the queue; a running `tonescribe watch` picks them up.")
    retry.add_argument("out", type=Path)
    retry.add_argument("names", nargs="*", metavar="NAME")
    retry.set_defaults(func=run_retry)


def watcher_running(out: Path) -> Optional[int]:
    """The pid of the watcher holding OUT's lock, or None when no watcher runs."""
    lock = store_dir(out) / LOCK_NAME
    if not lock.is_file():
        return None
    with open(lock) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = fh.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def shown_state(job: Job, running: bool) -> str:
    if job.state == "running" and not running:
        return "interrupted"  # the watcher died mid-job; it resumes on the next start
    if job.state == "waiting" and job.error:
        return "retrying"
    return job.state


def _open(out: Path) -> Optional[JobStore]:
    try:
        return JobStore(out, create=False)
    except FileNotFoundError as exc:
        print(f"tonescribe: error: {exc}", file=sys.stderr)
        return None


def run_status(args: argparse.Namespace) -> int:
    store = _open(args.out)
    if store is None:
        return 2
    pid = watcher_running(args.out)
    jobs = store.jobs()
    counts = store.counts()
    store.close()
    rows = [{**job.as_dict(), "shown_state": shown_state(job, pid is not None)} for job in jobs]
    if args.json:
        print(json.dumps({"watcher_pid": pid, "counts": counts, "jobs": rows}, ensure_ascii=False, indent=1))
        return 0
    print(f"watcher: {'running (pid %d)' % pid if pid else 'not running'}   store: {store.path}")
    table = [("NAME", "STATE", "STAGE", "TRIES", "AUDIO", "TIME", "FILE", "ERROR / RECORDING QUALITY")]
    now = time.time()
    for job, row in zip(jobs, rows):
        stage = job.current_stage or job.stage or "-"
        if job.state == "running" and job.current_stage:
            stage = f"{job.current_stage}…"
        spent = job.timings_s.get("total") if job.state == "done" else (
            now - job.started_at if job.state == "running" and job.started_at else None)
        error = job.error or ""
        if row["shown_state"] == "retrying":
            error = f"{error} (next try in {max(0, job.not_before - now):.0f} s)"
        elif job.state == "done" and job.warnings:  # the sentences are in transcript.json and the log
            error = "quality: " + ", ".join(code.replace("_", " ") for code in job.warnings)
        table.append((job.name, row["shown_state"], stage, str(job.attempts), _seconds(job.duration_s),
                      _seconds(spent), Path(job.path).name, error))
    print("\n".join(table_lines(table)))
    total = sum(counts.values())
    finished = counts["done"] + counts["failed"]
    print(f"\nqueue: {finished}/{total} finished ({counts['done']} done, {counts['failed']} failed), "
          f"{counts['running']} running, {counts['waiting']} waiting")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    store = _open(args.out)
    if store is None:
        return 2
    jobs = store.retry(tuple(args.names))
    store.close()
    for job in jobs:
        error_note_path(args.out, job.name).unlink(missing_ok=True)
        print(f"queued again: {job.name} ({Path(job.path).name}; was: {job.error})")
    if not jobs:
        print("nothing to retry" + (f": no failed recording named {', '.join(args.names)}" if args.names else ""))
        return 1 if args.names else 0
    if watcher_running(args.out) is None:
        print(f"no watcher is running for {args.out}: start `tonescribe watch INBOX --out {args.out}`")
    return 0


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)}:{seconds:04.1f}" if minutes else f"{seconds:.1f} s"
