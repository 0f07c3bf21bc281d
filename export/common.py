"""What every export needs from a transcript: speakers with printable names, words per speaker
without overlaps, pauses and marks as labelled time spans, and the measured values as text.

The formats differ in syntax, not in what they carry, so the decisions live here once: which
tier a mark goes to, how its measured values are written, what a zero-length mark spans.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from capture.record import Mark, Transcript, Word

UNKNOWN_SPEAKER = "UNK"

# Tier families for prosodic marks, in the order the exports list them. A mark type not listed
# here (a later stage may add one) goes to "other marks" rather than being dropped.
MARK_FAMILIES: dict[str, tuple[str, ...]] = {
    "emphasis": ("emphasis", "prominence", "stress"),
    "loudness": ("loud", "quiet", "loudness"),
    "pitch steps": ("pitch_step", "pitch_up", "pitch_down"),
    "final intonation": ("intonation", "final_intonation"),
    "tempo": ("tempo", "faster", "slower"),
    "lengthening": ("lengthening",),
    "overlap": ("overlap",),
}
PAUSE_TYPES = ("pause", "micropause", "gap", "latch", "latching")
OTHER_FAMILY = "other marks"

MIN_SPAN_S = 0.001  # an annotation needs a positive length in ELAN and Praat


@dataclass(frozen=True)
class Who:
    id: str
    label: str


@dataclass(frozen=True)
class Span:
    """A labelled stretch of time on one speaker's tier (speaker None: between speakers)."""

    start_s: float
    end_s: float
    label: str
    speaker: Optional[str] = None
    kind: str = ""


def speaker_key(speaker: Optional[str]) -> str:
    return speaker if speaker else UNKNOWN_SPEAKER


def speakers(transcript: Transcript) -> list[Who]:
    """Every speaker that talks, in the record's order, with a unique printable label."""
    listed = {s.id: (s.label or s.id) for s in transcript.speakers}
    ids = [s.id for s in transcript.speakers]
    for w in transcript.words:
        key = speaker_key(w.speaker)
        if key not in listed:
            listed[key] = "unknown speaker" if key == UNKNOWN_SPEAKER else key
            ids.append(key)
    talking = {speaker_key(w.speaker) for w in transcript.words}
    ids = [i for i in ids if i in talking] or ids
    counts: dict[str, int] = {}
    for i in ids:
        counts[listed[i]] = counts.get(listed[i], 0) + 1
    return [Who(i, listed[i] if counts[listed[i]] == 1 else f"{listed[i]} ({i})") for i in ids]


def recording_name(transcript: Transcript) -> str:
    return Path(transcript.audio.path).name or "recording"


def file_stem(transcript: Transcript) -> str:
    return Path(transcript.audio.path).stem or "transcript"


def total_duration_s(transcript: Transcript) -> float:
    ends = [w.end_s for w in transcript.words] + [m.end_s for m in transcript.marks]
    ends += [p.end_s for p in transcript.pauses]
    return max([transcript.audio.duration_s or 0.0] + ends)


def ms(seconds: float) -> int:
    return int(round(seconds * 1000.0))


def words_of(transcript: Transcript, speaker: str) -> list[tuple[int, Word]]:
    return [(i, w) for i, w in enumerate(transcript.words) if speaker_key(w.speaker) == speaker]


def without_overlaps(spans: Sequence[tuple[float, float]], *, min_s: float = MIN_SPAN_S) -> list[tuple[float, float]]:
    """Times made strictly increasing on one tier: a start inside the previous item moves to its
    end, a zero length grows to ``min_s``. The recogniser's word edges touch and sometimes cross
    by a few milliseconds; ELAN and Praat both refuse crossing items on one tier."""
    out: list[tuple[float, float]] = []
    previous_end = -math.inf
    for start, end in spans:
        start = max(start, previous_end)
        end = max(end, start + min_s)
        out.append((start, end))
        previous_end = end
    return out


def lanes(spans: Iterable[Span]) -> list[list[Span]]:
    """Spans spread over as few non-overlapping lanes as needed (first lane that has room)."""
    out: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s.start_s, s.end_s)):
        for lane in out:
            if lane[-1].end_s <= span.start_s + 1e-9:
                lane.append(span)
                break
        else:
            out.append([span])
    return out


def family_of(mark_type: str) -> str:
    for family, types in MARK_FAMILIES.items():
        if mark_type in types:
            return family
    return "pauses" if mark_type in PAUSE_TYPES else OTHER_FAMILY


def mark_span(mark: Mark, words: Sequence[Word]) -> tuple[float, float]:
    """A mark's time span; a point mark (a pitch step before a word) spans its word(s)."""
    start, end = mark.start_s, mark.end_s
    if end - start < MIN_SPAN_S and mark.first_word is not None and mark.first_word < len(words):
        last = mark.last_word if mark.last_word is not None and mark.last_word < len(words) else mark.first_word
        start, end = min(start, words[mark.first_word].start_s), max(end, words[last].end_s)
    return start, max(end, start + MIN_SPAN_S)


def number(value: Any) -> str:
    """A measured value as text: up to 4 significant digits, no exponent for ordinary sizes."""
    if isinstance(value, (list, tuple)):
        return ",".join(number(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "nan"
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def values_text(values: dict) -> str:
    """``key=value`` pairs, nested dictionaries flattened with dots, in the record's order."""
    parts: list[str] = []

    def walk(prefix: str, item: Any) -> None:
        if isinstance(item, dict):
            for k, v in item.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(item, (list, tuple)):
            parts.append(f"{prefix}=" + ",".join(number(v) for v in item))
        elif item is not None:
            parts.append(f"{prefix}={number(item)}")

    walk("", values)
    return "; ".join(parts)


def mark_label(mark: Mark) -> str:
    """``type value; confidence=..; evidence...``: the mark and the numbers that triggered it."""
    head = mark.type if mark.value in (None, "", True) else f"{mark.type} {number(mark.value)}"
    rest = values_text({"confidence": mark.confidence, **(mark.evidence or {})})
    return f"{head}; {rest}" if rest else head


def mark_spans(transcript: Transcript) -> list[tuple[str, Span]]:
    """(family, span) for every mark, pauses excluded (see ``pause_spans``)."""
    out = []
    for mark in transcript.marks:
        family = family_of(mark.type)
        if family == "pauses":
            continue
        start, end = mark_span(mark, transcript.words)
        out.append((family, Span(start, end, mark_label(mark), mark.speaker, mark.type)))
    return out


def pause_spans(transcript: Transcript) -> list[Span]:
    """The pauses: the pause marks when the marks stage made them (they tell pauses, gaps and
    latches apart), else the measured pauses. A silence between two speakers belongs to
    neither (speaker None), as conversation analysis counts it."""
    marks = [m for m in transcript.marks if m.type in PAUSE_TYPES]
    if marks:
        out = []
        for m in marks:
            start, end = m.start_s, max(m.end_s, m.start_s + MIN_SPAN_S)
            out.append(Span(start, end, mark_label(m), m.speaker, m.type))
        return out
    out = []
    for p in transcript.pauses:
        owner = p.speaker_before if p.speaker_before == p.speaker_after else None
        kind = "pause" if owner is not None else "gap"
        label = f"{kind} {p.duration_s:.2f} s"
        out.append(Span(p.start_s, max(p.end_s, p.start_s + MIN_SPAN_S), label, owner, kind))
    return out


def word_values(word: Word) -> dict:
    p = word.prosody
    values = {"probability": word.probability}
    if p is not None:
        values.update({
            "duration_s": p.duration_s, "f0_mean_hz": p.f0_mean_hz, "f0_min_hz": p.f0_min_hz,
            "f0_max_hz": p.f0_max_hz, "f0_mean_st": p.f0_mean_st, "intensity_mean_db": p.intensity_mean_db,
            "intensity_max_db": p.intensity_max_db, "voiced_fraction": p.voiced_fraction,
        })
    return values


def bare_word(text: str) -> str:
    """The word without surrounding punctuation (the recogniser writes "so," and "country.")."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]).startswith(("P", "S")) and text[start] not in "'’":
        start += 1
    while end > start and unicodedata.category(text[end - 1]).startswith(("P", "S")) and text[end - 1] not in "'’":
        end -= 1
    return text[start:end].strip()


def track_points(track, values) -> list[tuple[float, float]]:
    """(time, value) for every measured frame of a pitch or intensity track."""
    if track is None:
        return []
    return [(track.start_s + i * track.hop_s, v) for i, v in enumerate(values) if v is not None]
