"""Diarization benchmark over ../shared/corpus (numbers for the README's "Diarization" table).

    python3 bench/bench_diarization.py            # everything (runs the ASR for cpWER and stereo)
    python3 bench/bench_diarization.py --no-asr   # diarization only (DER, overlap, counts, speed)
    python3 bench/bench_diarization.py --json out.json

What it measures:
- ``embedded`` on ami_mixture_4spk/mixture.wav against mixture.rttm: DER strict (no collar,
  overlap scored) and forgiving (0.25 s collar each side, overlap skipped), with pyannote.metrics;
  speakers found (automatic count); overlap precision/recall; speed (wall and CPU seconds after a
  warm-up call, i.e. without model loading) as real-time factor and "x real time".
- speaker counts on every corpus item and on mixtures made by joining items of different people
  (the same defaults for all; the count must come out right on each, one speaker on single-speaker items).
- ``auto`` on fw_stereo_2spk: the mode it picks and, per channel, how many words of that channel's
  reference text are recognised in its own speaker's words vs in the other speaker's.
- overlap detection on mixtures made by ADDING two single-speaker items so that the second
  starts before the first ends (a turn change with overlap; equal loudness or the second 6 dB
  quieter or louder), with the true overlap known exactly: each source's speech comes from the
  VAD run on that source alone. Controls join the same items without overlap (any overlap
  found there is a false alarm). Each with the default settings and with the mixture test off
  (``overlap_mix_gain=0``, the detector before it was added), and the same pair on AMI.
- cpWER on ami_mixture_4spk (meeteval) against the four per-speaker texts, next to the WER of the
  same recognised words when each is given its speaker from the reference RTTM (oracle attribution):
  the difference is what attribution mistakes cost. Texts are normalised with whisper_normalizer's
  EnglishTextNormalizer after turning AMI acronyms (``L_C_D_``) into words.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))

from capture.decode import Audio, load_audio  # noqa: E402
from capture.record import AudioInfo, Turn  # noqa: E402
from transcribe.diarize import SpeakerOptions  # noqa: E402
from transcribe.embedded import diarize_embedded  # noqa: E402
from transcribe.scoring import der, load_rttm_turns, overlap_precision_recall  # noqa: E402


def mono_audio(x: np.ndarray, name: str) -> Audio:
    x = np.asarray(x, dtype=np.float32)
    return Audio(samples=x[None, :], sample_rate_hz=16000, info=AudioInfo(name, "", len(x) / 16000, 16000, 1))


def corpus_items() -> dict:
    """name -> (audio, reference turns or None, true speaker count)."""
    c = CORPUS
    pieces = {
        "jfk": load_audio(c / "jfk/jfk.flac").mono_16k(),
        "libri": load_audio(c / "librispeech_2412-153948-0000/2412-153948-0000.flac").mono_16k(),
        "lj0276": load_audio(c / "ljspeech_LJ050-027x/LJ050-0276.wav").mono_16k(),
        "lj0277": load_audio(c / "ljspeech_LJ050-027x/LJ050-0277.wav").mono_16k(),
        "lj0278": load_audio(c / "ljspeech_LJ050-027x/LJ050-0278.wav").mono_16k(),
        "ptdb_f01": load_audio(c / "ptdb_tug_f0/mic_F01_sa1.wav").mono_16k(),
    }
    person = {"jfk": "jfk", "libri": "libri", "lj0276": "lj", "lj0277": "lj", "lj0278": "lj", "ptdb_f01": "ptdb"}

    def joined(names):
        xs, turns, t = [], [], 0.0
        for n in names:
            x = pieces[n] / (np.sqrt(np.mean(pieces[n] ** 2)) + 1e-9) * 0.05  # equal loudness
            xs.append(x)
            turns.append(Turn(person[n], t, t + len(x) / 16000))
            t += len(x) / 16000
        return mono_audio(np.concatenate(xs), "+".join(names)), turns, len({person[n] for n in names})

    stereo = load_audio(c / "fw_stereo_2spk/stereo_diarization.wav")
    items = {
        "ami_mixture_4spk": (load_audio(c / "ami_mixture_4spk/mixture.wav"),
                             load_rttm_turns(c / "ami_mixture_4spk/mixture.rttm"), 4),
        "fw_stereo_2spk as mono": (mono_audio(stereo.mono_16k(), "stereo-mono"),
                                   [Turn("left", 0.0, 4.93), Turn("right", 0.34, 2.56)], 2),
    }
    for n in ("jfk", "libri", "ptdb_f01"):
        items[n] = (mono_audio(pieces[n], n), None, 1)
    items["lj x3 (one speaker, 3 files)"] = joined(["lj0276", "lj0277", "lj0278"])
    items["lj+libri+jfk+lj (3 speakers)"] = joined(["lj0276", "libri", "jfk", "lj0277"])
    items["jfk+ptdb+lj+libri+ptdb (4 speakers)"] = joined(["jfk", "ptdb_f01", "lj0278", "libri", "ptdb_f01"])
    return items


def bench_embedded(items: dict) -> dict:
    out = {}
    opts = SpeakerOptions(mode="embedded")
    diarize_embedded(items["jfk"][0], opts)  # warm-up: loads the encoder and the VAD once
    for name, (audio, ref, n_true) in items.items():
        wall, cpu = time.perf_counter(), time.process_time()
        d = diarize_embedded(audio, opts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {"speakers_true": n_true, "speakers_found": d.num_speakers, "duration_s": round(audio.duration_s, 2),
               "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "rtf": round(wall / audio.duration_s, 4),
               "x_real_time": round(audio.duration_s / wall, 1)}
        if ref is not None:
            row.update(der(ref, d.turns, duration_s=audio.duration_s).as_dict())
            p, r, ref_ov, hyp_ov = overlap_precision_recall(ref, d.turns)
            row.update({"overlap_precision": None if np.isnan(p) else round(p, 3),
                        "overlap_recall": None if np.isnan(r) else round(r, 3),
                        "overlap_ref_s": round(ref_ov, 2), "overlap_found_s": round(hyp_ov, 2)})
        out[name] = row
        print(f"{name}: {json.dumps(row)}", flush=True)
    return out


def overlap_items() -> dict:
    """name -> (audio, reference turns): two single-speaker items summed with a known overlap."""
    from transcribe.vad import speech_regions

    c = CORPUS
    x = {"lj0276": load_audio(c / "ljspeech_LJ050-027x/LJ050-0276.wav").mono_16k(),
         "lj0277": load_audio(c / "ljspeech_LJ050-027x/LJ050-0277.wav").mono_16k(),
         "libri": load_audio(c / "librispeech_2412-153948-0000/2412-153948-0000.flac").mono_16k(),
         "jfk": load_audio(c / "jfk/jfk.flac").mono_16k(),
         "ptdb_f01": load_audio(c / "ptdb_tug_f0/mic_F01_sa1.wav").mono_16k()}

    def summed(a: str, b: str, overlap_s: float, gain_b_db: float = 0.0):
        xa = x[a] / (np.sqrt(np.mean(x[a] ** 2)) + 1e-9) * 0.05
        xb = x[b] / (np.sqrt(np.mean(x[b] ** 2)) + 1e-9) * 0.05 * 10 ** (gain_b_db / 20)
        offset = len(xa) - int(round(overlap_s * 16000))
        out = np.zeros(max(len(xa), offset + len(xb)), dtype=np.float32)
        out[: len(xa)] += xa
        out[offset: offset + len(xb)] += xb
        ref = [Turn(a, s, e) for s, e in speech_regions(xa)]
        ref += [Turn(b, s + offset / 16000, e + offset / 16000) for s, e in speech_regions(xb)]
        return mono_audio(out, f"{a}+{b}"), ref

    return {
        "lj0276 > libri, 2 s overlap": summed("lj0276", "libri", 2.0),
        "libri > lj0277 (-6 dB), 2 s overlap": summed("libri", "lj0277", 2.0, -6.0),
        "libri > jfk (+6 dB), 1.5 s overlap": summed("libri", "jfk", 1.5, 6.0),
        "jfk > lj0276, 3 s overlap": summed("jfk", "lj0276", 3.0),
        "jfk > ptdb_f01, 4 s overlap": summed("jfk", "ptdb_f01", 4.0),
        "ptdb_f01 > libri, 3 s overlap": summed("ptdb_f01", "libri", 3.0),
        "control: lj0276 | libri, no overlap": summed("lj0276", "libri", 0.0),
        "control: libri | lj0277 (-6 dB), no overlap": summed("libri", "lj0277", 0.0, -6.0),
        "control: jfk | ptdb_f01, no overlap": summed("jfk", "ptdb_f01", 0.6),  # jfk.flac ends in silence: 0 s true overlap
    }


def bench_overlap(items: dict) -> dict:
    from dataclasses import replace

    from transcribe.embedded import EmbeddedOptions

    opts = SpeakerOptions(mode="embedded")
    variants = {"default": EmbeddedOptions(), "mixture test off": replace(EmbeddedOptions(), overlap_mix_gain=0.0)}
    out: dict = {}
    for variant, settings in variants.items():
        rows, hit, found, ref_total = {}, 0.0, 0.0, 0.0
        for name, (audio, ref) in items.items():
            d = diarize_embedded(audio, opts, settings)
            p, r, ref_ov, hyp_ov = overlap_precision_recall(ref, d.turns)
            rows[name] = {"speakers_found": d.num_speakers, "overlap_ref_s": round(ref_ov, 2),
                          "overlap_found_s": round(hyp_ov, 2),
                          "overlap_precision": None if np.isnan(p) else round(p, 3),
                          "overlap_recall": None if np.isnan(r) else round(r, 3),
                          "der_strict": round(der(ref, d.turns, duration_s=audio.duration_s).strict, 4)}
            if not name.startswith("control") and name != "ami_mixture_4spk":
                hit += 0.0 if np.isnan(p) else p * hyp_ov
                found += hyp_ov
                ref_total += ref_ov
            print(f"overlap [{variant}] {name}: {json.dumps(rows[name])}", flush=True)
        rows["pooled summed mixtures"] = {"overlap_precision": round(hit / found, 3) if found else None,
                                          "overlap_recall": round(hit / ref_total, 3) if ref_total else None}
        print(f"overlap [{variant}] pooled summed mixtures: {json.dumps(rows['pooled summed mixtures'])}", flush=True)
        out[variant] = rows
    return out


def normalise(text: str) -> str:
    from whisper_normalizer.english import EnglishTextNormalizer

    text = re.sub(r"\b((?:[A-Za-z]_)+)", lambda m: m.group(1).replace("_", ""), text)  # L_C_D_ -> LCD
    return EnglishTextNormalizer()(text)


def bench_cpwer(engine_factory) -> dict:
    from meeteval.wer import cp_word_error_rate

    c = CORPUS / "ami_mixture_4spk"
    rows = [line.split("\t") for line in (c / "speaker_map.tsv").read_text().splitlines()[1:] if line.strip()]
    refs = {spk: normalise((c / text).read_text()) for spk, text, *_ in rows}
    transcript = engine_factory("embedded").process(c / "mixture.wav")
    hyp: dict[str, list[str]] = {}
    for w in transcript.words:
        hyp.setdefault(w.speaker, []).append(w.text)
    ref_turns = load_rttm_turns(c / "mixture.rttm")
    oracle: dict[str, list[str]] = {}
    for w in transcript.words:
        mid = (w.start_s + w.end_s) / 2
        covering = [t for t in ref_turns if t.start_s <= mid <= t.end_s]
        near = covering or [min(ref_turns, key=lambda t: min(abs(t.start_s - mid), abs(t.end_s - mid)))]
        oracle.setdefault(max(near, key=lambda t: t.end_s - t.start_s).speaker, []).append(w.text)
    speakers = sorted(refs)
    ref_list = [refs[s] for s in speakers]
    cp = cp_word_error_rate(ref_list, [normalise(" ".join(v)) for v in hyp.values()])
    orc = cp_word_error_rate(ref_list, [normalise(" ".join(oracle.get(s, []))) for s in speakers])
    result = {"cpwer": round(cp.error_rate, 4), "cpwer_errors": cp.errors, "ref_words": cp.length,
              "missed_speakers": cp.missed_speaker, "falarm_speakers": cp.falarm_speaker,
              "wer_oracle_speakers": round(orc.error_rate, 4), "speakers_found": len(transcript.speakers),
              "asr_model": transcript.pipeline.options["asr"].get("model")}
    print(f"cpWER ami_mixture_4spk: {json.dumps(result)}", flush=True)
    return result


def bench_stereo(engine_factory) -> dict:
    c = CORPUS / "fw_stereo_2spk"
    transcript = engine_factory("auto").process(c / "stereo_diarization.wav")
    chosen = transcript.pipeline.options["speakers_chosen"]
    by_channel = {s.channel: s.id for s in transcript.speakers}
    rows = [line.split("\t") for line in (c / "stereo_diarization.reference.tsv").read_text().splitlines()[1:]]
    result = {"mode": chosen["mode"], "speakers": len(transcript.speakers), "channels": {}}
    for channel_name, _, text in rows:
        ch = 0 if channel_name == "left" else 1
        own = by_channel.get(ch)
        ref_words = normalise(text).split()
        own_words = normalise(" ".join(w.text for w in transcript.words if w.speaker == own)).split()
        other_words = normalise(" ".join(w.text for w in transcript.words if w.speaker != own)).split()
        hits = _count_in(ref_words, own_words)
        result["channels"][channel_name] = {
            "speaker": own, "reference_words": len(ref_words), "found_in_own_speaker": sum(hits),
            "found_only_in_other_speaker": sum(1 for w, hit in zip(ref_words, hits) if not hit and w in other_words)}
    print(f"auto on fw_stereo_2spk: {json.dumps(result)}", flush=True)
    return result


def _count_in(ref_words: list[str], hyp_words: list[str]) -> list[int]:
    pool = list(hyp_words)
    hits = []
    for w in ref_words:
        if w in pool:
            pool.remove(w)
            hits.append(1)
        else:
            hits.append(0)
    return hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-asr", action="store_true", help="skip the parts that run speech recognition")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    import torch

    results = {"machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                           "load_average": os.getloadavg()}}
    items = corpus_items()
    results["embedded"] = bench_embedded(items)
    ami_audio, ami_ref, _ = items["ami_mixture_4spk"]
    results["overlap"] = bench_overlap({"ami_mixture_4spk": (ami_audio, ami_ref), **overlap_items()})
    if not args.no_asr:
        from capture.pipeline import Engine, ProcessOptions

        def engine_factory(mode: str) -> Engine:
            return Engine(ProcessOptions(speakers=SpeakerOptions(mode=mode)))

        results["stereo_auto"] = bench_stereo(engine_factory)
        results["ami_cpwer"] = bench_cpwer(engine_factory)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
