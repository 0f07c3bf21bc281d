"""The transcript page's data: semitones relative to each speaker, tracks cut per turn, marks kept
(rejected ones too, so they can be restored) and mapped through corrections."""

from __future__ import annotations

import numpy as np
import pytest

from capture.record import IntensityTrack, Mark, Overlap, PitchTrack, QualityWarning, RecordingQuality, replace
from review.corrections import CorrectionLayer, correct, make_edit
from review.view import VIEW_HOP_S, speaker_medians_hz, tracks_model, view_model
from test_review_corrections import small_transcript

HOP_S = 0.01


def _with_tracks():
    t = small_transcript()  # S1 speaks 0-1.9 s and 3.5-3.9 s, S2 2.0-3.4 s
    times = np.arange(0, 4.0, HOP_S)
    f0 = np.where(times < 1.0, 200.0, 400.0)  # S1: an octave up half-way through its first turn
    f0[(times >= 2.0) & (times < 3.5)] = 110.0
    f0[(times > 1.9) & (times < 2.0)] = np.nan
    db = 60 + 10 * np.sin(times)
    return replace(t, pitch=PitchTrack(HOP_S, 0.0, tuple(None if np.isnan(v) else float(v) for v in f0)),
                   intensity=IntensityTrack(HOP_S, 0.0, tuple(float(v) for v in db)),
                   overlaps=(Overlap(3.3, 3.6, ("S1", "S2")),))


def test_medians_per_speaker_and_tracks_at_the_view_rate():
    t = _with_tracks()
    medians = speaker_medians_hz(t)
    assert medians["S2"] == pytest.approx(110.0)
    assert medians["S1"] in (200.0, 400.0)
    tracks = tracks_model(t)
    f0 = tracks["f0_hz"]
    assert f0["hop"] == pytest.approx(VIEW_HOP_S) and f0["t0"] == 0.0
    step = round(VIEW_HOP_S / HOP_S)
    assert len(f0["v"]) == len(t.pitch.f0_hz[::step])
    for k, v in enumerate(f0["v"]):
        expected = t.pitch.f0_hz[k * step]
        assert v == (None if expected is None else pytest.approx(expected))
    db = tracks["db"]
    assert db["v"][37] == pytest.approx(60 + 10 * np.sin(37 * VIEW_HOP_S), abs=0.01)
    assert tracks["db_range"][1] == pytest.approx(70.0, abs=0.01)
    assert tracks["evidence"] == [m.evidence for m in t.marks]
    data = view_model(correct(t, CorrectionLayer()), renderers=[], revision=0, edits=[])
    assert [s["median_hz"] for s in data["speakers"]] == [round(medians["S1"], 1), 110.0]
    assert data["overlaps"] == [{"start_s": 3.3, "end_s": 3.6, "speakers": ["S1", "S2"]}]


def test_a_speakers_baseline_is_the_reference_when_present():
    t = _with_tracks()
    t = replace(t, speakers=tuple(replace(s, baseline={"f0_median_hz": 100.0}) for s in t.speakers))
    data = view_model(correct(t, CorrectionLayer()), renderers=[], revision=0, edits=[])
    assert [s["median_hz"] for s in data["speakers"]] == [100.0, 100.0]


def test_a_new_speaker_gets_the_median_of_the_words_given_to_it():
    t = _with_tracks()
    layer = CorrectionLayer(edits=(make_edit(t, "word.speaker", {"first_word": 4, "last_word": 6, "speaker": "S3"}),))
    data = view_model(correct(t, layer), renderers=[], revision=1, edits=[])
    assert {s["id"]: s["median_hz"] for s in data["speakers"]}["S3"] == pytest.approx(110.0)


def test_marks_keep_their_place_through_corrections():
    t = _with_tracks()
    layer = CorrectionLayer(edits=(
        make_edit(t, "word.text", {"word": 0, "text": ""}),  # delete the first word
        make_edit(t, "mark.review", {"mark": 0, "status": "rejected"}),
        make_edit(t, "mark.review", {"mark": 1, "status": "accepted"}),
        make_edit(t, "line.note", {"word": 5, "text": "laughs"}),
    ))
    data = view_model(correct(t, layer), renderers=[["transcript.txt", "Plain"]], revision=4, edits=[])
    marks = {m["orig"]: (m["status"], m["first"], m["last"]) for m in data["marks"]}
    assert marks == {0: ("rejected", 3, 3), 1: ("accepted", 5, 5)}  # word indices shifted by the deletion
    assert data["words"]["orig"][:2] == [1, 2]
    assert [(ln["note"], ln["note_word"]) for ln in data["lines"]][1] == ("laughs", 5)


def test_marks_carry_where_the_notation_writes_them_in_the_word_as_it_reads_now():
    """The page underlines the accented syllable as the Jefferson transcript does ("real|ly" ->
    letters 0-4) and puts a lengthening mark's colons after the held sound; once the word is
    corrected to one whose spelling does not show that syllable, the page underlines nothing within
    it (the mark stays, with its badge), and the colons move with the corrected spelling."""
    t = small_transcript()
    accent = Mark("emphasis", 2.5, 2.9, 5, 5, "S2", 2, 0.8, {"accented_syllable": {"index": 0, "of": 2}})
    t = replace(t, marks=t.marks + (accent,))
    data = view_model(correct(t, CorrectionLayer(edits=())), renderers=[], revision=0, edits=[])
    assert t.words[5].text == "really"
    assert [m["syllable"] for m in data["marks"]] == [None, None, [0, 4]]
    assert [m["colon_at"] for m in data["marks"]] == [None, 2, None]  # lengthening on "hard": "ha:rd"
    fixed = CorrectionLayer(edits=(make_edit(t, "word.text", {"word": 5, "text": "hard"}),
                                   make_edit(t, "word.text", {"word": 6, "text": "Hmm"})))
    data = view_model(correct(t, fixed), renderers=[], revision=1, edits=[])
    assert [m["syllable"] for m in data["marks"]] == [None, None, None]
    assert [m["colon_at"] for m in data["marks"]] == [None, 3, None]  # no vowel letter: "Hmm:"


def test_the_page_is_told_what_about_the_recording_makes_its_marks_less_sure():
    t = _with_tracks()
    assert view_model(correct(t, CorrectionLayer()), renderers=[], revision=0, edits=[])["quality"] == []
    warned = RecordingQuality(peak_dbfs=-1.0, clipped_fraction=0.0, clipped_spans=(), speech_level_dbfs=-30.0,
                              noise_level_dbfs=-38.0, noise_measured_in="quietest_talk", snr_db=8.0,
                              warnings=(QualityWarning("noise", "speech is only 8 dB above the quietest moments"),))
    data = view_model(correct(replace(t, quality=warned), CorrectionLayer()), renderers=[], revision=0, edits=[])
    assert data["quality"] == ["speech is only 8 dB above the quietest moments"]
