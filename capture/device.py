"""Choosing where models run: CUDA when present, CPU otherwise; and which CPU instructions the
recogniser's int8 kernels may use."""

from __future__ import annotations

import os
import platform
from typing import Optional

VALID_DEVICES = ("auto", "cpu", "cuda")
# "native": the CPU's best int8 kernels (fastest); "avx2": held to AVX2, so that x86-64 CPUs of
# other kinds run the same kernels (README, *The same transcript on every machine*).
_ONEDNN_LIMIT = {"avx2": "AVX2"}
CPU_ISAS = ("native", *_ONEDNN_LIMIT)
ONEDNN_ENV = "ONEDNN_MAX_CPU_ISA"
# CPU extensions that choose CTranslate2's (oneDNN's) int8 kernels on x86-64, as numpy names them.
_INT8_FEATURES = ("AVX2", "AVX512F", "AVX512VNNI", "AVX512_SPR")
_held: dict[str, Optional[str]] = {}


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


def check_cpu_isa(isa: str) -> None:
    if isa not in CPU_ISAS:
        raise ValueError(f"cpu_isa must be one of {', '.join(CPU_ISAS)}, not {isa!r}")


def hold_cpu_isa(isa: str) -> Optional[str]:
    """Hold the recogniser's CPU int8 kernels to ``isa`` for this process and return the oneDNN
    limit in force (None: the CPU's best). oneDNN, which CTranslate2 computes int8 with, picks its
    kernels by the CPU's extensions, and kernels of different extensions round differently: the
    same recording gets slightly different word probabilities and times on an AVX-512 VNNI machine
    and an AVX2 one. ``native`` keeps a limit the user set in ``ONEDNN_MAX_CPU_ISA``. oneDNN reads
    the limit once, when the first model computes, so a process keeps the limit of its first
    recogniser."""
    check_cpu_isa(isa)
    limit = _ONEDNN_LIMIT.get(isa, os.environ.get(ONEDNN_ENV))
    if "limit" in _held and _held["limit"] != limit:
        raise ValueError(f"cpu_isa {isa!r}: this process already recognised speech with the CPU's kernels held to "
                         f"{_held['limit'] or 'none'} (oneDNN fixes them at first use); run it in a new process")
    if limit is not None:
        os.environ[ONEDNN_ENV] = limit
    _held["limit"] = limit
    return limit


def cpu_identity(limit: Optional[str]) -> dict:
    """What decides the CPU int8 kernels, for the output: the limit held and the CPU's extensions."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:  # numpy's private table moved; the machine name still says something
        found = {}
    return {"machine": platform.machine(), "int8_extensions": [f for f in _INT8_FEATURES if found.get(f)],
            "kernels_held_to": limit}
