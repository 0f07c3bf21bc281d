"""Speech recognition, diarization and word-to-speaker alignment."""
