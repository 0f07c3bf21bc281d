"""transcript.jefferson.txt: the marks in Jefferson's (2004) transcription symbols.

``(0.7)`` timed pause/gap, ``(.)`` micropause, ``=`` latching, ``[ ]`` overlap, ``↑ ↓`` pitch
steps, ``.`` fall, ``,`` level/continuing, ``¿`` slight rise, ``?`` rise, ``::`` lengthening,
``WORD`` loud, ``°word°`` quiet, ``>word<`` faster, ``<word>`` slower; emphasis is underlined
with the Unicode combining low line (U+0332) after each letter, which text editors show as an
underline. The recogniser's punctuation and capitals are dropped: they would read as marks.
"""

from __future__ import annotations

from capture.record import Mark, Transcript
from prosody.notation.layout import Token, WordMarks, render_talk, strip_punctuation, vowel_colons

UNDERLINE = "\u0332"
INTONATION = {"fall": ".", "slight_fall": ",", "level": ",", "slight_rise": "¿", "rise": "?"}
OPEN = {"overlap": "[", "tempo:faster": ">", "tempo:slower": "<", "quiet": "°"}
CLOSE = {"overlap": "]", "tempo:faster": "<", "tempo:slower": ">", "quiet": "°"}
NESTING = ("overlap", "tempo:faster", "tempo:slower", "quiet")


def _key(m: Mark) -> str:
    return f"tempo:{m.value}" if m.type == "tempo" else m.type


def pause_text(m: Mark) -> str:
    return "(.)" if m.evidence.get("micropause") else f"({m.value:.1f})"


def word_token(transcript: Transcript, i: int, marks: WordMarks) -> Token:
    text = strip_punctuation(transcript.words[i].text)
    if text.isupper() and len(text) > 1:
        text = text.lower()  # recogniser capitals would read as loud
    kinds = {m.type: m for m in marks.inside}
    if "loud" in kinds:
        text = text.upper()
    if "lengthening" in kinds:
        text = vowel_colons(text, int(kinds["lengthening"].value))
    if "emphasis" in kinds:
        text = "".join(c + UNDERLINE if c.isalnum() else c for c in text)
    if "pitch_step" in kinds:
        text = ("↑" if kinds["pitch_step"].value == "up" else "↓") + text
    if "intonation" in kinds:
        text += INTONATION[kinds["intonation"].value]
    opens = sorted((m for m in marks.opens if _key(m) in OPEN), key=lambda m: NESTING.index(_key(m)))
    closes = sorted((m for m in marks.closes if _key(m) in CLOSE), key=lambda m: -NESTING.index(_key(m)))
    text = "".join(OPEN[_key(m)] for m in opens) + text + "".join(CLOSE[_key(m)] for m in closes)
    return Token(text, tuple(m.evidence["overlap"] for m in opens if m.type == "overlap"))


def render_jefferson(transcript: Transcript) -> str:
    return render_talk(
        transcript,
        title="Jefferson (2004) notation; emphasis underlined (U+0332)",
        word_token=lambda i, marks: word_token(transcript, i, marks),
        pause_text=pause_text,
        number=lambda n: f"{n:>3}",
    )
