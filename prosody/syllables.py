"""Syllables per word from its spelling, for speech rate and duration norms.

An orthographic rule set (vowel groups, with the English silent final ``e`` and ``-ed``/``-es``
endings): exact for most English words, off by one for some (e.g. "poem"), which matters little
for rates taken over several words. Digits are counted as spoken English numbers. Other
languages get the plain vowel-group count.
"""

from __future__ import annotations

import re

VOWEL_LETTERS = "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœ"  # lower case; a run of them is a syllable's nucleus
_VOWEL_GROUP = re.compile(f"[{VOWEL_LETTERS}]+")
_DIGIT_SYLLABLES = {"0": 2, "1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 2, "8": 1, "9": 1}


def count_syllables(word: str, *, language: str | None = "en") -> int:
    """At least 1 for any word with a letter or digit, 0 for punctuation alone."""
    text = word.lower()
    digits = sum(_DIGIT_SYLLABLES[c] for c in text if c in _DIGIT_SYLLABLES)
    letters = re.sub(r"[^a-zà-ÿœ']", "", text).replace("'", "")
    if not letters:
        return digits
    n = len(_VOWEL_GROUP.findall(letters))
    if (language or "en").startswith("en"):
        n += _english_adjustment(letters)
    return max(1, n) + digits


def _english_adjustment(w: str) -> int:
    adjust = 0
    if len(w) > 2 and w.endswith("e") and not w.endswith(("le", "ee", "ie", "ye")) and _VOWEL_GROUP.search(w[:-1]):
        adjust -= 1  # silent final e: "make", "there"
    if len(w) > 3 and w.endswith(("ed", "es")) and w[-3] not in "aeiouy" and not w.endswith(("ted", "ded", "ses", "zes", "ces", "ges", "xes", "shes", "ches")):
        adjust -= 1  # "jumped", "makes": no extra syllable
    singular = w[:-1] if w.endswith("s") and not w.endswith("ss") else w  # "nations" ends like "nation"
    if re.search(r"[^aeiou]ia|io(?!u)|ua", w) and not singular.endswith(("tion", "sion", "cious", "tious", "cial",
                                                                          "tial", "cian")):
        adjust += 1  # "piano", "radio", "area", "video": two vowels, two syllables
    return adjust
