"""tonescribe intake: decoding, the pipeline, the watched folder, the job store and the CLI."""

__version__ = "0.1.0"
