"""What is in an output folder: the recordings, their state in the watcher's job store, and a
search over every (corrected) transcript.

Recordings are named by their folder's path relative to OUTDIR (``interview-3`` or
``2024/interview-3``); ``folder_of`` turns such a name back into a folder and refuses any name
that would leave OUTDIR.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from capture.outputs import TRANSCRIPT_JSON
from capture.quality import warnings_of
from capture.record import Transcript
from review.corrections import CORRECTIONS_JSON, Corrected, correct, load_layer

logger = logging.getLogger("tonescribe.review")


class NotInOutdir(LookupError):
    """A recording name that does not name a transcript folder inside OUTDIR."""


def folder_of(outdir: Path, rid: str) -> Path:
    """The folder of recording ``rid``; raises ``NotInOutdir`` for ``..``, absolute or hidden parts."""
    parts = PurePosixPath(rid).parts
    if not parts or rid.startswith("/") or "\\" in rid or any(p in ("..", ".") or p.startswith(".") for p in parts):
        raise NotInOutdir(f"not a recording name: {rid!r}")
    root = outdir.resolve()
    folder = (root / Path(*parts)).resolve()
    if not folder.is_relative_to(root) or not (folder / TRANSCRIPT_JSON).is_file():
        raise NotInOutdir(f"no transcript named {rid!r} in {outdir}")
    return folder


def transcript_folders(outdir: Path) -> list[Path]:
    """Every folder under ``outdir`` holding a transcript.json (hidden and staging folders skipped)."""
    root = outdir.resolve()
    found = []
    for path in sorted(root.rglob(TRANSCRIPT_JSON)):
        rel = path.parent.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        found.append(path.parent)
    return found


class TranscriptCache:
    """Parsed transcripts and their corrected forms. The transcript is parsed again only when
    transcript.json changes (an hour-long one takes about a second), the corrections applied again
    only when either file changes."""

    def __init__(self, size: int = 16):
        self._size = size
        self._originals: dict[Path, tuple[tuple, Transcript]] = {}
        self._corrected: dict[Path, tuple[tuple, Corrected]] = {}
        self._derived: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _get(self, table: dict, folder: Path, key: tuple, make):
        with self._lock:
            hit = table.get(folder)
            if hit is not None and hit[0] == key:
                return hit[1]
        value = make()
        with self._lock:
            table[folder] = (key, value)
            while len(table) > self._size:
                table.pop(next(iter(table)))
        return value

    def original(self, folder: Path) -> Transcript:
        return self._get(self._originals, folder, file_stamp(folder / TRANSCRIPT_JSON),
                         lambda: Transcript.load(folder / TRANSCRIPT_JSON))

    def derived(self, name: str, folder: Path, key: tuple, make):
        """Anything else computed from a folder's files (the page's data), remembered under ``key``."""
        with self._lock:
            table = self._derived.setdefault(name, {})
        return self._get(table, folder, key, make)

    def corrected(self, folder: Path) -> Corrected:
        key = tuple(file_stamp(folder / name) for name in (TRANSCRIPT_JSON, CORRECTIONS_JSON))
        return self._get(self._corrected, folder, key,
                         lambda: correct(self.original(folder), load_layer(folder)))


def file_stamp(path: Path) -> tuple:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (None,)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class Entry:
    id: Optional[str]  # None for a job that has no transcript yet
    name: str
    duration_s: Optional[float]
    speakers: tuple[str, ...]
    words: int
    marks: int
    corrections: int
    state: str  # the job store's state, "done" for a transcript without a job, "unreadable" on error
    error: Optional[str] = None
    stage: Optional[str] = None
    quality: tuple[str, ...] = ()  # the recording's quality warnings (capture/quality.py)


def jobs_by_key(outdir: Path) -> dict[str, object]:
    """The watcher's jobs keyed by output name and by audio hash; empty when there is no store."""
    try:
        from capture.jobstore import JobStore, store_dir
    except ImportError:
        return {}
    if not (store_dir(outdir) / "jobs.db").is_file():
        return {}
    try:
        store = JobStore(outdir, create=False)
        try:
            jobs = store.jobs()
        finally:
            store.close()
    except Exception as exc:  # a store being written or from another version must not break the library
        logger.warning("could not read the job store in %s: %s", outdir, exc)
        return {}
    keyed: dict[str, object] = {}
    for job in jobs:
        keyed[f"name:{job.name}"] = job
        keyed[f"sha:{job.sha256}"] = job
    return keyed


def library(outdir: Path, cache: TranscriptCache) -> list[Entry]:
    root = outdir.resolve()
    jobs = jobs_by_key(outdir)
    used: set[int] = set()
    entries = []
    for folder in transcript_folders(outdir):
        rid = folder.relative_to(root).as_posix()
        try:
            summary = cache.derived("summary", folder, (file_stamp(folder / TRANSCRIPT_JSON),
                                                        file_stamp(folder / CORRECTIONS_JSON)),
                                    lambda: _summary(folder, cache))
        except Exception as exc:  # one broken folder must not hide the others
            entries.append(Entry(rid, rid, None, (), 0, 0, 0, "unreadable", error=str(exc)))
            continue
        job = jobs.get(f"name:{folder.name}") or jobs.get(f"sha:{summary['sha256']}")
        if job is not None:
            used.add(id(job))
        entries.append(Entry(
            id=rid, name=rid, duration_s=summary["duration_s"], speakers=summary["speakers"],
            words=summary["words"], marks=summary["marks"], corrections=summary["corrections"],
            state=getattr(job, "state", "done"), error=getattr(job, "error", None), stage=getattr(job, "stage", None),
            quality=summary["quality"],
        ))
    seen = set()
    for job in jobs.values():
        if id(job) in used or id(job) in seen:
            continue
        seen.add(id(job))
        entries.append(Entry(None, job.name, job.duration_s, (), 0, 0, 0, job.state, error=job.error,
                             stage=job.current_stage or job.stage))
    return entries


def _summary(folder: Path, cache: TranscriptCache) -> dict:
    """What the library shows of a recording. Without corrections the JSON is only read, not
    built into a Transcript (five times faster for an hour-long one: a large library opens
    quickly); with corrections they are applied, so the counts and names are the corrected ones."""
    if (folder / CORRECTIONS_JSON).is_file():
        t = cache.corrected(folder).transcript
        return {"sha256": t.audio.sha256, "duration_s": t.audio.duration_s,
                "speakers": tuple(s.label for s in t.speakers), "words": len(t.words), "marks": len(t.marks),
                "corrections": len(load_layer(folder).edits),
                "quality": tuple(w.message for w in warnings_of(t))}
    data = json.loads((folder / TRANSCRIPT_JSON).read_text(encoding="utf-8"))
    Transcript.from_dict({"schema_version": data.get("schema_version"), "audio": data["audio"],
                          "pipeline": data["pipeline"]})  # the same version and shape checks as a full load
    return {"sha256": data["audio"]["sha256"], "duration_s": data["audio"]["duration_s"],
            "speakers": tuple(s["label"] for s in data.get("speakers", ())), "words": len(data.get("words", ())),
            "marks": len(data.get("marks", ())), "corrections": 0,
            "quality": tuple(w["message"] for w in (data.get("quality") or {}).get("warnings", ()))}


@dataclass(frozen=True)
class Hit:
    id: str
    start_s: float
    speaker: str
    before: str
    match: str
    after: str
    word: int


def search(outdir: Path, cache: TranscriptCache, query: str, *, limit: int = 200) -> list[Hit]:
    """Case-insensitive phrase search over the corrected text of every transcript."""
    needle = " ".join(query.lower().split())
    if not needle:
        return []
    root = outdir.resolve()
    hits: list[Hit] = []
    for folder in transcript_folders(outdir):
        try:
            t = cache.corrected(folder).transcript
        except Exception:
            continue
        labels = {s.id: s.label for s in t.speakers}
        for u in t.utterances:
            texts = [t.words[i].text for i in range(u.first_word, u.last_word + 1)]
            lowered = " ".join(texts).lower()
            offsets, pos = [], 0
            for text in texts:
                offsets.append(pos)
                pos += len(text) + 1
            start = lowered.find(needle)
            while start >= 0:
                k = max(i for i, off in enumerate(offsets) if off <= start)
                line = " ".join(texts)
                hits.append(Hit(
                    id=folder.relative_to(root).as_posix(), start_s=t.words[u.first_word + k].start_s,
                    speaker=labels.get(u.speaker, u.speaker or "?"), before=line[max(0, start - 60):start],
                    match=line[start:start + len(needle)], after=line[start + len(needle):start + len(needle) + 60],
                    word=u.first_word + k,
                ))
                if len(hits) >= limit:
                    return hits
                start = lowered.find(needle, start + 1)
    return hits
