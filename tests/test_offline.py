"""Processing opens no network connection: an audit hook in the child process records every
socket connect/resolve attempt, and the run fails if there is any."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "capture" / "samples" / "dialogue.flac"

GUARD = textwrap.dedent(
    """
    import sys
    attempts = []
    def guard(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
            attempts.append((event, repr(args)[:200]))
            raise OSError(f"network access attempted: {event} {args!r}")
    sys.addaudithook(guard)
    import atexit
    atexit.register(lambda: attempts and (print("NETWORK", attempts, file=sys.stderr), sys.stderr.flush()))
    """
)


def run_guarded(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", GUARD + textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd),
                                                       "PYTHONPATH": str(REPO)})


def test_the_guard_catches_a_connection(tmp_path):
    result = run_guarded("import socket; socket.create_connection(('127.0.0.1', 9))", tmp_path)
    assert "NETWORK" in result.stderr and result.returncode != 0


@pytest.mark.slow
def test_processing_makes_no_network_access(tmp_path):
    code = f"""
    import sys
    from capture.cli import main
    code = main(["process", {str(SAMPLE)!r}, "--out", "out", "-q"])
    sys.exit(code if not attempts else 3)
    """
    result = run_guarded(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "NETWORK" not in result.stderr
    assert (tmp_path / "out" / "dialogue" / "transcript.json").is_file()
