"""A long test recording made from the evaluation corpus, written OUTSIDE the repository.

Every recording of ../shared/corpus (each item's main file: the AMI mixture, jfk, LibriSpeech,
the three LJ Speech clips, PTDB-TUG, the stereo pair; not the AMI per-speaker source tracks,
which are the mixture's own parts), mixed to mono, resampled to 16 kHz and joined with 0.7 s of
faint noise (-66 dBFS; real rooms are never digitally silent), looped until the length asked
for and cut there. The result is deterministic: the same length gives the same file, so an
existing file of the right length is reused.

    python bench/long_audio.py --minutes 30 [--out /tmp/tonescribe-long-30min.wav]

Writes 16-bit PCM WAV (or FLAC when the name ends in .flac) piece by piece, so making a
two-hour file needs memory for one corpus item, not for two hours.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))
SAMPLE_RATE_HZ = 16000
GAP_S = 0.7
GAP_RMS = 10 ** (-66 / 20)
ITEMS = (
    "ami_mixture_4spk/mixture.wav",
    "jfk/jfk.flac",
    "librispeech_2412-153948-0000/2412-153948-0000.flac",
    "ljspeech_LJ050-027x/LJ050-0276.wav",
    "ljspeech_LJ050-027x/LJ050-0277.wav",
    "ljspeech_LJ050-027x/LJ050-0278.wav",
    "ptdb_tug_f0/mic_F01_sa1.wav",
    "fw_stereo_2spk/stereo_diarization.wav",
)


def default_path(minutes: float, suffix: str = ".wav") -> Path:
    return Path(tempfile.gettempdir()) / f"tonescribe-long-{minutes:g}min{suffix}"


def _inside_repo(path: Path) -> bool:
    try:
        path.resolve().relative_to(REPO)
        return True
    except ValueError:
        return False


def _pieces(corpus: Path):
    """Yield the corpus items as 16 kHz mono float32, then a gap, forever."""
    import soundfile as sf
    import soxr

    rng = np.random.default_rng(0)
    gap = lambda: (rng.standard_normal(int(GAP_S * SAMPLE_RATE_HZ)) * GAP_RMS).astype(np.float32)  # noqa: E731
    while True:
        for rel in ITEMS:
            data, rate = sf.read(str(corpus / rel), dtype="float32", always_2d=True)
            mono = data.mean(axis=1)
            if rate != SAMPLE_RATE_HZ:
                mono = soxr.resample(mono, rate, SAMPLE_RATE_HZ, quality="HQ").astype(np.float32)
            yield mono
            yield gap()


def make_long_audio(minutes: float, out: Path | None = None, *, corpus: Path = CORPUS, force: bool = False) -> Path:
    """Write ``minutes`` of corpus speech to ``out`` (default: the temp folder) and return its path.
    Refuses any path inside the repository: corpus audio is never copied into it."""
    import soundfile as sf

    if minutes <= 0:
        raise ValueError(f"minutes must be positive, not {minutes}")
    out = Path(out) if out is not None else default_path(minutes)
    if _inside_repo(out):
        raise ValueError(f"{out} is inside the repository {REPO}; write the long recording elsewhere (e.g. /tmp)")
    missing = [rel for rel in ITEMS if not (corpus / rel).is_file()]
    if missing:
        raise FileNotFoundError(f"corpus recordings missing under {corpus}: {', '.join(missing)}")
    total = int(round(minutes * 60 * SAMPLE_RATE_HZ))
    if out.is_file() and not force:
        try:
            if sf.info(str(out)).frames == total and sf.info(str(out)).samplerate == SAMPLE_RATE_HZ:
                return out
        except RuntimeError:
            pass
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = "FLAC" if out.suffix.lower() == ".flac" else "WAV"
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # readable like any other file (mkstemp makes it private)
    try:
        with sf.SoundFile(tmp, mode="w", samplerate=SAMPLE_RATE_HZ, channels=1, format=fmt, subtype="PCM_16") as fh:
            written = 0
            for piece in _pieces(corpus):
                piece = piece[: total - written]
                fh.write(np.clip(piece, -1.0, 1.0))
                written += len(piece)
                if written >= total:
                    break
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--out", type=Path, help="default: $TMPDIR/tonescribe-long-<N>min.wav")
    parser.add_argument("--force", action="store_true", help="rewrite even if a file of the right length exists")
    args = parser.parse_args()
    try:
        path = make_long_audio(args.minutes, args.out, force=args.force)
    except (ValueError, FileNotFoundError) as exc:
        print(f"long_audio: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
