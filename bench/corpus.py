"""The evaluation corpus at ../shared/corpus and its ground truth readers."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))

ASR_ITEMS = {
    "jfk": ("jfk/jfk.flac", "jfk/jfk.reference.txt"),
    "librispeech_2412-153948-0000": (
        "librispeech_2412-153948-0000/2412-153948-0000.flac",
        "librispeech_2412-153948-0000/2412-153948-0000.reference.txt",
    ),
    **{
        f"LJ050-027{i}": (f"ljspeech_LJ050-027x/LJ050-027{i}.wav", f"ljspeech_LJ050-027x/LJ050-027{i}.reference.txt")
        for i in (6, 7, 8)
    },
}
AMI = "ami_mixture_4spk/mixture.wav"
PTDB_WAV = "ptdb_tug_f0/mic_F01_sa1.wav"
PTDB_REF = "ptdb_tug_f0/ref_F01_sa1.f0"


FILLER = re.compile(r"^(um+|uh+|mm+|hmm+|mhm|mm-hmm|uh-huh|er+|erm)$")


def parse_corpus_args(parser):
    """The benchmark's arguments, once the corpus is known to be there and the network is off;
    exits with status 2 and a one-line reason when the corpus is missing."""
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        raise SystemExit(2)
    from capture.offline import enforce_offline

    enforce_offline()
    return args


def fillers(text: str) -> int:
    """Filled pauses (um, uh, mm, mm-hmm...) in a text."""
    return sum(1 for token in text.lower().split() if FILLER.match(re.sub(r"[^\w-]", "", token)))


def ami_reference_text() -> str:
    return " ".join(p.read_text() for p in sorted((CORPUS / "ami_mixture_4spk" / "text").glob("*.txt")))


def normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length) after Whisper's English normalisation."""
    import jiwer

    norm = normaliser()
    # The normaliser leaves a trailing "..." as a lone "." token: punctuation, not a word.
    ref, hyp = (" ".join(t for t in norm(text).split() if any(c.isalnum() for c in t)) for text in (reference, hypothesis))
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, len(ref.split())


def reference_pauses(textgrid: Path, *, min_s: float = 0.2) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(pauses, words) from a TextGrid ``words`` tier: pauses are empty intervals of at least
    ``min_s`` between two words."""
    from praatio import textgrid as tg

    tier = tg.openTextgrid(str(textgrid), includeEmptyIntervals=True).getTier("words")
    entries = [(e.start, e.end, e.label.strip()) for e in tier.entries]
    words = [(s, e) for s, e, label in entries if label]
    pauses = [(s, e) for s, e, label in entries if not label and e - s >= min_s
              and words and s >= words[0][0] and e <= words[-1][1]]
    return pauses, words


def reference_f0(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frame centre times in s, F0 in Hz with 0 for unvoiced) of a PTDB-TUG .f0 file: frame i is
    centred at i * 10 ms + 16 ms."""
    table = np.loadtxt(path)
    f0 = np.where(table[:, 1] > 0, table[:, 0], 0.0)
    return np.arange(len(table)) * 0.01 + 0.016, f0


def pitch_errors(times_s: np.ndarray, ref_hz: np.ndarray, f0_hz: np.ndarray, *, hop_s: float) -> dict:
    """Gross pitch error (> 20 % off, frames voiced in both), voicing decision error and the
    median error in cents of the remaining frames; our frame nearest each reference frame."""
    idx = np.clip(np.round(times_s / hop_s).astype(int), 0, len(f0_hz) - 1)
    ours = np.nan_to_num(np.asarray(f0_hz, dtype=float)[idx], nan=0.0)
    ref_v, our_v = ref_hz > 0, ours > 0
    both = ref_v & our_v
    ratio = ours[both] / ref_hz[both]
    gross = np.abs(ratio - 1) > 0.2
    fine = 1200 * np.abs(np.log2(ratio[~gross])) if (~gross).any() else np.array([np.nan])
    return {
        "gpe": float(gross.mean()) if both.any() else float("nan"),
        "vde": float(np.mean(ref_v != our_v)),
        "fine_median_cents": float(np.median(fine)),
        "frames_voiced_both": int(both.sum()),
    }


def match_pauses(reference: list[tuple[float, float]], found: list[tuple[float, float]], ref_words,
                 *, tolerance_s: float = 0.06, min_s: float = 0.2) -> dict:
    """Reference pauses matched by a found pause with both edges within ``tolerance_s``; found
    pauses of ``min_s`` or more lying over a reference word count as false."""
    matched, errors = 0, []
    for rs, re_ in reference:
        best = min(found, key=lambda p: abs(p[0] - rs) + abs(p[1] - re_), default=None)
        if best and abs(best[0] - rs) <= tolerance_s and abs(best[1] - re_) <= tolerance_s:
            matched += 1
            errors.append(max(abs(best[0] - rs), abs(best[1] - re_)))
    false = 0
    for s, e in found:
        if e - s < min_s:
            continue
        if any(abs(s - rs) <= tolerance_s and abs(e - re_) <= tolerance_s for rs, re_ in reference):
            continue
        if any(min(e, we) - max(s, ws) > 0.5 * (e - s) for ws, we in ref_words):
            false += 1
    return {"reference": len(reference), "matched": matched, "false_in_words": false,
            "max_edge_error_s": max(errors) if errors else None}
