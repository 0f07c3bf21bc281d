"""Keep every library offline: set before any model library is imported."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # pyannote.audio 4.0 (telemetry/metrics.py) sends usage spans unless this says otherwise; it only
    # fills in its default ("true") when the variable is unset, and reads "1"/"true" as on
    "PYANNOTE_METRICS_ENABLED": "0",
    "DO_NOT_TRACK": "1",
}


def enforce_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
