"""Speed and memory of the whole pipeline, stage by stage: the one place where speed is measured.

Each input runs through the real pipeline (``capture.pipeline.Engine``, as ``tonescribe process``
uses it, then the output folder is written) in a FRESH Python process, so that peak memory
belongs to that input alone. Reported per input and model:

- seconds and real-time factor per stage ("×" = audio seconds / stage seconds, i.e. times faster
  than real time); model loading apart (once per process); end to end = ``Engine.process``;
- peak resident memory of the process (VmHWM) and per stage (a thread reads VmRSS from
  /proc/self/status every 20 ms; a sample counts for every stage running at that moment);
- on CUDA: peak torch allocation per stage (``torch.cuda.max_memory_allocated``) and the
  process's GPU memory from NVML / nvidia-smi polling (CTranslate2 does not use torch's
  allocator); absent on CPU.

Before/after: ``--baseline-commit REV`` exports REV as a git worktree under /tmp and runs the
same inputs with that code and with this working tree, interleaved (old, new, old, new, ...),
reporting medians and ratios. Each run checks that it imported the code it was meant to.

    python bench/bench_speed.py                                  # AMI 60 s + 30 min, models present
    python bench/bench_speed.py --minutes 10 30 120 --models tiny.en --json mem.json
    python bench/bench_speed.py --baseline-commit d2c9c4d --repeats 3 --models tiny.en
    python bench/bench_speed.py --audio my.wav --minutes --json out.json

Long inputs are made by ``bench/long_audio.py`` under the temp folder (never in the repository).
Timings depend on what else runs on the machine; memory does not.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TONESCRIBE_CORPUS", REPO.parent / "shared" / "corpus"))
AMI = CORPUS / "ami_mixture_4spk" / "mixture.wav"
STAGE_ORDER = ("model_load", "decode", "asr", "align", "diarization", "prosody", "write")
PACKAGES = ("capture", "transcribe", "prosody")
# as capture/offline.py sets them, for code too old to set them itself
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "PYANNOTE_METRICS_ENABLED": "0", "DO_NOT_TRACK": "1"}


# --------------------------------------------------------------------------- child process

def _proc_status_kb(*keys: str) -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            name, _, value = line.partition(":")
            if name in keys:
                out[name] = int(value.split()[0])
    return out


class PeakSampler(threading.Thread):
    """The highest value of ``read()`` while each stage runs: sampled every ``interval_s`` and
    at each stage boundary; a sample counts for every stage running at that moment (and for
    ``"process"`` when ``whole_process``)."""

    whole_process = False

    def __init__(self, interval_s: float):
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.active: set[str] = set()
        self.peak: dict[str, float] = {}
        self.at_start: dict[str, float] = {}
        self.samples = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def read(self) -> float | None:
        raise NotImplementedError

    def sample(self) -> float | None:
        value = self.read()
        if value is None:
            return None
        with self._lock:
            self.samples += 1
            for stage in self.active | ({"process"} if self.whole_process else set()):
                self.peak[stage] = max(self.peak.get(stage, value), value)
        return value

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self.sample()

    def enter(self, stage: str) -> None:
        value = self.sample()
        with self._lock:
            self.active.add(stage)
            if value is not None:
                self.at_start.setdefault(stage, value)
                self.peak[stage] = max(self.peak.get(stage, value), value)

    def leave(self, stage: str) -> None:
        self.sample()
        with self._lock:
            self.active.discard(stage)

    def stop(self) -> None:
        self._halt.set()
        self.join()


class RssSampler(PeakSampler):
    """Resident memory (VmRSS, kB) per stage."""

    def __init__(self, interval_s: float = 0.02):
        super().__init__(interval_s)

    def read(self) -> float:
        return _proc_status_kb("VmRSS")["VmRSS"]


class GpuMonitor(PeakSampler):
    """This process's GPU memory (MB), polled from NVML (pynvml) or nvidia-smi; device-wide use
    minus the use at start when the process is not listed (another PID namespace)."""

    whole_process = True

    def __init__(self, interval_s: float = 0.1):
        super().__init__(interval_s)
        self.source = None
        self.kind = "none"
        self._nvml = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self.source = "nvml"
        except Exception:
            if shutil.which("nvidia-smi"):
                self.source = "nvidia-smi"
        self._baseline_used = self._device_used_mb() if self.source else None

    @property
    def available(self) -> bool:
        return self.source is not None and self._baseline_used is not None

    def _device_used_mb(self) -> float | None:
        try:
            if self._nvml is not None:
                handle = self._nvml.nvmlDeviceGetHandleByIndex(0)
                return self._nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
            text = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                                  capture_output=True, text=True, timeout=5).stdout
            return float(text.split()[0])
        except Exception:
            return None

    def _process_mb(self) -> tuple[float | None, str]:
        pid = os.getpid()
        try:
            if self._nvml is not None:
                handle = self._nvml.nvmlDeviceGetHandleByIndex(0)
                for p in self._nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                    if p.pid == pid and p.usedGpuMemory is not None:
                        return p.usedGpuMemory / 2**20, "process"
            else:
                text = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                                       "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5).stdout
                for line in text.splitlines():
                    fields = [f.strip() for f in line.split(",")]
                    if len(fields) == 2 and fields[0] == str(pid):
                        return float(fields[1]), "process"
        except Exception:
            pass
        used = self._device_used_mb()
        if used is None or self._baseline_used is None:
            return None, "none"
        return max(0.0, used - self._baseline_used), "device-delta"

    def read(self) -> float | None:
        mb, self.kind = self._process_mb()
        return mb


class StageClock:
    """The pipeline hook: wall seconds per stage (summed when a stage runs several times), and
    the memory monitors told which stages are running."""

    def __init__(self, rss: RssSampler, gpu: GpuMonitor | None, torch_cuda: bool):
        self.rss, self.gpu, self.torch_cuda = rss, gpu, torch_cuda
        self.seconds: dict[str, float] = {}
        self.torch_peak_mb: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def _torch(self):
        torch = sys.modules.get("torch")
        try:
            return torch if self.torch_cuda and torch is not None and torch.cuda.is_available() else None
        except Exception:
            return None

    def _torch_peak(self, stage: str | None) -> None:
        """Reset torch's peak counter at a stage's start (``stage`` None), read it at its end; a
        failing CUDA runtime turns this measure off instead of failing the run."""
        torch = self._torch()
        if torch is None:
            return
        try:
            if stage is None:
                torch.cuda.reset_peak_memory_stats()
            else:
                peak = torch.cuda.max_memory_allocated() / 2**20
                self.torch_peak_mb[stage] = max(self.torch_peak_mb.get(stage, 0.0), round(peak, 1))
        except Exception:
            self.torch_cuda = False

    def __call__(self, stage: str, event: str, info: dict | None = None) -> None:
        if event == "start":
            self._started[stage] = time.perf_counter()
            self.rss.enter(stage)
            if self.gpu is not None:
                self.gpu.enter(stage)
            self._torch_peak(None)
        elif event == "end" and stage in self._started:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - self._started.pop(stage)
            self.rss.leave(stage)
            if self.gpu is not None:
                self.gpu.leave(stage)
            self._torch_peak(stage)


def _asr_items(items: list[str]) -> dict[str, str]:
    """``--asr KEY=VALUE`` items as a mapping, values as written."""
    return dict(item.partition("=")[::2] for item in items)


def _asr_options(cls, args: argparse.Namespace):
    """``AsrOptions`` with the model, device and every ``--asr KEY=VALUE`` this code's
    ``AsrOptions`` has (an older commit may lack some: those are returned as ignored)."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls)}
    given, ignored = {"model": args.model, "device": args.device}, []
    for key, value in _asr_items(args.asr).items():
        if key not in fields:
            ignored.append(key)
            continue
        default = fields[key].default
        if isinstance(default, bool):
            given[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(default, (int, float)):
            given[key] = type(default)(value)
        else:
            given[key] = None if value.lower() == "none" else value
    return cls(**given), ignored


def child_main(args: argparse.Namespace) -> int:
    """One input, one model, in this fresh process; the result as JSON in ``args.child_out``."""
    rss = RssSampler()
    rss.start()
    clock_started = time.perf_counter()
    rss.enter("import")
    try:
        from capture.offline import enforce_offline

        enforce_offline()
    except ImportError:  # older code without it: the environment already says offline
        pass
    for name in PACKAGES:  # their files are checked: the code this run was meant to use
        importlib.import_module(name)
    from capture.outputs import write_output_dir
    from capture.pipeline import Engine, ProcessOptions
    from transcribe.asr import AsrOptions
    from transcribe.diarize import SpeakerOptions

    rss.leave("import")
    import_s = time.perf_counter() - clock_started
    gpu = GpuMonitor() if args.device != "cpu" else None
    if gpu is not None and gpu.available:
        gpu.start()
    else:
        gpu = None
    clock = StageClock(rss, gpu, torch_cuda=args.device != "cpu")
    asr_options, ignored = _asr_options(AsrOptions, args)
    # the speaker models follow --device too (older commits, run as a baseline, had no such field)
    speaker_device = {"device": args.device} if "device" in SpeakerOptions.__dataclass_fields__ else {}
    engine = Engine(ProcessOptions(asr=asr_options,
                                   speakers=SpeakerOptions(mode=args.speakers, **speaker_device)), hook=clock)
    started = time.perf_counter()
    recognizer, _ = engine.recognizer()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    transcript = engine.process(args.child)
    process_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="tonescribe-bench-") as out:
        clock("write", "start", {})
        write_output_dir(transcript, Path(out) / "transcript")
        clock("write", "end", {})
    rss.stop()
    if gpu is not None:
        gpu.stop()
    status = _proc_status_kb("VmHWM", "VmRSS")
    seconds = {k: round(v, 3) for k, v in clock.seconds.items()}
    seconds["model_load"] = round(load_s, 3)
    result = {
        "audio": str(args.child),
        "duration_s": transcript.audio.duration_s,
        "model": args.model,
        "model_identity": recognizer.identity(),
        "device": recognizer.device,
        "compute_type": getattr(recognizer, "compute_type", None),
        "speakers": args.speakers,
        "asr_options": dict(recognizer.effective_options()) if hasattr(recognizer, "effective_options") else None,
        "asr_options_ignored": ignored,
        "words": len(transcript.words),
        "speakers_found": len(transcript.speakers),
        "code": {name: str(Path(sys.modules[name].__file__).resolve().parent) for name in PACKAGES},
        "import_s": round(import_s, 3),
        "stage_s": seconds,
        "pipeline_timings_s": dict(transcript.pipeline.timings_s),
        "process_s": round(process_s, 3),
        "peak_rss_mb": {k: round(v / 1024, 1) for k, v in rss.peak.items()},
        "start_rss_mb": {k: round(v / 1024, 1) for k, v in rss.at_start.items()},
        "vm_hwm_mb": round(status["VmHWM"] / 1024, 1),
        "rss_samples": rss.samples,
        "torch_cuda_peak_mb": clock.torch_peak_mb or None,
        "gpu_peak_mb": {k: round(v, 1) for k, v in gpu.peak.items()} if gpu is not None else None,
        "gpu_memory_source": f"{gpu.source}/{gpu.kind}" if gpu is not None else None,
    }
    Path(args.child_out).write_text(json.dumps(result, indent=2))
    return 0


# --------------------------------------------------------------------------- parent process

def machine_info() -> dict:
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_start": os.getloadavg()}
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu_model"] = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), None)
    except OSError:
        pass
    return info


def code_version(root: Path) -> dict:
    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(root), *cmd], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", *PACKAGES)
    return {"root": str(root), "commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(dirty)}


def code_label(side: str, version: dict) -> str:
    return f"{side} {version['commit']}{'+changes' if version['uncommitted_changes'] else ''}"


def baseline_worktree(rev: str, path: Path | None = None) -> Path:
    """A detached git worktree of ``rev`` (default under the temp folder; reused when already there)."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         capture_output=True, text=True)
    if sha.returncode != 0:
        raise SystemExit(f"bench_speed: error: no commit {rev!r} in {REPO}")
    sha = sha.stdout.strip()
    path = (path or Path(tempfile.gettempdir()) / f"tonescribe-baseline-{sha[:10]}").resolve()
    if (path / ".git").exists():
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        if head == sha:
            return path
        raise SystemExit(f"bench_speed: error: {path} exists at another commit ({head[:10]}); remove it "
                         f"with `git -C {REPO} worktree remove --force {path}`")
    subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), sha], check=True,
                   capture_output=True)
    return path


def available_models(requested: list[str]) -> list[str]:
    """``auto``: the default model and every larger one that resolves offline."""
    if str(REPO) not in sys.path:  # the parent resolves models with this working tree's code
        sys.path.insert(0, str(REPO))
    from transcribe.models import DEFAULT_ASR_MODEL, ModelNotFound, models_dir, resolve_asr_model

    if requested != ["auto"]:
        return requested
    names = [DEFAULT_ASR_MODEL, "base"]
    if models_dir().is_dir():
        names += sorted(p.name for p in models_dir().iterdir() if (p / "model.bin").is_file() and p.name != "whisper-base")
    found = []
    for name in dict.fromkeys(names):
        try:
            ref = resolve_asr_model(name)
        except ModelNotFound:
            continue
        found.append((name, (Path(ref.path) / "model.bin").stat().st_size))
    default_size = dict(found).get(DEFAULT_ASR_MODEL, 0)
    return [n for n, size in found if n == DEFAULT_ASR_MODEL or size > default_size]


def _held_environment(asr_items: list[str]) -> dict[str, str]:
    """The environment a child starts with for ``--asr cpu_isa=...``: numpy and OpenBLAS choose
    their kernels when numpy is imported, before the recogniser could hold them."""
    from capture.device import cpu_isa_environment

    return cpu_isa_environment(_asr_items(asr_items).get("cpu_isa", "native"))


class ChildFailed(RuntimeError):
    pass


def run_child(code_root: Path, audio: Path, model: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, **OFFLINE_ENV, **_held_environment(args.asr), "PYTHONPATH": os.pathsep.join(
        [str(code_root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    with tempfile.NamedTemporaryFile(prefix="bench-speed-", suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(audio), "--child-out", str(out),
               "--model", model, "--device", args.device, "--speakers", args.speakers]
        cmd += [f"--asr={item}" for item in args.asr]
        proc = subprocess.run(cmd, cwd=code_root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            killed = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
            raise ChildFailed(f"{audio.name} with {model} on {code_root} failed (exit {proc.returncode}{killed}):\n"
                              f"{proc.stderr[-3000:]}")
        result = json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
    wrong = {name: path for name, path in result["code"].items() if not Path(path).is_relative_to(code_root.resolve())}
    if wrong:
        raise ChildFailed(f"the run meant for {code_root} imported other code: {wrong}")
    return result


def stages_of(runs: list[dict]) -> list[str]:
    seen = {s for r in runs for s in r["stage_s"]}
    return [s for s in STAGE_ORDER if s in seen] + sorted(seen - set(STAGE_ORDER))


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarise(runs: list[dict], code: str) -> dict:
    """Medians over the repeated runs of one (input, model, code)."""
    first = runs[0]
    stages = stages_of(runs)
    dur = first["duration_s"]
    stage_s = {s: _median([r["stage_s"].get(s) for r in runs]) for s in stages}
    process_s = _median([r["process_s"] for r in runs])
    peak = {s: _median([r["peak_rss_mb"].get(s) for r in runs]) for s in ["import"] + stages}
    gpu = {s: _median([(r["gpu_peak_mb"] or {}).get(s) for r in runs]) for s in stages + ["process"]}
    torch_gpu = {s: _median([(r["torch_cuda_peak_mb"] or {}).get(s) for r in runs]) for s in stages}
    return {
        "audio": first["audio"], "duration_s": dur, "model": first["model"], "device": first["device"],
        "compute_type": first["compute_type"], "code": code,
        "runs": len(runs), "words": first["words"],
        "asr_batch_size": (first.get("asr_options") or {}).get("batch_size"),
        "stage_s": stage_s,
        "x_realtime": {s: (round(dur / v, 2) if v and s != "model_load" else None) for s, v in stage_s.items()},
        "process_s": process_s,
        "end_to_end_x_realtime": round(dur / process_s, 2) if process_s else None,
        "peak_rss_mb": peak,
        "vm_hwm_mb": _median([r["vm_hwm_mb"] for r in runs]),
        "gpu_peak_mb": {k: v for k, v in gpu.items() if v is not None} or None,
        "torch_cuda_peak_mb": {k: v for k, v in torch_gpu.items() if v is not None} or None,
    }


def _length(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _batch(summary: dict) -> str:
    return f", batch {summary['asr_batch_size']}" if summary.get("asr_batch_size") else ""


def _fmt(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def markdown(summaries: list[dict], comparisons: list[dict]) -> str:
    stages = [s for s in STAGE_ORDER if any(s in x["stage_s"] for x in summaries)]
    timed = [s for s in stages if s != "model_load"]
    lines = ["Speed (× = audio seconds / stage seconds; model loading in seconds, once per process; "
             "medians over the runs):", "",
             "| input | audio | model | device | code | runs | load s | " + " | ".join(f"{s} ×" for s in timed)
             + " | end to end × |",
             "|" + "---|" * (8 + len(timed))]
    for x in summaries:
        lines.append(f"| {Path(x['audio']).name} | {_length(x['duration_s'])} | {x['model']} | {x['device']}/"
                     f"{x['compute_type']}{_batch(x)} | {x['code']} | {x['runs']} | {_fmt(x['stage_s'].get('model_load'), '.2f')} | "
                     + " | ".join(_fmt(x["x_realtime"].get(s)) for s in timed)
                     + f" | **{_fmt(x['end_to_end_x_realtime'])}** |")
    gpu = any(x["gpu_peak_mb"] or x["torch_cuda_peak_mb"] for x in summaries)
    lines += ["", "Peak resident memory, MB = 2^20 bytes (per stage: the highest VmRSS while it ran; process: VmHWM)"
              + ("; GPU: process peak (NVML/nvidia-smi), torch allocations in brackets" if gpu else "") + ":", "",
              "| input | audio | model | code | after imports | " + " | ".join(stages) + " | process |"
              + (" GPU |" if gpu else ""),
              "|" + "---|" * (6 + len(stages) + gpu)]
    for x in summaries:
        row = (f"| {Path(x['audio']).name} | {_length(x['duration_s'])} | {x['model']} | {x['code']} | "
               f"{_fmt(x['peak_rss_mb'].get('import'), '.0f')} | "
               + " | ".join(_fmt(x["peak_rss_mb"].get(s), ".0f") for s in stages) + f" | **{_fmt(x['vm_hwm_mb'], '.0f')}** |")
        if gpu:
            torch_peak = max((x["torch_cuda_peak_mb"] or {}).values(), default=None)
            row += f" {_fmt((x['gpu_peak_mb'] or {}).get('process'), '.0f')} ({_fmt(torch_peak, '.0f')}) |"
        lines.append(row)
    growth = memory_growth(summaries)
    if growth:
        lines += ["", "Growth of the process's peak memory with the length of the recording (16 kHz float32 "
                  "audio itself is 3.7 MB per minute):", ""]
        lines += [f"- {g['model']}, {g['code']}: {g['mb_per_audio_minute']:.1f} MB per minute of audio from "
                  f"{g['from_min']:.0f} to {g['to_min']:.0f} min ({g['from_mb']:.0f} -> {g['to_mb']:.0f} MB)" for g in growth]
    if comparisons:
        lines += ["", "Before/after, interleaved runs (medians; speed-up = before seconds / after seconds):", "",
                  "| input | model | stage | before s | after s | speed-up | before peak MB | after peak MB |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in comparisons:
            for s, row in c["stages"].items():
                lines.append(f"| {Path(c['audio']).name} | {c['model']} | {s} | {_fmt(row['before_s'], '.2f')} | "
                             f"{_fmt(row['after_s'], '.2f')} | {_fmt(row['speedup'], '.2f')} | "
                             f"{_fmt(row['before_peak_mb'], '.0f')} | {_fmt(row['after_peak_mb'], '.0f')} |")
    return "\n".join(lines)


def memory_growth(summaries: list[dict]) -> list[dict]:
    """Peak RSS per extra minute of audio between the shortest and the longest input of each
    (model, code)."""
    out = []
    for key in dict.fromkeys((x["model"], x["code"]) for x in summaries):
        mine = sorted((x for x in summaries if (x["model"], x["code"]) == key), key=lambda x: x["duration_s"])
        if len(mine) < 2 or mine[-1]["duration_s"] - mine[0]["duration_s"] < 60:
            continue
        a, b = mine[0], mine[-1]
        minutes = (b["duration_s"] - a["duration_s"]) / 60
        out.append({"model": key[0], "code": key[1], "from_min": a["duration_s"] / 60, "to_min": b["duration_s"] / 60,
                    "from_mb": a["vm_hwm_mb"], "to_mb": b["vm_hwm_mb"],
                    "mb_per_audio_minute": round((b["vm_hwm_mb"] - a["vm_hwm_mb"]) / minutes, 2)})
    return out


def compare(before: dict, after: dict) -> dict:
    stages = [s for s in STAGE_ORDER if s in before["stage_s"] or s in after["stage_s"]]
    rows = {}
    for s in stages + ["end to end"]:
        b = before["process_s"] if s == "end to end" else before["stage_s"].get(s)
        a = after["process_s"] if s == "end to end" else after["stage_s"].get(s)
        peak_b = before["vm_hwm_mb"] if s == "end to end" else before["peak_rss_mb"].get(s)
        peak_a = after["vm_hwm_mb"] if s == "end to end" else after["peak_rss_mb"].get(s)
        rows[s] = {"before_s": b, "after_s": a, "speedup": round(b / a, 3) if a and b else None,
                   "before_peak_mb": peak_b, "after_peak_mb": peak_a,
                   "peak_ratio": round(peak_a / peak_b, 3) if peak_a and peak_b else None}
    return {"audio": after["audio"], "model": after["model"], "duration_s": after["duration_s"], "stages": rows}


def inputs_from(args: argparse.Namespace) -> list[Path]:
    try:
        from long_audio import make_long_audio  # run as a script: bench/ is on the path
    except ImportError:
        from bench.long_audio import make_long_audio

    inputs = [Path(a) for a in args.audio]
    for path in inputs:
        if not path.is_file():
            raise SystemExit(f"bench_speed: error: no audio file {path}")
    for minutes in args.minutes:
        print(f"making {minutes:g} min of corpus audio...", file=sys.stderr)
        inputs.append(make_long_audio(minutes))
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", nargs="*", default=[str(AMI)], help="input files (default: the AMI 60 s mixture)")
    parser.add_argument("--minutes", nargs="*", type=float, default=[30.0],
                        help="also corpus concatenations of these lengths, made under the temp folder (default: 30)")
    parser.add_argument("--models", nargs="+", default=["auto"],
                        help="Whisper models (default auto: the default model and every larger one present)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--speakers", default="auto")
    parser.add_argument("--asr", action="append", default=[], metavar="KEY=VALUE",
                        help="an AsrOptions field for every run, e.g. --asr batch_size=1 (repeatable; a baseline "
                             "whose AsrOptions lacks the field runs with its own behaviour, noted in the JSON)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per input and code (default 1; 2 with a baseline)")
    parser.add_argument("--baseline-commit", metavar="REV", help="also run the code of this commit, interleaved")
    parser.add_argument("--baseline-dir", type=Path, help="where the baseline worktree goes "
                        "(default: $TMPDIR/tonescribe-baseline-<commit>)")
    parser.add_argument("--json", type=Path, help="write all runs and the summary here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="tiny.en", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child_main(args)

    repeats = args.repeats or (2 if args.baseline_commit else 1)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    inputs = inputs_from(args)
    if not inputs:
        parser.error("nothing to run: give --audio FILE... or --minutes N...")
    models = available_models(args.models)
    sides = [("after" if args.baseline_commit else "current", REPO)]
    if args.baseline_commit:
        sides.insert(0, ("before", baseline_worktree(args.baseline_commit, args.baseline_dir)))
    report = {"machine": machine_info(), "argv": sys.argv[1:], "models": models,
              "code": {side: code_version(root) for side, root in sides}, "runs": [], "summary": [], "comparison": [], "failures": []}
    for audio in inputs:
        for model in models:
            by_side: dict[str, list[dict]] = {side: [] for side, _ in sides}
            for r in range(repeats):
                for side, root in sides:
                    print(f"{audio.name} · {model} · {side} ({root}) · run {r + 1}/{repeats}", file=sys.stderr)
                    try:
                        result = run_child(root, audio, model, args)
                    except ChildFailed as exc:
                        print(exc, file=sys.stderr)
                        report["failures"].append({"audio": str(audio), "model": model, "side": side, "error": str(exc)})
                        continue
                    result["side"] = side
                    report["runs"].append(result)
                    by_side[side].append(result)
                    print(f"  end to end {result['duration_s'] / result['process_s']:.1f}× real time, "
                          f"peak RSS {result['vm_hwm_mb']:.0f} MB", file=sys.stderr)
            summaries = {side: summarise(runs, code_label(side, report["code"][side]))
                         for side, runs in by_side.items() if runs}
            for side, summary in summaries.items():
                summary["side"] = side
                report["summary"].append(summary)
            if "before" in summaries and "after" in summaries:
                report["comparison"].append(compare(summaries["before"], summaries["after"]))
    report["machine"]["loadavg_end"] = os.getloadavg()
    report["memory_growth"] = memory_growth(report["summary"])
    text = markdown(report["summary"], report["comparison"]) if report["summary"] else "no run completed"
    for failure in report["failures"]:
        text += f"\n\nFAILED: {failure['error'].splitlines()[0]}"
    print(text)
    print(f"\nmachine: {report['machine'].get('cpu_model')}, {report['machine']['cpus']} CPUs; "
          f"load average {report['machine']['loadavg_start'][0]:.1f} at start, "
          f"{report['machine']['loadavg_end'][0]:.1f} at end (timings are only comparable on an idle machine)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
