"""The ``pyannote`` diarization backend: a pyannote.audio 4.x pipeline from a local folder.

The folder is ``$TONESCRIBE_PYANNOTE`` when set, else ``<models dir>/pyannote-diarization``
(``<models dir>`` as in ``transcribe.models``). It holds the pipeline's ``config.yaml`` and the
subfolders that config names with ``$model/...`` (for speaker-diarization-community-1:
``segmentation/pytorch_model.bin``, ``embedding/pytorch_model.bin``,
``plda/xvec_transform.npz`` and ``plda/plda.npz``); see models/README.md. Nothing is downloaded:
hub access is switched off and pyannote's telemetry disabled before pyannote is imported.

Audio is handed over as a 16 kHz mono waveform, so pyannote never decodes files itself. Overlap
comes from pyannote's own overlap-aware segmentation model: its ``speaker_diarization`` output
keeps simultaneous turns, which tonescribe reports as overlaps.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from capture.decode import Audio
from capture.record import Turn
from transcribe.models import ModelNotFound, models_dir

logger = logging.getLogger("tonescribe.pyannote")

PIPELINE_ENV = "TONESCRIBE_PYANNOTE"
DEFAULT_FOLDER_NAME = "pyannote-diarization"


class PyannoteUnavailable(ModelNotFound):
    pass


def pipeline_folder() -> Path:
    env = os.environ.get(PIPELINE_ENV)
    if env:
        return Path(env).expanduser()
    return models_dir() / DEFAULT_FOLDER_NAME


def weights_installed(folder: Optional[Path] = None) -> bool:
    folder = folder or pipeline_folder()
    return (folder / "config.yaml").is_file()


def _check_folder(folder: Path) -> None:
    if not (folder / "config.yaml").is_file():
        raise PyannoteUnavailable(
            f"no pyannote pipeline at {folder} (config.yaml missing). Place the pipeline folder there "
            f"or point ${PIPELINE_ENV} at it: see models/README.md, or use --speakers embedded"
        )
    import yaml

    config = yaml.safe_load((folder / "config.yaml").read_text())
    missing = []
    for value in _model_refs(config):
        sub = folder / value.split("/", 1)[1].split("@")[0]
        if not (sub / "pytorch_model.bin").is_file() and not (sub / "plda.npz").is_file():
            missing.append(str(sub))
    if missing:
        raise PyannoteUnavailable(f"the pyannote pipeline at {folder} is incomplete; missing weights in: "
                                  + ", ".join(missing) + " (see models/README.md)")


def _model_refs(node) -> list[str]:
    if isinstance(node, str):
        return [node] if node.startswith("$model/") else []
    if isinstance(node, dict):
        return [r for v in node.values() for r in _model_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _model_refs(v)]
    return []


@dataclass
class LoadedPipeline:
    pipeline: object
    device: str
    folder: Path
    load_s: float

    def identity(self) -> dict:
        import pyannote.audio

        return {"backend": "pyannote", "folder": str(self.folder), "device": self.device,
                "pyannote.audio": pyannote.audio.__version__}


_cache: dict[tuple[str, str], LoadedPipeline] = {}
_lock = threading.Lock()


def load_pipeline(folder: Optional[Path] = None, *, device: str = "auto") -> LoadedPipeline:
    """Load (once per folder and device) the pipeline, strictly offline, on GPU when present."""
    from capture.offline import enforce_offline

    folder = Path(folder or pipeline_folder()).resolve()
    _check_folder(folder)
    enforce_offline()  # before pyannote is imported: no hub access, telemetry off
    import torch
    from pyannote.audio import Pipeline

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    key = (str(folder), device)
    with _lock:
        if key not in _cache:
            started = time.perf_counter()
            pipeline = Pipeline.from_pretrained(folder)
            if pipeline is None:
                raise PyannoteUnavailable(f"pyannote could not load the pipeline at {folder}")
            pipeline.to(torch.device(device))
            _cache[key] = LoadedPipeline(pipeline, device, folder, time.perf_counter() - started)
            logger.info("loaded pyannote pipeline from %s on %s in %.1f s", folder, device, _cache[key].load_s)
        return _cache[key]


def diarize_pyannote(audio: Audio, options, *, folder: Optional[Path] = None, device: str = "auto") -> list[Turn]:
    import torch

    loaded = load_pipeline(folder, device=device)
    waveform = torch.from_numpy(audio.mono_16k()).unsqueeze(0)
    output = loaded.pipeline({"waveform": waveform, "sample_rate": 16000},
                             num_speakers=options.num_speakers, min_speakers=options.min_speakers,
                             max_speakers=options.max_speakers)
    annotation = getattr(output, "speaker_diarization", output)  # 4.x DiarizeOutput; 3.x Annotation
    return annotation_to_turns(annotation)


def annotation_to_turns(annotation) -> list[Turn]:
    turns = [Turn(speaker=str(label), start_s=round(float(seg.start), 3), end_s=round(float(seg.end), 3))
             for seg, _, label in annotation.itertracks(yield_label=True) if seg.end > seg.start]
    return sorted(turns, key=lambda t: (t.start_s, t.speaker))


def pyannote_backend(audio: Audio, options) -> list[Turn]:
    return diarize_pyannote(audio, options, device=getattr(options, "device", "auto"))


def _available() -> bool:
    import importlib.util

    return weights_installed() and importlib.util.find_spec("pyannote.audio") is not None


def _check() -> None:
    import importlib.util

    if importlib.util.find_spec("pyannote.audio") is None:
        raise PyannoteUnavailable("--speakers pyannote needs pyannote.audio 4.0: pip install 'pyannote.audio>=4.0,<4.1'")
    _check_folder(pipeline_folder())


pyannote_backend.available = _available
pyannote_backend.check = _check
pyannote_backend.identity = lambda options=None: load_pipeline(device=getattr(options, "device", "auto")).identity()
