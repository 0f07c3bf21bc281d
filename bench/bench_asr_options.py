"""Recognition settings compared on the corpus: greedy vs beam search, with and without the
filler prompt. Prints AMI speed (x real time, two runs), words and fillers found on AMI, and the
LibriSpeech WER, for each setting. Used to choose the defaults (README; that table was measured
with the sequential decoder, ``--batch-size 1``, the default before batched recognition).

    python3 bench/bench_asr_options.py [--model tiny.en] [--batch-size 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import AMI, ASR_ITEMS, CORPUS, ami_reference_text, fillers, word_errors  # noqa: E402
from capture.decode import load_audio  # noqa: E402
from capture.offline import enforce_offline  # noqa: E402
from transcribe.asr import AsrOptions, Recognizer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--batch-size", type=int, default=0, help="0 = the default batch, 1 = sequential")
    args = parser.parse_args()
    enforce_offline()
    ami = load_audio(CORPUS / AMI)
    libri_audio, libri_ref = ASR_ITEMS["librispeech_2412-153948-0000"]
    libri = load_audio(CORPUS / libri_audio).mono_16k()
    print(f"AMI reference fillers: {fillers(ami_reference_text())}")
    for beam, prompt in [(1, False), (5, False), (1, True), (5, True)]:
        recognizer = Recognizer(AsrOptions(model=args.model, beam_size=beam, filler_prompt=prompt,
                                           batch_size=args.batch_size))
        speeds = []
        for _ in range(2):
            started = time.perf_counter()
            result = recognizer.transcribe(ami.mono_16k())
            speeds.append(round(ami.duration_s / (time.perf_counter() - started), 1))
        errors, n = word_errors((CORPUS / libri_ref).read_text(),
                                " ".join(w.text for w in recognizer.transcribe(libri).words))
        text = " ".join(w.text for w in result.words)
        print(f"beam {beam} filler_prompt {prompt!s:5}: AMI x real time {speeds}, words {len(result.words)}, "
              f"fillers {fillers(text)}; LibriSpeech WER {errors / n:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
