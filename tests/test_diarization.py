"""The embedded diarization backend and its parts, on synthetic signals and espeak-ng voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capture.decode import Audio, load_audio
from capture.record import AudioInfo, Turn
from transcribe.clustering import ClusterOptions, cluster_embeddings
from transcribe.diarize import BACKENDS, SPEAKER_MODES, SpeakerOptions, choose_mode
from transcribe.embedded import EmbeddedOptions, diarize_embedded, merge_gaps, viterbi, window_spans
from transcribe.scoring import der, overlap_precision_recall
from transcribe.vad import FRAME_S, VadOptions, regions_from_probabilities

FIXTURES = Path(__file__).parent / "fixtures"


def mono(x: np.ndarray) -> Audio:
    x = np.asarray(x, dtype=np.float32)
    return Audio(samples=x[None, :], sample_rate_hz=16000, info=AudioInfo("synthetic", "", len(x) / 16000, 16000, 1))


@pytest.fixture(scope="module")
def two_voices():
    audio = load_audio(FIXTURES / "diarization_two_voices.ogg")
    rows = [line.split("\t") for line in (FIXTURES / "diarization_two_voices.tsv").read_text().splitlines()[1:]]
    return audio, [Turn(r[0], float(r[1]), float(r[2])) for r in rows]


# --- VAD regions --------------------------------------------------------------------------

def test_regions_follow_hysteresis_and_bridge_short_gaps():
    probs = np.zeros(200)
    probs[10:50] = 0.9  # 0.32 s .. 1.6 s
    probs[50:55] = 0.4  # between offset and onset: still speech
    probs[58:100] = 0.9  # gap of 3 frames (0.096 s) < min_silence: bridged
    probs[150:152] = 0.9  # 64 ms blip < min_speech: dropped
    regions = regions_from_probabilities(probs, options=VadOptions(pad_s=0.0))
    assert regions == [(pytest.approx(10 * FRAME_S), pytest.approx(100 * FRAME_S))]


def test_vad_options_are_validated():
    with pytest.raises(ValueError, match="offset_prob"):
        VadOptions(onset_prob=0.3, offset_prob=0.5)


# --- change detection / re-segmentation ------------------------------------------------------

def test_viterbi_switches_on_sustained_change_but_ignores_a_blip():
    scores = np.zeros((100, 2))
    scores[:60, 0], scores[60:, 1] = 0.8, 0.8
    scores[:60, 1], scores[60:, 0] = 0.5, 0.5
    scores[20:22] = [0.5, 0.8]  # two-frame blip
    path = viterbi(scores, switch_penalty=1.0)
    assert list(np.flatnonzero(np.diff(path))) == [59]


def test_window_spans_cover_each_region_and_short_regions_get_one_window():
    spans = window_spans([(0.0, 0.8), (2.0, 5.0)], window_s=1.5, step_s=0.25, n_frames=600)
    assert spans[0] == (0, 80)
    assert spans[1][0] == 200 and spans[-1][1] == 500
    assert all(b - a == 150 for a, b in spans[1:])


def test_merge_gaps_joins_one_speakers_close_turns_only():
    turns = [Turn("a", 0, 1), Turn("a", 1.3, 2), Turn("b", 2.1, 3), Turn("a", 4, 5)]
    assert merge_gaps(turns, gap_s=0.5) == [Turn("a", 0, 2), Turn("b", 2.1, 3), Turn("a", 4, 5)]


# --- clustering ------------------------------------------------------------------------------

def _voices(centres: int, per: int, *, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(centres, 256))
    x = np.concatenate([base[c] + spread * rng.normal(size=(per, 256)) for c in range(centres)])
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(centres), per)


@pytest.mark.parametrize("centres", [1, 2, 3])
def test_clustering_finds_the_number_of_voices(centres):
    x, truth = _voices(centres, 40, spread=0.05)
    labels = cluster_embeddings(x, durations_s=np.full(len(x), 0.25))
    assert len(set(labels)) == centres
    assert all(len(set(labels[truth == c])) == 1 for c in range(centres))


def test_clustering_honours_num_and_max_speakers():
    x, _ = _voices(3, 30, spread=0.05)
    d = np.full(len(x), 0.25)
    assert len(set(cluster_embeddings(x, durations_s=d, num_speakers=2))) == 2
    assert len(set(cluster_embeddings(x, durations_s=d, max_speakers=2))) == 2
    y, _ = _voices(1, 60, spread=0.05)
    assert len(set(cluster_embeddings(y, durations_s=np.full(60, 0.25), min_speakers=2))) == 2


def test_a_voice_heard_for_under_min_cluster_s_joins_the_nearest_speaker():
    x, _ = _voices(2, 40, spread=0.05)
    x = np.concatenate([x, _voices(1, 3, spread=0.05, seed=7)[0]])  # 0.75 s of a third voice
    labels = cluster_embeddings(x, durations_s=np.full(len(x), 0.25), options=ClusterOptions(min_cluster_s=2.0))
    assert len(set(labels)) == 2


# --- scoring ---------------------------------------------------------------------------------

def test_der_strict_and_forgiving_on_a_known_case():
    ref = [Turn("a", 0, 10), Turn("b", 10, 20)]
    hyp = [Turn("x", 0, 11), Turn("y", 11, 20)]  # 1 s of b given to a
    report = der(ref, hyp, duration_s=20)
    assert report.strict == pytest.approx(0.05)
    # 0.25 s each side of every reference boundary (0, 10 and 20 s) is not scored: 0.75 s wrong of 19 s
    assert report.forgiving == pytest.approx(0.75 / 19.0)
    p, r, ref_ov, hyp_ov = overlap_precision_recall([Turn("a", 0, 5), Turn("b", 4, 6)], [Turn("x", 0, 5), Turn("y", 4.5, 6)])
    assert (p, r, ref_ov, hyp_ov) == (pytest.approx(1.0), pytest.approx(0.5), pytest.approx(1.0), pytest.approx(0.5))


# --- registry and options ------------------------------------------------------------------------

def test_modes_and_backends_are_registered():
    assert set(SPEAKER_MODES) == {"auto", "embedded", "pyannote", "channels", "none"}
    assert list(BACKENDS)[:2] == ["pyannote", "embedded"]  # auto's order of preference
    assert BACKENDS["embedded"].available()
    with pytest.raises(ValueError, match="--speakers"):
        SpeakerOptions(mode="magic")
    with pytest.raises(ValueError, match="step_s"):
        EmbeddedOptions(step_s=2.0, window_s=1.0)


def test_auto_picks_embedded_for_mono_without_pyannote_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TONESCRIBE_PYANNOTE", str(tmp_path / "nothing-here"))
    mode, evidence = choose_mode(mono(np.zeros(16000)), SpeakerOptions())
    assert mode == "embedded"
    assert evidence["channels"]["distinct_talkers"] is False


# --- the whole backend on two espeak-ng voices -------------------------------------------------------

@pytest.mark.slow
def test_two_voices_are_found_with_boundaries_near_the_truth(two_voices):
    audio, truth = two_voices
    result = diarize_embedded(audio, SpeakerOptions(mode="embedded"))
    assert result.num_speakers == 2
    report = der(truth, result.turns, duration_s=audio.duration_s)
    assert report.forgiving < 0.05, report.as_dict()
    changes = [t.start_s for t in result.turns[1:]]
    for t in truth[1:]:
        assert min(abs(c - t.start_s) for c in changes) < 0.5


@pytest.mark.slow
def test_speaker_changes_inside_continuous_speech_are_found(two_voices):
    audio, truth = two_voices
    x = audio.mono_16k()
    pieces = [x[int(t.start_s * 16000): int(t.end_s * 16000)] for t in truth]
    bounds = np.cumsum([len(p) / 16000 for p in pieces])[:-1]
    result = diarize_embedded(mono(np.concatenate(pieces)), SpeakerOptions(mode="embedded", num_speakers=2))
    assert len(result.regions) < len(pieces)  # some changes happen with no pause at all
    changes = [t.start_s for t in result.turns if t.start_s > 0.1]
    for b in bounds:
        assert min(abs(c - b) for c in changes) < 0.75, (b, changes)


@pytest.mark.slow
def test_one_voice_comes_out_as_one_speaker(two_voices):
    audio, truth = two_voices
    x = audio.mono_16k()
    one = np.concatenate([x[int(t.start_s * 16000): int(t.end_s * 16000)] for t in truth if t.speaker == "A"])
    result = diarize_embedded(mono(one), SpeakerOptions(mode="embedded"))
    assert result.num_speakers == 1
    assert {t.speaker for t in result.turns} == {"spk0"}


def _unit(x):
    return np.asarray(x, dtype=np.float64) / np.linalg.norm(x)


def test_mixture_gain_is_zero_for_one_voice_and_the_single_residual_for_an_exact_mix():
    from transcribe.overlap import mixture_gains

    rng = np.random.default_rng(0)
    c = np.stack([_unit(rng.normal(size=16)) for _ in range(3)])
    mix = _unit(0.6 * c[0] + 0.4 * c[2])
    gains = mixture_gains(np.stack([c[1], mix]), c, min_share=0.4)
    assert gains.shape == (2, 3)  # pairs (0, 1), (0, 2), (1, 2)
    assert np.allclose(gains[0], 0.0)
    single = np.sqrt(1 - np.max(c @ mix) ** 2)  # the exact two-voice fit leaves no residual
    assert gains[1, 1] == pytest.approx(single, abs=1e-6) and gains[1, 1] > 0.1
    assert gains[1, 1] > max(gains[1, 0], gains[1, 2])


def test_mixture_gain_ignores_a_faint_second_voice_and_one_speaker():
    from transcribe.overlap import mixture_gains

    rng = np.random.default_rng(1)
    c = np.stack([_unit(rng.normal(size=16)) for _ in range(2)])
    faint = _unit(0.9 * c[0] + 0.1 * c[1])
    assert mixture_gains(faint[None], c, min_share=0.4)[0, 0] == 0.0
    assert mixture_gains(faint[None], c, min_share=0.1)[0, 0] > 0.0
    assert mixture_gains(faint[None], c[:1], min_share=0.4).shape == (1, 0)
    with pytest.raises(ValueError, match="min_share"):
        mixture_gains(faint[None], c, min_share=0.0)
    with pytest.raises(ValueError, match="overlap_mix_gain"):
        EmbeddedOptions(overlap_mix_gain=-0.1)


@pytest.mark.slow
def test_two_espeak_voices_summed_look_like_a_mix_of_their_centroids(two_voices):
    """Real d-vectors: windows of A + B (summed over a known 5.8 s) clear the default mixture gain,
    windows of A or B alone mostly do not. Centroids come from other parts of each voice."""
    from transcribe.clustering import unit
    from transcribe.embeddings import load_encoder, mel_frames
    from transcribe.overlap import mixture_gains

    audio, truth = two_voices
    x = audio.mono_16k()
    a, b = (np.concatenate([x[int(t.start_s * 16000): int(t.end_s * 16000)] for t in truth if t.speaker == s])
            for s in "AB")
    encoder, settings, n = load_encoder("cpu"), EmbeddedOptions(), 8 * 16000

    def embed(sig):
        mel = mel_frames(sig)
        spans = window_spans([(0.0, len(sig) / 16000)], window_s=settings.window_s, step_s=settings.step_s,
                             n_frames=len(mel))
        return encoder.embed(mel, spans)

    centroids = np.stack([unit(embed(a[:n]).sum(axis=0)), unit(embed(b[:n]).sum(axis=0))])
    m = min(len(a), len(b)) - n

    def share_flagged(sig):
        gains = mixture_gains(embed(sig), centroids, min_share=settings.overlap_min_share)[:, 0]
        return float(np.mean(gains >= settings.overlap_mix_gain))

    for gain_b_db in (0.0, -6.0):
        assert share_flagged(a[n: n + m] + b[n: n + m] * 10 ** (gain_b_db / 20)) >= 0.6
    assert share_flagged(a[n: n + m]) <= 0.25 and share_flagged(b[n: n + m]) <= 0.25


def test_silence_gives_no_turns():
    result = diarize_embedded(mono(np.zeros(3 * 16000)), SpeakerOptions(mode="embedded"))
    assert result.turns == [] and result.num_speakers == 0


def test_mel_features_match_librosa_as_resemblyzer_computes_them():
    import librosa

    from transcribe.embeddings import mel_frames, normalise_volume

    rng = np.random.default_rng(3)
    x = (0.1 * rng.normal(size=16000 * 2)).astype(np.float32)
    x[8000:12000] *= np.sin(np.linspace(0, 60 * np.pi, 4000)).astype(np.float32)
    ref = librosa.feature.melspectrogram(y=normalise_volume(x), sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    ours = mel_frames(x)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= 1e-5 * np.abs(ref).max()


def test_long_recordings_cluster_on_a_subset_and_still_label_every_window():
    x, truth = _voices(2, 400, spread=0.05)
    labels = cluster_embeddings(x, durations_s=np.full(len(x), 0.25), options=ClusterOptions(max_windows=100))
    assert len(labels) == 800 and len(set(labels)) == 2
    assert all(len(set(labels[truth == c])) == 1 for c in range(2))


def test_concurrent_callers_share_one_encoder_and_leave_torch_threads_as_they_were():
    import threading

    import torch

    from transcribe.embeddings import load_encoder, mel_frames

    before = torch.get_num_threads()
    mel = mel_frames((0.1 * np.random.default_rng(1).normal(size=16000 * 3)).astype(np.float32))
    results, encoders = [], []

    def work():
        enc = load_encoder("cpu")
        encoders.append(enc)
        results.append(enc.embed(mel, [(0, 150), (100, 250)]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(e) for e in encoders}) == 1
    assert all(np.allclose(r, results[0], atol=1e-6) for r in results)
    assert np.allclose(np.linalg.norm(results[0], axis=1), 1.0, atol=1e-4)
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_speaker_encoder_out_of_memory_halves_the_batch_then_moves_to_the_cpu():
    """No GPU here: the real encoder sits behind a stand-in for a GPU that holds at most
    ``rows`` spans and raises torch's own out-of-memory error beyond that."""
    import torch

    from transcribe.embeddings import VoiceEncoder, mel_frames

    class SmallGpu(VoiceEncoder):
        rows = 4

        def _on_device(self, batch):
            if self.device == "cuda" and len(batch) > self.rows:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
            return torch.from_numpy(batch)

    rng = np.random.default_rng(5)
    mel = mel_frames((0.1 * rng.normal(size=16000 * 8)).astype(np.float32))
    spans = [(a, a + 150) for a in range(0, 650, 25)]
    reference = VoiceEncoder("cpu").embed(mel, spans)

    gpu = SmallGpu("cpu")
    gpu.device = "cuda"
    np.testing.assert_allclose(gpu.embed(mel, spans, batch_size=16), reference, atol=1e-5)
    assert gpu.device == "cuda"
    assert [n.split(";")[0] for n in gpu.identity["memory_fallbacks"]] == [
        "CUDA out of memory at batch 16", "CUDA out of memory at batch 8"]

    gpu.rows = 0  # the recogniser took the rest of the card
    np.testing.assert_allclose(gpu.embed(mel, spans, batch_size=2), reference, atol=1e-5)
    assert gpu.device == "cpu" and "moved to the CPU" in gpu.identity["memory_fallbacks"][-1]

    class BrokenGpu(SmallGpu):
        def _on_device(self, batch):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    broken = BrokenGpu("cpu")
    broken.device = "cuda"
    with pytest.raises(RuntimeError, match="illegal memory access"):
        broken.embed(mel, spans)
