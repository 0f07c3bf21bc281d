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

# Whisper is trained on transcripts that mostly leave out "um" and "uh". Whatever fillers it does
# write are kept. A prompt in a disfluent style can make it write more, but measured on the corpus
# (README) it made the bundled models 2-4x slower (temperature fallbacks) for one more filler in
# nine, and with beam search it dropped whole stretches of talk: so it is opt-in.
FILLER_PROMPT = "So, um, I was, uh, thinking... Mm-hmm. Yeah, um, right."


@dataclass(frozen=True)
class AsrOptions:
    model: str = DEFAULT_ASR_MODEL
    device: str = "auto"
    compute_type: str = "auto"
    language: Optional[str] = None
    beam_size: int = 1
    vad_filter: bool = True
    filler_prompt: bool = False
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
        self.fallback_reason: Optional[str] = None
        started = time.perf_counter()
        self._model = self._load(WhisperModel)
        if self.device == "cuda":
            try:
                self._smoke_test()
            except RuntimeError as exc:  # e.g. CTranslate2 built for another CUDA than the machine has
                if options.device == "cuda":
                    raise ValueError(f"--device cuda: CTranslate2 cannot run on this GPU ({exc})") from None
                self.fallback_reason = f"CUDA present but unusable by CTranslate2 ({exc}); running on CPU"
                logger.warning(self.fallback_reason)
                self.device, self.compute_type = "cpu", default_compute_type("cpu")
                self._model = self._load(WhisperModel)
        self.load_s = time.perf_counter() - started
        logger.info("loaded %s on %s/%s in %.2f s", self.model_ref.name, self.device, self.compute_type, self.load_s)

    def _load(self, model_class):
        return model_class(
            self.model_ref.path,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.options.cpu_threads or min(4, os.cpu_count() or 1),
            local_files_only=True,
        )

    def _smoke_test(self) -> None:
        """Loading succeeds even when the CUDA libraries CTranslate2 needs are missing; the first
        encode fails. Find out now, not in the middle of a recording."""
        segments, _ = self._model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1,
                                             vad_filter=False, without_timestamps=True)
        list(segments)

    @property
    def english_only(self) -> bool:
        return not self._model.model.is_multilingual

    def identity(self) -> dict:
        out = {**self.model_ref.identity(), "device": self.device, "compute_type": self.compute_type}
        if self.fallback_reason:
            out["device_fallback"] = self.fallback_reason
        return out

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
            initial_prompt=FILLER_PROMPT if opts.filler_prompt and (language or "en") == "en" else None,
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
