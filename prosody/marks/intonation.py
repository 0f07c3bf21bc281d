"""Final intonation of each intonation unit: the F0 movement into the end of its last voiced
stretch.

A unit is one speaker's run of words up to a pause of ``unit_pause_s`` or more, a speaker change
or the end of an utterance. Over the final ``final_stretch_s`` of the last voiced stretch (unvoiced
gaps of up to ``MAX_BRIDGE_S`` bridged, a trailing voiced blip shorter than ``MIN_LAST_RUN_S``
passed over, the tracker's octave errors and halved excursions left out; F0 in semitones re the
speaker's median, 3-frame median-smoothed) the movement is the end level minus the lowest point
before it (a rise) or minus the highest point (a fall), whichever is larger; so a fall-rise
question ending counts by its final rise. The least-squares slope is kept as evidence.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.signal import medfilt

from capture.record import Mark
from prosody.features import frame_range
from prosody.marks.context import Context, r

CATEGORIES = ("fall", "slight_fall", "level", "slight_rise", "rise")
# ours: unvoiced gaps up to this long (a stop's closure and burst, e.g. "past it") do not end the
# last voiced stretch. 0.15 (was 0.05): with aligned word edges a short final word ("it", 50 ms
# voiced) was otherwise its own stretch, too short to judge; synthetic questions/statements
# 0.85 -> 0.95 (0.10: 0.90), bench/bench_marks.py.
MAX_BRIDGE_S = 0.15
END_REACH_S = 0.05  # voicing this far past the last word's end still belongs to it
OCTAVE_ERROR_ST = 8.0
# A voice cannot move 3 semitones in one 10 ms frame (the fastest pitch changes are about 1 st per
# 10 ms: Xu & Sun 2002, JASA 111(3), 1399-1413); a run of frames that jumps away by this much and
# jumps back to where it left within MAX_EXCURSION_S is the tracker halving or doubling (creak at
# the end of a statement), not intonation, even where it is less than OCTAVE_ERROR_ST from the median.
JUMP_ST = 3.0
MAX_EXCURSION_S = 0.2
# A voiced stretch shorter than this after the last unvoiced gap of more than MAX_BRIDGE_S is the
# voicing of a final consonant ("distant" /nt/: 20 ms) or of its release ("left": 60 ms just past
# the word), not the vowel the final pitch movement is on; the stretch before it is judged instead.
MIN_LAST_RUN_S = 0.1


def units(ctx: Context) -> list[list[int]]:
    """Intonation units as lists of word indices in time order (computed once per context)."""
    if "units" not in ctx.cache:
        ctx.cache["units"] = _units(ctx)
    return ctx.cache["units"]


def _units(ctx: Context) -> list[list[int]]:
    th = ctx.thresholds.intonation
    words = ctx.transcript.words
    utterance_of = {}
    for u_index, u in enumerate(ctx.transcript.utterances):
        for i in range(u.first_word, u.last_word + 1):
            utterance_of[i] = u_index
    long_pauses = [p for p in ctx.transcript.pauses if p.duration_s >= th.unit_pause_s]
    pause_starts = np.array([p.start_s for p in long_pauses])
    pause_ends = np.array([p.end_s for p in long_pauses])
    place = {i: k for k, i in enumerate(ctx.order)}
    out: list[list[int]] = []
    for mine in ctx.by_speaker.values():
        current: list[int] = []
        for i in mine:
            if current:
                a = current[-1]
                lo, hi = (words[a].start_s + words[a].end_s) / 2, (words[i].start_s + words[i].end_s) / 2
                interrupted = any(words[j].speaker != words[i].speaker and words[j].start_s >= words[a].end_s
                                  for j in ctx.order[place[a] + 1: place[i]])
                if (utterance_of.get(a) != utterance_of.get(i) or interrupted
                        or words[i].start_s - words[a].end_s >= th.unit_pause_s
                        or bool(np.any((pause_starts >= lo) & (pause_ends <= hi)))):
                    out.append(current)
                    current = []
            current.append(i)
        if current:
            out.append(current)
    return sorted(out, key=lambda unit: words[unit[0]].start_s)


def final_stretch(ctx: Context, unit: list[int]) -> Optional[tuple[np.ndarray, int]]:
    """Semitone values of the last voiced stretch (at most ``final_stretch_s``) and its first frame."""
    th = ctx.thresholds.intonation
    words = ctx.transcript.words
    track = ctx.f0_of(words[unit[-1]].speaker)
    if not track.size:
        return None
    first = unit[-2] if len(unit) > 1 else unit[-1]
    span = frame_range(words[first].start_s, words[unit[-1]].end_s + END_REACH_S, hop_s=ctx.hop_s, n_frames=len(track))
    f0 = track[span]
    voiced = np.flatnonzero(~np.isnan(f0))
    if voiced.size == 0:
        return None
    bridge = int(round(MAX_BRIDGE_S / ctx.hop_s))
    runs = np.split(voiced, np.flatnonzero(np.diff(voiced) > bridge + 1) + 1)  # voiced stretches, gaps bridged
    while len(runs) > 1 and (runs[-1][-1] - runs[-1][0] + 1) * ctx.hop_s < MIN_LAST_RUN_S:
        runs.pop()  # the voicing of a final consonant or its release, not the unit's last syllable
    start, end = int(runs[-1][0]), int(runs[-1][-1])
    start = max(start, end - int(round(th.final_stretch_s / ctx.hop_s)) + 1)
    values = f0[start: end + 1]
    keep = ~np.isnan(values) & ~excursions(values, hop_s=ctx.hop_s)
    if keep.any():  # octave jumps of the tracker are not intonation
        log_values = 12 * np.log2(values[keep])
        keep[keep] = np.abs(log_values - np.median(log_values)) <= OCTAVE_ERROR_ST
    if keep.sum() * ctx.hop_s < th.min_voiced_s:
        return None
    base = ctx.baseline(unit[-1]).f0_median_hz or float(np.nanmedian(values))
    st = 12 * np.log2(np.interp(np.arange(values.size), np.flatnonzero(keep), values[keep]) / base)
    if st.size >= 3:
        st = medfilt(st, 3)
    return st, span.start + start


def excursions(f0_hz: np.ndarray, *, hop_s: float) -> np.ndarray:
    """Frames (NaN unvoiced) that jump away from their voiced neighbour by JUMP_ST or more and jump
    back to within JUMP_ST of where they left, within MAX_EXCURSION_S."""
    st = 12 * np.log2(f0_hz)
    steps = np.diff(st)  # NaN next to an unvoiced frame: a gap is not a jump
    jumps = np.flatnonzero(np.abs(steps) >= JUMP_ST) + 1  # frame k jumped from frame k - 1
    drop = np.zeros(f0_hz.size, dtype=bool)
    longest = int(round(MAX_EXCURSION_S / hop_s))
    for n, k in enumerate(jumps):
        if drop[k]:
            continue
        for back in jumps[n + 1:]:
            if back - k > longest:
                break
            if np.sign(steps[back - 1]) != np.sign(steps[k - 1]) and abs(st[back] - st[k - 1]) < JUMP_ST:
                drop[k:back] = True
                break
    return drop


def classify(change_st: float, ctx: Context) -> str:
    th = ctx.thresholds.intonation
    if change_st >= th.rise_st:
        return "rise"
    if change_st >= th.slight_rise_st:
        return "slight_rise"
    if change_st <= -th.fall_st:
        return "fall"
    if change_st <= -th.slight_fall_st:
        return "slight_fall"
    return "level"


def find(ctx: Context) -> list[Mark]:
    th = ctx.thresholds.intonation
    words = ctx.transcript.words
    marks = []
    for unit in units(ctx):
        stretch = final_stretch(ctx, unit)
        if stretch is None:
            continue
        st, first_frame = stretch
        tail = max(1, min(4, st.size // 3))
        end_st = float(np.mean(st[-tail:]))
        rise, fall = end_st - float(st.min()), float(st.max()) - end_st
        change = rise if rise >= fall else -fall
        slope = float(np.polyfit(np.arange(st.size) * ctx.hop_s, st, 1)[0]) if st.size >= 2 else 0.0
        last = unit[-1]
        start_s, end_s = first_frame * ctx.hop_s, (first_frame + st.size - 1) * ctx.hop_s
        change = r(change)  # judged as its evidence shows it
        value = classify(change, ctx)
        boundaries = (-th.fall_st, -th.slight_fall_st, th.slight_rise_st, th.rise_st)
        distance = min(abs(change - b) for b in boundaries)  # from the nearest category edge, in st
        marks.append(Mark(
            type="intonation", start_s=r(start_s, 3), end_s=r(end_s, 3), first_word=last, last_word=last,
            speaker=words[last].speaker, value=value, confidence=r(0.5 + 0.5 * min(1.0, distance)),
            evidence={"change_st": change, "slope_st_per_s": r(slope), "end_st": r(end_st),
                      "stretch_s": r(st.size * ctx.hop_s), "unit_first_word": unit[0],
                      "thresholds_st": {"rise": th.rise_st, "slight_rise": th.slight_rise_st,
                                        "slight_fall": -th.slight_fall_st, "fall": -th.fall_st}},
        ))
    return marks
