"""The audio a transcript page plays: the original recording, checked to be the one the
transcript was made from, or, for formats browsers cannot play (AIFF, WMA, MKA, 3GP, MOV), a
FLAC copy decoded from it once and kept beside the transcript as ``.listen-<hash>.flac``.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from pathlib import Path

from capture.record import AudioInfo

logger = logging.getLogger("tonescribe.review")

# What Chromium, Firefox and Safari play from an <audio> element (MIME type per extension).
PLAYABLE = {".wav": "audio/wav", ".wave": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg",
            ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg",
            ".oga": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm"}


class NotTheRecording(LookupError):
    """The recording is gone, or the file at its path now holds something else."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Listen:
    """Finds the file to play for a transcript. Hashes are cached per file state, so a long
    recording is hashed once, not on every range request."""

    def __init__(self):
        self._hashes: dict[tuple, str] = {}
        self._lock = threading.Lock()
        self._converting: dict[Path, threading.Lock] = {}

    def sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            if key in self._hashes:
                return self._hashes[key]
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        with self._lock:
            self._hashes[key] = digest.hexdigest()
        return self._hashes[key]

    def file_for(self, folder: Path, audio: AudioInfo) -> tuple[Path, str]:
        """(file to serve, MIME type); raises ``NotTheRecording``."""
        path = Path(audio.path)
        if not path.is_absolute():
            path = folder / path
        if not path.is_file():
            raise NotTheRecording(f"the recording is not at {path} any more; put it back to listen", 404)
        if self.sha256(path) != audio.sha256:
            raise NotTheRecording(f"{path} is not the recording this transcript was made from (its content changed)",
                                  409)
        mime = PLAYABLE.get(path.suffix.lower())
        if mime is not None:
            return path, mime
        return self._playable_copy(folder, path, audio.sha256), "audio/flac"

    def _playable_copy(self, folder: Path, path: Path, sha256: str) -> Path:
        copy = folder / f".listen-{sha256[:16]}.flac"
        with self._lock:
            lock = self._converting.setdefault(copy, threading.Lock())
        with lock:
            if not copy.is_file():
                _convert(path, copy)
        return copy


def _convert(source: Path, dest: Path) -> None:
    """A FLAC copy of any decodable recording, written block by block (a two-hour interview is
    never held in memory) to a temporary name, then renamed."""
    import soundfile as sf

    from capture.decode import open_native

    logger.info("making a playable copy of %s for the browser", source)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with open(fd, "wb") as fh, open_native(source) as reader:
            with sf.SoundFile(fh, "w", samplerate=reader.rate, channels=reader.channels, format="FLAC",
                              subtype="PCM_16") as out:
                for block in reader.blocks():
                    out.write(block)
        Path(tmp).replace(dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
