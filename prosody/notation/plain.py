"""transcript.txt: one line per turn with speaker and start time, pauses written in place."""

from __future__ import annotations

from capture.record import Transcript
from prosody.notation.layout import PauseToken, format_clock, format_pause, header_notes, lines


def render_plain(transcript: Transcript) -> str:
    labels = {s.id: s.label for s in transcript.speakers}
    name = transcript.audio.path.rsplit("/", 1)[-1]
    who = ", ".join(f"{s.id} = {s.label}" for s in transcript.speakers) or "none"
    out = [f"# {name} ({transcript.audio.duration_s:.1f} s); speakers: {who}{header_notes(transcript)}", ""]
    width = max([len(v) for v in labels.values()] + [2])
    for line in lines(transcript):
        text = " ".join(
            format_pause(t.pause.duration_s) if isinstance(t, PauseToken) else t.word.text for t in line.tokens
        )
        if line.utterance is None:
            out.append(f"{'':10} {'':{width}}  {text}")
        else:
            label = labels.get(line.utterance.speaker, line.utterance.speaker or "?")
            out.append(f"[{format_clock(line.utterance.start_s)}] {label:<{width}}: {text}")
    return "\n".join(out) + "\n"
