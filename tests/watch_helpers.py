"""Helpers for the watched-folder tests: test audio, a real `tonescribe watch` process, and
readers for its job store and output folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

FAST_FLAGS = ("--settle", "0.6", "--interval", "0.2", "--rescan", "3", "--backoff", "0.3", "--backoff-max", "1.5",
              "--beam-size", "1", "--language", "en")
LEFTOVER_MARKERS = (".partial-", ".old-", ".tmp")


def speech(text: str, path: Path) -> Path:
    """A short espeak-ng sentence (22.05 kHz wav)."""
    if shutil.which("espeak-ng") is None:
        import pytest

        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path


def tone_file(path: Path, f0_hz: float, *, duration_s: float = 1.2, sr: int = 16000) -> Path:
    t = np.arange(int(duration_s * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * f0_hz * t)).astype(np.float32), sr, subtype="PCM_16")
    return path


def speech_then_noise(clip: Path, path: Path, *, noise_s: float, seed: int) -> Path:
    """A sentence followed by quiet noise: recognition skips the noise (VAD) but prosody measures
    all of it, so both stages take long enough (seconds) to be caught in the act."""
    x, sr = sf.read(clip, dtype="float32")
    rng = np.random.default_rng(seed)
    noise = (0.003 * rng.standard_normal(int(noise_s * sr))).astype(np.float32)
    sf.write(path, np.concatenate([x, x, noise]), sr, subtype="PCM_16")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links followed) -> its SHA-256; unreadable ones -> their mode."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            try:
                out[str(path.relative_to(folder))] = sha256(path)
            except PermissionError:
                out[str(path.relative_to(folder))] = f"unreadable mode {path.stat().st_mode:o}"
    return out


def unprivileged_prefix() -> Optional[list[str]]:
    """A command prefix under which file permissions apply to the watcher. Tests run as root in
    CI, and root ignores chmod; dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH from the bounding
    set (setpriv) makes the process obey permissions like any user. None when not possible."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = subprocess.run(prefix + ["true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


class WatchProcess:
    """`python -m capture.cli watch INBOX --out OUT ...` as a real child process."""

    def __init__(self, inbox: Path, out: Path, *extra: str, prefix: tuple[str, ...] = (), log: Path):
        self.inbox, self.out, self.log = inbox, out, log
        self.cmd = [*prefix, sys.executable, "-m", "capture.cli", "watch", str(inbox), "--out", str(out),
                    *FAST_FLAGS, *extra]
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "WatchProcess":
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        with open(self.log, "ab") as fh:
            fh.write(f"\n=== start {' '.join(self.cmd)}\n".encode())
            self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout_s: float = 120) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(predicate: Callable[[], object], *, timeout_s: float, what: str,
               proc: Optional[WatchProcess] = None, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and not proc.alive():
            raise AssertionError(f"watcher exited ({proc.proc.returncode}) while waiting for {what}:\n"
                                 f"{proc.output()[-4000:]}")
        time.sleep(every_s)
    tail = proc.output()[-4000:] if proc is not None else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")


def read_jobs(out: Path) -> list[dict]:
    db = out / ".tonescribe" / "jobs.db"
    if not db.is_file():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM jobs ORDER BY added_at")]
    except sqlite3.OperationalError:  # schema not created yet
        return []
    finally:
        con.close()


def stage_runs(out: Path) -> dict[str, dict[str, int]]:
    """sha256 -> {stage: times started}."""
    con = sqlite3.connect(f"file:{out / '.tonescribe' / 'jobs.db'}?mode=ro", uri=True, timeout=30)
    try:
        runs: dict[str, dict[str, int]] = {}
        for sha, stage, n in con.execute("SELECT sha256, stage, COUNT(*) FROM stage_log GROUP BY sha256, stage"):
            runs.setdefault(sha, {})[stage] = n
        return runs
    finally:
        con.close()


def states(out: Path) -> dict[str, str]:
    return {j["name"]: j["state"] for j in read_jobs(out)}


def all_finished(out: Path, n: int) -> bool:
    jobs = read_jobs(out)
    return len(jobs) == n and all(j["state"] in ("done", "failed") for j in jobs)


def status_json(out: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "capture.cli", "status", str(out), "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def status_text(out: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "capture.cli", "status", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def leftovers(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if any(m in p.name for m in LEFTOVER_MARKERS)]


def assert_store_matches_outputs(out: Path) -> list[dict]:
    """Every done job has exactly its transcript; every failed one its one-line error note; no
    output folder or note exists without a job; nothing half-written is visible."""
    jobs = read_jobs(out)
    by_name = {j["name"]: j for j in jobs}
    assert len(by_name) == len(jobs), "two jobs share an output name"
    for job in jobs:
        folder, note = out / job["name"], out / f"{job['name']}.error.txt"
        if job["state"] == "done":
            data = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
            assert data["audio"]["sha256"] == job["sha256"], job["name"]
            assert not note.exists(), f"{note} left next to a finished transcript"
        elif job["state"] == "failed":
            text = note.read_text(encoding="utf-8")
            assert text.count("\n") == 1 and job["error"] and job["error"] in text, (job, text)
            assert not folder.exists()
        else:
            raise AssertionError(f"{job['name']} is still {job['state']}")
    for entry in out.iterdir():
        if entry.name.startswith("."):
            continue
        name = entry.name[: -len(".error.txt")] if entry.name.endswith(".error.txt") else entry.name
        assert name in by_name, f"{entry} has no job in the store"
    assert leftovers(out) == [], leftovers(out)
    return jobs
