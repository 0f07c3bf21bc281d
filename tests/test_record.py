"""The Transcript record round-trips through its JSON form, which matches the documented schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from capture.record import (AudioInfo, IntensityTrack, Mark, Pause, Pipeline, PitchTrack, Speaker, Transcript,
                            Utterance, Word, WordProsody)

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "capture/schema/transcript.schema.json").read_text())


def sample_transcript() -> Transcript:
    prosody = WordProsody(0.3, 180.0, 170.0, 190.0, 1.2, 70.1, 74.0, 0.8)
    return Transcript(
        audio=AudioInfo("/x/ä b.wav", "0" * 64, 2.0, 16000, 2, "wav", "pcm_16"),
        pipeline=Pipeline("0.1.0", {"asr": {"name": "tiny.en"}}, {"beam_size": 5}, "cpu",
                          {"model_load": 0.1, "decode": 0.0, "asr": 1.0, "diarization": 0.0, "prosody": 0.1, "total": 1.1}),
        language="en",
        speakers=(Speaker("S1", "Zoë", 0), Speaker("S2", "Speaker 2", 1)),
        words=(Word("hello", 0.1, 0.4, 0.9, "S1", prosody), Word("你好", 0.6, 0.9, 0.8, "S2", None)),
        utterances=(Utterance("S1", 0.1, 0.4, "hello", 0, 0), Utterance("S2", 0.6, 0.9, "你好", 1, 1)),
        pauses=(Pause(0.4, 0.6, 0.2, "S1", "S2"),),
        marks=(Mark("emphasis", 0.1, 0.4, 0, 0, "S1", "strong", 0.7, {"f0_z": 2.1, "threshold": 1.5}),),
        pitch=PitchTrack(0.01, 0.0, (None, 180.0, 181.5)),
        intensity=IntensityTrack(0.01, 0.0, (30.0, 70.0, 71.0)),
    )


def test_round_trip_is_lossless():
    t = sample_transcript()
    assert Transcript.from_dict(json.loads(t.to_json())) == t


def test_json_matches_the_schema():
    jsonschema.validate(json.loads(sample_transcript().to_json()), SCHEMA)


def test_schema_rejects_a_word_without_times():
    data = json.loads(sample_transcript().to_json())
    del data["words"][0]["start_s"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_unknown_major_version_is_refused_with_advice():
    data = json.loads(sample_transcript().to_json())
    data["schema_version"] = "2.0"
    with pytest.raises(ValueError, match="re-run"):
        Transcript.from_dict(data)


def test_nan_is_written_as_null():
    t = sample_transcript()
    from capture.record import replace

    t = replace(t, pitch=PitchTrack(0.01, 0.0, (float("nan"), 100.0)))
    assert json.loads(t.to_json())["pitch"]["f0_hz"] == [None, 100.0]
