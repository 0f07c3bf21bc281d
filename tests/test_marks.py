"""Each mark rule on synthetic tracks with a known answer (no audio, no models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capture.record import (AudioInfo, ChannelTracks, IntensityTrack, Overlap, Pause, Pipeline, PitchTrack, Speaker,
                            Transcript, Utterance, Word, replace)
from prosody.baselines import measure_words, speaker_baselines, track_arrays
from prosody.marks import annotate
from prosody.syllables import count_syllables
from prosody.thresholds import load_thresholds

HOP_S = 0.01
BASE_HZ = 120.0
BASE_DB = 70.0
SILENCE_DB = 20.0


def make_transcript(words, *, duration_s=None, f0=None, db=None, pauses=(), overlaps=(), speakers=None):
    """``words``: (text, start_s, end_s, speaker). Tracks: flat ``BASE_HZ``/``BASE_DB`` inside
    words and silence between, unless ``f0(t)``/``db(t)`` callables (Hz or None; dB) are given."""
    ws = tuple(Word(text=t, start_s=a, end_s=b, probability=1.0, speaker=s) for t, a, b, s in words)
    duration_s = duration_s or max(w.end_s for w in ws) + 0.3
    n = int(round(duration_s / HOP_S)) + 1
    times = np.arange(n) * HOP_S
    inside = np.zeros(n, bool)
    for w in ws:
        inside |= (times >= w.start_s) & (times <= w.end_s)
    f0_values = [(f0(t) if f0 else BASE_HZ) if inside[k] else None for k, t in enumerate(times)]
    db_values = [(db(t) if db else BASE_DB) if inside[k] else SILENCE_DB for k, t in enumerate(times)]
    utterances, start = [], 0
    for k in range(1, len(ws) + 1):
        if k == len(ws) or ws[k].speaker != ws[start].speaker:
            utterances.append(Utterance(ws[start].speaker, ws[start].start_s, ws[k - 1].end_s,
                                        " ".join(w.text for w in ws[start:k]), start, k - 1))
            start = k
    ids = speakers if speakers is not None else sorted({w.speaker for w in ws})
    return Transcript(
        audio=AudioInfo(path="/x/test.wav", sha256="0", duration_s=duration_s, sample_rate_hz=16000, channels=1),
        pipeline=Pipeline(version="test", models={}, options={}, device="cpu", timings_s={}),
        language="en",
        speakers=tuple(Speaker(id=s, label=f"Speaker {s[1:]}") for s in ids),
        words=ws,
        utterances=tuple(utterances),
        pauses=tuple(pauses),
        overlaps=tuple(overlaps),
        pitch=PitchTrack(hop_s=HOP_S, start_s=0.0, f0_hz=tuple(f0_values)),
        intensity=IntensityTrack(hop_s=HOP_S, start_s=0.0, db=tuple(db_values)),
    )


def regular_words(n=14, *, word_s=0.3, gap_s=0.05, speaker="S1", start_s=0.2, lengths=None):
    out, t = [], start_s
    for k in range(n):
        length = (lengths or {}).get(k, word_s)
        out.append(("ba", round(t, 3), round(t + length, 3), speaker))
        t += length + gap_s
    return out


def of_type(t, kind):
    return [m for m in t.marks if m.type == kind]


def words_of(t, mark):
    return list(range(mark.first_word, mark.last_word + 1))


# --------------------------------------------------------------------------- thresholds, syllables


def test_default_thresholds_come_from_the_toml_and_are_cited():
    th = load_thresholds()
    assert th.pauses.micropause_below_s == 0.2
    assert th.pitch_steps.min_step_st == 3.5  # 't Hart's ~3 st plus the step's measuring noise
    assert th.tempo.mads == 2.0
    text = (Path(__file__).parents[1] / "prosody" / "thresholds.toml").read_text(encoding="utf-8")
    for source in ("Jefferson", "Selting", "GailBot"):
        assert source in text


def test_user_thresholds_override_only_their_keys(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[pitch_steps]\nmin_step_st = 5\n[pauses]\nmicropause_below_s = 0.3\n")
    th = load_thresholds(path)
    assert th.pitch_steps.min_step_st == 5.0 and th.pauses.micropause_below_s == 0.3
    assert th.pitch_steps.landing_beyond_median_st == load_thresholds().pitch_steps.landing_beyond_median_st


@pytest.mark.parametrize("text, message", [
    ("[pitch_steps]\nmin_stepp = 5\n", "unknown key"),
    ("[pitchsteps]\nmin_step_st = 5\n", "unknown section"),
    ("[pitch_steps]\nmin_step_st = 'big'\n", "must be a number"),
    ("[tempo]\nmin_words = 2.5\n", "whole number"),
    ("[lengthening]\ndefault_final_factor = 0.8\n", "at least 1"),
    ("[pitch_steps\n", "not valid TOML"),
])
def test_bad_thresholds_file_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_thresholds(path)


def test_missing_thresholds_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_thresholds(tmp_path / "nope.toml")


@pytest.mark.parametrize("word, n", [("cat", 1), ("table", 2), ("make", 1), ("jumped", 1), ("needed", 2),
                                     ("Americans", 4), ("country,", 2), ("piano", 3), ("beautiful", 3), ("...", 0),
                                     ("nations", 2), ("recommendations", 5), ("decisions", 3), ("officials", 3),
                                     ("musician", 3)])
def test_syllable_counts(word, n):
    assert count_syllables(word) == n


# --------------------------------------------------------------------------- baselines


def test_baseline_medians_and_spread_on_known_tracks():
    words = regular_words(9)
    # words at -2, 0, +2 semitones in turn: median 120 Hz, median absolute deviation 2 st
    spans = [(a, b) for _, a, b, _ in words]

    def f0(t):
        k = next(i for i, (a, b) in enumerate(spans) if a <= t <= b)
        return BASE_HZ * 2 ** ((k % 3 - 1) * 2 / 12)

    t = make_transcript(words, f0=f0)
    f0_arr, _, hop_s = track_arrays(t)
    base = speaker_baselines(measure_words(t), hop_s=hop_s, f0=f0_arr)["S1"]
    assert base.f0_median_hz == pytest.approx(BASE_HZ, rel=1e-3)
    assert base.level_median_db == pytest.approx(BASE_DB, abs=0.01)
    assert base.f0_mad_st == pytest.approx(2.0, abs=0.01)
    # one-syllable words of 0.3 s (31 frames of 10 ms sounding): about 3.2 syllables/s
    assert base.rate_median_syl_s == pytest.approx(1 / 0.31, rel=0.05)
    assert base.expected_duration_s(1) == pytest.approx(0.31, abs=0.011)


# --------------------------------------------------------------------------- pauses, gaps, latching


def test_pause_gap_micropause_and_latch_are_told_apart():
    words = [("so", 0.2, 0.5, "S1"), ("then", 1.2, 1.5, "S1"), ("we", 1.65, 1.9, "S1"),
             ("yes", 2.6, 2.9, "S2"), ("right", 2.95, 3.2, "S1")]
    pauses = [Pause(0.5, 1.2, 0.7, "S1", "S1"), Pause(1.5, 1.65, 0.15, "S1", "S1"), Pause(1.9, 2.6, 0.7, "S1", "S2")]
    t = annotate(make_transcript(words, pauses=pauses))
    pause = of_type(t, "pause")
    assert [(m.first_word, m.last_word, m.value, m.evidence["micropause"]) for m in pause] == [
        (0, 1, 0.7, False), (1, 2, 0.15, True)]
    gap = of_type(t, "gap")
    assert [(m.first_word, m.last_word, m.value) for m in gap] == [(2, 3, 0.7)]
    latch = of_type(t, "latch")
    assert [(m.first_word, m.last_word) for m in latch] == [(3, 4)]
    assert latch[0].evidence["gap_s"] == pytest.approx(0.05)


def test_a_gap_exactly_the_latch_limit_latches():
    # 1.1 - 1.0 is 0.10000000000000009 in floating point; the evidence says 0.1 against a limit of 0.1
    words = [("so", 0.2, 1.0, "S1"), ("yes", 1.1, 1.4, "S2")]
    (latch,) = of_type(annotate(make_transcript(words)), "latch")
    assert latch.evidence["gap_s"] == latch.evidence["latch_max_gap_s"] == 0.1


def test_a_pause_whose_evidence_reads_the_micropause_limit_is_timed():
    # 0.19996 s is shown as 0.2 s (to 1 ms): judged on that, it is a timed pause, not (.)
    words = [("so", 0.2, 0.5, "S1"), ("then", 0.69996, 1.0, "S1")]
    t = make_transcript(words, pauses=[Pause(0.5, 0.69996, 0.19996, "S1", "S1")])
    (pause,) = of_type(annotate(t), "pause")
    assert pause.evidence["duration_s"] == 0.2 and pause.evidence["micropause"] is False


def test_micropause_threshold_is_configurable(tmp_path):
    words = [("so", 0.2, 0.5, "S1"), ("then", 0.75, 1.0, "S1")]
    t = make_transcript(words, pauses=[Pause(0.5, 0.75, 0.25, "S1", "S1")])
    assert of_type(annotate(t), "pause")[0].evidence["micropause"] is False
    path = tmp_path / "th.toml"
    path.write_text("[pauses]\nmicropause_below_s = 0.3\n")
    assert of_type(annotate(t, load_thresholds(path)), "pause")[0].evidence["micropause"] is True


# --------------------------------------------------------------------------- loudness, emphasis, pitch


def _per_word(words, values, default):
    spans = [(a, b) for _, a, b, _ in words]

    def fn(t):
        for k, (a, b) in enumerate(spans):
            if a <= t <= b:
                return values.get(k, default)
        return default
    return fn


def test_loud_word_is_loud_not_emphasis():
    words = regular_words(14)
    t = annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + 8}, BASE_DB)))
    loud = of_type(t, "loud")
    assert [(m.first_word, m.last_word) for m in loud] == [(6, 6)]
    assert loud[0].evidence["level_difference_db"] == [pytest.approx(8.0, abs=0.1)]
    assert loud[0].evidence["threshold_db"] == 6.0
    assert not of_type(t, "emphasis") and not of_type(t, "quiet")


@pytest.mark.parametrize("above_db, loud", [(5.9999, True), (5.99, False)])
def test_a_word_whose_evidence_reads_the_loud_limit_is_loud(above_db, loud):
    # 5.9999 dB is shown as 6.0 dB against a limit of 6.0: the mark follows what the evidence shows
    words = regular_words(14)
    marks = of_type(annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + above_db}, BASE_DB))), "loud")
    assert [(m.first_word, m.evidence["level_difference_db"]) for m in marks] == ([(6, [6.0])] if loud else [])


def test_a_neighbour_s_onset_inside_a_word_s_span_does_not_make_it_loud():
    """Fast talk: word 6's aligned span ends 20 ms into the next word's onset, 16 dB over the talk.
    Its energy mean is 5-7 dB over its neighbours (loud at 6), its core level (90th percentile
    of its frames) the same as theirs; a word loud throughout is loud on either measure."""
    words = regular_words(14)
    onset = (words[6][2] - 0.02, words[6][2])
    bleed = _per_word(words, {}, BASE_DB)
    t = annotate(make_transcript(words, db=lambda s: BASE_DB + 16 if onset[0] <= s <= onset[1] else bleed(s)))
    measured = measure_words(t)[6]
    assert measured.level_db - BASE_DB > 6.0 > measured.core_level_db - BASE_DB
    assert not of_type(t, "loud") and not of_type(t, "emphasis")
    t = annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + 8}, BASE_DB)))
    loud, = of_type(t, "loud")
    assert loud.evidence["level"] == "core" and loud.evidence["level_db"] == [pytest.approx(BASE_DB + 8, abs=0.1)]


def test_two_loud_neighbours_make_one_stretch_and_quiet_is_found():
    words = regular_words(16)
    t = annotate(make_transcript(words, db=_per_word(words, {5: BASE_DB + 9, 6: BASE_DB + 9, 11: BASE_DB - 12}, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "loud")] == [(5, 6)]
    assert [(m.first_word, m.last_word) for m in of_type(t, "quiet")] == [(11, 11)]


@pytest.mark.parametrize("quiet_word_s, marked", [(0.07, False), (0.15, True)])
def test_a_single_quiet_word_needs_more_voiced_sound_than_a_level_does(quiet_word_s, marked):
    """A lone word 12 dB under its neighbours is quiet only with quiet_word_min_voiced_s (0.1 s) of
    voiced sound; a short "of" measured over a few frames is not. Two such short words side by side
    are a stretch, which needs no more than any level does (min_voiced_s)."""
    words = regular_words(16, lengths={11: quiet_word_s})
    t = annotate(make_transcript(words, db=_per_word(words, {11: BASE_DB - 12}, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "quiet")] == ([(11, 11)] if marked else [])
    if marked:
        assert of_type(t, "quiet")[0].evidence["quiet_word_min_voiced_s"] == 0.1
    pair = regular_words(16, lengths={10: 0.07, 11: 0.07})
    t = annotate(make_transcript(pair, db=_per_word(pair, {10: BASE_DB - 12, 11: BASE_DB - 12}, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "quiet")] == [(10, 11)]


def test_one_word_louder_and_longer_is_emphasis_not_loud():
    # 7 dB: loud by loud_above_db (6), but under the stressed-word margin (6 + 2): a stress (its
    # pitch 2 st up: emphasis.pitch_support_st)
    words = regular_words(14, lengths={6: 0.65})
    f0 = _per_word(words, {6: BASE_HZ * 2 ** (2 / 12)}, BASE_HZ)
    t = annotate(make_transcript(words, f0=f0, db=_per_word(words, {6: BASE_DB + 7}, BASE_DB)))
    assert [m.first_word for m in of_type(t, "emphasis")] == [6]
    assert not of_type(t, "loud")
    # the same loudness over two words in a row stays a loud stretch
    words = regular_words(14, lengths={6: 0.5, 7: 0.5})
    t = annotate(make_transcript(words, db=_per_word(words, {6: BASE_DB + 8, 7: BASE_DB + 8}, BASE_DB)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "loud")] == [(6, 7)]


def test_emphasis_needs_two_of_pitch_loudness_and_length():
    lengths = {7: 0.65}
    words = regular_words(14, lengths=lengths)
    f0 = _per_word(words, {7: BASE_HZ * 2 ** (3.5 / 12)}, BASE_HZ)
    db = _per_word(words, {7: BASE_DB + 4}, BASE_DB)
    t = annotate(make_transcript(words, f0=f0, db=db))
    emphasis = of_type(t, "emphasis")
    assert [m.first_word for m in emphasis] == [7]
    assert set(emphasis[0].evidence["cues_passed"]) == {"pitch_above_st", "loudness_above_db", "duration_ratio"}
    assert emphasis[0].evidence["pitch_above_st"] == pytest.approx(3.5, abs=0.1)
    # only longer: not emphasis
    t2 = annotate(make_transcript(words))
    assert not of_type(t2, "emphasis")


def test_pitch_step_up_is_marked_and_the_return_is_not():
    words = regular_words(14)
    t = annotate(make_transcript(words, f0=_per_word(words, {6: BASE_HZ * 2 ** (4 / 12)}, BASE_HZ)))
    steps = of_type(t, "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(6, "up")]
    assert steps[0].evidence["step_st"] == pytest.approx(4.0, abs=0.05)


def test_a_step_down_well_past_where_the_step_up_started_is_not_a_return():
    words = regular_words(14)
    f0 = _per_word(words, {6: BASE_HZ * 2 ** (4.5 / 12), 7: BASE_HZ * 2 ** (-6 / 12)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(6, "up"), (7, "down")]


@pytest.mark.parametrize("step_st, marked", [(3.4999, True), (3.49, False)])
def test_a_step_whose_evidence_reads_the_limit_is_marked(step_st, marked):
    words = regular_words(14)
    t = annotate(make_transcript(words, f0=_per_word(words, {6: BASE_HZ * 2 ** (step_st / 12)}, BASE_HZ)))
    steps = [(m.first_word, m.evidence["step_st"], m.evidence["threshold_st"]) for m in of_type(t, "pitch_step")]
    assert steps == ([(6, 3.5, 3.5)] if marked else [])


def test_pitch_step_down_and_small_steps_ignored():
    words = regular_words(14)
    f0 = _per_word(words, {4: BASE_HZ * 2 ** (2 / 12), 9: BASE_HZ * 2 ** (-5 / 12)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(9, "down")]


# --------------------------------------------------------------------------- final intonation


def _final_contour(words, *, change_st, shape="linear"):
    end = words[-1][2]

    def f0(t):
        x = (t - (end - 0.25)) / 0.25
        if x <= 0:
            return BASE_HZ
        if shape == "fall_rise":
            st = -3.0 * min(1.0, x * 2) + (change_st + 3.0) * max(0.0, x * 2 - 1)
        else:
            st = change_st * x
        return BASE_HZ * 2 ** (st / 12)
    return f0


@pytest.mark.parametrize("change_st, shape, expected", [
    (5.0, "linear", "rise"), (-5.0, "linear", "fall"), (0.2, "linear", "level"),
    (1.8, "linear", "slight_rise"), (-1.8, "linear", "slight_fall"), (2.0, "fall_rise", "rise"),
])
def test_final_intonation_from_the_last_voiced_stretch(change_st, shape, expected):
    words = regular_words(6, word_s=0.4)
    t = annotate(make_transcript(words, f0=_final_contour(words, change_st=change_st, shape=shape)))
    finals = of_type(t, "intonation")
    assert [m.last_word for m in finals] == [5]
    assert finals[0].value == expected
    assert {"change_st", "slope_st_per_s", "thresholds_st"} <= set(finals[0].evidence)


@pytest.mark.parametrize("halved_s", [0.0, 0.05, 0.1])
def test_a_halved_stretch_inside_a_falling_end_is_not_a_rise(halved_s):
    """The tracker halving F0 for a few frames (creak before the end of a statement): the frames
    halved outright are octave errors, but the frame on each side of them, part-way down (7 st),
    made a dip that the end then "rose" from (LJ050-0278 "liberties.": a 4.4 st rise out of a 2 st
    fall)."""
    words = regular_words(6, word_s=0.4)
    fall = _final_contour(words, change_st=-4.0)
    dip_start = words[-1][2] - 0.14 - halved_s

    def f0(t):
        k = int(round((t - dip_start) / HOP_S))
        if 0 <= k <= int(round(halved_s / HOP_S)) + 1:
            first_or_last = k in (0, int(round(halved_s / HOP_S)) + 1)
            return fall(t) / 2 ** ((7.0 if first_or_last else 12.0) / 12)
        return fall(t)
    finals = of_type(annotate(make_transcript(words, f0=f0)), "intonation")
    assert [m.value for m in finals] == ["fall"]


@pytest.mark.parametrize("blip_s", [0.02, 0.07])
def test_a_voiced_blip_after_the_last_vowel_is_not_the_final_movement(blip_s):
    """'distant.', 'left.': the vowel falls, the final consonants are unvoiced for 0.2 s, and the
    tracker finds a short voiced blip at the end (a nasal, a release). The fall is judged, not the
    flat blip (0.07 s: 'level') or nothing (0.02 s: too short to judge)."""
    words = regular_words(6, word_s=0.5)
    start, end = words[-1][1], words[-1][2]

    def f0(t):
        if t < start:
            return BASE_HZ
        if t < end - 0.2 - blip_s:
            return BASE_HZ * 2 ** (-5.0 * (t - start) / (end - 0.2 - blip_s - start) / 12)
        if t < end - blip_s:
            return None
        return BASE_HZ * 2 ** (-5.0 / 12)
    finals = of_type(annotate(make_transcript(words, f0=f0)), "intonation")
    assert [m.value for m in finals] == ["fall"]


def test_excursions_leave_fast_real_movements_and_steps_over_gaps():
    from prosody.marks.intonation import excursions

    hz = 200 * 2 ** (np.array([0, 0, 0, -12, -12, -12, 0, 0], dtype=float) / 12)
    assert excursions(hz, hop_s=0.01).tolist() == [False] * 3 + [True] * 3 + [False] * 2
    fast_rise = 200 * 2 ** (np.arange(12, dtype=float) * 1.2 / 12)  # 120 st/s: as fast as a voice goes
    assert not excursions(fast_rise, hop_s=0.01).any()
    over_gap = np.array([200, 200, np.nan, 300, 300, np.nan, 200, 200])  # jumps across unvoiced frames
    assert not excursions(over_gap, hop_s=0.01).any()
    no_return = 200 * 2 ** (np.array([0, 0, -12, -12, -12, -12], dtype=float) / 12)  # halved to the end
    assert not excursions(no_return, hop_s=0.01).any()
    too_long = 200 * 2 ** (np.array([0] + [-12] * 25 + [0], dtype=float) / 12)  # 0.25 s: not a blip
    assert not excursions(too_long, hop_s=0.01).any()


def test_a_long_pause_closes_an_intonation_unit():
    words = regular_words(4, word_s=0.4) + [("ba", 3.0, 3.4, "S1"), ("ba", 3.45, 3.85, "S1")]
    pauses = [Pause(1.75, 3.0, 1.25, "S1", "S1")]
    t = annotate(make_transcript(words, pauses=pauses))
    assert [m.last_word for m in of_type(t, "intonation")] == [3, 5]


# --------------------------------------------------------------------------- tempo, lengthening


def test_fast_stretch_is_tempo_faster_and_slow_stretch_tempo_slower():
    # 5-word stretches: the default shortest stretch (min_words) is 5 words
    # (30 words: in 20, five words said twice as slowly are a third of the reference windows
    # and the normal words beside them read as fast; see prosody/marks/tempo.py)
    fast = {k: 0.14 for k in range(6, 11)}
    t = annotate(make_transcript(regular_words(30, lengths=fast)))
    tempo = of_type(t, "tempo")
    assert [(m.value, m.first_word, m.last_word) for m in tempo] == [("faster", 6, 10)]
    assert tempo[0].evidence["mads"] == 2.0
    slow = {k: 0.65 for k in range(10, 15)}
    t = annotate(make_transcript(regular_words(30, lengths=slow)))
    assert [(m.value, m.first_word, m.last_word) for m in of_type(t, "tempo")] == [("slower", 10, 14)]
    assert not of_type(t, "lengthening")  # a slow stretch is tempo, not lengthening of each word


def test_tempo_is_symmetric_on_a_log_scale():
    # rate x1.25 (words 0.3 -> 0.24 s) and x0.8 (0.3 -> 0.375 s) lie equally far from the median
    deviations = []
    for length in (0.24, 0.375):
        t = annotate(make_transcript(regular_words(24, lengths={k: length for k in range(10, 15)})))
        (mark,) = of_type(t, "tempo")
        assert (mark.first_word, mark.last_word) == (10, 14)
        deviations.append(mark.evidence["log_rate_deviation"])
    assert deviations[0] == pytest.approx(np.log(1.25), abs=0.03)
    assert deviations[1] == pytest.approx(np.log(0.8), abs=0.03)


def test_a_stretch_does_not_pull_the_reference_towards_itself():
    # a third of a short recording is slow: with the stretch in the reference the median rate
    # falls between the two and the normal words turn "faster"; the stretch is left out of it
    t = annotate(make_transcript(regular_words(15, lengths={k: 0.42 for k in range(5, 10)})))
    assert [(m.value, m.first_word, m.last_word) for m in of_type(t, "tempo")] == [("slower", 5, 9)]
    assert of_type(t, "tempo")[0].evidence["reference_rate_syl_s"] == pytest.approx(1 / 0.31, rel=0.02)


@pytest.mark.parametrize("first", [3, 4])
def test_a_short_recording_joins_the_talk_around_a_stretch_into_its_reference(first):
    # 13 words, five of them 25 % faster: the 4-word windows that do not overlap the stretch
    # are 2, too few; joined across it the other 8 words give 5 windows
    t = annotate(make_transcript(regular_words(13, lengths={k: 0.24 for k in range(first, first + 5)})))
    (mark,) = of_type(t, "tempo")
    assert (mark.value, mark.first_word, mark.last_word) == ("faster", first, first + 4)
    assert mark.evidence["reference_rate_syl_s"] == pytest.approx(1 / 0.31, rel=0.02)


def test_reference_windows_are_the_talk_outside_the_run_joined():
    from prosody.marks.tempo import cumulative, reference, window_log_rates

    syllables = np.array([1, 1, 1, 4, 4, 1, 1, 1], dtype=float)  # words 3-4 (the run) are much faster
    seconds = np.full(8, 0.25)
    csyl, csec = cumulative(syllables), cumulative(seconds)
    median, mad = reference(csyl, csec, window_log_rates(csyl, csec, 2), 2, 3, 4)
    # words 0, 1, 2, 5, 6, 7 joined: 5 windows of 2 words, every one at 4 syllables per second
    assert median == pytest.approx(np.log(4.0)) and mad == pytest.approx(0.0)
    assert reference(csyl, csec, window_log_rates(csyl, csec, 6), 6, 3, 4) is None  # one 6-word window outside: too few


def test_tempo_is_judged_against_the_surrounding_talk():
    # the speaker speeds up half-way through a long recording; words said at the first half's
    # rate inside the second half are slow there, and the first half itself is not
    lengths = {k: 0.2 for k in range(200, 400)} | {k: 0.3 for k in range(320, 325)}
    t = annotate(make_transcript(regular_words(400, lengths=lengths)))
    tempo = of_type(t, "tempo")
    assert ("slower", 320, 324) in [(m.value, m.first_word, m.last_word) for m in tempo]
    assert not [m for m in tempo if m.last_word < 150]


def test_in_an_aligned_recording_short_silences_between_words_are_talking_time():
    """Words of the usual length with 0.15 s between them (a micropause or less) are slower talk
    than the same words 0.03 s apart; timed pauses are not talk. Only aligned word edges tell
    such silences from the words: with the recogniser's, each word's sounding time is used."""
    from capture.record import replace

    words, t0 = [], 0.2
    for k in range(30):
        words.append(("ba", round(t0, 3), round(t0 + 0.25, 3), "S1"))
        t0 += 0.25 + (0.15 if 10 <= k <= 14 else 0.03)
    recognised = make_transcript(words)
    aligned = replace(recognised, words=tuple(replace(w, aligned=True) for w in recognised.words))
    assert [(m.value, m.first_word, m.last_word) for m in of_type(annotate(aligned), "tempo")] == [("slower", 10, 14)]
    assert not of_type(annotate(recognised), "tempo")


def test_tempo_and_loud_stretches_stay_within_a_turn():
    """A speaker's slow (or loud) end of one turn and start of the next, with another speaker's
    turn between, are two stretches, not one running across the other speaker's talk."""
    words, t0 = [], 0.2

    def add(speaker, n, special=()):
        nonlocal t0
        for k in range(n):
            length = 0.6 if k in special else 0.3
            words.append(("ba", round(t0, 3), round(t0 + length, 3), speaker))
            t0 += length + 0.05

    add("S1", 20, special={17, 18, 19})
    add("S2", 6)
    add("S1", 20, special={0, 1, 2})
    t = annotate(make_transcript(words))
    turns = [range(0, 20), range(20, 26), range(26, 46)]
    for m in of_type(t, "tempo"):
        assert any(m.first_word in r and m.last_word in r for r in turns), (m.first_word, m.last_word)
    assert [(m.value, m.speaker) for m in of_type(t, "tempo")] == [("slower", "S1"), ("slower", "S1")]

    loud = {k for k in (18, 19, 26, 27)}
    spans = [(words[k][1], words[k][2]) for k in loud]
    t = annotate(make_transcript(words, db=lambda x: BASE_DB + (9 if any(a <= x <= b for a, b in spans) else 0)))
    assert [(m.first_word, m.last_word) for m in of_type(t, "loud")] == [(18, 19), (26, 27)]


def _with_change(t, values):
    """``t`` with a spectral change track of ``values``, one per intensity frame."""
    from capture.record import SpectralTrack

    return replace(t, spectral_change=SpectralTrack(HOP_S, 0.0, tuple(float(v) for v in values)))


def _changing(t, change):
    """``t`` with a spectral change track: ``change(time_s)`` in every frame."""
    return _with_change(t, [change(k * HOP_S) for k in range(len(t.intensity.db))])


@pytest.mark.parametrize("factor, value", [(1.25, "faster"), (0.8, "slower")])
def test_tempo_reads_how_fast_the_sound_changes(factor, value):
    """Every word is as long as the others, so the syllable rate shows nothing; the sound of words
    10-14 changes ``factor`` times as fast (a stretch said faster or slower has the same sounds
    following each other sooner or later): that stretch is the tempo mark, on a log scale."""
    words = regular_words(30)
    t = make_transcript(words)
    assert not of_type(annotate(t), "tempo")
    a, b = words[10][1], words[14][2]
    (mark,) = of_type(annotate(_changing(t, lambda x: 40.0 * (factor if a <= x <= b else 1.0))), "tempo")
    assert (mark.value, mark.first_word, mark.last_word) == (value, 10, 14)
    e = mark.evidence
    assert e["by"] == "spectral_change" and e["mads"] == 2.5 and e["min_mad"] == 0.03
    assert e["log_rate_deviation"] == pytest.approx(np.log(factor), abs=0.01)
    assert e["reference_change_per_s"] == pytest.approx(40.0 / HOP_S, rel=0.01)
    assert e["change_per_s"] == pytest.approx(40.0 * factor / HOP_S, rel=0.01)
    assert e["rate_syl_s"] == pytest.approx(1 / 0.31, rel=0.02)  # the words' own pace (0.31 s sounding), unchanged
    assert e["reference_rate_syl_s"] == pytest.approx(1 / 0.31, rel=0.02)  # and the syllables' reference beside it


def test_tempo_change_rate_counts_only_sounding_frames():
    """The spectrum of silence jumps about (noise): frames under the silence level are not talk,
    also inside a word's span. Words 10-14 begin with 0.1 s of silence whose spectrum changes ten
    times as fast as the speech; the stretch is not faster for it."""
    words = regular_words(30)
    lead = [(words[k][1], words[k][1] + 0.1) for k in range(10, 15)]

    def in_lead(x):
        return any(a <= x < b for a, b in lead)
    t = make_transcript(words, db=lambda x: SILENCE_DB if in_lead(x) else BASE_DB)
    assert not of_type(annotate(_changing(t, lambda x: 400.0 if in_lead(x) else 40.0)), "tempo")


def test_tempo_without_a_change_track_judges_the_syllable_rate():
    # a transcript before schema 1.4: words 10-14 said in 0.24 s instead of 0.3 (25 % faster)
    t = annotate(make_transcript(regular_words(24, lengths={k: 0.24 for k in range(10, 15)})))
    (mark,) = of_type(t, "tempo")
    assert mark.evidence["by"] == "syllables" and mark.evidence["mads"] == 2.0 and "change_per_s" not in mark.evidence


def test_windows_of_words_that_do_not_sound_have_no_rate():
    from prosody.marks.tempo import cumulative, reference, window_log_rates

    amounts = np.array([2, 2, 0, 0, 2, 2, 2, 2], dtype=float)
    seconds = np.array([1, 1, 0, 0, 1, 1, 1, 1], dtype=float)
    camount, csec = cumulative(amounts), cumulative(seconds)
    rates = window_log_rates(camount, csec, 2)
    assert np.isnan(rates[2]) and np.allclose(rates[[0, 1, 3, 4, 5, 6]], np.log(2.0))
    median, mad = reference(camount, csec, rates, 2, 6, 7)  # the silent window is left out, not a NaN median
    assert median == pytest.approx(np.log(2.0)) and mad == pytest.approx(0.0)


def test_a_long_word_without_a_held_sound_is_not_lengthening():
    words = regular_words(14, lengths={8: 0.8})
    a, b = words[8][1], words[8][2]

    def db(t):  # word 8: 0.55 s of weak consonants (15 dB down), then a vowel of the usual length
        return BASE_DB - 15 if a <= t < b - 0.25 else BASE_DB
    assert not of_type(annotate(make_transcript(words, db=db)), "lengthening")


def test_talk_time_of_aligned_words_bridges_short_silences_and_leaves_out_pauses():
    from capture.record import replace
    from prosody.marks.context import Context
    from prosody.marks.tempo import talk_seconds

    # words 0-3 aligned, 0.05 s apart (under a micropause); word 4 kept the recogniser's span
    # 1.60-2.90 s, across a timed pause 1.75-2.75 s; word 5 aligned
    words = [("ba", 0.2, 0.5, "S1"), ("ba", 0.55, 0.85, "S1"), ("ba", 0.9, 1.2, "S1"), ("ba", 1.25, 1.55, "S1"),
             ("ba", 1.6, 2.9, "S1"), ("ba", 2.95, 3.25, "S1")]
    t = make_transcript(words, pauses=[Pause(1.75, 2.75, 1.0, "S1", "S1")])
    t = replace(t, words=tuple(replace(w, aligned=k != 4) for k, w in enumerate(t.words)))
    ctx = Context.build(t, load_thresholds(None))
    talk = talk_seconds(ctx, ctx.by_speaker["S1"])
    assert [round(talk[i], 3) for i in range(6)] == [0.35, 0.35, 0.35, 0.35, 0.35, 0.3]  # word 4: 1.3 - 1.0 + 0.05


def test_one_held_word_is_lengthening():
    # 24 words: in 14, the held word is in 3 of the 5 rate windows left beside words 0-5, and
    # they read as a faster stretch (a limit of the tempo rule in very short recordings)
    t = annotate(make_transcript(regular_words(24, lengths={8: 0.8})))
    marks = of_type(t, "lengthening")
    assert [(m.first_word, m.value) for m in marks] == [(8, 2)]
    assert marks[0].evidence["held_ratio"] == pytest.approx(0.8 / 0.3, abs=0.1)
    assert not of_type(t, "tempo")


def _with_phones(t, lengths_of=lambda k: None, first="B"):
    """Each word "ba" as the aligner would give it: B (0.06 s) then AA (the rest), or the phone
    lengths ``lengths_of(k)`` returns (B, AA); ``first``: another label for B."""
    from capture.record import Phone, replace

    words = []
    for k, w in enumerate(t.words):
        b, _aa = lengths_of(k) or (0.06, None)
        words.append(replace(w, aligned=True, phones=(Phone(first, w.start_s, round(w.start_s + b, 3)),
                                                      Phone("AA", round(w.start_s + b, 3), w.end_s))))
    return replace(t, words=tuple(words))


def test_a_held_vowel_is_lengthening_by_its_phone():
    words = regular_words(24, lengths={8: 0.6})  # word 8's vowel: 0.54 s against 0.24 s
    t = annotate(_with_phones(make_transcript(words)))
    (mark,) = of_type(t, "lengthening")
    assert mark.first_word == 8 and mark.value == 1
    assert mark.evidence["phone"] == "AA" and mark.evidence["phone_ratio"] == pytest.approx(0.54 / 0.24, abs=0.05)
    assert mark.evidence["phone_excess_s"] == pytest.approx(0.30, abs=0.01)


def test_a_sound_held_exactly_the_limit_longer_is_lengthening_as_its_evidence_says():
    """Word 8's vowel is 0.27 s against the others' 0.12 s: 0.15 s beyond its norm, exactly
    phone_excess_s, which floating point makes 0.1499...; the rule judges the number its evidence
    shows (before, the evidence read 0.15 against a limit of 0.15 on a word not marked)."""
    from prosody.marks import lengthening
    from prosody.marks.context import Context

    t = _with_phones(make_transcript(regular_words(24, word_s=0.18, lengths={8: 0.33})))
    ctx = Context.build(t, load_thresholds())
    label, _ratio, excess, _at = max(lengthening.PhoneNorms(ctx).ratios(ctx, 8), key=lambda g: g[2])
    assert label == "AA" and excess < 0.15  # the case this test is for
    (mark,) = of_type(annotate(t), "lengthening")
    assert mark.first_word == 8 and mark.evidence["phone_excess_s"] == mark.evidence["phone_excess_threshold_s"] == 0.15


@pytest.mark.parametrize("silent_s, lengthened", [(0.5, False), (0.0, True)])
def test_silence_the_aligner_gave_a_phone_is_not_a_sound_held(silent_s, lengthened):
    """Word 8's F lasts 0.56 s as aligned (0.06 s is the norm). When its first 0.5 s are silence at
    the recording's floor (the aligner stretched it over a pause), the F sounds 0.06 s: no
    lengthening. Held for all of it, it is."""
    words = regular_words(24, lengths={8: 0.86})
    a8 = words[8][1]

    def silent(t):
        return a8 <= t < a8 + silent_s

    t = make_transcript(words, db=lambda t: SILENCE_DB if silent(t) else BASE_DB,
                        f0=lambda t: None if silent(t) else BASE_HZ)
    t = annotate(_with_phones(t, lambda k: (0.56, None) if k == 8 else None, first="F"))
    marks = of_type(t, "lengthening")
    assert [m.first_word for m in marks] == ([8] if lengthened else [])
    if lengthened:
        assert marks[0].evidence["phone"] == "F" and marks[0].evidence["phone_excess_s"] == pytest.approx(0.5, abs=0.02)


def test_a_phone_longer_by_a_ratio_but_not_by_enough_time_is_not_lengthening():
    # a short phone doubled: ratio 2.5 but only 0.09 s beyond its norm (phone_excess_s 0.15)
    words = regular_words(24, lengths={8: 0.39})
    t = _with_phones(make_transcript(words), lambda k: (0.06, None))
    t = annotate(t)
    assert not of_type(t, "lengthening")


def test_a_word_drawn_out_as_a_whole_is_lengthening_one_long_sound_in_it_is_not():
    # "ma": M 0.06 s and AA 0.24 s; word 8: M 0.11 s and AA 0.45 s, 1.83x and 1.88x their norms:
    # neither phone passes the phone rule (ratio 2.0), the word (1.85x, 0.26 s longer) does
    words = regular_words(24, lengths={8: 0.56})
    t = annotate(_with_phones(make_transcript(words), lambda k: (0.11, None) if k == 8 else None, first="M"))
    (mark,) = of_type(t, "lengthening")
    assert mark.first_word == 8 and mark.evidence["by"] == "word"
    assert mark.evidence["word_ratio"] == pytest.approx(1.85, abs=0.05)
    assert mark.evidence["word_excess_s"] == pytest.approx(0.26, abs=0.01)
    # only the vowel that long (M 0.06 s, AA 0.45 s): the word as a whole is 1.37x
    t = annotate(_with_phones(make_transcript(regular_words(24, lengths={8: 0.51})), first="M"))
    assert not of_type(t, "lengthening")


@pytest.mark.parametrize("drawn_out, lengthened", [((8, 10), []), ((8, 13), [8, 13])])
def test_words_drawn_out_near_each_other_are_a_slow_stretch_not_lengthening(drawn_out, lengthened):
    """Two words drawn out as a whole (M 0.11 s, AA 0.45 s: 1.85x their norms), with a word said
    at the usual pace between them (a slow stretch hardly slows its function words): the median of
    each one's four neighbours is 1.0, but the other lies within 4 words (slow_neighbour_words), so
    neither is lengthened. Five words apart, each is."""
    words = regular_words(24, lengths={k: 0.56 for k in drawn_out})
    t = annotate(_with_phones(make_transcript(words), lambda k: (0.11, None) if k in drawn_out else None, first="M"))
    assert [m.first_word for m in of_type(t, "lengthening")] == lengthened
    assert not of_type(t, "emphasis")


@pytest.mark.parametrize("held_s, lengthened", [(0.6, []), (0.84, [10])])
def test_in_a_slow_stretch_a_held_sound_must_stand_out_from_its_pace(held_s, lengthened):
    """Word 8 is drawn out as a whole (1.85x); two words on, word 10 holds its vowel 2.5x its norm
    (0.6 s against 0.24 s): enough alone (phone_ratio 2), but under 1.6 (slow_stretch_phone_ratio)
    times the pace of the stretch around it, so neither word is lengthened. Held 3.5x, it is."""
    words = regular_words(24, lengths={8: 0.56, 10: 0.06 + held_s})
    t = annotate(_with_phones(make_transcript(words), lambda k: (0.11, None) if k == 8 else None, first="M"))
    marks = of_type(t, "lengthening")
    assert [m.first_word for m in marks] == lengthened
    if marks:
        assert marks[0].evidence["by"] == "phone"
        assert marks[0].evidence["slow_neighbours_word_ratio"] == pytest.approx(1.85, abs=0.05)


def test_final_lengthening_is_the_speakers_norm_at_unit_ends():
    """Every unit-final vowel is 2.3x long (the speaker's final lengthening, long enough to be
    marked against the other words' norm); one final vowel held twice as long again is marked,
    the others are not."""
    words, t0 = [], 0.2
    for unit in range(6):
        for k in range(6):
            length = 0.3 if k < 5 else (0.62 if unit != 3 else 1.3)
            words.append(("ba", round(t0, 3), round(t0 + length, 3), "S1"))
            t0 += length + (0.05 if k < 5 else 0.6)
    pauses = [Pause(start_s=words[k][2], end_s=words[k + 1][1], duration_s=round(words[k + 1][1] - words[k][2], 3),
                    speaker_before="S1", speaker_after="S1") for k in range(5, 35, 6)]
    t = annotate(_with_phones(make_transcript(words, pauses=pauses)))
    marks = of_type(t, "lengthening")
    assert [m.first_word for m in marks] == [23]
    assert marks[0].evidence["final_lengthening_factor"] == pytest.approx(0.56 / 0.24, abs=0.05)


@pytest.mark.parametrize("factor, lengthened", [(1.0, [11, 23]), (1.3, [23])])
def test_with_too_few_unit_ends_final_lengthening_is_the_default(tmp_path, factor, lengthened):
    """Two units (under 3 unit ends: the speaker's own final lengthening cannot be measured).
    Their last vowels are held 0.49 and 0.84 s against the other words' 0.24 s: with no final
    lengthening both are lengthened; with default_final_factor 1.3 only the one held 2.7x that."""
    path = tmp_path / "th.toml"
    path.write_text(f"[lengthening]\ndefault_final_factor = {factor}\n", encoding="utf-8")
    words, t0 = [], 0.2
    for unit in range(2):
        for k in range(12):
            length = 0.3 if k < 11 else (0.55 if unit == 0 else 0.9)
            words.append(("ba", round(t0, 3), round(t0 + length, 3), "S1"))
            t0 += length + (0.05 if k < 11 else 0.6)
    pauses = [Pause(start_s=words[11][2], end_s=words[12][1], duration_s=round(words[12][1] - words[11][2], 3),
                    speaker_before="S1", speaker_after="S1")]
    marks = of_type(annotate(_with_phones(make_transcript(words, pauses=pauses)), load_thresholds(path)), "lengthening")
    assert [m.first_word for m in marks] == lengthened
    assert marks[-1].evidence["final_lengthening_factor"] == factor
    assert marks[-1].evidence["final_factor_measured"] is False


def test_final_lengthening_scales_only_the_last_rhyme():
    """Unit-final words "baba" end in a vowel 2.3x long (the speaker's final lengthening). In one,
    the first vowel is held 2.5x its norm: before the final rhyme, so it is judged against the
    plain norm and marked (scaled by the final factor too it was 1.07x, as before this rule)."""
    from capture.record import Phone, replace

    words, t0 = [], 0.2
    for unit in range(6):
        for k in range(6):
            final = k == 5
            length = (0.06 + (0.6 if unit == 3 else 0.24) + 0.06 + 0.56) if final else 0.3
            words.append(("baba" if final else "ba", round(t0, 3), round(t0 + length, 3), "S1"))
            t0 += length + (0.05 if not final else 0.6)
    pauses = [Pause(start_s=words[k][2], end_s=words[k + 1][1], duration_s=round(words[k + 1][1] - words[k][2], 3),
                    speaker_before="S1", speaker_after="S1") for k in range(5, 35, 6)]
    t = make_transcript(words, pauses=pauses)

    def phones(w, k):
        if w.text == "ba":
            lengths = [("B", 0.06), ("AA", 0.24)]
        else:
            lengths = [("B", 0.06), ("AA", 0.6 if k == 23 else 0.24), ("B", 0.06), ("AA", 0.56)]
        out, at = [], w.start_s
        for label, d in lengths:
            out.append(Phone(label, round(at, 3), round(at + d, 3)))
            at += d
        return tuple(out)

    t = replace(t, words=tuple(replace(w, aligned=True, phones=phones(w, k)) for k, w in enumerate(t.words)))
    marks = of_type(annotate(t), "lengthening")
    assert [m.first_word for m in marks] == [23]
    assert marks[0].evidence["phone_ratio"] == pytest.approx(0.6 / 0.24, abs=0.05)
    assert marks[0].evidence["final_lengthening_factor"] == pytest.approx(0.56 / 0.24, abs=0.05)


def test_in_an_aligned_recording_words_without_phones_are_not_judged():
    from capture.record import replace

    words = regular_words(24, lengths={8: 0.8})
    t = _with_phones(make_transcript(words))
    t = replace(t, words=tuple(replace(w, phones=(), aligned=False) if k == 8 else w for k, w in enumerate(t.words)))
    assert not of_type(annotate(t), "lengthening")  # its held sound alone would be (test above)


def _steady_frames(n, words, held_s, *, usual_s=0.05):
    """A spectral change track of ``n`` frames: each of ``words`` (index -> word) holds its sound
    steady (change 5, under the limit of 30) for ``usual_s`` around its middle, word k for
    ``held_s[k]``; the spectrum moves (change 60) everywhere else."""
    change = np.full(n, 60.0)
    for k, w in words.items():
        frames = int(round(held_s.get(k, usual_s) / HOP_S))
        middle = int(round((w.start_s + w.end_s) / 2 / HOP_S))
        change[middle - frames // 2: middle - frames // 2 + frames] = 5.0
    return change


def _steady(t, held_s, *, usual_s=0.05):
    """``t`` with a spectral change track from ``_steady_frames`` over all its words."""
    return _with_change(t, _steady_frames(len(t.intensity.db), dict(enumerate(t.words)), held_s, usual_s=usual_s))


def test_a_sound_held_steady_is_lengthening_whatever_the_words_phones_say():
    """Every word is said at the same pace, so its phones show nothing; but word 8 holds its sound
    steady 0.25 s, five times the others' 0.05 s (a drawn-out vowel the recogniser took for
    another word, its held time spread over several phones)."""
    t = _with_phones(make_transcript(regular_words(24)))
    assert not of_type(annotate(t), "lengthening")
    (mark,) = of_type(annotate(_steady(t, {8: 0.25})), "lengthening")
    assert mark.first_word == 8 and mark.value == 1
    e = mark.evidence
    assert e["by"] == "steady" and e["steady_s"] == 0.25 and e["speaker_steady_norm_s"] == 0.05
    assert e["steady_ratio"] == 5.0 and e["phone"] == "AA" and e["held_vowel"] == {"index": 0, "of": 1}


@pytest.mark.parametrize("usual_s, held_s, lengthened", [
    (0.04, 0.14, True),   # 3.5 times the norm: steady_ratio exactly
    (0.04, 0.13, False),  # 3.25 times
    (0.02, 0.10, True),   # 5 times, and steady_min_s exactly
    (0.02, 0.09, False),  # 4.5 times, but under steady_min_s: too short to hear as held
])
def test_a_steady_sound_is_judged_at_its_limits_as_its_evidence_says(usual_s, held_s, lengthened):
    t = annotate(_steady(_with_phones(make_transcript(regular_words(24))), {8: held_s}, usual_s=usual_s))
    assert [m.first_word for m in of_type(t, "lengthening")] == ([8] if lengthened else [])


def test_a_steady_stretch_at_the_silence_level_is_no_sound_held():
    """Word 8's 0.25 s of steady spectrum lie under the recording's silence level (a steady hiss in
    a gap the aligner gave to the word): nothing is held."""
    words = regular_words(24)
    middle = (words[8][1] + words[8][2]) / 2
    t = make_transcript(words, db=lambda t: SILENCE_DB if abs(t - middle) < 0.13 else BASE_DB)
    assert not of_type(annotate(_steady(_with_phones(t), {8: 0.25})), "lengthening")


def test_steady_sounds_are_read_from_each_speakers_own_channel():
    """S1 holds word 7 steady on their microphone while S2, louder, talks over it on theirs: the
    recording-wide track follows S2's moving spectrum there and shows no held sound; S1's own
    channel does."""
    from capture.record import SpectralTrack

    t = _with_phones(_two_microphones(with_channel_tracks=True))
    n = len(t.intensity.db)
    mine = {k: w for k, w in enumerate(t.words) if w.speaker == "S1"}
    theirs = {k: w for k, w in enumerate(t.words) if w.speaker == "S2"}
    own = {0: _steady_frames(n, mine, {7: 0.25}), 1: _steady_frames(n, theirs, {})}
    louder = [1 if b > a else 0 for a, b in zip(t.channel_tracks[0].intensity.db, t.channel_tracks[1].intensity.db)]
    wide = SpectralTrack(HOP_S, 0.0, tuple(own[c][k] for k, c in enumerate(louder)))
    t = replace(t, spectral_change=wide, channel_tracks=tuple(
        replace(c, spectral_change=SpectralTrack(HOP_S, 0.0, tuple(own[c.channel].tolist()))) for c in t.channel_tracks))
    held = [m.first_word for m in of_type(annotate(t), "lengthening")]
    assert held == [7]
    assert 7 not in [m.first_word for m in of_type(annotate(replace(t, channel_tracks=())), "lengthening")]


# --------------------------------------------------------------------------- overlap, output


def test_overlap_marks_pair_the_speakers_words():
    words = [("I", 0.2, 0.4, "S1"), ("was", 0.45, 0.7, "S1"), ("going", 0.75, 1.1, "S1"), ("home", 1.15, 1.5, "S1"),
             ("yeah", 0.8, 1.2, "S2")]
    t = annotate(make_transcript(words, overlaps=[Overlap(0.8, 1.2, ("S1", "S2"))]))
    marks = of_type(t, "overlap")
    assert sorted((m.speaker, m.first_word, m.last_word, m.evidence["overlap"]) for m in marks) == [
        ("S1", 2, 3, 0), ("S2", 4, 4, 0)]


@pytest.mark.parametrize("end_s, bracketed", [(0.84996, True), (0.849, False)])
def test_an_overlap_whose_length_reads_the_limit_is_bracketed(end_s, bracketed):
    words = [("I", 0.2, 0.4, "S1"), ("was", 0.45, 0.9, "S1"), ("yeah", 0.8, 1.2, "S2")]
    t = annotate(make_transcript(words, overlaps=[Overlap(0.8, end_s, ("S1", "S2"))]))
    assert bool(of_type(t, "overlap")) is bracketed


def _two_microphones(*, with_channel_tracks: bool):
    """S1 talks evenly on channel 0; S2 says three words on channel 1 over S1's words 6-8, 10 dB
    louder and 8 st higher. The recording-wide tracks follow the louder channel, as the pipeline's do."""
    s1 = regular_words(14)
    s2 = [("ba", s1[6][1], s1[6][2], "S2"), ("ba", s1[7][1], s1[7][2], "S2"), ("ba", s1[8][1], s1[8][2], "S2")]
    duration_s = s1[-1][2] + 0.3
    own = {0: make_transcript(s1, duration_s=duration_s),
           1: make_transcript(s2, duration_s=duration_s, f0=lambda t: BASE_HZ * 2 ** (8 / 12), db=lambda t: BASE_DB + 10)}
    louder = [1 if b > a else 0 for a, b in zip(own[0].intensity.db, own[1].intensity.db)]
    both = make_transcript(s1 + s2, duration_s=duration_s)
    return replace(
        both, speakers=(Speaker("S1", "Speaker 1", channel=0), Speaker("S2", "Speaker 2", channel=1)),
        pitch=PitchTrack(HOP_S, 0.0, tuple(own[c].pitch.f0_hz[k] for k, c in enumerate(louder))),
        intensity=IntensityTrack(HOP_S, 0.0, tuple(own[c].intensity.db[k] for k, c in enumerate(louder))),
        channel_tracks=tuple(ChannelTracks(c, own[c].pitch, own[c].intensity) for c in (0, 1)) if with_channel_tracks else ())


def test_with_a_microphone_each_a_speaker_is_measured_on_their_own_channel():
    """In overlapping talk the recording-wide tracks carry the louder voice: measured on them, S1's
    words under S2's were 10 dB louder and 8 st higher than S1's own talk (stereo_diarization.wav:
    6 emphasis marks in 22 words, 3 on its own channels)."""
    alone = annotate(_two_microphones(with_channel_tracks=True))
    s1_marks = [m for m in alone.marks if m.speaker == "S1" and m.type in ("emphasis", "loud", "pitch_step")]
    assert s1_marks == []
    assert alone.speakers[0].baseline["f0_median_hz"] == pytest.approx(BASE_HZ, rel=0.01)
    mixed = annotate(_two_microphones(with_channel_tracks=False))  # a transcript of schema 1.1
    assert any(m.speaker == "S1" and m.first_word in (6, 7, 8) for m in mixed.marks if m.type in ("emphasis", "loud"))


def test_marks_and_baselines_survive_json_and_match_the_schema():
    words = regular_words(14, lengths={8: 0.8})
    t = annotate(make_transcript(words, db=_per_word(words, {4: BASE_DB + 8}, BASE_DB)))
    back = Transcript.from_dict(json.loads(t.to_json()))
    assert back.marks == t.marks
    assert back.speakers[0].baseline["f0_median_hz"] == pytest.approx(BASE_HZ)
    schema_path = Path(__file__).parents[1] / "capture" / "schema" / "transcript.schema.json"
    if schema_path.is_file():
        import jsonschema

        schema = json.loads(schema_path.read_text())
        data = json.loads(t.to_json())
        for part in ("marks", "speakers"):
            jsonschema.validate(data[part], {"$defs": schema.get("$defs", {}), **schema["properties"][part]})
        stereo = annotate(_two_microphones(with_channel_tracks=True))
        part = schema["properties"]["channel_tracks"]  # its items refer to #/properties/pitch and intensity
        jsonschema.validate(json.loads(stereo.to_json())["channel_tracks"], {**part, "properties": schema["properties"]})
        assert Transcript.from_dict(json.loads(stereo.to_json())).channel_tracks == stereo.channel_tracks


def test_no_tracks_still_gives_pause_marks():
    words = [("so", 0.2, 0.5, "S1"), ("then", 1.2, 1.5, "S1")]
    t = make_transcript(words, pauses=[Pause(0.5, 1.2, 0.7, "S1", "S1")])
    t = annotate(replace(t, pitch=None, intensity=None))
    assert [m.type for m in t.marks] == ["pause"]


# --------------------------------------------------------------------------- re-timing on syllable nuclei


def test_word_edges_are_retimed_on_syllable_nuclei():
    from prosody.marks.timing import refine

    true_edges = [0.2, 0.5, 0.8, 1.1, 1.4, 1.7]
    times = np.arange(int(2.0 / HOP_S)) * HOP_S
    db = np.full(times.size, SILENCE_DB)
    for a, b in zip(true_edges, true_edges[1:]):
        inside = (times >= a) & (times < b)
        db[inside] = 55 + 20 * np.sin(np.pi * (times[inside] - a) / (b - a))  # one syllable, dips at the edges
    f0 = np.where(db > 40, BASE_HZ, np.nan)
    late = [(a + 0.1, b + 0.1, 1) for a, b in zip(true_edges, true_edges[1:])]  # recogniser 0.1 s late
    spans = refine(late, db, f0, hop_s=HOP_S, silence_db=30.0)
    inner = [span[0] for span in spans[1:]]
    assert inner == pytest.approx(true_edges[1:-1], abs=0.021)
    assert spans[0][0] == pytest.approx(0.3) and spans[-1][1] == pytest.approx(1.8)  # outer edges kept


def test_process_and_watch_take_a_thresholds_file(tmp_path):
    from capture.cli import build_parser
    from capture.cmd_process import options_from_args

    path = tmp_path / "mine.toml"
    path.write_text("[pitch_steps]\nmin_step_st = 4.5\n")
    for command in ("process", "watch"):
        args = build_parser().parse_args([command, str(tmp_path / "x.wav"), "--thresholds", str(path)])
        options = options_from_args(args)
        assert options.thresholds.pitch_steps.min_step_st == 4.5
        assert options.as_dict()["thresholds"]["pitch_steps"]["min_step_st"] == 4.5


def test_no_step_down_from_a_high_word():
    words = regular_words(14)
    f0 = _per_word(words, {5: BASE_HZ * 2 ** (6 / 12), 6: BASE_HZ * 2 ** (-2 / 12)}, BASE_HZ)
    steps = of_type(annotate(make_transcript(words, f0=f0)), "pitch_step")
    assert [(m.first_word, m.value) for m in steps] == [(5, "up")]


@pytest.mark.parametrize("end_hz, expected", [(170.0, "rise"), (85.0, "fall"), (120.0, "level")])
def test_final_intonation_on_a_synthetic_voice_through_the_real_trackers(end_hz, expected):
    """A harmonic 'voice' at 120 Hz whose last 0.3 s glides to ``end_hz``, measured by SwiftF0 and
    the intensity tracker like a recording."""
    from prosody.intensity import intensity_frames, intensity_track
    from prosody.pitch import f0_frames, pitch_track

    sr, duration_s = 16000, 1.6
    t = np.arange(int(duration_s * sr)) / sr
    glide = np.clip((t - (duration_s - 0.3)) / 0.3, 0, 1)
    f0 = 120.0 * (end_hz / 120.0) ** glide
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8)).astype(np.float32)
    x *= np.where((t > 0.1) & (t < duration_s - 0.02), 0.3 / np.max(np.abs(x)), 0.0).astype(np.float32)
    track_f0, track_db = f0_frames(x, sr=sr), intensity_frames(x, sr=sr)
    words = [("ba", 0.1, 0.5, "S1"), ("ba", 0.55, 1.0, "S1"), ("ba", 1.05, 1.58, "S1")]
    tr = replace(make_transcript(words, duration_s=duration_s), pitch=pitch_track(track_f0, hop_s=HOP_S),
                 intensity=intensity_track(track_db, hop_s=HOP_S))
    finals = of_type(annotate(tr), "intonation")
    assert [m.value for m in finals] == [expected]
