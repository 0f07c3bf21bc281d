"""The ``tonescribe`` command. Each subcommand lives in its own module exposing
``register(subparsers)``; add new ones to ``COMMAND_MODULES``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from capture import __version__
from capture.offline import enforce_offline

COMMAND_MODULES = [
    "capture.cmd_process",
    "capture.cmd_watch",
    "capture.cmd_status",
    "prosody.notation.cmd_render",
    "review.cmd_review",
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    enforce_offline()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tonescribe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
