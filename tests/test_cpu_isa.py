"""The recogniser's CPU int8 kernels held to AVX2 (``--cpu-isa avx2``): the same numbers as oneDNN
computes when told so from outside, whatever the CPU's best kernels are, and recorded in the output."""

from __future__ import annotations

import json
import os

import pytest
from test_cli_process import SAMPLE, tonescribe

from capture import device
from capture.device import ONEDNN_ENV, cpu_identity, hold_cpu_isa
from transcribe.asr import AsrOptions

BEFORE = os.environ.get(ONEDNN_ENV)


@pytest.fixture
def fresh_process(monkeypatch):
    """As if no recogniser had run in this process yet, with no limit in the environment."""
    monkeypatch.setattr(device, "_held", {})
    monkeypatch.setenv(ONEDNN_ENV, "")  # so that what hold_cpu_isa sets is undone afterwards
    monkeypatch.delenv(ONEDNN_ENV)


def test_avx2_sets_the_onednn_limit(fresh_process):
    assert hold_cpu_isa("avx2") == "AVX2"
    assert os.environ[ONEDNN_ENV] == "AVX2"
    assert hold_cpu_isa("avx2") == "AVX2"  # asking again for the same is fine


def test_native_keeps_a_limit_the_user_set(fresh_process, monkeypatch):
    monkeypatch.setenv(ONEDNN_ENV, "AVX512_CORE")
    assert hold_cpu_isa("native") == "AVX512_CORE"


def test_another_limit_after_the_first_recogniser_is_refused(fresh_process):
    assert hold_cpu_isa("native") is None
    with pytest.raises(ValueError, match="new process"):
        hold_cpu_isa("avx2")


def test_unknown_isa_is_refused_early():
    with pytest.raises(ValueError, match="cpu_isa must be one of native, avx2"):
        AsrOptions(cpu_isa="avx512")
    with pytest.raises(ValueError, match="cpu_isa must be one of"):
        hold_cpu_isa("AVX2")


def test_the_environment_is_as_it_was():
    assert os.environ.get(ONEDNN_ENV) == BEFORE  # after test_avx2_sets_the_onednn_limit, in file order


def test_identity_names_the_limit_and_the_cpu():
    out = cpu_identity("AVX2")
    assert out["kernels_held_to"] == "AVX2" and out["machine"]
    assert set(out["int8_extensions"]) <= {"AVX2", "AVX512F", "AVX512VNNI", "AVX512_SPR"}


def _words_and_cpu(folder) -> tuple[list, dict]:
    data = json.loads((folder / "transcript.json").read_text())
    words = [(w["text"], w["start_s"], w["end_s"], w["probability"]) for w in data["words"]]
    return words, data["pipeline"]["models"]["asr"]["cpu"]


@pytest.mark.slow
def test_avx2_gives_what_onednn_held_from_outside_gives(tmp_path, monkeypatch):
    monkeypatch.delenv(ONEDNN_ENV, raising=False)
    runs = {}
    for name, isa, env in (("asked", "avx2", None), ("outside", "native", "AVX2"), ("native", "native", None)):
        if env:
            monkeypatch.setenv(ONEDNN_ENV, env)
        else:
            monkeypatch.delenv(ONEDNN_ENV, raising=False)
        result = tonescribe("process", str(SAMPLE), "--device", "cpu", "--cpu-isa", isa, "--out", str(tmp_path / name),
                            cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        runs[name] = _words_and_cpu(tmp_path / name / SAMPLE.stem)
    (asked, asked_cpu), (outside, outside_cpu), (native, native_cpu) = runs["asked"], runs["outside"], runs["native"]
    assert asked == outside
    assert asked_cpu["kernels_held_to"] == outside_cpu["kernels_held_to"] == "AVX2"
    assert native_cpu["kernels_held_to"] is None
    if {"AVX512F", "AVX512VNNI"} & set(native_cpu["int8_extensions"]):
        # Kernels of other extensions round differently: the limit changed something. (On a CPU
        # whose best is AVX2 both runs compute alike and this cannot be seen.)
        assert [w[3] for w in native] != [w[3] for w in asked]
