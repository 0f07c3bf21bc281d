"""The Transcript record: plain frozen dataclasses that flow between the stages.

Every stage reads a ``Transcript`` (or its parts) and returns a new one; renderers, exports
and the review UI only read it. ``to_dict``/``from_dict`` give the versioned JSON form
documented in ``capture/schema/transcript.schema.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

SCHEMA_VERSION = "1.4"


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sha256: str
    duration_s: float
    sample_rate_hz: int
    channels: int
    format: str = ""
    codec: str = ""


@dataclass(frozen=True)
class Speaker:
    id: str
    label: str
    channel: Optional[int] = None
    baseline: Optional[dict] = None  # filled by the marks step (prosody/baselines.py)


@dataclass(frozen=True)
class WordProsody:
    duration_s: float
    f0_mean_hz: Optional[float]
    f0_min_hz: Optional[float]
    f0_max_hz: Optional[float]
    f0_mean_st: Optional[float]
    intensity_mean_db: Optional[float]
    intensity_max_db: Optional[float]
    voiced_fraction: float = 0.0


@dataclass(frozen=True)
class Phone:
    """One sound of a word as the forced aligner placed it (ARPAbet label, e.g. ``AY``)."""

    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float
    speaker: Optional[str] = None
    prosody: Optional[WordProsody] = None
    aligned: bool = False  # start_s/end_s from the forced aligner, not the recogniser (transcribe/forced_align.py)
    phones: tuple[Phone, ...] = ()  # the aligner's sounds of the word, when it placed them


@dataclass(frozen=True)
class Utterance:
    speaker: Optional[str]
    start_s: float
    end_s: float
    text: str
    first_word: int
    last_word: int


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker, as the diarization stage found it."""

    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Overlap:
    start_s: float
    end_s: float
    speakers: tuple[str, ...]


@dataclass(frozen=True)
class Pause:
    start_s: float
    end_s: float
    duration_s: float
    speaker_before: Optional[str]
    speaker_after: Optional[str]


@dataclass(frozen=True)
class Mark:
    type: str
    start_s: float
    end_s: float
    first_word: Optional[int]
    last_word: Optional[int]
    speaker: Optional[str]
    value: Any
    confidence: float
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PitchTrack:
    hop_s: float
    start_s: float
    f0_hz: tuple[Optional[float], ...]


@dataclass(frozen=True)
class IntensityTrack:
    hop_s: float
    start_s: float
    db: tuple[Optional[float], ...]


@dataclass(frozen=True)
class SpectralTrack:
    """How far the spectrum's shape moves around each frame (``prosody/spectral.py``): low where a
    sound is held steady. None where it is not measured (the first and last frames)."""

    hop_s: float
    start_s: float
    change: tuple[Optional[float], ...]


@dataclass(frozen=True)
class ChannelTracks:
    """One channel's own tracks, where each speaker has a channel (a microphone each): the marks
    measure a speaker's words on their own channel, not on the recording-wide tracks, which
    follow the loudest channel and so, in overlapping talk, the other speaker's voice."""

    channel: int
    pitch: PitchTrack
    intensity: IntensityTrack
    spectral_change: Optional[SpectralTrack] = None  # from schema 1.4


@dataclass(frozen=True)
class TimeSpan:
    start_s: float
    end_s: float


@dataclass(frozen=True)
class QualityWarning:
    """Something about the recording that makes some measures less trustworthy (``code``: one of
    ``capture.quality.WARNING_CODES``), said in a sentence for the researcher."""

    code: str
    message: str


@dataclass(frozen=True)
class ChannelQuality:
    """One speaker's channel (where each speaker has one): its own clipping, levels and background."""

    channel: int
    clipped_fraction: float = 0.0
    speech_level_dbfs: Optional[float] = None
    noise_level_dbfs: Optional[float] = None
    noise_measured_in: Optional[str] = None
    snr_db: Optional[float] = None


@dataclass(frozen=True)
class RecordingQuality:
    """How fit the recording is for the measures (``capture/quality.py``): levels in dBFS (0 is
    full scale), the signal-to-noise ratio as speech frames' level over the pauses' level. Every
    field has a default, so a field added in a later 1.x still reads the files written before it."""

    peak_dbfs: Optional[float] = None
    clipped_fraction: float = 0.0
    clipped_spans: tuple[TimeSpan, ...] = ()
    speech_level_dbfs: Optional[float] = None
    noise_level_dbfs: Optional[float] = None
    noise_measured_in: Optional[str] = None  # "pauses", or "quietest_talk" where the talk has too few
    snr_db: Optional[float] = None
    channels: tuple[ChannelQuality, ...] = ()  # where each speaker has a channel (channel_tracks)
    warnings: tuple[QualityWarning, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    version: str
    models: dict
    options: dict
    device: str
    timings_s: dict


@dataclass(frozen=True)
class Transcript:
    audio: AudioInfo
    pipeline: Pipeline
    language: Optional[str] = None
    speakers: tuple[Speaker, ...] = ()
    words: tuple[Word, ...] = ()
    utterances: tuple[Utterance, ...] = ()
    turns: tuple[Turn, ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    pauses: tuple[Pause, ...] = ()
    marks: tuple[Mark, ...] = ()
    pitch: Optional[PitchTrack] = None
    intensity: Optional[IntensityTrack] = None
    channel_tracks: tuple[ChannelTracks, ...] = ()
    quality: Optional[RecordingQuality] = None
    spectral_change: Optional[SpectralTrack] = None  # from schema 1.4
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict:
        out = {"schema_version": self.schema_version}
        for f in dataclasses.fields(self):
            if f.name != "schema_version":
                out[f.name] = _plain(getattr(self, f.name))
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Transcript":
        check_major_version(data, SCHEMA_VERSION, what="transcript",
                            advice="re-run `tonescribe process` or upgrade")
        return _build(cls, data)

    @classmethod
    def load(cls, path: str | Path) -> "Transcript":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def check_major_version(data: dict, reads: str, *, what: str, advice: str, error: type = ValueError) -> str:
    """The ``schema_version`` of ``data`` if this code reads its major version, else ``error``
    with a message saying what to do."""
    version = str(data.get("schema_version", ""))
    major = reads.split(".")[0]
    if version.split(".")[0] != major:
        raise error(f"{what} schema_version {version!r} is not readable by this tonescribe (reads {major}.x); {advice}")
    return version


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN has no JSON form: it means "not measured"
        return None
    return value


@functools.lru_cache(maxsize=None)
def _fields_of(tp: Any) -> dict:
    hints = typing.get_type_hints(tp)  # slow (evaluates annotations): once per class, not per record
    return {f.name: hints[f.name] for f in dataclasses.fields(tp)}


@functools.lru_cache(maxsize=None)
def _holds_records(tp: Any) -> bool:
    """Whether values of type ``tp`` contain dataclasses or tuples to build (else JSON values pass as they are)."""
    return (dataclasses.is_dataclass(tp) or typing.get_origin(tp) is tuple
            or any(_holds_records(a) for a in typing.get_args(tp)))


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        (item, *_rest) = typing.get_args(tp)
        if not _holds_records(item):  # e.g. an hour of 10 ms pitch values: no per-value work
            return tuple(value)
        return tuple(_build(item, v) for v in value)
    if dataclasses.is_dataclass(tp):
        fields = _fields_of(tp)
        return tp(**{k: _build(fields[k], v) for k, v in value.items() if k in fields})
    return value


def replace(record: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported so stages need only this module."""
    return dataclasses.replace(record, **changes)
