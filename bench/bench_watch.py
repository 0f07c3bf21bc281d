"""Does overlapping decode/diarization/prosody of one recording with recognition of the next help?

Runs the real ``tonescribe watch --once`` over the corpus recordings (copied into a temporary
inbox) with and without ``--no-overlap``, alternating, and reports wall time and real-time
factor (processing seconds per audio second) for each run.

    python -m bench.bench_watch [--rounds 2] [--model tiny.en] [--speakers auto|none]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
FILES = ["jfk/jfk.flac", "librispeech_2412-153948-0000/2412-153948-0000.flac",
         "ljspeech_LJ050-027x/LJ050-0276.wav", "ljspeech_LJ050-027x/LJ050-0277.wav",
         "ljspeech_LJ050-027x/LJ050-0278.wav", "ptdb_tug_f0/mic_F01_sa1.wav",
         "fw_stereo_2spk/stereo_diarization.wav", "ami_mixture_4spk/mixture.wav"]


def run_once(files: list[Path], extra: list[str], model: str, speakers: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        inbox, out = Path(tmp) / "in", Path(tmp) / "out"
        inbox.mkdir()
        for f in files:
            shutil.copyfile(f, inbox / f"{f.parent.name}-{f.name}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "capture.cli", "watch", str(inbox), "--out", str(out), "--once",
                        "--settle", "0.2", "--interval", "0.1", "--model", model, "--speakers", speakers, "--quiet", *extra],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        con = sqlite3.connect(out / ".tonescribe" / "jobs.db")
        rows = con.execute("SELECT state, duration_s, timings_json, started_at, finished_at FROM jobs").fetchall()
        con.close()
    assert all(r[0] == "done" for r in rows), rows
    audio = sum(r[1] for r in rows)
    busy = max(r[4] for r in rows) - min(r[3] for r in rows)  # first job start to last job end
    return {"wall_s": round(wall, 2), "queue_s": round(busy, 2), "audio_s": round(audio, 2),
            "rtf_queue": round(busy / audio, 3),
            "asr_s": round(sum(json.loads(r[2]).get("asr", 0) for r in rows), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--speakers", default="auto", help="speaker mode (none: leave diarization out)")
    args = parser.parse_args()
    files = [CORPUS / f for f in FILES if (CORPUS / f).is_file()]
    if not files:
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    results: dict[str, list[dict]] = {"overlap": [], "no-overlap": []}
    for _ in range(args.rounds):
        for name, extra in (("no-overlap", ["--no-overlap"]), ("overlap", [])):
            result = run_once(files, extra, args.model, args.speakers)
            results[name].append(result)
            print(name, result, flush=True)
    best = {k: min(r["queue_s"] for r in v) for k, v in results.items()}
    print(json.dumps({"files": len(files), "speakers": args.speakers, "best_queue_s": best,
                      "speedup": round(best["no-overlap"] / best["overlap"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
