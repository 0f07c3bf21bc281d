"""``tonescribe watch INBOX --out DIR``: transcribe every recording in INBOX and whatever arrives,
each exactly once, surviving kills and restarts.

The main thread finds complete files (``capture.watcher``) and queues their content in the job
store (``capture.jobstore``); worker threads take jobs from the store and run them
(``capture.worker``). Only ``--workers`` recordings are in speech recognition at a time; with
overlap on (the default) one more thread decodes, diarizes or measures prosody meanwhile.
SIGTERM or Ctrl-C lets each worker finish its current stage (its result is checkpointed) and
exits; a second one exits at once, which is as safe as a kill: the next start resumes.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from capture.cli import stop_requested_during_startup
from capture.cmd_process import add_pipeline_arguments, options_from_args
from capture.jobstore import JobStore, store_dir
from capture.pipeline import Engine
from capture.progress import configure_logging
from capture.watcher import FolderWatcher, WatchOptions
from capture.worker import JobRunner, WorkerOptions, write_error_note
from transcribe.models import ModelNotFound

logger = logging.getLogger("tonescribe.watch")

LOCK_NAME = "watch.lock"
# What capture.atomic and capture.outputs leave behind when killed mid-write.
_LEFTOVER = re.compile(r"^\..+(\.partial-.+|\.old-\d+|\.tmp)$")


def register(sub) -> None:
    parser = sub.add_parser(
        "watch", help="transcribe recordings as they arrive in a folder, each exactly once",
        description="Transcribe the recordings in INBOX (and its subfolders), then each new one as it "
                    "arrives. Progress is kept in OUT/.tonescribe/jobs.db: stop or kill it at any time "
                    "and start it again; see `tonescribe status OUT`.")
    parser.add_argument("inbox", type=Path)
    add_pipeline_arguments(parser)
    parser.add_argument("--poll", action="store_true",
                        help="scan the folder every --interval seconds instead of using filesystem events "
                             "(for network and synced drives)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks (default 2)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="a file is taken once its size and time are unchanged this long (default 2 s)")
    parser.add_argument("--rescan", type=float, default=60.0,
                        help="full rescan every this many seconds even with events (default 60)")
    parser.add_argument("--workers", type=int, default=1,
                        help="recordings in speech recognition at the same time (default 1)")
    parser.add_argument("--no-overlap", action="store_true",
                        help="do not decode or measure prosody of one recording while another is recognised")
    parser.add_argument("--min-duration", type=float, default=1.0,
                        help="recordings shorter than this many seconds fail with a reason (default 1)")
    parser.add_argument("--max-attempts", type=int, default=3,
                        help="unexpected errors are retried this often before a job fails (default 3)")
    parser.add_argument("--backoff", type=float, default=5.0,
                        help="first delay in seconds before retrying a temporary error; doubles each time (default 5)")
    parser.add_argument("--backoff-max", type=float, default=300.0, help="longest retry delay (default 300 s)")
    parser.add_argument("--move-done", type=Path, metavar="DIR",
                        help="move each original into DIR once its transcript is written (default: never touch it)")
    parser.add_argument("--once", action="store_true", help="process what is there now, then exit")
    parser.set_defaults(func=run, handles_stop=True)


def run(args: argparse.Namespace) -> int:
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    inbox = args.inbox.absolute()
    out = args.out.absolute()
    if not inbox.is_dir():
        print(f"tonescribe: error: {args.inbox} is not a folder", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("tonescribe: error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        watch_options = WatchOptions(poll=args.poll, interval_s=args.interval, settle_s=args.settle,
                                     rescan_s=args.rescan)
        process_options = options_from_args(args)
    except ValueError as exc:
        print(f"tonescribe: error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(store_dir(out))
    if lock is None:
        print(f"tonescribe: error: another `tonescribe watch` is already writing to {out}", file=sys.stderr)
        return 2
    stop = threading.Event()
    _install_signal_handlers(stop)  # before the slow start-up, so an early SIGTERM still exits cleanly
    if stop_requested_during_startup():
        stop.set()
    store = JobStore(out)
    _remove_leftovers(out)
    for job in store.recover(crash_limit=args.max_attempts + 2):
        if job.state == "failed":
            write_error_note(out, job.name, job.path, job.error)
            logger.error("%s: failed: %s", job.name, job.error)
        else:
            logger.info("%s: was interrupted; resuming after stage %s", job.name, job.stage or "none")

    engine = Engine(process_options, scratch_dir=args.scratch)
    try:
        engine.recognizer()
    except (ModelNotFound, ValueError) as exc:
        print(f"tonescribe: error: {exc}", file=sys.stderr)
        return 2
    if stop.is_set():
        logger.info("stopped during start-up")
        return 0
    runner = JobRunner(engine, store, out, WorkerOptions(
        min_duration_s=args.min_duration, max_attempts=args.max_attempts, backoff_s=args.backoff,
        backoff_max_s=args.backoff_max, move_done=args.move_done.absolute() if args.move_done else None,
        inbox=inbox, exports=args.export, omit=tuple(args.omit)),
        stop=stop, asr_slots=threading.Semaphore(args.workers))
    excluded = [out] + ([args.move_done] if args.move_done else [])
    watcher = FolderWatcher(inbox, watch_options, exclude=excluded)

    threads = [threading.Thread(target=_work, args=(runner, stop), name=f"worker-{i}", daemon=True)
               for i in range(args.workers + (0 if args.no_overlap else 1))]
    watcher.start()
    for thread in threads:
        thread.start()
    logger.info("watching %s, writing to %s (%d worker thread%s)", inbox, out, len(threads),
                "" if len(threads) == 1 else "s")
    tick = max(0.05, min(args.interval, args.settle / 2 if args.settle > 0 else args.interval))
    try:
        while not stop.is_set():
            for arrival in watcher.poll():
                try:
                    runner.take_in(arrival.path, arrival.size_bytes, arrival.mtime_ns, arrival.unreadable)
                except Exception as exc:  # noqa: BLE001 - e.g. the store's disk is full: try again later
                    logger.warning("could not queue %s (%s); trying again", arrival.path, exc)
                    watcher.forget(arrival.path)
            if args.once and watcher.scans and not watcher.busy() and _idle(store):
                break
            stop.wait(tick)
    finally:
        stop.set()
        runner.work.set()
        watcher.stop()
        for thread in threads:
            thread.join()
        counts = store.counts()
        store.close()
        logger.info("stopped: %d done, %d failed, %d waiting", counts["done"], counts["failed"],
                    counts["waiting"] + counts["running"])
    return 0


def _work(runner: JobRunner, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            job = runner.store.claim()
        except Exception:  # noqa: BLE001
            logger.exception("could not read the job store; trying again")
            stop.wait(1.0)
            continue
        if job is None:
            runner.work.clear()
            due = runner.store.next_due()
            wait = 1.0 if due is None else min(1.0, max(0.01, due - time.time()))
            runner.work.wait(wait)
            continue
        logger.info("%s: started (%s, attempt %d)", job.name, job.path, job.attempts)
        try:
            runner.run(job)
        except Exception as exc:  # noqa: BLE001 - the store cannot record the outcome (disk full?)
            logger.warning("%s: could not record the outcome (%s); will retry", job.name, exc)
            _give_back(runner, job, exc, stop)


def _give_back(runner: JobRunner, job, exc: Exception, stop: threading.Event) -> None:
    """Put the job back in the queue as soon as the store can be written again."""
    delay = runner.options.backoff_s
    while not stop.is_set():
        try:
            runner.store.defer(job.sha256, f"{type(exc).__name__}: {exc}", backoff_s=runner.options.backoff_s,
                               backoff_max_s=runner.options.backoff_max_s)
            return
        except Exception:  # noqa: BLE001
            stop.wait(delay)
            delay = min(delay * 2, runner.options.backoff_max_s)


def _idle(store: JobStore) -> bool:
    counts = store.counts()
    return counts["waiting"] == 0 and counts["running"] == 0


def _lock(state_dir: Path):
    """An exclusive lock on ``OUT/.tonescribe/watch.lock`` for this process's lifetime (the kernel
    drops it when the process dies, however it dies)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fh = open(state_dir / LOCK_NAME, "a+")
    for _ in range(20):  # `tonescribe status` may hold a shared lock for a moment
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            return fh
        except BlockingIOError:
            time.sleep(0.1)
    fh.close()
    return None


def _remove_leftovers(out: Path) -> None:
    """Staging folders and temporary files of writes cut short by a kill; never visible outputs."""
    checkpoints = store_dir(out) / "checkpoints"
    entries = list(out.iterdir()) + (list(checkpoints.rglob(".*")) if checkpoints.is_dir() else [])
    for entry in entries:
        if _LEFTOVER.match(entry.name):
            logger.info("removing leftover of an interrupted write: %s", entry)
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum, frame):
        if stop.is_set():
            logger.warning("second signal: exiting now; unfinished work resumes on the next start")
            os._exit(130)
        logger.info("stopping after the current stage (send the signal again to exit at once)")
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
