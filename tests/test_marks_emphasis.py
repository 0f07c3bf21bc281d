"""Emphasis, loud/quiet and pitch-step rules on synthetic tracks (refinements of issue 4's rules)."""

from __future__ import annotations

import pytest

from prosody.marks import annotate, emphasis
from prosody.marks.context import Context
from prosody.thresholds import load_thresholds
from test_marks import BASE_DB, BASE_HZ, _per_word, make_transcript, of_type, regular_words


def _with_boundary_after(words, k, gap_s=0.4):
    """The same words with a silence of ``gap_s`` after word ``k`` (an intonation unit ends there)."""
    return [(t, a + (gap_s if j > k else 0.0), b + (gap_s if j > k else 0.0), s) for j, (t, a, b, s) in enumerate(words)]


def test_length_of_a_unit_final_word_is_not_an_emphasis_cue():
    """Louder, longer and 2 st up (under the pitch cue, over pitch_support_st): emphasised inside
    a unit, not at its end."""
    words = regular_words(14, lengths={6: 0.65})
    db = _per_word(words, {6: BASE_DB + 4}, BASE_DB)
    inside = annotate(make_transcript(words, f0=_per_word(words, {6: _st(2)}, BASE_HZ), db=db))
    assert [m.first_word for m in of_type(inside, "emphasis")] == [6]

    final = _with_boundary_after(words, 6)
    t = annotate(make_transcript(final, f0=_per_word(final, {6: _st(2)}, BASE_HZ),
                                 db=_per_word(final, {6: BASE_DB + 4}, BASE_DB)))
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


def _st(semitones):
    return BASE_HZ * 2 ** (semitones / 12)


def test_pitch_step_up_from_a_low_word_is_marked():
    """Where a step starts does not matter: a word shifted up from below the speaker's median is a
    step up (the old rule took every step from a low word for a return to the usual level)."""
    words = regular_words(14)
    f0 = _per_word(words, {5: _st(-3), 6: _st(5)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(6, "up")]
    assert steps[0].evidence["step_st"] == pytest.approx(8.0, abs=0.05)
    assert steps[0].evidence["previous_word_st"] == pytest.approx(-3.0, abs=0.05)


def test_pitch_step_must_land_especially_high_or_low():
    """A big step that only brings the voice up to (or near) the usual level is not an arrow."""
    words = regular_words(14)
    f0 = _per_word(words, {5: _st(-5), 6: _st(1), 9: _st(4)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    # 5 (down by 5, landing at -5) and 9 (up by 4, landing at +4) are steps; 6 (up by 6 to +1) and
    # 7 (down by 1) are not
    assert [(m.first_word, m.value) for m in steps] == [(5, "down"), (9, "up")]
    assert steps[0].evidence["landing_beyond_median_st"] == 3.5


def test_the_step_back_from_a_marked_word_is_a_return():
    """Down after a marked step up (and up after a marked down) back to about where that step
    started is a return, even when that is low (high): one arrow, not two. Going on well past
    it is a step of its own (tests/test_marks.py)."""
    words = regular_words(14)
    f0 = _per_word(words, {4: _st(-2), 5: _st(5), 6: _st(-4), 9: _st(2), 10: _st(-5), 11: _st(4)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(5, "up"), (10, "down")]


def test_pitch_step_is_judged_from_the_last_voiced_word():
    """A barely voiced word in between ("the": 30 ms of voicing) has no pitch to step from: the
    step is judged from the voiced word before it, when that ends within reach_back_s."""
    words = regular_words(14, lengths={5: 0.1})
    a, b = words[5][1], words[5][2]

    def f0(t):
        if a <= t <= b:
            return BASE_HZ if t <= a + 0.025 else None  # three voiced frames
        return _st(5) if words[6][1] <= t <= words[6][2] else BASE_HZ

    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(6, "up")]
    assert steps[0].evidence["previous_word"] == 4 and steps[0].evidence["reach_back_s"] == 0.3
    # beyond reach (the "the" and the silence around it last longer than 0.3 s): no step judged
    far = regular_words(14, lengths={5: 0.4})
    a, b = far[5][1], far[5][2]

    def f0_far(t):
        if a <= t <= b:
            return BASE_HZ if t <= a + 0.025 else None
        return _st(5) if far[6][1] <= t <= far[6][2] else BASE_HZ

    assert not of_type(annotate(make_transcript(far, f0=f0_far)), "pitch_step")


def test_pitch_step_limit_follows_a_lively_speakers_median_step(tmp_path):
    """relative_step x the speaker's median word-to-word step, when that is above min_step_st
    (off by default: then every step of min_step_st that lands high enough is an arrow)."""
    words = regular_words(16)
    values = {k: _st((0.0, 3.0, 0.0, -3.0)[k % 4]) for k in range(16)}  # every step 3 st, median level 0
    values[9] = _st(4.0)  # 4 st up from 0: above min_step_st, below 1.5 x 3 st
    values[13] = _st(5.0)  # 5 st up from 0
    t = make_transcript(words, f0=_per_word(words, values, BASE_HZ))
    assert [(m.first_word, m.value) for m in of_type(annotate(t), "pitch_step")] == [(9, "up"), (13, "up")]
    path = tmp_path / "lively.toml"
    path.write_text("[pitch_steps]\nrelative_step = 1.5\n")
    steps = of_type(annotate(t, load_thresholds(path)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(13, "up")]
    assert steps[0].evidence["speaker_median_step_st"] == pytest.approx(3.0, abs=0.05)
    assert steps[0].evidence["threshold_st"] == pytest.approx(4.5, abs=0.1)  # 1.5 x 3 st, above 3.5


@pytest.mark.parametrize("louder_db, loud", [(7.0, False), (7.9, False), (8.1, True), (10.0, True)])
def test_a_stressed_word_is_caps_too_when_louder_than_a_stress_makes_it(louder_db, loud):
    """One word louder *and* longer (its pitch 2 st up: pitch_support_st) is emphasis; it is CAPS
    as well (and keeps its underline) from loud_above_db + stressed_loud_margin_db (6 + 2 dB) over
    the talk around it."""
    words = regular_words(14, lengths={6: 0.65})
    t = annotate(make_transcript(words, f0=_per_word(words, {6: _st(2)}, BASE_HZ),
                                 db=_per_word(words, {6: BASE_DB + louder_db}, BASE_DB)))
    assert [m.first_word for m in of_type(t, "emphasis")] == [6]
    marks = of_type(t, "loud")
    assert [(m.first_word, m.last_word) for m in marks] == ([(6, 6)] if loud else [])
    if loud:
        assert marks[0].evidence["stressed_loud_margin_db"] == 2.0
        assert marks[0].evidence["level_difference_db"] == [pytest.approx(louder_db, abs=0.1)]


def test_loud_is_judged_against_the_talk_around_it_that_is_not_quiet():
    """Words 4-7 are said quietly (12 dB under the others), word 8 just 1 dB over the rest. With
    the quiet stretch among its neighbours their median is 4 dB down and word 8 would read 7 dB
    loud: the quiet words are left out, so it is 1 dB over the talk around it, not loud."""
    words = regular_words(20)
    levels = {k: BASE_DB + 2 for k in range(20)}
    levels.update({k: BASE_DB - 10 for k in (4, 5, 6, 7)})
    levels[8] = BASE_DB + 3
    t = annotate(make_transcript(words, db=_per_word(words, levels, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "quiet")] == [(4, 7)]
    assert not of_type(t, "loud")
    levels[8] = BASE_DB + 9  # 7 dB over the talk around it: loud, and the evidence names the words left out
    (mark,) = of_type(annotate(make_transcript(words, db=_per_word(words, levels, BASE_DB))), "loud")
    assert mark.first_word == 8 and mark.evidence["level_difference_db"] == [pytest.approx(7.0, abs=0.1)]
    assert mark.evidence["quiet_neighbours_left_out"] == [4, 5, 6, 7]


def test_a_loud_word_that_is_not_stressed_needs_no_margin():
    words = regular_words(14)
    t = annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + 6.5}, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "loud")] == [(6, 6)]
    assert not of_type(t, "emphasis")


def test_a_word_both_emphasised_and_lengthened_is_one_of_the_two():
    """Louder and drawn out (vowel 0.54 s against 0.24 s): its emphasis needs its length, so it is
    lengthening; louder, higher and drawn out: emphasised without its length, so emphasis (a
    stressed syllable is longer anyway). Before, both words were underlined and lengthened."""
    from test_marks import _with_phones

    words = regular_words(24, lengths={8: 0.6})
    louder = _per_word(words, {8: BASE_DB + 4}, BASE_DB)
    t = annotate(_with_phones(make_transcript(words, db=louder)))
    assert not of_type(t, "emphasis")
    (mark,) = of_type(t, "lengthening")
    assert mark.first_word == 8
    assert set(mark.evidence["emphasis_cues_passed"]) == {"loudness_above_db", "duration_ratio"}

    higher = _per_word(words, {8: _st(4)}, BASE_HZ)
    t = annotate(_with_phones(make_transcript(words, f0=higher, db=louder)))
    (mark,) = of_type(t, "emphasis")
    assert mark.first_word == 8 and set(mark.evidence["cues_passed"]) == {
        "pitch_above_st", "loudness_above_db", "duration_ratio"}
    assert not of_type(t, "lengthening")


def test_an_accented_word_drawn_out_is_emphasis_not_lengthening():
    """Higher (4 st) and drawn out, not louder: its emphasis needs its length, but the length goes
    with a pitch accent (accentual lengthening), so it is underlined, not lengthened. (Until the
    round after cfd82dd it was lengthening, as a louder drawn-out word still is.)"""
    from test_marks import _with_phones

    words = regular_words(24, lengths={8: 0.6})
    higher = _per_word(words, {8: _st(4)}, BASE_HZ)
    t = annotate(_with_phones(make_transcript(words, f0=higher)))
    (mark,) = of_type(t, "emphasis")
    assert mark.first_word == 8 and set(mark.evidence["cues_passed"]) == {"pitch_above_st", "duration_ratio"}
    assert not of_type(t, "lengthening")


def test_louder_and_longer_at_a_level_pitch_is_loud_not_emphasis():
    """Louder (7 dB) and longer at its neighbours' pitch, or 1 st over it: two cues, but no accent
    (pitch_support_st 1.5), so no underline: CAPS for the loudness. 2 st up it is emphasis again,
    underlined rather than CAPS (under the stressed-word margin). Until the round after 9ccfe67 it
    was emphasis at any pitch."""
    words = regular_words(14, lengths={6: 0.65})
    db = _per_word(words, {6: BASE_DB + 7}, BASE_DB)
    for up_st, stressed in ((0.0, False), (1.0, False), (2.0, True)):
        t = annotate(make_transcript(words, f0=_per_word(words, {6: _st(up_st)}, BASE_HZ), db=db))
        assert [m.first_word for m in of_type(t, "emphasis")] == ([6] if stressed else []), up_st
        assert [m.first_word for m in of_type(t, "loud")] == ([] if stressed else [6]), up_st
    (mark,) = of_type(t, "emphasis")
    assert set(mark.evidence["cues_passed"]) == {"loudness_above_db", "duration_ratio"}
    assert mark.evidence["pitch_support_st"] == 1.5 and mark.evidence["pitch_above_st"] == pytest.approx(2.0, abs=0.1)


def test_a_step_up_onto_a_word_as_loud_as_a_loud_word_is_its_stress():
    """Raised 4 st and 7 dB louder: a stressed word, underlined, no arrow (loud_above_db 6); raised
    4 st and 4 dB louder (a higher voice is a little louder too): emphasised and an arrow."""
    words = regular_words(14)
    f0 = _per_word(words, {6: _st(4)}, BASE_HZ)
    t = annotate(make_transcript(words, f0=f0, db=_per_word(words, {6: BASE_DB + 7}, BASE_DB)))
    assert [m.first_word for m in of_type(t, "emphasis")] == [6]
    assert not of_type(t, "pitch_step")

    t = annotate(make_transcript(words, f0=f0, db=_per_word(words, {6: BASE_DB + 4}, BASE_DB)))
    assert [m.first_word for m in of_type(t, "emphasis")] == [6]
    assert [(m.first_word, m.value) for m in of_type(t, "pitch_step")] == [(6, "up")]


def test_a_step_up_onto_a_louder_longer_word_at_the_pitch_around_it_keeps_its_arrow():
    """Word 7 steps 5 st up from a low word 6 into a stretch said 3 st up, 7 dB louder and longer
    than its neighbours but only 1 st over their pitch: not emphasised (no pitch support), so its
    rise is no stress's and the arrow stays, with CAPS for the loudness. Until the round after
    6efb4fb the pitch-step rule counted two passing cues as emphasis for itself, and the word lost
    its arrow without gaining an underline."""
    words = regular_words(24, lengths={7: 0.65})
    pitch = {k: _st(3) for k in range(4, 12)} | {6: _st(-1), 7: _st(4)}
    t = annotate(make_transcript(words, f0=_per_word(words, pitch, BASE_HZ), db=_per_word(words, {7: BASE_DB + 7}, BASE_DB)))
    assert not of_type(t, "emphasis")
    assert [m.first_word for m in of_type(t, "loud")] == [7]
    (step,) = of_type(t, "pitch_step")
    assert (step.first_word, step.value) == (7, "up") and step.evidence["step_st"] == pytest.approx(5.0, abs=0.1)


def test_a_step_is_measured_against_the_whole_preceding_word():
    """Word 5 rises into its end (its last 40 % at +3 st); word 6 starts at +5.5 st: 5.5 st over
    word 5 as a whole (its median, 0 st), an arrow; only 2.5 st over word 5's end, which the old
    measure (the last half of the preceding word) took, and missed it."""
    words = regular_words(14)
    a, b = words[5][1], words[5][2]
    c, d = words[6][1], words[6][2]

    def f0(t):
        if a <= t <= b:
            return _st(3) if t >= a + 0.6 * (b - a) else BASE_HZ
        return _st(5.5) if c <= t <= d else BASE_HZ
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(6, "up")]
    assert steps[0].evidence["previous_word_st"] == pytest.approx(0.0, abs=0.05)
    assert steps[0].evidence["step_st"] == pytest.approx(5.5, abs=0.05)


@pytest.mark.parametrize("word_3_db, word_6_db, loudness_above_db, emphasised",
                         [(67, 73.2, 3.2, True), (55, 73.2, 0.2, False), (55, 76.5, 3.5, True)])
def test_the_loudness_cue_leaves_out_neighbours_that_are_quiet(word_3_db, word_6_db, loudness_above_db, emphasised):
    """Word 6 is 3.5 st higher and at 73.2 dB, among neighbours at 67 and 73 dB (median 70): a
    second cue, emphasis. Said quietly (55 dB, 15 dB under its own neighbours), neighbour 3 is not
    part of the talk word 6 is measured against; the others' median is 73 dB and word 6 is no
    louder, unless it is 3 dB over them (76.5 dB)."""
    words = regular_words(14)
    levels = {2: 67, 3: word_3_db, 4: 73, 5: 67, 6: word_6_db, 7: 73, 8: 67, 9: 73, 10: 73}
    transcript = make_transcript(words, f0=_per_word(words, {6: _st(3.5)}, BASE_HZ), db=_per_word(words, levels, BASE_DB))
    t = annotate(transcript)
    assert [m.first_word for m in of_type(t, "quiet")] == ([3] if word_3_db == 55 else [])
    ctx = Context.build(transcript, load_thresholds(None))
    assert emphasis.cues(ctx, 6)["loudness_above_db"] == pytest.approx(loudness_above_db, abs=0.05)
    marked = {m.first_word: m for m in of_type(t, "emphasis")}
    assert (6 in marked) is emphasised
    if emphasised:
        assert marked[6].evidence["quiet_neighbours_left_out"] == ([3] if word_3_db == 55 else [])


def _aligned(t, k, text, phones):
    """Word ``k`` as the aligner gives ``text``: ``phones`` as (label, length_s) from its start, the
    last one running to the word's end."""
    from capture.record import Phone, replace

    w, at, aligned = t.words[k], t.words[k].start_s, []
    for n, (label, length_s) in enumerate(phones):
        end = w.end_s if n == len(phones) - 1 else round(at + length_s, 3)
        aligned.append(Phone(label, round(at, 3), end))
        at = end
    words = list(t.words)
    words[k] = replace(w, text=text, aligned=True, phones=tuple(aligned))
    return replace(t, words=tuple(words))


IMPORTANT = [("IH", 0.06), ("M", 0.04), ("P", 0.04), ("AO", 0.16), ("R", 0.04), ("T", 0.04), ("AH", 0.06),
             ("N", 0.04), ("T", None)]


def test_the_accented_syllable_is_the_vowel_louder_and_longer_than_the_others():
    """An emphasised "important" whose second vowel (AO) is the longest and 3 dB louder than the
    other two: the accent is on "por", though the F0 peak falls on the last syllable (a late
    peak), and the notations mark that syllable."""
    from prosody.notation.gat2 import render_gat2
    from prosody.notation.jefferson import render_jefferson

    words = regular_words(14, lengths={6: 0.6})
    a = words[6][1]
    ao, ah = (a + 0.14, a + 0.30), (a + 0.38, a + 0.44)
    loud = _per_word(words, {6: BASE_DB + 4}, BASE_DB)
    pitch = _per_word(words, {6: _st(3)}, BASE_HZ)
    t = make_transcript(words, db=lambda s: loud(s) + (3.0 if ao[0] <= s <= ao[1] else 0.0),
                        f0=lambda s: _st(6) if ah[0] <= s <= ah[1] else pitch(s))
    t = annotate(_aligned(t, 6, "important", IMPORTANT))
    (mark,) = of_type(t, "emphasis")
    assert mark.first_word == 6
    assert mark.evidence["accented_syllable"] == {"index": 1, "of": 3, "phone": "AO",
                                                  "start_s": pytest.approx(ao[0]), "end_s": pytest.approx(ao[1])}
    assert "imp\u0332o\u0332r\u0332tant" in render_jefferson(t)
    assert "imPORtant" in render_gat2(t)


def test_the_accent_of_a_one_vowel_word_or_a_word_without_phones_is_not_located():
    words = regular_words(14, lengths={6: 0.6})
    t = make_transcript(words, f0=_per_word(words, {6: _st(4)}, BASE_HZ), db=_per_word(words, {6: BASE_DB + 4}, BASE_DB))
    (mark,) = of_type(annotate(t), "emphasis")
    assert mark.evidence["accented_syllable"] is None  # no phones
    (mark,) = of_type(annotate(_aligned(t, 6, "bad", [("B", 0.05), ("AE", 0.5), ("D", None)])), "emphasis")
    assert mark.evidence["accented_syllable"] is None  # one vowel: the whole word


def test_one_vowel_louder_and_the_other_longer_puts_the_accent_on_the_earlier():
    """"garden" (G AA R D AH N): the first vowel longer, the second 3 dB louder; the cues disagree
    (their z-scores tie) and the earlier vowel is taken."""
    words = regular_words(14, lengths={6: 0.5})
    a = words[6][1]
    loud = _per_word(words, {6: BASE_DB + 4}, BASE_DB)
    t = make_transcript(words, f0=_per_word(words, {6: _st(4)}, BASE_HZ),
                        db=lambda s: loud(s) + (3.0 if a + 0.34 <= s <= a + 0.42 else 0.0))
    t = _aligned(t, 6, "garden", [("G", 0.04), ("AA", 0.2), ("R", 0.04), ("D", 0.04), ("AH", 0.1), ("N", None)])
    (mark,) = of_type(annotate(t), "emphasis")
    assert (mark.evidence["accented_syllable"]["index"], mark.evidence["accented_syllable"]["of"]) == (0, 2)


def test_the_evidence_of_a_held_vowel_says_which_of_the_word_s_vowels_it_is():
    """"morning" (M AO R N IH NG) with its first vowel held 0.5 s among words whose vowels are 0.24 s:
    lengthening by that phone, ``held_vowel`` the first of two, and the colons after its letter."""
    from prosody.notation.jefferson import render_jefferson
    from test_marks import _with_phones

    words = regular_words(24, lengths={8: 0.8})
    t = _with_phones(make_transcript(words))
    t = _aligned(t, 8, "morning", [("M", 0.05), ("AO", 0.5), ("R", 0.05), ("N", 0.05), ("IH", 0.08), ("NG", None)])
    t = annotate(t)
    (mark,) = of_type(t, "lengthening")
    assert mark.first_word == 8 and mark.evidence["phone"] == "AO" and mark.evidence["by"] == "phone"
    assert mark.evidence["held_vowel"] == {"index": 0, "of": 2}
    assert "mo:rning" in render_jefferson(t)


def test_the_evidence_of_a_held_consonant_says_where_it_is_and_the_colons_follow_it():
    """"plans" (P L AE N Z) with its N held 0.45 s among words whose N is 0.06 s: lengthening by
    that phone, ``held_consonant`` the first of the two consonants after the word's one vowel, and
    the colons after its letter ("plan::s", as many as the mark's value), in Jefferson, GAT2 and
    CHAT alike."""
    from export.chat import render_chat
    from prosody.notation.gat2 import render_gat2
    from prosody.notation.jefferson import render_jefferson
    from test_marks import _with_phones

    words = regular_words(24, lengths={8: 0.8})
    t = _with_phones(make_transcript(words), first="N")
    t = _aligned(t, 8, "plans", [("P", 0.05), ("L", 0.05), ("AE", 0.2), ("N", 0.45), ("Z", None)])
    t = annotate(t)
    (mark,) = of_type(t, "lengthening")
    assert mark.first_word == 8 and mark.evidence["phone"] == "N" and mark.evidence["by"] == "phone"
    assert mark.evidence["held_vowel"] is None
    assert mark.evidence["held_consonant"] == {"after_vowel": 0, "vowels": 1, "index": 0, "of": 2}
    colons = ":" * mark.value
    assert f"plan{colons}s" in render_jefferson(t) and f"plan{colons}s" in render_gat2(t)
    assert f"plan{colons}s" in render_chat(t, stem="plans")
