"""The ``tonescribe`` command. Each subcommand lives in its own module exposing
``register(subparsers)``; add new ones to ``COMMAND_MODULES``."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from typing import Optional, Sequence

from capture import __version__
from capture.device import CPU_ISAS, hold_cpu_isa
from capture.offline import enforce_offline

COMMAND_MODULES = [
    "capture.cmd_process",
    "capture.cmd_watch",
    "capture.cmd_status",
    "prosody.notation.cmd_render",
    "review.cmd_review",
    "review.cmd_verdicts",
    "export.cmd_export",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tonescribe",
        description="Prosody-annotated transcripts of recorded talk, made offline on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"tonescribe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


_stop_during_startup = threading.Event()


def stop_requested_during_startup() -> bool:
    """Whether SIGTERM arrived while the command was still importing its libraries."""
    return _stop_during_startup.is_set()


def _note_stop(signum, frame) -> None:
    _stop_during_startup.set()


class Terminated(KeyboardInterrupt):
    """SIGTERM in a command that does not handle stopping itself: raised in the main thread so
    that its ``finally`` blocks run as for Ctrl+C (the scratch folder of decoded audio is
    removed, the aligner's worker processes are shut down) instead of the process vanishing."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def main(argv: Optional[Sequence[str]] = None) -> int:
    enforce_offline()
    # Importing the model libraries takes seconds; a SIGTERM then must not kill a watcher that
    # would otherwise shut down cleanly. Commands that handle stopping say so with handles_stop.
    try:
        previous = signal.signal(signal.SIGTERM, _note_stop)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        _hold_cpu_isa_first(argv)
    except ValueError as exc:
        print(f"tonescribe: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if previous is not None and not getattr(args, "handles_stop", False):
        signal.signal(signal.SIGTERM, _raise_terminated)
        if stop_requested_during_startup():
            return 128 + signal.SIGTERM
    try:
        return int(args.func(args) or 0)
    except Terminated:
        print("tonescribe: stopped (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("tonescribe: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None and not getattr(args, "handles_stop", False):
            signal.signal(signal.SIGTERM, previous)  # main() called in-process (tests) leaves no handler behind


def _hold_cpu_isa_first(argv: Optional[Sequence[str]]) -> None:
    """``--cpu-isa`` taken before the commands are loaded: numpy and OpenBLAS choose their kernels
    when numpy is imported, which loading the commands does (``capture.device.hold_cpu_isa``)."""
    early = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    early.add_argument("--cpu-isa", default="native")
    try:
        known, _ = early.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):  # the command's own parser says what is wrong
        return
    if known.cpu_isa in CPU_ISAS and known.cpu_isa != "native":
        hold_cpu_isa(known.cpu_isa)


if __name__ == "__main__":
    sys.exit(main())
