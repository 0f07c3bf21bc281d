"""Stage results kept on disk so a restarted job skips the stages it already finished.

Implements the ``Checkpoint`` protocol of ``capture.pipeline``: ``OUT/.tonescribe/checkpoints/
<sha256>/<options key>/<stage>.json`` holds the partial transcript after that stage, written
atomically, so a crash during prosody does not re-run recognition. The options key is a hash of
the pipeline options: a watcher restarted with another model does not reuse results made with
the old one. A checkpoint that cannot be read is ignored (the stage simply runs again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Optional

from capture import atomic
from capture.record import Transcript

logger = logging.getLogger("tonescribe.checkpoints")

CHECKPOINT_DIR = "checkpoints"


def options_key(options: dict) -> str:
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StageCheckpoints:
    def __init__(self, state_dir: str | Path, sha256: str, options: dict | None = None):
        self.root = Path(state_dir) / CHECKPOINT_DIR / sha256
        self.dir = self.root / options_key(options or {})

    def _file(self, stage: str) -> Path:
        return self.dir / f"{stage}.json"

    def load(self, stage: str) -> Optional[Transcript]:
        path = self._file(stage)
        if not path.is_file():
            return None
        try:
            return Transcript.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring unreadable checkpoint %s (%s); the stage runs again", path, exc)
            return None

    def save(self, stage: str, transcript: Transcript) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self._file(stage), transcript.to_json())

    def stages(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json")) if self.dir.is_dir() else []

    def clear(self) -> None:
        """Remove this recording's checkpoints (for all options)."""
        shutil.rmtree(self.root, ignore_errors=True)
