"""Word edges of the forced aligner against the true ones, on the prosody test set.

Each item of a set written by ``bench/prosody_testset.py`` is recognised once (tiny.en, no
alignment; cached in ``--work``), then its recognised words are aligned with each variant of
``AlignOptions`` and matched in order to the item's true words (espeak-ng's word events for the
synthetic half, the LJ Speech TextGrid words through the edits for the edited real half; see
``bench_marks.true_words``). Reported per half: words aligned, words given phones, and the
start and end errors of the matched words (median, 90th percentile, share within 50 ms), also
for the recogniser's own times.

    python bench/bench_alignment.py --set /tmp/prosody_testset --work /tmp/pa4 \\
        [--set /tmp/prosody_testset5 --work /tmp/pa5] [--json alignment.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_marks import CORPUS, Runner, _norm, true_words  # noqa: E402
from transcribe.forced_align import AlignOptions  # noqa: E402

VARIANTS = {  # name -> AlignOptions fields
    "one pass, no retry (before)": {"passes": 1, "retry_beams": ()},
    "retry beam only": {"passes": 1},
    "second pass only": {"retry_beams": ()},
    "default": {},
}


def errors(words, truth) -> list[tuple[float, float]]:
    """(start, end) error of each word matched in order to a true word of the same spelling
    (looking at most 3 true words ahead, so a misrecognised word does not derail the rest)."""
    out, j = [], 0
    for w in words:
        for k in range(j, min(j + 4, len(truth))):
            if _norm(truth[k][0]) == _norm(w.text):
                out.append((abs(w.start_s - truth[k][1]), abs(w.end_s - truth[k][2])))
                j = k + 1
                break
    return out


def summary(rows: dict) -> dict:
    e = np.array(rows["errors"]) if rows["errors"] else np.zeros((0, 2))
    return {"words": rows["words"], "aligned": rows["aligned"], "with_phones": rows["phones"], "matched": len(e),
            "start_median_s": round(float(np.median(e[:, 0])), 3) if len(e) else None,
            "start_p90_s": round(float(np.percentile(e[:, 0], 90)), 3) if len(e) else None,
            "end_median_s": round(float(np.median(e[:, 1])), 3) if len(e) else None,
            "end_p90_s": round(float(np.percentile(e[:, 1], 90)), 3) if len(e) else None,
            "within_50ms": round(float(np.mean(e.max(axis=1) <= 0.05)), 3) if len(e) else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True, action="append", help="folder of bench/prosody_testset.py")
    parser.add_argument("--work", type=Path, required=True, action="append", help="cache of recognised words, one per --set")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if len(args.set) != len(args.work):
        parser.error("give one --work per --set")
    from capture.decode import load_audio
    from capture.offline import enforce_offline
    from transcribe.forced_align import WordAligner, align_words

    enforce_offline()
    items = []
    for folder, work in zip(args.set, args.work):
        runner = Runner(work, "tiny.en", "auto", align=False)
        for item in json.loads((folder / "manifest.json").read_text())["items"]:
            truth = true_words(item, "item", args.corpus)
            if truth and item["truth"][0]["type"] != "intonation":
                audio = folder / item["audio"]
                words = runner.transcript(f"{item['id']}.recognised", audio).words
                items.append((item["set"], load_audio(audio), words, truth))
    results: dict = {}
    for name, fields in [("recogniser", None)] + list(VARIANTS.items()):
        aligner = WordAligner(AlignOptions(**fields)) if fields is not None else None
        rows: dict = {}
        for half, audio, words, truth in items:
            got = align_words(audio, words, aligner)[0] if aligner else words
            row = rows.setdefault(half, {"words": 0, "aligned": 0, "phones": 0, "errors": []})
            row["words"] += len(got)
            row["aligned"] += sum(w.aligned for w in got)
            row["phones"] += sum(bool(w.phones) for w in got)
            row["errors"] += errors(got, truth)
        if aligner:
            aligner.close()
        results[name] = {"options": asdict(AlignOptions(**fields)) if fields is not None else None,
                         **{half: summary(row) for half, row in rows.items()}}
    print("| words | set | aligned | with phones | start error median / p90 (s) | end error median / p90 (s) | within 50 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        for half in ("synthetic", "edited_real"):
            if half in result:
                r = result[half]
                print(f"| {name} | {half} | {r['aligned']} of {r['words']} | {r['with_phones']} | {r['start_median_s']} / "
                      f"{r['start_p90_s']} | {r['end_median_s']} / {r['end_p90_s']} | {r['within_50ms']} |")
    if args.json:
        args.json.write_text(json.dumps({"sets": [str(s) for s in args.set], "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
