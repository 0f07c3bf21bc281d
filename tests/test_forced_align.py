"""The forced aligner (PocketSphinx) on speech whose word times are known: the committed espeak-ng
fixture (times from libespeak-ng's word events) and, when the corpus is present, an LJ Speech
recording with its TextGrid."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from capture.decode import load_audio
from capture.record import Word
from transcribe.forced_align import SPEECH_FILLER, AlignOptions, WordAligner, align_words, applies_to

FIXTURE = Path(__file__).parent / "fixtures" / "prosody" / "loud_and_pause.flac"
# libespeak-ng's word events for the fixture's SSML (bench/prosody_testset.py FIXTURES); "in the"
# is one event, so "the" (index 6) has no start of its own. The 0.7 s break lies after "morning".
TRUTH = [("we", 0.0, 0.129), ("walked", 0.129, 0.486), ("along", 0.486, 0.814), ("the", 0.814, 0.931),
         ("river", 0.938, 1.22), ("in", 1.227, 1.437), ("the", 1.227, 1.437), ("morning", 1.437, 1.836),
         ("and", 2.529, 2.715), ("talked", 2.715, 3.09), ("about", 3.09, 3.387), ("the", 3.387, 3.497),
         ("garden", 3.497, 3.89), ("plans", 3.89, 4.32), ("for", 4.32, 4.519), ("next", 4.519, 4.886),
         ("summer", 4.886, 5.26)]
# the same sentence with "morning" said at 35 % rate (bench/prosody_testset.py FIXTURES); its word
# events put "morning" at 1.424-2.240 s. RECOGNISED is tiny.en's timing of it (beam 5, batched): the
# slowed word starts 0.26 s late, and the words before it are pushed back
LENGTHENED = Path(__file__).parent / "fixtures" / "prosody" / "lengthened.flac"
RECOGNISED = [("We", 0.0, 0.26), ("walked", 0.459, 0.52), ("along", 0.52, 0.9), ("the", 0.9, 1.06),
              ("river", 1.06, 1.24), ("in", 1.24, 1.54), ("the", 1.54, 1.68), ("morning", 1.68, 2.16),
              ("and", 2.16, 2.751), ("talked", 2.889, 2.96), ("about", 2.96, 3.3), ("the", 3.3, 3.5),
              ("garden", 3.5, 3.711), ("plans", 3.769, 4.24), ("for", 4.24, 4.48), ("next", 4.559, 4.82),
              ("summer.", 4.82, 5.08)]
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))


def _late(truth, seconds: float, seed: int = 0) -> list[Word]:
    """The words as a recogniser might time them: starts and ends ``seconds`` late, +-50 ms."""
    rng = np.random.default_rng(seed)
    out = []
    for text, a, b in truth:
        shift = seconds + rng.uniform(-0.05, 0.05)
        out.append(Word(text=text, start_s=round(a + shift, 3), end_s=round(b + shift, 3), probability=0.9))
    return out


@pytest.fixture(scope="module")
def aligner():
    return WordAligner()


def test_recogniser_like_late_edges_are_pulled_back_to_the_spoken_words(aligner):
    words, stats = align_words(load_audio(FIXTURE), _late(TRUTH, 0.15), aligner)
    assert stats["aligned"] >= 15 and all(w.aligned for w in words if w.aligned)
    errors = [abs(w.start_s - a) for k, (w, (_t, a, _b)) in enumerate(zip(words, TRUTH)) if w.aligned and k != 6]
    assert np.median(errors) <= 0.03 and np.mean(np.array(errors) <= 0.05) >= 0.8, errors  # given: none within 0.1 s
    # each aligned word carries its sounds (CMU dictionary, ARPAbet without stress), in order and
    # inside the word
    walked = words[1]
    assert [p.label for p in walked.phones] == ["W", "AO", "K", "T"]
    for w in words:
        if w.aligned:
            assert w.phones[0].start_s == w.start_s and w.phones[-1].end_s == w.end_s
            assert all(a.end_s <= b.start_s + 1e-9 and a.start_s < a.end_s for a, b in zip(w.phones, w.phones[1:]))
    # the pause: "morning" ends and "and" starts at the break's edges (0.15 s off before aligning)
    morning, and_ = words[7], words[8]
    assert morning.aligned and and_.aligned
    assert abs(morning.end_s - 1.836) <= 0.05 and abs(and_.start_s - 2.529) <= 0.05


def _recognised() -> list[Word]:
    return [Word(text=t, start_s=a, end_s=b, probability=0.9) for t, a, b in RECOGNISED]


def test_a_chunk_the_default_search_cannot_finish_is_tried_with_a_narrower_beam():
    # PocketSphinx's default beam does not reach the last word of this sentence; cut into pieces
    # between the recogniser's edges, the slowed "morning" was squeezed into 1.775-2.215 s, its
    # first four sounds at the 30 ms minimum. With the narrower beam the sentence aligns whole.
    words, stats = align_words(load_audio(LENGTHENED), _recognised(), WordAligner(AlignOptions(passes=1)))
    assert stats["aligned"] == 17 and stats["chunks_failed"] == 0, stats
    morning = words[7]
    assert abs(morning.start_s - 1.424) <= 0.03 and abs(morning.end_s - 2.24) <= 0.03, morning
    assert [p.label for p in morning.phones] == ["M", "AO", "R", "N", "IH", "NG"]
    assert min(p.end_s - p.start_s for p in morning.phones) >= 0.05  # each sound slowed, none squeezed
    old = align_words(load_audio(LENGTHENED), _recognised(), WordAligner(AlignOptions(passes=1, retry_beams=())))[0]
    assert old[7].start_s - 1.424 > 0.2  # without the retry: the failure this option is for


def test_a_second_pass_starts_from_the_first_pass_times():
    # without the retry, the first pass leaves "morning" 0.35 s late; the second, cutting its
    # chunks where the first pass put the words, brings it within 0.1 s
    audio = load_audio(LENGTHENED)
    one = align_words(audio, _recognised(), WordAligner(AlignOptions(passes=1, retry_beams=())))[0]
    two, stats = align_words(audio, _recognised(), WordAligner(AlignOptions(passes=2, retry_beams=())))
    assert one[7].start_s - 1.424 > 0.3 and abs(two[7].start_s - 1.424) < 0.1, (one[7], two[7])
    assert stats["aligned"] >= sum(w.aligned for w in one)
    assert stats["chunks_tried"] > stats["words"] // 2  # both passes are counted


def test_unknown_word_keeps_its_times_and_its_neighbours_still_align(aligner):
    given = _late(TRUTH, 0.15, seed=1)
    given[12] = Word(text="Gardenxq", start_s=given[12].start_s, end_s=given[12].end_s, probability=0.5)
    assert aligner.tokens("Gardenxq") == [SPEECH_FILLER]
    words, stats = align_words(load_audio(FIXTURE), given, aligner)
    assert stats["not_in_dictionary"] == 1
    # it keeps the recogniser's times, within the room its aligned neighbours leave
    assert not words[12].aligned and not words[12].phones
    before = max(w.end_s for w in words[:12] if w.aligned)
    assert words[12].start_s == max(given[12].start_s, before)
    assert words[12].end_s == min(given[12].end_s, words[13].start_s)
    assert words[13].aligned and abs(words[13].start_s - 3.89) <= 0.05


def test_words_the_audio_does_not_hold_keep_the_recognisers_times(aligner):
    class Silence:
        frames_16k = 16000

        def read_16k(self, start=0, stop=None, *, channel=None):
            return np.zeros((stop or self.frames_16k) - start, dtype=np.float32)

    given = [Word("hello", 0.2, 0.5, 0.9), Word("world", 0.55, 0.9, 0.9)]
    words, stats = align_words(Silence(), given, aligner)
    assert words == given and stats["aligned"] == 0 and stats["chunks_failed"] >= 1


def test_tokens_split_hyphens_and_keep_apostrophes(aligner):
    assert aligner.tokens("well-known,") == ["well", "known"]
    assert aligner.tokens("Don't") == ["don't"]
    assert aligner.tokens("1963") == [SPEECH_FILLER]


def test_language_and_options_are_checked():
    assert applies_to("en") and applies_to(None) and not applies_to("de")
    with pytest.raises(ValueError, match="gap_s"):
        AlignOptions(gap_s=0)
    with pytest.raises(ValueError, match="passes"):
        AlignOptions(passes=0)
    with pytest.raises(ValueError, match="retry_beams"):
        AlignOptions(retry_beams=(2.0,))


@pytest.mark.skipif(not (CORPUS / "ljspeech_LJ050-027x").is_dir(), reason="corpus not present")
def test_lj_speech_words_align_to_their_textgrid(aligner):
    grid = (CORPUS / "ljspeech_LJ050-027x" / "LJ050-0276.TextGrid").read_text(encoding="utf-8")
    tier = grid.split('name = "words"', 1)[1].split("item [", 1)[0]
    truth = [(w, float(a), float(b)) for a, b, w in
             re.findall(r'xmin = ([\d.]+)\s+xmax = ([\d.]+)\s+text = "([^"]*)"', tier) if w.strip()]
    words, stats = align_words(load_audio(CORPUS / "ljspeech_LJ050-027x" / "LJ050-0276.wav"), _late(truth, 0.2), aligner)
    assert stats["aligned"] == len(truth)
    errors = [abs(w.start_s - a) for w, (_t, a, _b) in zip(words, truth)]
    late = [abs(w.start_s - a) for w, (_t, a, _b) in zip(_late(truth, 0.2), truth)]
    assert np.median(errors) <= 0.03 and np.median(late) >= 0.15


def test_a_sentence_whose_phone_pass_fails_whole_gets_its_phones_in_parts(aligner, tmp_path):
    # PocketSphinx's phone pass prunes harder than its word pass and gives up on this whole
    # sentence although every word aligned. Word by word, 4 of its 14 words got no phones (their
    # single-word pieces did not align); in halves cut at the word pass's edges every word has them.
    from bench.prosody_testset import SENTENCES, espeak

    text = SENTENCES[6]
    spans = espeak(text, tmp_path / "s.wav")
    words, stats = align_words(load_audio(tmp_path / "s.wav"),
                               _late([(t, a, b) for t, (a, b) in zip(text.split(), spans)], 0.15), aligner)
    assert stats["aligned"] == len(words) == 14
    assert all(w.phones for w in words), [w.text for w in words if not w.phones]
    for w in words:
        assert w.phones[0].start_s == w.start_s and w.phones[-1].end_s == w.end_s
    students = next(w for w in words if w.text == "students")
    assert [p.label for p in students.phones] == ["S", "T", "UW", "D", "AH", "N", "T", "S"], students


@pytest.mark.skipif(not (CORPUS / "ljspeech_LJ050-027x").is_dir(), reason="corpus not present")
def test_phones_found_in_parts_last_as_long_as_the_textgrids(aligner):
    # LJ050-0278's phone pass fails whole and in halves down to 5 words; the phones then found
    # last as long as the TextGrid's (Montreal Forced Aligner) phones
    from bench.prosody_testset import read_textgrid_tier

    grid = CORPUS / "ljspeech_LJ050-027x" / "LJ050-0278.TextGrid"
    truth = [(w, a, b) for a, b, w in read_textgrid_tier(grid, "words") if w]
    true_phones = [(re.sub(r"\d", "", p).upper(), a, b) for a, b, p in read_textgrid_tier(grid, "phones") if p]
    words, _ = align_words(load_audio(CORPUS / "ljspeech_LJ050-027x" / "LJ050-0278.wav"), _late(truth, 0.2), aligner)
    assert all(w.phones for w in words), [w.text for w in words if not w.phones]  # word by word: 17 of 21
    errors = []
    for w, (_t, a, b) in zip(words, truth):
        same = [p for p in true_phones if a - 1e-6 <= p[1] and p[2] <= b + 1e-6]
        if [p.label for p in w.phones] == [p[0] for p in same]:
            errors += [abs((p.end_s - p.start_s) - (b_ - a_)) for p, (_l, a_, b_) in zip(w.phones, same)]
    assert len(errors) >= 20 and np.median(errors) <= 0.025, errors


def test_words_the_aligner_could_not_place_stay_in_spoken_order():
    from transcribe.forced_align import _between_aligned_neighbours

    words = [Word("the", 1.655, 1.895, 0.9, aligned=True), Word("park", 2.009, 2.04, 0.9),
             Word("today", 1.985, 2.385, 0.9, aligned=True), Word("now", 2.5, 2.7, 0.9),
             Word("then", 2.6, 3.1, 0.9, aligned=True)]
    got = _between_aligned_neighbours(words)
    assert [(w.start_s, w.end_s) for w in got] == [(1.655, 1.895), (1.985, 1.985), (1.985, 2.385), (2.5, 2.6),
                                                   (2.6, 3.1)]
    assert [w.text for w in sorted(got, key=lambda w: (w.start_s, w.end_s))] == [w.text for w in words]


class _Samples:
    """An in-memory Audio16k."""

    def __init__(self, x):
        self.x = np.asarray(x, dtype=np.float32)
        self.frames_16k = len(self.x)

    def read_16k(self, start=0, stop=None, *, channel=None):
        return self.x[start: self.frames_16k if stop is None else stop]


def _repeated(times: int, gap_s: float = 1.5):
    """The fixture said ``times`` times, ``gap_s`` apart, and its words timed recogniser-like (late)."""
    one = load_audio(FIXTURE).read_16k()
    gap = np.zeros(int(gap_s * 16000), dtype=np.float32)
    period_s = (len(one) + len(gap)) / 16000
    audio = _Samples(np.concatenate([np.concatenate([one, gap]) for _ in range(times)]))
    given = [Word(w.text, round(w.start_s + k * period_s, 3), round(w.end_s + k * period_s, 3), 0.9)
             for k in range(times) for w in _late(TRUTH, 0.15, seed=k)]
    return audio, given


def test_worker_processes_give_the_same_alignment_as_one_process():
    """A long recording is aligned stretch by stretch in worker processes; each stretch starts
    from a fresh feature state, so the result does not depend on which process took which stretch
    or in what order (before, 3 of 806 words moved by 10-20 ms with the order)."""
    audio, given = _repeated(14)  # 100 s
    alone, stats = align_words(audio, given, WordAligner(AlignOptions(workers=1)))
    pooled_aligner = WordAligner(AlignOptions(workers=2))
    try:
        pooled, pooled_stats = align_words(audio, given, pooled_aligner)
        assert pooled_aligner._pool is not None  # it did use worker processes
    finally:
        pooled_aligner.close()
    assert stats["aligned"] >= 0.8 * len(given)
    assert pooled == alone and pooled_stats == stats


def test_a_short_recording_is_aligned_in_this_process_until_the_workers_are_running():
    """Starting the workers costs about half a second, more than they save on a few seconds of
    talk; once they run (a longer recording before it, or the watcher's earlier ones) a short
    recording's stretches go to them too. Either way the words come out the same."""
    from transcribe import forced_align

    short_audio, short_words = _repeated(2)  # 13 s, two stretches
    long_audio, long_words = _repeated(6)  # 40 s
    assert len(short_audio.x) / 16000 < forced_align.PARALLEL_MIN_AUDIO_S < len(long_audio.x) / 16000
    alone = align_words(short_audio, short_words, WordAligner(AlignOptions(workers=1)))
    aligner = WordAligner(AlignOptions(workers=2))
    try:
        assert align_words(short_audio, short_words, aligner) == alone
        assert aligner._pool is None
        align_words(long_audio, long_words, aligner)
        assert aligner._pool is not None
        pool, maps = aligner._pool, []
        real_map = pool.map
        pool.map = lambda *args, **kwargs: maps.append(1) or real_map(*args, **kwargs)
        assert align_words(short_audio, short_words, aligner) == alone
        assert maps  # through the running workers
    finally:
        aligner.close()


def test_one_long_stretch_is_aligned_piece_by_piece_in_the_workers():
    """A stretch with no long gap in it is aligned in pieces of at most ``max_words`` words, each
    on the stretch's own audio and cut where it always was, so the pieces can go to different
    workers (a long answer with no pause of 1 s was one job, on one core) with the same result."""
    audio, given = _repeated(6, gap_s=0.5)  # 40 s, one stretch of 120 words
    alone, stats = align_words(audio, given, WordAligner(AlignOptions(workers=1)))
    aligner = WordAligner(AlignOptions(workers=2))
    jobs: list = []
    try:
        align_words(*_repeated(6), aligner)  # starts the workers
        pool = aligner._pool
        real_map = pool.map
        pool.map = lambda fn, batch, **kwargs: real_map(fn, jobs.append(list(batch)) or jobs[-1], **kwargs)
        pooled, pooled_stats = align_words(audio, given, aligner)
    finally:
        aligner.close()
    assert len(jobs[0]) >= 3 and {job.times for job in jobs[0]} == {tuple((w.start_s, w.end_s) for w in given)}
    assert all(len(job.samples) < len(audio.x) / 2 for job in jobs[0])  # each is sent only its part of the audio
    assert stats["aligned"] >= 0.8 * len(given)
    assert pooled == alone and pooled_stats == stats


def test_a_broken_worker_pool_falls_back_to_aligning_in_this_process():
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def map(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died")

        def shutdown(self, **kwargs):
            pass

    audio, given = _repeated(12)
    aligner = WordAligner(AlignOptions(workers=2))
    aligner._pool = Broken()
    import logging

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    log = logging.getLogger("tonescribe.align")  # the CLI's logging setup stops propagation to the root
    log.addHandler(handler)
    try:
        got, stats = align_words(audio, given, aligner)
    finally:
        log.removeHandler(handler)
    assert any("aligning in this process instead" in m for m in seen) and aligner._pool is None
    assert got == align_words(audio, given, WordAligner(AlignOptions(workers=1)))[0]
    assert stats["aligned"] >= 0.8 * len(given)
