"""transcript.gat2.txt: a GAT2 basic transcript (Selting et al. 2009), one intonation unit per line.

Written in lower case; the focus accent (our emphasis) in capitals on its accented syllable
(``imPORtant``; ``layout.accent_span``), the whole word where that syllable is not located (one
syllable, no aligned phones, or a spelling that does not show it); final pitch movements ``?``
high rise, ``,`` rise to mid, ``-`` level, ``;`` fall to mid, ``.`` low fall; ``(.)`` micropause,
``(0.7)`` measured pause; ``=`` latching; ``[ ]`` overlap; ``:`` lengthening. From the GAT2 fine
transcript, for what tonescribe measures: ``↑ ↓`` pitch steps, ``<<f> >`` loud, ``<<p> >`` quiet,
``<<all> >`` faster, ``<<len> >`` slower.
"""

from __future__ import annotations

from capture.record import Transcript
from prosody.notation.jefferson import pause_text
from prosody.notation.layout import Token, WordMarks, accent_span, bracket, held_colons, render_talk, strip_punctuation

INTONATION = {"fall": ".", "slight_fall": ";", "level": "-", "slight_rise": ",", "rise": "?"}
OPEN = {"overlap": "[", "tempo:faster": "<<all> ", "tempo:slower": "<<len> ", "loud": "<<f> ", "quiet": "<<p> "}
CLOSE = {"overlap": "]", "loud": ">", "quiet": ">", "tempo:faster": ">", "tempo:slower": ">"}


def word_token(transcript: Transcript, i: int, marks: WordMarks) -> Token:
    text = strip_punctuation(transcript.words[i].text).lower()
    kinds = {m.type: m for m in marks.inside}
    if "emphasis" in kinds:
        a, b = accent_span(text, kinds["emphasis"].evidence.get("accented_syllable"))
        text = text[:a] + text[a:b].upper() + text[b:]
    if "lengthening" in kinds:
        text = held_colons(text, int(kinds["lengthening"].value), kinds["lengthening"].evidence,
                           language=transcript.language)
    return bracket(text, marks, opening=OPEN, closing=CLOSE, intonation=INTONATION)


def render_gat2(transcript: Transcript) -> str:
    units_end = frozenset(m.last_word for m in transcript.marks if m.type == "intonation")
    return render_talk(
        transcript,
        title="GAT2 basic transcript (Selting et al. 2009) with measured pauses",
        word_token=lambda i, marks: word_token(transcript, i, marks),
        pause_text=pause_text,
        number=lambda n: f"{n:03d}",
        split_after=units_end,
    )
