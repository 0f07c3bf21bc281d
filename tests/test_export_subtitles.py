"""Subtitles: WebVTT and SRT read back by webvtt-py; speakers, words, times and line lengths."""

from __future__ import annotations

import html

import pytest

from capture.record import Utterance, Word, replace
from export.subtitles import SubtitleOptions, cues, render_vtt
from export_sample import SPEAKERS, sample_transcript, sample_exports

webvtt = pytest.importorskip("webvtt")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    written = sample_exports(tmp_path_factory, "subs", "vtt,srt")
    return written["vtt"][0], written["srt"][0]


def _seconds(clock: str) -> float:
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_webvtt_reads_voices_words_and_times(files):
    vtt, _ = files
    transcript = sample_transcript()
    names = {s.id: s.label for s in SPEAKERS}
    captions = list(webvtt.read(str(vtt)))
    assert len(captions) == len(transcript.utterances)
    for caption, utt in zip(captions, transcript.utterances):
        words = transcript.words[utt.first_word:utt.last_word + 1]
        assert caption.voice == names[utt.speaker]  # "María José Núñez", "李雷 Łukasz"
        assert caption.text.split() == [w.text for w in words]
        assert abs(_seconds(caption.start) - words[0].start_s) <= 0.0005
        assert abs(_seconds(caption.end) - words[-1].end_s) <= 0.0005


def test_srt_reads_back_with_speaker_names(files):
    _, srt = files
    transcript = sample_transcript()
    captions = list(webvtt.from_srt(str(srt)))
    assert [c.text.split(": ", 1)[0] for c in captions] == [
        {s.id: s.label for s in SPEAKERS}[u.speaker] for u in transcript.utterances]
    assert captions[1].text.split(": ", 1)[1] == "Привет 日本語 ελληνικά okay?"
    assert abs(_seconds(captions[2].start) - 6.2) <= 0.0005


def _long_transcript():
    base = sample_transcript()
    text = ("well I think that the point of it was to see whether people came back. and they did come "
            "back, every single one of them, week after week, until the very end of the whole study").split()
    words = tuple(Word(t, 0.3 * k, 0.3 * k + 0.25, 0.9, "S1") for k, t in enumerate(text))
    utt = Utterance("S1", 0.0, words[-1].end_s, " ".join(text), 0, len(words) - 1)
    return replace(base, words=words, utterances=(utt,), marks=(), pauses=(), overlaps=())


def test_long_talk_is_split_into_readable_cues():
    transcript = _long_transcript()
    options = SubtitleOptions()
    found = cues(transcript, options)
    assert len(found) > 2
    assert " ".join(line for c in found for line in c.lines).split() == [w.text for w in transcript.words]
    for cue in found:
        assert len(cue.lines) <= options.max_lines
        assert all(len(line) <= options.max_chars for line in cue.lines)
        assert cue.end_s - cue.start_s <= options.max_cue_s
    assert any(c.lines[-1].endswith("back.") for c in found)  # a sentence end closes a cue


def test_markup_characters_are_escaped(tmp_path):
    transcript = _long_transcript()
    words = list(transcript.words)
    words[0] = replace(words[0], text="<b>&")
    transcript = replace(transcript, words=tuple(words), speakers=(replace(SPEAKERS[0], label="A <B>"),))
    path = tmp_path / "x.vtt"
    path.write_text(render_vtt(transcript), encoding="utf-8")
    first = list(webvtt.read(str(path)))[0]
    assert "<b>" not in first.raw_text.split(">", 1)[1]  # no markup where the word was
    assert html.unescape(first.text).split()[0] == "<b>&"
    assert html.unescape(first.voice) == "A <B>"
