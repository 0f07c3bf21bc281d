"""The alignment bench's matching of recognised words to true words and its summary."""

from __future__ import annotations

import pytest

from bench.bench_alignment import errors, summary
from capture.record import Word


def _w(text, a, b):
    return Word(text=text, start_s=a, end_s=b, probability=0.9)


def test_words_are_matched_in_order_past_a_misrecognised_word():
    truth = [("the", 0.0, 0.1), ("teacher", 0.1, 0.5), ("asked", 0.5, 0.8), ("the", 0.8, 0.9), ("students", 0.9, 1.3)]
    words = [_w("The", 0.02, 0.1), _w("creature", 0.1, 0.45), _w("asked", 0.55, 0.8), _w("the", 0.8, 0.95),
             _w("students.", 0.9, 1.2)]
    got = errors(words, truth)
    # "creature" matches nothing; the second "the" is matched to the second true "the", not the first
    assert [x for pair in got for x in pair] == pytest.approx([0.02, 0.0, 0.05, 0.0, 0.0, 0.05, 0.0, 0.1])


def test_a_word_not_within_three_true_words_is_left_unmatched():
    truth = [("a", 0, 1), ("b", 1, 2), ("c", 2, 3), ("d", 3, 4), ("e", 4, 5)]
    assert errors([_w("e", 4.0, 5.0)], truth) == []
    assert errors([_w("d", 3.0, 4.0)], truth) == [(0.0, 0.0)]


def test_summary_reports_share_within_50_ms():
    rows = {"words": 3, "aligned": 2, "phones": 1, "errors": [(0.01, 0.02), (0.06, 0.0), (0.0, 0.2)]}
    got = summary(rows)
    assert got["matched"] == 3 and got["within_50ms"] == pytest.approx(1 / 3, abs=1e-3)
    assert got["start_median_s"] == 0.01 and got["aligned"] == 2 and got["with_phones"] == 1
