"""Finding complete recordings in a folder tree.

Filesystem events (``watchdog``) tell which paths to look at; with ``poll=True`` (network and
synced drives, where events are unreliable) the whole tree is scanned every ``interval_s``. In
both modes the tree is also rescanned every ``rescan_s`` as a safety net (events can be dropped
under load, and symbolic links to folders are not watched by inotify).

A file is reported once it is *complete*: its size and modification time have not changed for
``settle_s`` and it can be opened for reading. It is reported again only if its size or
modification time changes later. Only audio/video extensions count; hidden files and folders
(names starting with ``.``, as used by partial downloads and sync tools) are skipped; symbolic
links to files and folders are followed (each folder once).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from capture.decode import AUDIO_EXTENSIONS

logger = logging.getLogger("tonescribe.watcher")


@dataclass(frozen=True)
class WatchOptions:
    poll: bool = False
    interval_s: float = 2.0
    settle_s: float = 2.0
    rescan_s: float = 60.0
    extensions: frozenset = AUDIO_EXTENSIONS

    def __post_init__(self):
        if self.interval_s <= 0 or self.settle_s < 0 or self.rescan_s <= 0:
            raise ValueError("interval_s and rescan_s must be > 0 and settle_s >= 0 (e.g. --interval 2 --settle 2)")


@dataclass(frozen=True)
class Arrival:
    """A complete file: its path as found under the inbox, size, mtime, and why it cannot be
    read (``None`` when it can)."""

    path: Path
    size_bytes: int
    mtime_ns: int
    unreadable: Optional[str] = None


class FolderWatcher:
    def __init__(self, inbox: str | Path, options: WatchOptions = WatchOptions(), *,
                 exclude: Iterable[str | Path] = ()):
        self.inbox = Path(inbox)
        self.options = options
        self.exclude = {os.path.realpath(p) for p in exclude}
        self._lock = threading.Lock()
        self._dirty_files: set[str] = set()
        self._dirty_dirs: set[str] = set()
        self._tracking: dict[str, tuple[tuple[int, int], float]] = {}  # path -> (signature, stable since)
        self._reported: dict[str, tuple[int, int]] = {}
        self._last_scan = -float("inf")
        self._observer = None
        self.scans = 0

    # -- events --------------------------------------------------------------------------------
    def start(self) -> None:
        if self.options.poll:
            logger.info("polling %s every %.1f s", self.inbox, self.options.interval_s)
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event):
                    if event.event_type in ("opened", "closed_no_write"):
                        return
                    watcher._note(event.src_path, event.is_directory)
                    if getattr(event, "dest_path", ""):
                        watcher._note(event.dest_path, event.is_directory)

            self._observer = Observer()
            self._observer.schedule(_Handler(), str(self.inbox), recursive=True)
            self._observer.start()
            logger.info("watching %s for filesystem events", self.inbox)
        except (OSError, ImportError) as exc:  # e.g. the inotify watch limit
            logger.warning("filesystem events unavailable (%s); polling every %.1f s instead",
                           exc, self.options.interval_s)
            self._observer = None

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    @property
    def polling(self) -> bool:
        return self._observer is None

    def _note(self, path: str | bytes, is_dir: bool) -> None:
        path = os.fsdecode(path)
        with self._lock:
            (self._dirty_dirs if is_dir else self._dirty_files).add(path)

    # -- scanning ------------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while some file is being watched until it settles."""
        with self._lock:
            return bool(self._tracking or self._dirty_files or self._dirty_dirs)

    def poll(self, now: Optional[float] = None) -> list[Arrival]:
        """Look at what changed since the last call; return the files that became complete."""
        now = time.monotonic() if now is None else now
        every = self.options.interval_s if self.polling else self.options.rescan_s
        with self._lock:
            files, dirs = self._dirty_files, self._dirty_dirs
            self._dirty_files, self._dirty_dirs = set(), set()
        look: set[str] = set(files)
        if now - self._last_scan >= every:
            self._last_scan = now
            self.scans += 1
            look.update(self._walk(str(self.inbox)))
            look.update(self._reported)  # notice deletions
        for folder in dirs:
            look.update(self._walk(folder))
        look.update(self._tracking)
        arrivals = []
        for path in sorted(look):
            arrival = self._check(path, now)
            if arrival is not None:
                arrivals.append(arrival)
        return arrivals

    def forget(self, path: str | Path) -> None:
        """Report ``path`` again once it is (still) complete, e.g. after it could not be queued."""
        with self._lock:
            self._reported.pop(str(path), None)
            self._dirty_files.add(str(path))

    def _wanted(self, path: str) -> bool:
        name = os.path.basename(path)
        return (not name.startswith(".") and os.path.splitext(name)[1].lower() in self.options.extensions
                and not self._excluded(path))

    def _excluded(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == ex or real.startswith(ex + os.sep) for ex in self.exclude)

    def _walk(self, top: str) -> list[str]:
        found: list[str] = []
        seen_dirs: set[tuple[int, int]] = set()
        if not os.path.isdir(top):
            return [top] if self._wanted(top) else []
        for root, dirnames, filenames in os.walk(top, followlinks=True):
            try:
                st = os.stat(root)
            except OSError:
                dirnames[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen_dirs or self._excluded(root):
                dirnames[:] = []
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(os.path.join(root, f) for f in filenames if self._wanted(os.path.join(root, f)))
        return found

    def _check(self, path: str, now: float) -> Optional[Arrival]:
        if not self._wanted(path):
            return None
        try:
            st = os.stat(path)
        except OSError:  # gone, or a dangling link: forget it
            self._tracking.pop(path, None)
            self._reported.pop(path, None)
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        signature = (st.st_size, st.st_mtime_ns)
        if self._reported.get(path) == signature:
            self._tracking.pop(path, None)
            return None
        tracked = self._tracking.get(path)
        if tracked is None or tracked[0] != signature:
            self._tracking[path] = (signature, now)
            if self.options.settle_s > 0:
                return None
            tracked = self._tracking[path]
        if now - tracked[1] < self.options.settle_s:
            return None
        unreadable = read_problem(path)
        del self._tracking[path]
        self._reported[path] = signature
        return Arrival(Path(path), st.st_size, st.st_mtime_ns, unreadable)


def read_problem(path: str | Path) -> Optional[str]:
    """Why ``path`` cannot be opened for reading, or None when it can."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    return None
