"""Prosodic measurement: pitch and intensity tracks, per-word features, pauses, notation."""
