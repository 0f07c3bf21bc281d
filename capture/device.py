"""Choosing where models run: CUDA when present, CPU otherwise; and which CPU instructions the
recogniser's arithmetic may use."""

from __future__ import annotations

import functools
import os
import platform
import sys
from typing import Optional

VALID_DEVICES = ("auto", "cpu", "cuda")
# "native": the CPU's best kernels (fastest); "avx2": held to AVX2, so that x86-64 CPUs of other
# kinds compute alike (README, *The same transcript on every machine*).
_ONEDNN_LIMIT = {"avx2": "AVX2"}
CPU_ISAS = ("native", *_ONEDNN_LIMIT)
ONEDNN_ENV = "ONEDNN_MAX_CPU_ISA"  # oneDNN, CTranslate2's int8 products; read when a model first computes
MKL_ENV = "CT2_USE_MKL"  # CTranslate2 computes with Intel MKL instead on Intel CPUs; read at import
NUMPY_ENV = "NPY_DISABLE_CPU_FEATURES"  # numpy's own kernels (the log-mel features); read at import
BLAS_ENV = "OPENBLAS_CORETYPE"  # numpy's matrix products (the mel filter bank); read at import
# numpy's kernels beyond AVX2, as numpy 2.4 and later (X86_V4) and earlier releases name them;
# numpy passes over the names it does not dispatch on.
_NUMPY_BEYOND_AVX2 = ("X86_V4", "AVX512F", "AVX512CD", "AVX512_KNL", "AVX512_KNM", "AVX512_SKX", "AVX512_CLX",
                      "AVX512_CNL", "AVX512_ICL", "AVX512_SPR")
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


@functools.lru_cache(maxsize=None)
def _cpuinfo(field: str) -> str:
    """A field of the first processor in Linux's /proc/cpuinfo ("" elsewhere: only the kernels of
    numpy and OpenBLAS, and CTranslate2's choice of library, are not held there). Read once per
    field: the file lists every core, and the hold and the output's identity each ask."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.split(":", 1)[0].strip() == field), "")
    except OSError:
        return ""


def _cpu_flags() -> set[str]:
    return set(_cpuinfo("flags").split())


def _cpu_vendor() -> str:
    return _cpuinfo("vendor_id")


def cpu_isa_environment(isa: str) -> dict[str, str]:
    """The environment that holds the recogniser's arithmetic to ``isa``: CTranslate2's int8
    products computed by oneDNN (which it uses on AMD CPUs; on Intel ones it takes Intel MKL) with
    AVX2 kernels, and on a CPU with AVX-512 also numpy's kernels and OpenBLAS's, which compute the
    recogniser's log-mel features. Each of these changes the words heard. Empty for ``native``."""
    check_cpu_isa(isa)
    if isa == "native":
        return {}
    env = {ONEDNN_ENV: _ONEDNN_LIMIT[isa], MKL_ENV: "0"}
    if "avx512f" in _cpu_flags():  # OpenBLAS given a core type the CPU lacks would fail, so only here
        env.update({NUMPY_ENV: " ".join(_NUMPY_BEYOND_AVX2), BLAS_ENV: "Haswell"})
    return env


def _numpy_cpu() -> tuple[Optional[list[str]], dict]:
    """numpy's dispatched kernels and the CPU features it found (None and {} before numpy is
    imported, or where its private table has moved)."""
    if "numpy" not in sys.modules:
        return None, {}
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__ as targets, __cpu_features__ as found
    except ImportError:
        return None, {}
    return list(targets), found


def _numpy_kernels() -> Optional[list[str]]:
    """numpy's dispatched kernels in use."""
    targets, found = _numpy_cpu()
    return None if targets is None else [t for t in targets if found.get(t)]


def _int8_library() -> Optional[str]:
    """The library CTranslate2 computes int8 products with on this CPU (its own rule: Intel MKL on
    Intel CPUs unless ``CT2_USE_MKL`` says otherwise). None off x86-64, where it has other ones,
    and where the vendor is not known and the environment does not say."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    use_mkl = os.environ.get(MKL_ENV, "").strip().lower()
    if use_mkl:
        return "Intel MKL" if use_mkl in ("1", "true", "on", "yes") else "oneDNN"
    vendor = _cpu_vendor()
    return ("Intel MKL" if vendor == "GenuineIntel" else "oneDNN") if vendor else None


def _loaded_unheld(wanted: dict[str, str]) -> list[str]:
    """What was loaded before ``wanted`` could hold it (numpy, OpenBLAS and CTranslate2 read their
    settings at import)."""
    late = []
    kernels = _numpy_kernels()
    if kernels is not None and NUMPY_ENV in wanted:
        beyond = [k for k in kernels if k in _NUMPY_BEYOND_AVX2]
        if beyond:
            late.append(f"numpy uses {' '.join(beyond)}")
        if os.environ.get(BLAS_ENV) != wanted[BLAS_ENV]:
            late.append("OpenBLAS uses its own core type")
    if "ctranslate2" in sys.modules and MKL_ENV in wanted and _int8_library() == "Intel MKL":
        late.append("CTranslate2 uses Intel MKL")
    return late


def hold_cpu_isa(isa: str) -> Optional[str]:
    """Hold the recogniser's CPU arithmetic to ``isa`` for this process and return the oneDNN
    limit in force (None: the CPU's best). oneDNN (or Intel MKL), numpy and OpenBLAS each pick
    their kernels by the CPU, and kernels of different extensions round differently: the same
    recording gets slightly different word probabilities and times, now and then another word, on
    an AVX-512 machine and an AVX2 one, or an Intel and an AMD one. ``native`` keeps what the user
    set in the environment. oneDNN reads its limit when the first model computes, so a process keeps
    the limit of its first recogniser; numpy, OpenBLAS and CTranslate2 read theirs at import, so a
    process that imported them unheld cannot be held (``tonescribe --cpu-isa avx2`` holds before;
    scripts can ``restart_held``)."""
    wanted = cpu_isa_environment(isa)
    limit = wanted.get(ONEDNN_ENV, os.environ.get(ONEDNN_ENV))
    if "limit" in _held and _held["limit"] != limit:
        raise ValueError(f"cpu_isa {isa!r}: this process already recognised speech with the CPU's kernels held to "
                         f"{_held['limit'] or 'none'} (oneDNN fixes them at first use); run it in a new process")
    late = _loaded_unheld(wanted)
    if late:
        raise ValueError(f"cpu_isa {isa!r}: {', '.join(late)}, loaded before the kernels could be held; hold them "
                         f"before numpy and ctranslate2 are imported: tonescribe --cpu-isa does, and in Python "
                         f"capture.device.hold_cpu_isa({isa!r}) first, or restart_held({isa!r}) in a script")
    os.environ.update(wanted)
    _held["limit"] = limit
    return limit


def restart_held(isa: str) -> None:
    """For a script's entry point that has imported numpy before reading its options: run the same
    command again in a new process that starts with ``isa`` held (``cpu_isa_environment``), in
    place of this one. Returns where the environment already holds it."""
    wanted = cpu_isa_environment(isa)
    if all(os.environ.get(k) == v for k, v in wanted.items()):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, **wanted})


def cpu_identity(limit: Optional[str]) -> dict:
    """What decides the recogniser's CPU arithmetic, for the output: the CPU, its int8 extensions,
    the library and limit of the int8 kernels, numpy's kernels in use and OpenBLAS's core type."""
    found = _numpy_cpu()[1]
    return {"machine": platform.machine(), "vendor": _cpu_vendor() or None,
            "int8_extensions": [f for f in _INT8_FEATURES if found.get(f)], "int8_library": _int8_library(),
            "kernels_held_to": limit, "numpy_kernels": _numpy_kernels(), "blas_core": _blas_core()}


def _blas_core() -> Optional[str]:
    """The core type OpenBLAS computes for (threadpoolctl reads it from the loaded library)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return next((i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"), None)
