"""Overlap brackets: for each stretch of simultaneous talk (``transcript.overlaps``), one mark per
speaker covering that speaker's words in it; ``evidence.overlap`` pairs the marks to align."""

from __future__ import annotations

from capture.record import Mark
from prosody.marks.context import Context, r


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.overlap
    words = ctx.transcript.words
    marks = []
    for n, o in enumerate(sorted(ctx.transcript.overlaps, key=lambda o: o.start_s)):
        duration_s = r(o.end_s - o.start_s, 3)  # judged as its evidence shows it, to 1 ms
        if duration_s < th.min_s:
            continue
        for speaker in o.speakers:
            inside = [i for i in ctx.by_speaker.get(speaker, [])
                      if min(words[i].end_s, o.end_s) - max(words[i].start_s, o.start_s) > 0]
            if not inside:
                continue
            marks.append(Mark(
                type="overlap", start_s=o.start_s, end_s=o.end_s, first_word=inside[0], last_word=inside[-1],
                speaker=speaker, value=[s for s in o.speakers if s != speaker], confidence=1.0,
                evidence={"overlap": n, "duration_s": duration_s, "min_s": th.min_s},
            ))
    return marks
