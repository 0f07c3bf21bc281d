"""`tonescribe export`, the exports after `process`/`watch`, and the review corrections flowing
into every export."""

from __future__ import annotations

import csv

import pytest

from capture.cli import build_parser, main
from capture.record import QualityWarning, RecordingQuality, replace
from export import FORMATS, ExportError, export_after_write, export_all, parse_formats
from export_sample import sample_transcript, write_sample

STEM = "entrevista ñ 01"
EXPECTED = {f"{STEM}{suffix}" for suffix in (
    ".eaf", "_tsconf.xml", "_f0.csv", "_intensity.csv", ".TextGrid", ".PitchTier", ".IntensityTier", ".cha", ".vtt",
    ".srt", ".docx", ".words.csv")}


def test_export_command_writes_every_format_next_to_the_transcript(tmp_path, capsys):
    folder = write_sample(tmp_path / STEM)
    original = (folder / "transcript.json").read_bytes()
    assert main(["export", str(folder / "transcript.json"), "--format", "all"]) == 0
    names = {p.name for p in folder.iterdir()}
    assert EXPECTED <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left behind
    assert (folder / "transcript.json").read_bytes() == original
    printed = capsys.readouterr().out.splitlines()
    assert f"{folder / STEM}.eaf" in printed


def test_export_to_another_folder_and_chosen_formats(tmp_path):
    folder = write_sample(tmp_path / STEM)
    out = tmp_path / "for-elan"
    assert main(["export", str(folder), "-f", "eaf", "-f", "cha,vtt", "--out", str(out), "-q"]) == 0
    assert {p.name for p in out.iterdir()} == {f"{STEM}.eaf", f"{STEM}_tsconf.xml", f"{STEM}_f0.csv",
                                               f"{STEM}_intensity.csv", f"{STEM}.cha", f"{STEM}.vtt"}


def test_bad_input_gets_a_clear_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nowhere"), "--format", "eaf"]) == 1
    assert "no transcript.json there" in capsys.readouterr().err
    folder = write_sample(tmp_path / STEM)
    assert main(["export", str(folder), "--format", "pdf"]) == 1
    assert "unknown export format 'pdf'" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "transcript.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot be read"):
        export_all(tmp_path / "broken", "csv")


def test_format_lists():
    assert parse_formats("all") == tuple(FORMATS)
    assert parse_formats("eaf, docx,eaf") == ("eaf", "docx")
    assert parse_formats("none") == parse_formats("") == parse_formats(None) == ()


def test_process_and_watch_take_an_export_option(monkeypatch):
    parser = build_parser()
    assert parser.parse_args(["process", "a.wav", "--export", "eaf,docx"]).export == ("eaf", "docx")
    assert parser.parse_args(["watch", "inbox", "--export", "all"]).export == tuple(FORMATS)
    assert parser.parse_args(["process", "a.wav"]).export == ()
    assert parser.parse_args(["watch", "inbox", "--omit", "emphasis", "--omit", "tempo,loud"]).omit == [
        "emphasis", "loud", "tempo"]
    assert parser.parse_args(["process", "a.wav"]).omit == []
    with pytest.raises(SystemExit):
        parser.parse_args(["process", "a.wav", "--omit", "overlap"])
    with pytest.raises(SystemExit):
        parser.parse_args(["process", "a.wav", "--export", "pdf"])
    monkeypatch.setenv("TONESCRIBE_EXPORT", "csv")
    import importlib

    import capture.cmd_process

    importlib.reload(capture.cmd_process)
    try:
        assert build_parser().parse_args(["process", "a.wav"]).export == ("csv",)
    finally:
        monkeypatch.delenv("TONESCRIBE_EXPORT")
        importlib.reload(capture.cmd_process)


def test_export_after_write_never_raises(tmp_path, tonescribe_warnings):
    assert export_after_write(tmp_path, ("csv",)) == {}
    assert any("export failed" in m for m in tonescribe_warnings)
    folder = write_sample(tmp_path / STEM)
    assert set(export_after_write(folder, ("csv", "srt"))) == {"csv", "srt"}


def test_review_corrections_show_up_in_the_exports(tmp_path):
    corrections = pytest.importorskip("review.corrections")
    pympi = pytest.importorskip("pympi")
    folder = write_sample(tmp_path / STEM)
    corrections.add_edit(folder, "word.text", {"word": 2, "text": "cafetería"})
    emphasis = 0  # the first mark of the sample is the emphasis on "café"
    corrections.add_edit(folder, "mark.review", {"mark": emphasis, "status": "rejected"})
    export_all(folder, "eaf,csv,cha,vtt")
    with open(folder / f"{STEM}.words.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[2]["text"] == "cafetería" and rows[2]["mark_emphasis"] == ""
    eaf = pympi.Elan.Eaf(str(folder / f"{STEM}.eaf"))
    words = [a[2] for a in eaf.get_annotation_data_for_tier("María José Núñez words")]
    assert "cafetería" in words and "café" not in words
    assert "María José Núñez emphasis" not in eaf.get_tier_names()
    assert "cafetería" in (folder / f"{STEM}.cha").read_text(encoding="utf-8")
    assert "ˈcafetería" not in (folder / f"{STEM}.cha").read_text(encoding="utf-8")
    assert "cafetería" in (folder / f"{STEM}.vtt").read_text(encoding="utf-8")


def test_exports_leave_out_the_types_asked_for_and_say_so(tmp_path, capsys):
    """``--omit``: no emphasis or pitch-step symbol, tier or column in any export, each file saying
    so where its format has room; the other marks and transcript.json as before."""
    pympi = pytest.importorskip("pympi")
    docx = pytest.importorskip("docx")
    folder = write_sample(tmp_path / STEM)
    before = (folder / "transcript.json").read_bytes()
    assert main(["export", str(folder), "-f", "eaf,csv,cha,docx", "--omit", "emphasis", "--omit", "pitch-step", "-q"]) == 0
    assert (folder / "transcript.json").read_bytes() == before
    with open(folder / f"{STEM}.words.csv", encoding="utf-8", newline="") as fh:
        table = csv.DictReader(fh)
        assert "mark_emphasis" not in table.fieldnames and "mark_pitch_step_confidence" not in table.fieldnames
        assert "mark_loud" in table.fieldnames and "mark_pause" in table.fieldnames
    eaf = pympi.Elan.Eaf(str(folder / f"{STEM}.eaf"))
    assert "María José Núñez emphasis" not in eaf.get_tier_names()
    assert "María José Núñez lengthening" in eaf.get_tier_names()
    assert ("tonescribe.marks_left_out", "emphasis,pitch_step") in eaf.get_properties()
    chat = (folder / f"{STEM}.cha").read_text(encoding="utf-8")
    talk = [line for line in chat.splitlines() if line.startswith("*")]
    assert "not transcribed: emphasis, pitch step" in chat and talk
    assert not any("ˈ" in line or "↑" in line or "↓" in line for line in talk)
    assert any("◉" in line for line in talk)  # loud is still written
    pylangacq = pytest.importorskip("pylangacq")
    assert len(pylangacq.read_chat(str(folder / f"{STEM}.cha")).utterances()) == len(talk) == 4
    document = docx.Document(str(folder / f"{STEM}.docx"))
    details = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert details["Marks"] == "Not transcribed: emphasis, pitch step"
    key = {row.cells[0].text for row in document.tables[1].rows}
    assert "↑ ↓" not in key and "word" not in key and {"WORD", "wo::rd", "(0.7)"} <= key
    assert not any(r.underline for p in document.paragraphs for r in p.runs)
    with pytest.raises(SystemExit):
        main(["export", str(folder), "-f", "csv", "--omit", "latch"])
    assert "latch marks cannot be left out" in capsys.readouterr().err


def test_a_recording_without_speech_or_tracks_still_exports(tmp_path):
    from capture.record import replace
    from export_sample import sample_transcript

    empty = replace(sample_transcript(), words=(), utterances=(), turns=(), overlaps=(), pauses=(), marks=(),
                    pitch=None, intensity=None, speakers=())
    folder = write_sample(tmp_path / STEM, empty)
    written = export_all(folder, "all")
    assert all(p.is_file() for paths in written.values() for p in paths)
    assert [p.name for p in written["eaf"]] == [f"{STEM}.eaf"]  # no tracks: no time series
    assert [p.name for p in written["textgrid"]] == [f"{STEM}.TextGrid"]


def test_exports_say_what_about_the_recording_makes_its_marks_less_sure(tmp_path):
    """The quality check's warnings (capture/quality.py) in each format's header: an ELAN
    property, the CHAT comment (still read by a CHAT parser), the Word details table."""
    pympi = pytest.importorskip("pympi")
    docx = pytest.importorskip("docx")
    pylangacq = pytest.importorskip("pylangacq")

    warned = RecordingQuality(peak_dbfs=0.0, clipped_fraction=0.0123, clipped_spans=(), speech_level_dbfs=-20.0,
                              noise_level_dbfs=-45.0, noise_measured_in="pauses", snr_db=25.0,
                              warnings=(QualityWarning("clipping", "1.2 % of the samples are clipped at full scale"),))
    folder = write_sample(tmp_path / STEM, replace(sample_transcript(), quality=warned))
    assert main(["export", str(folder), "-f", "eaf,cha,docx", "-q"]) == 0
    assert ("tonescribe.quality", "1.2 % clipped") in pympi.Elan.Eaf(str(folder / f"{STEM}.eaf")).get_properties()
    chat = (folder / f"{STEM}.cha").read_text(encoding="utf-8")
    assert "; quality: 1.2 % clipped" in next(line for line in chat.splitlines() if line.startswith("@Comment"))
    assert len(pylangacq.read_chat(str(folder / f"{STEM}.cha")).utterances()) == 4
    details = {row.cells[0].text: row.cells[1].text for row in docx.Document(str(folder / f"{STEM}.docx")).tables[0].rows}
    assert details["Recording quality"] == "1.2 % of the samples are clipped at full scale."
