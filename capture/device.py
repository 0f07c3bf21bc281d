"""Choosing where models run: CUDA when present, CPU otherwise."""

from __future__ import annotations

import os

VALID_DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA install must not stop CPU work
        return False


def resolve_device(device: str) -> str:
    if device not in VALID_DEVICES:
        raise ValueError(f"device must be one of {', '.join(VALID_DEVICES)}, not {device!r}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
    return device


def default_compute_type(device: str) -> str:
    """int8 on the CPU; float16 on a GPU that computes it efficiently (compute capability 7.0
    and up), else the best type CTranslate2 offers on that card (older cards refuse float16 at
    load)."""
    if device != "cuda":
        return "int8"
    try:
        import ctranslate2

        supported = ctranslate2.get_supported_compute_types("cuda")
    except Exception:  # no usable CUDA: the smoke test at load reports it
        return "float16"
    return next((t for t in ("float16", "int8_float32", "float32") if t in supported), "float16")


def available_cpu_cores() -> int:
    """Cores this process may run on: the affinity mask (a container's or ``taskset``'s limit),
    not the machine's total."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity mask
        return max(1, os.cpu_count() or 1)
