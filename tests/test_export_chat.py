"""CLAN export: the .cha read back by pylangacq (speakers, utterances, words, time bullets) and the
CHAT-CA symbols placed where the marks are."""

from __future__ import annotations

import pytest

from export.chat import CA_SYMBOLS, chat_word, render_chat
from export_sample import SPEAKERS, sample_transcript, sample_exports

pylangacq = pytest.importorskip("pylangacq")


@pytest.fixture(scope="module")
def chat_file(tmp_path_factory):
    (path,) = sample_exports(tmp_path_factory, "cha", "cha")["cha"]
    return path


def _bare(token: str) -> str:
    return token.strip(CA_SYMBOLS).replace(":", "")  # lengthening colons stand after the held vowel


def test_pylangacq_reads_participants_utterances_and_times(chat_file):
    reader = pylangacq.read_chat(str(chat_file))
    participants = reader.headers()[0].participants
    assert [(p.code, p.name.replace("_", " ")) for p in participants] == [(s.id, s.label) for s in SPEAKERS]
    transcript = sample_transcript()
    utterances = reader.utterances()
    assert len(utterances) == len(transcript.utterances)
    for got, utt in zip(utterances, transcript.utterances):
        words = transcript.words[utt.first_word:utt.last_word + 1]
        assert got.participant == utt.speaker
        assert got.time_marks == (round(words[0].start_s * 1000), round(words[-1].end_s * 1000))
        tokens = [_bare(t.word) for t in got.tokens if _bare(t.word)]
        assert tokens == [chat_word(w.text) for w in words]  # Привет, 日本語, ελληνικά, café survive
    assert reader.headers()[0].languages == ["spa"]


def test_ca_symbols_mark_the_measured_prosody(chat_file):
    reader = pylangacq.read_chat(str(chat_file))
    tokens = [t.word for u in reader.utterances() for t in u.tokens]
    for expected in ("ˈcafé", "naïve::", "⇘", "◉Привет◉", "↑日本語", "°ελληνικά°", "⇗", "∆we", "there∆", "≈ok"):
        assert expected in tokens, expected
    text = chat_file.read_text(encoding="utf-8")
    assert "@Options:\tCA" in text and "(0.7)" in text and "(.)" in text
    assert "⌈okay⌉" in text and "⌊yes⌋" in text  # S2 was talking first: top bracket


def test_chat_words_drop_punctuation_and_reserved_characters():
    assert chat_word("country.") == "country"
    assert chat_word("¿qué?") == "qué"
    assert chat_word("don't") == "don't"
    assert chat_word("a&b[x]") == "abx"


def test_a_word_that_is_only_punctuation_is_left_out(tmp_path):
    from capture.record import replace

    transcript = sample_transcript()
    words = list(transcript.words)
    words[1] = replace(words[1], text="...")
    text = render_chat(replace(transcript, words=tuple(words)), stem="x")
    assert "*S1:\tSo ˈcafé" in text


def test_the_stress_mark_goes_before_the_accented_syllable_where_it_is_located(tmp_path):
    """CHAT's ˈ stands before the stressed syllable: "caˈfé" when the emphasis mark's evidence names
    the second of the word's two vowels (``prosody.marks.accent``); pylangacq reads it as one word."""
    from capture.record import replace

    transcript = sample_transcript()
    marks = tuple(replace(m, evidence={**m.evidence, "accented_syllable": {"index": 1, "of": 2, "phone": "EY"}})
                  if m.type == "emphasis" else m for m in transcript.marks)
    path = tmp_path / "x.cha"
    path.write_text(render_chat(replace(transcript, marks=marks), stem="x"), encoding="utf-8")
    assert "*S1:\tSo the caˈfé" in path.read_text(encoding="utf-8")
    tokens = [t.word for u in pylangacq.read_chat(str(path)).utterances() for t in u.tokens]
    assert "caˈfé" in tokens
