"""``tonescribe process AUDIO... [--out DIR]``"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from capture.decode import DecodeError
from capture.device import CPU_ISAS
from capture.outputs import output_dir_for, write_output_dir
from capture.pipeline import Engine, ProcessOptions
from capture.progress import Reporter, configure_logging
from export import export_after_write, formats_arg
from prosody.measure import ProsodyOptions
from prosody.notation.omit import add_option
from prosody.thresholds import load_thresholds
from transcribe.asr import CPU_BATCH_SIZE, CUDA_BATCH_SIZE, AsrOptions
from transcribe.diarize import SPEAKER_MODES, SpeakerOptions
from transcribe.forced_align import AlignOptions
from transcribe.models import DEFAULT_ASR_MODEL, ModelNotFound

logger = logging.getLogger("tonescribe.cli")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``process`` and ``watch``."""
    parser.add_argument("--out", type=Path, default=Path("transcripts"), help="output folder (default: ./transcripts)")
    parser.add_argument("--model", default=DEFAULT_ASR_MODEL,
                        help="Whisper model: tiny.en (default), base, a name under the models folder, or a path")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA (float16) when a GPU is present, else CPU (int8)")
    parser.add_argument("--compute-type", default="auto", help="CTranslate2 compute type (default: by device)")
    parser.add_argument("--cpu-isa", choices=CPU_ISAS, default="native",
                        help="the recogniser's int8 kernels on the CPU: native, the fastest (default), or avx2, the "
                             "same arithmetic on x86-64 machines of other kinds (README, The same transcript on "
                             "every machine)")
    parser.add_argument("--language", default=None, help="language code, e.g. en (default: detect)")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy (default; see README)")
    parser.add_argument("--batch-size", type=int, default=0,
                        help=f"30 s windows recognised at once: 0 = auto ({CUDA_BATCH_SIZE} on CUDA, {CPU_BATCH_SIZE} on "
                             "CPU), 1 = sequential decoding (see README, Batched recognition)")
    parser.add_argument("--filler-prompt", action="store_true",
                        help="prompt the recogniser in a disfluent style to write more um/uh (slower; see README)")
    parser.add_argument("--no-align", dest="align", action="store_false",
                        help="keep the recogniser's word times (default: re-time English words with the forced "
                             "aligner, see README, Word alignment)")
    parser.add_argument("--speakers", default="auto", help=f"speaker mode: {', '.join(SPEAKER_MODES)} (default: auto)")
    parser.add_argument("--num-speakers", type=int)
    parser.add_argument("--min-speakers", type=int)
    parser.add_argument("--max-speakers", type=int)
    parser.add_argument("--thresholds", type=Path, metavar="FILE",
                        help="TOML file overriding the thresholds of the prosodic marks (see prosody/thresholds.toml)")
    parser.add_argument("--export", metavar="FORMATS", type=formats_arg, default=os.environ.get("TONESCRIBE_EXPORT", ""),
                        help="also export each transcript: eaf,textgrid,cha,vtt,srt,docx,csv or all "
                             "(default: $TONESCRIBE_EXPORT, else none); see `tonescribe export`")
    add_option(parser, files="notation and export files")
    parser.add_argument("--scratch", type=Path, metavar="DIR", default=None,
                        help="where decoded 16 kHz samples wait while a recording is processed (removed after "
                             "each one; default: the system's temporary folder, $TMPDIR)")
    parser.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def options_from_args(args: argparse.Namespace) -> ProcessOptions:
    return ProcessOptions(
        asr=AsrOptions(model=args.model, device=args.device, compute_type=args.compute_type,
                       language=args.language, beam_size=args.beam_size, filler_prompt=args.filler_prompt,
                       batch_size=args.batch_size, cpu_isa=args.cpu_isa),
        align=AlignOptions(enabled=args.align),
        speakers=SpeakerOptions(mode=args.speakers, num_speakers=args.num_speakers,
                                min_speakers=args.min_speakers, max_speakers=args.max_speakers, device=args.device),
        prosody=ProsodyOptions(),
        thresholds=load_thresholds(args.thresholds),
    )


def register(sub) -> None:
    parser = sub.add_parser("process", help="transcribe recordings with word-level prosody",
                            description="Transcribe recordings; one output folder per recording under --out.")
    parser.add_argument("audio", nargs="+", type=Path, help="audio or video files")
    add_pipeline_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(quiet=args.quiet, verbose=args.verbose)
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"tonescribe: error: {exc}", file=sys.stderr)
        return 2
    reporter = Reporter(live=sys.stderr.isatty() and not args.quiet)
    engine = Engine(options, hook=reporter.hook, scratch_dir=args.scratch)
    failures = 0
    taken: set[Path] = set()
    with reporter.session():
        for index, path in enumerate(args.audio, 1):
            reporter.file_started(str(path), index, len(args.audio))
            try:
                transcript = engine.process(path)
                folder = write_output_dir(transcript, output_dir_for(path, args.out, taken), omit=args.omit)
                export_after_write(folder, args.export, args.omit)
            except DecodeError as exc:
                failures += 1
                reporter.file_done(None, str(exc))
                continue
            except (ModelNotFound, ValueError) as exc:
                reporter.file_done(None, f"{path}: {exc}")
                return 2
            reporter.file_done(str(folder))
    return 1 if failures else 0
