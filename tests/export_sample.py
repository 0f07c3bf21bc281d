"""A hand-built two-speaker transcript for the export tests: Unicode names and words (accents,
Cyrillic, CJK, Greek), measured tracks, pauses, a gap, an overlap, a latch and one mark of every
type the marks stage writes, with times known exactly."""

from __future__ import annotations

import math
from pathlib import Path

from capture.record import (
    AudioInfo, IntensityTrack, Mark, Overlap, Pause, Pipeline, PitchTrack, Speaker, Transcript, Turn, Utterance,
    Word, WordProsody,
)

SPEAKERS = (Speaker("S1", "María José Núñez"), Speaker("S2", "李雷 Łukasz"))

# (text, start_s, end_s, speaker)
WORDS = (
    ("So,", 0.50, 0.80, "S1"), ("the", 0.80, 0.95, "S1"), ("café", 1.00, 1.40, "S1"), ("was", 1.45, 1.60, "S1"),
    ("naïve", 1.60, 2.10, "S1"), ("really.", 2.80, 3.30, "S1"),
    ("Привет", 4.10, 4.60, "S2"), ("日本語", 4.65, 5.20, "S2"), ("ελληνικά", 5.25, 5.90, "S2"),
    ("okay?", 5.95, 6.40, "S2"),
    ("yes", 6.20, 6.50, "S1"), ("we", 6.55, 6.70, "S1"), ("went", 6.70, 6.95, "S1"), ("there", 7.00, 7.40, "S1"),
    ("ok", 7.42, 7.80, "S2"), ("bye", 7.90, 8.20, "S2"),
)
UTTERANCES = ((0, 5), (6, 9), (10, 13), (14, 15))
DURATION_S = 9.0
HOP_S = 0.01


def _voiced(t: float) -> bool:
    return any(a <= t < b for _, a, b, _ in WORDS)


def pitch_at(t: float) -> float:
    return round(160.0 + 50.0 * math.sin(2 * math.pi * 0.5 * t), 2)


def sample_transcript(audio_path: str | Path = "/data/interviews/entrevista ñ 01.wav") -> Transcript:
    words = []
    for text, a, b, spk in WORDS:
        f0 = pitch_at((a + b) / 2)
        words.append(Word(text, a, b, 0.9, spk, WordProsody(
            duration_s=round(b - a, 3), f0_mean_hz=f0, f0_min_hz=f0 - 5, f0_max_hz=f0 + 5, f0_mean_st=1.5,
            intensity_mean_db=70.0, intensity_max_db=75.0, voiced_fraction=0.8)))
    utterances = tuple(
        Utterance(words[a].speaker, words[a].start_s, words[b].end_s, " ".join(w.text for w in words[a:b + 1]), a, b)
        for a, b in UTTERANCES)
    frames = int(DURATION_S / HOP_S)
    pitch = PitchTrack(HOP_S, 0.0, tuple(pitch_at(k * HOP_S) if _voiced(k * HOP_S) else None for k in range(frames)))
    intensity = IntensityTrack(HOP_S, 0.0, tuple(round(55.0 + (20.0 if _voiced(k * HOP_S) else 0.0), 2)
                                                  for k in range(frames)))
    pauses = (Pause(2.10, 2.80, 0.70, "S1", "S1"), Pause(3.30, 4.10, 0.80, "S1", "S2"),
              Pause(7.80, 7.90, 0.10, "S2", "S2"))
    ev = {"threshold": 1.0}
    marks = (
        Mark("emphasis", 1.00, 1.40, 2, 2, "S1", 3, 0.9, {"pitch_above_st": 2.5, "loudness_above_db": 4.0}),
        Mark("lengthening", 1.60, 2.10, 4, 4, "S1", 2, 0.8, {"held_ratio": 1.9}),
        Mark("pause", 2.10, 2.80, 4, 5, "S1", 0.7, 1.0, {"micropause": False}),
        Mark("intonation", 2.95, 3.30, 5, 5, "S1", "fall", 0.9, {"change_st": -4.2}),
        Mark("gap", 3.30, 4.10, 5, 6, None, 0.8, 1.0, {"micropause": False}),
        Mark("loud", 4.10, 4.60, 6, 6, "S2", 82.0, 0.7, {"above_db": 6.1}),
        Mark("pitch_step", 4.65, 5.20, 7, 7, "S2", "up", 0.8, {"step_st": 4.1, **ev}),
        Mark("quiet", 5.25, 5.90, 8, 8, "S2", 60.5, 0.7, {"below_db": 8.0}),
        Mark("intonation", 6.05, 6.40, 9, 9, "S2", "rise", 0.9, {"change_st": 5.0}),
        Mark("overlap", 6.20, 6.40, 9, 9, "S2", ["S1"], 1.0, {"overlap": 0, "duration_s": 0.2}),
        Mark("overlap", 6.20, 6.40, 10, 10, "S1", ["S2"], 1.0, {"overlap": 0, "duration_s": 0.2}),
        Mark("tempo", 6.55, 7.40, 11, 13, "S1", "faster", 0.75, {"rate_syl_s": 7.9}),
        Mark("latch", 7.40, 7.42, 13, 14, None, 0.02, 1.0, {}),
        Mark("pause", 7.80, 7.90, 14, 15, "S2", 0.1, 1.0, {"micropause": True}),
    )
    return Transcript(
        audio=AudioInfo(str(audio_path), "0" * 64, DURATION_S, 16000, 1, "wav", "pcm_s16le"),
        pipeline=Pipeline("0.1.0", {"asr": {"name": "tiny.en"}}, {}, "cpu", {}),
        language="es",
        speakers=SPEAKERS,
        words=tuple(words),
        utterances=utterances,
        turns=tuple(Turn(u.speaker, u.start_s, u.end_s) for u in utterances),
        overlaps=(Overlap(6.20, 6.40, ("S2", "S1")),),
        pauses=pauses,
        marks=marks,
        pitch=pitch,
        intensity=intensity,
    )


def write_sample(folder: Path, transcript: Transcript | None = None) -> Path:
    """An output folder holding the sample's transcript.json, as `tonescribe process` leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.json").write_text((transcript or sample_transcript()).to_json() + "\n", encoding="utf-8")
    return folder


def sample_exports(tmp_path_factory, name: str, formats) -> dict:
    """The sample written to a fresh folder (a name with a space and a non-ASCII letter) and
    exported in ``formats``: ``export_all``'s result."""
    from export import export_all

    folder = write_sample(tmp_path_factory.mktemp(name) / "entrevista ñ 01")
    return export_all(folder, formats)
