"""The test-set scoring of bench/bench_marks.py on hand-made transcripts with known marks."""

from __future__ import annotations

import pytest

from bench.bench_marks import bootstrap, headline, recognised_on, score, table
from prosody.marks import annotate
from test_marks import BASE_DB, BASE_HZ, _per_word, make_transcript, regular_words


def _item(item_id, kind, k, words, value=None):
    return {"id": item_id, "set": "synthetic", "script": ["ba"] * len(words),
            "truth": [{"type": kind, "value": value, "script_words": [k], "times": [[words[k][1], words[k][2]]]}],
            "pauses": []}


def test_a_mark_on_the_edited_word_is_right_one_on_another_edit_s_word_is_counted_as_such():
    words = regular_words(14)
    plain = annotate(make_transcript(words))
    # item "loud": word 6 is 9 dB louder (loud); item "pitch": word 9 starts 5 st higher (a step up)
    loud = annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + 9}, BASE_DB)))
    pitch = annotate(make_transcript(words, f0=_per_word(words, {9: BASE_HZ * 2 ** (5 / 12)}, BASE_HZ)))
    items = [_item("loud", "loud", 6, words), _item("pitch", "pitch_step", 9, words, "up")]
    result = score(items, {"loud": loud, "pitch": pitch}, {"loud": plain, "pitch": plain})
    for kind in ("loud", "pitch_step"):
        row = result[kind]["by_time_new_marks_only"]
        assert (row["recall"], row["precision"], row["f1"]) == (1.0, 1.0, 1.0)
        assert row["false_marks"] == 0
    # the same scoring with the truths swapped: each mark is now false, and on the other edit's word
    swapped = [_item("loud", "pitch_step", 9, words, "up"), _item("pitch", "loud", 6, words)]
    result = score(swapped, {"loud": loud, "pitch": pitch}, {"loud": plain, "pitch": plain})
    row = result["loud"]["by_time_new_marks_only"]
    assert row["recall"] == 0.0 and row["false_marks"] == 1 and row["false_on_other_edits"] == 0
    # a loud mark in the item whose truth is the pitch step on word 9 lies on word 6, not 9
    swapped_on_word = [_item("loud", "pitch_step", 6, words, "up")]
    result = score(swapped_on_word, {"loud": loud}, {"loud": plain})
    assert result["loud"]["by_time_new_marks_only"]["false_on_other_edits"] == 1


def test_marks_the_unedited_recording_already_had_are_left_out_and_the_interval_holds_the_value():
    words = regular_words(14)
    loud = annotate(make_transcript(words, db=_per_word(words, {3: BASE_DB + 9, 10: BASE_DB + 9}, BASE_DB)))
    before = annotate(make_transcript(words, db=_per_word(words, {3: BASE_DB + 9}, BASE_DB)))
    items = [_item("a", "loud", 10, words)]
    result = score(items, {"a": loud}, {"a": before})
    assert result["loud"]["n_marks"] == 2 and result["loud"]["precision"] == 0.5
    assert result["loud"]["by_time_new_marks_only"]["precision"] == 1.0  # word 3 was loud before the edit
    assert headline(result["loud"]) == 1.0
    row = next(line for line in table({"synthetic": result}).splitlines() if line.startswith("| loud |"))
    assert "| 2 (1 new) |" in row  # how many marks the precision over new marks is taken on
    low, high = bootstrap(items, {"a": loud}, {"a": before}, rounds=20)["loud"]
    assert low == high == pytest.approx(1.0)


def test_a_false_new_mark_the_unedited_recording_nearly_had_is_counted_as_nearly_there():
    """Word 3 is 5.7 dB over its neighbours before the edit (loud needs 6) and 6.5 dB after it: a
    false new mark, but one that limits relaxed by 10 % (5.4 dB) find in the unedited recording."""
    from bench.bench_marks import relaxed
    from prosody.thresholds import default_thresholds

    loose = relaxed(default_thresholds(), 0.1)
    assert loose.loudness.loud_above_db == pytest.approx(5.4)
    assert loose.emphasis.duration_ratio == pytest.approx(1.9)  # a ratio: 1 + (2 - 1) x 0.9
    assert loose.emphasis.window_words == default_thresholds().emphasis.window_words  # not a limit
    words = regular_words(14)
    after = annotate(make_transcript(words, db=_per_word(words, {3: BASE_DB + 6.5, 10: BASE_DB + 9}, BASE_DB)))
    before_db = _per_word(words, {3: BASE_DB + 5.7}, BASE_DB)
    before = annotate(make_transcript(words, db=before_db))
    items = [_item("a", "loud", 10, words)]
    near = {"a": annotate(make_transcript(words, db=before_db), loose)}
    row = score(items, {"a": after}, {"a": before}, near)["loud"]["by_time_new_marks_only"]
    assert row["false_marks"] == 1 and row["false_nearly_before"] == 1
    far = {"a": annotate(make_transcript(words, db=_per_word(words, {3: BASE_DB + 4}, BASE_DB)), loose)}
    assert score(items, {"a": after}, {"a": before}, far)["loud"]["by_time_new_marks_only"]["false_nearly_before"] == 0


def test_real_speech_intonation_is_judged_on_the_unit_that_ends_on_the_target_word():
    """An edited recording's target word ends a sentence in its middle ("...could be made. The
    Commission..."): its unit's mark is the one judged, not the recording's last."""
    from test_marks import _final_contour

    first = regular_words(5, word_s=0.4)
    second = regular_words(4, word_s=0.4, start_s=first[-1][2] + 0.8)
    rise, fall = _final_contour(first, change_st=5.0), _final_contour(second, change_st=-5.0)
    t = annotate(make_transcript(first + second, f0=lambda s: rise(s) if s < first[-1][2] + 0.4 else fall(s)))
    item = {"id": "q", "set": "edited_real", "truth": [{"type": "intonation", "value": "rise",
                                                        "times": [[first[-1][1], first[-1][2]]]}], "pauses": []}
    assert score([item], {"q": t}, {"q": t})["intonation"]["accuracy"] == 1.0
    assert score([{**item, "set": "synthetic"}], {"q": t}, {"q": t})["intonation"]["accuracy"] == 0.0  # the last unit


def test_another_voice_s_aligned_words_follow_the_edits_for_true_word_times():
    """A voice without a TextGrid keeps its reference text as aligned (``source_words``); the item's
    true words are those moved through the edits, the unedited recording's as aligned."""
    from pathlib import Path

    from bench.bench_marks import true_words

    item = {"set": "edited_real", "source": "jfk/jfk.flac", "edits": [[1.0, 1.0, 0.5], [2.0, 2.4, 0.6]],
            "source_words": [[0.2, 0.9, "and"], [1.0, 1.4, "so"], [2.0, 2.4, "my"], [2.4, 3.0, "fellow"]]}
    assert true_words(item, "original", Path("/nowhere")) == [("and", 0.2, 0.9), ("so", 1.0, 1.4), ("my", 2.0, 2.4),
                                                              ("fellow", 2.4, 3.0)]
    moved = true_words(item, "item", Path("/nowhere"))
    assert [w for w, _a, _b in moved] == ["and", "so", "my", "fellow"]
    assert [(round(a, 3), round(b, 3)) for _w, a, b in moved] == [(0.2, 0.9), (1.5, 1.9), (2.5, 3.1), (3.1, 3.7)]
    del item["source_words"]
    assert true_words(item, "item", Path("/nowhere")) is None


def test_the_kernels_that_recognised_the_items_are_counted():
    from types import SimpleNamespace

    def made_on(cpu):
        return SimpleNamespace(pipeline=SimpleNamespace(models={"asr": {"name": "tiny.en", **({"cpu": cpu} if cpu else {})}}))

    vnni = {"machine": "x86_64", "int8_extensions": ["AVX2", "AVX512F", "AVX512VNNI"], "kernels_held_to": None,
            "numpy_kernels": ["X86_V3", "X86_V4", "AVX512_ICL"]}
    held = {**vnni, "kernels_held_to": "AVX2", "numpy_kernels": ["X86_V3"]}
    onednn_only = {key: value for key, value in held.items() if key != "numpy_kernels"}  # a cache of before
    assert recognised_on([made_on(vnni), made_on(held), made_on(held), made_on(None), made_on(onednn_only)]) == {
        "unrecorded": 1,
        "x86_64 (AVX2+AVX512F+AVX512VNNI), kernels held to AVX2, numpy X86_V3": 2,
        "x86_64 (AVX2+AVX512F+AVX512VNNI), kernels held to AVX2, numpy unrecorded": 1,
        "x86_64 (AVX2+AVX512F+AVX512VNNI), kernels its own, numpy X86_V3+X86_V4+AVX512_ICL": 1,
    }
