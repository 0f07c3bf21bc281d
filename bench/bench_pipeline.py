"""End-to-end pipeline benchmark over ../shared/corpus.

Prints, per item and in total: real-time factor per stage (x faster than real time; model
loading apart), word error rate after Whisper's English normalisation, pitch errors against the
PTDB-TUG laryngograph reference, pause errors against the LJ Speech forced-alignment TextGrids.

    python bench/bench_pipeline.py [--model tiny.en] [--device auto] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import AMI, ASR_ITEMS, CORPUS, ami_reference_text, parse_corpus_args, fillers, PTDB_REF, PTDB_WAV, match_pauses, pitch_errors, reference_f0, reference_pauses, word_errors  # noqa: E402
from capture.pipeline import Engine, ProcessOptions  # noqa: E402
from transcribe.asr import AsrOptions  # noqa: E402
from transcribe.diarize import SpeakerOptions  # noqa: E402

STAGES = ("decode", "asr", "diarization", "prosody", "total")


def rtf_row(name: str, transcript) -> dict:
    dur = transcript.audio.duration_s
    t = transcript.pipeline.timings_s
    return {"item": name, "duration_s": dur, **{f"x_{s}": round(dur / t[s], 1) if t.get(s) else None for s in STAGES}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--speakers", default="auto")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--filler-prompt", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parse_corpus_args(parser)
    engine = Engine(ProcessOptions(asr=AsrOptions(model=args.model, device=args.device, beam_size=args.beam_size,
                                                  filler_prompt=args.filler_prompt),
                                   speakers=SpeakerOptions(mode=args.speakers)))
    recognizer, load_s = engine.recognizer()
    report = {"model": recognizer.identity(), "model_load_s": round(load_s, 3), "items": [], "wer": {}, "pitch": {}, "pauses": {}}
    print(f"model {args.model} on {recognizer.device}/{recognizer.compute_type}: loaded in {load_s:.2f} s")

    def run(name: str, rel: str):
        transcript = engine.process(CORPUS / rel)
        row = rtf_row(name, transcript)
        report["items"].append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()))
        return transcript

    lj_errors, lj_words = 0, 0
    for name, (audio, ref) in ASR_ITEMS.items():
        transcript = run(name, audio)
        errors, n = word_errors((CORPUS / ref).read_text(), " ".join(w.text for w in transcript.words))
        report["wer"][name] = round(errors / n, 4)
        if name.startswith("LJ"):
            lj_errors, lj_words = lj_errors + errors, lj_words + n
            ref_pauses, ref_words = reference_pauses(CORPUS / audio.replace(".wav", ".TextGrid"))
            found = [(p.start_s, p.end_s) for p in transcript.pauses]
            report["pauses"][name] = match_pauses(ref_pauses, found, ref_words)
    report["wer"]["LJ050-027x (together)"] = round(lj_errors / lj_words, 4)

    transcript = run("ptdb_F01_sa1", PTDB_WAV)
    times, ref_hz = reference_f0(CORPUS / PTDB_REF)
    f0 = [float("nan") if v is None else v for v in transcript.pitch.f0_hz]
    report["pitch"]["ptdb_F01_sa1"] = pitch_errors(times, ref_hz, f0, hop_s=transcript.pitch.hop_s)

    ami = run("ami_mixture_4spk", AMI)
    report["ami_end_to_end_x_realtime"] = round(ami.audio.duration_s / ami.pipeline.timings_s["total"], 1)
    report["ami_prosody_x_realtime"] = round(ami.audio.duration_s / ami.pipeline.timings_s["prosody"], 1)
    report["ami_fillers"] = {"reference": fillers(ami_reference_text()),
                             "found": fillers(" ".join(w.text for w in ami.words))}

    total_dur = sum(r["duration_s"] for r in report["items"])
    print(f"\nall items: {total_dur:.1f} s of audio")
    print("WER (normalised):", json.dumps(report["wer"]))
    print("pitch:", json.dumps(report["pitch"]))
    print("pauses:", json.dumps(report["pauses"]))
    print("fillers on ami (um, uh, mm, mm-hmm...):", json.dumps(report["ami_fillers"]))
    print(f"ami 60 s end to end (model load excluded): {report['ami_end_to_end_x_realtime']}x real time; "
          f"prosody stage {report['ami_prosody_x_realtime']}x real time")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
