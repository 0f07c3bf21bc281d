"""Progress for the CLI: a rich display on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

STAGE_NAMES = {"model_load": "loading model", "decode": "decoding", "asr": "recognising speech",
               "align": "aligning words", "diarization": "finding speakers", "prosody": "measuring prosody"}


def configure_logging(*, quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger("tonescribe")
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
    root.propagate = False


def table_lines(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of text as aligned columns (the last one, free text, left as it is)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]).rstrip() for r in rows]


class Reporter:
    """Receives pipeline hooks; shows them as a live display or as log lines."""

    def __init__(self, *, live: bool):
        self.live = live
        self.log = logging.getLogger("tonescribe.progress")
        self._progress = None
        self._task = None
        self._label = ""

    @contextmanager
    def session(self) -> Iterator["Reporter"]:
        if not self.live:
            yield self
            return
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} stages"), TimeElapsedColumn(),
                      transient=False) as progress:
            self._progress = progress
            yield self
        self._progress = None

    def file_started(self, path: str, index: int, total: int) -> None:
        self._label = f"[{index}/{total}] {path}"
        if self._progress is not None:
            self._task = self._progress.add_task(self._label, total=4)
        else:
            self.log.info("%s: started", self._label)

    def hook(self, stage: str, event: str, info: dict) -> None:
        name = STAGE_NAMES.get(stage, stage)
        if self._progress is not None and self._task is not None:
            if event == "start":
                self._progress.update(self._task, description=f"{self._label}: {name}")
            elif stage != "model_load":
                self._progress.advance(self._task)
        elif event == "end":
            self.log.info("%s: %s done in %.2f s", self._label, name, info.get("seconds", 0.0))

    def file_done(self, out_dir: Optional[str], error: Optional[str] = None) -> None:
        if self._progress is not None and self._task is not None:
            final = f"{self._label}: {'FAILED' if error else 'done'}"
            self._progress.update(self._task, description=final, completed=4 if not error else None)
        if error:
            print(f"tonescribe: error: {error}", file=sys.stderr)
        elif out_dir:
            print(f"{out_dir}")
