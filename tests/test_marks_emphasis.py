"""Emphasis, loud/quiet and pitch-step rules on synthetic tracks (refinements of issue 4's rules)."""

from __future__ import annotations

import pytest

from prosody.marks import annotate
from test_marks import BASE_DB, BASE_HZ, _per_word, make_transcript, of_type, regular_words


def _with_boundary_after(words, k, gap_s=0.4):
    """The same words with a silence of ``gap_s`` after word ``k`` (an intonation unit ends there)."""
    return [(t, a + (gap_s if j > k else 0.0), b + (gap_s if j > k else 0.0), s) for j, (t, a, b, s) in enumerate(words)]


def test_length_of_a_unit_final_word_is_not_an_emphasis_cue():
    words = regular_words(14, lengths={6: 0.5})
    db = _per_word(words, {6: BASE_DB + 4}, BASE_DB)
    inside = annotate(make_transcript(words, db=db))
    assert [m.first_word for m in of_type(inside, "emphasis")] == [6]

    final = _with_boundary_after(words, 6)
    t = annotate(make_transcript(final, db=_per_word(final, {6: BASE_DB + 4}, BASE_DB)))
    assert not of_type(t, "emphasis")  # louder and longer, but the length is final lengthening
    # a final word that is also higher has two cues without its length
    f0 = _per_word(final, {6: BASE_HZ * 2 ** (4 / 12)}, BASE_HZ)
    t = annotate(make_transcript(final, f0=f0, db=_per_word(final, {6: BASE_DB + 4}, BASE_DB)))
    (mark,) = of_type(t, "emphasis")
    assert mark.first_word == 6 and mark.evidence["duration_unit_final"] is True
    assert set(mark.evidence["cues_passed"]) == {"pitch_above_st", "loudness_above_db"}


def test_pitch_step_must_reach_three_and_a_half_semitones():
    words = regular_words(14)
    f0 = _per_word(words, {4: BASE_HZ * 2 ** (3.2 / 12), 9: BASE_HZ * 2 ** (3.8 / 12)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(9, "up")]
    assert steps[0].evidence["threshold_st"] == 3.5 and steps[0].evidence["step_st"] == pytest.approx(3.8, abs=0.05)


def test_no_pitch_step_to_a_halved_f0():
    """An F0 an octave under the speaker's median is the tracker halving (or creak), not a step."""
    words = regular_words(14)
    f0 = _per_word(words, {4: BASE_HZ / 2 * 0.97, 9: BASE_HZ * 2 ** (-5 / 12)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(9, "down")]
    assert steps[0].evidence["max_from_median_st"] == 12.0
