"""The corrections layer: a reviewer's edits kept beside ``transcript.json``, never inside it.

``corrections.json`` (its own ``schema_version``) holds an ordered list of edits. Each edit has an
id, an operation, its arguments and *anchors*: the start time of every original word and mark it
refers to. Edits always name the ORIGINAL transcript's word and mark indices, so they never shift
under each other; an edit whose anchors no longer match (the recording was processed again) is
skipped with a warning instead of being misapplied.

Operations (``args``):

- ``word.text``      ``{word, text}``; an empty text deletes the word
- ``word.speaker``   ``{first_word, last_word, speaker}``; reassigns one word or a whole turn
- ``turn.split``     ``{word}``; the word starts a new turn
- ``turn.merge``     ``{word}``; the turn that starts at the word joins the turn before it
- ``speaker.label``  ``{speaker, label}``; renames (or adds) a speaker
- ``mark.review``    ``{mark, status}``; status ``accepted``, ``rejected`` or ``unreviewed``
- ``line.note``      ``{word, text}``; a note on the line holding the word (empty text removes it)

Edits are applied in order, so for any one field the last write wins, and edits coming from two
tabs merge: every change is a read-modify-write of the file under a lock, written atomically.
Undo removes any edit (the last by default) and keeps it in ``undone`` so it can be redone.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from capture import atomic
from capture.outputs import CORRECTIONS_JSON, TRANSCRIPT_JSON
from capture.record import Pause, Speaker, Transcript, Utterance, Word, check_major_version, replace

logger = logging.getLogger("tonescribe.review")

CORRECTIONS_SCHEMA_VERSION = "1.0"
MARK_STATUSES = ("accepted", "rejected", "unreviewed")
OPS = ("word.text", "word.speaker", "turn.split", "turn.merge", "speaker.label", "mark.review", "line.note")
_ANCHOR_TOLERANCE_S = 1e-3


class CorrectionError(ValueError):
    """An edit that cannot be made, or a corrections file that cannot be read."""


@dataclass(frozen=True)
class Edit:
    id: str
    op: str
    args: dict
    anchors: dict = field(default_factory=dict)  # "word:12" / "mark:3" -> original start_s
    at: str = ""  # UTC time the edit was saved
    by: str = ""  # optional client (tab) id, for the audit trail


@dataclass(frozen=True)
class CorrectionLayer:
    transcript_sha256: str = ""
    edits: tuple[Edit, ...] = ()
    undone: tuple[Edit, ...] = ()
    revision: int = 0
    schema_version: str = CORRECTIONS_SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CorrectionLayer":
        version = check_major_version(data, CORRECTIONS_SCHEMA_VERSION, what="corrections",
                                      advice="upgrade tonescribe", error=CorrectionError)
        try:
            return cls(
                transcript_sha256=str(data.get("transcript_sha256", "")),
                edits=tuple(_edit_from(e) for e in data.get("edits", ())),
                undone=tuple(_edit_from(e) for e in data.get("undone", ())),
                revision=int(data.get("revision", 0)),
                schema_version=version,
            )
        except (TypeError, KeyError, AttributeError) as exc:
            raise CorrectionError(f"corrections file has a malformed edit ({exc}); fix or move it aside") from exc


def _edit_from(data: dict) -> Edit:
    return Edit(id=str(data["id"]), op=str(data["op"]), args=dict(data["args"]),
                anchors=dict(data.get("anchors", {})), at=str(data.get("at", "")), by=str(data.get("by", "")))


@dataclass(frozen=True)
class Note:
    word: int  # index (in the corrected transcript) of the first word of the line the note is on
    speaker: Optional[str]
    start_s: float
    text: str


@dataclass(frozen=True)
class Corrected:
    """A corrected transcript plus what a reviewer's screen needs to map back to the original."""

    transcript: Transcript
    word_origin: tuple[int, ...]  # corrected word index -> original word index
    mark_status: dict  # original mark index -> "accepted" | "rejected" (unreviewed ones absent)
    mark_origin: tuple[int, ...]  # corrected mark index -> original mark index
    notes: tuple[Note, ...]
    note_origin: dict  # original word index the note was attached to -> note text
    skipped: tuple[str, ...]  # ids of edits whose anchors did not match this transcript
    original: Optional[Transcript] = None


# ---------------------------------------------------------------- files


def corrections_path(folder: Path) -> Path:
    return Path(folder) / CORRECTIONS_JSON


def transcript_sha256(folder: Path) -> str:
    return hashlib.sha256((Path(folder) / TRANSCRIPT_JSON).read_bytes()).hexdigest()


def load_layer(folder: Path) -> CorrectionLayer:
    """The folder's corrections, or an empty layer when there are none yet."""
    path = corrections_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CorrectionLayer()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CorrectionError(f"{path} is not valid JSON ({exc}); fix it or move it aside to start over") from exc
    if not isinstance(data, dict):
        raise CorrectionError(f"{path} does not hold a corrections object; fix it or move it aside")
    return CorrectionLayer.from_dict(data)


def _save(folder: Path, layer: CorrectionLayer) -> None:
    text = json.dumps(layer.to_dict(), ensure_ascii=False, indent=1, allow_nan=False)
    atomic.write_text(corrections_path(folder), text + "\n")


def _locked(folder: Path):
    from filelock import FileLock

    return FileLock(str(Path(folder) / f".{CORRECTIONS_JSON}.lock"), timeout=30)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def add_edit(folder: Path, op: str, args: dict, *, by: str = "",
             transcript: Optional[Transcript] = None) -> tuple[CorrectionLayer, Edit]:
    """Validate an edit against the folder's transcript (pass it when already loaded), append it
    and save; returns the new layer and the edit.

    The file is re-read under a lock, so edits from several tabs or processes all land."""
    folder = Path(folder)
    if transcript is None:
        transcript = Transcript.load(folder / TRANSCRIPT_JSON)
    edit = make_edit(transcript, op, args, by=by)
    with _locked(folder):
        layer = load_layer(folder)
        layer = replace(layer, edits=layer.edits + (edit,), revision=layer.revision + 1,
                        transcript_sha256=layer.transcript_sha256 or transcript_sha256(folder))
        _save(folder, layer)
    logger.info("correction %s %s saved in %s", edit.op, edit.id, folder)
    return layer, edit


def undo(folder: Path, edit_id: Optional[str] = None) -> tuple[CorrectionLayer, Optional[Edit]]:
    """Remove an edit (the most recent one when ``edit_id`` is None); it is kept for ``redo``."""
    folder = Path(folder)
    with _locked(folder):
        layer = load_layer(folder)
        if not layer.edits:
            return layer, None
        if edit_id is None:
            gone = layer.edits[-1]
        else:
            matches = [e for e in layer.edits if e.id == edit_id]
            if not matches:
                raise CorrectionError(f"no edit with id {edit_id!r} (it may have been undone already)")
            gone = matches[0]
        layer = replace(layer, edits=tuple(e for e in layer.edits if e.id != gone.id),
                        undone=layer.undone + (gone,), revision=layer.revision + 1)
        _save(folder, layer)
    return layer, gone


def redo(folder: Path) -> tuple[CorrectionLayer, Optional[Edit]]:
    """Put back the most recently undone edit, as the newest edit."""
    folder = Path(folder)
    with _locked(folder):
        layer = load_layer(folder)
        if not layer.undone:
            return layer, None
        back = layer.undone[-1]
        layer = replace(layer, edits=layer.edits + (back,), undone=layer.undone[:-1], revision=layer.revision + 1)
        _save(folder, layer)
    return layer, back


# ---------------------------------------------------------------- validation


def _index(args: dict, key: str, size: int, what: str) -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CorrectionError(f"{key!r} must be a {what} index (an integer), got {value!r}")
    if not 0 <= value < size:
        raise CorrectionError(f"{key!r}={value} is outside the transcript's {size} {what}s")
    return value


def _text(args: dict, key: str, *, allow_empty: bool) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise CorrectionError(f"{key!r} must be a string, got {value!r}")
    value = " ".join(value.split())
    if not value and not allow_empty:
        raise CorrectionError(f"{key!r} must not be empty")
    if len(value) > 10_000:
        raise CorrectionError(f"{key!r} is too long ({len(value)} characters; at most 10000)")
    return value


def make_edit(transcript: Transcript, op: str, args: dict, *, by: str = "") -> Edit:
    """Check ``args`` for ``op`` against ``transcript`` and return a normalised, anchored edit."""
    if op not in OPS:
        raise CorrectionError(f"unknown correction {op!r}; one of: {', '.join(OPS)}")
    if not isinstance(args, dict):
        raise CorrectionError("correction arguments must be an object")
    n_words, words = len(transcript.words), transcript.words
    clean: dict[str, Any]
    anchors: dict[str, float] = {}
    if op in ("word.text", "turn.split", "turn.merge", "line.note"):
        i = _index(args, "word", n_words, "word")
        if op in ("turn.split", "turn.merge") and i == 0:
            raise CorrectionError("the first word always starts a turn: split or merge at a later word")
        clean = {"word": i}
        if op == "word.text":
            clean["text"] = _text(args, "text", allow_empty=True)
        elif op == "line.note":
            clean["text"] = _text(args, "text", allow_empty=True)
        anchors[f"word:{i}"] = words[i].start_s
    elif op == "word.speaker":
        a = _index(args, "first_word", n_words, "word")
        b = _index(args, "last_word", n_words, "word")
        if b < a:
            raise CorrectionError(f"last_word {b} comes before first_word {a}")
        clean = {"first_word": a, "last_word": b, "speaker": _speaker_id(args)}
        anchors[f"word:{a}"] = words[a].start_s
        anchors[f"word:{b}"] = words[b].start_s
    elif op == "speaker.label":
        clean = {"speaker": _speaker_id(args), "label": _text(args, "label", allow_empty=False)}
    else:  # mark.review
        k = _index(args, "mark", len(transcript.marks), "mark")
        status = args.get("status")
        if status not in MARK_STATUSES:
            raise CorrectionError(f"status must be one of {', '.join(MARK_STATUSES)}, got {status!r}")
        clean = {"mark": k, "status": status}
        anchors[f"mark:{k}"] = transcript.marks[k].start_s
    return Edit(id=uuid.uuid4().hex[:12], op=op, args=clean, anchors=anchors, at=_now(), by=str(by)[:64])


def _speaker_id(args: dict) -> str:
    value = args.get("speaker")
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise CorrectionError(f"'speaker' must be a speaker id such as 'S2', got {value!r}")
    return value.strip()


def _anchored(transcript: Transcript, edit: Edit) -> bool:
    for key, start_s in edit.anchors.items():
        kind, _, raw = key.partition(":")
        items = transcript.words if kind == "word" else transcript.marks if kind == "mark" else None
        try:
            item = items[int(raw)]  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            return False
        if not isinstance(start_s, (int, float)) or abs(item.start_s - start_s) > _ANCHOR_TOLERANCE_S:
            return False
    return edit.op in OPS


# ---------------------------------------------------------------- applying


def apply_corrections(transcript: Transcript, layer: CorrectionLayer) -> Transcript:
    """The transcript as the reviewer corrected it (``transcript`` itself when nothing applies)."""
    return correct(transcript, layer).transcript


def load_corrected(folder: Path) -> Transcript:
    """``folder/transcript.json`` with ``folder/corrections.json`` (if any) applied."""
    folder = Path(folder)
    return apply_corrections(Transcript.load(folder / TRANSCRIPT_JSON), load_layer(folder))


def with_kept_corrections(transcript: Transcript, folder: Path) -> Transcript:
    """``transcript`` (processed again) with the corrections kept in ``folder`` that still apply;
    itself when there are none. A corrections file that cannot be read is left as it is, with a
    warning, and ``transcript`` is returned: the recording's new output must not fail on it."""
    if not corrections_path(folder).is_file():
        return transcript
    try:
        return apply_corrections(transcript, load_layer(folder))
    except CorrectionError as exc:
        logger.warning("%s; the files rendered from the transcript show it without the review's corrections", exc)
        return transcript


def load_notes(folder: Path) -> tuple[Note, ...]:
    """The reviewer's notes, attached to lines of ``load_corrected(folder)``."""
    folder = Path(folder)
    return correct(Transcript.load(folder / TRANSCRIPT_JSON), load_layer(folder)).notes


def correct(transcript: Transcript, layer: CorrectionLayer) -> Corrected:
    words = transcript.words
    n = len(words)
    text = [w.text for w in words]
    spk = [w.speaker for w in words]
    starts = {u.first_word for u in transcript.utterances} | ({0} if n else set())
    labels = {s.id: s.label for s in transcript.speakers}
    mark_status: dict[int, str] = {}
    notes: dict[int, str] = {}
    skipped: list[str] = []
    for edit in layer.edits:
        if not _anchored(transcript, edit):
            skipped.append(edit.id)
            continue
        a = edit.args
        if edit.op == "word.text":
            text[a["word"]] = a["text"]
        elif edit.op == "word.speaker":
            for k in range(a["first_word"], a["last_word"] + 1):
                spk[k] = a["speaker"]
            labels.setdefault(a["speaker"], a["speaker"])
        elif edit.op == "turn.split":
            starts.add(a["word"])
        elif edit.op == "turn.merge":
            i = a["word"]
            starts.discard(i)
            later = [s for s in starts if s > i]
            for k in range(i, min(later) if later else n):
                spk[k] = spk[i - 1]
        elif edit.op == "speaker.label":
            labels[a["speaker"]] = a["label"]
        elif edit.op == "mark.review":
            if a["status"] == "unreviewed":
                mark_status.pop(a["mark"], None)
            else:
                mark_status[a["mark"]] = a["status"]
        elif edit.op == "line.note":
            if a["text"]:
                notes[a["word"]] = a["text"]
            else:
                notes.pop(a["word"], None)
    if skipped:
        logger.warning("%d correction(s) do not match this transcript (processed again?) and were skipped: %s",
                       len(skipped), ", ".join(skipped))
    if not layer.edits or len(skipped) == len(layer.edits):
        return Corrected(transcript, tuple(range(n)), {}, tuple(range(len(transcript.marks))), (), {},
                         tuple(skipped), transcript)

    # Words (deleted ones dropped) and the map between old and new indices.
    new_words: list[Word] = []
    origin: list[int] = []
    new_index: dict[int, int] = {}
    for i, w in enumerate(words):
        if not text[i]:
            continue
        new_index[i] = len(new_words)
        origin.append(i)
        if (text[i], spk[i]) == (w.text, w.speaker):
            new_words.append(w)
        else:  # a corrected word keeps its (aligned) times, but the aligner's phones were another word's
            new_words.append(replace(w, text=text[i], speaker=spk[i], phones=w.phones if text[i] == w.text else ()))

    utterances = _utterances(transcript, new_words, origin, starts, spk)
    speaker_changed = any(spk[i] != words[i].speaker for i in range(n))
    speakers = [replace(s, label=labels[s.id]) if labels[s.id] != s.label else s for s in transcript.speakers]
    known = {s.id for s in speakers}
    speakers += [Speaker(id=sid, label=labels[sid]) for sid in labels if sid not in known]

    changes: dict[str, Any] = {"words": tuple(new_words), "utterances": tuple(utterances),
                               "speakers": tuple(speakers)}
    marks, mark_origin = _marks(transcript, mark_status, new_index, new_words)
    changes["marks"] = tuple(marks)
    if speaker_changed:
        changes.update(_speaker_structure(transcript, new_words))
    corrected = replace(transcript, **changes)
    return Corrected(
        transcript=corrected,
        word_origin=tuple(origin),
        mark_status=mark_status,
        mark_origin=tuple(mark_origin),
        notes=tuple(_notes(notes, new_index, n, utterances)),
        note_origin=dict(notes),
        skipped=tuple(skipped),
        original=transcript,
    )


def _utterances(transcript: Transcript, new_words: list[Word], origin: list[int], starts: set[int],
                spk: list[Optional[str]]) -> list[Utterance]:
    from transcribe.align import join_words

    original = {(u.first_word, u.last_word): u for u in transcript.utterances}
    groups: list[list[int]] = []  # lists of corrected word indices
    for j, i in enumerate(origin):
        new_group = not groups or i in starts or spk[i] != spk[origin[j - 1]]
        if not new_group:
            # a start whose own word was deleted still separates the turns on either side
            new_group = any(s in starts for s in range(origin[j - 1] + 1, i))
        if new_group:
            groups.append([])
        groups[-1].append(j)
    out: list[Utterance] = []
    for g in groups:
        first, last = g[0], g[-1]
        ws = [new_words[j] for j in g]
        same = original.get((origin[first], origin[last]))
        if same is not None and last - first == origin[last] - origin[first] and all(
            new_words[j] is transcript.words[origin[j]] for j in g
        ):
            out.append(replace(same, first_word=first, last_word=last))
            continue
        out.append(Utterance(speaker=ws[0].speaker, start_s=ws[0].start_s, end_s=max(w.end_s for w in ws),
                             text=join_words(w.text for w in ws), first_word=first, last_word=last))
    return out


def _marks(transcript: Transcript, status: dict, new_index: dict[int, int], new_words: list[Word]):
    marks, origin = [], []
    for k, m in enumerate(transcript.marks):
        if status.get(k) == "rejected":
            continue
        first, last = m.first_word, m.last_word
        if first is not None and last is not None:
            kept = [new_index[i] for i in range(first, last + 1) if i in new_index]
            if not kept:
                continue  # every word it was about is deleted
            first, last = kept[0], kept[-1]
            speaker = new_words[first].speaker if m.speaker is not None else None
            m = replace(m, first_word=first, last_word=last, speaker=speaker)
        if status.get(k) == "accepted":
            m = replace(m, evidence={**m.evidence, "review": "accepted"})
        marks.append(m)
        origin.append(k)
    return marks, origin


def _speaker_structure(transcript: Transcript, new_words: list[Word]) -> dict:
    """Turns, overlaps and pause neighbours follow the reviewer's speaker assignments."""
    from transcribe.align import overlaps_of
    from transcribe.diarize import turns_from_words

    merge_s = transcript.pipeline.options.get("speakers", {}).get("turn_merge_gap_s", 0.5)
    turns = turns_from_words(new_words, merge_gap_s=float(merge_s))
    timed = sorted(new_words, key=lambda w: w.start_s)
    ends = [w.end_s for w in sorted(new_words, key=lambda w: w.end_s)]
    by_end = sorted(new_words, key=lambda w: w.end_s)
    starts_s = [w.start_s for w in timed]

    def neighbours(p: Pause) -> Pause:
        before = bisect.bisect_right(ends, p.start_s + _ANCHOR_TOLERANCE_S) - 1
        after = bisect.bisect_left(starts_s, p.end_s - _ANCHOR_TOLERANCE_S)
        return replace(p, speaker_before=by_end[before].speaker if before >= 0 else p.speaker_before,
                       speaker_after=timed[after].speaker if after < len(timed) else p.speaker_after)

    return {"turns": tuple(turns), "overlaps": tuple(overlaps_of(turns)),
            "pauses": tuple(neighbours(p) for p in transcript.pauses)}


def _notes(notes: dict[int, str], new_index: dict[int, int], n: int, utterances: list[Utterance]) -> list[Note]:
    firsts = [u.first_word for u in utterances]
    out = []
    for i, note in sorted(notes.items()):
        j = next((new_index[k] for k in range(i, n) if k in new_index), None)
        if j is None or not utterances:
            continue
        u = utterances[max(0, bisect.bisect_right(firsts, j) - 1)]
        out.append(Note(word=u.first_word, speaker=u.speaker, start_s=u.start_s, text=note))
    return out
