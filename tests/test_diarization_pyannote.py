"""The pyannote backend, for real, on a randomly initialised pipeline saved in the layout of
pyannote/speaker-diarization-community-1 (config.yaml, segmentation/, embedding/, plda/).

The weights are random, so what the pipeline says is meaningless; what is tested is everything
around it: finding the folder, loading strictly offline with telemetry off, device placement,
running on an in-memory waveform and turning pyannote's Annotation into tonescribe turns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from capture.decode import Audio
from capture.record import AudioInfo, Turn
from transcribe.diarize import BACKENDS, SpeakerOptions, choose_mode

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def make_random_pipeline(folder: Path, *, seed: int = 0) -> Path:
    """Write a community-1-shaped pipeline with random weights into ``folder``.

    Segmentation: PyanNet with the real powerset specifications (3 speakers, at most 2 at once,
    10 s chunks), small LSTM/linear layers to keep it fast. Embedding: pyannote's XVectorMFCC
    (community-1 ships a WeSpeaker ResNet34; both load through the same checkpoint path). PLDA:
    random but well-formed ``xvec_transform.npz`` and ``plda.npz`` for VBx clustering."""
    import lightning
    import torch
    import yaml
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    def save(model, path: Path) -> None:
        checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                      "pytorch-lightning_version": lightning.__version__}
        model.on_save_checkpoint(checkpoint)  # pyannote's own metadata: versions, architecture, specs
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, path)

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    segmentation = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 32, "num_layers": 1},
                           linear={"hidden_size": 32, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0, min_duration=10.0,
        warm_up=(0.0, 0.0), classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2,
        permutation_invariant=True)
    segmentation.build()
    save(segmentation, folder / "segmentation" / "pytorch_model.bin")
    embedding = XVectorMFCC()
    embedding.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0)
    save(embedding, folder / "embedding" / "pytorch_model.bin")
    dim, lda_dim = embedding.dimension, 128
    (folder / "plda").mkdir(parents=True, exist_ok=True)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    np.savez(folder / "plda" / "xvec_transform.npz", mean1=0.01 * rng.normal(size=dim),
             mean2=0.01 * rng.normal(size=lda_dim), lda=q[:, :lda_dim])
    tr, _ = np.linalg.qr(rng.normal(size=(lda_dim, lda_dim)))
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(lda_dim), tr=tr,
             psi=np.sort(rng.uniform(0.5, 5.0, size=lda_dim))[::-1])
    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization",
                     "params": {"clustering": "VBxClustering", "embedding": "$model/embedding",
                                "embedding_batch_size": 32, "embedding_exclude_overlap": True,
                                "plda": "$model/plda", "segmentation": "$model/segmentation",
                                "segmentation_batch_size": 32}},
        "params": {"clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
                   "segmentation": {"min_duration_off": 0.0}},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


@pytest.fixture(scope="module")
def random_pipeline(tmp_path_factory) -> Path:
    return make_random_pipeline(tmp_path_factory.mktemp("pyannote") / "pyannote-diarization")


def _fixture_audio(seconds: float = 12.0) -> Audio:
    from capture.decode import load_audio

    x = load_audio(FIXTURES / "diarization_two_voices.ogg").mono_16k()[: int(seconds * 16000)]
    return Audio(samples=x[None, :], sample_rate_hz=16000, info=AudioInfo("two", "", len(x) / 16000, 16000, 1))


def _silence() -> Audio:
    return Audio(samples=np.zeros((1, 16000), np.float32), sample_rate_hz=16000, info=AudioInfo("s", "", 1.0, 16000, 1))


def test_annotation_becomes_sorted_turns():
    from pyannote.core import Annotation, Segment

    from transcribe.pyannote_backend import annotation_to_turns

    ann = Annotation()
    ann[Segment(2.0, 3.5)] = "SPEAKER_01"
    ann[Segment(0.25, 2.5)] = "SPEAKER_00"
    ann[Segment(4.0, 4.0)] = "SPEAKER_00"  # empty segments are dropped
    assert annotation_to_turns(ann) == [Turn("SPEAKER_00", 0.25, 2.5), Turn("SPEAKER_01", 2.0, 3.5)]


def test_missing_or_incomplete_folder_says_what_to_do(tmp_path, monkeypatch):
    from transcribe.pyannote_backend import PyannoteUnavailable, load_pipeline, weights_installed

    monkeypatch.setenv("TONESCRIBE_PYANNOTE", str(tmp_path / "absent"))
    assert not weights_installed() and not BACKENDS["pyannote"].available()
    with pytest.raises(PyannoteUnavailable, match="models/README.md"):
        load_pipeline()
    from transcribe.models import ModelNotFound

    with pytest.raises(ModelNotFound, match="TONESCRIBE_PYANNOTE"):  # before recognition starts
        choose_mode(_silence(), SpeakerOptions(mode="pyannote"))
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "config.yaml").write_text("pipeline:\n  params:\n    segmentation: $model/segmentation\n")
    with pytest.raises(PyannoteUnavailable, match="segmentation"):
        load_pipeline(tmp_path / "partial")


@pytest.mark.slow
def test_random_pipeline_loads_offline_on_the_right_device_and_gives_turns(random_pipeline, monkeypatch):
    import torch

    from transcribe.pyannote_backend import load_pipeline

    monkeypatch.setenv("TONESCRIBE_PYANNOTE", str(random_pipeline))
    audio = _fixture_audio()
    mode, _ = choose_mode(audio, SpeakerOptions())
    assert mode == "pyannote"  # auto prefers pyannote once its weights are in place
    turns = BACKENDS["pyannote"](audio, SpeakerOptions(mode="pyannote", max_speakers=3))
    assert all(isinstance(t, Turn) and isinstance(t.speaker, str) for t in turns)
    assert all(0.0 <= t.start_s < t.end_s <= audio.duration_s + 0.05 for t in turns)
    assert turns == sorted(turns, key=lambda t: (t.start_s, t.speaker))

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_pipeline(random_pipeline)
    assert loaded.device == expected
    pipeline = loaded.pipeline
    assert next(pipeline._segmentation.model.parameters()).device.type == expected
    assert next(pipeline._embedding.model_.parameters()).device.type == expected
    assert loaded.identity()["pyannote.audio"].startswith("4.0")
    assert BACKENDS["pyannote"].identity()["folder"] == str(random_pipeline.resolve())
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_telemetry_is_off_before_pyannote_is_imported(random_pipeline):
    """In a fresh interpreter with no telemetry setting at all, loading through tonescribe leaves
    pyannote's metrics disabled (pyannote itself would default them to on)."""
    code = f"""
import json, os, sys
os.environ.pop("PYANNOTE_METRICS_ENABLED", None)
from transcribe.pyannote_backend import load_pipeline
before = "pyannote.audio" in sys.modules
load_pipeline({str(random_pipeline)!r}, device="cpu")
from pyannote.audio.telemetry.metrics import is_metrics_enabled
print(json.dumps({{"imported_before": before, "metrics": is_metrics_enabled(),
                   "offline": os.environ.get("HF_HUB_OFFLINE")}}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYANNOTE_METRICS_ENABLED", "HF_HUB_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"imported_before": False, "metrics": False, "offline": "1"}
