"""The prosodic marks as they attach to words, for the exports that write symbols into the text
(CHAT-CA for CLAN, Jefferson in Word). Each format then spells the same decorations its own way.

Mark types and values follow ``prosody.marks``: emphasis, loud/quiet (stretches), pitch_step
(``up``/``down`` before a word), intonation (``fall``, ``slight_fall``, ``level``,
``slight_rise``, ``rise`` at the end of a unit), tempo (``faster``/``slower`` stretches),
lengthening (value: number of colons), overlap (bracketed words, evidence ``overlap`` numbers
the overlap), pause/gap/latch between words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from capture.record import Mark, Transcript

INTONATIONS = ("fall", "slight_fall", "level", "slight_rise", "rise")


@dataclass
class Decor:
    emphasis: bool = False
    accent: Optional[dict] = None  # the emphasised word's accented syllable (``prosody.marks.accent``), if located
    loud: bool = False
    quiet: bool = False
    step: Optional[str] = None  # "up" / "down": a pitch step before the word
    colons: int = 0  # lengthening
    held: Optional[dict] = None  # the lengthening mark's evidence: which sound was held (``prosody.marks.lengthening``)
    final: Optional[str] = None  # one of INTONATIONS, after the word
    opens: list[str] = field(default_factory=list)  # stretch kinds starting at this word
    closes: list[str] = field(default_factory=list)  # stretch kinds ending at this word
    overlap_open: Optional[int] = None  # overlap number starting at this word
    overlap_close: Optional[int] = None
    overlap_top: bool = True  # first speaker in the overlap (Jefferson/CHAT top bracket)
    latch_after: bool = False  # the next speaker latches on after this word
    latch_before: bool = False  # this word latches on to the previous speaker


def _words_of(mark: Mark, transcript: Transcript) -> list[int]:
    n = len(transcript.words)
    if mark.first_word is not None and mark.last_word is not None and 0 <= mark.first_word <= mark.last_word < n:
        return list(range(mark.first_word, mark.last_word + 1))
    return [i for i, w in enumerate(transcript.words)
            if min(w.end_s, mark.end_s) > max(w.start_s, mark.start_s) and (mark.speaker is None or w.speaker == mark.speaker)]


def _overlap_number(mark: Mark, index: int) -> int:
    try:
        return int((mark.evidence or {})["overlap"])
    except (KeyError, TypeError, ValueError):
        return -1 - index  # no shared number: an overlap of its own


def intonation_of(value) -> Optional[str]:
    text = str(value).lower().replace(" ", "_").replace("-", "_")
    if text in INTONATIONS:
        return text
    if "rise" in text or text in ("?", "¿"):
        return "slight_rise" if ("slight" in text or text == "¿") else "rise"
    if "fall" in text or text in (".", ";"):
        return "slight_fall" if ("slight" in text or text == ";") else "fall"
    return "level" if text else None


def tempo_of(mark: Mark) -> str:
    text = f"{mark.type} {mark.value}".lower()
    return "slower" if "slow" in text else "faster"


def decorate(transcript: Transcript) -> list[Decor]:
    """One ``Decor`` per word, from ``transcript.marks``."""
    decor = [Decor() for _ in transcript.words]
    earliest: dict[int, float] = {}  # overlap number -> earliest first word among its speakers
    for k, mark in enumerate(transcript.marks):
        ids = _words_of(mark, transcript) if mark.type == "overlap" else []
        if ids:
            number = _overlap_number(mark, k)
            start = transcript.words[ids[0]].start_s
            earliest[number] = min(earliest.get(number, start), start)
    for k, mark in sorted(enumerate(transcript.marks), key=lambda km: (km[1].start_s, km[1].end_s)):
        ids = _words_of(mark, transcript)
        if mark.type == "latch":
            if mark.first_word is not None and 0 <= mark.first_word < len(decor):
                decor[mark.first_word].latch_after = True
            if mark.last_word is not None and 0 <= mark.last_word < len(decor):
                decor[mark.last_word].latch_before = True
            continue
        if not ids or mark.type in ("pause", "gap"):
            continue
        first, last = decor[ids[0]], decor[ids[-1]]
        if mark.type == "emphasis":
            for i in ids:
                decor[i].emphasis = True
            if len(ids) == 1:
                first.accent = (mark.evidence or {}).get("accented_syllable")
        elif mark.type in ("loud", "quiet"):
            for i in ids:
                setattr(decor[i], mark.type, True)
            first.opens.append(mark.type)
            last.closes.append(mark.type)
        elif mark.type == "pitch_step":
            first.step = "down" if "down" in str(mark.value).lower() else "up"
        elif mark.type in ("intonation", "final_intonation"):
            last.final = intonation_of(mark.value)
        elif mark.type in ("tempo", "faster", "slower"):
            kind = tempo_of(mark)
            first.opens.append(kind)
            last.closes.append(kind)
        elif mark.type == "lengthening":
            try:
                colons = int(mark.value)
            except (TypeError, ValueError):
                colons = 1
            for i in ids:
                decor[i].colons = max(1, colons)
            if len(ids) == 1:
                first.held = mark.evidence
        elif mark.type == "overlap":
            number = _overlap_number(mark, k)
            top = transcript.words[ids[0]].start_s <= earliest[number] + 1e-9
            first.overlap_open, last.overlap_close = number, number
            first.overlap_top = last.overlap_top = top
    return decor
