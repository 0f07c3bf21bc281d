"""Where a syllable lies in a word's letters, so that a mark on one syllable (the accented one of an
emphasised word) can be written on it: underlined in Jefferson, in capitals in GAT2, after ``ˈ``
in CHAT; and where its vowel letters end, for the colons of a held vowel (``mo::rning``).

A spelling rule, not a dictionary: the word's vowel letter groups are its syllables' nuclei (an
English silent final ``e`` or ``-ed``/``-es`` ending dropped when the aligner heard one vowel fewer),
and the consonant letters between two nuclei are split before the last consonant (``im|por|tant``,
``ne|ver|the|less``), or before the last two where they can start an English syllable together (a
stop or ``f`` before ``l`` or ``r``: ``dis|play``, ``con|trol``); two-letter consonant sounds
(``th``, ``sh``, ``ch``, ``ph``, ``wh``, ``gh``, ``ck``, ``ng``) are kept whole, and ``ck`` closes
its syllable (``pock|et``). One vowel group more than the vowels the aligner heard: a single vowel
letter between consonants inside the word is taken for a vowel not said (``eve|ry``, ``eve|ning``,
``note|books``) where it is the only such letter, or the only e before a suffix (``ac|cu|rate|ly``,
``care|ful|ness``), also beside a silent final e (``some|where``), or the a of ``-ically``
(``ba|sical|ly``); the next syllable begins after an e not said (``life|style``). One fewer: a
consonant that is a syllable of its own, the n of ``n't`` after a consonant (``does|n't``), the m
of ``-ism`` and ``-asm`` (``ra|cis|m``), the l of ``-ling`` and ``-ler`` after a consonant
(``hand|l|ing``); else a group is two vowels side by side (``go|ing``, ``pi|a|no``, ``ob|vi|ous``,
``play|ers``) where only one group can be split (an i that only softens the c, s, t or x before
it, as in ``-tion``, ``-cial``, ``-tious``, ``-tient``, is not a vowel: ``si|tu|a|tion``); so too
where the groups match only by counting a silent final e (``cre|ate``, ``sci|ence``). Where the
groups still do not match (``coalition`` heard with four vowels: "oa" is not split), no syllable
is located and the caller marks the whole word.

A held consonant is found the same way: the consonant letters between two nuclei (or before the
first, or after the last, a silent e left out) are cut into the units above, a doubled letter one
unit (``ll``, ``ss``), and where there are as many units as the aligner heard consonants there,
the held one's unit is the letters it was spelt with (``plan::s``, ``s::o``); where they differ
(``x`` for two sounds, a silent ``gh``) it is not located.
"""

from __future__ import annotations

import re
from typing import Optional

from prosody.syllables import VOWEL_LETTERS

_NUCLEUS = re.compile(f"[{VOWEL_LETTERS}]+", re.IGNORECASE)  # the vowel groups the syllable counter counts
_CONSONANT = f"[^{VOWEL_LETTERS}\\W\\d_]"  # a letter that is not a vowel letter
_CONSONANTS = re.compile(f"{_CONSONANT}+", re.IGNORECASE)
# a consonant that is a syllable of its own: the n of "doesn't" (not "don't"), the m of "-ism",
# "-asm", "rhythm", the l of a "-le" word before "-ing" or "-er" ("bott|l|ing", "jugg|l|er")
_SYLLABIC = re.compile(
    f"(?<={_CONSONANT})n['’]t$|(?<=[sh])m(?:s|['’]s)?$|(?<=[bcdfgkptvz])l(?=(?:ings?|ers?)$)", re.IGNORECASE)
# a stem's silent e before a suffix that begins with a consonant ("definite|ly", "arrange|ment")
_SUFFIX_AFTER_E = re.compile(r"(?:ly|ment|ness|ful|less|ship|some)+(?:['’]?s)?$", re.IGNORECASE)
_ICALLY = re.compile(r"ical(?:ly|ness)$", re.IGNORECASE)  # the a of "-ically" is seldom said: "basic(a)lly"
_DIGRAPHS = ("th", "sh", "ch", "ph", "wh", "gh", "ck", "ng")
# an i that only softens the c, s, t or x before it, before the vowel of an ending (-tion, -sion,
# -cial, -tious, -tient; not -iality, -ianity, -iano, -iology, where it is said): "na|tion" has two
# vowels, not three (``syllables.count_syllables`` knows the word-final ones for its own count)
_PALATAL_I = re.compile(r"(?<=[cstx])i(?:ou(?=s)|[oa](?=[nl])(?![nl](?:it|o)))|(?<=t)ie(?=n)", re.IGNORECASE)
_ONSET_FIRST, _ONSET_SECOND = set("pbtdckgf") | {"th", "sh", "ph"}, set("lr")


def _consonant_units(cluster: str, *, doubled: bool = False) -> list[str]:
    """The cluster's consonant sounds as spelt: two-letter ones kept whole, and with ``doubled`` a
    doubled letter too (one sound inside a syllable; between two it is split: ``sum|mer``)."""
    units, k = [], 0
    while k < len(cluster):
        two = cluster[k:k + 2].lower()
        step = 2 if two in _DIGRAPHS or (doubled and len(two) == 2 and two[0] == two[1]) else 1
        units.append(cluster[k:k + step])
        k += step
    return units


def _coda(units: list[str]) -> list[str]:
    """The consonants between two nuclei that close the first syllable; the rest open the next."""
    if units and units[-1].lower() == "ck":
        return units
    pair = tuple(u.lower() for u in units[-2:])
    two = len(pair) == 2 and pair[0] in _ONSET_FIRST and pair[1] in _ONSET_SECOND and pair not in (("t", "l"), ("d", "l"))
    return units[:len(units) - (2 if two else min(1, len(units)))]


def _silent_e(text: str, start: int, end: int) -> bool:
    """A last vowel group that is a lone ``e`` at the end, or before a final ``d``/``s`` or a
    possessive ``'s``: a silent final e ("make", "Jane's"), or an -ed / -es said without a vowel
    ("jumped")."""
    ending = text[end:].lower()
    return text[start:end].lower() == "e" and (ending in ("", "d", "s") or ending in ("'s", "’s"))


def _palatal_i(text: str, a: int, b: int) -> bool:
    """The vowel group text[a:b] begins with an i that only softens the consonant before it."""
    m = _PALATAL_I.match(text, a)
    return m is not None and m.end() == b


def _hiatus(text: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One vowel group fewer spelt than heard: a group that is two vowels side by side, split where
    it is the only one that can be: before the i of "-ing" after a vowel ("go|ing", "see|ing",
    "say|ing"), else after a y between vowel letters ("play|ers", "roy|al"), or after a leading i
    or e, or a u not after q or g ("ob|vi|ous", "i|de|a", "ac|tu|al|ly"; "quiet", a doubled letter,
    "week", and the i of "-tion", "-cial", which only softens the consonant before it, stay whole:
    "si|tu|a|tion")."""
    lower = text.lower()

    def split_at(a: int, b: int) -> Optional[int]:
        if b - a < 2:
            return None
        if lower[b - 1] == "i" and lower[b:b + 2] == "ng":
            return b - 1
        first = lower[a]
        if lower[a + 1] == first or _palatal_i(text, a, b):
            return None  # a doubled vowel letter is one vowel ("week"); so is "io" in "-tion"
        y = lower.find("y", a + 1, b - 1)
        if y > 0:  # a y between vowel letters ends the first vowel: "play|ers", "roy|al", "may|or"
            return y + 1
        if first in "ie" or (first == "u" and (a == 0 or lower[a - 1] not in "qg")):
            return a + 1
        return None
    cuts = [(k, at) for k, (a, b) in enumerate(groups) if (at := split_at(a, b)) is not None]
    if len(cuts) != 1:
        return groups
    k, at = cuts[0]
    return groups[:k] + [(groups[k][0], at), (at, groups[k][1])] + groups[k + 1:]


def _unsaid_letter(text: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One vowel letter more spelt than heard inside the word: an unstressed vowel left out
    ("ev(e)ry", "ev(e)ning") or a compound's silent e ("not(e)books"), where only one single-letter
    group between consonants could be it, or only one of them is an e before a suffix
    ("accurat(e)ly") or the a of "-ically" ("basic(a)lly")."""
    silent = [k for k in range(1, len(groups) - 1) if groups[k][1] - groups[k][0] == 1
              and text[groups[k][0] - 1].isalpha() and text[groups[k][1]].isalpha()]
    before_suffix = [k for k in silent if _before_suffix(text, groups[k][0])]
    if len(before_suffix) == 1:
        silent = before_suffix
    return groups[:silent[0]] + groups[silent[0] + 1:] if len(silent) == 1 else groups


def _before_suffix(text: str, at: int) -> bool:
    """The single vowel letter text[at] is an e before a suffix ("accurat(e)ly") or the a of
    "-ically" ("basic(a)lly")."""
    if at >= 2 and _ICALLY.match(text, at - 2):
        return True
    return text[at].lower() == "e" and _SUFFIX_AFTER_E.match(text, at + 1) is not None


def nucleus_spans(text: str, nuclei: int) -> Optional[list[tuple[int, int]]]:
    """(start, end) character offsets of the vowel letters of each of ``text``'s ``nuclei``
    syllables; None when its spelling does not show that many vowel groups."""
    if nuclei < 1:
        return None
    groups = [(m.start(), m.end()) for m in _NUCLEUS.finditer(text)]
    if groups and _silent_e(text, *groups[-1]):  # the groups without it, where they fit
        unsaid = _fitted(text, groups[:-1], nuclei)  # "cre|ate", "some|where"
        if len(unsaid) == nuclei:
            return unsaid
    groups = _fitted(text, groups, nuclei)
    return groups if len(groups) == nuclei else None


def _fitted(text: str, groups: list[tuple[int, int]], nuclei: int) -> list[tuple[int, int]]:
    """The vowel groups made one more or one fewer where they are one short of ``nuclei`` (a
    syllabic consonant, "does|n't", "ra|cis|m", else two vowels side by side) or one over (a vowel
    letter not said)."""
    if len(groups) == nuclei - 1 and (syllabic := _SYLLABIC.search(text)):
        return sorted(groups + [(syllabic.start(), syllabic.start() + 1)])
    if len(groups) == nuclei - 1:
        return _hiatus(text, groups)
    if len(groups) == nuclei + 1:
        return _unsaid_letter(text, groups)
    return groups


def syllable_spans(text: str, nuclei: int) -> Optional[list[tuple[int, int]]]:
    """(start, end) character offsets of each of ``text``'s ``nuclei`` syllables, covering the
    whole text in order; None when its spelling does not show that many vowel groups."""
    groups = nucleus_spans(text, nuclei)
    if groups is None:
        return None
    starts = [0]
    for (_, end), (start, _) in zip(groups, groups[1:]):
        between = text[end:start]
        unsaid_e = between.lower().rfind("e")  # a vowel letter between two nuclei is not said
        if text[start].lower() not in VOWEL_LETTERS:  # a syllabic n, m or l: its syllable starts with it
            starts.append(start)
        elif unsaid_e >= 0:  # after an e not said, where a compound or a suffix begins: "life|style"
            starts.append(end + unsaid_e + 1)
        else:
            starts.append(end + sum(len(u) for u in _coda(_consonant_units(between))))
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(text)])]


def syllable_of(text: str, index: int, nuclei: int) -> Optional[tuple[int, int]]:
    """The character span of syllable ``index`` (0-based) of ``nuclei`` in ``text``, or None."""
    spans = syllable_spans(text, nuclei)
    return spans[index] if spans is not None and 0 <= index < len(spans) else None


def consonant_span(text: str, *, after_vowel: int, vowels: int, index: int, of: int) -> Optional[tuple[int, int]]:
    """The character span of a consonant sound: the ``index``-th (0-based) of the ``of`` consonants
    the aligner heard after vowel ``after_vowel`` (-1: before the first) of the word's ``vowels``,
    or None where the spelling does not show that many consonant units there."""
    nuclei = nucleus_spans(text, vowels) if vowels else (None if _NUCLEUS.search(text) else [])  # "hmm"
    if nuclei is None or not -1 <= after_vowel < len(nuclei):
        return None
    start = nuclei[after_vowel][1] if after_vowel >= 0 else 0
    end = nuclei[after_vowel + 1][0] if after_vowel + 1 < len(nuclei) else len(text)
    units = []  # (start, end) of each consonant unit; a silent e or an apostrophe between them skipped
    for run in _CONSONANTS.finditer(text, start, end):
        at = run.start()
        for unit in _consonant_units(run.group(), doubled=True):
            units.append((at, at + len(unit)))
            at += len(unit)
    return units[index] if len(units) == of and 0 <= index < of else None
