"""The transcript page's data: semitones relative to each speaker, tracks cut per turn, marks kept
(rejected ones too, so they can be restored) and mapped through corrections."""

from __future__ import annotations

import numpy as np
import pytest

from capture.record import IntensityTrack, Overlap, PitchTrack, replace
from review.corrections import CorrectionLayer, correct, make_edit
from review.view import VIEW_HOP_S, speaker_medians_hz, view_model
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


def test_semitones_are_relative_to_each_speakers_median():
    t = _with_tracks()
    medians = speaker_medians_hz(t)
    assert medians["S2"] == pytest.approx(110.0)
    assert medians["S1"] in (200.0, 400.0)
    data = view_model(correct(t, CorrectionLayer()), renderers=[], revision=0, edits=[])
    first = data["lines"][0]["f0_st"]
    assert first["hop"] == pytest.approx(VIEW_HOP_S)
    values = [v for v in first["v"] if v is not None]
    assert sorted({round(v) for v in values}) == sorted({round(12 * np.log2(f / medians["S1"])) for f in (200, 400)})
    assert {v for v in data["lines"][1]["f0_st"]["v"] if v is not None} == {0.0}
    db = data["lines"][1]["db"]
    assert db["v"][0] == pytest.approx(60 + 10 * np.sin(db["t0"]), abs=0.05)
    assert data["overlaps"] == [{"start_s": 3.3, "end_s": 3.6, "speakers": ["S1", "S2"]}]


def test_a_speakers_baseline_is_the_reference_when_present():
    t = _with_tracks()
    t = replace(t, speakers=tuple(replace(s, baseline={"f0_median_hz": 100.0}) for s in t.speakers))
    data = view_model(correct(t, CorrectionLayer()), renderers=[], revision=0, edits=[])
    assert {v for v in data["lines"][1]["f0_st"]["v"] if v is not None} == {round(12 * np.log2(1.1), 1)}
    assert [s["median_hz"] for s in data["speakers"]] == [100.0, 100.0]


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
