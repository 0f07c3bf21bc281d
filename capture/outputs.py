"""Writing a recording's output folder: transcript.json, transcript.txt, diarization.rttm.

The folder is filled under a hidden staging name and renamed into place, so a reader never sees
a half-written transcript; re-rendering single files uses atomic file writes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

from capture import atomic
from capture.record import Transcript
from prosody.notation.gat2 import render_gat2
from prosody.notation.jefferson import render_jefferson
from prosody.notation.omit import leave_out
from prosody.notation.plain import render_plain
from transcribe.rttm import render_rttm

TRANSCRIPT_JSON = "transcript.json"
# Files in an output folder that are not made from the transcript and must outlive a rewrite:
# the review's corrections (their edits are anchored to word times, so stale ones are skipped).
CORRECTIONS_JSON = "corrections.json"  # review.corrections
KEEP_ON_REWRITE = (CORRECTIONS_JSON,)

# name -> renderer; later stages (notation, exports) add theirs here.
RENDERERS: dict[str, Callable[[Transcript], str]] = {
    "transcript.txt": render_plain,
    "transcript.jefferson.txt": render_jefferson,
    "transcript.gat2.txt": render_gat2,
    "diarization.rttm": lambda t: render_rttm(t.turns, Path(t.audio.path).stem),
}


def output_dir_for(audio_path: str | Path, out_root: Path, taken: set[Path]) -> Path:
    """``out_root/<file name without extension>``; a suffix ``-2``, ``-3``... only when that name is
    already used in this run or by a transcript of a different recording."""
    stem = Path(audio_path).stem or "recording"
    resolved = str(Path(audio_path).resolve())
    n = 1
    while True:
        candidate = out_root / (stem if n == 1 else f"{stem}-{n}")
        if candidate not in taken and not _owned_by_other(candidate, resolved):
            taken.add(candidate)
            return candidate
        n += 1


def _owned_by_other(folder: Path, resolved_audio: str) -> bool:
    existing = folder / TRANSCRIPT_JSON
    if not existing.is_file():
        return folder.exists() and any(folder.iterdir())
    try:
        return json.loads(existing.read_text(encoding="utf-8"))["audio"]["path"] != resolved_audio
    except (OSError, ValueError, KeyError, TypeError):
        return True


def render_all(transcript: Transcript, names: Iterable[str] | None = None) -> dict[str, str]:
    chosen = RENDERERS if names is None else {n: RENDERERS[n] for n in names}
    return {name: fn(transcript) for name, fn in chosen.items()}


def write_output_dir(transcript: Transcript, folder: Path, *, omit: Sequence[str] = ()) -> Path:
    """``transcript.json`` and the files rendered from it, published at once; the rendered files
    without the mark types ``omit`` (``prosody.notation.omit``), transcript.json with every mark.
    A folder processed again keeps its review: the rendered files show the corrections that still
    apply, as ``tonescribe render`` and the exports do; transcript.json stays the machine's."""
    from review.corrections import with_kept_corrections  # review imports this module

    folder.parent.mkdir(parents=True, exist_ok=True)
    shown = leave_out(with_kept_corrections(transcript, folder), omit)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        (staging / TRANSCRIPT_JSON).write_text(transcript.to_json() + "\n", encoding="utf-8")
        for name, text in render_all(shown).items():
            (staging / name).write_text(text, encoding="utf-8")
        for name in KEEP_ON_REWRITE:  # a reviewer's work survives processing the recording again
            if (folder / name).is_file():
                shutil.copy2(folder / name, staging / name)
        atomic.publish_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def rewrite_files(folder: Path, transcript: Transcript, names: Iterable[str]) -> None:
    for name, text in render_all(transcript, names).items():
        atomic.write_text(folder / name, text)
