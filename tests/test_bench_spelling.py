"""bench/bench_spelling.py: how often the spelling rule finds a dictionary word's vowel letters."""

from __future__ import annotations

from bench.bench_accent import load_cmudict
from bench.bench_spelling import score


def test_found_and_plausible_are_counted_per_word(tmp_path):
    path = tmp_path / "cmudict.dict"
    path.write_text("every EH1 V R IY0\n"  # found: ev(e)ry
                    "every(2) EH1 V ER0 IY0\n"  # a second pronunciation is not counted
                    "coalition K OW2 AH0 L IH1 SH AH0 N\n"  # not found: "oa" is not split
                    "handling HH AE1 N D AH0 L IH0 NG\n"  # found: a syllabic l
                    "cat K AE1 T\n"
                    "gym JH IH1 M\n"  # found, "y" spells IH
                    "cwm K UW1 M\n"  # no vowel letter at all: not found
                    "abc EY1 B IY1 S IY1\n"  # an acronym: not found
                    "za IY1\n"  # found, but "a" does not spell IY
                    "mr. M IH1 S T ER0\n", encoding="utf-8")  # not letters only: left out
    result = score(load_cmudict(path))
    assert result["words"] == 8 and result["words_of_2_or_more_vowels"] == 4
    assert result["located"] == 5 and result["located_of_2_or_more_vowels"] == 2  # every, handling, cat, gym, za
    assert result["plausible"] == 4 and result["implausible_examples"] == ["za (a for IY)"]
    assert set(result["not_located_examples"]) == {"coalition", "cwm", "abc"}
