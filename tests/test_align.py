"""Words to speakers, stable ids, overlaps and utterances."""

from __future__ import annotations

from capture.record import Turn, Word
from transcribe.align import assign_words, build_utterances, overlaps_of, stable_ids


def W(text, start, end, speaker=None):
    return Word(text, start, end, 0.9, speaker)


def test_word_gets_speaker_with_largest_share():
    turns = [Turn("a", 0.0, 1.1), Turn("b", 1.1, 3.0)]
    words = assign_words([W("x", 0.8, 1.2), W("y", 1.0, 1.5), W("z", 5.0, 5.5)], turns)
    assert [w.speaker for w in words] == ["a", "b", "b"]


def test_ids_follow_order_of_first_speech():
    turns = [Turn("spk_9", 0.5, 1.0), Turn("spk_2", 1.2, 2.0)]
    words, new_turns, speakers = stable_ids([W("hi", 0.5, 0.9, "spk_9"), W("yo", 1.2, 1.5, "spk_2")], turns)
    assert [s.id for s in speakers] == ["S1", "S2"]
    assert [w.speaker for w in words] == ["S1", "S2"]
    assert [t.speaker for t in new_turns] == ["S1", "S2"]


def test_overlaps_report_who_talks_at_once():
    overlaps = overlaps_of([Turn("S1", 0, 5), Turn("S2", 4, 6), Turn("S3", 4.5, 4.8)])
    assert [(o.start_s, o.end_s, o.speakers) for o in overlaps] == [
        (4.0, 4.5, ("S1", "S2")), (4.5, 4.8, ("S1", "S2", "S3")), (4.8, 5.0, ("S1", "S2"))]


def test_utterances_split_at_speaker_change_and_long_pause():
    words = [W("so", 0.0, 0.3, "S1"), W("then", 0.4, 0.7, "S1"), W("yes", 1.0, 1.3, "S2"),
             W("right", 1.5, 1.8, "S1"), W("later", 4.0, 4.3, "S1")]
    ordered, utterances = build_utterances(words, max_gap_s=1.5)
    assert [(u.speaker, u.text) for u in utterances] == [
        ("S1", "so then"), ("S2", "yes"), ("S1", "right"), ("S1", "later")]
    assert all(ordered[u.first_word].start_s == u.start_s for u in utterances)


def test_overlapping_backchannel_does_not_split_the_turn():
    words = [W("I", 0.0, 0.2, "S1"), W("was", 0.3, 0.6, "S1"), W("mhm", 0.5, 0.7, "S2"), W("there", 0.7, 1.0, "S1")]
    ordered, utterances = build_utterances(words)
    assert [(u.speaker, u.text) for u in utterances] == [("S1", "I was there"), ("S2", "mhm")]
    assert [w.text for w in ordered] == ["I", "was", "there", "mhm"]


def test_assign_words_by_bisection_agrees_with_checking_every_turn():
    import random

    from capture.record import Turn, Word
    from transcribe.align import assign_words

    def naive(words, turns):
        out = []
        for w in words:
            share = {}
            for t in turns:
                overlap = min(w.end_s, t.end_s) - max(w.start_s, t.start_s)
                if overlap > 0:
                    share[t.speaker] = share.get(t.speaker, 0.0) + overlap
            if share:
                out.append(max(share, key=share.get))
            else:
                mid = (w.start_s + w.end_s) / 2
                out.append(min(turns, key=lambda t: max(t.start_s - mid, mid - t.end_s, 0.0)).speaker)
        return out

    rng = random.Random(7)
    for _ in range(20):
        turns = []
        for _ in range(rng.randint(1, 40)):
            a = rng.uniform(0, 300)
            turns.append(Turn(speaker=rng.choice("ABCD"), start_s=a, end_s=a + rng.expovariate(1 / 8)))
        words = []
        for _ in range(200):
            a = rng.uniform(0, 320)
            words.append(Word(text="w", start_s=a, end_s=a + rng.uniform(0.05, 0.8), probability=1.0))
        assert [w.speaker for w in assign_words(words, turns)] == naive(words, turns)
