"""bench/bench_accent.py: the dictionary's primary stress, on the pronunciation the aligner used."""

from __future__ import annotations

from bench.bench_accent import load_cmudict, primary_stress


def test_primary_stress_is_read_from_the_pronunciation_with_the_aligners_phones(tmp_path):
    path = tmp_path / "cmudict.dict"
    path.write_text("important IH2 M P AO1 R T AH0 N T\n"
                    "record R EH1 K ER0 D\nrecord(2) R IH0 K AO1 R D\n"
                    "the DH AH0 # no primary stress\n", encoding="utf-8")
    entries = load_cmudict(path)
    assert primary_stress(entries, "Important.", ["IH", "M", "P", "AO", "R", "T", "AH", "N", "T"]) == 1
    assert primary_stress(entries, "record", ["R", "EH", "K", "ER", "D"]) == 0  # the noun
    assert primary_stress(entries, "record", ["R", "IH", "K", "AO", "R", "D"]) == 1  # the verb
    assert primary_stress(entries, "record", ["R", "AA", "K"]) is None  # not a pronunciation it has
    assert primary_stress(entries, "the", ["DH", "AH"]) is None
    assert primary_stress(entries, "unknown", ["AH"]) is None
