"""Recognition alone, sequential vs batched decoding (and CPU thread counts), on the corpus.

For every configuration (batch size x CPU threads; the first one is the baseline) one
``Recognizer`` is loaded, then every item is recognised by every configuration in turn,
``--repeats`` times (A, B, A, B, ...), so that a busy machine slows them alike. Reported:

- speed: median wall seconds per item, times faster than real time, and the ratio to the
  baseline (>1 = faster); CPU seconds of the process too (less sensitive to other load);
- accuracy: word error rate after Whisper's English normalisation (bench/corpus.py) per item
  and over all items but the mixture together, and the difference to the baseline in percentage
  points. Tokens left with no letter or digit are dropped after normalising: the normaliser
  turns a trailing "..." into a "." token, which would count as an inserted word;
- word timing: the words two configurations agree on (same normalised text, aligned with
  difflib) and the median and 90th percentile of |start difference| in ms, against the baseline.

Items: the AMI 60 s meeting mixture (its reference is the four speakers' texts one after the
other, not in the order of the talk: its WER compares decoders, it is not an accuracy figure),
the same meeting's four headset tracks recognised one by one against each speaker's own text
(``ami_headsets``: the AMI accuracy figure), jfk, LibriSpeech, the three LJ Speech clips and a
``--long-minutes`` recording made from the whole corpus (bench/long_audio.py; speed and timing
only, it has no single reference). Prints Markdown tables; ``--json`` writes everything.

    python3 bench/bench_asr_batching.py --json asr.json       # sequential vs the default batch
    python3 bench/bench_asr_batching.py --batch-sizes 1,2,4,8 --repeats 5
    python3 bench/bench_asr_batching.py --batch-sizes 0 --threads 2,4 --items ami,long
    taskset -c 0 python3 bench/bench_asr_batching.py --batch-sizes 0 --threads 1,2 --items ami,long
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import AMI, ASR_ITEMS, CORPUS, ami_reference_text, parse_corpus_args, word_errors  # noqa: E402
from capture.decode import load_audio  # noqa: E402
from capture.device import available_cpu_cores  # noqa: E402
from transcribe.asr import AsrOptions, Recognizer  # noqa: E402

# Pooled WER: every item with a reference in the order it is spoken (not the AMI mixture).
POOLED = (*ASR_ITEMS, "ami_headsets")


def int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def ami_headsets() -> list[tuple]:
    """(headset track, that speaker's text) for the four AMI speakers (speaker_map.tsv)."""
    folder = CORPUS / AMI.split("/")[0]
    rows = [line.split("\t") for line in (folder / "speaker_map.tsv").read_text().splitlines()[1:] if line.strip()]
    return [(load_audio(folder / source).mono_16k(), (folder / text).read_text()) for _, text, source, *_ in rows]


def load_items(names: set[str], long_minutes: float) -> dict[str, list[tuple]]:
    """name -> [(16 kHz mono audio, reference text or None), ...]: an item may be several
    recordings, recognised one after the other and scored together."""
    items = {}
    if "ami" in names:
        items["ami_mixture_4spk"] = [(load_audio(CORPUS / AMI).mono_16k(), ami_reference_text())]
    if "ami_headsets" in names:
        items["ami_headsets"] = ami_headsets()
    for name, (audio, ref) in ASR_ITEMS.items():
        if name in names or "short" in names:
            items[name] = [(load_audio(CORPUS / audio).mono_16k(), (CORPUS / ref).read_text())]
    if "long" in names and long_minutes > 0:
        from bench.long_audio import make_long_audio

        path = make_long_audio(long_minutes)
        items[f"corpus_{long_minutes:g}min"] = [(load_audio(path).mono_16k(), None)]
    return items


def norm_token(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


def start_differences_ms(base_words, other_words) -> list[float]:
    """|start difference| of the words both runs wrote, matched in order by normalised text."""
    a = [norm_token(w.text) for w in base_words]
    b = [norm_token(w.text) for w in other_words]
    out = []
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            out.append(abs(base_words[block.a + k].start_s - other_words[block.b + k].start_s) * 1000)
    return out


def median(values) -> float | None:
    return round(statistics.median(values), 3) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--batch-sizes", type=int_list, default=[1, 0],
                        help="comma list; 1 = sequential decoder, 0 = the automatic choice (default 1,0)")
    parser.add_argument("--threads", type=int_list, default=[0], help="comma list of CPU threads; 0 = all cores")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--items", default="ami,ami_headsets,short,long",
                        help="comma list of: ami, ami_headsets, short (jfk, LibriSpeech, LJ), long, or single item names")
    parser.add_argument("--long-minutes", type=float, default=4.0)
    parser.add_argument("--json", type=Path)
    args = parse_corpus_args(parser)
    items = load_items(set(args.items.split(",")), args.long_minutes)
    configs = {}
    for bs in args.batch_sizes:
        for threads in args.threads:
            recognizer = Recognizer(AsrOptions(model=args.model, device=args.device, batch_size=bs,
                                               cpu_threads=threads, language="en"))
            label = f"{recognizer.decoder} b{recognizer.batch_size}"
            if len(args.threads) > 1 or threads:
                label += f" t{recognizer.cpu_threads}"
            configs[label] = recognizer
    base = next(iter(configs))
    load_start = os.getloadavg()
    wall = {c: {i: [] for i in items} for c in configs}
    cpu = {c: {i: [] for i in items} for c in configs}
    words = {c: {} for c in configs}
    for rep in range(args.repeats):
        for item, parts in items.items():
            for label, recognizer in configs.items():
                w0, c0 = time.perf_counter(), time.process_time()
                results = [recognizer.transcribe(audio) for audio, _ in parts]
                wall[label][item].append(time.perf_counter() - w0)
                cpu[label][item].append(time.process_time() - c0)
                words[label].setdefault(item, [r.words for r in results])
        print(f"repeat {rep + 1}/{args.repeats} done", file=sys.stderr, flush=True)

    report = {
        "model": args.model, "device": next(iter(configs.values())).device,
        "cores_available": available_cpu_cores(), "repeats": args.repeats, "baseline": base,
        "load_average_1min": {"start": round(load_start[0], 2), "end": round(os.getloadavg()[0], 2)},
        "configs": {c: r.identity() for c, r in configs.items()},
        "items": {}, "wer_pooled": {}, "total_wall_s": {},
    }
    for item, parts in items.items():
        row = {"duration_s": round(sum(len(audio) for audio, _ in parts) / 16000, 2), "recordings": len(parts),
               "configs": {}}
        for label in configs:
            cell = {"wall_s": [round(v, 3) for v in wall[label][item]], "cpu_s": [round(v, 3) for v in cpu[label][item]],
                    "median_wall_s": median(wall[label][item]), "median_cpu_s": median(cpu[label][item]),
                    "words": sum(len(w) for w in words[label][item])}
            cell["x_realtime"] = round(row["duration_s"] / cell["median_wall_s"], 1)
            cell["speedup_vs_baseline"] = round(median(wall[base][item]) / cell["median_wall_s"], 2)
            if parts[0][1] is not None:
                counts = [word_errors(ref, " ".join(w.text for w in ws)) for (_, ref), ws in zip(parts, words[label][item])]
                errors, n = sum(e for e, _ in counts), sum(n for _, n in counts)
                cell.update(errors=errors, reference_words=n, wer=round(errors / n, 4))
            if label != base:
                diffs = [d for a, b in zip(words[base][item], words[label][item]) for d in start_differences_ms(a, b)]
                cell["start_diff_ms"] = {"matched_words": len(diffs), "median": median(diffs),
                                         "p90": round(float(sorted(diffs)[int(0.9 * (len(diffs) - 1))]), 1) if diffs else None}
            row["configs"][label] = cell
        report["items"][item] = row
    for label in configs:
        cells = [report["items"][i]["configs"][label] for i in POOLED if i in report["items"]]
        if cells:
            report["wer_pooled"][label] = round(
                sum(c["errors"] for c in cells) / sum(c["reference_words"] for c in cells), 4)
        report["total_wall_s"][label] = round(sum(report["items"][i]["configs"][label]["median_wall_s"] for i in items), 3)

    print_tables(report, list(configs))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def print_tables(report: dict, labels: list[str]) -> None:
    base = report["baseline"]
    load = report["load_average_1min"]
    print(f"\n{report['model']} on {report['device']}, {report['cores_available']} cores available "
          f"(1-min load average {load['start']} at the start, {load['end']} at the end), "
          f"median of {report['repeats']} interleaved runs\n")
    print("| item | audio | " + " | ".join(f"{c}: wall s (× real time), CPU s" for c in labels) + " | "
          + " | ".join(f"{c} vs {base}" for c in labels[1:]) + " |")
    print("|---" * (2 + len(labels) + len(labels) - 1) + "|")
    for item, row in report["items"].items():
        cells = row["configs"]
        print(f"| {item} | {row['duration_s']} s | "
              + " | ".join(f"{cells[c]['median_wall_s']:.2f} ({cells[c]['x_realtime']}×), {cells[c]['median_cpu_s']:.2f}"
                           for c in labels) + " | "
              + " | ".join(f"{cells[c]['speedup_vs_baseline']}×" for c in labels[1:]) + " |")
    total = report["total_wall_s"]
    print("| **all items** | | " + " | ".join(f"{total[c]:.2f}" for c in labels) + " | "
          + " | ".join(f"{total[base] / total[c]:.2f}×" for c in labels[1:]) + " |")

    print("\n| item | " + " | ".join(f"WER {c}" for c in labels) + " | "
          + " | ".join(f"{c}: Δ WER, median / p90 \\|Δ start\\| (words matched)" for c in labels[1:]) + " |")
    print("|---" * (1 + len(labels) + len(labels) - 1) + "|")
    for item, row in report["items"].items():
        cells = row["configs"]
        wer = [(f"{100 * cells[c]['wer']:.2f} %" if "wer" in cells[c] else "–") + f" ({cells[c]['words']} words)"
               for c in labels]
        diffs = []
        for c in labels[1:]:
            d = cells[c]["start_diff_ms"]
            delta = f"{100 * (cells[c]['wer'] - cells[base]['wer']):+.2f} pp" if "wer" in cells[c] else "–"
            diffs.append(f"{delta}; {d['median']} / {d['p90']} ms ({d['matched_words']} of {cells[base]['words']})")
        print(f"| {item} | " + " | ".join(wer) + " | " + " | ".join(diffs) + " |")
    together = report["wer_pooled"]
    if together:
        pooled = " + ".join(i for i in POOLED if i in report["items"])
        print(f"| pooled: {pooled} | " + " | ".join(f"{100 * together[c]:.2f} %" for c in labels) + " | "
              + " | ".join(f"{100 * (together[c] - together[base]):+.2f} pp" for c in labels[1:]) + " |")
    if "ami_mixture_4spk" in report["items"]:
        print("\nami_mixture_4spk: the reference is the four speakers' texts one after the other, not in the order "
              "of the talk, so its WER compares decoders only; ami_headsets is the AMI accuracy figure.")


if __name__ == "__main__":
    sys.exit(main())
