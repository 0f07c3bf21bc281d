"""Word edges from a forced aligner: the recognised words, re-timed on the audio phone by phone.

Whisper's word times come from its cross-attention and are often 0.1-0.3 s off (measured on the
prosody test set against espeak-ng's and the LJ Speech TextGrids' true times: median 0.10 s,
90th percentile 0.24 s). Every relative judgement of the prosodic marks (this word louder,
higher, longer than its neighbours) and every pause edge depends on where a word begins and
ends, so the recognised words are aligned again with an HMM acoustic model: PocketSphinx's
bundled US English model and CMU dictionary, which ship inside the ``pocketsphinx`` wheel (no
download). On the same test set the aligned starts are off by a median of 0.02 s.

The words are aligned in chunks between long gaps (``gap_s``), at most ``max_words`` at a time.
A chunk the aligner cannot finish (its search ends in silence before the last word, which
happens on unusual voices) is first tried again with a narrower search beam (``retry_beams``),
then split at its widest gap between words, cut at the quietest 10 ms there, and each half is
tried again, down to single words; a word that still fails keeps the recogniser's times, within
the room its aligned neighbours leave. (The narrower beam is a retry, not the default: on the
synthetic half of the prosody test set it finishes most chunks the default beam cannot, words
within 50 ms of their true edges 61 -> 74 %, 76 % with the second run below; as the only beam
it left more of the LJ Speech words without phones, 1e-20 1404 and 1e-17 1139 of 1656 against
1423, and 1e-15 moved their edges. ``bench/bench_alignment.py``.) Then the alignment runs once
more (``passes``) over the stretches that did not align whole, from the times the first run
gave them. An alignment that puts a word more than ``max_shift_s`` outside the span where the
recogniser heard it is not believed either. Words not in the dictionary (names, numbers) are aligned as PocketSphinx's
generic speech filler so that their neighbours still align, and keep their own recognised times.
Aligned words carry ``aligned=True`` and their ``phones`` (ARPAbet labels with times, from a second
pass of the aligner over the chunk). That pass prunes harder than the first and gives up on some
chunks whole; it is then run on the chunk's two halves, cut at the first pass's word edges, each
half halved again where it fails, down to single words (before, it went word by word at once:
a single word's piece often does not align, and on seeds 4 and 5 of the prosody test set 1539 of
1713 synthetic and 2833 of 3312 edited LJ words got phones; in halves 1574 and 3187, for about a
fifth more aligning time on those items, 116 -> 139 s, and 25.7 -> 29.8 s on 10 minutes of corpus
audio with 2 workers). A word whose phones from the chunk's pass do not meet
its edges (within ``PHONE_EDGE_FRAMES``) is given phones aligned on its own span instead.
English only: other languages keep the recogniser's times. The cost is about 5 % of real time on
one core (``bench/bench_speed.py``: 33 s for 10 minutes of corpus audio); stretches between long
gaps are independent, and so are the pieces of at most ``max_words`` a long stretch is cut into,
so recordings with more than ``PARALLEL_MIN_AUDIO_S`` of talk are aligned piece by piece in worker
processes (16 s for the same 10 minutes on 2 cores), falling back to this process if a worker
fails.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from capture.audio16k import Audio16k
from capture.decode import ASR_SAMPLE_RATE_HZ
from capture.device import available_cpu_cores
from capture.record import Phone, Word, replace

logger = logging.getLogger("tonescribe.align")

FRAME_S = 0.01  # PocketSphinx's frame rate: 100 frames a second
SAMPLES_PER_FRAME = int(FRAME_S * ASR_SAMPLE_RATE_HZ)
BYTES_PER_FRAME = 2 * SAMPLES_PER_FRAME  # 16-bit samples, as PocketSphinx takes them
PHONE_EDGE_FRAMES = 5  # the phone pass may move a word's edges by this much and keep its phones
MAX_WORKERS = 8
# Stretches holding less audio than this are aligned in this process, unless the workers are
# already running (starting them takes about 0.5 s). Measured, align stage in one process / in
# two workers: the 17 s sample 0.54 / 0.76 s, AMI's first 30 s 5.2 / 4.3 s, the AMI minute
# 8.4 / 4.8 s (README, Speed).
PARALLEL_MIN_AUDIO_S = 25.0
SPEECH_FILLER = "[SPEECH]"
_FILLERS = {"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]"}


@dataclass(frozen=True)
class AlignJob:
    """One piece of a stretch between long gaps, for ``align_piece``: words ``piece`` (a range of
    indices into the stretch's ``times`` and ``tokens``) of the stretch whose audio runs from
    ``lo_s`` to ``hi_s`` (``n_samples`` samples). ``samples`` holds only the part of it the piece
    reads, from sample ``offset`` on, so a worker process is not sent the whole stretch for each
    of its pieces."""
    samples: np.ndarray
    offset: int
    n_samples: int
    lo_s: float
    hi_s: float
    times: tuple
    tokens: tuple
    piece: tuple[int, int]


@dataclass(frozen=True)
class AlignOptions:
    enabled: bool = True
    gap_s: float = 1.0  # recognised words further apart than this start a new chunk
    max_words: int = 40
    margin_s: float = 0.3  # audio kept before the first and after the last word of a recording
    max_shift_s: float = 0.6  # an aligned word further than this outside the recognised span is not believed
    min_word_s: float = 0.03  # nor an aligned word shorter than this
    workers: int = 0  # processes for long recordings: 0 = the cores this process may use (at most MAX_WORKERS)
    # a chunk the aligner cannot finish is tried again with these search beams before it is split
    # (PocketSphinx's default beam is 1e-48)
    retry_beams: tuple[float, ...] = (1e-20,)
    # runs of the whole alignment: each after the first redoes, from the times the run before gave
    # them, the stretches that did not align whole
    passes: int = 2

    def __post_init__(self):
        if (self.gap_s <= 0 or self.max_words < 1 or self.margin_s < 0 or self.max_shift_s <= 0 or self.workers < 0
                or self.passes < 1 or not all(0 < b < 1 for b in self.retry_beams)):
            raise ValueError("AlignOptions: gap_s and max_shift_s must be > 0, max_words and passes >= 1, "
                             "margin_s and workers >= 0, retry_beams between 0 and 1 (e.g. 1e-20)")


def applies_to(language: Optional[str]) -> bool:
    """Whether the bundled (US English) model fits the recording's language."""
    return language is None or language.lower().split("-")[0] in ("en", "english")


class WordAligner:
    """PocketSphinx's forced alignment, loaded on first use (about 0.2 s); one recording at a time."""

    def __init__(self, options: AlignOptions = AlignOptions()):
        self.options = options
        self._decoders: list = []
        self._pool = None
        self._pool_failed = False
        self._lock = threading.Lock()

    def identity(self) -> dict:
        try:
            version = importlib.metadata.version("pocketsphinx")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return {"name": "pocketsphinx en-us (CMU Sphinx US English acoustic model, CMU dictionary)",
                "package": "pocketsphinx", "version": version, "options": {
                    k: getattr(self.options, k) for k in ("gap_s", "max_words", "max_shift_s", "min_word_s",
                                                          "retry_beams", "passes")}}

    def _decoder(self, k: int):
        """Decoder k: 0 with PocketSphinx's defaults, then one per retry beam; each made on first
        use (about 0.2 s and a copy of the acoustic model), so audio the default aligns never
        loads the others."""
        from pocketsphinx import Decoder

        while len(self._decoders) <= k:
            beam = {"beam": self.options.retry_beams[len(self._decoders) - 1]} if self._decoders else {}
            self._decoders.append(Decoder(samprate=ASR_SAMPLE_RATE_HZ, cmn="batch", lm=None, dither=False,
                                          loglevel="FATAL", **beam))
        return self._decoders[k]

    def align_pieces(self, jobs: list[AlignJob]) -> list[tuple[list, int, int]]:
        """``align_piece`` over ``jobs``, in order: in up to ``workers`` processes (started once,
        kept for later recordings) when the jobs hold ``PARALLEL_MIN_AUDIO_S`` of audio or the
        workers are running already."""
        workers = min(self.options.workers or available_cpu_cores(), MAX_WORKERS, len(jobs))
        audio_s = sum(len(job.samples) for job in jobs) / ASR_SAMPLE_RATE_HZ
        if (audio_s < PARALLEL_MIN_AUDIO_S and self._pool is None) or workers < 2 or self._pool_failed:
            return [align_piece(self, job) for job in jobs]
        try:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn, not fork: the parent may hold CUDA contexts and model threads
                self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_start, initargs=(self.options, os.getpid()))
            # longest first, so a long piece does not start last
            order = sorted(range(len(jobs)), key=lambda k: -len(jobs[k].samples))
            results = dict(zip(order, self._pool.map(_worker_align_piece, [jobs[k] for k in order])))
            return [results[k] for k in range(len(jobs))]
        except Exception as exc:  # e.g. a broken pool: a worker could not start or died
            logger.warning("aligning in worker processes failed (%s: %s); aligning in this process instead",
                           type(exc).__name__, exc)
            self.close()
            self._pool_failed = True
            return [align_piece(self, job) for job in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def tokens(self, text: str) -> list[str]:
        """The dictionary words of one recognised word, or the speech filler when any is unknown."""
        decoder = self._decoder(0)
        parts = [p.strip("'") for p in re.split(r"[\s\-]+", re.sub(r"[^a-z'\-\s]", "", text.lower()))]
        parts = [p for p in parts if p]
        if not parts or any(decoder.lookup_word(p) is None for p in parts):
            return [SPEECH_FILLER]
        return parts

    def align_chunk(self, samples: np.ndarray, offset_s: float, tokens: Sequence[Sequence[str]]):
        """(start_s, end_s, phones) per word of ``tokens`` (each word a list of dictionary tokens;
        phones as (label, start_s, end_s)), or None when the aligner did not reach the last word."""
        if len(samples) < int(0.1 * ASR_SAMPLE_RATE_HZ):
            return None
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        flat = [t for word in tokens for t in word]
        with self._lock:
            # the first decoder that reaches the last word; the phone pass uses the same one
            segments = decoder = None
            for k in range(1 + len(self.options.retry_beams)):
                decoder = self._decoder(k)
                segments = self._words(decoder, pcm, flat)
                if segments is not None:
                    break
            if segments is None:
                return None
            phones = self._phones(decoder, pcm, flat)
            whole = phones is not None
            if not whole:  # the phone pass gave up on the whole chunk: in halves, down to single words
                phones = self._phones_in_parts(decoder, pcm, flat, segments)
            return self._word_spans(decoder, pcm, offset_s, tokens, segments, phones, retry=whole)

    def _word_spans(self, decoder, pcm: bytes, offset_s: float, tokens: Sequence[Sequence[str]],
                    segments: list[tuple[int, int]], phones: list, *, retry: bool) -> list:
        """(start_s, end_s, phones) per word from the word pass's ``segments`` and each token's
        ``phones`` (frames); with ``retry``, a word whose phones miss its edges is aligned again
        on its own span."""
        out, k = [], 0
        for word in tokens:
            first, last = segments[k], segments[k + len(word) - 1]
            frames = [(label, a, b) for part in phones[k: k + len(word)] for label, a, b in part]
            if retry and word != [SPEECH_FILLER] and not _edges_agree(frames, first[0], last[1]):
                # the chunk's phone pass put the word elsewhere: its phones from its own span alone
                frames = [f for part in self._phones_alone(decoder, pcm, word, first[0], last[1]) for f in part]
            if _edges_agree(frames, first[0], last[1]):
                frames[0] = (frames[0][0], first[0], frames[0][2])  # the word pass's edges are the word's
                frames[-1] = (frames[-1][0], frames[-1][1], last[1])
                frames = [(label, a, b) for label, a, b in frames if b > a]
            else:
                frames = []  # no phone pass agrees with the word's edges: the word keeps no phones
            out.append((offset_s + first[0] * FRAME_S, offset_s + last[1] * FRAME_S,
                        [(label, offset_s + a * FRAME_S, offset_s + b * FRAME_S) for label, a, b in frames]))
            k += len(word)
        return out

    def _phones_in_parts(self, decoder, pcm: bytes, flat: list[str], segments: list[tuple[int, int]]) -> list:
        """Each token's phones, aligned in two halves cut at the word pass's edges (each half
        halved again where its own phone pass fails, down to single tokens)."""
        if len(flat) == 1:
            return self._phones_alone(decoder, pcm, flat, *segments[0])
        m = len(flat) // 2
        out = []
        for part, span in ((flat[:m], segments[:m]), (flat[m:], segments[m:])):
            got = self._phones_alone(decoder, pcm, part, span[0][0], span[-1][1]) if len(part) > 1 else None
            out += got if got and all(got) else self._phones_in_parts(decoder, pcm, part, span)
        return out

    def _phones_alone(self, decoder, pcm: bytes, flat: list[str], a: int, b: int) -> list[list[tuple[str, int, int]]]:
        """The phones of tokens ``flat`` aligned alone on their word-pass frames ``a``..``b`` (with
        a few frames either side), in the chunk's frames; empty lists where that fails."""
        lo = max(0, a - 2)
        piece = pcm[BYTES_PER_FRAME * lo: BYTES_PER_FRAME * (b + 3)]
        got = self._phones(decoder, piece, flat) if self._words(decoder, piece, flat) is not None else None
        if not got:
            return [[] for _ in flat]
        return [[(label, a_ + lo, b_ + lo) for label, a_, b_ in part] for part in got]

    @staticmethod
    def _words(decoder, pcm: bytes, flat: list[str]) -> Optional[list[tuple[int, int]]]:
        """First pass: (start, end) frame of each token (end exclusive), or None."""
        try:
            decoder.set_align_text(" ".join(flat))
            WordAligner._decode(decoder, pcm)
        except RuntimeError:
            return None
        segments = [(s.start_frame, s.end_frame + 1) for s in (decoder.seg() or []) if s.word not in _FILLERS]
        return segments if len(segments) == len(flat) else None

    @staticmethod
    def _phones(decoder, pcm: bytes, flat: list[str]) -> Optional[list[list[tuple[str, int, int]]]]:
        """Second pass (right after ``_words`` on the same decoder, text and samples): each token's
        phones as (label, start frame, end frame), or None when the pass fails (it prunes harder
        than the first on long chunks)."""
        try:
            decoder.set_alignment()
            WordAligner._decode(decoder, pcm)
            found = _word_phones(decoder.get_alignment())
        except RuntimeError:
            return None
        return found if len(found) == len(flat) else None

    @staticmethod
    def _decode(decoder, pcm: bytes) -> None:
        # PocketSphinx's feature extraction carries state from one utterance to the next (3 of 806
        # words of a 4-minute recording moved by 10-20 ms when the chunks came in another order);
        # starting it afresh makes each chunk's alignment independent of the ones before, and so of
        # which worker process takes it (costs ~20 microseconds)
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()


def _edges_agree(frames: list, start: int, end: int) -> bool:
    """Whether phones (label, start, end frames) begin and end within PHONE_EDGE_FRAMES of a word's edges."""
    return bool(frames) and abs(frames[0][1] - start) <= PHONE_EDGE_FRAMES and abs(frames[-1][2] - end) <= PHONE_EDGE_FRAMES


def _word_phones(alignment) -> list[list[tuple[str, int, int]]]:
    """[(label, start_frame, end_frame)] per aligned word. PocketSphinx's entries point into the
    iterator that produced them, so each word's phones are read before moving on (reading them
    later crashes)."""
    out = []
    if alignment is None:
        return out
    for word in alignment:
        if word.name in _FILLERS:
            continue
        out.append([(p.name, p.start, p.start + p.duration) for p in word])
    return out


def align_words(audio: Audio16k, words: Sequence[Word], aligner: WordAligner, *,
                channel: Optional[int] = None) -> tuple[list[Word], dict]:
    """``words`` (one channel's, in time order) with aligned times where the aligner succeeded,
    and counts of what happened. The stretches between long gaps are aligned independently, in
    worker processes when the recording is long and there are cores to spare (PocketSphinx holds
    Python's GIL, so threads would not help).

    The recogniser's times only place the first pass: where the chunks are cut, where a failed
    chunk is split and the room each single word is tried in, and how far an aligned word may
    move. Each later pass (``passes``) does the same from the previous pass's times, so a word
    first tried alone between recogniser edges that cut into it (0.35 s late on a slowed word) is
    tried again where the aligned words around it leave room; a word the later pass cannot place
    keeps what the pass before gave it. A stretch that aligned whole at its first try is not
    tried again: its times came from its own audio, not from the recogniser's edges."""
    given = list(words)
    stats: dict = {}
    settled: set[int] = set()
    for _ in range(aligner.options.passes):
        words, got = _align_once(audio, words, aligner, channel, settled)
        stats = {k: (v if k in ("words", "aligned", "not_in_dictionary") else stats.get(k, 0) + v)
                 for k, v in got.items()}
    # a word no pass could place keeps the recogniser's times, within the room the final aligned
    # neighbours leave (not the room of an earlier pass's)
    words = _between_aligned_neighbours([w if w.aligned else g for w, g in zip(words, given)])
    return words, stats


def _align_once(audio: Audio16k, words: Sequence[Word], aligner: WordAligner, channel: Optional[int],
                settled: set[int]) -> tuple[list[Word], dict]:
    """One pass over the stretches between long gaps, leaving out those whose words are all in
    ``settled``; adds the words of each stretch that aligned whole at its first try to it."""
    opts = aligner.options
    words = list(words)
    times = [(w.start_s, w.end_s) for w in words]
    tokens = [aligner.tokens(w.text) for w in words]
    duration_s = audio.frames_16k / ASR_SAMPLE_RATE_HZ
    stats = {"words": len(words), "aligned": 0, "chunks_tried": 0, "chunks_failed": 0,
             "not_in_dictionary": sum(t == [SPEECH_FILLER] for t in tokens)}

    def read(start_s: float, stop_s: float) -> np.ndarray:
        a, b = _sample_range(start_s, stop_s, 0.0, audio.frames_16k)
        return audio.read_16k(a, b, channel=channel) if b > a else np.zeros(0, dtype=np.float32)

    first_lo = max(0.0, times[0][0] - opts.margin_s) if words else 0.0
    last_hi = min(duration_s, times[-1][1] + opts.margin_s) if words else 0.0
    jobs = []
    start = 0
    for k in range(1, len(words) + 1):
        if k == len(words) or times[k][0] - times[k - 1][1] >= opts.gap_s:
            lo, hi = _chunk_bounds(read, times, start, k, first_lo, last_hi)
            jobs.append((start, k, max(lo, 0.0), hi))
            start = k
    jobs = [job for job in jobs if not settled.issuperset(range(job[0], job[1]))]
    spans: list[Optional[tuple[float, float, list]]] = [None] * len(words)
    pieces = []  # (stretch, AlignJob): a stretch of more than max_words words is aligned piece by piece
    for stretch, (a, b, lo, hi) in enumerate(jobs):
        samples, its_times, its_tokens = read(lo, hi), tuple(times[a:b]), tuple(tokens[a:b])
        for p, q in _pieces(its_times, opts.max_words):
            start, stop = _sample_range(*_piece_reach(its_times, p, q, lo, hi), lo, len(samples))
            pieces.append((stretch, AlignJob(samples[start:stop], start, len(samples), lo, hi, its_times, its_tokens,
                                             (p, q))))
    failed_in = [0] * len(jobs)
    for (stretch, job), (got, tried, failed) in zip(pieces, aligner.align_pieces([job for _, job in pieces])):
        a = jobs[stretch][0]
        p, q = job.piece
        spans[a + p: a + q] = got
        stats["chunks_tried"] += tried
        stats["chunks_failed"] += failed
        failed_in[stretch] += failed
    for (a, b, _lo, _hi), failed in zip(jobs, failed_in):
        if not failed:
            settled.update(range(a, b))
    out = []
    for w, span, tok in zip(words, spans, tokens):
        if span is None or tok == [SPEECH_FILLER]:
            out.append(w)
            stats["aligned"] += w.aligned
            continue
        phones = tuple(Phone(label, round(a, 3), round(b, 3)) for label, a, b in span[2])
        out.append(replace(w, start_s=round(span[0], 3), end_s=round(span[1], 3), aligned=True, phones=phones))
        stats["aligned"] += 1
    out = _between_aligned_neighbours(out)
    logger.debug("aligned %d of %d words (%d of %d chunks failed)", stats["aligned"], len(words),
                 stats["chunks_failed"], stats["chunks_tried"])
    return out, stats


def _quietest_between(read, before: tuple[float, float], after: tuple[float, float]) -> float:
    """The quietest 10 ms between two words (their recognised edges +-0.1 s)."""
    lo = min(before[1], after[0]) - 0.1
    hi = max(before[1], after[0]) + 0.1
    x = read(lo, hi)
    n = len(x) // SAMPLES_PER_FRAME
    if n == 0:
        return (lo + hi) / 2
    energy = np.mean(x[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME).astype(np.float64) ** 2, axis=1)
    return max(0.0, lo) + (int(np.argmin(energy)) + 0.5) * FRAME_S


def _chunk_bounds(read, times: Sequence[tuple[float, float]], a: int, b: int, first_lo: float,
                  last_hi: float) -> tuple[float, float]:
    """Where the audio of words a..b-1 starts and ends: at the quietest 10 ms between each edge
    word and its outer neighbour (at most 1 s out), or ``first_lo``/``last_hi`` at the ends."""
    lo = first_lo if a == 0 else max(_quietest_between(read, times[a - 1], times[a]), times[a][0] - 1.0)
    hi = last_hi if b == len(times) else min(_quietest_between(read, times[b - 1], times[b]), times[b - 1][1] + 1.0)
    return lo, hi


def _sample_range(start_s: float, stop_s: float, origin_s: float, n: int) -> tuple[int, int]:
    """Sample indices of ``start_s``..``stop_s`` in a signal of ``n`` 16 kHz samples from ``origin_s``."""
    a = max(0, int(round((start_s - origin_s) * ASR_SAMPLE_RATE_HZ)))
    return a, min(n, int(round((stop_s - origin_s) * ASR_SAMPLE_RATE_HZ)))


def _widest_gap(times: Sequence[tuple[float, float]], a: int, b: int) -> int:
    """Where words a..b-1 are split: before the word after the widest gap, or in the middle."""
    gaps = [times[k][0] - times[k - 1][1] for k in range(a + 1, b)]
    return a + 1 + int(np.argmax(gaps)) if max(gaps) > 0.05 else a + (b - a) // 2


def _pieces(times: Sequence[tuple[float, float]], max_words: int) -> list[tuple[int, int]]:
    """A stretch's words in pieces of at most ``max_words``, split at the widest gaps."""
    out, stack = [], [(0, len(times))]
    while stack:
        a, b = stack.pop()
        if b - a > max_words:
            m = _widest_gap(times, a, b)
            stack += [(m, b), (a, m)]
        else:
            out.append((a, b))
    return out


def _piece_reach(times: Sequence[tuple[float, float]], p: int, q: int, lo_s: float, hi_s: float) -> tuple[float, float]:
    """The part of a stretch's audio (``lo_s`` to ``hi_s``) that aligning words p..q-1 reads: the
    chunk edges lie at the quietest 10 ms within 0.1 s of the recognised edges between two
    words (``_quietest_between``), and a chunk's audio runs from edge to edge."""
    first = lo_s if p == 0 else min(min(times[k - 1][1], times[k][0]) for k in range(p, q)) - 0.1
    last = hi_s if q == len(times) else max(max(times[k - 1][1], times[k][0]) for k in range(p + 1, q + 1)) + 0.1
    return max(lo_s, first), min(hi_s, last)


def align_piece(aligner: WordAligner, job: AlignJob) -> tuple[list, int, int]:
    """Align one piece of a stretch of words (their recognised ``times``): the whole piece at
    once, and a piece the aligner cannot finish split at its widest gap (cut at the quietest 10
    ms) and tried again, down to single words. Returns the (start_s, end_s, phones) or None of
    each word of the piece, and the chunks tried and failed."""
    opts = aligner.options
    times, tokens, lo_s, hi_s = job.times, job.tokens, job.lo_s, job.hi_s
    spans: list = [None] * len(times)
    tried = failed = 0

    def read(start_s: float, stop_s: float) -> np.ndarray:
        a, b = _sample_range(start_s, stop_s, lo_s, job.n_samples)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        if a < job.offset or b > job.offset + len(job.samples):
            raise ValueError(f"aligning words {job.piece} read samples {a}-{b} outside their part of the stretch")
        return job.samples[a - job.offset: b - job.offset]

    stack = [job.piece]
    while stack:
        a, b = stack.pop()
        lo, hi = _chunk_bounds(read, times, a, b, lo_s, hi_s)
        tried += 1
        got = aligner.align_chunk(read(lo, hi), max(0.0, lo), tokens[a:b])
        if got is not None and all(t[0] - opts.max_shift_s <= e and s <= t[1] + opts.max_shift_s
                                   and e - s >= opts.min_word_s for (s, e, _p), t in zip(got, times[a:b])):
            spans[a:b] = got
        else:
            failed += 1
            if b - a > 1:
                m = _widest_gap(times, a, b)
                stack += [(m, b), (a, m)]
    p, q = job.piece
    return spans[p:q], tried, failed


_WORKER_ALIGNER: Optional[WordAligner] = None


def _worker_start(options: AlignOptions, parent: int) -> None:
    global _WORKER_ALIGNER
    _end_with_parent(parent)  # first: the parent may be gone while this worker still starts
    _WORKER_ALIGNER = WordAligner(options)


def _end_with_parent(parent: int, *, every_s: float = 1.0) -> None:
    """End this worker when its parent is gone without shutting the pool down (killed): the
    other workers hold the pool's pipes open too, so it would wait for work (or to hand back a
    result) for ever. On Linux the kernel sends SIGKILL when the parent dies, which works
    whatever the worker is doing; elsewhere a thread looks for the parent every second."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the request was made
                os._exit(0)
            return
    except (OSError, AttributeError):  # not Linux
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="tonescribe-parent-watch", daemon=True).start()


def _worker_align_piece(job: AlignJob) -> tuple[list, int, int]:
    return align_piece(_WORKER_ALIGNER, job)


def _between_aligned_neighbours(words: list[Word]) -> list[Word]:
    """A word the aligner could not place keeps the recogniser's times, but within the room its
    aligned neighbours leave (the recogniser's span can reach over them), so the words stay in
    their spoken order. With no room left it sits, zero-length, where the neighbours meet."""
    out = list(words)
    before_of: list[Optional[float]] = []  # end of the nearest aligned word before each word
    last = None
    for w in out:
        before_of.append(last)
        last = w.end_s if w.aligned else last
    after_of: list[Optional[float]] = [None] * len(out)  # start of the nearest aligned word after it
    nxt = None
    for k in range(len(out) - 1, -1, -1):
        after_of[k] = nxt
        nxt = out[k].start_s if out[k].aligned else nxt
    for k, w in enumerate(out):
        if w.aligned:
            continue
        before, after = before_of[k], after_of[k]
        start, end = w.start_s, w.end_s
        if before is not None:
            start, end = max(start, before), max(end, before)
        if after is not None:
            start, end = min(start, after), min(end, after)
        if (start, end) != (w.start_s, w.end_s):
            out[k] = replace(w, start_s=round(start, 3), end_s=round(end, 3))
    return out
