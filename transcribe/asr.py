"""Speech recognition with faster-whisper, word timestamps on.

Two decoders, chosen by ``AsrOptions.batch_size``:

- 1: faster-whisper's sequential decoder: one 30 s window after another, each conditioned on
  the text before it, with temperature fallback when a window decodes badly.
- 2 or more: its ``BatchedInferencePipeline``: the speech regions found by the VAD are packed
  into windows of at most 30 s and ``batch_size`` windows are encoded and decoded at once,
  independently of each other (no conditioning, no temperature fallback). A window that comes
  back as a repetition loop (gzip compression ratio of its text above faster-whisper's own
  ``compression_ratio_threshold``, 2.4: e.g. "the proposals which could not resolved all the
  proposals which could ..." for 8 s of speech) is decoded again by the sequential decoder, which
  falls back to higher temperatures for exactly that case. A window decoded without timestamps
  can also end early: after "He wrote a long letter." and a 1.5 s pause the model wrote its end
  of text and the next 4 s of speech ("to his brother about the journey ...") were lost, with no
  error. So the speech the VAD found is checked against the words: a stretch of it at least
  ``SKIPPED_SPEECH_S`` long with no word within ``WORD_REACH_S`` is decoded again by the
  sequential decoder, on its own, and its words are put in their place. The sequential
  decoder's own output gets the same check: it skips speech too (5 s of the two-voice test
  fixture, whose words come back when that stretch is decoded alone).

A CUDA out-of-memory error during recognition halves the batch size and retries, down to the
sequential decoder, then reloads the model on the CPU: the recording is slower, not lost.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Optional

import numpy as np

from capture.decode import ASR_SAMPLE_RATE_HZ
from capture.device import (available_cpu_cores, check_cpu_isa, cpu_identity, default_compute_type, hold_cpu_isa,
                            resolve_device)
from capture.record import Word
from transcribe.models import DEFAULT_ASR_MODEL, ModelRef, resolve_asr_model

logger = logging.getLogger("tonescribe.asr")

# Whisper is trained on transcripts that mostly leave out "um" and "uh". Whatever fillers it does
# write are kept. A prompt in a disfluent style can make it write more, but measured on the corpus
# (README) it made the bundled models 2-4x slower (temperature fallbacks) for one more filler in
# nine, and with beam search it dropped whole stretches of talk: so it is opt-in.
FILLER_PROMPT = "So, um, I was, uh, thinking... Mm-hmm. Yeah, um, right."

# batch_size=0 picks these. On a GPU batching is where the throughput is (faster-whisper's and
# WhisperX's published speeds are batched; 16 is their documented example); a card too small for
# 16 windows of the chosen model is handled by the out-of-memory halving below. On the 2-core CPU
# machine (bench/bench_asr_batching.py, README "Batched recognition") any batch beat sequential
# decoding and 4 used the least CPU time on a 4-minute recording (2 and 8 within 10 %).
CUDA_BATCH_SIZE = 16
CPU_BATCH_SIZE = 4
# faster-whisper's default compression_ratio_threshold: text that gzip compresses more than this
# is a decoding loop, not speech.
REPETITION_COMPRESSION_RATIO = 2.4
# Speech the VAD found (its regions are padded by 0.4 s) that lies this far from every recognised
# word, over at least SKIPPED_SPEECH_S, is speech the decoder skipped.
WORD_REACH_S = 0.5
SKIPPED_SPEECH_S = 1.0
# A window that fails faster-whisper's checks at temperature 0 is decoded again by random sampling
# at higher temperatures. CTranslate2 seeds its generator from the operating system unless told a
# seed, once per worker thread, at that thread's first sample, and never again: the same recording
# came out as "to get brother" or "tuck is brother" from one run to the next (once with a
# hallucinated word and three lost), and a recording's words depended on what the same model had
# sampled before it. So the seed is fixed, and a model that has sampled is loaded afresh before its
# next recording: the same audio gives the same words, whatever came before it.
SAMPLING_SEED = 0


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
    batch_size: int = 0
    cpu_isa: str = "native"  # capture.device.CPU_ISAS: "avx2" runs the same int8 kernels on any x86-64 with AVX2

    def __post_init__(self):
        if self.beam_size < 1:
            raise ValueError("beam_size must be at least 1")
        if self.batch_size < 0:
            raise ValueError("batch_size must be 0 (auto), 1 (sequential decoding) or more")
        if self.cpu_threads < 0:
            raise ValueError("cpu_threads must be 0 (all available cores) or more")
        check_cpu_isa(self.cpu_isa)


@dataclass(frozen=True)
class AsrResult:
    words: tuple[Word, ...]
    language: Optional[str]
    language_probability: Optional[float]
    redecoded_windows: int = 0  # loops (batched) and stretches of skipped speech, decoded again sequentially


def uncovered(start_s: float, end_s: float, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of [start_s, end_s) outside every (sorted) span."""
    out, at = [], start_s
    for a, b in spans:
        if b <= at:
            continue
        if a >= end_s:
            break
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < end_s:
        out.append((at, end_s))
    return out


def _same_word(a: str, b: str) -> bool:
    return a.strip(" .,!?;:-\"'…").lower() == b.strip(" .,!?;:-\"'…").lower()


def without_repeated_edges(found: list, kept: list) -> list:
    """``found`` (words decoded again, in time order) without a first or last word that is the
    kept word just before or after it said once more: the two decoders place the same word
    a few hundred ms apart ("that you don't. don't." on the AMI mixture), so its middle can fall
    outside the kept word. Within ``2 * WORD_REACH_S``; a real repeat further off stays."""
    found = list(found)
    if found:
        before = [w for w in kept if w.end <= found[0].start + WORD_REACH_S]
        if before and found[0].start - before[-1].end <= 2 * WORD_REACH_S and _same_word(found[0].word, before[-1].word):
            found.pop(0)
    if found:
        after = [w for w in kept if w.start >= found[-1].end - WORD_REACH_S]
        if after and after[0].start - found[-1].end <= 2 * WORD_REACH_S and _same_word(found[-1].word, after[0].word):
            found.pop()
    return found


def is_out_of_memory(exc: BaseException) -> bool:
    """CTranslate2 turns a failed CUDA allocation into ``RuntimeError("CUDA failed with error out
    of memory")``, and a failed cuBLAS workspace into ``RuntimeError("cuBLAS failed with status
    CUBLAS_STATUS_ALLOC_FAILED")``."""
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "CUBLAS_STATUS_ALLOC_FAILED" in text)


class _NotingSamples:
    """The CTranslate2 model, noting whether a decoding has sampled (faster-whisper asks for
    ``sampling_topk=0`` at a fallback temperature; 1 is greedy or beam search)."""

    def __init__(self, model):
        self._model = model
        self.sampled = False

    def generate(self, *args, **kwargs):
        if kwargs.get("sampling_topk", 1) != 1:
            self.sampled = True
        return self._model.generate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._model, name)


class Recognizer:
    """A loaded Whisper model; load once, reuse for every recording."""

    def __init__(self, options: AsrOptions = AsrOptions()):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

        self.options = options
        self.cpu = cpu_identity(hold_cpu_isa(options.cpu_isa))  # held before any model computes
        self.device = resolve_device(options.device)
        self.compute_type = (
            default_compute_type(self.device) if options.compute_type == "auto" else options.compute_type
        )
        self.cpu_threads = options.cpu_threads or available_cpu_cores()
        self.model_ref: ModelRef = resolve_asr_model(options.model)
        self.fallback_reason: Optional[str] = None
        self.memory_fallbacks: list[str] = []
        started = time.perf_counter()
        self._model = self._load(self.device, self.compute_type)
        if self.device == "cuda":
            try:
                self._smoke_test()
            except RuntimeError as exc:  # e.g. CTranslate2 built for another CUDA than the machine has
                if options.device == "cuda":
                    raise ValueError(f"--device cuda: CTranslate2 cannot run on this GPU ({exc})") from None
                self.fallback_reason = f"CUDA present but unusable by CTranslate2 ({exc}); running on CPU"
                logger.warning(self.fallback_reason)
                self._move_to_cpu()
        self.batch_size = self._default_batch_size()
        self.load_s = time.perf_counter() - started
        logger.info("loaded %s on %s/%s in %.2f s (batch size %d)", self.model_ref.name, self.device,
                    self.compute_type, self.load_s, self.batch_size)

    def _load(self, device: str, compute_type: str):
        import ctranslate2
        from faster_whisper import WhisperModel

        ctranslate2.set_random_seed(SAMPLING_SEED)  # read by each worker thread at its first sample
        model = WhisperModel(
            self.model_ref.path,
            device=device,
            compute_type=compute_type,
            cpu_threads=self.cpu_threads,
            local_files_only=True,
        )
        model.model = self._sampling = _NotingSamples(model.model)
        return model

    def _fresh_generator(self) -> None:
        """The model loaded again if it has sampled, so this recording's samples start from the seed."""
        if self._sampling.sampled:
            logger.debug("the model sampled (temperature fallback): loading it again for a fresh generator")
            self._model = None
            self._model = self._load(self.device, self.compute_type)

    def _move_to_cpu(self) -> None:
        self._model = None  # let CTranslate2 free the GPU copy before the CPU one is built
        self.device, self.compute_type = "cpu", default_compute_type("cpu")
        self._model = self._load(self.device, self.compute_type)

    def _default_batch_size(self) -> int:
        if not self.options.vad_filter:
            # The batched pipeline finds its windows with the VAD; without it, sequential it is.
            return 1
        if self.options.batch_size:
            return self.options.batch_size
        return CUDA_BATCH_SIZE if self.device == "cuda" else CPU_BATCH_SIZE

    def _smoke_test(self) -> None:
        """Loading succeeds even when the CUDA libraries CTranslate2 needs are missing; the first
        encode fails. Find out now, not in the middle of a recording."""
        segments, _ = self._model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1,
                                             vad_filter=False, without_timestamps=True)
        list(segments)

    @property
    def english_only(self) -> bool:
        return not self._model.model.is_multilingual

    @property
    def decoder(self) -> str:
        return "batched" if self.batch_size > 1 else "sequential"

    def identity(self) -> dict:
        out = {**self.model_ref.identity(), "device": self.device, "compute_type": self.compute_type,
               "decoder": self.decoder, "batch_size": self.batch_size}
        if self.device == "cpu":
            out["cpu_threads"] = self.cpu_threads
            out["cpu"] = self.cpu
        if self.fallback_reason:
            out["device_fallback"] = self.fallback_reason
        if self.memory_fallbacks:
            out["memory_fallbacks"] = list(self.memory_fallbacks)
        return out

    def effective_options(self) -> dict:
        return {**asdict(self.options), "device": self.device, "compute_type": self.compute_type,
                "cpu_threads": self.cpu_threads, "batch_size": self.batch_size, "sampling_seed": SAMPLING_SEED}

    def transcribe(self, audio_16k: np.ndarray, *, speaker: Optional[str] = None) -> AsrResult:
        while True:
            self._fresh_generator()
            try:
                return self._transcribe_once(audio_16k, speaker)
            except RuntimeError as exc:
                if self.device != "cuda" or not is_out_of_memory(exc):
                    raise
                self._shrink_after_out_of_memory(exc)

    def _shrink_after_out_of_memory(self, exc: RuntimeError) -> None:
        """Half the batch, down to sequential decoding, then the CPU. It stays that way for the
        recordings after this one: whatever took the GPU memory is likely still there."""
        if self.batch_size > 1:
            smaller = self.batch_size // 2
            note = f"CUDA out of memory at batch size {self.batch_size} ({exc}); retrying at batch size {smaller}"
            self.batch_size = smaller
        else:
            note = f"CUDA out of memory with sequential decoding ({exc}); model reloaded on CPU"
            self._move_to_cpu()
            self.batch_size = self._default_batch_size()
        logger.warning(note)
        self.memory_fallbacks.append(note)

    def _segments(self, audio_16k: np.ndarray, language: Optional[str]):
        opts = self.options
        kwargs = dict(
            language=language,
            beam_size=opts.beam_size,
            word_timestamps=True,
            vad_filter=opts.vad_filter,
            initial_prompt=FILLER_PROMPT if opts.filler_prompt and (language or "en") == "en" else None,
        )
        if self.batch_size > 1:
            from faster_whisper import BatchedInferencePipeline

            # A fresh pipeline per call: it carries word-timing state from one batch to the next,
            # which a call that failed half-way must not pass on to its retry.
            return BatchedInferencePipeline(self._model).transcribe(audio_16k, batch_size=self.batch_size, **kwargs)
        return self._model.transcribe(audio_16k, **kwargs)

    def _without_loops(self, segments, audio_16k: np.ndarray, language: Optional[str]) -> tuple[list, int]:
        """The batched decoder's segments, each one that is a repetition loop replaced by the
        sequential decoder's segments for the same stretch of audio (times moved back in place),
        and how many were replaced."""
        out, loops = [], 0
        for segment in segments:
            if self.batch_size <= 1 or segment.compression_ratio <= REPETITION_COMPRESSION_RATIO:
                out.append(segment)
                continue
            logger.info("repetition loop in %.1f-%.1f s (compression ratio %.1f): decoding it again sequentially",
                        segment.start, segment.end, segment.compression_ratio)
            loops += 1
            out.extend(self._sequential(audio_16k, segment.start, segment.end, language))
        return out, loops

    def _sequential(self, audio_16k: np.ndarray, start_s: float, end_s: float, language: Optional[str]) -> list:
        """The sequential decoder's segments for [start_s, end_s) of the audio, on its clock (no VAD:
        the stretch is speech already, and on a few seconds cut from the middle of talk a second
        VAD pass found none)."""
        start = max(0, int(start_s * ASR_SAMPLE_RATE_HZ))
        stop = min(len(audio_16k), int(np.ceil(end_s * ASR_SAMPLE_RATE_HZ)))
        again, _ = self._model.transcribe(
            audio_16k[start:stop], language=language, beam_size=self.options.beam_size, word_timestamps=True,
            vad_filter=False, initial_prompt=None)
        offset = start / ASR_SAMPLE_RATE_HZ
        return [replace(s, start=s.start + offset, end=s.end + offset, words=[
            replace(w, start=w.start + offset, end=w.end + offset) for w in s.words or ()]) for s in again]

    def _with_skipped_speech(self, segments: list, audio_16k: np.ndarray,
                             language: Optional[str]) -> tuple[list, int]:
        """The decoder's segments plus the sequential decoder's for each stretch of speech (as the
        VAD finds it) that they left without words, and how many stretches. The VAD runs a second
        time here (faster-whisper ran it already and does not return its regions): about 0.2 % of
        real time on the CPU."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # the options BatchedInferencePipeline finds its windows with
        regions = get_speech_timestamps(audio_16k, VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160))
        kept = sorted((w for s in segments for w in s.words or ()), key=lambda w: w.start)
        words = [(w.start, w.end) for w in kept]
        spans = [(a - WORD_REACH_S, b + WORD_REACH_S) for a, b in words]
        added, stretches = [], 0
        for region in regions:
            start_s, end_s = region["start"] / ASR_SAMPLE_RATE_HZ, region["end"] / ASR_SAMPLE_RATE_HZ
            skipped = [(a, b) for a, b in uncovered(start_s, end_s, spans) if b - a >= SKIPPED_SPEECH_S]
            if not skipped:
                continue
            logger.info("no words for the speech in %s: decoding %.1f-%.1f s again sequentially",
                        ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in skipped), start_s, end_s)
            stretches += len(skipped)
            # The whole VAD region (at most 30 s), not just the stretch: cut from the middle of
            # talk, a few seconds came back with no words at all. Its words in the skipped
            # stretches are kept; those beside them are the first decoding's already.
            for segment in self._sequential(audio_16k, start_s, end_s, language):
                found = [w for w in segment.words or () if any(
                    a - WORD_REACH_S <= (w.start + w.end) / 2 <= b + WORD_REACH_S for a, b in skipped)
                    and not any(x <= (w.start + w.end) / 2 <= y for x, y in words)]
                found = without_repeated_edges(found, kept)
                if found:
                    added.append(replace(segment, start=found[0].start, end=found[-1].end, words=found))
        return sorted(segments + added, key=lambda s: s.start), stretches

    def _transcribe_once(self, audio_16k: np.ndarray, speaker: Optional[str]) -> AsrResult:
        language = self.options.language
        if language is None and self.english_only:
            language = "en"
        segments, info = self._segments(audio_16k, language)
        segments, loops = self._without_loops(segments, audio_16k, language)
        if self.options.vad_filter:
            segments, skipped = self._with_skipped_speech(segments, audio_16k, language)
            loops += skipped
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
        return AsrResult(tuple(words), info.language, round(float(info.language_probability), 4), loops)
