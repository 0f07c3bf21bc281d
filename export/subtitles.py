"""Subtitles: ``<stem>.vtt`` (WebVTT, the speaker in a voice tag ``<v Name>``) and ``<stem>.srt``
(the speaker's name before the text), for media players, browsers and video editors.

Cues follow the utterances, split where a subtitle would get too long to read: at most
``max_lines`` lines of ``max_chars`` characters and ``max_cue_s`` seconds, cutting preferably
after a sentence end or at a pause, and never inside a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from capture import atomic
from capture.record import Transcript, Word
from export.common import speakers, speaker_key


@dataclass(frozen=True)
class SubtitleOptions:
    max_chars: int = 42  # per line: the usual broadcast limit
    max_lines: int = 2
    max_cue_s: float = 7.0
    pause_split_s: float = 0.7  # a pause this long ends a cue even when it is short


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    speaker: str  # a printable name
    lines: tuple[str, ...]


def _split_lines(words: list[str], max_chars: int) -> tuple[str, ...]:
    text = " ".join(words)
    if len(text) <= max_chars or len(words) < 2:
        return (text,)
    best = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))))
    return " ".join(words[:best]), " ".join(words[best:])


def _best_cut(chunk: list[Word], limit: int) -> int:
    """Where to end a full cue: after its last sentence end, else its last comma, if that keeps at
    least a third of the cue; else after the last word."""
    for ends in ((".", "?", "!", "…"), (",", ";", ":")):
        for k in range(len(chunk) - 1, 0, -1):
            if chunk[k - 1].text.rstrip().endswith(ends):
                if len(" ".join(w.text.strip() for w in chunk[:k])) >= limit / 3:
                    return k
                break
    return len(chunk)


def cues(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> list[Cue]:
    names = {w.id: w.label for w in speakers(transcript)}
    words = transcript.words
    out: list[Cue] = []
    limit = options.max_chars * options.max_lines

    def flush(chunk: list[Word], speaker: str) -> None:
        if chunk:
            out.append(Cue(chunk[0].start_s, max(w.end_s for w in chunk), names.get(speaker, speaker),
                           _split_lines([w.text.strip() for w in chunk], options.max_chars)))

    for utt in transcript.utterances:
        chunk: list[Word] = []
        speaker = speaker_key(utt.speaker)
        for w in words[utt.first_word:utt.last_word + 1]:
            if chunk:
                text = " ".join(x.text.strip() for x in chunk + [w])
                too_long = len(text) > limit or w.end_s - chunk[0].start_s > options.max_cue_s
                sentence_end = chunk[-1].text.rstrip().endswith((".", "?", "!", "…")) and len(text) > options.max_chars
                paused = w.start_s - chunk[-1].end_s >= options.pause_split_s
                if too_long and not paused:
                    cut = _best_cut(chunk, limit)
                    flush(chunk[:cut], speaker)
                    chunk = chunk[cut:]
                elif sentence_end or paused:
                    flush(chunk, speaker)
                    chunk = []
            chunk.append(w)
        flush(chunk, speaker)
    return sorted(out, key=lambda c: (c.start_s, c.end_s))


def _clock(seconds: float, sep: str) -> str:
    total_ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(total_ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{milli:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> str:
    out = ["WEBVTT", ""]
    for n, cue in enumerate(cues(transcript, options), 1):
        out.append(str(n))
        out.append(f"{_clock(cue.start_s, '.')} --> {_clock(max(cue.end_s, cue.start_s + 0.001), '.')}")
        voice = _escape(cue.speaker).replace("\n", " ")
        out.append(f"<v {voice}>{_escape(cue.lines[0])}")
        out += [_escape(line) for line in cue.lines[1:]]
        out.append("")
    return "\n".join(out)


def render_srt(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> str:
    out = []
    for n, cue in enumerate(cues(transcript, options), 1):
        out.append(str(n))
        out.append(f"{_clock(cue.start_s, ',')} --> {_clock(max(cue.end_s, cue.start_s + 0.001), ',')}")
        out.append(f"{cue.speaker}: {cue.lines[0]}")
        out += list(cue.lines[1:])
        out.append("")
    return "\n".join(out)


def write_vtt(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    path = Path(folder) / f"{stem}.vtt"
    atomic.write_text(path, render_vtt(transcript))
    return [path]


def write_srt(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    path = Path(folder) / f"{stem}.srt"
    atomic.write_text(path, render_srt(transcript))
    return [path]
