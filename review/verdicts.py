"""What reviewers made of the machine's marks: every mark with its verdict, and per mark type how
many were accepted and rejected, so that the marks' precision on one's own recordings is a
number and not an impression.

Read from each output folder's ``transcript.json`` and ``corrections.json`` (the review's
``mark.review`` edits); nothing is written there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from capture.outputs import TRANSCRIPT_JSON
from capture.record import Transcript
from prosody.marks import MARK_TYPES
from review.corrections import correct, load_layer

STATUSES = ("accepted", "rejected", "unreviewed")


@dataclass(frozen=True)
class Verdict:
    recording: str  # the output folder, relative to the folder asked about
    mark: int  # its index in transcript.json's marks
    type: str
    value: Any
    start_s: float
    end_s: float
    speaker: Optional[str]
    words: str  # the recognised words it covers, as the machine heard them
    confidence: float
    status: str  # one of STATUSES


@dataclass(frozen=True)
class TypeSummary:
    type: str
    marks: int
    accepted: int
    rejected: int

    @property
    def unreviewed(self) -> int:
        return self.marks - self.accepted - self.rejected

    @property
    def precision(self) -> Optional[float]:
        """The share of the reviewed marks that were accepted (None before any review)."""
        reviewed = self.accepted + self.rejected
        return self.accepted / reviewed if reviewed else None

    def interval(self, *, z: float = 1.96) -> Optional[tuple[float, float]]:
        """Wilson's 95 % score interval of ``precision`` (sound for small counts and for 0 or 1)."""
        n = self.accepted + self.rejected
        if not n:
            return None
        p = self.accepted / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def verdicts_of(folder: Path, *, name: str = "") -> list[Verdict]:
    """Every mark of the recording in ``folder`` with the review's verdict on it."""
    transcript = Transcript.load(Path(folder) / TRANSCRIPT_JSON)
    status = correct(transcript, load_layer(folder)).mark_status
    words = transcript.words
    out = []
    for k, m in enumerate(transcript.marks):
        covered = range(m.first_word, m.last_word + 1) if m.first_word is not None and m.last_word is not None else ()
        out.append(Verdict(recording=name or Path(folder).name, mark=k, type=m.type, value=m.value, start_s=m.start_s,
                           end_s=m.end_s, speaker=m.speaker, words=" ".join(words[i].text for i in covered),
                           confidence=m.confidence, status=status.get(k, "unreviewed")))
    return out


def summarise(verdicts: Iterable[Verdict]) -> list[TypeSummary]:
    """Per mark type (in the marks stage's order of types): how many marks, how many accepted and
    rejected."""
    counts: dict[str, list[int]] = {}
    for v in verdicts:
        c = counts.setdefault(v.type, [0, 0, 0])
        c[0] += 1
        c[1] += v.status == "accepted"
        c[2] += v.status == "rejected"
    order = {t: i for i, t in enumerate(MARK_TYPES)}
    return [TypeSummary(t, *counts[t]) for t in sorted(counts, key=lambda t: (order.get(t, len(order)), t))]
