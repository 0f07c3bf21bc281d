"""``tonescribe verdicts OUTDIR [--csv FILE] [--json]``: what the review made of the machine's marks.

Per mark type over every transcript under OUTDIR: how many marks the machine made, how many a
reviewer accepted or rejected in ``tonescribe review``, and the precision among the reviewed ones
with its 95 % interval (``review.verdicts``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
from pathlib import Path

from capture import atomic
from capture.progress import table_lines

NOTE = ("Precision is the share of the reviewed marks that were accepted. It stands for all the marks when the "
        "reviewed ones were not picked for looking wrong (N in the review steps through them in order). "
        "Marks the machine missed are not counted: recall cannot be read from verdicts.")


def register(sub) -> None:
    parser = sub.add_parser("verdicts", help="how many of the marks reviewers accepted and rejected, per type",
                            description="Per mark type, over every transcript under OUTDIR: the machine's marks, "
                                        "how many were accepted or rejected in `tonescribe review`, and the "
                                        "precision among the reviewed ones with its 95 %% interval.")
    parser.add_argument("outdir", type=Path, help="the --out folder of `tonescribe process` or `watch`")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every mark with its verdict to FILE")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from review.library import transcript_folders
    from review.verdicts import summarise, verdicts_of

    if not args.outdir.is_dir():
        print(f"tonescribe: error: {args.outdir} is not a folder; pass the --out folder of `tonescribe process` "
              "or `watch`", file=sys.stderr)
        return 2
    root = args.outdir.resolve()
    rows, recordings, reviewed = [], 0, 0
    for folder in transcript_folders(root):
        name = folder.relative_to(root).as_posix()
        try:
            mine = verdicts_of(folder, name=name)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # one broken folder must not hide the others
            print(f"tonescribe: warning: {name}: left out ({exc})", file=sys.stderr)
            continue
        recordings += 1
        reviewed += any(v.status != "unreviewed" for v in mine)
        rows += mine
    if not recordings:
        print(f"tonescribe: error: no transcripts under {args.outdir}", file=sys.stderr)
        return 2
    summary = summarise(rows)
    if args.csv:
        atomic.write_text(args.csv, _csv(rows))
    if args.json:
        print(json.dumps({"recordings": recordings, "reviewed_recordings": reviewed, "types": [
            {**dataclasses.asdict(s), "unreviewed": s.unreviewed, "precision": s.precision,
             "interval_95": s.interval()} for s in summary]}, ensure_ascii=False, indent=1))
        return 0
    print(f"{recordings} recording(s) under {args.outdir}, {reviewed} of them reviewed")
    table = [("TYPE", "MARKS", "ACCEPTED", "REJECTED", "UNREVIEWED", "PRECISION", "95 % INTERVAL")]
    for s in summary:
        interval = s.interval()
        table.append((s.type, str(s.marks), str(s.accepted), str(s.rejected), str(s.unreviewed),
                      "-" if s.precision is None else f"{s.precision:.2f}",
                      "-" if interval is None else f"{interval[0]:.2f}-{interval[1]:.2f}"))
    print("\n".join(table_lines(table)))
    print(f"\n{NOTE}")
    return 0


def _csv(rows) -> str:
    buffer = io.StringIO()
    fields = [f.name for f in dataclasses.fields(rows[0])] if rows else ["recording", "mark", "type", "status"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for v in rows:
        writer.writerow({k: "" if x is None else x for k, x in dataclasses.asdict(v).items()})
    return buffer.getvalue()
