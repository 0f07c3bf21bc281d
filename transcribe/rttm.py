"""RTTM (NIST Rich Transcription Time Marked) for speaker turns."""

from __future__ import annotations

import re
from typing import Sequence

from capture.record import Turn


def rttm_file_id(name: str) -> str:
    return re.sub(r"\s+", "_", name) or "recording"


def render_rttm(turns: Sequence[Turn], file_id: str) -> str:
    rows = [
        f"SPEAKER {rttm_file_id(file_id)} 1 {t.start_s:.3f} {t.end_s - t.start_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
        for t in sorted(turns, key=lambda t: (t.start_s, t.speaker))
        if t.end_s > t.start_s
    ]
    return "".join(row + "\n" for row in rows)
