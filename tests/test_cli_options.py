"""What ``process``/``watch`` options become: the device reaches the speaker models too, and the
forced aligner can be switched off."""

from __future__ import annotations

import pytest

from capture.cli import build_parser
from capture.cmd_process import options_from_args


@pytest.mark.parametrize("command", ["process", "watch"])
def test_device_reaches_recognition_and_speaker_models(command, tmp_path):
    options = options_from_args(build_parser().parse_args([command, str(tmp_path / "x.wav"), "--device", "cpu"]))
    assert options.asr.device == "cpu" and options.speakers.device == "cpu"
    assert options.align.enabled
    options = options_from_args(build_parser().parse_args([command, str(tmp_path / "x.wav"), "--no-align"]))
    assert options.speakers.device == "auto" and not options.align.enabled
    assert options.as_dict()["align"]["enabled"] is False


@pytest.mark.parametrize("command", ["process", "watch"])
def test_cpu_isa_reaches_the_recogniser(command, tmp_path):
    parse = build_parser().parse_args
    assert options_from_args(parse([command, str(tmp_path / "x.wav")])).asr.cpu_isa == "native"
    options = options_from_args(parse([command, str(tmp_path / "x.wav"), "--cpu-isa", "avx2"]))
    assert options.asr.cpu_isa == "avx2" and options.as_dict()["asr"]["cpu_isa"] == "avx2"
    with pytest.raises(SystemExit):
        parse([command, str(tmp_path / "x.wav"), "--cpu-isa", "avx512"])


def test_embedded_speaker_model_runs_where_the_options_say():
    """--device cpu used to leave the speaker encoder on 'auto' (the GPU when torch saw one)."""
    from transcribe.diarize import BACKENDS, SpeakerOptions

    identity = BACKENDS["embedded"].identity(SpeakerOptions(device="cpu"))
    assert identity["device"] == "cpu" and identity["settings"]["device"] == "cpu"
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        SpeakerOptions(device="tpu")
