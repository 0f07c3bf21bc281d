"""Word: ``<stem>.docx``, the transcript as conversation analysts lay out a Jefferson transcript,
for reading, printing and coding in Word, NVivo, MAXQDA or ATLAS.ti.

The layout (numbered lines, speaker labels, overlaps aligned in columns, the symbols) is the one
of ``transcript.jefferson.txt`` (``prosody.notation.jefferson``), so the two never disagree; this
module only turns it into a document: a monospaced font so the overlap brackets stay aligned,
emphasis as real underlining instead of the text file's combining low lines, a page header and a
block with the recording's details, and a key to the symbols.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from capture import atomic
from capture.quality import warnings_of
from capture.record import Transcript
from export.common import speakers
from export.source import ExportError
from prosody.notation.omit import left_out, left_out_text

MONO_FONT = "Courier New"  # metric-compatible Liberation Mono stands in where it is missing
FONT_SIZE_PT = 9.5
UNDERLINE = "\u0332"

KEY = (  # (symbol, meaning, the mark type it writes; None for the layout of the talk)
    ("(0.7)", "silence in tenths of a second", None),
    ("(.)", "micropause, under 0.2 s", None),
    ("=", "latching: no gap between two speakers' talk", None),
    ("[ ]", "start and end of overlapping talk, aligned across speakers", None),
    ("word", "underlined: emphasis (pitch, loudness and length together)", "emphasis"),
    ("WORD", "capitals: louder than the surrounding talk", "loud"),
    ("°word°", "quieter than the surrounding talk", "quiet"),
    ("↑ ↓", "step up or down in pitch before the word", "pitch_step"),
    (". , ¿ ?", "final intonation: fall, level or slight fall, slight rise, rise", "intonation"),
    ("wo::rd", "lengthened sound (more colons, longer)", "lengthening"),
    (">word<  <word>", "faster / slower than the speaker's usual rate", "tempo"),
)


def _jefferson_lines(transcript: Transcript) -> list[str]:
    try:
        from prosody.notation.jefferson import render_jefferson
    except ImportError as exc:  # pragma: no cover - the notation stage ships with tonescribe
        raise ExportError(f"the Jefferson notation renderer is not available ({exc})") from exc
    text = render_jefferson(transcript).splitlines()
    while text and (text[0].startswith("# ") or not text[0].strip()):
        text.pop(0)
    return text


def runs_of(line: str) -> list[tuple[str, bool]]:
    """A line of Jefferson text as (text, underlined) runs: a character followed by a combining
    low line is underlined, and the low line itself is dropped."""
    runs: list[tuple[str, bool]] = []
    k = 0
    while k < len(line):
        char = line[k]
        k += 1
        underlined = False
        while k < len(line) and unicodedata.combining(line[k]):
            if line[k] == UNDERLINE:
                underlined = True
            else:
                char += line[k]
            k += 1
        if runs and runs[-1][1] == underlined:
            runs[-1] = (runs[-1][0] + char, underlined)
        else:
            runs.append((char, underlined))
    return runs


def _mono(run, size_pt: float = FONT_SIZE_PT) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = MONO_FONT
    run.font.size = Pt(size_pt)
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), MONO_FONT)


def _tight(paragraph) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before = fmt.space_after = 0
    fmt.line_spacing = 1.0


def _details(transcript: Transcript) -> list[tuple[str, str]]:
    audio = transcript.audio
    asr = (transcript.pipeline.models or {}).get("asr", {}) if isinstance(transcript.pipeline.models, dict) else {}
    minutes, seconds = divmod(audio.duration_s, 60)
    return [
        ("Recording", Path(audio.path).name),
        ("Location", audio.path),
        ("Duration", f"{int(minutes)} min {seconds:04.1f} s ({audio.duration_s:.2f} s)"),
        ("Audio", f"{audio.sample_rate_hz} Hz, {audio.channels} channel(s), {audio.format or '?'} {audio.codec}".strip()),
        ("SHA-256", audio.sha256),
        ("Language", transcript.language or "not detected"),
        ("Speakers", "; ".join(f"{w.id} = {w.label}" for w in speakers(transcript)) or "none"),
        ("Transcribed by", f"tonescribe {transcript.pipeline.version}, recogniser {asr.get('name', '?')}, "
                           f"on {transcript.pipeline.device}"),
        ("Exported", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ] + ([("Marks", note.capitalize())] if (note := left_out_text(transcript)) else []) + (
        [("Recording quality", " ".join(f"{w.message[0].upper()}{w.message[1:]}." for w in warned))]
        if (warned := warnings_of(transcript)) else [])


def build_docx(transcript: Transcript) -> bytes:
    try:
        import docx
        from docx.shared import Cm, Pt
    except ImportError as exc:
        raise ExportError("the Word export needs python-docx: pip install python-docx") from exc

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.left_margin = section.right_margin = Cm(2.0)
    header = section.header.paragraphs[0]
    header.text = f"{Path(transcript.audio.path).name} · {transcript.audio.duration_s:.1f} s · tonescribe transcript"
    header.runs[0].font.size = Pt(8)

    document.add_heading(f"Transcript of {Path(transcript.audio.path).name}", level=1)
    table = document.add_table(rows=0, cols=2)
    for name, value in _details(transcript):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = name, value
        for cell in cells:
            for p in cell.paragraphs:
                _tight(p)
                for r in p.runs:
                    r.font.size = Pt(9)

    document.add_heading("Key to the symbols (Jefferson 2004)", level=2)
    key = document.add_table(rows=0, cols=2)
    omitted = left_out(transcript)
    for symbol, meaning, kind in KEY:
        if kind in omitted:
            continue
        cells = key.add_row().cells
        run = cells[0].paragraphs[0].add_run(symbol)
        run.underline = kind == "emphasis"
        _mono(run, 9)
        cells[1].text = meaning
        for cell in cells:
            _tight(cell.paragraphs[0])

    document.add_heading("Transcript", level=2)
    for line in _jefferson_lines(transcript):
        paragraph = document.add_paragraph()
        _tight(paragraph)
        for text, underlined in runs_of(line) or [("", False)]:
            run = paragraph.add_run(text)
            run.underline = underlined
            _mono(run)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    path = Path(folder) / f"{stem}.docx"
    atomic.write_bytes(path, build_docx(transcript))
    return [path]
