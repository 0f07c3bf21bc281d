"""The controlled test set's choice of pitch-step targets (bench/prosody_testset.py): a shifted
word is a step only where the jump it then makes from the word before it is perceptible."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.prosody_testset import (CORPUS, JOIN_GAP_S, PERCEPTIBLE_RISE_ST, PERCEPTIBLE_STEP_ST, STEP_SHIFT_ST, TURNS,
                                   Editor, aligned_words, edited_real_items, edited_recording, final_rise_st,
                                   intonation_items, perceptible_step, pitch_step_targets, read_mono, render_synthetic,
                                   rendered_step_st, source_path, turn_text, unedited_recording, word_pitch_halves)


def test_word_pitch_halves_follow_a_known_tone_per_word():
    sr = 16000
    # three "words" of 0.4 s: 200 Hz; 200 -> 252 Hz (4 st) halfway; unvoiced noise
    t = np.arange(int(0.4 * sr)) / sr
    second = np.where(t < 0.2, 200.0, 200.0 * 2 ** (4 / 12))
    phase = 2 * np.pi * np.cumsum(second) / sr
    x = np.concatenate([np.sin(2 * np.pi * 200 * t), np.sin(phase),
                        np.random.default_rng(0).normal(0, 0.05, len(t))]) * 0.5
    words = [(0.0, 0.4, "a"), (0.4, 0.8, "b"), (0.8, 1.2, "c")]
    halves = word_pitch_halves(x, sr, words)
    reference = halves[0][0]
    assert halves[0][1] == pytest.approx(reference, abs=0.2)
    assert halves[1][0] == pytest.approx(reference, abs=0.3)
    assert halves[1][1] - reference == pytest.approx(4.0, abs=0.3)
    assert halves[2] == (None, None)


def test_only_shifts_that_make_a_perceptible_jump_from_a_voiced_word_just_before_are_targets():
    words = [(0.0, 0.3, "w0"), (0.3, 0.6, "w1"), (0.6, 0.9, "w2"), (1.2, 1.5, "w3"), (1.5, 1.8, "w4"),
             (1.8, 2.1, "w5")]
    halves = [(0.0, 0.0), (0.0, 2.0), (0.5, 0.5), (3.0, 3.0), (None, None), (1.0, 1.0)]
    up = pitch_step_targets([1, 2, 3, 5], words, halves, 1.0)
    # w1 starts level with w0 (0 st + 4 st); w2 starts 1.5 st under w1's end (2.5 st: too small);
    # w3 follows a pause; w5 follows an unvoiced word
    assert up == {1: STEP_SHIFT_ST}
    down = pitch_step_targets([1, 2, 3, 5], words, halves, -1.0)
    assert down == {1: -STEP_SHIFT_ST, 2: -5.5}
    assert all(abs(v) >= PERCEPTIBLE_STEP_ST for v in {**up, **down}.values())


def test_a_synthesised_words_step_is_its_onset_against_the_end_of_the_word_before():
    sr = 16000
    t = np.arange(int(0.3 * sr)) / sr
    # "w0" 180 Hz; "w1" glides 180 -> 240 Hz, so its onset half lies 3 log2(4/3) = 1.2 st over w0 and its
    # end half at 180 (4/3)^0.75 Hz; "w2" at 150 Hz, 6.9 st under that end (5.6 st under w1's median); "w3" unvoiced
    glide = 180.0 * (240.0 / 180.0) ** (t / t[-1])
    x = np.concatenate([np.sin(2 * np.pi * 180 * t), np.sin(2 * np.pi * np.cumsum(glide) / sr),
                        np.sin(2 * np.pi * 150 * t), np.random.default_rng(0).normal(0, 0.05, len(t))]) * 0.5
    spans = [(0.0, 0.3), (0.3, 0.6), (0.6, 0.9), (0.9, 1.2)]
    end_half = 12 * np.log2(150 / (180 * (240 / 180) ** 0.75))
    assert rendered_step_st(x, sr, spans, 2) == pytest.approx(end_half, abs=0.4)
    assert rendered_step_st(x, sr, spans, 1) == pytest.approx(3 * np.log2(4 / 3), abs=0.3)
    assert rendered_step_st(x, sr, spans, 3) is None


def test_a_synthetic_pitch_item_moves_to_a_word_that_makes_a_perceptible_step(tmp_path):
    # seed 4's syn_pitch_down_1 as drawn: "bring" lowered after "to" comes out only about 1.5 st under it
    words = "the teacher asked the students to bring their notebooks and pencils to the library".split()
    path = tmp_path / "down.wav"
    first = render_synthetic(path, words, "pitch_down", 6, 4, 1.5)
    assert rendered_step_st(first[2], first[3], first[1], 6) > -PERCEPTIBLE_STEP_ST
    pieces, spans, x, sr, target, step = perceptible_step(path, words, "pitch_down", 6, 4, 1.5, first, random.Random(0))
    assert target not in (4, 5, 6) and step <= -PERCEPTIBLE_STEP_ST
    assert '<prosody pitch="-60%">' in pieces and pieces[pieces.index('<prosody pitch="-60%">') + 1] == words[target]
    written, sr_written = sf.read(path)  # the file holds the item that was measured
    assert rendered_step_st(written, sr_written, spans, target) == step
    again = perceptible_step(path, words, "pitch_down", target, 4, 1.5, (pieces, spans, x, sr), random.Random(1))
    assert again[4:] == (target, step)  # a word that already makes the step is kept


FIXTURE = Path(__file__).parent / "fixtures" / "prosody" / "loud_and_pause.flac"
SCRIPT = "we walked along the river in the morning and talked about the garden plans for next summer"
# libespeak-ng's word starts for the fixture (as in tests/test_forced_align.py; "in the" is one event)
STARTS = [0.0, 0.129, 0.486, 0.814, 0.938, 1.227, None, 1.437, 2.529, 2.715, 3.09, 3.387, 3.497, 3.89, 4.32,
          4.519, 4.886]


@pytest.fixture(scope="module")
def fixture_words():
    x, sr = sf.read(FIXTURE)
    return x, sr, aligned_words(x, sr, SCRIPT)


def test_a_voice_without_a_textgrid_gets_word_times_from_the_aligner(fixture_words):
    _x, _sr, words = fixture_words
    assert [w for _a, _b, w in words] == SCRIPT.split()
    errors = [abs(a - t) for (a, _b, _w), t in zip(words, STARTS) if t is not None]
    assert np.median(errors) <= 0.03 and max(errors) <= 0.15, errors  # ("along" 0.10 s: its vowel joins "walked")
    gaps = [words[k][0] - words[k - 1][1] for k in range(1, len(words))]
    assert gaps[7] >= 0.5  # the 0.7 s break after "morning" stays a pause
    assert all(g == 0 or g >= JOIN_GAP_S for g in gaps), gaps  # short gaps joined, so words can be edited in place
    with pytest.raises(ValueError, match="dictionary"):
        aligned_words(np.zeros(16000), 16000, "we xqzzyv along")


def test_edits_of_another_voice_move_the_truth_with_them(fixture_words, tmp_path):
    x, sr, words = fixture_words
    (tmp_path / "items").mkdir()
    pauses = [(words[k - 1][1], words[k][0]) for k in range(1, len(words)) if words[k][0] - words[k - 1][1] >= JOIN_GAP_S]
    items = edited_recording(tmp_path, FIXTURE.stem, "prosody/loud_and_pause.flac", x, sr, words, pauses, random.Random(1), 1,
                             [0.5] * 30)
    kinds = {i["id"].rsplit("_", 2)[-2] for i in items}
    assert {"loud", "quiet", "emphasis", "lengthening", "faster", "slower"} <= kinds
    for item in items:
        y, _ = sf.read(tmp_path / item["audio"])
        assert abs(len(y) / sr - (len(x) / sr + item["inserted_silence_s"] + sum(n - (b - a) for a, b, n in item["edits"]
                                                                                  if b > a))) < 0.01
        truth = item["truth"][0]
        (a, _), (_, b) = truth["times"][0], truth["times"][-1]
        n = len(truth["words"])
        factor = {"lengthening": 1.8, "emphasis": 1.35, "slower": 1.25, "faster": 0.8}.get(truth["value"] or truth["type"], 1.0)
        # the target's original span, wherever its words occur in the script ("the" is there four times)
        spans = [words[k + n - 1][1] - words[k][0] for k in range(len(words) - n + 1)
                 if [w for _a, _b, w in words[k: k + n]] == truth["words"]]
        assert any(b - a == pytest.approx(span * factor, abs=0.01) for span in spans), (item["id"], b - a, spans)
    assert source_path(Path("/c"), "jfk/jfk.flac") == Path("/c/jfk/jfk.flac")
    assert source_path(Path("/c"), "LJ050-0276.wav") == Path("/c/ljspeech_LJ050-027x/LJ050-0276.wav")


def test_a_bend_glides_a_word_up_and_keeps_its_length():
    sr = 16000
    t = np.arange(int(1.2 * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * 180 * t)
    ed = Editor(x, sr)
    ed.bend(0.6, 1.0, 6.0)
    assert len(ed.x) == len(x)
    assert final_rise_st(x, sr, 0.6, 1.0) == pytest.approx(0.0, abs=0.3)
    # the last 3 voiced frames against the lowest: the glide ends 6 st up (the last frames are near its top)
    assert final_rise_st(ed.x, sr, 0.6, 1.0) == pytest.approx(6.0, abs=1.0)
    assert final_rise_st(np.random.default_rng(0).normal(0, 0.1, sr), sr, 0.2, 0.8) is None


@pytest.mark.skipif(not (CORPUS / "ptdb_tug_f0").is_dir(), reason="needs ../shared/corpus")
def test_real_intonation_items_keep_the_statement_and_bend_only_its_last_word(tmp_path):
    (tmp_path / "items").mkdir()
    items, dropped = intonation_items(tmp_path, CORPUS, ("ptdb",))
    x, sr = read_mono(CORPUS / "ptdb_tug_f0" / "mic_F01_sa1.wav")
    statement = [i for i in items if i["truth"][0]["value"] == "fall"]
    assert [i["truth"][0]["words"] for i in statement] == [["year"]]
    y, _ = sf.read(tmp_path / statement[0]["audio"])
    assert np.max(np.abs(y - x)) < 1e-4  # as recorded (16-bit)
    questions = [i for i in items if i["truth"][0]["value"] == "rise"]
    assert len(questions) + len(dropped) == 3 and questions
    for item in questions:
        assert item["truth"][0]["rise_st_pyin"] >= PERCEPTIBLE_RISE_ST
        y, _ = sf.read(tmp_path / item["audio"])
        (a, _b), = item["truth"][0]["times"]
        assert len(y) == len(x) and np.max(np.abs(y[: int((a - 0.01) * sr)] - x[: int((a - 0.01) * sr)])) < 1e-4


def test_a_turn_is_its_words_between_two_phrases_with_spelled_acronyms_as_letters(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("Mm-hmm. Menu, alright. Right, so an L_C_D_ di display or something. Yeah.", encoding="utf-8")
    assert turn_text(text, "Right, so", "or something.") == "Right, so an L C D di display or something."
    with pytest.raises(ValueError):
        turn_text(text, "Right, so", "never said")


@pytest.mark.skipif(not (CORPUS / "ami_mixture_4spk").is_dir(), reason="needs ../shared/corpus")
def test_a_spontaneous_turn_is_cut_from_its_headset_track_and_kept_beside_its_edits(tmp_path):
    (tmp_path / "items").mkdir()
    items = edited_real_items(tmp_path, CORPUS, random.Random(20), 20, ("ami_d",))
    audio, _text, (a, b), _first, _last = TURNS["ami_d"]
    track, sr = read_mono(CORPUS / audio)
    turn, _ = sf.read(tmp_path / items[0]["unedited_audio"])
    start, end = items[0]["source_span_s"]
    assert start < a and end > b and len(turn) == pytest.approx((end - start) * sr, abs=2)
    recorded = track[int(round(start * sr)): int(round(end * sr))]
    # as recorded (16-bit; scaled down like every item whose peak would clip)
    assert np.max(np.abs(turn / np.max(np.abs(turn)) - recorded / np.max(np.abs(recorded)))) < 1e-3
    assert len(items) == 24 and {i["source"] for i in items} == {audio}
    assert unedited_recording(tmp_path, CORPUS, items[0]) == tmp_path / "items" / "turn_ami_d.wav"
    loud = next(i for i in items if i["truth"][0]["type"] == "loud")
    y, _ = sf.read(tmp_path / loud["audio"])
    (p, q), = loud["truth"][0]["times"]
    silence = loud["inserted_silence_s"]
    inserted = loud["pauses"][0][0]
    offset = silence if inserted < p else 0.0  # the silence went in before the word
    scaled = np.std(y[-2 * sr:]) / np.std(turn[-2 * sr:])  # the item's last 2 s are the turn's, unedited
    assert q < len(y) / sr - 2
    gain_db = 20 * np.log10(np.std(y[int(p * sr): int(q * sr)]) /
                            np.std(turn[int((p - offset) * sr): int((q - offset) * sr)]) / scaled)
    assert gain_db == pytest.approx(loud["truth"][0]["value"], abs=0.6)
