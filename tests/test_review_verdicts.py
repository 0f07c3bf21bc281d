"""``tonescribe verdicts``: what the review made of the marks, per type, on real files."""

from __future__ import annotations

import csv
import json

import pytest

from capture.cli import main
from capture.outputs import write_output_dir
from capture.record import Mark, replace
from review.corrections import add_edit
from review.verdicts import TypeSummary, summarise, verdicts_of
from test_review_corrections import small_transcript


def _library(tmp_path):
    """Two reviewed recordings and one not: 4 emphasis marks (2 accepted, 1 rejected), 2
    lengthening marks (1 rejected, then reset), a loud mark nobody looked at."""
    out = tmp_path / "out"
    t = small_transcript()
    a = write_output_dir(t, out / "a")
    more = replace(t, marks=t.marks + (Mark("emphasis", 0.5, 0.9, 1, 1, "S1", None, 0.7),
                                       Mark("emphasis", 1.0, 1.4, 2, 2, "S1", None, 0.6)))
    b = write_output_dir(more, out / "day 2" / "b")
    write_output_dir(replace(t, marks=(Mark("loud", 0.0, 0.4, 0, 0, "S1", None, 0.9),)), out / "c")
    add_edit(a, "mark.review", {"mark": 0, "status": "accepted"})
    add_edit(a, "mark.review", {"mark": 1, "status": "rejected"})
    add_edit(a, "mark.review", {"mark": 1, "status": "unreviewed"})
    add_edit(b, "mark.review", {"mark": 0, "status": "rejected"})
    add_edit(b, "mark.review", {"mark": 2, "status": "accepted"})
    add_edit(b, "word.text", {"word": 2, "text": "is"})  # corrections of words do not move the verdicts
    return out


def test_every_mark_comes_with_its_verdict_and_the_words_the_machine_heard(tmp_path):
    out = _library(tmp_path)
    got = verdicts_of(out / "day 2" / "b", name="day 2/b")
    assert [(v.mark, v.type, v.status) for v in got] == [
        (0, "emphasis", "rejected"), (1, "lengthening", "unreviewed"), (2, "emphasis", "accepted"),
        (3, "emphasis", "unreviewed")]
    assert got[0].words == "hard" and got[2].words == "how" and got[0].recording == "day 2/b"


def test_precision_counts_the_reviewed_marks_only_with_wilsons_interval():
    s = TypeSummary("emphasis", marks=10, accepted=8, rejected=2)
    assert (s.unreviewed, s.precision) == (0, 0.8)
    low, high = s.interval()
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)  # Wilson 95 % for 8 of 10
    assert TypeSummary("loud", 3, 0, 0).precision is None and TypeSummary("loud", 3, 0, 0).interval() is None
    none_of_two = TypeSummary("quiet", 2, 0, 2).interval()
    assert none_of_two[0] == 0.0 and none_of_two[1] == pytest.approx(1.96**2 / (2 + 1.96**2))  # z²/(n+z²) at p = 0
    assert summarise([]) == []


def test_the_command_tables_every_type_over_the_whole_folder(tmp_path, capsys):
    out = _library(tmp_path)
    table = tmp_path / "verdicts.csv"
    assert main(["verdicts", str(out), "--csv", str(table)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"3 recording(s) under {out}, 2 of them reviewed\n")
    lines = {line.split()[0]: line.split() for line in text.splitlines()[2:] if line and not line.startswith("Precision")}
    assert lines["emphasis"][1:6] == ["4", "2", "1", "1", "0.67"]
    assert lines["lengthening"][1:] == ["2", "0", "0", "2", "-", "-"]
    assert lines["loud"][1:] == ["1", "0", "0", "1", "-", "-"]
    assert "recall cannot be read from verdicts" in text
    with open(table, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 7 and {r["recording"] for r in rows} == {"a", "day 2/b", "c"}
    assert [(r["type"], r["status"]) for r in rows if r["recording"] == "a"] == [("emphasis", "accepted"),
                                                                               ("lengthening", "unreviewed")]
    assert main(["verdicts", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    emphasis = next(t for t in data["types"] if t["type"] == "emphasis")
    assert (data["recordings"], data["reviewed_recordings"]) == (3, 2)
    assert emphasis["precision"] == pytest.approx(2 / 3)
    assert [round(x, 3) for x in emphasis["interval_95"]] == [0.208, 0.939]


def test_the_command_says_what_is_wrong_with_the_folder(tmp_path, capsys):
    assert main(["verdicts", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["verdicts", str(tmp_path)]) == 2
    assert "no transcripts under" in capsys.readouterr().err
    out = _library(tmp_path)
    (out / "c" / "transcript.json").write_text("{broken")
    assert main(["verdicts", str(out)]) == 0
    captured = capsys.readouterr()
    assert "c: left out" in captured.err and captured.out.startswith("2 recording(s)")
