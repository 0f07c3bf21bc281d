"""Prosodic marks against the controlled test set, and marks per minute on unedited speech.

Runs the real pipeline (``capture.pipeline.Engine``: decode, faster-whisper, prosody) once per
item and keeps the result in ``--work``; the marks are re-derived from the stored tracks on every
run, so trying other thresholds (``--thresholds FILE``) costs seconds, not recognition.

    python bench/prosody_testset.py --out /tmp/prosody_testset
    python bench/bench_marks.py --set /tmp/prosody_testset --work /tmp/prosody_work [--json marks.json]
    # several seeds scored together: --set A --work WA --set B --work WB

Scoring, per mark type and separately for synthetic and edited real speech:
- word marks (emphasis, loud, quiet, pitch_step with its direction, lengthening): recall over the
  target words (mapped to recognised words: by script alignment for synthetic items, by time for
  edited ones); precision over the marks made (a mark is right when it covers a target word).
  A second precision leaves out marks that the unedited recording (edited real speech) or the
  same sentence synthesised without the manipulation (synthetic) already had at the same place
  ("new marks only"): the edits are the truth, the speaker's or synthesiser's own prosody is not.
  Questions and statements have no manipulation: they are their own twin, so none of their word
  marks count there (they still count in the plain precision and in marks per minute).
  The marks column gives, in brackets, how many of the marks are new: a rule that marks more of
  the unedited recordings' own talk leaves fewer marks new, which raises the precision over new
  marks without finding anything more (compare changes at the same number of marks per minute).
  Of the false new marks, the last column counts those on the word(s) that another kind of edit
  changed (an emphasis mark on a word made louder, a lengthening in a slowed stretch): where a
  rule confuses one prosodic change with another rather than marking unchanged talk.
- tempo: a target stretch is found when a mark of the same direction covers >= 40 % of its words.
- timed pauses (>= 0.2 s true length): matched by overlap; recall, precision, median |duration error|.
- final intonation: the last unit's mark of each question must be rise/slight rise, of each
  statement fall/slight fall (level or no mark counts as wrong); on edited real speech
  (``prosody_testset.py --intonation``) the mark of the unit that ends on the target word.
  Intonation items are their own unmanipulated twin: none of their word marks count as new.

``--true-word-times`` is a diagnostic: the same scoring with each item (and its twin or unedited
recording) measured on its true words and word times instead of the recogniser's re-timed ones,
so what is lost to word edges can be told from what the rules miss.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))

from bench.prosody_testset import is_lj, source_path, unedited_recording  # noqa: E402
from capture.device import CPU_ISAS, restart_held  # noqa: E402
from capture.record import SCHEMA_VERSION, Transcript, replace  # noqa: E402
from prosody.marks import MARK_TYPES  # noqa: E402
from prosody.marks import annotate as _annotate  # noqa: E402
from prosody.thresholds import load_thresholds  # noqa: E402

WORD_TYPES = ("emphasis", "loud", "quiet", "pitch_step", "lengthening")
# the limits a mark must pass, by how they are relaxed: differences (x (1 - f)) and ratios (1 + (r - 1)(1 - f))
DIFFERENCE_LIMITS = {"emphasis": ("pitch_above_st", "loudness_above_db", "pitch_support_st"),
                     "loudness": ("loud_above_db", "quiet_below_db"),
                     "pitch_steps": ("min_step_st", "landing_beyond_median_st"), "tempo": ("mads", "change_mads"),
                     "lengthening": ("phone_excess_s", "word_excess_s", "steady_min_s")}
RATIO_LIMITS = {"emphasis": ("duration_ratio",), "pitch_steps": ("relative_step",),
                "lengthening": ("phone_ratio", "word_ratio", "held_ratio", "steady_ratio")}


def relaxed(thresholds, fraction: float):
    """The thresholds with every limit a mark must pass moved ``fraction`` of the way towards
    marking: what the unedited recording "nearly" had."""
    data = thresholds.as_dict()
    for section, keys in DIFFERENCE_LIMITS.items():
        for key in keys:
            data[section][key] *= 1 - fraction
    for section, keys in RATIO_LIMITS.items():
        for key in keys:
            data[section][key] = 1 + (data[section][key] - 1) * (1 - fraction)
    return type(thresholds).from_dict(data, source=f"relaxed by {fraction}")


UNEDITED = {
    "jfk": "jfk/jfk.flac",
    "librispeech_2412": "librispeech_2412-153948-0000/2412-153948-0000.flac",
    "LJ050-0276": "ljspeech_LJ050-027x/LJ050-0276.wav",
    "LJ050-0277": "ljspeech_LJ050-027x/LJ050-0277.wav",
    "LJ050-0278": "ljspeech_LJ050-027x/LJ050-0278.wav",
    "ptdb_F01_sa1": "ptdb_tug_f0/mic_F01_sa1.wav",
    "ami_mixture_4spk": "ami_mixture_4spk/mixture.wav",
    "fw_stereo_2spk": "fw_stereo_2spk/stereo_diarization.wav",
}


class Runner:
    """One pipeline run per audio file, cached as transcript JSON (marks re-derived later)."""

    def __init__(self, work: Path, model: str, device: str, *, align: bool = True, cpu_isa: str = "native"):
        self.work, self.model, self.device, self.align, self.cpu_isa = work, model, device, align, cpu_isa
        self.engines: dict = {}
        work.mkdir(parents=True, exist_ok=True)

    def transcript(self, key: str, audio: Path, speakers: str = "none") -> Transcript:
        cached = self.work / f"{key}.json"
        if cached.is_file():
            from capture.decode import sha256_of

            done = Transcript.load(cached)
            if done.audio.sha256 == sha256_of(audio):
                if done.spectral_change is None and done.intensity is not None:  # cached before schema 1.4
                    done = with_spectral_change(done, audio)
                    cached.write_text(done.to_json())
                return done
        if speakers not in self.engines:
            from capture.pipeline import Engine, ProcessOptions
            from transcribe.asr import AsrOptions
            from transcribe.diarize import SpeakerOptions
            from transcribe.forced_align import AlignOptions

            options = ProcessOptions(asr=AsrOptions(model=self.model, device=self.device, language="en",
                                                    cpu_isa=self.cpu_isa),
                                     align=AlignOptions(enabled=self.align), speakers=SpeakerOptions(mode=speakers))
            self.engines[speakers] = Engine(options)
        t = self.engines[speakers].process(audio)
        cached.write_text(t.to_json())
        return t


def with_spectral_change(t: Transcript, audio: Path) -> Transcript:
    """A transcript cached before schema 1.4 given the spectral change tracks the pipeline now
    measures (the same numbers: ``prosody.spectral`` on the same decoded audio; with a channel per
    speaker, each channel's, and recording-wide the loudest channel's frame by frame, as
    ``prosody.measure`` does), so the recognition need not be run again."""
    import tempfile

    from capture.audio16k import decode_to_folder
    from capture.decode import ASR_SAMPLE_RATE_HZ as SR
    from prosody.spectral import SpectralOptions, spectral_change_frames, spectral_track

    options = SpectralOptions(hop_s=t.intensity.hop_s)
    n = len(t.intensity.db)
    with tempfile.TemporaryDirectory() as scratch:
        decoded = decode_to_folder(audio, scratch)
        if not t.channel_tracks:
            return replace(t, spectral_change=spectral_track(
                spectral_change_frames(decoded.read_16k(), sr=SR, options=options)[:n], hop_s=options.hop_s),
                schema_version=SCHEMA_VERSION)
        own = [spectral_change_frames(decoded.read_16k(channel=c.channel), sr=SR, options=options)[:n]
               for c in t.channel_tracks]
    levels = np.array([c.intensity.db[:n] for c in t.channel_tracks], dtype=float)  # None (not measured): NaN
    wide = np.stack(own)[np.nanargmax(levels, axis=0), np.arange(n)]
    return replace(t, spectral_change=spectral_track(wide, hop_s=options.hop_s), schema_version=SCHEMA_VERSION,
                   channel_tracks=tuple(replace(c, spectral_change=spectral_track(x, hop_s=options.hop_s))
                                        for c, x in zip(t.channel_tracks, own)))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9']", "", text.lower())


def map_script(script: list[str], transcript: Transcript) -> dict[int, int]:
    """Script word index -> recognised word index (time order), through a word alignment."""
    order = sorted(range(len(transcript.words)), key=lambda i: transcript.words[i].start_s)
    hyp = [_norm(transcript.words[i].text) for i in order]
    out = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, script, hyp, autojunk=False).get_opcodes():
        for i in range(i1, i2):
            if tag == "equal":
                out[i] = order[j1 + i - i1]
            elif j2 > j1:
                out[i] = order[min(j2 - 1, j1 + (i - i1) * (j2 - j1) // max(1, i2 - i1))]
    return out


def map_times(times: list[list[float]], transcript: Transcript) -> list[int]:
    out = []
    for a, b in times:
        best = max(range(len(transcript.words)), default=None,
                   key=lambda i: min(b, transcript.words[i].end_s) - max(a, transcript.words[i].start_s))
        if best is not None and min(b, transcript.words[best].end_s) - max(a, transcript.words[best].start_s) > 0:
            out.append(best)
    return out


def covered(transcript: Transcript, mark) -> set[int]:
    """Word indices a mark covers: its speaker's words from first_word to last_word in time."""
    if mark.first_word is None or mark.last_word is None:
        return set()
    words = transcript.words
    lo, hi = words[mark.first_word].start_s, words[mark.last_word].end_s
    return {i for i, w in enumerate(words) if w.speaker == mark.speaker and w.start_s >= lo - 1e-6 and w.end_s <= hi + 1e-6}


def item_time(t: float, item: dict) -> float:
    """A time of the unedited (or unmanipulated) recording, in the item's time."""
    if "base_word_times" in item:
        base = [x for span in item["base_word_times"] for x in span]
        mine = [x for span in item["word_times"] for x in span]
        if len(base) == len(mine) and base:
            return float(np.interp(t, base, mine))
        return t
    return edited_time(t, item.get("edits", []))


def edited_time(t: float, edits: list[list[float]]) -> float:
    shift = 0.0
    for a, b, new in edits:
        if t >= b:
            shift += new - (b - a)
        elif t > a:
            shift += (t - a) / (b - a) * new - (t - a)
    return t + shift


def prf(tp_truth: int, n_truth: int, tp_pred: int, n_pred: int) -> dict:
    recall = tp_truth / n_truth if n_truth else None
    precision = tp_pred / n_pred if n_pred else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if n_truth else None)
    return {"n_truth": n_truth, "n_marks": n_pred, "recall": _r(recall), "precision": _r(precision), "f1": _r(f1)}


def _r(v):
    return None if v is None else round(float(v), 3)


def score(items: list[dict], transcripts: dict, originals: dict, near: dict | None = None) -> dict:
    """``near``: the unmanipulated recordings annotated with relaxed thresholds (``relaxed``), to
    count the false new marks that the unmanipulated recording nearly had at the same place."""
    counts: dict = defaultdict(lambda: Counter())
    pause_errors: list[float] = []
    intonation: Counter = Counter()
    for item in items:
        t = transcripts[item["id"]]
        truth = item["truth"][0]
        kind = truth["type"]
        if "script_words" in truth:
            mapping = map_script(item["script"], t)
            targets = [mapping[k] for k in truth["script_words"] if k in mapping]
        else:
            targets = map_times(truth["times"], t)
        by_type = defaultdict(list)
        for m in t.marks:
            by_type[m.type].append(m)
        before = []
        if item["id"] in originals:  # marks the unedited recording already had, moved to edited time
            for m in originals[item["id"]].marks:
                before.append((m.type, m.value, item_time(m.start_s, item), item_time(m.end_s, item)))
        nearly = []
        if near and item["id"] in near:
            nearly = [(m.type, item_time(m.start_s, item), item_time(m.end_s, item)) for m in near[item["id"]].marks]
        times = truth.get("times") or []
        for mark_type in WORD_TYPES + ("tempo",):
            marks = by_type.get(mark_type, [])
            truth_here = kind == mark_type
            target_set = set(targets) if truth_here else set()
            need = max(1, int(np.ceil(0.4 * len(truth["script_words"] if "script_words" in truth else times))))

            def right_value(m):
                return mark_type not in ("pitch_step", "tempo") or m.value == truth["value"]

            def word_hit(m):
                found = covered(t, m) & target_set
                return right_value(m) and len(found) >= (need if mark_type == "tempo" else 1)

            def time_hit(m):
                if not truth_here or not right_value(m):
                    return False
                inside = sum(max(0.0, min(b, m.end_s) - max(a, m.start_s)) for a, b in times)
                total = sum(b - a for a, b in times)
                return inside >= (0.4 * total if mark_type == "tempo" else min(0.05, 0.5 * total))

            c = counts[mark_type]
            c["n_pred"] += len(marks)
            if truth_here:
                c["n_truth"] += 1
                c["tp_truth"] += int(any(word_hit(m) for m in marks))
                c["tp_truth_time"] += int(any(time_hit(m) for m in marks))
            c["tp_pred"] += sum(word_hit(m) for m in marks)
            c["tp_pred_time"] += sum(time_hit(m) for m in marks)
            old = [m for m in marks if not time_hit(m) and any(
                ty == mark_type and min(m.end_s, e) - max(m.start_s, s) > 0 for ty, _v, s, e in before)]
            c["pre_existing"] += len(old)
            c["false_new_nearly_before"] += sum(1 for m in marks if m not in old and not time_hit(m) and any(
                ty == mark_type and min(m.end_s, e) - max(m.start_s, s) > 0 for ty, s, e in nearly))
            if not truth_here:  # false new marks on the word(s) another kind of edit changed
                c["new_on_other_edits"] += sum(1 for m in marks if m not in old and any(
                    min(b, m.end_s) - max(a, m.start_s) > 0 for a, b in times))
        truth_pauses = [(a, b) for a, b in item["pauses"] if b - a >= 0.2]
        predicted = [m for m in by_type.get("pause", []) + by_type.get("gap", []) if not m.evidence.get("micropause")]
        used = set()
        c = counts["timed_pause"]
        c["n_truth"] += len(truth_pauses)
        c["n_pred"] += len(predicted)
        for a, b in truth_pauses:
            best = max((m for m in predicted if id(m) not in used), default=None,
                       key=lambda m: min(b, m.end_s) - max(a, m.start_s))
            if best is not None and min(b, best.end_s) - max(a, best.start_s) > 0:
                used.add(id(best))
                c["tp_truth"] += 1
                c["tp_pred"] += 1
                pause_errors.append(abs(best.evidence["duration_s"] - (b - a)))
        if kind == "intonation":
            finals = [m for m in by_type.get("intonation", [])]
            if item["set"] == "edited_real":  # the unit that ends on the target word, wherever it is
                finals = [m for m in finals if any(min(b, m.end_s) - max(a, m.start_s) > 0 for a, b in times)]
            last = max(finals, key=lambda m: m.end_s) if finals else None
            expected = ("rise", "slight_rise") if truth["value"] == "rise" else ("fall", "slight_fall")
            intonation["n"] += 1
            intonation["correct"] += int(last is not None and last.value in expected)
            intonation[f"{truth['value']}->{last.value if last else 'none'}"] += 1
    out = {}
    for mark_type, c in counts.items():
        row = prf(c["tp_truth"], c["n_truth"], c["tp_pred"], c["n_pred"])
        if mark_type != "timed_pause":
            row["by_time"] = prf(c["tp_truth_time"], c["n_truth"], c["tp_pred_time"], c["n_pred"])
        if any(i["id"] in originals for i in items) and mark_type != "timed_pause":
            fresh = c["n_pred"] - c["pre_existing"]
            row["by_time_new_marks_only"] = prf(c["tp_truth_time"], c["n_truth"], c["tp_pred_time"], fresh)
            row["by_time_new_marks_only"].update(false_marks=fresh - c["tp_pred_time"],
                                                 false_on_other_edits=c["new_on_other_edits"])
            if near:
                row["by_time_new_marks_only"]["false_nearly_before"] = c["false_new_nearly_before"]
        if mark_type == "timed_pause":
            row["median_duration_error_s"] = _r(np.median(pause_errors)) if pause_errors else None
        out[mark_type] = row
    if intonation["n"]:
        out["intonation"] = {"n": intonation["n"], "accuracy": _r(intonation["correct"] / intonation["n"]),
                             "confusion": {k: v for k, v in intonation.items() if "->" in k}}
    return out


def headline(row: dict) -> float | None:
    """The number each mark type is judged by: F1 (time, new marks only), pause recall, or
    intonation accuracy."""
    if "accuracy" in row:
        return row["accuracy"]
    if "by_time_new_marks_only" in row:
        return row["by_time_new_marks_only"]["f1"]
    if "by_time" in row:
        return row["by_time"]["f1"]
    return row["recall"]


def bootstrap(items: list[dict], transcripts: dict, originals: dict, rounds: int, seed: int = 0) -> dict:
    """95 % percentile interval of each mark type's headline number over ``rounds`` resamples of
    the items (with replacement): how much of a difference between two runs is the set's size."""
    rng = np.random.default_rng(seed)
    got: dict = defaultdict(list)
    for _ in range(rounds):
        sample = [items[k] for k in rng.integers(0, len(items), len(items))]
        for mark_type, row in score(sample, transcripts, originals).items():
            value = headline(row)
            if value is not None:
                got[mark_type].append(value)
    return {ty: [_r(np.percentile(v, 2.5)), _r(np.percentile(v, 97.5))] for ty, v in got.items()}


def recognised_on(transcripts) -> dict:
    """How many cached items each CPU and kernel limit recognised (caches are reused whatever
    ``--cpu-isa`` says, and items recognised under other kernels may be heard differently);
    "unrecorded" for caches older than ``pipeline.models.asr.cpu`` or made on a GPU, and numpy's
    kernels "unrecorded" for those older than ``numpy_kernels`` (oneDNN alone was held then)."""
    def said(cpu: dict | None) -> str:
        if not cpu:
            return "unrecorded"
        numpy = "+".join(cpu["numpy_kernels"]) if cpu.get("numpy_kernels") else "unrecorded"
        return (f"{cpu['machine']} ({'+'.join(cpu['int8_extensions']) or 'none of ours'}), kernels "
                f"{'held to ' + cpu['kernels_held_to'] if cpu['kernels_held_to'] else 'its own'}, numpy {numpy}")

    return dict(sorted(Counter(said((t.pipeline.models or {}).get("asr", {}).get("cpu")) for t in transcripts).items()))


def marks_per_minute(runner: Runner, thresholds, corpus: Path, annotate=_annotate) -> dict:
    totals: Counter = Counter()
    minutes = words = 0.0
    per_item = {}
    for key, rel in UNEDITED.items():
        path = corpus / rel
        if not path.is_file():
            continue
        speakers = "auto" if key in ("ami_mixture_4spk", "fw_stereo_2spk") else "none"
        t = annotate(runner.transcript(f"unedited_{key}", path, speakers), thresholds)
        counts = Counter(m.type for m in t.marks)
        per_item[key] = {"minutes": round(t.audio.duration_s / 60, 3), "words": len(t.words), **counts}
        totals.update(counts)
        minutes += t.audio.duration_s / 60
        words += len(t.words)
    return {"minutes": round(minutes, 2), "words": int(words),
            "per_minute": {ty: round(totals[ty] / minutes, 1) for ty in MARK_TYPES} if minutes else {},
            "per_100_words": {ty: round(100 * totals[ty] / words, 1) for ty in MARK_TYPES} if words else {},
            "items": per_item}


def table(results: dict) -> str:
    lines = ["| mark | set | truth | marks (new) | word: R / P / F1 | time: R / P / F1 | time, new marks only: P / F1 "
             "| of its false marks, on another edit's word | of its false marks, nearly there before |",
             "|---|---|---|---|---|---|---|---|---|"]

    def rpf(row):
        return " / ".join("-" if row[k] is None else f"{row[k]:.2f}" for k in ("recall", "precision", "f1"))

    for set_name in ("synthetic", "edited_real"):
        for mark_type, row in results.get(set_name, {}).items():
            if mark_type == "intonation":
                continue
            name = mark_type
            if row.get("median_duration_error_s") is not None:
                name += f" (median duration error {row['median_duration_error_s']:.3f} s)"
                if "interval_95" in row:
                    name += f" (recall [{row['interval_95'][0]:.2f}-{row['interval_95'][1]:.2f}])"
            fresh = row.get("by_time_new_marks_only")
            fresh_text = "-" if not fresh else " / ".join("-" if fresh[k] is None else f"{fresh[k]:.2f}" for k in ("precision", "f1"))
            if "interval_95" in row and fresh:
                fresh_text += f" [{row['interval_95'][0]:.2f}-{row['interval_95'][1]:.2f}]"
            others = nearly = "-"
            if fresh and fresh["n_marks"]:
                others = f"{fresh['false_on_other_edits']} of {fresh['false_marks']}"
                if "false_nearly_before" in fresh:
                    nearly = f"{fresh['false_nearly_before']} of {fresh['false_marks']}"
            count = f"{row['n_marks']} ({fresh['n_marks']} new)" if fresh else f"{row['n_marks']}"
            lines.append(f"| {name} | {set_name} | {row['n_truth']} | {count} | {rpf(row)} | "
                         f"{rpf(row['by_time']) if 'by_time' in row else '-'} | {fresh_text} | {others} | {nearly} |")
    for set_name in ("synthetic", "edited_real"):
        row = results.get(set_name, {}).get("intonation")
        if row:
            interval = f" [{row['interval_95'][0]:.2f}-{row['interval_95'][1]:.2f}]" if "interval_95" in row else ""
            lines.append(f"\nfinal intonation, question rise vs statement fall ({set_name}): accuracy {row['accuracy']}"
                         f"{interval} over {row['n']} items; {row['confusion']}")
    return "\n".join(lines)


def true_words(item: dict, which: str, corpus: Path):
    """[(text, start_s, end_s)] of an item ("item") or of its unmanipulated recording ("original"):
    the script with libespeak-ng's word events (a span espeak-ng gave to several words is split
    evenly among them), or the LJ TextGrid words through the edits. None when not known; False
    for an original that the item does not have."""
    if item["set"] == "edited_real":
        from bench.prosody_testset import read_textgrid_words

        if not is_lj(item["source"]):  # a voice without a TextGrid: its reference text as aligned, if kept
            if "source_words" not in item:
                return None
            words = [(w, a, b) for a, b, w in item["source_words"]]
        else:
            grid = source_path(corpus, item["source"]).with_suffix(".TextGrid")
            words = [(w, a, b) for a, b, w in read_textgrid_words(grid) if w]
        if which == "item":
            words = [(w, edited_time(a, item["edits"]), edited_time(b, item["edits"])) for w, a, b in words]
        return words
    key = "word_times" if which == "item" else "base_word_times"
    if which == "original" and key not in item:
        return False
    times = item.get(key) or []
    if len(times) != len(item["script"]):
        return None
    out, k = [], 0
    while k < len(times):
        j = k
        while j + 1 < len(times) and times[j + 1] == times[k]:
            j += 1
        (a, b), n = times[k], j - k + 1
        out += [(item["script"][k + m], a + (b - a) * m / n, a + (b - a) * (m + 1) / n) for m in range(n)]
        k = j + 1
    return out


def with_true_words(t: Transcript, item: dict, which: str, args) -> Transcript:
    if not args.true_word_times:
        return t
    from capture.record import Utterance, Word

    words = tuple(Word(text=w, start_s=round(a, 3), end_s=round(b, 3), probability=1.0, speaker=None)
                  for w, a, b in true_words(item, which, args.corpus))
    one = Utterance(None, words[0].start_s, words[-1].end_s, " ".join(w.text for w in words), 0, len(words) - 1)
    return replace(t, words=words, utterances=(one,), speakers=())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True, action="append",
                        help="folder written by bench/prosody_testset.py; repeat (with one --work each) to score "
                             "several sets (seeds) together")
    parser.add_argument("--work", type=Path, required=True, action="append",
                        help="cache of pipeline results (reused), one per --set")
    parser.add_argument("--thresholds", type=Path)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cpu-isa", choices=CPU_ISAS, default="native",
                        help="the recogniser's CPU int8 kernels (README, The same transcript on every machine); a "
                             "--work cache keeps what it was made with")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--min-confidence", type=float, default=0.0,
                        help="score only marks at or above this confidence (the trade-off a reader can make)")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                        help="also give a 95 %% interval of each headline number from N resamples of the items")
    parser.add_argument("--near", type=float, default=0.1, metavar="FRACTION",
                        help="count the false new marks that the unmanipulated recording nearly had: with every "
                             "limit moved this fraction towards marking (0: off)")
    parser.add_argument("--true-word-times", action="store_true",
                        help="diagnostic: measure the items on their true words and times (espeak-ng word events, "
                             "LJ TextGrids), not re-timed: what the rules give when word edges are right")
    args = parser.parse_args()
    restart_held(args.cpu_isa)  # numpy is imported by now: start again with its kernels held too
    from capture.offline import enforce_offline

    enforce_offline()
    thresholds = load_thresholds(args.thresholds)
    if len(args.set) != len(args.work):
        parser.error("give one --work per --set")

    def annotate(t, th):
        marked = _annotate(t, th)
        return replace(marked, marks=tuple(m for m in marked.marks if m.confidence >= args.min_confidence))

    transcripts, originals = {}, {}
    unedited: dict = {}  # (cache folder, LJ recording) -> its marks: shared by the 24 items edited from it
    items = []
    if args.true_word_times:
        from prosody.marks import context

        retime, context.measuring_spans = context.measuring_spans, lambda t, *_a, **_k: [(w.start_s, w.end_s) for w in t.words]
    for folder, work in zip(args.set, args.work):
        runner = Runner(work, args.model, args.device, cpu_isa=args.cpu_isa)
        mine = json.loads((folder / "manifest.json").read_text())["items"]
        if args.true_word_times:
            mine = [i for i in mine if true_words(i, "item", args.corpus) and true_words(i, "original", args.corpus) is not False]
        for n, item in enumerate(mine, 1):
            print(f"[{n}/{len(mine)}] {folder.name}/{item['id']}", file=sys.stderr, end="\r")
            key = f"{folder}/{item['id']}" if len(args.set) > 1 else item["id"]
            transcripts[key] = annotate(with_true_words(
                runner.transcript(item["id"], folder / item["audio"]), item, "item", args), thresholds)
            if item["truth"][0]["type"] == "intonation":  # only the final pitch movement manipulated, if at all:
                originals[key] = transcripts[key]  # its own twin, so none of its word marks count as new
            elif item["set"] == "edited_real":
                source = unedited_recording(folder, args.corpus, item)
                if (work, source) not in unedited:
                    unedited[work, source] = annotate(with_true_words(
                        runner.transcript(f"unedited_{source.stem}", source), item, "original", args), thresholds)
                originals[key] = unedited[work, source]
            elif "base_audio" in item:
                originals[key] = annotate(with_true_words(
                    runner.transcript(f"{item['id']}_base", folder / item["base_audio"]), item, "original", args), thresholds)
            items.append({**item, "id": key})
    if args.true_word_times:
        context.measuring_spans = retime
    near = {}
    if args.near:
        loose, done = relaxed(thresholds, args.near), {}
        for key, original in originals.items():
            if id(original) not in done:
                done[id(original)] = annotate(original, loose)
            near[key] = done[id(original)]
    results = {}
    for set_name in ("synthetic", "edited_real"):
        chosen = [i for i in items if i["set"] == set_name]
        if chosen:
            results[set_name] = score(chosen, transcripts, originals, near)
            if args.bootstrap:
                for mark_type, interval in bootstrap(chosen, transcripts, originals, args.bootstrap).items():
                    results[set_name][mark_type]["interval_95"] = interval
    results["unedited_corpus"] = marks_per_minute(runner, thresholds, args.corpus, annotate)
    results["sets"] = [str(folder) for folder in args.set]
    results["recognised_on"] = recognised_on(transcripts.values())
    results["min_confidence"] = args.min_confidence
    results["thresholds"] = str(args.thresholds or "defaults")
    results["near_fraction"] = args.near
    print(table(results))
    rate = results["unedited_corpus"]
    print(f"\nunedited corpus ({rate['minutes']} min, {rate['words']} words), marks per minute: {rate['per_minute']}")
    print(f"per 100 words: {rate['per_100_words']}")
    print(f"items recognised on (README, The same transcript on every machine): {results['recognised_on']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
