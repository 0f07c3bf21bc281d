"""Shared test helpers: the evaluation corpus (skipped when absent) and synthetic audio."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"evaluation corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def tonescribe_warnings():
    """The messages the tonescribe loggers give from WARNING up, while the test runs. The CLI's
    logging setup, which some tests run in this process, stops their propagation to pytest's caplog
    and may have set their level higher (``--quiet``)."""
    messages: list[str] = []

    class Records(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logger = logging.getLogger("tonescribe")
    handler, level = Records(logging.WARNING), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def tone(f0_hz: float, *, duration_s: float, sr: int = 16000, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(duration_s * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * f0_hz * t)).astype(np.float32)


def harmonic_tone(f0_hz: float, *, duration_s: float, sr: int = 16000, amplitude: float = 0.3) -> np.ndarray:
    """A voice-like periodic signal: harmonics with 1/k amplitudes."""
    t = np.arange(int(duration_s * sr)) / sr
    x = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 8) if k * f0_hz < sr / 2)
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)
