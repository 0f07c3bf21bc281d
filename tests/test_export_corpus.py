"""A real recording from ../shared/corpus through `tonescribe process --export all`: every file
the exports write is read back by its independent reader and agrees with transcript.json
(two speakers on two channels, an overlap, real marks). Skipped without the corpus."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from capture.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.corpus]


@pytest.fixture(scope="module")
def output(corpus_dir, tmp_path_factory):
    audio = corpus_dir / "fw_stereo_2spk" / "stereo_diarization.wav"
    if not audio.is_file():
        pytest.skip(f"{audio} not in the corpus")
    out = tmp_path_factory.mktemp("real")
    assert main(["process", str(audio), "--out", str(out), "--export", "all", "-q"]) == 0
    folder = out / "stereo_diarization"
    return folder, json.loads((folder / "transcript.json").read_text(encoding="utf-8"))


def test_every_reader_agrees_with_the_transcript(output):
    pympi = pytest.importorskip("pympi")
    parselmouth = pytest.importorskip("parselmouth")
    pylangacq = pytest.importorskip("pylangacq")
    webvtt = pytest.importorskip("webvtt")
    docx = pytest.importorskip("docx")
    folder, data = output
    stem = "stereo_diarization"
    words = data["words"]
    labels = {s["id"]: s["label"] for s in data["speakers"]}
    per_speaker = Counter(w["speaker"] for w in words)
    assert len(per_speaker) == 2 and data["marks"]

    eaf = pympi.Elan.Eaf(str(folder / f"{stem}.eaf"))
    for spk, n in per_speaker.items():
        got = eaf.get_annotation_data_for_tier(f"{labels[spk]} words")
        assert [a[2] for a in sorted(got)] == [w["text"] for w in words if w["speaker"] == spk]
    eaf_marks = sum(len(eaf.get_annotation_data_for_tier(t)) for t in eaf.get_tier_names()
                    if not t.endswith((" turns", " words", " word prosody")))
    assert eaf_marks == len(data["marks"])  # every mark has its annotation
    xsd = os.environ.get("TONESCRIBE_EAF_XSD", "")
    if xsd and Path(xsd).is_file():
        import xmlschema

        xmlschema.XMLSchema(xsd).validate(str(folder / f"{stem}.eaf"))

    call = parselmouth.praat.call
    grid = parselmouth.read(str(folder / f"{stem}.TextGrid"))
    names = [call(grid, "Get tier name", k) for k in range(1, call(grid, "Get number of tiers") + 1)]
    for spk, n in per_speaker.items():
        tier = names.index(f"{labels[spk]} words") + 1
        count = call(grid, "Count intervals where", tier, "is not equal to", "")
        assert count == n
    pitch = parselmouth.read(str(folder / f"{stem}.PitchTier"))
    assert call(pitch, "Get number of points") == sum(v is not None for v in data["pitch"]["f0_hz"])

    chat = pylangacq.read_chat(str(folder / f"{stem}.cha"))
    assert len(chat.utterances()) == len(data["utterances"])
    assert [u.participant for u in chat.utterances()] == [u["speaker"] for u in data["utterances"]]

    cue_words = [w for c in webvtt.read(str(folder / f"{stem}.vtt")) for w in c.text.split()]
    assert sorted(cue_words) == sorted(w["text"].strip() for w in words)

    with open(folder / f"{stem}.words.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["start_s"]) for r in rows] == [w["start_s"] for w in words]
    for m in data["marks"]:
        if m["first_word"] is not None:
            assert rows[m["first_word"]][f"mark_{m['type']}"], m  # every mark is in its word's row

    document = docx.Document(str(folder / f"{stem}.docx"))
    assert any(p.text.startswith("  1 ") for p in document.paragraphs)
