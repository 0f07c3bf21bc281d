"""Shared layout for text renderers: utterances as lines of word and pause tokens, with the gaps
between utterances as lines of their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Union

from capture.record import Pause, Transcript, Utterance, Word


@dataclass(frozen=True)
class WordToken:
    index: int
    word: Word


@dataclass(frozen=True)
class PauseToken:
    pause: Pause


@dataclass(frozen=True)
class Line:
    utterance: Optional[Utterance]  # None for a gap line between utterances
    tokens: tuple[Union[WordToken, PauseToken], ...]


def format_pause(duration_s: float, *, micro_below_s: float = 0.2) -> str:
    """``(.)`` below ``micro_below_s``, else the duration to a tenth of a second: ``(0.7)``."""
    if duration_s < micro_below_s:
        return "(.)"
    return f"({duration_s:.1f})"


def format_clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes:02d}:{secs:04.1f}"


def _pause_between(pauses: list[Pause], a: Word, b: Word) -> Optional[Pause]:
    lo, hi = (a.start_s + a.end_s) / 2, (b.start_s + b.end_s) / 2
    for p in pauses:
        if p.start_s >= lo - 1e-6 and p.end_s <= hi + 1e-6:
            return p
    return None


def lines(transcript: Transcript) -> Iterator[Line]:
    words, pauses = transcript.words, sorted(transcript.pauses, key=lambda p: p.start_s)
    previous_last: Optional[Word] = None
    for utt in transcript.utterances:
        first = words[utt.first_word]
        if previous_last is not None and first.start_s >= previous_last.end_s - 0.2:
            gap = _pause_between(pauses, previous_last, first)
            if gap is not None:
                yield Line(None, (PauseToken(gap),))
        tokens: list[Union[WordToken, PauseToken]] = []
        for i in range(utt.first_word, utt.last_word + 1):
            if i > utt.first_word:
                p = _pause_between(pauses, words[i - 1], words[i])
                if p is not None:
                    tokens.append(PauseToken(p))
            tokens.append(WordToken(i, words[i]))
        yield Line(utt, tuple(tokens))
        previous_last = words[utt.last_word]
