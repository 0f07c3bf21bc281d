"""Praat export: the TextGrid read back by praatio and by Praat itself (parselmouth), the
PitchTier and IntensityTier by Praat; times within 1 ms."""

from __future__ import annotations

import pytest

from export_sample import DURATION_S, SPEAKERS, WORDS, sample_transcript, sample_exports


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return {p.suffix: p for p in sample_exports(tmp_path_factory, "tg", ["textgrid"])["textgrid"]}


def test_praatio_reads_words_turns_pauses_and_marks(exported):
    textgrid = pytest.importorskip("praatio.textgrid")
    tg = textgrid.openTextgrid(str(exported[".TextGrid"]), includeEmptyIntervals=False)
    assert tg.maxTimestamp == pytest.approx(DURATION_S)
    for speaker in SPEAKERS:
        words = [(e.start, e.end, e.label) for e in tg.getTier(f"{speaker.label} words").entries]
        expected = [(a, b, text) for text, a, b, spk in WORDS if spk == speaker.id]
        assert [w[2] for w in words] == [e[2] for e in expected]
        assert max(abs(w[0] - e[0]) + abs(w[1] - e[1]) for w, e in zip(words, expected)) < 0.001
        turns = [e.label for e in tg.getTier(f"{speaker.label} turns").entries]
        assert turns == [u.text for u in sample_transcript().utterances if u.speaker == speaker.id]
    s1, s2 = (s.label for s in SPEAKERS)
    pauses = tg.getTier(f"{s1} pauses").entries
    assert [(round(p.start, 3), round(p.end, 3)) for p in pauses] == [(2.1, 2.8)]
    marks = {e.label.split(";")[0] for e in tg.getTier(f"{s2} marks").entries}
    marks |= {e.label.split(";")[0] for e in tg.getTier(f"{s2} marks 2").entries} if f"{s2} marks 2" in tg.tierNames else set()
    assert {"loud 82", "pitch_step up", "quiet 60.5", "intonation rise", "overlap S1"} <= marks
    between = [e.label.split(";")[0] for e in tg.getTier("between speakers: pauses").entries]
    assert between == ["gap 0.8", "latch 0.02"]


def test_praat_itself_reads_the_textgrid(exported):
    parselmouth = pytest.importorskip("parselmouth")
    call = parselmouth.praat.call
    grid = parselmouth.read(str(exported[".TextGrid"]))
    names = [call(grid, "Get tier name", k) for k in range(1, call(grid, "Get number of tiers") + 1)]
    s1 = SPEAKERS[0].label
    assert f"{s1} words" in names and f"{SPEAKERS[1].label} words" in names
    tier = names.index(f"{s1} words") + 1
    labels = []
    for k in range(1, call(grid, "Get number of intervals", tier) + 1):
        label = call(grid, "Get label of interval", tier, k)
        if label:
            labels.append((call(grid, "Get start time of interval", tier, k),
                           call(grid, "Get end time of interval", tier, k), label))
    expected = [(a, b, t) for t, a, b, spk in WORDS if spk == "S1"]
    assert [lab[2] for lab in labels] == [e[2] for e in expected]  # "café", "naïve" survive as Unicode
    assert all(abs(x[0] - e[0]) < 0.001 and abs(x[1] - e[1]) < 0.001 for x, e in zip(labels, expected))


def test_praat_reads_the_pitch_and_intensity_tiers(exported):
    parselmouth = pytest.importorskip("parselmouth")
    call = parselmouth.praat.call
    transcript = sample_transcript()
    voiced = [(k * transcript.pitch.hop_s, v) for k, v in enumerate(transcript.pitch.f0_hz) if v is not None]
    pitch = parselmouth.read(str(exported[".PitchTier"]))
    assert call(pitch, "Get number of points") == len(voiced)
    for k in (1, len(voiced) // 2, len(voiced)):
        t, f0 = voiced[k - 1]
        assert call(pitch, "Get time from index", k) == pytest.approx(t, abs=1e-3)
        assert call(pitch, "Get value at index", k) == pytest.approx(f0, abs=1e-6)
    intensity = parselmouth.read(str(exported[".IntensityTier"]))
    assert call(intensity, "Get number of points") == len(transcript.intensity.db)
    assert call(intensity, "Get value at time", 1.2) == pytest.approx(75.0)


def test_textgrid_is_written_in_praats_own_text_format(exported):
    text = exported[".TextGrid"].read_text(encoding="utf-8")
    assert text.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')
    assert '"María José Núñez words"' in text and '"日本語"' in text


def test_aligned_phones_become_a_tier_praat_reads(tmp_path):
    textgrid = pytest.importorskip("praatio.textgrid")
    from capture.record import Phone, replace
    from export.textgrid import write

    t = sample_transcript()
    first = t.words[0]
    middle = round((first.start_s + first.end_s) / 2, 3)
    words = (replace(first, aligned=True, phones=(Phone("HH", first.start_s, middle), Phone("AY", middle, first.end_s))),
             *t.words[1:])
    (path, *_rest) = write(replace(t, words=words), tmp_path, stem="x")
    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    label = next(s.label for s in SPEAKERS if s.id == first.speaker)
    entries = tg.getTier(f"{label} phones").entries
    assert [(round(e.start, 3), round(e.end, 3), e.label) for e in entries] == [
        (first.start_s, middle, "HH"), (middle, first.end_s, "AY")]
    assert not any(name.endswith(" phones") and not name.startswith(label) for name in tg.tierNames)
