"""The corrections layer: edits beside transcript.json, applied in order, undoable, safe under concurrency."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from capture.outputs import write_output_dir
from capture.record import AudioInfo, Mark, Pause, Pipeline, Speaker, Transcript, Turn, Utterance, Word
from review.corrections import (
    CORRECTIONS_JSON,
    CorrectionError,
    add_edit,
    apply_corrections,
    correct,
    load_corrected,
    load_layer,
    load_notes,
    redo,
    undo,
)

TEXTS = ["so", "how", "was", "it", "hard", "really", "hard", "thanks"]
SPEAKERS = ["S1", "S1", "S1", "S1", "S2", "S2", "S2", "S1"]


def small_transcript() -> Transcript:
    words = tuple(
        Word(text=t, start_s=0.5 * i, end_s=0.5 * i + 0.4, probability=0.9, speaker=s)
        for i, (t, s) in enumerate(zip(TEXTS, SPEAKERS))
    )
    utts = (
        Utterance("S1", 0.0, 1.9, "so how was it", 0, 3),
        Utterance("S2", 2.0, 3.4, "hard really hard", 4, 6),
        Utterance("S1", 3.5, 3.9, "thanks", 7, 7),
    )
    return Transcript(
        audio=AudioInfo(path="/nowhere/x.wav", sha256="0" * 64, duration_s=4.0, sample_rate_hz=16000, channels=1),
        pipeline=Pipeline(version="t", models={}, options={"speakers": {"turn_merge_gap_s": 0.5}}, device="cpu",
                          timings_s={}),
        language="en",
        speakers=(Speaker("S1", "Speaker 1"), Speaker("S2", "Speaker 2")),
        words=words,
        utterances=utts,
        turns=(Turn("S1", 0.0, 1.9), Turn("S2", 2.0, 3.4), Turn("S1", 3.5, 3.9)),
        pauses=(Pause(1.9, 2.0, 0.1, "S1", "S2"),),
        marks=(
            Mark("emphasis", 2.0, 2.4, 4, 4, "S2", "strong", 0.8, {"intensity_z": 2.3, "threshold": 1.5}),
            Mark("lengthening", 3.0, 3.4, 6, 6, "S2", 1.8, 0.6, {"ratio": 1.8, "threshold": 1.5}),
        ),
    )


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return write_output_dir(small_transcript(), tmp_path / "x")


def test_no_corrections_returns_the_transcript_unchanged(folder: Path):
    assert load_corrected(folder) == Transcript.load(folder / "transcript.json")
    assert not (folder / CORRECTIONS_JSON).exists()


def test_edits_apply_and_never_touch_transcript_json(folder: Path):
    original = (folder / "transcript.json").read_bytes()
    add_edit(folder, "word.text", {"word": 2, "text": "  is  "})
    add_edit(folder, "speaker.label", {"speaker": "S2", "label": "Nurse"})
    add_edit(folder, "mark.review", {"mark": 0, "status": "rejected"})
    add_edit(folder, "mark.review", {"mark": 1, "status": "accepted"})
    add_edit(folder, "line.note", {"word": 5, "text": "laughs"})
    t = load_corrected(folder)
    assert (folder / "transcript.json").read_bytes() == original
    assert t.words[2].text == "is" and t.utterances[0].text == "so how is it"
    assert {s.id: s.label for s in t.speakers} == {"S1": "Speaker 1", "S2": "Nurse"}
    assert [m.type for m in t.marks] == ["lengthening"] and t.marks[0].evidence["review"] == "accepted"
    (note,) = load_notes(folder)
    assert (note.word, note.speaker, note.text) == (4, "S2", "laughs")
    data = json.loads((folder / CORRECTIONS_JSON).read_text())
    assert data["schema_version"] == "1.0" and len(data["edits"]) == 5 and data["revision"] == 5


def test_last_write_wins_per_field(folder: Path):
    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    add_edit(folder, "word.text", {"word": 3, "text": "that"})
    add_edit(folder, "word.text", {"word": 1, "text": "why"})
    t = load_corrected(folder)
    assert [w.text for w in t.words[:4]] == ["so", "why", "was", "that"]


def test_split_merge_and_reassign(folder: Path):
    add_edit(folder, "turn.split", {"word": 2})
    t = load_corrected(folder)
    assert [(u.first_word, u.last_word) for u in t.utterances] == [(0, 1), (2, 3), (4, 6), (7, 7)]
    add_edit(folder, "turn.merge", {"word": 4})  # "hard really hard" joins "was it", taking S1
    t = load_corrected(folder)
    assert [(u.first_word, u.last_word, u.speaker) for u in t.utterances] == [(0, 1, "S1"), (2, 6, "S1"), (7, 7, "S1")]
    assert {w.speaker for w in t.words} == {"S1"} and [tn.speaker for tn in t.turns] == ["S1"]
    undo(folder)
    add_edit(folder, "word.speaker", {"first_word": 7, "last_word": 7, "speaker": "S3"})
    t = load_corrected(folder)
    assert t.utterances[-1].speaker == "S3" and "S3" in {s.id for s in t.speakers}
    assert any(tn.speaker == "S3" for tn in t.turns)
    # reassigning one word inside a turn makes it a turn of its own
    add_edit(folder, "word.speaker", {"first_word": 5, "last_word": 5, "speaker": "S1"})
    t = load_corrected(folder)
    assert [(u.first_word, u.last_word, u.speaker) for u in t.utterances][2:5] == [(4, 4, "S2"), (5, 5, "S1"), (6, 6, "S2")]
    assert t.marks[1].speaker == "S2"


def test_deleting_a_word_remaps_marks_and_utterances(folder: Path):
    add_edit(folder, "word.text", {"word": 4, "text": ""})
    c = correct(Transcript.load(folder / "transcript.json"), load_layer(folder))
    t = c.transcript
    assert len(t.words) == 7 and t.utterances[1].text == "really hard"
    assert c.word_origin[4] == 5
    assert [m.type for m in t.marks] == ["lengthening"] and t.marks[0].first_word == 5
    assert c.mark_origin == (1,)


def test_undo_any_edit_and_redo(folder: Path):
    _, e1 = add_edit(folder, "word.text", {"word": 0, "text": "well"})
    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    undo(folder, e1.id)
    assert [w.text for w in load_corrected(folder).words[:2]] == ["so", "who"]
    undo(folder)
    assert [w.text for w in load_corrected(folder).words[:2]] == ["so", "how"]
    redo(folder)
    assert [w.text for w in load_corrected(folder).words[:2]] == ["so", "who"]
    assert len(load_layer(folder).undone) == 1
    with pytest.raises(CorrectionError, match="no edit"):
        undo(folder, "nope")


@pytest.mark.parametrize("op,args,message", [
    ("word.text", {"word": 99, "text": "x"}, "outside"),
    ("word.text", {"word": "1", "text": "x"}, "integer"),
    ("turn.split", {"word": 0}, "first word"),
    ("mark.review", {"mark": 0, "status": "maybe"}, "status"),
    ("speaker.label", {"speaker": "S1", "label": "  "}, "empty"),
    ("word.explode", {}, "unknown correction"),
])
def test_bad_edits_are_refused_and_nothing_is_written(folder: Path, op, args, message):
    with pytest.raises(CorrectionError, match=message):
        add_edit(folder, op, args)
    assert not (folder / CORRECTIONS_JSON).exists()


def test_stale_edits_are_skipped_not_misapplied(folder: Path):
    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    t = small_transcript()
    shifted = t.__class__(**{**t.__dict__, "words": tuple(
        w.__class__(**{**w.__dict__, "start_s": w.start_s + 0.25}) for w in t.words)})
    c = correct(shifted, load_layer(folder))
    assert c.transcript.words[1].text == "how" and len(c.skipped) == 1


def test_corrupt_corrections_file_is_reported_and_kept(folder: Path):
    (folder / CORRECTIONS_JSON).write_text("{not json")
    with pytest.raises(CorrectionError, match="not valid JSON"):
        load_corrected(folder)
    with pytest.raises(CorrectionError):
        add_edit(folder, "word.text", {"word": 1, "text": "who"})
    assert (folder / CORRECTIONS_JSON).read_text() == "{not json"


def _hammer(folder: str, worker: int) -> None:
    for k in range(15):
        add_edit(Path(folder), "line.note", {"word": worker, "text": f"w{worker}-{k}"}, by=f"tab{worker}")


def test_two_writers_lose_nothing(folder: Path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(folder), w)) for w in (0, 4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    layer = load_layer(folder)
    assert len(layer.edits) == 30 and layer.revision == 30
    notes = {n.word: n.text for n in load_notes(folder)}
    assert notes == {0: "w0-14", 4: "w4-14"}


def test_corrections_survive_processing_the_recording_again(folder: Path):
    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    write_output_dir(small_transcript(), folder)  # what `tonescribe process` does for the same file
    assert load_corrected(folder).words[1].text == "who"


def test_processing_again_renders_the_corrections_that_still_apply(folder: Path):
    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    add_edit(folder, "mark.review", {"mark": 0, "status": "rejected"})
    write_output_dir(small_transcript(), folder)
    assert (folder / "transcript.jefferson.txt").read_text(encoding="utf-8").splitlines()[2:4] == [
        "  1 S1: so who was it", "  2 S2: hard really ha:rd"]  # no underline: the emphasis was rejected
    assert "Speaker 1: so who was it" in (folder / "transcript.txt").read_text(encoding="utf-8")
    machine = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert machine["words"][1]["text"] == "how" and len(machine["marks"]) == 2


def test_processing_again_skips_the_corrections_of_words_that_moved(folder: Path, tonescribe_warnings):
    from capture.record import replace

    add_edit(folder, "word.text", {"word": 1, "text": "who"})
    add_edit(folder, "word.text", {"word": 7, "text": "thank you"})
    t = small_transcript()
    moved = replace(t.words[1], start_s=t.words[1].start_s + 0.1)  # recognised again a little later
    write_output_dir(replace(t, words=t.words[:1] + (moved,) + t.words[2:]), folder)
    plain = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "so how was it" in plain and "Speaker 1: thank you" in plain
    assert any("skipped" in m for m in tonescribe_warnings)


def test_an_unreadable_corrections_file_is_kept_and_the_machine_s_transcript_shown(folder: Path,
                                                                                 tonescribe_warnings):
    broken = b'{"schema_version": "1.0", "edits": [\n'
    (folder / CORRECTIONS_JSON).write_bytes(broken)
    write_output_dir(small_transcript(), folder)
    assert (folder / CORRECTIONS_JSON).read_bytes() == broken
    assert "so how was it" in (folder / "transcript.txt").read_text(encoding="utf-8")
    assert any("not valid JSON" in m and "without the review's corrections" in m for m in tonescribe_warnings)


def test_a_corrected_word_loses_the_phones_of_the_word_it_replaced(tmp_path: Path):
    from capture.record import Phone, replace

    t = small_transcript()
    words = tuple(replace(w, aligned=True, phones=(Phone("X", w.start_s, w.end_s),)) for w in t.words)
    folder = write_output_dir(replace(t, words=words), tmp_path / "x")
    add_edit(folder, "word.text", {"word": 2, "text": "is"})
    add_edit(folder, "word.speaker", {"first_word": 3, "last_word": 3, "speaker": "S2"})
    corrected = load_corrected(folder)
    assert corrected.words[2].phones == () and corrected.words[2].aligned
    assert corrected.words[3].phones == words[3].phones and corrected.words[1].phones == words[1].phones
