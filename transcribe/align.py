"""Words to speakers, stable speaker ids, overlaps and utterances."""

from __future__ import annotations

import bisect
from typing import Optional, Sequence

from capture.record import Overlap, Speaker, Turn, Utterance, Word, replace


def assign_words(words: Sequence[Word], turns: Sequence[Turn]) -> list[Word]:
    """Each word gets the speaker whose turns cover the largest share of its span; a word in no
    turn gets the speaker of the nearest turn. Turns are looked up by bisection, so two hours of
    words against thousands of turns cost no more per word than a minute does."""
    order = {id(t): k for k, t in enumerate(turns)}
    by_start = sorted(turns, key=lambda t: t.start_s)
    starts = [t.start_s for t in by_start]
    longest = max((t.end_s - t.start_s for t in turns), default=0.0)
    by_end = sorted(turns, key=lambda t: t.end_s)
    ends = [t.end_s for t in by_end]
    out = []
    for w in words:
        share: dict[str, float] = {}
        first = bisect.bisect_left(starts, w.start_s - longest)
        for t in sorted(by_start[first: bisect.bisect_left(starts, w.end_s)], key=lambda t: order[id(t)]):  # ties: first turn wins
            overlap = min(w.end_s, t.end_s) - max(w.start_s, t.start_s)
            if overlap > 0:
                share[t.speaker] = share.get(t.speaker, 0.0) + overlap
        if share:
            speaker = max(share, key=share.get)
        elif turns:
            mid = (w.start_s + w.end_s) / 2
            near = by_start[max(0, bisect.bisect_left(starts, mid) - 1): bisect.bisect_left(starts, mid) + 1]
            near += by_end[max(0, bisect.bisect_right(ends, mid) - 1): bisect.bisect_right(ends, mid) + 1]
            speaker = min(near, key=lambda t: max(t.start_s - mid, mid - t.end_s, 0.0)).speaker
        else:
            speaker = w.speaker
        out.append(replace(w, speaker=speaker))
    return out


def stable_ids(
    words: Sequence[Word], turns: Sequence[Turn], channels: Optional[dict[str, int]] = None
) -> tuple[list[Word], list[Turn], list[Speaker]]:
    """Rename speakers S1, S2, ... in order of first speech (turns first, then words)."""
    firsts: dict[str, float] = {}
    for label, start in [(t.speaker, t.start_s) for t in turns] + [(w.speaker, w.start_s) for w in words]:
        if label is not None:
            firsts[label] = min(start, firsts.get(label, start))
    order = sorted(firsts, key=lambda k: (firsts[k], k))
    rename = {old: f"S{i + 1}" for i, old in enumerate(order)}
    speakers = [
        Speaker(id=rename[old], label=f"Speaker {i + 1}", channel=(channels or {}).get(old))
        for i, old in enumerate(order)
    ]
    new_words = [replace(w, speaker=rename.get(w.speaker, w.speaker)) for w in words]
    new_turns = [replace(t, speaker=rename[t.speaker]) for t in turns]
    return new_words, sorted(new_turns, key=lambda t: (t.start_s, t.speaker)), speakers


def overlaps_of(turns: Sequence[Turn], *, min_s: float = 0.0) -> list[Overlap]:
    """Stretches where two or more speakers' turns run at once, with who is talking."""
    events = sorted([(t.start_s, 1, t.speaker) for t in turns] + [(t.end_s, -1, t.speaker) for t in turns])
    active: dict[str, int] = {}
    out: list[Overlap] = []
    prev_t = None
    for time_s, kind, speaker in events:
        talking = sorted(s for s, n in active.items() if n > 0)
        if prev_t is not None and time_s > prev_t and len(talking) >= 2:
            if out and abs(out[-1].end_s - prev_t) < 1e-9 and out[-1].speakers == tuple(talking):
                out[-1] = replace(out[-1], end_s=time_s)
            else:
                out.append(Overlap(start_s=prev_t, end_s=time_s, speakers=tuple(talking)))
        active[speaker] = active.get(speaker, 0) + kind
        prev_t = time_s
    return [replace(o, start_s=round(o.start_s, 3), end_s=round(o.end_s, 3)) for o in out if o.end_s - o.start_s >= min_s]


def build_utterances(words: Sequence[Word], *, max_gap_s: float = 1.5) -> tuple[list[Word], list[Utterance]]:
    """Group words into utterances and return the words in reading order (utterance by utterance).

    An utterance is one speaker's run of words. It ends when that speaker pauses for ``max_gap_s``
    or more, or when someone else speaks in the clear after it (talk that only overlaps it does
    not end it: the overlap is shown, the turn goes on)."""
    groups: list[dict] = []
    open_by_speaker: dict[Optional[str], dict] = {}
    for w in sorted(words, key=lambda w: (w.start_s, w.end_s)):
        for other, group in list(open_by_speaker.items()):
            if other != w.speaker and w.start_s >= group["end"]:
                del open_by_speaker[other]  # this word is said in the clear after them
        group = open_by_speaker.get(w.speaker)
        if group is None or w.start_s - group["end"] >= max_gap_s:
            group = {"speaker": w.speaker, "words": [], "end": w.end_s}
            groups.append(group)
            open_by_speaker[w.speaker] = group
        group["words"].append(w)
        group["end"] = max(group["end"], w.end_s)
    groups.sort(key=lambda g: g["words"][0].start_s)
    ordered: list[Word] = []
    utterances: list[Utterance] = []
    for g in groups:
        first = len(ordered)
        ordered.extend(g["words"])
        utterances.append(
            Utterance(
                speaker=g["speaker"],
                start_s=g["words"][0].start_s,
                end_s=g["end"],
                text=join_words(w.text for w in g["words"]),
                first_word=first,
                last_word=len(ordered) - 1,
            )
        )
    return ordered, utterances


def join_words(texts) -> str:
    return " ".join(t for t in texts if t)
