"""``tonescribe render OUTDIR... [--notation jefferson|gat2|plain] [--thresholds FILE] [--omit TYPES]``

Re-renders notations from an output folder's ``transcript.json`` alone: no audio, no recognition.
The review's corrections (``corrections.json``) are applied, as every export applies them, so
after a review the notations show the corrected words, speakers and marks. With
``--thresholds`` the marks are first re-derived from the stored tracks with the new thresholds,
and ``transcript.json`` is rewritten with them (and the thresholds used). With ``--omit`` the
notations leave those mark types out and say so in their first line; ``transcript.json`` keeps
them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from capture import atomic
from capture.outputs import TRANSCRIPT_JSON, rewrite_files
from capture.record import Transcript, replace
from prosody.marks import annotate
from prosody.notation.omit import add_option, leave_out
from prosody.thresholds import load_thresholds
from review.corrections import apply_corrections, load_layer

logger = logging.getLogger("tonescribe.render")

NOTATIONS = {"jefferson": "transcript.jefferson.txt", "gat2": "transcript.gat2.txt", "plain": "transcript.txt"}


def register(sub) -> None:
    parser = sub.add_parser("render", help="re-render Jefferson/GAT2/plain transcripts from transcript.json",
                            description=__doc__.split("\n\n", 1)[1].strip())
    parser.add_argument("outdir", nargs="+", type=Path, help="output folder(s) holding transcript.json")
    parser.add_argument("--notation", action="append", choices=sorted(NOTATIONS),
                        help="which file to write (repeatable; default: all three)")
    parser.add_argument("--thresholds", type=Path, metavar="FILE",
                        help="TOML file of mark thresholds (see prosody/thresholds.toml); re-derives the marks")
    add_option(parser, files="notations")
    parser.set_defaults(func=run)


def rerender(folder: Path, notations: list[str], thresholds_path: Path | None, omit: Sequence[str] = ()) -> list[str]:
    """Re-render one folder, the notations without the mark types ``omit``; returns the names of
    the files written."""
    source = folder / TRANSCRIPT_JSON
    if not source.is_file():
        raise ValueError(f"{folder}: no {TRANSCRIPT_JSON} here; give an output folder of `tonescribe process`")
    try:
        transcript = Transcript.load(source)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{source}: cannot read it ({exc})") from None
    layer = load_layer(folder)  # before anything is written: a broken corrections file changes nothing
    written = []
    if thresholds_path is not None or not transcript.marks:
        thresholds = load_thresholds(thresholds_path)
        if transcript.spectral_change is None and transcript.intensity is not None:
            logger.warning("%s: written before schema 1.4, without the spectral change track: tempo is judged on "
                           "the syllable rate and no sound held steady counts as lengthening; process the recording "
                           "again to have them", folder)
        transcript = annotate(transcript, thresholds)
        options = {**transcript.pipeline.options, "thresholds": thresholds.as_dict()}
        transcript = replace(transcript, pipeline=replace(transcript.pipeline, options=options))
        atomic.write_text(source, transcript.to_json() + "\n")
        written.append(TRANSCRIPT_JSON)
    names = [NOTATIONS[n] for n in notations]
    rewrite_files(folder, leave_out(apply_corrections(transcript, layer), omit), names)
    return written + names


def run(args: argparse.Namespace) -> int:
    notations = args.notation or list(NOTATIONS)
    failures = 0
    for folder in args.outdir:
        try:
            written = rerender(folder, notations, args.thresholds, args.omit)
        except ValueError as exc:
            print(f"tonescribe: error: {exc}", file=sys.stderr)
            failures += 1
            continue
        print(f"{folder}: wrote {', '.join(written)}")
    return 2 if failures else 0
