"""Orchestration: one recording through decode -> asr -> align -> diarization -> prosody.

Each stage's result is a (partial) ``Transcript``; a ``Checkpoint`` may store it so a restarted
job skips finished stages. Models live in an ``Engine`` that loads them once and is reused
across recordings. Progress goes to an optional ``hook(stage, event, info)``.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

from capture import __version__
from capture.audio16k import DecodedAudio, decode_to_folder, scratch_folder
from capture.quality import QualityOptions, assess
from capture.record import Pipeline, Transcript, replace
from prosody.marks import annotate
from prosody.measure import ProsodyOptions, measure
from prosody.pitch import pitch_model_identity
from prosody.thresholds import Thresholds, default_thresholds
from transcribe.align import build_utterances, overlaps_of, stable_ids
from transcribe.asr import AsrOptions, Recognizer
from transcribe.longform import transcribe_in_blocks
from transcribe.diarize import BACKENDS, SpeakerOptions, choose_mode, turns_from_words
from transcribe.forced_align import AlignOptions, WordAligner, align_words, applies_to

logger = logging.getLogger("tonescribe.pipeline")

STAGES = ("decode", "asr", "align", "diarization", "prosody")
Hook = Callable[[str, str, dict], None]


@dataclass(frozen=True)
class ProcessOptions:
    asr: AsrOptions = field(default_factory=AsrOptions)
    align: AlignOptions = field(default_factory=AlignOptions)
    speakers: SpeakerOptions = field(default_factory=SpeakerOptions)
    prosody: ProsodyOptions = field(default_factory=ProsodyOptions)
    thresholds: Thresholds = field(default_factory=default_thresholds)
    quality: QualityOptions = field(default_factory=QualityOptions)
    utterance_gap_s: float = 1.5

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class Checkpoint(Protocol):
    def load(self, stage: str) -> Optional[Transcript]: ...
    def save(self, stage: str, transcript: Transcript) -> None: ...


class Engine:
    """Holds loaded models; ``process`` may be called for any number of recordings."""

    def __init__(self, options: ProcessOptions = ProcessOptions(), hook: Optional[Hook] = None,
                 scratch_dir: Optional[str | Path] = None):
        self.options = options
        self.scratch_dir = scratch_dir  # where decoded samples wait while a recording is processed
        self.hook = hook or (lambda stage, event, info: None)
        self._recognizer: Optional[Recognizer] = None
        self.aligner = WordAligner(options.align)

    def recognizer(self) -> tuple[Recognizer, float]:
        """The loaded recognizer and the seconds spent loading it just now (0 when warm)."""
        if self._recognizer is None:
            self.hook("model_load", "start", {"model": self.options.asr.model})
            self._recognizer = Recognizer(self.options.asr)
            seconds = self._recognizer.load_s + self._preload_diarizer()
            self.hook("model_load", "end", {"seconds": seconds})
            return self._recognizer, seconds
        return self._recognizer, 0.0

    def _preload_diarizer(self) -> float:
        """Load the speaker model the options will most likely use now, so that its loading is
        counted as model loading and not as the first recording's diarization."""
        mode = self.options.speakers.mode
        if mode == "auto":
            mode = next((name for name, b in BACKENDS.items() if getattr(b, "available", lambda: True)()), "none")
        identity = getattr(BACKENDS.get(mode), "identity", None)
        if identity is None:
            return 0.0
        started = time.perf_counter()
        try:
            identity(self.options.speakers)
        except Exception as exc:  # the diarization stage reports it properly, per recording
            logger.debug("could not preload the %s diarizer: %s", mode, exc)
        return time.perf_counter() - started

    def process(self, path: str | Path, checkpoint: Optional[Checkpoint] = None) -> Transcript:
        """Run every stage not already in ``checkpoint``. The recording is decoded into a private
        scratch folder of 16 kHz samples that stages read block by block; the folder is removed
        before this returns, whatever happens."""
        folder = scratch_folder(self.scratch_dir)
        try:
            return self._process(path, checkpoint, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _process(self, path: str | Path, checkpoint: Optional[Checkpoint], folder: Path) -> Transcript:
        timings: dict[str, float] = {}
        recognizer, timings["model_load"] = self.recognizer()

        def run(stage: str, fn, *args):
            self.hook(stage, "start", {"path": str(path)})
            started = time.perf_counter()
            result = fn(*args)
            timings[stage] = round(time.perf_counter() - started, 3)
            self.hook(stage, "end", {"seconds": timings[stage]})
            return result

        audio = run("decode", lambda: decode_to_folder(path, folder, quality=self.options.quality))
        done = None
        for stage in reversed(STAGES[1:]):
            done = checkpoint.load(stage) if checkpoint else None
            if done is not None and done.audio.sha256 == audio.info.sha256:
                logger.info("%s: resuming after stage %s", path, stage)
                timings.update({k: v for k, v in done.pipeline.timings_s.items() if k in STAGES[1:]})
                break
            done = None
        reached = STAGES.index(done.pipeline.options["stage_reached"]) if done else 0
        partial = done or Transcript(audio=audio.info, pipeline=self._pipeline(recognizer, {}, timings, "decode"))

        for stage, fn in (("asr", self._asr), ("align", self._align), ("diarization", self._diarize),
                          ("prosody", self._prosody)):
            if STAGES.index(stage) <= reached:
                continue
            partial = run(stage, fn, audio, recognizer, partial)
            partial = replace(partial, pipeline=self._pipeline(recognizer, partial.pipeline.options, timings, stage))
            if checkpoint is not None and stage != "prosody":
                checkpoint.save(stage, partial)
        timings["total"] = round(sum(v for k, v in timings.items() if k in STAGES), 3)
        quality = assess(partial, audio.clipping, self.options.quality)
        for warning in quality.warnings:
            logger.warning("%s: %s", path, warning.message)
        return replace(partial, quality=quality,
                       pipeline=self._pipeline(recognizer, partial.pipeline.options, timings, "prosody"))

    def _pipeline(self, recognizer: Recognizer, found: dict, timings: dict, stage: str) -> Pipeline:
        """The effective options, models and timings; ``found`` is the previous stages' options,
        whose findings (speaker mode chosen, words aligned) are carried over."""
        options = self.options.as_dict()
        options["asr"] = recognizer.effective_options()
        chosen = options["speakers_chosen"] = found.get("speakers_chosen", {})
        for key in ("words_aligned", "asr_windows_redecoded"):
            if key in found:
                options[key] = found[key]
        options["stage_reached"] = stage
        models = {"asr": recognizer.identity(), "pitch": pitch_model_identity()}
        if chosen.get("model"):
            models["diarization"] = chosen["model"]
        if "words_aligned" in options:
            models["alignment"] = self.aligner.identity()
        return Pipeline(version=__version__, models=models, options=options, device=recognizer.device,
                        timings_s={k: round(v, 3) for k, v in timings.items()})

    def _asr(self, audio: DecodedAudio, recognizer: Recognizer, partial: Transcript) -> Transcript:
        mode, evidence = choose_mode(audio, self.options.speakers)
        chosen = {"mode": mode, **evidence}
        if mode == "channels":
            words, language, loops = [], None, 0
            for c in range(audio.info.channels):
                result = transcribe_in_blocks(recognizer, audio, channel=c, speaker=f"ch{c}")
                words.extend(result.words)
                language = language or result.language
                loops += result.redecoded_windows
        else:
            result = transcribe_in_blocks(recognizer, audio)
            words, language, loops = list(result.words), result.language, result.redecoded_windows
        words.sort(key=lambda w: (w.start_s, w.end_s))
        pipeline = replace(partial.pipeline, options={**partial.pipeline.options, "speakers_chosen": chosen,
                                                      "asr_windows_redecoded": loops})
        return replace(partial, words=tuple(words), language=language, pipeline=pipeline)

    def _align(self, audio: DecodedAudio, recognizer: Recognizer, partial: Transcript) -> Transcript:
        """Forced alignment of the recognised words (English; per channel when speakers are channels)."""
        if not self.options.align.enabled or not applies_to(partial.language) or not partial.words:
            return partial
        chosen = partial.pipeline.options["speakers_chosen"]
        by_channel: dict = {}
        for w in partial.words:
            by_channel.setdefault(w.speaker if chosen["mode"] == "channels" else None, []).append(w)
        words, totals = [], {}
        for speaker, mine in by_channel.items():
            channel = int(speaker[2:]) if speaker else None
            got, stats = align_words(audio, mine, self.aligner, channel=channel)
            words.extend(got)
            totals = {k: totals.get(k, 0) + v for k, v in stats.items()}
        words.sort(key=lambda w: (w.start_s, w.end_s))
        pipeline = replace(partial.pipeline, options={**partial.pipeline.options, "words_aligned": totals})
        return replace(partial, words=tuple(words), pipeline=pipeline)

    def _diarize(self, audio: DecodedAudio, recognizer: Recognizer, partial: Transcript) -> Transcript:
        chosen = partial.pipeline.options["speakers_chosen"]
        mode = chosen["mode"]
        words = list(partial.words)
        channels = None
        merge = self.options.speakers.turn_merge_gap_s
        if mode == "channels":
            channels = {f"ch{c}": c for c in range(audio.info.channels)}
            turns = turns_from_words(words, merge_gap_s=merge)
        elif mode == "none":
            words = [replace(w, speaker="S1") for w in words]
            turns = turns_from_words(words, merge_gap_s=merge)
        else:
            from transcribe.align import assign_words

            turns = BACKENDS[mode](audio, self.options.speakers)
            words = assign_words(words, turns)
            identity = getattr(BACKENDS[mode], "identity", None)
            if identity is not None:
                chosen = {**chosen, "model": identity(self.options.speakers)}
                partial = replace(partial, pipeline=replace(
                    partial.pipeline, options={**partial.pipeline.options, "speakers_chosen": chosen}))
        words, turns, speakers = stable_ids(words, turns, channels)
        words, utterances = build_utterances(words, max_gap_s=self.options.utterance_gap_s)
        return replace(partial, words=tuple(words), turns=tuple(turns), speakers=tuple(speakers),
                       overlaps=tuple(overlaps_of(turns)), utterances=tuple(utterances))

    def _prosody(self, audio: DecodedAudio, recognizer: Recognizer, partial: Transcript) -> Transcript:
        result = measure(audio, partial.words, partial.speakers, self.options.prosody)
        measured = replace(partial, words=result.words, pauses=result.pauses, pitch=result.pitch,
                           intensity=result.intensity, channel_tracks=result.channel_tracks,
                           spectral_change=result.spectral_change)
        return annotate(measured, self.options.thresholds)

