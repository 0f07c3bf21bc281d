"""Regenerate ``dialogue.flac``: a short two-voice interview exchange synthesised with espeak-ng.

Two voices (a lower male interviewer, a higher female interviewee), SSML breaks of known length,
one question rise. Needs espeak-ng (GPL; used only to make this file, not at run time).
Run: python capture/samples/make_dialogue.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from capture.decode import load_audio, resample

SR = 16000
TURNS = [
    ("en-us+m3", 0, "<speak>So, how did the first week on the ward go?</speak>"),
    ("en-gb+f4", 40, "<speak>Honestly? <break time='700ms'/> It was <emphasis level='strong'>hard</emphasis>. "
                     "I didn't sleep much. <break time='400ms'/> But the team was kind to me.</speak>"),
    ("en-us+m3", 0, "<speak>What helped the most?</speak>"),
    ("en-gb+f4", 40, "<speak>Talking to the other nurses, <break time='300ms'/> every evening.</speak>"),
]
GAP_S = [0.6, 0.9, 0.5]


def synthesise(voice: str, pitch: int, ssml: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "turn.wav"
        args = ["espeak-ng", "-m", "-v", voice, "-s", "150", "-w", str(out)]
        if pitch:
            args += ["-p", str(50 + pitch // 2)]
        subprocess.run(args + [ssml], check=True)
        audio = load_audio(out)
        return resample(audio.samples[0], audio.sample_rate_hz, SR)


def main() -> None:
    pieces = []
    for i, (voice, pitch, ssml) in enumerate(TURNS):
        pieces.append(synthesise(voice, pitch, ssml))
        if i < len(GAP_S):
            pieces.append(np.zeros(int(GAP_S[i] * SR), dtype=np.float32))
    signal = np.concatenate(pieces)
    signal = 0.5 * signal / np.max(np.abs(signal))
    rng = np.random.default_rng(0)
    signal = signal + rng.normal(0, 1e-4, signal.shape).astype(np.float32)  # a quiet room, not digital silence
    sf.write(Path(__file__).with_name("dialogue.flac"), signal, SR, subtype="PCM_16")


if __name__ == "__main__":
    main()
