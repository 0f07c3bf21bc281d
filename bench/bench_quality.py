"""Recording-quality checks on copies of ../shared/corpus made worse in known ways (capture/quality.py).

Each voice is processed as it is and as copies degraded by construction: noise, white up to
8 kHz, added at a set level under its speech (its speech frames' median level as the check
measures it on the copy as it is), a gain that drives its peak past full scale (hard clipping, as an
input set too hot), and telephone sampling (8 kHz). Per copy: what the quality check measured
and warned, and what the degradation did to the transcript: word error rate against the
reference, micropauses (.) and loud marks per minute, beside the copy as it is.

    python bench/bench_quality.py [--voices jfk,LJ050-0277] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import AMI, ASR_ITEMS, CORPUS, ami_reference_text, parse_corpus_args, word_errors  # noqa: E402
from capture.decode import load_audio, resample  # noqa: E402
from capture.pipeline import Engine, ProcessOptions  # noqa: E402
from transcribe.asr import AsrOptions  # noqa: E402

NOISE_UNDER_SPEECH_DB = (30.0, 20.0, 15.0, 10.0, 5.0)
OVERDRIVE_DB = (3.0, 10.0, 20.0)  # the peak driven this far past full scale


def voices() -> dict[str, tuple[Path, str]]:
    items = {name: (CORPUS / audio, (CORPUS / ref).read_text()) for name, (audio, ref) in ASR_ITEMS.items()}
    items["ami"] = (CORPUS / AMI, ami_reference_text())
    return items


def copies(path: Path, speech_dbfs: float, folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """The degraded copies of one recording, written as WAV files into ``folder``."""
    audio = load_audio(path)
    x, sr = audio.samples.T.astype(np.float64), audio.sample_rate_hz  # (frames, channels)
    out: dict[str, Path] = {}

    def write(name: str, y: np.ndarray, rate: int, subtype: str) -> None:
        out[name] = folder / f"{path.stem}-{name}.wav"
        sf.write(out[name], y, rate, subtype=subtype)

    white_16k = rng.normal(0.0, 1.0, int(np.ceil(x.shape[0] * 16000 / sr)) + 64)
    # White up to 8 kHz, where the measures look (and the same in every channel, so the mono mix
    # keeps all of it): its level under the speech is then the signal-to-noise ratio they see.
    noise = resample(white_16k, 16000, sr)[: x.shape[0], None]
    noise /= np.sqrt(np.mean(noise**2))
    for under in NOISE_UNDER_SPEECH_DB:
        write(f"noise{under:g}", x + noise * 10 ** ((speech_dbfs - under) / 20), sr, "FLOAT")
    peak = np.abs(x).max()
    for over in OVERDRIVE_DB:
        write(f"over{over:g}", np.clip(x / peak * 10 ** (over / 20), -1.0, 1.0), sr, "PCM_16")
    narrow = np.stack([resample(x[:, c], sr, 8000) for c in range(x.shape[1])], axis=1)
    write("8kHz", narrow, 8000, "PCM_16")
    return out


def row(voice: str, condition: str, transcript, reference: str) -> dict:
    minutes = transcript.audio.duration_s / 60
    q = transcript.quality
    errors, n = word_errors(reference, " ".join(w.text for w in transcript.words))
    count = {}
    for m in transcript.marks:
        key = "micropause" if m.type == "pause" and m.evidence.get("micropause") else m.type
        count[key] = count.get(key, 0) + 1
    return {"voice": voice, "copy": condition, "snr_db": q.snr_db, "clipped_pct": round(100 * q.clipped_fraction, 2),
            "warnings": [w.code for w in q.warnings], "wer": round(errors / n, 3),
            **{f"{t}_per_min": round(count.get(t, 0) / minutes, 1) for t in ("micropause", "pause", "loud")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="", help="comma-separated names (default: all): " + ", ".join(voices()))
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parse_corpus_args(parser)
    chosen = {k: v for k, v in voices().items() if not args.voices or k in args.voices.split(",")}
    engine = Engine(ProcessOptions(asr=AsrOptions(model=args.model)))
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tonescribe-bench-quality-") as tmp:
        for voice, (path, reference) in chosen.items():
            clean = engine.process(path)
            rows.append(row(voice, "as is", clean, reference))
            print(rows[-1], flush=True)
            for condition, copy in copies(path, clean.quality.speech_level_dbfs, Path(tmp), rng).items():
                rows.append(row(voice, condition, engine.process(copy), reference))
                print(rows[-1], flush=True)
    print()
    print("| copy | SNR measured (dB; in how many) | clipped % | warned | mean WER | median (.) per min | median loud per min |")
    print("|---|---|---|---|---|---|---|")
    for condition in dict.fromkeys(r["copy"] for r in rows):
        mine = [r for r in rows if r["copy"] == condition]
        snrs = [r["snr_db"] for r in mine if r["snr_db"] is not None]
        warned = sum(1 for r in mine if r["warnings"])
        print(f"| {condition} | {_span(snrs)} ({len(snrs)} of {len(mine)}) | {_span([r['clipped_pct'] for r in mine])} "
              f"| {warned} of {len(mine)} "
              f"| {np.mean([r['wer'] for r in mine]):.3f} | {np.median([r['micropause_per_min'] for r in mine]):.1f} "
              f"| {np.median([r['loud_per_min'] for r in mine]):.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _span(values: list[float]) -> str:
    if not values:
        return "not known"
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g} to {high:g}"


if __name__ == "__main__":
    raise SystemExit(main())
