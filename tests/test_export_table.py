"""Word table: one row per word in CSV (read by the csv module and pandas) and Parquet (pyarrow),
times exact to well under 1 ms, every prosodic feature and every mark."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from export.table import columns
from export_sample import WORDS, sample_transcript, sample_exports


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return {p.suffix: p for p in sample_exports(tmp_path_factory, "table", "csv")["csv"]}


def test_csv_has_one_row_per_word_with_exact_times(files):
    with open(files[".csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    transcript = sample_transcript()
    assert len(rows) == len(transcript.words)
    for row, (text, a, b, spk), word in zip(rows, WORDS, transcript.words):
        assert row["text"] == text and row["speaker"] == spk
        assert abs(float(row["start_s"]) - a) < 1e-9 and abs(float(row["end_s"]) - b) < 1e-9
        assert float(row["f0_mean_hz"]) == word.prosody.f0_mean_hz
        assert float(row["intensity_mean_db"]) == word.prosody.intensity_mean_db
    assert rows[0]["speaker_name"] == "María José Núñez" and rows[7]["text"] == "日本語"


def test_every_mark_lands_on_its_words(files):
    with open(files[".csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[2]["mark_emphasis"] == "3" and float(rows[2]["mark_emphasis_confidence"]) == 0.9
    assert rows[4]["mark_lengthening"] == "2" and rows[4]["mark_pause"] == "0.7"  # pause after "naïve"
    assert rows[4]["pause_after_s"] == "0.7"
    assert rows[5]["mark_intonation"] == "fall" and rows[5]["mark_gap"] == "0.8"
    assert rows[6]["mark_loud"] == "82" and rows[7]["mark_pitch_step"] == "up" and rows[8]["mark_quiet"] == "60.5"
    assert rows[9]["mark_overlap"] == "S1" and rows[10]["mark_overlap"] == "S2"
    assert [r["mark_tempo"] for r in rows[10:14]] == ["", "faster", "faster", "faster"]
    assert rows[13]["mark_latch"] == "0.02" and rows[14]["mark_pause"] == "0.1"
    assert rows[0]["mark_emphasis"] == "" and rows[0]["pause_after_s"] == ""
    marked = {m.type for m in sample_transcript().marks}
    assert all(f"mark_{t}" in rows[0] for t in marked)


def test_pandas_reads_the_csv(files):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(files[".csv"])
    assert list(frame.columns) == columns(sample_transcript())
    assert frame["start_s"].tolist() == [w[1] for w in WORDS]
    assert frame.loc[2, "mark_emphasis"] == 3 and pd.isna(frame.loc[0, "mark_emphasis"])


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed: no Parquet file")
def test_parquet_matches_the_csv(files):
    import pyarrow.parquet as pq

    table = pq.read_table(files[".parquet"]).to_pylist()
    assert [r["text"] for r in table] == [w[0] for w in WORDS]
    assert [r["end_s"] for r in table] == [w[2] for w in WORDS]
    assert table[6]["mark_loud"] == "82" and table[0]["mark_loud"] is None and table[0]["utterance"] == 0
