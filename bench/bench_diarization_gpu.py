"""Diarization on a GPU, when one is present: does each backend really run there, and does it
agree with the CPU?

    python3 bench/bench_diarization_gpu.py [--json out.json]

- embedded: the d-vector encoder on CUDA against the same encoder on CPU (largest difference of
  the embeddings of the same windows), and the whole backend on each device (speakers found,
  whether the turns agree, seconds after a warm-up call) on the espeak-ng two-voice fixture
  repeated to 2 minutes.
- pyannote: a randomly initialised pipeline in the community-1 layout (as in the tests) loaded
  with ``device="auto"``: where its models sit, and the seconds per run on CPU and on CUDA.
Needs no corpus. Without CUDA it says so and measures the CPU only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from capture.decode import Audio, load_audio  # noqa: E402
from capture.record import AudioInfo  # noqa: E402
from transcribe.diarize import SpeakerOptions  # noqa: E402
from transcribe.embedded import EmbeddedOptions, diarize_embedded, window_spans  # noqa: E402
from transcribe.scoring import der  # noqa: E402


def timed(fn, *args, **kwargs):
    fn(*args, **kwargs)  # warm-up (model load, CUDA kernels)
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    out: dict = {"torch": torch.__version__, "cuda": cuda,
                 "gpu": torch.cuda.get_device_name(0) if cuda else None}
    x = load_audio(REPO / "tests/fixtures/diarization_two_voices.ogg").mono_16k()
    x = np.tile(x, int(np.ceil(120 * 16000 / len(x))))[: 120 * 16000]
    audio = Audio(samples=x[None, :], sample_rate_hz=16000, info=AudioInfo("two-voices x4", "", 120.0, 16000, 1))
    opts = SpeakerOptions(mode="embedded")
    devices = ["cpu"] + (["cuda"] if cuda else [])
    runs = {}
    for device in devices:
        result, seconds = timed(diarize_embedded, audio, opts, EmbeddedOptions(device=device))
        runs[device] = result
        out[f"embedded_{device}"] = {"speakers": result.num_speakers, "turns": len(result.turns),
                                     "seconds": round(seconds, 3), "x_real_time": round(120.0 / seconds, 1),
                                     "model_device": result.model["device"]}
    if cuda:
        from transcribe.embeddings import load_encoder, mel_frames

        mel = mel_frames(x)
        spans = window_spans([(0.0, 120.0)], window_s=1.5, step_s=0.25, n_frames=len(mel))
        diff = np.abs(load_encoder("cpu").embed(mel, spans) - load_encoder("cuda").embed(mel, spans)).max()
        out["embedded_cuda_vs_cpu"] = {
            "max_abs_embedding_difference": float(diff),
            "der_between_devices": round(der(runs["cpu"].turns, runs["cuda"].turns, duration_s=120.0).strict, 4)}

    from test_diarization_pyannote import make_random_pipeline

    from transcribe.pyannote_backend import diarize_pyannote, load_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        folder = make_random_pipeline(Path(tmp) / "pyannote-diarization")
        loaded = load_pipeline(folder, device="auto")
        out["pyannote_auto_device"] = {
            "device": loaded.device,
            "segmentation_on": next(loaded.pipeline._segmentation.model.parameters()).device.type,
            "embedding_on": next(loaded.pipeline._embedding.model_.parameters()).device.type}
        for device in devices:
            turns, seconds = timed(diarize_pyannote, audio, SpeakerOptions(mode="pyannote"), folder=folder, device=device)
            out[f"pyannote_random_{device}"] = {"turns": len(turns), "seconds": round(seconds, 3),
                                                "x_real_time": round(120.0 / seconds, 1)}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
