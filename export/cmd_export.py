"""``tonescribe export OUTDIR|transcript.json --format eaf|textgrid|cha|vtt|srt|docx|csv|all [--omit TYPES]``"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from capture.progress import configure_logging
from export import FORMATS, ExportError, export_all
from prosody.notation.omit import add_option

logger = logging.getLogger("tonescribe.export")


def register(sub) -> None:
    lines = "\n".join(f"  {name:<9} {what}" for name, (_, _, what) in FORMATS.items())
    parser = sub.add_parser(
        "export", help="write a transcript for ELAN, Praat, CLAN, Word, subtitles or tables",
        description="Export the transcript of one or more output folders (with the review corrections "
                    "applied) into the formats researchers analyse in. Formats:\n" + lines,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="+", type=Path, help="an output folder of `tonescribe process`, or its transcript.json")
    parser.add_argument("--format", "-f", dest="formats", action="append", required=True, metavar="FORMAT",
                        help=f"{', '.join(FORMATS)} or all; repeat or separate with commas")
    parser.add_argument("--out", type=Path, default=None, help="write the files here (default: next to transcript.json)")
    add_option(parser, files="exported files")
    parser.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    failures = 0
    for target in args.target:
        try:
            written = export_all(target, ",".join(args.formats), out=args.out, omit=args.omit)
        except ExportError as exc:
            print(f"tonescribe: error: {exc}", file=sys.stderr)
            failures += 1
            continue
        if not args.quiet:
            for paths in written.values():
                for path in paths:
                    print(path)
    return 1 if failures else 0
