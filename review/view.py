"""The transcript page's data: the corrected transcript laid out as lines (``view_model``, sent
again after every correction) and what corrections never change (``tracks_model``, sent once):
the pitch and intensity tracks and the marks' evidence. A one-word emphasis or lengthening mark
carries where the notations write it inside the word (``_in_word``): the page underlines the
accented syllable and puts the colons after the held sound, as the Jefferson transcript does.

Word and mark indices sent to the browser come in pairs: the corrected index (what is shown)
and the original index (what an edit names, see ``review.corrections``).
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Optional

import numpy as np

from capture.quality import warnings_of
from capture.record import Mark, Transcript
from prosody.notation.layout import accented_letters, colon_offset
from review.corrections import Corrected

# Colour-blind-safe palette (Okabe & Ito), one colour per speaker in order of first speech.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D1F", "#555555")
VIEW_HOP_S = 0.02  # tracks are sent at 50 points per second: enough for a contour, small for an hour


def speaker_medians_hz(t: Transcript) -> dict[Optional[str], float]:
    """Median F0 of each speaker: the marks step's baseline when there is one (so the page and the
    marks' evidence share a reference), else the median over the frames inside the speaker's words."""
    if t.pitch is None or not t.pitch.f0_hz:
        return {}
    out = _baseline_medians(t)
    if all(s.id in out for s in t.speakers):
        return out
    f0 = _as_array(t.pitch, "f0_hz")
    hop, start = t.pitch.hop_s, t.pitch.start_s
    chosen: dict[Optional[str], list[np.ndarray]] = {}
    for w in t.words:
        a, b = int(max(0, (w.start_s - start) / hop)), int(math.ceil((w.end_s - start) / hop))
        chosen.setdefault(w.speaker, []).append(f0[a:b])
    for speaker, parts in chosen.items():
        if speaker in out:
            continue
        vals = np.concatenate(parts) if parts else np.array([])
        vals = vals[np.isfinite(vals) & (vals > 0)]
        if vals.size:
            out[speaker] = float(np.median(vals))
    return out


def _baseline_medians(t: Transcript) -> dict[Optional[str], float]:
    out = {}
    for s in t.speakers:
        value = (getattr(s, "baseline", None) or {}).get("f0_median_hz")
        if isinstance(value, (int, float)) and value > 0:
            out[s.id] = float(value)
    return out


def _as_array(track, name: str) -> Optional[np.ndarray]:
    values = getattr(track, name, None) if track is not None else None
    return np.array(values, dtype=float) if values else None  # None (not measured) becomes NaN


def _decimated(track, values: Optional[np.ndarray]) -> Optional[dict]:
    if values is None:
        return None
    step = max(1, round(VIEW_HOP_S / track.hop_s))
    vals = np.round(values[::step], 2)
    return {"t0": track.start_s, "hop": round(track.hop_s * step, 6),
            "v": np.where(np.isfinite(vals), vals, None).tolist()}


def tracks_model(t: Transcript) -> dict[str, Any]:
    """What does not change with corrections, sent once per page: the pitch (Hz) and intensity
    (dB) tracks at ``VIEW_HOP_S`` and every mark's evidence (by original mark index). The page
    turns F0 into semitones against the median of whichever speaker a turn now belongs to."""
    db = _as_array(t.intensity, "db")
    finite = db[np.isfinite(db)] if db is not None else np.array([])
    return {
        "f0_hz": _decimated(t.pitch, _as_array(t.pitch, "f0_hz")),
        "db": _decimated(t.intensity, db),
        "db_range": [round(float(np.percentile(finite, 2)), 1), round(float(finite.max()), 1)] if finite.size else None,
        "evidence": [m.evidence for m in t.marks],
    }


def view_model(c: Corrected, *, renderers: list, revision: int, edits: list[dict]) -> dict[str, Any]:
    """The corrected transcript as the page draws it (without the tracks: see ``tracks_model``)."""
    t = c.transcript
    colours = {s.id: PALETTE[i % len(PALETTE)] for i, s in enumerate(t.speakers)}
    medians = speaker_medians_hz(t)
    lines = [{"k": k, "speaker": u.speaker, "start_s": u.start_s, "end_s": u.end_s,
              "first": u.first_word, "last": u.last_word, "note": "", "note_word": c.word_origin[u.first_word]}
             for k, u in enumerate(t.utterances)]
    _place_notes(c, lines)
    words = t.words
    mark_index = {orig: k for k, orig in enumerate(c.mark_origin)}
    marks = []
    for orig, m in _original_marks(c):
        if orig in mark_index:
            shown = t.marks[mark_index[orig]]
            first, last = shown.first_word, shown.last_word
        else:  # rejected: still placed on its words so it can be restored
            shown, first, last = m, None, None
            if m.first_word is not None and m.last_word is not None:
                first = bisect.bisect_left(c.word_origin, m.first_word)
                last = bisect.bisect_right(c.word_origin, m.last_word) - 1
                first, last = (first, last) if first <= last else (None, None)
        marks.append({
            "orig": orig, "type": m.type, "start_s": m.start_s, "end_s": m.end_s, "first": first, "last": last,
            "speaker": shown.speaker, "value": m.value, "confidence": m.confidence,
            "status": c.mark_status.get(orig, "unreviewed"),
            **_in_word(m, words[first].text if first is not None and first == last else None, t.language),
        })
    return {
        "audio": {"duration_s": t.audio.duration_s, "name": t.audio.path.rsplit("/", 1)[-1]},
        "revision": revision,
        "speakers": [{"id": s.id, "label": s.label, "color": colours[s.id],
                      "median_hz": round(medians[s.id], 1) if s.id in medians else None} for s in t.speakers],
        "words": {
            "text": [w.text for w in words],
            "start": [w.start_s for w in words],
            "end": [w.end_s for w in words],
            "speaker": [w.speaker for w in words],
            "p": [round(w.probability, 2) for w in words],
            "orig": list(c.word_origin),
        },
        "lines": lines,
        "pauses": [{"start_s": p.start_s, "end_s": p.end_s, "duration_s": p.duration_s} for p in t.pauses],
        "overlaps": [{"start_s": o.start_s, "end_s": o.end_s, "speakers": list(o.speakers)} for o in t.overlaps],
        "marks": marks,
        "renderers": renderers,
        "edits": edits,
        "skipped": list(c.skipped),
        "quality": [w.message for w in warnings_of(t)],
    }


def _in_word(m: Mark, text: Optional[str], language: Optional[str]) -> dict:
    """Where in a one-word mark's word (as it reads now, corrected or not) the notations write it,
    for the page to show the same: an emphasis mark's accented syllable (``syllable``, [start, end)
    of its letters; None where it is not located) and the offset of a lengthening mark's colons
    (``colon_at``)."""
    if text is None or m.type not in ("emphasis", "lengthening"):
        return {"syllable": None, "colon_at": None}
    if m.type == "emphasis":
        span = accented_letters(text, (m.evidence or {}).get("accented_syllable"))
        return {"syllable": list(span) if span is not None else None, "colon_at": None}
    return {"syllable": None, "colon_at": colon_offset(text, m.evidence, language=language)}


def _place_notes(c: Corrected, lines: list[dict]) -> None:
    """Each note goes on the line now holding the word it was written on (or the next kept word)."""
    if not lines:
        return
    firsts = [line["first"] for line in lines]
    for orig, text in sorted(c.note_origin.items()):
        j = bisect.bisect_left(c.word_origin, orig)
        if j >= len(c.word_origin):
            continue
        line = lines[max(0, bisect.bisect_right(firsts, j) - 1)]
        line["note"], line["note_word"] = text, orig


def _original_marks(c: Corrected):
    """Every mark of the original transcript (rejected ones included, so they can be restored)."""
    return list(enumerate(c.original.marks if c.original is not None else c.transcript.marks))
