"""The end-to-end pipeline on real speech with ground truth (../shared/corpus; skipped when absent).

Targets from the end-to-end issue: WER (normalised) jfk <= 5 %, LibriSpeech <= 10 %, the three LJ
clips together <= 10 %; pitch on PTDB-TUG F01 sa1: gross error <= 2 %, voicing error <= 10 %,
median fine error <= 25 cents; pauses on the LJ clips: each reference pause of 0.2 s or more found
with both edges within 60 ms, at most one spurious pause of 0.2 s or more per clip.
"""

from __future__ import annotations

import pytest

from bench.corpus import (ASR_ITEMS, PTDB_REF, PTDB_WAV, match_pauses, pitch_errors, reference_f0,
                          reference_pauses, word_errors)
from capture.pipeline import Engine, ProcessOptions
from transcribe.diarize import SpeakerOptions

pytestmark = [pytest.mark.slow, pytest.mark.corpus]


@pytest.fixture(scope="module")
def engine():
    return Engine(ProcessOptions(speakers=SpeakerOptions(mode="none")))


@pytest.fixture(scope="module")
def transcripts(engine, corpus_dir):
    return {name: engine.process(corpus_dir / audio) for name, (audio, _) in ASR_ITEMS.items()}


def _wer(corpus_dir, transcripts, names):
    errors = words = 0
    for name in names:
        e, n = word_errors((corpus_dir / ASR_ITEMS[name][1]).read_text(),
                           " ".join(w.text for w in transcripts[name].words))
        errors, words = errors + e, words + n
    return errors / words


def test_wer_jfk(corpus_dir, transcripts):
    assert _wer(corpus_dir, transcripts, ["jfk"]) <= 0.05


def test_wer_librispeech(corpus_dir, transcripts):
    assert _wer(corpus_dir, transcripts, ["librispeech_2412-153948-0000"]) <= 0.10


def test_wer_ljspeech_together(corpus_dir, transcripts):
    assert _wer(corpus_dir, transcripts, ["LJ050-0276", "LJ050-0277", "LJ050-0278"]) <= 0.10


def test_pitch_against_laryngograph(engine, corpus_dir):
    transcript = engine.process(corpus_dir / PTDB_WAV)
    times, ref = reference_f0(corpus_dir / PTDB_REF)
    f0 = [float("nan") if v is None else v for v in transcript.pitch.f0_hz]
    errors = pitch_errors(times, ref, f0, hop_s=transcript.pitch.hop_s)
    assert errors["gpe"] <= 0.02
    assert errors["vde"] <= 0.10
    assert errors["fine_median_cents"] <= 25


def test_pauses_against_forced_alignment(corpus_dir, transcripts):
    """All five reference pauses, both edges within 60 ms (one of them, LJ050-0278 at 5.33 s,
    follows a word-final /s/ fading into the pause: found thanks to the frication rule)."""
    matched = reference = 0
    for i in (6, 7, 8):
        name = f"LJ050-027{i}"
        ref_pauses, ref_words = reference_pauses(corpus_dir / f"ljspeech_LJ050-027x/{name}.TextGrid")
        found = [(p.start_s, p.end_s) for p in transcripts[name].pauses]
        result = match_pauses(ref_pauses, found, ref_words)
        assert result["false_in_words"] <= 1, name
        matched, reference = matched + result["matched"], reference + result["reference"]
    assert reference == 5
    assert matched == 5
