"""CLAN: ``<stem>.cha``, a CHAT transcript in CA mode (``@Options: CA``).

One main tier per utterance with its time bullet (``\\x15start_end\\x15`` in milliseconds), the
participants with their names, and the measured prosody in CHAT-CA symbols where CHAT has one:
``↑``/``↓`` pitch steps, ``◉..◉`` louder, ``°..°`` softer, ``∆..∆`` faster, ``∇..∇`` slower,
``:`` lengthening (after the held vowel, as in Jefferson), ``ˈ`` stress (emphasis, before the
accented syllable where it is located), final pitch movements ``⇗`` rise, ``↗`` slight rise,
``→`` level, ``↘`` slight fall, ``⇘`` fall, ``⌈..⌉``/``⌊..⌋`` overlaps, ``≈`` latching and timed
pauses ``(0.7)`` / micropauses ``(.)``. CLAN requires ``@Media`` to name the file itself, so the
.cha keeps the recording's stem.
"""

from __future__ import annotations

import re
from pathlib import Path

from capture import atomic
from capture.record import Transcript
from export.common import bare_word, ms, speakers
from export.decorations import Decor, decorate
from prosody.notation.layout import PauseToken, accent_span, format_pause, header_notes, held_colons, lines

FINAL = {"rise": "⇗", "slight_rise": "↗", "level": "→", "slight_fall": "↘", "fall": "⇘"}
STRETCH = {"loud": "◉", "quiet": "°", "faster": "∆", "slower": "∇"}
CA_SYMBOLS = "↑↓ˈ◉°∆∇⌈⌉⌊⌋≈" + "".join(FINAL.values())
# Characters with a meaning of their own on a CHAT main tier; never inside a transcribed word.
_RESERVED = re.compile(r"[\s@&+$#%*\[\]<>()^~=_:;,.!?\"\x15" + re.escape(CA_SYMBOLS) + "]")
ISO639_3 = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "nl": "nld", "pt": "por", "ru": "rus",
    "zh": "zho", "ja": "jpn", "ko": "kor", "ar": "ara", "el": "ell", "pl": "pol", "sv": "swe", "da": "dan",
    "no": "nor", "nb": "nob", "fi": "fin", "tr": "tur", "cs": "ces", "hu": "hun", "he": "heb", "hi": "hin",
    "uk": "ukr", "ro": "ron", "ca": "cat", "cy": "cym", "ga": "gle", "is": "isl", "et": "est", "lv": "lav",
    "lt": "lit", "sk": "slk", "sl": "slv", "hr": "hrv", "sr": "srp", "bg": "bul", "fa": "fas", "ur": "urd",
    "bn": "ben", "ta": "tam", "th": "tha", "vi": "vie", "id": "ind", "ms": "msa", "sw": "swa", "af": "afr",
}


def chat_word(text: str) -> str:
    """A recognised word as a CHAT word: outer punctuation and CHAT's reserved characters removed."""
    return _RESERVED.sub("", bare_word(text))


def participant_codes(transcript: Transcript) -> dict[str, str]:
    """Speaker id -> CHAT code (letters and digits, up to 7, upper case; S1, S2... otherwise)."""
    codes: dict[str, str] = {}
    for n, who in enumerate(speakers(transcript), 1):
        code = who.id.upper()
        if not re.fullmatch(r"[A-Z0-9]{1,7}", code) or code in codes.values():
            code = f"S{n}"
        while code in codes.values():
            code += "X"
        codes[who.id] = code
    return codes


def _token(word: str, d: Decor, language: str | None) -> str:
    before = "".join(STRETCH[k] for k in d.opens if k in STRETCH)
    after = "".join(STRETCH[k] for k in reversed(d.closes) if k in STRETCH)
    if d.overlap_open is not None:
        before = ("⌈" if d.overlap_top else "⌊") + before
    if d.overlap_close is not None:
        after += "⌉" if d.overlap_top else "⌋"
    if d.latch_before:
        before = "≈" + before
    step = {"up": "↑", "down": "↓"}.get(d.step or "", "")
    if d.emphasis:  # the stress mark before the accented syllable, where it is located
        at = accent_span(word, d.accent)[0]
        word = f"{word[:at]}ˈ{word[at:]}"
    if d.colons:  # after the held sound, as in the Jefferson transcript
        word = held_colons(word, d.colons, d.held, language=language)
    text = f"{before}{step}{word}{after}"
    if d.final:
        text += " " + FINAL[d.final]
    if d.latch_after:
        text += " ≈"
    return text


def _wrap(text: str, width: int = 76) -> str:
    out, line = [], ""
    for piece in text.split(" "):
        if line and len(line) + 1 + len(piece) > width:
            out.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    out.append(line)
    return "\n\t".join(out)


def render_chat(transcript: Transcript, *, stem: str) -> str:
    people = speakers(transcript)
    codes = participant_codes(transcript)
    language = ISO639_3.get((transcript.language or "").split("-")[0].lower(), "und")
    names = {w.id: re.sub(r"[\s,]+", "_", w.label.strip()) or codes[w.id] for w in people}
    out = ["@UTF8", "@Begin", f"@Languages:\t{language}",
           "@Participants:\t" + ", ".join(f"{codes[w.id]} {names[w.id]} Participant" for w in people),
           "@Options:\tCA"]
    out += [f"@ID:\t{language}|tonescribe|{codes[w.id]}|||||Participant|||" for w in people]
    out += [f"@Media:\t{stem}, audio",
            f"@Comment:\tmade by tonescribe {transcript.pipeline.version} from {Path(transcript.audio.path).name}; "
            "prosodic symbols are measured marks (see transcript.json for the evidence)"
            + header_notes(transcript)]
    decor = decorate(transcript)
    for line in lines(transcript):
        utt = line.utterance
        if utt is None:
            continue  # a silence between turns: visible in the bullets' times
        tokens, first_s, last_s = [], None, None
        for token in line.tokens:
            if isinstance(token, PauseToken):
                tokens.append(format_pause(token.pause.duration_s))
                continue
            word = chat_word(token.word.text)
            if not word:
                continue
            tokens.append(_token(word, decor[token.index], transcript.language))
            first_s = token.word.start_s if first_s is None else first_s
            last_s = token.word.end_s
        while tokens and tokens[-1].startswith("("):
            tokens.pop()
        if first_s is None:
            continue
        code = codes.get(utt.speaker or "", codes.get("UNK", next(iter(codes.values()), "UNK")))
        bullet = f"\x15{ms(first_s)}_{max(ms(last_s), ms(first_s) + 1)}\x15"
        out.append(f"*{code}:\t" + _wrap(" ".join(tokens) + " " + bullet))
    out.append("@End")
    return "\n".join(out) + "\n"


def write(transcript: Transcript, folder: Path, *, stem: str) -> list[Path]:
    path = Path(folder) / f"{stem}.cha"
    atomic.write_text(path, render_chat(transcript, stem=stem))
    return [path]
