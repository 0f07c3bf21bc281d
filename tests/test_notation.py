"""Jefferson and GAT2 renderings of a hand-made transcript against hand-written expected text,
and ``tonescribe render`` re-deriving marks from transcript.json alone."""

from __future__ import annotations

import json

import pytest

from capture.cli import main
from capture.outputs import write_output_dir
from capture.record import Mark, Overlap, Pause, QualityWarning, RecordingQuality, TimeSpan, Transcript, Utterance, replace
from prosody.notation.gat2 import render_gat2
from prosody.notation.jefferson import render_jefferson
from prosody.notation.omit import leave_out, parse_omit
from prosody.notation.plain import render_plain
from test_marks import BASE_DB, BASE_HZ, _per_word, make_transcript, regular_words

WORDS = [
    ("So", 0.0, 0.3, "S1"), ("I", 0.45, 0.5, "S1"), ("was", 0.55, 0.8, "S1"), ("going", 0.85, 1.2, "S1"),
    ("home.", 1.25, 1.6, "S1"), ("Yeah", 1.0, 1.4, "S2"), ("right,", 2.3, 2.6, "S2"), ("Really?", 2.62, 3.0, "S1"),
]


def mark(type_, first, last, speaker, value=None, **evidence):
    w = WORDS
    return Mark(type=type_, start_s=w[first][1], end_s=w[last][2], first_word=first, last_word=last,
                speaker=speaker, value=value, confidence=1.0, evidence=evidence)


def conversation() -> Transcript:
    t = make_transcript(WORDS, overlaps=[Overlap(1.0, 1.4, ("S1", "S2"))],
                        pauses=[Pause(0.3, 0.45, 0.15, "S1", "S1"), Pause(1.6, 2.3, 0.7, "S1", "S2")])
    marks = (
        mark("lengthening", 0, 0, "S1", 2), mark("pause", 0, 1, "S1", 0.15, micropause=True),
        mark("tempo", 1, 2, "S1", "faster"), mark("emphasis", 2, 2, "S1", 3), mark("pitch_step", 3, 3, "S1", "up"),
        mark("overlap", 3, 4, "S1", ["S2"], overlap=0), mark("overlap", 5, 5, "S2", ["S1"], overlap=0),
        mark("intonation", 4, 4, "S1", "fall"), mark("intonation", 5, 5, "S2", "level"),
        mark("gap", 4, 6, None, 0.7, micropause=False), mark("quiet", 6, 6, "S2", -9.0),
        mark("intonation", 6, 6, "S2", "slight_rise"), mark("latch", 6, 7, None, 0.02),
        mark("loud", 7, 7, "S1", 8.0), mark("intonation", 7, 7, "S1", "rise"),
    )
    utterances = tuple(Utterance(w[a][3], w[a][1], w[b][2], "", a, b) for a, b, w in
                       ((0, 4, WORDS), (5, 5, WORDS), (6, 6, WORDS), (7, 7, WORDS)))
    return replace(t, marks=marks, utterances=utterances)


JEFFERSON = """\
# test.wav (3.3 s); Jefferson (2004) notation; emphasis underlined (U+0332); speakers: S1 = Speaker 1, S2 = Speaker 2

  1 S1: So:: (.) >I w\u0332a\u0332s\u0332< [↑going home.]
  2 S2:                  [Yeah,]
  3     (0.7)
  4     °right¿°=
  5 S1: =REALLY?
"""

GAT2 = """\
# test.wav (3.3 s); GAT2 basic transcript (Selting et al. 2009) with measured pauses; speakers: S1 = Speaker 1, S2 = Speaker 2

001 S1: so:: (.) <<all> i WAS> [↑going home.]
002 S2:                        [yeah-]
003     (0.7)
004     <<p> right,>=
005 S1: =<<f> really?>
"""


def test_jefferson_rendering_matches_the_hand_written_transcript():
    assert render_jefferson(conversation()) == JEFFERSON


def test_gat2_rendering_matches_the_hand_written_transcript():
    assert render_gat2(conversation()) == GAT2


def test_plain_renderer_still_works_with_marks():
    text = render_plain(conversation())
    assert "So (.) I was going home." in text


def test_long_turns_wrap_with_numbered_lines_and_labels_once():
    words = [(f"word{k}", 0.1 + k * 0.4, 0.4 + k * 0.4, "S1") for k in range(40)]
    lines = render_jefferson(make_transcript(words)).splitlines()[2:]
    assert len(lines) > 3
    assert lines[0].startswith("  1 S1: ") and lines[1].startswith("  2     word")
    assert all(len(line) <= 8 + 72 for line in lines)


def _processed_folder(tmp_path):
    words = regular_words(14)
    t = make_transcript(words, f0=_per_word(words, {6: BASE_HZ * 2 ** (4 / 12)}, BASE_HZ),
                        db=_per_word(words, {10: BASE_DB + 8}, BASE_DB))
    from prosody.marks import annotate

    folder = tmp_path / "rec"
    write_output_dir(annotate(t), folder)
    return folder


def test_process_output_folder_has_both_notations(tmp_path):
    folder = _processed_folder(tmp_path)
    assert "↑ba" in (folder / "transcript.jefferson.txt").read_text(encoding="utf-8")
    assert "<<f> ba>" in (folder / "transcript.gat2.txt").read_text(encoding="utf-8")


def test_render_with_new_thresholds_rederives_marks_without_audio(tmp_path, capsys):
    folder = _processed_folder(tmp_path)
    (folder / "transcript.gat2.txt").unlink()
    assert main(["render", str(folder), "--notation", "gat2"]) == 0
    assert "↑ba" in (folder / "transcript.gat2.txt").read_text(encoding="utf-8")
    strict = tmp_path / "strict.toml"
    strict.write_text("[pitch_steps]\nmin_step_st = 6.0\n")
    assert main(["render", str(folder), "--notation", "jefferson", "--thresholds", str(strict)]) == 0
    assert "↑" not in (folder / "transcript.jefferson.txt").read_text(encoding="utf-8")
    data = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert data["pipeline"]["options"]["thresholds"]["pitch_steps"]["min_step_st"] == 6.0
    assert not [m for m in data["marks"] if m["type"] == "pitch_step"]


def test_render_says_what_a_transcript_before_schema_1_4_lacks(tmp_path):
    import logging

    from capture.record import SpectralTrack

    class Kept(logging.Handler):  # on the logger itself: "tonescribe" may not propagate (capture.progress)
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    def warnings_of_render(folder):
        kept, logger = Kept(), logging.getLogger("tonescribe.render")
        logger.addHandler(kept)
        try:
            assert main(["render", str(folder), "--thresholds", str(tmp_path / "same.toml")]) == 0
        finally:
            logger.removeHandler(kept)
        return " ".join(kept.messages)

    folder = _processed_folder(tmp_path)  # made without a spectral change track, as before 1.4
    (tmp_path / "same.toml").write_text("")
    said = warnings_of_render(folder)
    assert "before schema 1.4" in said and "syllable rate" in said
    data = Transcript.load(folder / "transcript.json")
    (folder / "transcript.json").write_text(
        replace(data, spectral_change=SpectralTrack(0.01, 0.0, (40.0,) * len(data.intensity.db))).to_json(),
        encoding="utf-8")
    assert warnings_of_render(folder) == ""


def test_render_shows_the_review_corrections_as_the_exports_do(tmp_path, capsys):
    """A word corrected and a mark rejected in the review reach the notations that ``render``
    writes; transcript.json stays the machine's."""
    from review.corrections import add_edit

    folder = _processed_folder(tmp_path)
    before = (folder / "transcript.json").read_bytes()
    marks = json.loads(before)["marks"]
    step = next(k for k, m in enumerate(marks) if m["type"] == "pitch_step")
    add_edit(folder, "word.text", {"word": 2, "text": "corrected"})
    add_edit(folder, "mark.review", {"mark": step, "status": "rejected"})
    assert main(["render", str(folder)]) == 0
    for name in ("transcript.jefferson.txt", "transcript.gat2.txt", "transcript.txt"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "corrected" in text and "↑" not in text, name
    assert "<<f> ba>" in (folder / "transcript.gat2.txt").read_text(encoding="utf-8")  # the loud mark stays
    assert (folder / "transcript.json").read_bytes() == before
    (folder / "corrections.json").write_text("{not json", encoding="utf-8")
    strict = tmp_path / "strict.toml"
    strict.write_text("[pitch_steps]\nmin_step_st = 6.0\n")
    assert main(["render", str(folder), "--thresholds", str(strict)]) == 2
    assert "corrections.json is not valid JSON" in capsys.readouterr().err
    assert (folder / "transcript.json").read_bytes() == before  # nothing written


@pytest.mark.parametrize("make_bad", ["missing", "garbage"])
def test_render_reports_a_bad_folder(tmp_path, capsys, make_bad):
    folder = tmp_path / "rec"
    folder.mkdir()
    if make_bad == "garbage":
        (folder / "transcript.json").write_text("{not json")
    assert main(["render", str(folder)]) == 2
    assert "tonescribe: error:" in capsys.readouterr().err


def test_notations_leave_out_the_types_asked_for_and_say_so():
    """``--omit``: the hand-written transcripts without emphasis and intonation, the rest as before."""
    t = leave_out(conversation(), ["intonation", "emphasis"])
    assert render_jefferson(t) == """\
# test.wav (3.3 s); Jefferson (2004) notation; speakers: S1 = Speaker 1, S2 = Speaker 2; not transcribed: emphasis, intonation

  1 S1: So:: (.) >I was< [↑going home]
  2 S2:                  [Yeah]
  3     (0.7)
  4     °right°=
  5 S1: =REALLY
"""
    assert render_gat2(t).splitlines()[0].endswith("; not transcribed: emphasis, intonation")
    assert "<<all> i was>" in render_gat2(t)
    assert render_jefferson(leave_out(conversation(), [])) == JEFFERSON
    assert leave_out(conversation(), "emphasis,intonation") == t


NOISY_AND_CLIPPED = RecordingQuality(
    peak_dbfs=0.0, clipped_fraction=0.02, clipped_spans=(TimeSpan(1.0, 1.2),), speech_level_dbfs=-20.0,
    noise_level_dbfs=-29.0, noise_measured_in="pauses", snr_db=9.0,
    warnings=(QualityWarning("clipping", "2.0 % of the samples are clipped"), QualityWarning("noise", "speech is only 9 dB")))


def test_every_notation_says_on_its_first_line_what_about_the_recording_makes_its_marks_less_sure():
    t = replace(conversation(), quality=NOISY_AND_CLIPPED)
    note = "; quality: 2.0 % clipped; speech 9 dB above the noise"
    assert render_jefferson(t) == JEFFERSON.replace("\n", note + "\n", 1)
    for render in (render_gat2, render_plain):
        first = render(t).splitlines()[0]
        assert first.endswith(note) and render(t).split("\n", 1)[1] == render(conversation()).split("\n", 1)[1]
    assert render_jefferson(leave_out(t, ["emphasis"])).splitlines()[0].endswith("; not transcribed: emphasis" + note)
    assert render_jefferson(replace(t, quality=replace(NOISY_AND_CLIPPED, warnings=()))) == JEFFERSON


@pytest.mark.parametrize("spec, expected", [
    ("lengthening,emphasis", ("emphasis", "lengthening")), (["pitch-step", "loud,pitch_step"], ("loud", "pitch_step")),
    (" Tempo ,", ("tempo",)), (None, ()),
])
def test_mark_types_to_leave_out_are_read_in_one_order(spec, expected):
    assert parse_omit(spec) == expected


@pytest.mark.parametrize("name, says", [("pause", "layout of the talk"), ("overlap", "layout of the talk"),
                                        ("emphasise", "unknown mark type 'emphasise'")])
def test_a_mark_type_that_cannot_be_left_out_is_a_usage_error(tmp_path, capsys, name, says):
    folder = _processed_folder(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["render", str(folder), "--omit", name])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "choose from emphasis, loud, quiet, pitch_step, intonation, tempo, lengthening" in err


def test_render_omit_changes_the_notations_not_transcript_json(tmp_path):
    folder = _processed_folder(tmp_path)
    before = (folder / "transcript.json").read_bytes()
    assert main(["render", str(folder), "--omit", "pitch_step"]) == 0
    jefferson = (folder / "transcript.jefferson.txt").read_text(encoding="utf-8")
    gat2 = (folder / "transcript.gat2.txt").read_text(encoding="utf-8")
    assert "↑" not in jefferson and "↑" not in gat2 and "<<f> ba>" in gat2
    assert jefferson.splitlines()[0].endswith("; not transcribed: pitch step")
    assert (folder / "transcript.json").read_bytes() == before
    assert main(["render", str(folder)]) == 0  # without --omit, everything again
    assert "↑ba" in (folder / "transcript.jefferson.txt").read_text(encoding="utf-8")


def test_overlapping_talk_is_cut_and_bracketed_in_line():
    words = [("a", 0.0, 0.3, "S1"), ("b", 0.35, 0.6, "S1"), ("c", 0.65, 0.9, "S1"), ("d", 0.95, 1.2, "S1"),
             ("x", 0.3, 0.5, "S2"), ("y", 0.55, 0.8, "S2")]
    t = make_transcript(words, overlaps=[Overlap(0.3, 0.8, ("S1", "S2"))])
    t = replace(t, utterances=(Utterance("S1", 0.0, 1.2, "a b c d", 0, 3), Utterance("S2", 0.3, 0.8, "x y", 4, 5)),
                marks=(Mark("overlap", 0.3, 0.8, 1, 2, "S1", ["S2"], 1.0, {"overlap": 0}),
                       Mark("overlap", 0.3, 0.8, 4, 5, "S2", ["S1"], 1.0, {"overlap": 0})))
    assert render_jefferson(t).splitlines()[2:] == [
        "  1 S1: a [b c]",
        "  2 S2:   [x y]",
        "  3 S1: d",
    ]


def test_empty_and_speakerless_transcripts_render():
    from prosody.marks import annotate

    t = make_transcript(regular_words(6))
    empty = annotate(replace(t, words=(), utterances=(), pauses=(), speakers=()))
    assert empty.marks == ()
    assert render_jefferson(empty).splitlines()[2:] == [] and render_gat2(empty).splitlines()[2:] == []
    nobody = annotate(make_transcript([(w, a, b, None) for w, a, b, _ in regular_words(6)], speakers=[]))
    assert render_jefferson(nobody).splitlines()[2].startswith("  1 ?:  ba ba")


@pytest.mark.parametrize("word, nuclei, syllables", [
    ("important", 3, "im|por|tant"), ("nevertheless", 4, "ne|ver|the|less"), ("commission", 3, "com|mis|sion"),
    ("garden", 2, "gar|den"), ("mother", 2, "mo|ther"), ("pocket", 2, "pock|et"), ("display", 2, "dis|play"),
    ("complicated", 4, "com|pli|ca|ted"), ("remote", 2, "re|mote"), ("really", 2, "real|ly"), ("café", 2, "ca|fé"),
    ("make", 1, "make"), ("jumped", 1, "jumped"), ("airborne's", 2, "air|borne's"),
    ("every", 2, "eve|ry"), ("evening", 2, "eve|ning"), ("notebooks", 2, "note|books"),  # a vowel not said
    ("chocolate", 2, "choco|late"), ("chocolate", 3, "cho|co|late"),  # the second o said or not
    ("doesn't", 2, "does|n't"), ("didn't", 2, "did|n't"), ("don't", 1, "don't"),  # a syllabic n, or none
    ("going", 2, "go|ing"), ("seeing", 2, "see|ing"), ("saying", 2, "say|ing"), ("obvious", 3, "ob|vi|ous"),
    ("actually", 4, "ac|tu|al|ly"), ("idea", 3, "i|de|a"),  # two vowels side by side
    ("quiet", 2, None), ("week", 2, None),  # a u after q, a doubled letter: one vowel
    ("create", 2, "cre|ate"), ("science", 2, "sci|ence"), ("recipe", 3, "re|ci|pe"),  # and a silent e, or not
    ("piano", 3, "pi|a|no"),
    ("situation", 4, "si|tu|a|tion"), ("pronunciation", 5, "pro|nun|ci|a|tion"),  # the i of -tion is no vowel
    ("questionable", 4, "ques|tio|na|ble"), ("patient", 2, "pa|tient"), ("ambitious", 3, "am|bi|tious"),
    ("giant", 2, "gi|ant"), ("christianity", 5, "chris|ti|a|ni|ty"), ("enthusiast", 4, "en|thu|si|ast"),
    ("racism", 3, "ra|cis|m"), ("nationalism", 5, "na|tio|na|lis|m"), ("rhythm", 2, "rhyth|m"),  # a syllabic m
    ("handling", 3, "hand|l|ing"), ("juggler", 3, "jugg|l|er"),  # a syllabic l
    ("players", 2, "play|ers"), ("royal", 2, "roy|al"), ("buyers", 2, "buy|ers"),  # a y ends the first vowel
    ("accurately", 4, "ac|cu|rate|ly"), ("carefulness", 3, "care|ful|ness"), ("arrangements", 3, "ar|range|ments"),
    ("somewhere", 2, "some|where"), ("lifestyle", 2, "life|style"),  # a compound's two silent e's
    ("basically", 3, "ba|sical|ly"), ("basically", 4, "ba|si|cal|ly"),  # the a of -ically said or not
    ("coalition", 4, None), ("garden", 3, None),  # the spelling does not show the vowels heard
    ("hmm", 0, None), ("", 1, None),  # no vowel heard, or no letters
])
def test_syllables_are_found_in_the_spelling(word, nuclei, syllables):
    from prosody.notation.spelling import syllable_spans

    spans = syllable_spans(word, nuclei)
    assert ("|".join(word[a:b] for a, b in spans) if spans else None) == syllables


def _accented() -> Transcript:
    """"It's really important." with "important" emphasised on its second syllable and loud, "really"
    emphasised on its first, and "It's" emphasised (one syllable: the whole word)."""
    words = [("It's", 0.0, 0.2, "S1"), ("really", 0.25, 0.6, "S1"), ("important.", 0.65, 1.3, "S1")]
    t = make_transcript(words)

    def mark_(type_, k, value=None, **evidence):
        return Mark(type=type_, start_s=words[k][1], end_s=words[k][2], first_word=k, last_word=k, speaker="S1",
                    value=value, confidence=1.0, evidence=evidence)
    marks = (mark_("emphasis", 0, 2, accented_syllable=None),
             mark_("emphasis", 1, 2, accented_syllable={"index": 0, "of": 2, "phone": "IH"}),
             mark_("emphasis", 2, 2, accented_syllable={"index": 1, "of": 3, "phone": "AO"}),
             mark_("loud", 2, 7.0), mark_("intonation", 2, "fall"))
    return replace(t, marks=marks, utterances=(Utterance("S1", 0.0, 1.3, "", 0, 2),))


def test_the_accented_syllable_is_underlined_or_capitalised_in_the_hand_written_transcripts():
    u = "\u0332"
    assert render_jefferson(_accented()).splitlines()[2] == f"  1 S1: I{u}t{u}'s{u} r{u}e{u}a{u}l{u}ly IMP{u}O{u}R{u}TANT."
    assert render_gat2(_accented()).splitlines()[2] == "001 S1: IT'S REALly <<f> imPORtant.>"


def test_colons_go_after_the_held_vowel_where_it_is_located():
    """Jefferson's colons follow the sound held: "mo::rning" when the lengthening mark's evidence
    names the first of the word's two vowels, "morni::ng" (the last vowel letter, as before) without
    it; an underline on the letter stays on it."""
    from prosody.notation.layout import held_colons

    assert held_colons("morning", 2, {"held_vowel": {"index": 0, "of": 2}}) == "mo::rning"
    assert held_colons("morning", 2, None) == "morni::ng"
    assert held_colons("morning", 1, {"held_vowel": {"index": 0, "of": 3}}) == "morni:ng"  # 3 not spelt
    assert held_colons("mo\u0332rning", 1, {"held_vowel": {"index": 0, "of": 2}}) == "mo\u0332:rning"
    words = [("Good", 0.0, 0.3, "S1"), ("morning.", 0.35, 1.3, "S1")]
    t = make_transcript(words)
    held = Mark(type="lengthening", start_s=0.35, end_s=1.3, first_word=1, last_word=1, speaker="S1", value=2,
                confidence=1.0, evidence={"phone": "AO", "held_vowel": {"index": 0, "of": 2}})
    t = replace(t, marks=(held,), utterances=(Utterance("S1", 0.0, 1.3, "", 0, 1),))
    assert render_jefferson(t).splitlines()[2] == "  1 S1: Good mo::rning"
    assert render_gat2(t).splitlines()[2] == "001 S1: good mo::rning"


@pytest.mark.parametrize("word, where, expected", [
    ("plans", (0, 1, 0, 2), "plan::s"),  # P L AE N Z, the N held
    ("so", (-1, 1, 0, 1), "s::o"),  # a held sound before the first vowel
    ("things", (0, 1, 0, 2), "thing::s"),  # "ng" one sound
    ("morning", (0, 2, 1, 2), "morn::ing"),  # M AO R N IH NG, the N between the vowels
    ("suggested", (1, 3, 0, 2), "sugges::ted"),
    ("well", (0, 1, 0, 1), "well::"),  # a doubled letter one sound
    ("made", (0, 1, 0, 1), "mad::e"),  # a silent e is not a consonant
    ("fox", (0, 1, 1, 2), "fo::x"),  # "x" is two sounds (K S): not located, after the vowel as before
    ("hmm", (-1, 0, 0, 2), "h::mm"),  # HH M, no vowel at all
    ("mmm", (-1, 0, 0, 1), "mmm::"),  # M: "mm" and "m" are two units, not located
])
def test_colons_go_after_a_held_consonant_where_the_spelling_shows_it(word, where, expected):
    """Jefferson's colons follow the sound held, a consonant too ("plan::s" for a held N, not
    "pla::ns"); where the spelling has not as many consonant units as the aligner heard consonants
    there ("fox": K S in one letter), the colons go after the last vowel sounded, as before."""
    from prosody.notation.layout import held_colons

    after_vowel, vowels, index, of = where
    held = {"held_consonant": {"after_vowel": after_vowel, "vowels": vowels, "index": index, "of": of}}
    assert held_colons(word, 2, held, language="en") == expected


def test_a_hand_edited_mark_without_whole_numbers_is_rendered_as_without_its_evidence():
    """transcript.json is a file a researcher may edit: a held sound's or an accented syllable's
    evidence that lost a key or holds text does not stop the rendering; the colons go after the
    last vowel sounded, the underline on the whole word."""
    from prosody.notation.layout import accent_span, held_colons

    assert held_colons("plans", 1, {"held_consonant": {"index": 0}}) == "pla:ns"
    assert held_colons("plans", 1, {"held_consonant": "N"}) == "pla:ns"
    assert held_colons("morning", 1, {"held_vowel": {"index": "first", "of": 2}}) == "morni:ng"
    assert accent_span("important", {"index": 1}) == (0, 9)  # the whole word, as without it


def test_colons_skip_a_silent_final_e_only_in_english():
    from prosody.notation.layout import held_colons

    assert held_colons("made", 1, language="en") == "ma:de"
    assert held_colons("Name", 1, language="de") == "Name:"  # German: the e is said
