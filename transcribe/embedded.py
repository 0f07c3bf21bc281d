"""The ``embedded`` diarization backend: works with what pip installs, no downloads.

1. Speech regions from silero VAD (``transcribe.vad``).
2. D-vectors (``transcribe.embeddings``) on sliding windows (``window_s`` long, every ``step_s``)
   inside each region; a region shorter than a window gets one embedding of its own length.
3. Windows are clustered into speakers with the count found automatically
   (``transcribe.clustering``).
4. Re-segmentation and speaker change detection: on a ``frame_s`` grid, every frame scores each
   speaker by the (triangle-weighted) similarity of the windows covering it to that speaker's
   centroid; a Viterbi pass with a switch penalty picks the speaker per frame. Changes can fall
   anywhere inside a speech region, at frame resolution, not only on window edges.
5. Overlap, two tests, both only when more than one speaker was found:
   a. mixture (``transcribe.overlap``): where the windows are explained by a non-negative mix of
      the frame's own speaker and another clearly better than by the own speaker alone (residual
      drop >= ``overlap_mix_gain``, the weaker voice at least ``overlap_min_share`` of the
      stronger) for at least ``overlap_min_s``, the other speaker also talks there. 0 switches it
      off. Chosen on the AMI mixture and on six mixtures made by summing two single-speaker corpus
      items (``bench/bench_diarization.py``): AMI overlap precision 0.17 -> 0.28, recall
      0.015 -> 0.20 at a strict DER of 20.4 % -> 22.9 %; summed mixtures, pooled, precision 0.76,
      recall 0.29 (0 before); none found at a turn change without overlap.
   b. margin: where the runner-up speaker scores within ``overlap_margin`` of the winner and also
      talks within ``overlap_context_s`` (the older test; it finds little).
   A 1.5 s d-vector cannot see a backchannel of a few hundred milliseconds, which is most of
   AMI's overlap, so recall stays low on real meetings.

Turns of one speaker separated by less than ``SpeakerOptions.turn_merge_gap_s`` are joined.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from capture.audio16k import Audio16k
from capture.record import Turn
from transcribe.clustering import ClusterOptions, centroids_of, cluster_embeddings
from transcribe.overlap import mixture_gains, speaker_pairs
from transcribe.vad import VadOptions, regions_from_probabilities, speech_probabilities_in_blocks

logger = logging.getLogger("tonescribe.embedded")


@dataclass(frozen=True)
class EmbeddedOptions:
    vad: VadOptions = field(default_factory=VadOptions)
    clustering: ClusterOptions = field(default_factory=ClusterOptions)
    window_s: float = 1.5
    step_s: float = 0.25
    frame_s: float = 0.05
    switch_penalty: float = 0.1
    overlap_margin: float = 0.05
    overlap_context_s: float = 1.0
    overlap_min_s: float = 0.2
    overlap_mix_gain: float = 0.02
    overlap_min_share: float = 0.4
    device: str = "auto"

    def __post_init__(self):
        if not 0 < self.step_s <= self.window_s:
            raise ValueError("embedded diarization needs 0 < step_s <= window_s")
        if self.frame_s <= 0 or self.frame_s > self.step_s:
            raise ValueError("frame_s must be positive and no longer than step_s")
        if self.switch_penalty < 0 or self.overlap_margin < 0:
            raise ValueError("switch_penalty and overlap_margin cannot be negative")
        if self.overlap_mix_gain < 0 or not 0 < self.overlap_min_share <= 1:
            raise ValueError("overlap_mix_gain must be >= 0 (0 switches the mixture test off) and "
                             "overlap_min_share in (0, 1]")


@dataclass(frozen=True)
class Diarization:
    """What the backend found, with the pieces a benchmark or a curious user wants to see."""

    turns: list[Turn]
    regions: list[tuple[float, float]]
    num_speakers: int
    timings_s: dict
    model: dict


def diarize_embedded(audio: Audio16k, options, settings: EmbeddedOptions = EmbeddedOptions()) -> Diarization:
    from transcribe.embeddings import load_encoder, mel_frames_in_blocks, torch_device

    timings: dict[str, float] = {}
    started = time.perf_counter()
    duration_s = audio.frames_16k / 16000
    probs = speech_probabilities_in_blocks(audio)
    regions = regions_from_probabilities(probs, options=settings.vad, duration_s=duration_s)
    timings["vad"] = time.perf_counter() - started
    device = torch_device(settings.device)
    encoder = load_encoder(device)
    model = {"embedding": encoder.identity, "device": device}
    if not regions:
        return Diarization([], [], 0, timings, model)

    t = time.perf_counter()
    mel = mel_frames_in_blocks(audio)
    spans = window_spans(regions, window_s=settings.window_s, step_s=settings.step_s, n_frames=len(mel))
    embeddings = encoder.embed(mel, spans)
    timings["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    # speech each window stands for: its hop, or the whole of a region shorter than a window
    durations = np.array([min(b - a, int(round(settings.step_s * 100))) * 0.01 for a, b in spans])
    labels = cluster_embeddings(embeddings, durations_s=durations, options=settings.clustering,
                                num_speakers=options.num_speakers, min_speakers=options.min_speakers,
                                max_speakers=options.max_speakers)
    centroids = centroids_of(embeddings, labels, durations)
    turns = resegment(regions, spans, embeddings, centroids, settings=settings)
    turns = merge_gaps(turns, gap_s=options.turn_merge_gap_s)
    timings["cluster"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    logger.info("embedded diarization: %d speakers, %d turns in %.2f s", len(centroids), len(turns), timings["total"])
    return Diarization(turns, regions, len(centroids), timings, model)


def window_spans(regions, *, window_s: float, step_s: float, n_frames: int) -> list[tuple[int, int]]:
    """Mel-frame spans (10 ms frames) of the embedding windows inside speech regions."""
    win, step = int(round(window_s * 100)), max(1, int(round(step_s * 100)))
    spans = []
    for a_s, b_s in regions:
        a, b = int(a_s * 100), min(n_frames, int(np.ceil(b_s * 100)))
        if b - a <= win:
            spans.append((a, max(b, a + 1)))
            continue
        starts = list(range(a, b - win, step))
        if not starts or starts[-1] != b - win:
            starts.append(b - win)
        spans.extend((s, s + win) for s in starts)
    return spans


def frame_scores(regions, spans, embeddings, centroids, *, frame_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame speaker scores ``(n_frames, n_speakers)`` and frame centre times."""
    return spread_to_frames(regions, spans, embeddings @ centroids.T, frame_s=frame_s)


def spread_to_frames(regions, spans, values, *, frame_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-window ``values`` (n_windows, m) averaged onto the frame grid, with frame centre times.

    Each window votes for the frames it covers with a triangular weight peaking at its centre,
    so a frame is judged mostly by windows centred near it."""
    end_s = max(b for _, b in regions)
    n = int(np.ceil(end_s / frame_s))
    centres = (np.arange(n) + 0.5) * frame_s
    acc = np.zeros((n, values.shape[1]))
    wsum = np.zeros(n)
    for (a, b), s in zip(spans, values):
        a_s, b_s = a * 0.01, b * 0.01
        f0, f1 = int(a_s / frame_s), min(n, int(np.ceil(b_s / frame_s)))
        mid, half = (a_s + b_s) / 2, max((b_s - a_s) / 2, 1e-3)
        w = np.clip(1.0 - np.abs(centres[f0:f1] - mid) / half, 0.05, None)
        acc[f0:f1] += w[:, None] * s[None, :]
        wsum[f0:f1] += w
    covered = wsum > 0
    acc[covered] /= wsum[covered, None]
    return acc, centres


def viterbi(scores: np.ndarray, *, switch_penalty: float) -> np.ndarray:
    """Best speaker path through ``scores`` (frames x speakers), paying ``switch_penalty`` per change."""
    n, k = scores.shape
    back = np.zeros((n, k), dtype=int)
    total = scores[0].copy()
    for i in range(1, n):
        stay = total
        best_prev = int(np.argmax(total))
        switch = total[best_prev] - switch_penalty
        back[i] = np.where(stay >= switch, np.arange(k), best_prev)
        total = np.maximum(stay, switch) + scores[i]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def resegment(regions, spans, embeddings, centroids, *, settings: EmbeddedOptions) -> list[Turn]:
    frame_s = settings.frame_s
    scores, centres = frame_scores(regions, spans, embeddings, centroids, frame_s=frame_s)
    mix = None
    if settings.overlap_mix_gain > 0 and len(centroids) > 1:
        gains = mixture_gains(embeddings, centroids, min_share=settings.overlap_min_share)
        mix, _ = spread_to_frames(regions, spans, gains, frame_s=frame_s)
    # scores add up per frame; the penalty is in similarity x seconds so frame_s does not change it
    penalty = settings.switch_penalty / frame_s
    turns: list[Turn] = []
    for a_s, b_s in regions:
        f0, f1 = int(a_s / frame_s), min(len(centres), int(np.ceil(b_s / frame_s)))
        if f1 <= f0:
            continue
        path = viterbi(scores[f0:f1], switch_penalty=penalty)
        turns.extend(_runs(path, a_s, b_s, f0, frame_s))
        if len(centroids) > 1:
            turns.extend(_overlaps(scores[f0:f1], path, a_s, b_s, f0, settings))
        if mix is not None:
            turns.extend(_mixture_overlaps(mix[f0:f1], path, a_s, b_s, f0, len(centroids), settings))
    return sorted(turns, key=lambda t: (t.start_s, t.speaker))


def _runs(path: np.ndarray, a_s: float, b_s: float, f0: int, frame_s: float) -> list[Turn]:
    out = []
    start = 0
    for i in range(1, len(path) + 1):
        if i == len(path) or path[i] != path[start]:
            s = a_s if start == 0 else (f0 + start) * frame_s
            e = b_s if i == len(path) else (f0 + i) * frame_s
            if e > s:
                out.append(Turn(speaker=speaker_label(int(path[start])), start_s=round(s, 3), end_s=round(e, 3)))
            start = i
    return out


def _overlaps(scores: np.ndarray, path: np.ndarray, a_s: float, b_s: float, f0: int,
              settings: EmbeddedOptions) -> list[Turn]:
    """Second-speaker turns where the runner-up is nearly as likely as the winner and speaks nearby."""
    frame_s = settings.frame_s
    n, k = scores.shape
    order = np.argsort(-scores, axis=1)
    best = scores[np.arange(n), path]
    second = np.where(order[:, 0] == path, order[:, 1], order[:, 0])
    close = best - scores[np.arange(n), second] <= settings.overlap_margin
    ctx = max(1, int(round(settings.overlap_context_s / frame_s)))
    out = []
    i = 0
    while i < n:
        if not close[i]:
            i += 1
            continue
        j = i
        while j < n and close[j] and second[j] == second[i]:
            j += 1
        spk = second[i]
        nearby = path[max(0, i - ctx): min(n, j + ctx)]
        if (j - i) * frame_s >= settings.overlap_min_s and np.any(nearby == spk):
            s, e = max(a_s, (f0 + i) * frame_s), min(b_s, (f0 + j) * frame_s)
            if e > s:
                out.append(Turn(speaker=speaker_label(int(spk)), start_s=round(s, 3), end_s=round(e, 3)))
        i = j
    return out


def _mixture_overlaps(mix: np.ndarray, path: np.ndarray, a_s: float, b_s: float, f0: int, k: int,
                      settings: EmbeddedOptions) -> list[Turn]:
    """Second-speaker turns where a two-speaker mix containing the frame's own speaker explains
    the windows better than that speaker alone by at least ``overlap_mix_gain``."""
    pairs = speaker_pairs(k)
    other = np.full(len(path), -1)
    best = np.argmax(mix, axis=1)
    for f, (p, spk) in enumerate(zip(best, path)):
        i, j = pairs[p]
        if mix[f, p] >= settings.overlap_mix_gain and spk in (i, j):
            other[f] = j if spk == i else i
    return _second_speaker_runs(other, a_s, b_s, f0, settings)


def _second_speaker_runs(other: np.ndarray, a_s: float, b_s: float, f0: int, settings: EmbeddedOptions) -> list[Turn]:
    frame_s, out, i = settings.frame_s, [], 0
    while i < len(other):
        j = i
        while j < len(other) and other[j] == other[i]:
            j += 1
        if other[i] >= 0 and (j - i) * frame_s >= settings.overlap_min_s:
            s, e = max(a_s, (f0 + i) * frame_s), min(b_s, (f0 + j) * frame_s)
            if e > s:
                out.append(Turn(speaker=speaker_label(int(other[i])), start_s=round(s, 3), end_s=round(e, 3)))
        i = j
    return out


def merge_gaps(turns: list[Turn], *, gap_s: float) -> list[Turn]:
    """Join one speaker's turns that are closer than ``gap_s`` (and turns that overlap)."""
    from transcribe.diarize import turns_from_words  # same joining as for words; imported late (diarize imports us)

    return turns_from_words(turns, merge_gap_s=gap_s)


def speaker_label(index: int) -> str:
    return f"spk{index}"


def embedded_backend(audio: Audio16k, options) -> list[Turn]:
    return diarize_embedded(audio, options, EmbeddedOptions(device=getattr(options, "device", "auto"))).turns


def _available() -> bool:
    from transcribe.embeddings import encoder_available

    return encoder_available()


def _identity(options=None) -> dict:
    """What ran, for the transcript's ``pipeline.models``: models, device and every setting."""
    import dataclasses

    from transcribe.embeddings import load_encoder, torch_device
    from transcribe.vad import vad_model_identity

    settings = EmbeddedOptions(device=getattr(options, "device", "auto"))
    device = torch_device(settings.device)
    return {"backend": "embedded", "vad": vad_model_identity(), "embedding": load_encoder(device).identity,
            "device": device, "settings": dataclasses.asdict(settings)}


def _check() -> None:
    from transcribe.embeddings import encoder_weights_path

    encoder_weights_path()


embedded_backend.available = _available
embedded_backend.check = _check
embedded_backend.identity = _identity
