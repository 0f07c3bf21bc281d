"""``tonescribe watch INBOX [--out DIR]``: process what is in INBOX and whatever arrives."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from capture.cmd_process import add_pipeline_arguments, options_from_args
from capture.decode import AUDIO_EXTENSIONS, DecodeError, sha256_of
from capture.outputs import output_dir_for, write_output_dir
from capture.pipeline import Engine
from capture.progress import Reporter, configure_logging

logger = logging.getLogger("tonescribe.watch")


def register(sub) -> None:
    parser = sub.add_parser("watch", help="process recordings as they arrive in a folder",
                            description="Process the recordings in INBOX, then each new one, once.")
    parser.add_argument("inbox", type=Path)
    add_pipeline_arguments(parser)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between scans (default 2)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="a file is taken once its size and time are unchanged this long (default 2 s)")
    parser.add_argument("--once", action="store_true", help="process what is there now, then exit")
    parser.set_defaults(func=run)


def _candidates(inbox: Path):
    for path in sorted(inbox.rglob("*")):
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file() and not path.name.startswith("."):
            yield path


def run(args: argparse.Namespace) -> int:
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    if not args.inbox.is_dir():
        print(f"tonescribe: error: {args.inbox} is not a folder", file=sys.stderr)
        return 2
    engine = Engine(options_from_args(args), hook=Reporter(live=False).hook)
    seen: dict[Path, tuple[int, float]] = {}
    done_hashes: set[str] = set()
    taken: set[Path] = set()
    logger.info("watching %s, writing to %s", args.inbox, args.out)
    try:
        while True:
            now = time.monotonic()
            ready = []
            for path in _candidates(args.inbox):
                stat = path.stat()
                key = (stat.st_size, stat.st_mtime)
                first = seen.get(path)
                if first is None or first[0] != key:
                    seen[path] = (key, now)
                elif now - first[1] >= args.settle:
                    ready.append(path)
            for path in ready:
                digest = sha256_of(path)
                if digest in done_hashes:
                    continue
                done_hashes.add(digest)
                try:
                    folder = write_output_dir(engine.process(path), output_dir_for(path, args.out, taken))
                    print(folder, flush=True)
                except DecodeError as exc:
                    print(f"tonescribe: error: {exc}", file=sys.stderr, flush=True)
            if args.once and not any(p not in ready and seen.get(p) for p in seen if p.exists()) and ready == []:
                if all(sha256_of(p) in done_hashes for p in _candidates(args.inbox)):
                    return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        logger.info("stopped")
        return 0
