"""Where exports read a recording's transcript: the reviewed version when there is one.

Every export goes through ``load_transcript`` so that a reviewer's corrections
(``corrections.json``, issue 6) show up in ELAN, Praat, CLAN, Word and the tables alike.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from capture.outputs import TRANSCRIPT_JSON
from capture.record import Transcript

logger = logging.getLogger("tonescribe.export")


class ExportError(ValueError):
    """An export that cannot be made; the message says what to do."""


def transcript_folder(target: str | Path) -> Path:
    """The output folder named by ``target``: the folder itself or its ``transcript.json``."""
    target = Path(target)
    folder = target.parent if target.suffix.lower() == ".json" else target
    if not (folder / TRANSCRIPT_JSON).is_file():
        raise ExportError(
            f"{target}: no {TRANSCRIPT_JSON} there; give an output folder written by "
            "`tonescribe process` (or the transcript.json inside it)"
        )
    return folder


def load_transcript(folder: str | Path) -> Transcript:
    """``folder/transcript.json`` with the review corrections applied when the review layer is
    installed (it always is in a full install; the fallback keeps exports usable without it)."""
    folder = Path(folder)
    try:
        if importlib.util.find_spec("review.corrections") is not None:
            from review.corrections import load_corrected

            return load_corrected(folder)
        logger.debug("review.corrections not installed; exporting %s uncorrected", folder)
        return Transcript.load(folder / TRANSCRIPT_JSON)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{folder / TRANSCRIPT_JSON}: cannot be read ({exc})") from exc
