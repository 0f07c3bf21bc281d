"""The recogniser's CPU arithmetic held to AVX2 (``--cpu-isa avx2``): CTranslate2's int8 products by
oneDNN with AVX2 kernels on Intel and AMD CPUs alike, and on a CPU with AVX-512 numpy's and
OpenBLAS's kernels too (they compute the log-mel features): the same numbers as when the
environment holds them from outside, whatever the CPU's best kernels are, and recorded in the
output."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys

import pytest
from test_cli_process import REPO, SAMPLE, tonescribe

from capture import device
from capture.cli import main
from capture.device import (BLAS_ENV, MKL_ENV, NUMPY_ENV, ONEDNN_ENV, cpu_identity, cpu_isa_environment,
                            hold_cpu_isa)
from transcribe.asr import AsrOptions

HELD = (ONEDNN_ENV, MKL_ENV, NUMPY_ENV, BLAS_ENV)
BEFORE = {name: os.environ.get(name) for name in HELD}


@pytest.fixture
def fresh_process(monkeypatch):
    """As if no recogniser had run in this process yet, with nothing held in the environment."""
    monkeypatch.setattr(device, "_held", {})
    for name in HELD:
        monkeypatch.setenv(name, "")  # so that what hold_cpu_isa sets is undone afterwards
        monkeypatch.delenv(name)


@pytest.fixture
def avx2_cpu(monkeypatch):
    monkeypatch.setattr(device, "_cpu_flags", lambda: {"sse4_2", "avx", "avx2", "fma"})
    monkeypatch.setattr(device, "_cpu_vendor", lambda: "AuthenticAMD")


@pytest.fixture
def avx512_cpu(monkeypatch):
    monkeypatch.setattr(device, "_cpu_flags", lambda: {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni"})
    monkeypatch.setattr(device, "_cpu_vendor", lambda: "AuthenticAMD")


def test_avx2_sets_the_onednn_limit_and_library(fresh_process, avx2_cpu):
    assert hold_cpu_isa("avx2") == "AVX2"
    assert os.environ[ONEDNN_ENV] == "AVX2" and os.environ[MKL_ENV] == "0"
    assert NUMPY_ENV not in os.environ and BLAS_ENV not in os.environ  # on an AVX2 CPU they pick AVX2 anyway
    assert hold_cpu_isa("avx2") == "AVX2"  # asking again for the same is fine


def test_on_an_intel_cpu_ctranslate2_takes_onednn_when_held(fresh_process, avx2_cpu, monkeypatch):
    monkeypatch.setattr(device, "_cpu_vendor", lambda: "GenuineIntel")
    monkeypatch.setattr(device.platform, "machine", lambda: "x86_64")
    assert cpu_identity(None)["int8_library"] == "Intel MKL"  # CTranslate2's own choice there
    import ctranslate2  # noqa: F401  (imported before the hold: it has chosen MKL)

    with pytest.raises(ValueError, match="CTranslate2 uses Intel MKL"):
        hold_cpu_isa("avx2")
    monkeypatch.setenv(MKL_ENV, "0")  # as tonescribe --cpu-isa avx2 sets before importing it
    assert hold_cpu_isa("avx2") == "AVX2" and cpu_identity("AVX2")["int8_library"] == "oneDNN"


def test_on_an_avx512_cpu_numpy_and_openblas_are_held_too(avx512_cpu):
    env = cpu_isa_environment("avx2")
    assert env[ONEDNN_ENV] == "AVX2" and env[MKL_ENV] == "0" and env[BLAS_ENV] == "Haswell"
    assert {"X86_V4", "AVX512F", "AVX512_SKX", "AVX512_ICL"} <= set(env[NUMPY_ENV].split())  # numpy 2.4 and before
    assert cpu_isa_environment("native") == {}


def test_numpy_imported_with_avx512_kernels_cannot_be_held(fresh_process, avx512_cpu, monkeypatch):
    monkeypatch.setattr(device, "_numpy_kernels", lambda: ["X86_V3", "X86_V4", "AVX512_ICL"])
    with pytest.raises(ValueError, match="numpy uses X86_V4 AVX512_ICL, OpenBLAS uses its own core type"):
        hold_cpu_isa("avx2")
    assert not any(name in os.environ for name in HELD)  # nothing half held
    assert main(["process", "x.wav", "--cpu-isa", "avx2"]) == 2  # the command says so before loading anything


def test_native_keeps_a_limit_the_user_set(fresh_process, monkeypatch):
    monkeypatch.setenv(ONEDNN_ENV, "AVX512_CORE")
    assert hold_cpu_isa("native") == "AVX512_CORE"


def test_another_limit_after_the_first_recogniser_is_refused(fresh_process, avx2_cpu):
    assert hold_cpu_isa("native") is None
    with pytest.raises(ValueError, match="new process"):
        hold_cpu_isa("avx2")


def test_unknown_isa_is_refused_early():
    with pytest.raises(ValueError, match="cpu_isa must be one of native, avx2"):
        AsrOptions(cpu_isa="avx512")
    with pytest.raises(ValueError, match="cpu_isa must be one of"):
        hold_cpu_isa("AVX2")


def test_the_environment_is_as_it_was():
    assert {name: os.environ.get(name) for name in HELD} == BEFORE  # after the tests above, in file order


def test_identity_names_the_limit_and_the_cpu():
    out = cpu_identity("AVX2")
    assert out["kernels_held_to"] == "AVX2" and out["machine"]
    assert set(out["int8_extensions"]) <= {"AVX2", "AVX512F", "AVX512VNNI", "AVX512_SPR"}
    assert out["numpy_kernels"] and all(isinstance(k, str) for k in out["numpy_kernels"])


def _beyond_avx2(kernels: list[str]) -> list[str]:
    return [k for k in kernels if k.startswith(("X86_V4", "AVX512"))]  # numpy's names of those begin so


def _unheld_environment() -> dict[str, str]:
    """This process's environment without the held variables, for a child that starts afresh."""
    return {**{key: value for key, value in os.environ.items() if key not in HELD}, "PYTHONPATH": str(REPO)}


def _python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (no held environment) and read the JSON it prints."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=_unheld_environment())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_held_before_numpy_is_imported_numpy_and_openblas_use_avx2_kernels():
    held = _python("from capture.device import hold_cpu_isa, cpu_identity; hold_cpu_isa('avx2'); "
                   "import numpy, json; print(json.dumps(cpu_identity('AVX2')))")
    assert not _beyond_avx2(held["numpy_kernels"])
    if "AVX512F" in held["int8_extensions"]:
        assert held["blas_core"] in ("Haswell", None)  # None: threadpoolctl absent
        own = _python("import numpy, json; from capture.device import cpu_identity; print(json.dumps(cpu_identity(None)))")
        assert _beyond_avx2(own["numpy_kernels"])  # so holding changed something


def test_a_script_that_imported_numpy_restarts_itself_held():
    out = _python("import numpy, json, os; from capture.device import restart_held, cpu_identity; "
                  "restart_held('avx2'); print(json.dumps({**cpu_identity(None), 'onednn': os.environ['ONEDNN_MAX_CPU_ISA']}))")
    assert out["onednn"] == "AVX2"
    assert not _beyond_avx2(out["numpy_kernels"])


def _words_and_cpu(folder) -> tuple[list, dict]:
    data = json.loads((folder / "transcript.json").read_text())
    words = [(w["text"], w["start_s"], w["end_s"], w["probability"]) for w in data["words"]]
    return words, data["pipeline"]["models"]["asr"]["cpu"]


def _marks(folder) -> list:
    return [(m["type"], m["start_s"], m["end_s"], m["value"]) for m in
            json.loads((folder / "transcript.json").read_text())["marks"]]


QEMU = shutil.which("qemu-x86_64")


@pytest.mark.slow
@pytest.mark.skipif(QEMU is None or platform.machine() != "x86_64",
                    reason="needs an x86-64 machine with qemu-user (apt-get install qemu-user)")
def test_an_intel_avx2_processor_writes_what_this_one_writes_held(tmp_path):
    """qemu-user emulates an Intel Haswell: AVX2 and no AVX-512, and an Intel CPU, on which
    CTranslate2 would compute with Intel MKL (this machine may be an AMD one with AVX-512)."""
    here = tonescribe("process", str(SAMPLE), "--device", "cpu", "--cpu-isa", "avx2", "--out", str(tmp_path / "here"),
                      cwd=tmp_path)
    assert here.returncode == 0, here.stderr
    there = subprocess.run([QEMU, "-cpu", "Haswell", sys.executable, "-m", "capture.cli", "process", str(SAMPLE),
                            "--device", "cpu", "--cpu-isa", "avx2", "--out", str(tmp_path / "there")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=1800, env=_unheld_environment())
    assert there.returncode == 0, there.stderr
    (words_here, cpu_here), (words_there, cpu_there) = (_words_and_cpu(tmp_path / name / SAMPLE.stem)
                                                        for name in ("here", "there"))
    assert cpu_there["int8_extensions"] == ["AVX2"]  # as numpy finds it (qemu shows the host's /proc/cpuinfo)
    assert cpu_there["int8_library"] == cpu_here["int8_library"] == "oneDNN"
    assert words_there == words_here  # text, times and probabilities, to the last digit written
    assert _marks(tmp_path / "there" / SAMPLE.stem) == _marks(tmp_path / "here" / SAMPLE.stem)


@pytest.mark.slow
def test_avx2_gives_what_the_kernels_held_from_outside_give(tmp_path, monkeypatch):
    runs = {}
    for name, isa, env in (("asked", "avx2", None), ("outside", "native", cpu_isa_environment("avx2")),
                           ("native", "native", None)):
        for variable in HELD:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in (env or {}).items():
            monkeypatch.setenv(variable, value)
        result = tonescribe("process", str(SAMPLE), "--device", "cpu", "--cpu-isa", isa, "--out", str(tmp_path / name),
                            cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        runs[name] = _words_and_cpu(tmp_path / name / SAMPLE.stem)
    (asked, asked_cpu), (outside, outside_cpu), (native, native_cpu) = runs["asked"], runs["outside"], runs["native"]
    assert asked == outside
    assert asked_cpu == outside_cpu and asked_cpu["kernels_held_to"] == "AVX2"
    assert native_cpu["kernels_held_to"] is None
    if {"AVX512F", "AVX512VNNI"} & set(native_cpu["int8_extensions"]):
        # Kernels of other extensions round differently: the limit changed something. (On a CPU
        # whose best is AVX2 both runs compute alike and this cannot be seen.)
        assert [w[3] for w in native] != [w[3] for w in asked]
