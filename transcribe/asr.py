"""Speech recognition with faster-whisper, word timestamps on."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from capture.device import default_compute_type, resolve_device
from capture.record import Word
from transcribe.models import DEFAULT_ASR_MODEL, ModelRef, resolve_asr_model

logger = logging.getLogger("tonescribe.asr")

# Whisper is trained on transcripts that mostly leave out "um" and "uh"; a prompt written in a
# disfluent style makes it keep the filled pauses it hears (measured in bench/, see README).
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."


@dataclass(frozen=True)
class AsrOptions:
    model: str = DEFAULT_ASR_MODEL
    device: str = "auto"
    compute_type: str = "auto"
    language: Optional[str] = None
    beam_size: int = 5
    vad_filter: bool = True
    keep_fillers: bool = True
    cpu_threads: int = 0

    def __post_init__(self):
        if self.beam_size < 1:
            raise ValueError("beam_size must be at least 1")


@dataclass(frozen=True)
class AsrResult:
    words: tuple[Word, ...]
    language: Optional[str]
    language_probability: Optional[float]


class Recognizer:
    """A loaded Whisper model; load once, reuse for every recording."""

    def __init__(self, options: AsrOptions = AsrOptions()):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        self.options = options
        self.device = resolve_device(options.device)
        self.compute_type = (
            default_compute_type(self.device) if options.compute_type == "auto" else options.compute_type
        )
        self.model_ref: ModelRef = resolve_asr_model(options.model)
        started = time.perf_counter()
        self._model = WhisperModel(
            self.model_ref.path,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=options.cpu_threads or min(4, os.cpu_count() or 1),
            local_files_only=True,
        )
        self.load_s = time.perf_counter() - started
        logger.info("loaded %s on %s/%s in %.2f s", self.model_ref.name, self.device, self.compute_type, self.load_s)

    @property
    def english_only(self) -> bool:
        return not self._model.model.is_multilingual

    def identity(self) -> dict:
        return {**self.model_ref.identity(), "device": self.device, "compute_type": self.compute_type}

    def transcribe(self, audio_16k: np.ndarray, *, speaker: Optional[str] = None) -> AsrResult:
        opts = self.options
        language = opts.language
        if language is None and self.english_only:
            language = "en"
        segments, info = self._model.transcribe(
            audio_16k,
            language=language,
            beam_size=opts.beam_size,
            word_timestamps=True,
            vad_filter=opts.vad_filter,
            initial_prompt=FILLER_PROMPT if opts.keep_fillers and (language or "en") == "en" else None,
        )
        words: list[Word] = []
        for segment in segments:
            for w in segment.words or ():
                text = w.word.strip()
                if not text or w.end <= w.start and not words:
                    continue
                words.append(
                    Word(
                        text=text,
                        start_s=round(float(w.start), 3),
                        end_s=round(float(max(w.end, w.start)), 3),
                        probability=round(float(w.probability), 4),
                        speaker=speaker,
                    )
                )
        return AsrResult(tuple(words), info.language, round(float(info.language_probability), 4))

    def effective_options(self) -> dict:
        return {**asdict(self.options), "device": self.device, "compute_type": self.compute_type}
