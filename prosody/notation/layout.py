"""Shared layout for text renderers: utterances as lines of word and pause tokens, with the gaps
between utterances as lines of their own."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
import unicodedata
from typing import Iterator, Optional, Union

from capture.quality import quality_note
from capture.record import Pause, Transcript, Utterance, Word
from prosody.notation.omit import left_out_text
from prosody.notation.spelling import consonant_span, nucleus_spans, syllable_of
from prosody.syllables import VOWEL_LETTERS, count_syllables


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


# --- Conversation-analytic layout (Jefferson, GAT2): lines of talk built from the marks. ---


@dataclass(frozen=True)
class TalkLine:
    """One speaker's run of words, or (speaker None) a silence between runs. ``items`` are word
    indices and pause/gap marks in order; ``latched`` says the next line latches onto this one."""

    speaker: Optional[str]
    items: tuple  # int (word index) or Mark (pause/gap)
    latched: bool = False


def marks_by_type(transcript: Transcript) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in transcript.marks:
        out.setdefault(m.type, []).append(m)
    return out


def talk_lines(transcript: Transcript, *, split_after: frozenset = frozenset()) -> list[TalkLine]:
    """Words in time order grouped into lines: a line runs while one speaker talks in the clear.
    When another speaker comes in during an overlap, the current line takes the current speaker's
    words up to the end of that overlap and the incoming speaker's overlapping words follow on the
    next line, so overlap brackets can be aligned. ``split_after`` (word indices) ends lines too
    (GAT2: one intonation unit per line)."""
    words = transcript.words
    order = sorted(range(len(words)), key=lambda i: (words[i].start_s, words[i].end_s, i))
    place = {i: k for k, i in enumerate(order)}
    utterance_of = {}
    for k, u in enumerate(transcript.utterances):
        for i in range(u.first_word, u.last_word + 1):
            utterance_of[i] = k
    by_type = marks_by_type(transcript)
    silences = {(m.first_word, m.last_word): m for m in by_type.get("pause", []) + by_type.get("gap", [])}
    silence_before = {b: m for (a, b), m in silences.items()}
    latches = {(m.first_word, m.last_word) for m in by_type.get("latch", [])}
    overlaps = sorted(transcript.overlaps, key=lambda o: o.start_s)
    taken = set()
    runs: list[list[int]] = []
    for start in order:
        if start in taken:
            continue
        speaker = words[start].speaker
        run = [start]
        taken.add(start)
        for i in islice(order, place[start] + 1, None):
            w = words[i]
            if i in taken:
                shared = any(o.start_s - 0.05 <= w.start_s < o.end_s and speaker in o.speakers for o in overlaps)
                if w.speaker != speaker and not shared and w.start_s >= words[run[-1]].end_s - 0.05:
                    break  # someone else took the floor in the clear after this speaker's last word
                continue
            if run[-1] in split_after:
                break
            if w.speaker == speaker:
                if utterance_of.get(i) != utterance_of.get(run[-1]):
                    break
                run.append(i)
                taken.add(i)
                continue
            inside = [o for o in overlaps if o.start_s - 0.05 <= w.start_s < o.end_s and speaker in o.speakers]
            if not inside:
                break
            end_s = inside[0].end_s
            for j in islice(order, place[i] + 1, None):
                if j in taken or words[j].speaker != speaker or words[j].start_s >= end_s:
                    continue
                if utterance_of.get(j) != utterance_of.get(run[-1]) or run[-1] in split_after:
                    break
                run.append(j)
                taken.add(j)
            break
        runs.append(run)
    out: list[TalkLine] = []
    for k, run in enumerate(runs):
        items: list = []
        for a, b in zip([None] + run[:-1], run):
            if a is not None and (a, b) in silences:
                items.append(silences[(a, b)])
            items.append(b)
        following = runs[k + 1][0] if k + 1 < len(runs) else None
        if k > 0 and run[0] in silence_before:
            out.append(TalkLine(None, (silence_before[run[0]],)))
        out.append(TalkLine(words[run[0]].speaker, tuple(items), latched=(run[-1], following) in latches))
    return out


@dataclass(frozen=True)
class Token:
    text: str
    opens: tuple = ()  # overlap ids whose "[" starts this token


def wrap_tokens(tokens: list[Token], *, width: int) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    used = 0
    for t in tokens:
        if lines[-1] and used + 1 + display_width(t.text) > width:
            lines.append([])
            used = 0
        used += (1 if lines[-1] else 0) + display_width(t.text)
        lines[-1].append(t)
    return lines


def align_overlaps(rows: list[tuple[str, list[Token]]]) -> list[str]:
    """Join each row (a prefix and its tokens) and pad a token that opens an overlap so its "["
    stands under the "[" of the same overlap on an earlier line."""
    column: dict = {}
    out = []
    for prefix, tokens in rows:
        text = prefix
        for n, t in enumerate(tokens):
            sep = "" if n == 0 else " "
            at = display_width(text) + len(sep) + (display_width(t.text[: t.text.index("[")]) if t.opens else 0)
            for k in t.opens:
                if k in column and column[k] > at:
                    sep += " " * (column[k] - at)
                    at = column[k]
            for k in t.opens:
                column.setdefault(k, at)
            text += sep + t.text
        out.append(text.rstrip())
    return out


def display_width(text: str) -> int:
    """Characters as shown: combining marks (the emphasis underline) take no column."""
    return sum(1 for c in text if not unicodedata.combining(c))


def strip_punctuation(text: str) -> str:
    """The recogniser's punctuation is grammar, not intonation: CA notations use the marks."""
    return text.strip().strip(".,;:!?¿¡\"“”‘’…").replace("...", "") or text.strip()


@dataclass(frozen=True)
class WordMarks:
    """The marks touching one word: stretches it opens or closes, and those on it alone."""

    opens: tuple = ()
    closes: tuple = ()
    inside: tuple = ()  # every stretch/word mark covering the word


def word_marks(transcript: Transcript) -> dict[int, WordMarks]:
    words = transcript.words
    order: dict = {}
    for i in sorted(range(len(words)), key=lambda i: (words[i].start_s, i)):
        order.setdefault(words[i].speaker, []).append(i)
    place = {i: k for mine in order.values() for k, i in enumerate(mine)}
    table: dict[int, dict[str, list]] = {}
    for m in transcript.marks:
        if m.first_word is None or m.last_word is None or m.type in ("pause", "gap", "latch"):
            continue
        mine = order.get(words[m.first_word].speaker, [])
        lo, hi = place[m.first_word], place[m.last_word]
        table.setdefault(m.first_word, {}).setdefault("opens", []).append(m)
        table.setdefault(m.last_word, {}).setdefault("closes", []).append(m)
        for i in mine[lo: hi + 1]:
            table.setdefault(i, {}).setdefault("inside", []).append(m)
    return {i: WordMarks(tuple(v.get("opens", ())), tuple(v.get("closes", ())), tuple(v.get("inside", ())))
            for i, v in table.items()}


def render_talk(
    transcript: Transcript,
    *,
    title: str,
    word_token,
    pause_text,
    number,
    split_after: frozenset = frozenset(),
    width: int = 72,
    latch: str = "=",
) -> str:
    """Numbered, speaker-labelled lines with overlaps aligned. ``word_token(index, WordMarks)``
    returns a Token; ``pause_text(mark)`` a pause's text; ``number(n)`` a line number."""
    labels = {s.id: s.id for s in transcript.speakers}
    width_label = max([len(v) for v in labels.values()] + [2]) + 1
    table = word_marks(transcript)
    rows: list[tuple[str, list[Token]]] = []
    latched_onto = False
    shown: object = object()  # the speaker whose label was written last
    for line in talk_lines(transcript, split_after=split_after):
        tokens = [Token(pause_text(item)) if not isinstance(item, int) else word_token(item, table.get(item, WordMarks()))
                  for item in line.items]
        if line.speaker is None and not isinstance(line.items[0], int):
            label = ""
        else:
            label = f"{labels.get(line.speaker, line.speaker or '?')}:" if line.speaker != shown else ""
            shown = line.speaker
            if latched_onto:
                tokens[0] = Token(latch + tokens[0].text, tokens[0].opens)
            if line.latched:
                tokens[-1] = Token(tokens[-1].text + latch, tokens[-1].opens)
        latched_onto = line.latched
        for k, chunk in enumerate(wrap_tokens(tokens, width=width)):
            rows.append((f"{number(len(rows) + 1)} {(label if k == 0 else ''):<{width_label}} ", chunk))
    speakers = ", ".join(f"{s.id} = {s.label}" for s in transcript.speakers) or "none"
    name = transcript.audio.path.rsplit("/", 1)[-1]
    header = [f"# {name} ({transcript.audio.duration_s:.1f} s); {title}; speakers: {speakers}"
              + header_notes(transcript), ""]
    return "\n".join(header + align_overlaps(rows)) + "\n"


def header_notes(transcript: Transcript) -> str:
    """``"; not transcribed: emphasis; quality: 2.3 % clipped"`` for a written file's first line:
    what it leaves out, and what about the recording makes its marks less sure ("" for neither)."""
    return "".join(f"; {note}" for note in (left_out_text(transcript), quality_note(transcript)) if note)


def held_colons(text: str, colons: int, evidence: Optional[dict] = None, *, language: Optional[str] = None) -> str:
    """``text`` with a lengthening mark's colons where ``colon_offset`` puts them."""
    at = colon_offset(text, evidence, language=language)
    return text[:at] + ":" * colons + text[at:]


def colon_offset(text: str, evidence: Optional[dict] = None, *, language: Optional[str] = None) -> int:
    """Where a lengthening mark's colons go in ``text`` (the offset they are inserted at): after the
    held consonant's letters where its evidence locates it (``held_consonant``) and the spelling
    shows it (``spelling.consonant_span``: ``plan::s``); else after the held vowel's letters
    (``held_vowel``; ``spelling.nucleus_spans``: ``mo::rning``); else after the last vowel letter
    sounded (in English a silent final e skipped: ``ma:de``; a word drawn out as a whole); after
    any combining mark on that letter (an emphasis underline stays on its letter)."""
    evidence = evidence or {}
    letters, plain = _letters(text)
    consonant = _whole_numbers(evidence.get("held_consonant"), ("after_vowel", "vowels", "index", "of"))
    span = consonant_span(plain, **consonant) if consonant else None
    if span is not None:
        return _after(text, letters[span[1] - 1])
    held = _whole_numbers(evidence.get("held_vowel"), ("index", "of"))
    nuclei = nucleus_spans(plain, held["of"]) if held else None
    if nuclei is not None and 0 <= held["index"] < len(nuclei):
        last = nuclei[held["index"]][1] - 1
    elif (sounded := nucleus_spans(plain, count_syllables(plain, language=language))) is not None:
        last = sounded[-1][1] - 1  # the last vowel sounded: "ma:de", not "made:"
    else:
        last = next((k for k in range(len(plain) - 1, -1, -1) if plain[k].lower() in VOWEL_LETTERS), None)
    return len(text) if last is None else _after(text, letters[last])


def _whole_numbers(evidence, keys: tuple[str, ...]) -> Optional[dict[str, int]]:
    """``keys`` of a piece of evidence as integers; None where it is missing, or one of them is
    missing or not a number (a transcript edited by hand: the mark is placed as without it)."""
    try:
        return {k: int(evidence[k]) for k in keys}
    except (KeyError, TypeError, ValueError):
        return None


def _letters(text: str) -> tuple[list[int], str]:
    """The offsets of ``text``'s letters (not its combining marks) and those letters alone."""
    letters = [k for k, c in enumerate(text) if not unicodedata.combining(c)]
    return letters, "".join(text[k] for k in letters)


def _after(text: str, at: int) -> int:
    """The offset after character ``at`` and any combining mark on it."""
    end = at + 1
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end


def accent_span(text: str, where: Optional[dict]) -> tuple[int, int]:
    """The letters of ``text`` an emphasis mark falls on: those of its accented syllable where the
    spelling shows it (``accented_letters``), else the whole word."""
    return accented_letters(text, where) or (0, len(text))


def accented_letters(text: str, where: Optional[dict]) -> Optional[tuple[int, int]]:
    """The letters of ``text``'s accented syllable (``where``, an emphasis mark's
    ``accented_syllable`` evidence: ``prosody.marks.accent``) where the spelling shows that
    syllable (``spelling.syllable_of``); else None."""
    where = _whole_numbers(where, ("index", "of"))
    return syllable_of(text, where["index"], where["of"]) if where else None


def bracket(text: str, marks: WordMarks, *, opening: dict, closing: dict, intonation: dict) -> Token:
    """A decorated word: the pitch-step arrow before it, the final-intonation symbol
    (``intonation``: value -> symbol) after it, all inside the stretch symbols it opens and closes
    (outermost first, in the order of ``opening``; keys are mark types and
    ``tempo:faster``/``tempo:slower``). The Token knows which overlaps it opens."""
    kinds = {m.type: m for m in marks.inside}
    if "pitch_step" in kinds:
        text = ("↑" if kinds["pitch_step"].value == "up" else "↓") + text
    if "intonation" in kinds:
        text += intonation[kinds["intonation"].value]
    nesting = list(opening)

    def key(m) -> str:
        return f"tempo:{m.value}" if m.type == "tempo" else m.type

    opens = sorted((m for m in marks.opens if key(m) in opening), key=lambda m: nesting.index(key(m)))
    closes = sorted((m for m in marks.closes if key(m) in closing), key=lambda m: -nesting.index(key(m)))
    text = "".join(opening[key(m)] for m in opens) + text + "".join(closing[key(m)] for m in closes)
    return Token(text, tuple(m.evidence["overlap"] for m in opens if m.type == "overlap"))
