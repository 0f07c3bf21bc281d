"""ELAN: ``<stem>.eaf`` (EAF 3.0) plus the pitch and loudness as an ELAN time series.

Per speaker: a turn tier (one annotation per utterance), a word tier that is a time-aligned
child of it (stereotype Included_In), a word-prosody tier of symbolic children of the words
holding each word's measured values, and one tier per family of prosodic marks (pauses,
emphasis, loudness, pitch steps, final intonation, tempo, lengthening, ...), each annotation
holding the mark and its measured evidence. Silences between speakers and marks without a
speaker go to tiers of their own.

The F0 and intensity tracks are written as CSV files described by ``<stem>_tsconf.xml`` (ELAN's
time-series configuration); the .eaf links both with LINKED_FILE_DESCRIPTOR elements, so ELAN
shows the curves in its time-series viewer under the tiers.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from capture import atomic
from capture.quality import quality_note
from capture.record import Transcript
from export.common import (
    OTHER_FAMILY, MARK_FAMILIES, Span, lanes, mark_spans, ms, pause_spans, speakers,
    track_points, values_text, without_overlaps, word_values, words_of,
)
from prosody.notation.omit import left_out

logger = logging.getLogger("tonescribe.export")

EAF_SCHEMA_URL = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
CSV_PROVIDER = "mpi.eudico.client.annotator.timeseries.csv.CSVServiceProvider"
_MIME = {".wav": "audio/x-wav", ".mp3": "audio/mpeg", ".mp4": "video/mp4", ".m4a": "audio/mp4",
         ".mpg": "video/mpeg", ".mpeg": "video/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac"}

LT_TURN, LT_WORD, LT_WORD_PROSODY, LT_PROSODY = "turn", "word", "word-prosody", "prosody"


class _Builder:
    def __init__(self) -> None:
        self.slots: list[tuple[str, int]] = []
        self.tiers: list[ET.Element] = []
        self.next_annotation = 1

    def slot(self, t_ms: int) -> str:
        sid = f"ts{len(self.slots) + 1}"
        self.slots.append((sid, max(0, t_ms)))
        return sid

    def tier(self, tier_id: str, ltype: str, participant: str = "", parent: Optional[str] = None) -> ET.Element:
        attrs = {"TIER_ID": tier_id, "LINGUISTIC_TYPE_REF": ltype}
        if participant:
            attrs["PARTICIPANT"] = participant
        if parent:
            attrs["PARENT_REF"] = parent
        tier = ET.Element("TIER", attrs)
        self.tiers.append(tier)
        return tier

    def _annotation_id(self) -> str:
        aid = f"a{self.next_annotation}"
        self.next_annotation += 1
        return aid

    def aligned(self, tier: ET.Element, start_ms: int, end_ms: int, value: str) -> str:
        aid = self._annotation_id()
        ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
            "ANNOTATION_ID": aid, "TIME_SLOT_REF1": self.slot(start_ms), "TIME_SLOT_REF2": self.slot(end_ms)})
        ET.SubElement(ann, "ANNOTATION_VALUE").text = value
        return aid

    def referring(self, tier: ET.Element, parent_id: str, value: str) -> str:
        aid = self._annotation_id()
        ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "REF_ANNOTATION", {
            "ANNOTATION_ID": aid, "ANNOTATION_REF": parent_id})
        ET.SubElement(ann, "ANNOTATION_VALUE").text = value
        return aid


def _ms_spans(spans: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Seconds to whole milliseconds, still strictly increasing on the tier after rounding."""
    out: list[tuple[int, int]] = []
    previous = -1
    for start, end in spans:
        a = max(ms(start), previous)
        b = max(ms(end), a + 1)
        out.append((a, b))
        previous = b
    return out


def _speaker_tiers(b: _Builder, transcript: Transcript, who, marks_by_family: dict, pauses: list[Span]) -> None:
    words = words_of(transcript, who.id)
    if words:
        turns = b.tier(f"{who.label} turns", LT_TURN, who.label)
        word_tier = b.tier(f"{who.label} words", LT_WORD, who.label, parent=turns.get("TIER_ID"))
        values_tier = b.tier(f"{who.label} word prosody", LT_WORD_PROSODY, who.label, parent=word_tier.get("TIER_ID"))
        word_ms = dict(zip((i for i, _ in words), _ms_spans(without_overlaps([(w.start_s, w.end_s) for _, w in words]))))
        for utt in transcript.utterances:
            members = [(i, w) for i, w in words if utt.first_word <= i <= utt.last_word]
            if not members:
                continue
            start = min(word_ms[i][0] for i, _ in members)
            end = max(word_ms[i][1] for i, _ in members)
            b.aligned(turns, start, end, " ".join(w.text for _, w in members))
            for i, w in members:
                wid = b.aligned(word_tier, *word_ms[i], w.text)
                b.referring(values_tier, wid, values_text(word_values(w)))
        _words_outside_utterances(b, transcript, words, word_ms, turns, word_tier, values_tier)
    _span_tiers(b, f"{who.label} pauses", [p for p in pauses if p.speaker == who.id], who.label)
    for family, spans in marks_by_family.items():
        _span_tiers(b, f"{who.label} {family}", [s for s in spans if s.speaker == who.id], who.label)


def _words_outside_utterances(b, transcript, words, word_ms, turns, word_tier, values_tier) -> None:
    covered = {i for u in transcript.utterances for i in range(u.first_word, u.last_word + 1)}
    for i, w in words:
        if i not in covered:  # a word no utterance holds still gets a turn of its own
            b.aligned(turns, *word_ms[i], w.text)
            wid = b.aligned(word_tier, *word_ms[i], w.text)
            b.referring(values_tier, wid, values_text(word_values(w)))


def _span_tiers(b: _Builder, name: str, spans: list[Span], participant: str) -> None:
    for n, lane in enumerate(lanes(spans), 1):
        tier = b.tier(name if n == 1 else f"{name} {n}", LT_PROSODY, participant)
        for span, (a, z) in zip(lane, _ms_spans([(s.start_s, s.end_s) for s in lane])):
            b.aligned(tier, a, z, span.label)


def _media_descriptor(header: ET.Element, transcript: Transcript, folder: Path) -> None:
    audio = Path(transcript.audio.path)
    if not str(audio):
        return
    suffix = audio.suffix.lower()
    mime = _MIME.get(suffix) or mimetypes.guess_type(audio.name)[0] or "unknown"
    attrs = {"MEDIA_URL": audio.absolute().as_uri(), "MIME_TYPE": mime}
    try:
        attrs["RELATIVE_MEDIA_URL"] = "./" + Path(os.path.relpath(audio.absolute(), folder.absolute())).as_posix()
    except ValueError:  # another drive on Windows: no relative path
        pass
    ET.SubElement(header, "MEDIA_DESCRIPTOR", attrs)


def _linked(header: ET.Element, path: Path, mime: str) -> None:
    ET.SubElement(header, "LINKED_FILE_DESCRIPTOR", {
        "LINK_URL": path.absolute().as_uri(), "RELATIVE_LINK_URL": f"./{path.name}", "MIME_TYPE": mime})


def build_eaf(transcript: Transcript, folder: Path, *, linked: tuple[Path, ...] = ()) -> bytes:
    folder = Path(folder)
    b = _Builder()
    by_family: dict[str, list[Span]] = {f: [] for f in (*MARK_FAMILIES, OTHER_FAMILY)}
    for family, span in mark_spans(transcript):
        by_family[family].append(span)
    pauses = pause_spans(transcript)
    people = speakers(transcript)
    for who in people:
        _speaker_tiers(b, transcript, who, by_family, pauses)
    known = {w.id for w in people}
    _span_tiers(b, "between speakers: pauses", [p for p in pauses if p.speaker not in known], "")
    for family, spans in by_family.items():
        _span_tiers(b, f"no speaker: {family}", [s for s in spans if s.speaker not in known], "")

    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": "tonescribe", "DATE": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "FORMAT": "3.0", "VERSION": "3.0",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "xsi:noNamespaceSchemaLocation": EAF_SCHEMA_URL,
    })
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    _media_descriptor(header, transcript, folder)
    for path in linked:
        _linked(header, path, "text/xml" if path.suffix == ".xml" else "unknown")
    props = {"URN": f"urn:sha256:{transcript.audio.sha256}" if transcript.audio.sha256 else "",
             "tonescribe.version": transcript.pipeline.version,
             "tonescribe.schema_version": transcript.schema_version,
             "tonescribe.marks_left_out": ",".join(left_out(transcript)),
             "tonescribe.quality": quality_note(transcript).removeprefix("quality: "),
             "lastUsedAnnotationId": str(b.next_annotation - 1)}
    for name, value in props.items():
        if value:
            ET.SubElement(header, "PROPERTY", {"NAME": name}).text = value
    order = ET.SubElement(root, "TIME_ORDER")
    for sid, value in sorted(b.slots, key=lambda s: (s[1], int(s[0][2:]))):
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": sid, "TIME_VALUE": str(value)})
    root.extend(b.tiers)
    ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": LT_TURN, "TIME_ALIGNABLE": "true", "GRAPHIC_REFERENCES": "false"})
    ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": LT_WORD, "TIME_ALIGNABLE": "true",
                                            "CONSTRAINTS": "Included_In", "GRAPHIC_REFERENCES": "false"})
    ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": LT_WORD_PROSODY, "TIME_ALIGNABLE": "false",
                                            "CONSTRAINTS": "Symbolic_Association", "GRAPHIC_REFERENCES": "false"})
    ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": LT_PROSODY, "TIME_ALIGNABLE": "true", "GRAPHIC_REFERENCES": "false"})
    if transcript.language:
        ET.SubElement(root, "LOCALE", {"LANGUAGE_CODE": transcript.language})
    ET.SubElement(root, "CONSTRAINT", {"STEREOTYPE": "Included_In", "DESCRIPTION":
                                       "Time alignable annotations within the parent annotation's time interval, gaps are allowed"})
    ET.SubElement(root, "CONSTRAINT", {"STEREOTYPE": "Symbolic_Association", "DESCRIPTION":
                                       "1-1 association with a parent annotation"})
    ET.indent(root, space="    ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def _csv(points: list[tuple[float, float]], column: str, frames: int, track) -> str:
    lines = [f"# tonescribe {column} track: time_s,{column}; NaN where not measured (unvoiced)"]
    measured = dict((round(t, 6), v) for t, v in points)
    for i in range(frames):
        t = round(track.start_s + i * track.hop_s, 6)
        v = measured.get(t)
        lines.append(f"{t:.3f},{'NaN' if v is None else f'{v:.2f}'}")
    return "\n".join(lines) + "\n"


def _plain_file_url(path: Path) -> str:
    """``file://`` + the absolute path, not percent-encoded: ELAN's CSV reader strips ``file:``
    and opens the rest as a path."""
    return "file://" + path.absolute().as_posix()


def _tsconf(sources: list[tuple[Path, str, str, float, float]]) -> bytes:
    root = ET.Element("timeseries", {"date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
                                     "version": "1.0"})
    colours = {"Hz": "0,0,255", "dB": "0,160,0"}
    for path, name, units, lo, hi in sources:
        source = ET.SubElement(root, "tracksource", {"sample-type": "Discontinuous Rate",
                                                     "source-url": _plain_file_url(path), "time-column": "0"})
        ET.SubElement(source, "property", {"key": "provider", "value": CSV_PROVIDER})
        track = ET.SubElement(source, "track", {"derivative": "0", "name": name})
        ET.SubElement(track, "property", {"key": "detect-range", "value": "false"})
        ET.SubElement(ET.SubElement(track, "sample-position"), "pos", {"col": "1", "row": "0"})
        ET.SubElement(track, "description").text = f"{name} measured by tonescribe"
        ET.SubElement(track, "units").text = units
        ET.SubElement(track, "range", {"max": f"{hi:.1f}", "min": f"{lo:.1f}"})
        ET.SubElement(track, "color").text = colours.get(units, "255,0,0")
    ET.indent(root, space="    ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    folder = Path(folder)
    written: list[Path] = []
    sources = []
    for track, values, name, column, units in (
        (transcript.pitch, transcript.pitch.f0_hz if transcript.pitch else (), "F0", "f0_hz", "Hz"),
        (transcript.intensity, transcript.intensity.db if transcript.intensity else (), "Intensity", "intensity_db", "dB"),
    ):
        points = track_points(track, values)
        if not points:
            continue
        path = folder / f"{stem}_{column.split('_')[0]}.csv"
        atomic.write_text(path, _csv(points, column, len(values), track))
        lo, hi = min(v for _, v in points), max(v for _, v in points)
        margin = max(1.0, 0.05 * (hi - lo))
        sources.append((path, name, units, max(0.0, lo - margin) if units == "Hz" else lo - margin, hi + margin))
        written.append(path)
    linked: tuple[Path, ...] = ()
    if sources:
        tsconf = folder / f"{stem}_tsconf.xml"
        atomic.write_bytes(tsconf, _tsconf(sources))
        written.append(tsconf)
        linked = (tsconf, *(s[0] for s in sources))
    eaf = folder / f"{stem}.eaf"
    atomic.write_bytes(eaf, build_eaf(transcript, folder, linked=linked))
    return [eaf, *written]
