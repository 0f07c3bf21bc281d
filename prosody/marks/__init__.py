"""Prosodic marks: one module per mark family, each ``find(context) -> list[Mark]``.

``annotate`` measures each word, builds the speakers' baselines, runs every rule and returns the
transcript with ``marks`` filled (sorted by time) and each speaker's ``baseline``."""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

import numpy as np

from capture.record import Transcript, replace
from prosody.marks import emphasis, intonation, lengthening, loudness, overlap, pauses, pitch_steps, tempo
from prosody.marks.context import Context
from prosody.thresholds import Thresholds, default_thresholds

logger = logging.getLogger("tonescribe.marks")

RULES = {
    "pauses": pauses.find,
    "emphasis": emphasis.find,
    "loudness": loudness.find,
    "pitch_steps": pitch_steps.find,
    "intonation": intonation.find,
    "tempo": tempo.find,
    "lengthening": lengthening.find,
    "overlap": overlap.find,
}
MARK_TYPES = ("pause", "gap", "latch", "emphasis", "loud", "quiet", "pitch_step", "intonation", "tempo",
              "lengthening", "overlap")


def annotate(transcript: Transcript, thresholds: Optional[Thresholds] = None) -> Transcript:
    thresholds = thresholds or default_thresholds()
    ctx = Context.build(transcript, thresholds)
    marks = []
    for name, rule in RULES.items():
        found = rule(ctx)
        logger.debug("%s: %d marks", name, len(found))
        marks.extend(found)
    marks = [replace(m, start_s=round(float(m.start_s), 3), end_s=round(float(m.end_s), 3), value=_python(m.value),
                     confidence=float(m.confidence), evidence=_python(m.evidence)) for m in marks]
    marks.sort(key=lambda m: (m.start_s, m.end_s, MARK_TYPES.index(m.type)))
    speakers = tuple(
        replace(s, baseline=_baseline_dict(ctx, s.id)) if s.id in ctx.baselines else s for s in transcript.speakers
    )
    return replace(transcript, marks=tuple(marks), speakers=speakers)


def _python(value):
    """NumPy scalars (from the tracks) as plain Python values, so the record serialises."""
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_python(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _baseline_dict(ctx: Context, speaker: str) -> dict:
    data = dataclasses.asdict(ctx.baselines[speaker])
    data.pop("speaker")
    data["duration_norm_s"] = {str(k): v for k, v in data["duration_norm_s"].items()}
    return data
