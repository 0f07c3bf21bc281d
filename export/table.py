"""Tables: ``<stem>.words.csv`` (and ``<stem>.words.parquet`` when pyarrow is installed), one row
per word for pandas, R or a spreadsheet.

Columns: the word's index, speaker id and name, utterance number, text, start/end/duration in
seconds (full precision), recogniser probability, every per-word prosodic feature, the measured
pause after the word, then for every mark type ``mark_<type>`` (its value, ``;``-joined when
several marks of one type cover the word) and ``mark_<type>_confidence``. Pause, gap and latch
marks sit on the word before the silence. An empty cell means "not measured" / "no mark"; a
type left out of the export (``--omit``) has no columns.
"""

from __future__ import annotations

import bisect
import csv
import importlib.util
import io
from pathlib import Path
from typing import Any

from capture import atomic
from capture.record import Transcript
from export.common import PAUSE_TYPES, number, speakers, speaker_key
from prosody.notation.omit import left_out

BASE_COLUMNS = ("word_index", "speaker", "speaker_name", "utterance", "text", "start_s", "end_s", "duration_s",
                "probability")
PROSODY_COLUMNS = ("f0_mean_hz", "f0_min_hz", "f0_max_hz", "f0_mean_st", "intensity_mean_db", "intensity_max_db",
                   "voiced_fraction", "pause_after_s")
# The marks stage's types (prosody.marks.MARK_TYPES), so the columns are the same in every file.
KNOWN_MARK_TYPES = ("pause", "gap", "latch", "emphasis", "loud", "quiet", "pitch_step", "intonation", "tempo",
                    "lengthening", "overlap")


def mark_types(transcript: Transcript) -> list[str]:
    """The mark columns' types: every type the marks stage writes, less those the export leaves
    out (``--omit``: no column, so "not transcribed" never reads as "no mark")."""
    extra = sorted({m.type for m in transcript.marks} - set(KNOWN_MARK_TYPES))
    omitted = left_out(transcript)
    return [t for t in (*KNOWN_MARK_TYPES, *extra) if t not in omitted]


def columns(transcript: Transcript) -> list[str]:
    marks = [c for t in mark_types(transcript) for c in (f"mark_{t}", f"mark_{t}_confidence")]
    return [*BASE_COLUMNS, *PROSODY_COLUMNS, *marks]


def rows(transcript: Transcript) -> list[dict[str, Any]]:
    words = transcript.words
    names = {w.id: w.label for w in speakers(transcript)}
    utterance_of = {i: n for n, u in enumerate(transcript.utterances) for i in range(u.first_word, u.last_word + 1)}
    order = sorted(range(len(words)), key=lambda i: words[i].end_s)
    ends = [words[i].end_s for i in order]
    pause_after: dict[int, float] = {}
    for p in transcript.pauses:
        k = bisect.bisect_right(ends, p.start_s + 1e-6) - 1
        if k >= 0:
            pause_after[order[k]] = p.duration_s
    marks: dict[int, dict[str, list]] = {}
    for m in transcript.marks:
        if m.first_word is None:
            continue
        last = m.first_word if m.type in PAUSE_TYPES or m.last_word is None else m.last_word
        for i in range(m.first_word, min(last, len(words) - 1) + 1):
            marks.setdefault(i, {}).setdefault(m.type, []).append(m)
    out = []
    for i, w in enumerate(words):
        p = w.prosody
        row: dict[str, Any] = {
            "word_index": i, "speaker": speaker_key(w.speaker), "speaker_name": names.get(speaker_key(w.speaker), ""),
            "utterance": utterance_of.get(i), "text": w.text, "start_s": w.start_s, "end_s": w.end_s,
            "duration_s": round(w.end_s - w.start_s, 6), "probability": w.probability,
            "pause_after_s": pause_after.get(i),
        }
        for name in PROSODY_COLUMNS[:-1]:
            row[name] = getattr(p, name) if p is not None else None
        for kind, found in marks.get(i, {}).items():
            row[f"mark_{kind}"] = ";".join(number(m.value) if m.value is not None else kind for m in found)
            row[f"mark_{kind}_confidence"] = max(m.confidence for m in found)
        out.append(row)
    return out


def render_csv(transcript: Transcript) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(transcript), lineterminator="\n")
    writer.writeheader()
    for row in rows(transcript):
        writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def parquet_bytes(transcript: Transcript) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = columns(transcript)
    data = rows(transcript)
    text_cols = {"speaker", "speaker_name", "text"} | {c for c in cols if c.startswith("mark_") and not c.endswith("_confidence")}
    int_cols = {"word_index", "utterance"}
    arrays = {}
    for c in cols:
        kind = pa.string() if c in text_cols else pa.int64() if c in int_cols else pa.float64()
        arrays[c] = pa.array([r.get(c) for r in data], type=kind)
    table = pa.table(arrays)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    folder = Path(folder)
    out = [folder / f"{stem}.words.csv"]
    atomic.write_text(out[0], render_csv(transcript))
    if importlib.util.find_spec("pyarrow") is not None:
        out.append(folder / f"{stem}.words.parquet")
        atomic.write_bytes(out[-1], parquet_bytes(transcript))
    return out
