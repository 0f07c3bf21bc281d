"""Word export: read back by python-docx, converted to PDF by headless LibreOffice, and the
rendered page checked for the underline (emphasis), the capitals (loud) and the degree signs
(quiet)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.docx import MONO_FONT, runs_of
from export_sample import SPEAKERS, sample_exports

docx = pytest.importorskip("docx")


@pytest.fixture(scope="module")
def docx_file(tmp_path_factory):
    (path,) = sample_exports(tmp_path_factory, "docx", "docx")["docx"]
    return path


def _transcript_lines(document) -> list:
    paragraphs = document.paragraphs
    start = next(k for k, p in enumerate(paragraphs) if p.text == "Transcript") + 1
    return paragraphs[start:]


def test_python_docx_reads_a_jefferson_transcript(docx_file):
    document = docx.Document(str(docx_file))
    lines = _transcript_lines(document)
    texts = [p.text for p in lines]
    assert texts[0].startswith("  1 S1: So the café was naïve:: (0.7) really.")
    assert any("ПРИВЕТ ↑日本語 °ελληνικά° [okay?]" in t for t in texts)  # loud in CAPS, quiet in degrees
    assert any(t.startswith("  5 S2: =ok (.) bye") for t in texts)
    underlined = [r.text for p in lines for r in p.runs if r.underline]
    assert underlined == ["café"]
    assert all(r.font.name == MONO_FONT for p in lines for r in p.runs)
    # overlap brackets stand in the same column (monospaced layout)
    top = next(t for t in texts if "[okay?]" in t)
    bottom = next(t for t in texts if "[yes]" in t)
    assert top.index("[") == bottom.index("[")


def test_header_details_and_key(docx_file):
    document = docx.Document(str(docx_file))
    assert "entrevista ñ 01.wav" in document.sections[0].header.paragraphs[0].text
    details = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert details["Recording"] == "entrevista ñ 01.wav" and details["SHA-256"] == "0" * 64
    assert details["Speakers"] == "; ".join(f"{s.id} = {s.label}" for s in SPEAKERS)
    assert details["Language"] == "es" and "9.00 s" in details["Duration"]
    key = {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows}
    assert {"(0.7)", "(.)", "=", "[ ]", "WORD", "°word°", "↑ ↓"} <= set(key)
    assert any(r.underline for r in document.tables[1].rows[4].cells[0].paragraphs[0].runs)


def test_runs_of_turns_combining_low_lines_into_underlined_runs():
    assert runs_of("so c\u0332a\u0332f\u0332e\u0301\u0332 was") == [("so ", False), ("cafe\u0301", True), (" was", False)]
    assert runs_of("") == []
    # an accented syllable: only its letters are underlined in Word
    assert runs_of("recommend\u0332a\u0332tions") == [("recommen", False), ("da", True), ("tions", False)]


def _pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height, _ = map(int, m.groups())
    return np.frombuffer(data[m.end():], dtype=np.uint8)[: width * height].reshape(height, width)


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
                    reason="needs LibreOffice (soffice) and poppler-utils (pdftoppm, pdftotext)")
def test_libreoffice_renders_underline_caps_and_degree_signs(docx_file, tmp_path):
    source = tmp_path / "sample.docx"
    shutil.copy(docx_file, source)
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "sample.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "ПРИВЕТ" in text and "°ελληνικά°" in text and "María José Núñez" in text
    assert "Key to the symbols" in text

    subprocess.run(["pdftotext", "-bbox", str(pdf), str(tmp_path / "boxes.html")], check=True)
    boxes = (tmp_path / "boxes.html").read_text(encoding="utf-8")
    dpi = 150
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = _pgm(next(tmp_path.glob("page*.pgm")))

    def darkest_row(word: str) -> float:
        """The largest share of dark pixels along one row of the word's lower half and just
        below it: a drawn underline fills a whole row, letters never do."""
        first_page = boxes.split("</page>")[0]
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                      + re.escape(word) + "</word>", first_page)
        assert m, f"{word!r} not on the first page"
        x0, y0, x1, y1 = (float(v) * dpi / 72 for v in m.groups())
        h = y1 - y0
        band = page[int(y0 + 0.5 * h): int(y1 + 0.3 * h) + 1, int(x0) + 1: int(x1) - 1] < 128
        return float(band.mean(axis=1).max())

    assert darkest_row("café") > 0.9  # emphasis: underlined
    assert darkest_row("was") < 0.8 and darkest_row("naïve::") < 0.8 and darkest_row("ПРИВЕТ") < 0.8
