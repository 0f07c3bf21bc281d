"""Exports of a finished transcript into the programs researchers analyse in.

``export_all(folder, formats)`` reads ``folder/transcript.json`` (with the review corrections
applied, see ``export.source``) and writes one set of files per format next to it. Each format
lives in its own module with a ``write(transcript, folder, *, stem) -> list[Path]``; heavy or
optional libraries (python-docx, pyarrow) are imported only when that format is asked for.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Iterable, Optional, Sequence

from export.source import ExportError, load_transcript, transcript_folder

logger = logging.getLogger("tonescribe.export")

# format name -> (module, function, what it writes)
FORMATS: dict[str, tuple[str, str, str]] = {
    "eaf": ("export.eaf", "write", "ELAN .eaf with an F0/intensity time-series (_tsconf.xml + .csv)"),
    "textgrid": ("export.textgrid", "write", "Praat .TextGrid plus .PitchTier and .IntensityTier"),
    "cha": ("export.chat", "write", "CHAT .cha for CLAN, CA mode"),
    "vtt": ("export.subtitles", "write_vtt", "WebVTT subtitles with voice tags"),
    "srt": ("export.subtitles", "write_srt", "SRT subtitles"),
    "docx": ("export.docx", "write", "Word .docx laid out as a Jefferson transcript"),
    "csv": ("export.table", "write", "one row per word .csv (and .parquet when pyarrow is installed)"),
}

__all__ = ["FORMATS", "ExportError", "export_after_write", "export_all", "export_transcript", "formats_arg", "parse_formats"]


def parse_formats(spec: Optional[str | Iterable[str]]) -> tuple[str, ...]:
    """``"eaf,cha"``, ``"all"``, ``"none"``/empty or a list of names -> format names in order."""
    if spec is None:
        return ()
    items = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in (i.strip().lower() for i in items):
        if item in ("", "none"):
            continue
        chosen = list(FORMATS) if item == "all" else [item]
        for name in chosen:
            if name not in FORMATS:
                raise ExportError(f"unknown export format {item!r}; choose from {', '.join(FORMATS)}, all or none")
            if name not in names:
                names.append(name)
    return tuple(names)


def export_transcript(transcript, folder: Path, formats: Sequence[str], *, stem: Optional[str] = None) -> dict[str, list[Path]]:
    """Write ``formats`` of an already loaded transcript into ``folder``."""
    from export.common import file_stem

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or file_stem(transcript)
    written: dict[str, list[Path]] = {}
    for name in parse_formats(formats):
        module, function, _ = FORMATS[name]
        writer = getattr(importlib.import_module(module), function)
        written[name] = writer(transcript, folder, stem=stem)
        logger.info("%s: wrote %s", name, ", ".join(p.name for p in written[name]))
    return written


def export_all(folder: str | Path, formats: Sequence[str] | str, *, out: Optional[Path] = None,
               omit: Sequence[str] = ()) -> dict[str, list[Path]]:
    """Export the transcript in ``folder`` (an output folder or its transcript.json) to
    ``formats``, without the mark types ``omit`` (``prosody.notation.omit``); files go to ``out``
    (default: the same folder)."""
    from prosody.notation.omit import leave_out

    source = transcript_folder(folder)
    transcript = leave_out(load_transcript(source), omit)
    return export_transcript(transcript, Path(out) if out else source, parse_formats(formats))


def export_after_write(folder: Path, formats: Sequence[str] | str | None,
                       omit: Sequence[str] = ()) -> dict[str, list[Path]]:
    """The exports ``process`` and ``watch`` run once an output folder is published (without the
    mark types ``omit``). The transcript is already safe on disk, so a failing export is logged,
    not raised."""
    if not formats:
        return {}
    try:
        return export_all(folder, formats, omit=omit)
    except Exception as exc:  # noqa: BLE001 - an export must not undo a finished transcription
        logger.error("%s: export failed: %s (run `tonescribe export %s --format ...` to retry)", folder, exc, folder)
        return {}


def formats_arg(spec: str) -> tuple[str, ...]:
    """argparse ``type=`` for an ``--export`` option: a bad name is a usage error, reported
    before any recording is processed."""
    import argparse

    try:
        return parse_formats(spec)
    except ExportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
