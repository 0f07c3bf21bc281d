"""transcript.jefferson.txt: the marks in Jefferson's (2004) transcription symbols.

``(0.7)`` timed pause/gap, ``(.)`` micropause, ``=`` latching, ``[ ]`` overlap, ``↑ ↓`` pitch
steps, ``.`` fall, ``,`` level/continuing, ``¿`` slight rise, ``?`` rise, ``::`` lengthening,
``WORD`` loud, ``°word°`` quiet, ``>word<`` faster, ``<word>`` slower; emphasis is underlined
with the Unicode combining low line (U+0332) after each letter, which text editors show as an
underline: the accented syllable's letters where it is located (``layout.accent_span``), else the
whole word. The recogniser's punctuation and capitals are dropped: they would read as marks.
"""

from __future__ import annotations

from capture.record import Mark, Transcript
from prosody.notation.layout import Token, WordMarks, accent_span, bracket, held_colons, render_talk, strip_punctuation
from prosody.notation.omit import left_out

UNDERLINE = "\u0332"
INTONATION = {"fall": ".", "slight_fall": ",", "level": ",", "slight_rise": "¿", "rise": "?"}
OPEN = {"overlap": "[", "tempo:faster": ">", "tempo:slower": "<", "quiet": "°"}  # outermost first
CLOSE = {"overlap": "]", "tempo:faster": "<", "tempo:slower": ">", "quiet": "°"}


def pause_text(m: Mark) -> str:
    return "(.)" if m.evidence.get("micropause") else f"({m.value:.1f})"


def word_token(transcript: Transcript, i: int, marks: WordMarks) -> Token:
    text = strip_punctuation(transcript.words[i].text)
    if text.isupper() and len(text) > 1:
        text = text.lower()  # recogniser capitals would read as loud
    kinds = {m.type: m for m in marks.inside}
    if "loud" in kinds:
        text = text.upper()
    if "emphasis" in kinds:
        a, b = accent_span(text, kinds["emphasis"].evidence.get("accented_syllable"))
        text = text[:a] + "".join(c + UNDERLINE if c.isalnum() else c for c in text[a:b]) + text[b:]
    if "lengthening" in kinds:
        text = held_colons(text, int(kinds["lengthening"].value), kinds["lengthening"].evidence,
                           language=transcript.language)
    return bracket(text, marks, opening=OPEN, closing=CLOSE, intonation=INTONATION)


def render_jefferson(transcript: Transcript) -> str:
    return render_talk(
        transcript,
        title="Jefferson (2004) notation" + ("" if "emphasis" in left_out(transcript)
                                             else "; emphasis underlined (U+0332)"),
        word_token=lambda i, marks: word_token(transcript, i, marks),
        pause_text=pause_text,
        number=lambda n: f"{n:>3}",
    )
