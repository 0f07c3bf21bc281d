"""Scoring diarization against a reference with pyannote.metrics (for benchmarks and tests).

Two diarization error rates are reported everywhere:
- strict: no collar, overlapped speech scored (every second of every reference speaker counts);
- forgiving: a 0.25 s collar on each side of every reference boundary (NIST convention; pyannote
  calls this ``collar=0.5``, the collar's total width) and overlapped speech skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from capture.record import Turn

FORGIVING_COLLAR_EACH_SIDE_S = 0.25


def to_annotation(turns: Iterable[Turn], *, uri: str = "recording"):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, t in enumerate(turns):
        if t.end_s > t.start_s:
            ann[Segment(t.start_s, t.end_s), i] = t.speaker
    return ann


def load_rttm_turns(path: str | Path) -> list[Turn]:
    turns = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            turns.append(Turn(speaker=parts[7], start_s=start, end_s=start + dur))
    return turns


@dataclass(frozen=True)
class DerReport:
    strict: float
    forgiving: float
    strict_components: dict
    mapping: dict

    def as_dict(self) -> dict:
        return {"der_strict": round(self.strict, 4), "der_forgiving": round(self.forgiving, 4),
                "strict_components": {k: round(v, 3) for k, v in self.strict_components.items()},
                "mapping": self.mapping}


def der(reference: Sequence[Turn], hypothesis: Sequence[Turn], *, duration_s: Optional[float] = None) -> DerReport:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = to_annotation(reference), to_annotation(hypothesis)
    end = duration_s or max([t.end_s for t in list(reference) + list(hypothesis)] + [0.0])
    uem = Timeline([Segment(0.0, end)])
    strict_metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    components = strict_metric(ref, hyp, uem=uem, detailed=True)
    forgiving = DiarizationErrorRate(collar=2 * FORGIVING_COLLAR_EACH_SIDE_S, skip_overlap=True)(ref, hyp, uem=uem)
    mapping = {str(k): str(v) for k, v in strict_metric.optimal_mapping(ref, hyp).items()}
    return DerReport(float(components["diarization error rate"]), float(forgiving),
                     {k: float(v) for k, v in components.items()}, mapping)


def overlap_precision_recall(reference: Sequence[Turn], hypothesis: Sequence[Turn]) -> tuple[float, float, float, float]:
    """Precision and recall of overlapped-speech time (two or more speakers at once), with the
    reference and detected overlap durations."""
    ref_ov = to_annotation(reference).get_overlap().support()
    hyp_ov = to_annotation(hypothesis).get_overlap().support()
    hit = sum(s.duration for s in ref_ov.crop(hyp_ov, mode="intersection")) if hyp_ov else 0.0
    precision = hit / hyp_ov.duration() if hyp_ov.duration() > 0 else float("nan")
    recall = hit / ref_ov.duration() if ref_ov.duration() > 0 else float("nan")
    return precision, recall, ref_ov.duration(), hyp_ov.duration()
