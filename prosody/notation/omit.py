"""Leaving prosodic mark types out of a notation or an export (``--omit``).

A researcher who trusts the timed pauses and the final intonation but not, say, the automatic
emphasis (its measured accuracy is in the README) can write transcripts without it instead of
rejecting each mark in the review. Only the written files change: ``transcript.json`` keeps every
mark, and the other marks are the ones derived with all types (a word judged emphasised is not
made lengthening because emphasis is left out). Every file written without a type says so
(``left_out``), so a missing symbol is never read as "not there".

Pauses, gaps, latching and overlaps are the layout of the talk (lines, silences, brackets), not
judgements of how a word was said, and are always kept.
"""

from __future__ import annotations

from typing import Iterable, Optional

from capture.record import Transcript, replace

OMITTABLE = ("emphasis", "loud", "quiet", "pitch_step", "intonation", "tempo", "lengthening")
KEPT = ("pause", "gap", "latch", "overlap")
OPTION = "marks_left_out"  # the key in pipeline.options of the copy that is written


def parse_omit(spec: Optional[str | Iterable[str]]) -> tuple[str, ...]:
    """``"emphasis,lengthening"`` or a list of such items -> mark types in ``OMITTABLE`` order.
    A name that is not a prosodic mark type is an error that lists the names there are."""
    if spec is None:
        return ()
    items = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    chosen = set()
    for item in (i.strip().lower().replace("-", "_") for i in items):
        if not item:
            continue
        if item in KEPT:
            raise ValueError(f"{item} marks cannot be left out: pauses, gaps, latching and overlaps are the "
                             f"layout of the talk; choose from {', '.join(OMITTABLE)}")
        if item not in OMITTABLE:
            raise ValueError(f"unknown mark type {item!r}; choose from {', '.join(OMITTABLE)}")
        chosen.add(item)
    return tuple(t for t in OMITTABLE if t in chosen)


def add_option(parser, *, files: str) -> None:
    """``--omit TYPES`` (comma-separated, repeatable) on a command's parser; a bad name is a usage
    error. ``files`` names what the command writes, for the help text."""
    import argparse

    def omit_arg(spec: str) -> tuple[str, ...]:
        try:
            return parse_omit(spec)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parser.add_argument("--omit", action="extend", type=omit_arg, default=[], metavar="TYPES",
                        help=f"mark types the {files} leave out, saying so (comma-separated, repeatable): "
                             f"{', '.join(OMITTABLE)}")


def leave_out(transcript: Transcript, types: str | Iterable[str]) -> Transcript:
    """The transcript without the marks of ``types`` (as ``parse_omit`` reads them), for writing
    files from; the types go into ``pipeline.options[OPTION]`` so the files can say what they do
    not show."""
    types = parse_omit(types)
    if not types:
        return transcript
    options = {**transcript.pipeline.options, OPTION: list(types)}
    return replace(transcript, marks=tuple(m for m in transcript.marks if m.type not in types),
                   pipeline=replace(transcript.pipeline, options=options))


def left_out(transcript: Transcript) -> tuple[str, ...]:
    """The mark types this copy of the transcript was written without (``leave_out``)."""
    return tuple((transcript.pipeline.options or {}).get(OPTION) or ())


def left_out_text(transcript: Transcript) -> str:
    """``"not transcribed: emphasis, lengthening"``, or "" when nothing was left out."""
    types = left_out(transcript)
    return f"not transcribed: {', '.join(t.replace('_', ' ') for t in types)}" if types else ""
