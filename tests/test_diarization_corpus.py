"""Diarization on real speech from ../shared/corpus (skipped when the corpus is absent), and the
whole `process` command with `--speakers embedded` on the espeak-ng two-voice fixture."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from capture.decode import Audio, load_audio
from capture.record import AudioInfo, Turn
from transcribe.diarize import SpeakerOptions
from transcribe.embedded import diarize_embedded
from transcribe.scoring import der, load_rttm_turns

FIXTURES = Path(__file__).parent / "fixtures"
EMBEDDED = SpeakerOptions(mode="embedded")


def mono(x: np.ndarray) -> Audio:
    return Audio(samples=np.asarray(x, np.float32)[None, :], sample_rate_hz=16000,
                 info=AudioInfo("joined", "", len(x) / 16000, 16000, 1))


@pytest.mark.slow
@pytest.mark.corpus
def test_embedded_on_ami_meets_the_strict_der_target(corpus_dir):
    folder = corpus_dir / "ami_mixture_4spk"
    audio = load_audio(folder / "mixture.wav")
    result = diarize_embedded(audio, EMBEDDED)
    report = der(load_rttm_turns(folder / "mixture.rttm"), result.turns, duration_s=audio.duration_s)
    assert report.strict <= 0.25, report.as_dict()
    assert report.forgiving <= 0.15, report.as_dict()
    # the count is found automatically; the fourth AMI speaker talks for 1.2 s in all (two backchannels)
    assert 3 <= result.num_speakers <= 4


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.parametrize("path", ["jfk/jfk.flac", "librispeech_2412-153948-0000/2412-153948-0000.flac",
                                  "ptdb_tug_f0/mic_F01_sa1.wav"])
def test_single_speaker_recordings_come_out_as_one_speaker(corpus_dir, path):
    result = diarize_embedded(load_audio(corpus_dir / path), EMBEDDED)
    assert result.num_speakers == 1
    assert {t.speaker for t in result.turns} == {"spk0"}  # so no overlap either


def _summed(a: np.ndarray, b: np.ndarray, *, overlap_s: float, gain_b_db: float) -> tuple[Audio, list[Turn]]:
    """``b`` starts ``overlap_s`` before ``a`` ends; truth = each source's own VAD speech."""
    from transcribe.vad import speech_regions

    a = a / (np.sqrt(np.mean(a ** 2)) + 1e-9) * 0.05
    b = b / (np.sqrt(np.mean(b ** 2)) + 1e-9) * 0.05 * 10 ** (gain_b_db / 20)
    offset = len(a) - int(overlap_s * 16000)
    out = np.zeros(max(len(a), offset + len(b)), dtype=np.float32)
    out[: len(a)] += a
    out[offset: offset + len(b)] += b
    truth = [Turn("a", s, e) for s, e in speech_regions(a)]
    truth += [Turn("b", s + offset / 16000, e + offset / 16000) for s, e in speech_regions(b)]
    return mono(out), truth


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.parametrize("gain_b_db", [0.0, -6.0])
def test_overlap_is_found_where_two_recordings_are_summed(corpus_dir, gain_b_db):
    from dataclasses import replace

    from transcribe.embedded import EmbeddedOptions
    from transcribe.scoring import overlap_precision_recall

    libri = load_audio(corpus_dir / "librispeech_2412-153948-0000/2412-153948-0000.flac").mono_16k()
    lj = load_audio(corpus_dir / "ljspeech_LJ050-027x/LJ050-0277.wav").mono_16k()
    audio, truth = _summed(libri, lj, overlap_s=2.0, gain_b_db=gain_b_db)
    result = diarize_embedded(audio, EMBEDDED)
    precision, recall, true_s, found_s = overlap_precision_recall(truth, result.turns)
    assert result.num_speakers == 2 and true_s > 1.0
    assert precision >= 0.8 and recall >= 0.3, (precision, recall, true_s, found_s)
    without = diarize_embedded(audio, EMBEDDED, replace(EmbeddedOptions(), overlap_mix_gain=0.0))
    assert overlap_precision_recall(truth, without.turns)[1] < recall
    joined, _ = _summed(libri, lj, overlap_s=0.0, gain_b_db=gain_b_db)  # the same turn change, no overlap
    assert overlap_precision_recall([Turn("x", 0.0, 1.0)], diarize_embedded(joined, EMBEDDED).turns)[3] == 0.0


@pytest.mark.slow
@pytest.mark.corpus
def test_joined_recordings_of_three_people_give_three_speakers(corpus_dir):
    c = corpus_dir
    parts = [("lj", c / "ljspeech_LJ050-027x/LJ050-0276.wav"), ("libri", c / "librispeech_2412-153948-0000/2412-153948-0000.flac"),
             ("jfk", c / "jfk/jfk.flac"), ("lj", c / "ljspeech_LJ050-027x/LJ050-0277.wav")]
    xs, truth, t = [], [], 0.0
    for who, path in parts:
        x = load_audio(path).mono_16k()
        xs.append(x / (np.sqrt(np.mean(x ** 2)) + 1e-9) * 0.05)
        truth.append(Turn(who, t, t + len(x) / 16000))
        t += len(x) / 16000
    result = diarize_embedded(mono(np.concatenate(xs)), EMBEDDED)
    assert result.num_speakers == 3
    assert der(truth, result.turns).forgiving < 0.2  # what is left is mostly pauses inside the files


def _normalise(text: str) -> list[str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()(text).split()


@pytest.mark.slow
@pytest.mark.corpus
def test_auto_on_stereo_picks_channels_and_attributes_every_word(corpus_dir, tmp_path):
    from capture.pipeline import Engine, ProcessOptions

    folder = corpus_dir / "fw_stereo_2spk"
    transcript = Engine(ProcessOptions()).process(folder / "stereo_diarization.wav")
    assert transcript.pipeline.options["speakers_chosen"]["mode"] == "channels"
    speaker_of_channel = {s.channel: s.id for s in transcript.speakers}
    assert set(speaker_of_channel) == {0, 1}
    for row in (folder / "stereo_diarization.reference.tsv").read_text().splitlines()[1:]:
        channel, _, text = row.split("\t")
        own = speaker_of_channel[0 if channel == "left" else 1]
        said = _normalise(" ".join(w.text for w in transcript.words if w.speaker == own))
        missing = [w for w in _normalise(text) if w not in said]
        assert not missing, (channel, missing, said)
    # each channel's own tracks are kept, so each speaker's marks are measured on their own voice
    assert sorted(t.channel for t in transcript.channel_tracks) == [0, 1]
    assert all(len(t.pitch.f0_hz) == len(transcript.pitch.f0_hz) for t in transcript.channel_tracks)
    emphasised = [m for m in transcript.marks if m.type == "emphasis"]
    assert 1 <= len(emphasised) <= 4, [transcript.words[m.first_word].text for m in emphasised]  # 6 on the mixed tracks
    finals = {transcript.words[m.last_word].text for m in transcript.marks if m.type == "intonation"}
    assert {"left.", "distant."} <= finals  # each speaker's last word judged on their own voice


@pytest.mark.slow
def test_process_with_embedded_speakers_attributes_words_and_writes_rttm(tmp_path):
    """The whole command on the two-voice fixture: two speakers, words follow the true turns."""
    from capture.cli import main

    out = tmp_path / "out"
    assert main(["process", str(FIXTURES / "diarization_two_voices.ogg"), "--out", str(out), "-q",
                 "--speakers", "embedded"]) == 0
    folder = next(out.iterdir())
    data = json.loads((folder / "transcript.json").read_text())
    assert [s["id"] for s in data["speakers"]] == ["S1", "S2"]
    assert "overlaps" in data
    truth = [line.split("\t") for line in (FIXTURES / "diarization_two_voices.tsv").read_text().splitlines()[1:]]
    expected = {"A": "S1", "B": "S2"}
    wrong = 0
    for w in data["words"]:
        mid = (w["start_s"] + w["end_s"]) / 2
        who = [r[0] for r in truth if float(r[1]) <= mid <= float(r[2])]
        wrong += bool(who) and w["speaker"] != expected[who[0]]
    assert wrong <= 1, wrong
    rttm = (folder / "diarization.rttm").read_text().splitlines()
    assert {line.split()[7] for line in rttm} == {"S1", "S2"}
    assert re.match(r"SPEAKER \S+ 1 \d+\.\d{3} \d+\.\d{3} <NA> <NA> S1", rttm[0])
    models = data["pipeline"]["models"]["diarization"]
    assert models["backend"] == "embedded" and models["embedding"]["weights_sha256"]
    assert models["device"] in ("cpu", "cuda") and models["settings"]["clustering"]["threshold"] == 0.65
