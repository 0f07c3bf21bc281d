"""Thresholds of the prosodic marks: one TOML file (``prosody/thresholds.toml``, the documented
defaults with their sources) overlaid by an optional user file with the same layout."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULTS_PATH = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True)
class PauseThresholds:
    micropause_below_s: float
    latch_max_gap_s: float
    latch_max_overlap_s: float


@dataclass(frozen=True)
class EmphasisThresholds:
    window_words: int
    pitch_above_st: float
    loudness_above_db: float
    duration_ratio: float
    pitch_support_st: float
    min_cues: int
    min_voiced_s: float


@dataclass(frozen=True)
class LoudnessThresholds:
    window_words: int
    loud_above_db: float
    quiet_below_db: float
    min_voiced_s: float
    stressed_loud_margin_db: float
    quiet_word_min_voiced_s: float


@dataclass(frozen=True)
class PitchStepThresholds:
    min_step_st: float
    relative_step: float
    landing_beyond_median_st: float
    min_voiced_s: float
    reach_back_s: float
    max_from_median_st: float


@dataclass(frozen=True)
class IntonationThresholds:
    unit_pause_s: float
    final_stretch_s: float
    min_voiced_s: float
    rise_st: float
    slight_rise_st: float
    slight_fall_st: float
    fall_st: float


@dataclass(frozen=True)
class TempoThresholds:
    change_mads: float
    change_min_mad: float
    mads: float
    window_words: int
    min_words: int
    min_mad_ratio: float


@dataclass(frozen=True)
class LengtheningThresholds:
    phone_ratio: float
    phone_excess_s: float
    word_ratio: float
    word_excess_s: float
    held_ratio: float
    neighbour_ratio_max: float
    slow_neighbour_words: int
    slow_neighbour_ratio: float
    slow_stretch_phone_ratio: float
    default_final_factor: float
    steady_change_max: float
    steady_ratio: float
    steady_min_s: float
    colon_per_s: float


@dataclass(frozen=True)
class OverlapThresholds:
    min_s: float


@dataclass(frozen=True)
class Thresholds:
    pauses: PauseThresholds
    emphasis: EmphasisThresholds
    loudness: LoudnessThresholds
    pitch_steps: PitchStepThresholds
    intonation: IntonationThresholds
    tempo: TempoThresholds
    lengthening: LengtheningThresholds
    overlap: OverlapThresholds

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "thresholds") -> "Thresholds":
        sections = {}
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(data) - set(hints)
        if unknown:
            raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(hints)}")
        for name, section_cls in _SECTIONS.items():
            values = data.get(name)
            if not isinstance(values, dict):
                raise ValueError(f"{source}: section [{name}] is missing or not a table")
            sections[name] = _section(section_cls, values, f"{source} [{name}]")
        thresholds = cls(**sections)
        _validate(thresholds, source)
        return thresholds


_SECTIONS = {
    "pauses": PauseThresholds,
    "emphasis": EmphasisThresholds,
    "loudness": LoudnessThresholds,
    "pitch_steps": PitchStepThresholds,
    "intonation": IntonationThresholds,
    "tempo": TempoThresholds,
    "lengthening": LengtheningThresholds,
    "overlap": OverlapThresholds,
}


def _section(section_cls, values: dict, where: str):
    fields = {f.name: f.type for f in dataclasses.fields(section_cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(fields)}")
    missing = set(fields) - set(values)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    out = {}
    for key, kind in fields.items():
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: {key} must be a number, not {value!r}")
        if kind == "int" and value != int(value):
            raise ValueError(f"{where}: {key} must be a whole number, not {value!r}")
        if value < 0:
            raise ValueError(f"{where}: {key} must not be negative, not {value!r}")
        out[key] = int(value) if kind == "int" else float(value)
    return section_cls(**out)


def _validate(t: Thresholds, source: str) -> None:
    i = t.intonation
    if not (i.slight_rise_st <= i.rise_st and i.slight_fall_st <= i.fall_st):
        raise ValueError(f"{source} [intonation]: need slight_rise_st <= rise_st and slight_fall_st <= fall_st")
    if t.emphasis.min_cues not in (1, 2, 3):
        raise ValueError(f"{source} [emphasis]: min_cues must be 1, 2 or 3")
    if t.tempo.min_words < 1 or t.tempo.window_words < 1:
        raise ValueError(f"{source} [tempo]: window_words and min_words must be at least 1")
    if t.lengthening.colon_per_s <= 0:
        raise ValueError(f"{source} [lengthening]: colon_per_s must be positive")
    if t.lengthening.default_final_factor < 1:
        raise ValueError(f"{source} [lengthening]: default_final_factor must be at least 1 (1 = no final lengthening)")


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"thresholds file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None


@functools.lru_cache(maxsize=1)
def default_thresholds() -> Thresholds:
    return Thresholds.from_dict(_read_toml(DEFAULTS_PATH), source=str(DEFAULTS_PATH))


def load_thresholds(path: Optional[str | Path] = None) -> Thresholds:
    """The defaults, with the sections and keys of ``path`` (a TOML file) replacing theirs."""
    merged = default_thresholds().as_dict()
    if path is not None:
        user = _read_toml(Path(path))
        for name, values in user.items():
            if name not in merged:
                raise ValueError(f"{path}: unknown section [{name}]; known: {sorted(merged)}")
            if not isinstance(values, dict):
                raise ValueError(f"{path}: [{name}] must be a table of key = value lines")
            unknown = set(values) - set(merged[name])
            if unknown:
                raise ValueError(f"{path} [{name}]: unknown key(s) {sorted(unknown)}; known: {sorted(merged[name])}")
            merged[name].update(values)
    return Thresholds.from_dict(merged, source=str(path or DEFAULTS_PATH))
