"""Praat: ``<stem>.TextGrid`` with word, turn, pause and mark tiers per speaker (and a phone tier
where the forced aligner placed the words' sounds), plus the F0 track
as ``<stem>.PitchTier`` and the intensity track as ``<stem>.IntensityTier``.

Written in Praat's long text format (UTF-8), which Praat, praatio and parselmouth all read.
Interval tiers cover the whole recording: the stretches between items are empty intervals, as
Praat requires. Times are written with microsecond precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from capture import atomic
from capture.record import Transcript
from export.common import (
    Span, lanes, mark_spans, pause_spans, speakers, total_duration_s, track_points, without_overlaps, words_of,
)


def _t(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") if seconds else "0"


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _interval_tier(name: str, items: Sequence[tuple[float, float, str]], xmax: float) -> list[str]:
    intervals: list[tuple[float, float, str]] = []
    cursor = 0.0
    for start, end, text in items:
        start, end = max(start, cursor), min(end, xmax)
        if end <= start:
            continue
        if start > cursor:
            intervals.append((cursor, start, ""))
        intervals.append((start, end, text))
        cursor = end
    if cursor < xmax or not intervals:
        intervals.append((cursor, xmax, ""))
    out = ['        class = "IntervalTier" ', f"        name = {_q(name)} ", "        xmin = 0 ",
           f"        xmax = {_t(xmax)} ", f"        intervals: size = {len(intervals)} "]
    for k, (a, b, text) in enumerate(intervals, 1):
        out += [f"        intervals [{k}]:", f"            xmin = {_t(a)} ", f"            xmax = {_t(b)} ",
                f"            text = {_q(text)} "]
    return out


def _span_tiers(name: str, spans: list[Span]) -> list[tuple[str, list[tuple[float, float, str]]]]:
    return [(name if n == 1 else f"{name} {n}", [(s.start_s, s.end_s, s.label) for s in lane])
            for n, lane in enumerate(lanes(spans), 1)]


def tiers_of(transcript: Transcript) -> list[tuple[str, list[tuple[float, float, str]]]]:
    """(tier name, [(start, end, text)]) in the order they are written."""
    tiers: list[tuple[str, list[tuple[float, float, str]]]] = []
    pauses = pause_spans(transcript)
    marks = [span for _, span in mark_spans(transcript)]
    people = speakers(transcript)
    for who in people:
        words = words_of(transcript, who.id)
        times = without_overlaps([(w.start_s, w.end_s) for _, w in words])
        tiers.append((f"{who.label} words", [(a, b, w.text) for (a, b), (_, w) in zip(times, words)]))
        phones = [(p.start_s, p.end_s, p.label) for _, w in words for p in w.phones]
        if phones:  # the forced aligner's sounds (English recordings)
            tiers.append((f"{who.label} phones", sorted(phones)))
        turns = []
        for utt in transcript.utterances:
            members = [k for k, (i, _) in enumerate(words) if utt.first_word <= i <= utt.last_word]
            if members:
                turns.append((times[members[0]][0], times[members[-1]][1],
                              " ".join(words[k][1].text for k in members)))
        tiers.append((f"{who.label} turns", [t for t in turns]))
        tiers += _span_tiers(f"{who.label} pauses", [p for p in pauses if p.speaker == who.id]) or \
            [(f"{who.label} pauses", [])]
        tiers += _span_tiers(f"{who.label} marks", [m for m in marks if m.speaker == who.id]) or \
            [(f"{who.label} marks", [])]
    known = {w.id for w in people}
    tiers += _span_tiers("between speakers: pauses", [p for p in pauses if p.speaker not in known])
    tiers += _span_tiers("no speaker: marks", [m for m in marks if m.speaker not in known])
    return tiers


def render_textgrid(transcript: Transcript) -> str:
    tiers = tiers_of(transcript)
    xmax = total_duration_s(transcript)
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {_t(xmax)} ",
             "tiers? <exists> ", f"size = {len(tiers)} ", "item []: "]
    for k, (name, items) in enumerate(tiers, 1):
        lines.append(f"    item [{k}]:")
        lines += _interval_tier(name, items, xmax)
    return "\n".join(lines) + "\n"


def _tier_object(kind: str, points: list[tuple[float, float]], xmax: float) -> str:
    lines = ['File type = "ooTextFile"', f'Object class = "{kind}"', "", "xmin = 0 ", f"xmax = {_t(xmax)} ",
             f"points: size = {len(points)} "]
    for k, (t, v) in enumerate(points, 1):
        lines += [f"points [{k}]:", f"    number = {_t(t)} ", f"    value = {v!r} "]
    return "\n".join(lines) + "\n"


def render_pitch_tier(transcript: Transcript) -> str:
    track = transcript.pitch
    return _tier_object("PitchTier", track_points(track, track.f0_hz if track else ()), total_duration_s(transcript))


def render_intensity_tier(transcript: Transcript) -> str:
    track = transcript.intensity
    return _tier_object("IntensityTier", track_points(track, track.db if track else ()), total_duration_s(transcript))


def write(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    folder = Path(folder)
    out = [folder / f"{stem}.TextGrid"]
    atomic.write_text(out[0], render_textgrid(transcript))
    if transcript.pitch is not None:
        out.append(folder / f"{stem}.PitchTier")
        atomic.write_text(out[-1], render_pitch_tier(transcript))
    if transcript.intensity is not None:
        out.append(folder / f"{stem}.IntensityTier")
        atomic.write_text(out[-1], render_intensity_tier(transcript))
    return out
