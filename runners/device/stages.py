"""The stages of runners/device_check, each a function of the run's options returning a JSON-able dict.

Each runs in its own process (runners.device.check runs `stage NAME`), so a hang, a CUDA
error or an out-of-memory kills only that stage. `small` sizes every stage down so that the
whole check runs in a minute or two on a CPU (backend numpy): the same code, not the numbers.
"""

from __future__ import annotations

import importlib.metadata
import re
import resource
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
#: requirements the check does without, and why (they are reported, not fatal)
TOLERATED = {"ray": "only the sweep's Ray runner needs it (its test is slow, not gpu); too large to carry as a wheel"}
CIFAR_LC_LAYERS = [((32, 32, 3), 5, 64, 2), ((16, 16, 64), 5, 128, 2), ((8, 8, 128), 3, 256, 1)]


@dataclass(frozen=True)
class Options:
    """backend: "cupy" or "numpy"; small: CPU sizing sizes; wheels: a folder of wheels for
    packages the machine lacks; imagenet_config: the ImageNet-LC SDTP config, if any."""

    backend: str = "cupy"
    small: bool = False
    wheels: Path = ROOT / ".whl"
    imagenet_config: Path = ROOT / "models" / "imagenet_lc_sdtp.toml"


def memory(backend: Any = None) -> dict[str, int | None]:
    """Peak memory of this stage's process: host max RSS; CuPy's pool high-water; torch's peak."""
    out: dict[str, int | None] = {"host_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if backend is not None:
        out["cupy_pool_bytes"] = backend.memory_held()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        out["torch_max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
    return out


def cuda_major() -> tuple[int | None, str]:
    """The CUDA major version the driver supports (nvidia-smi), else torch's build; (None, why) on a CPU."""
    try:
        text = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout
        found = re.search(r"CUDA Version:\s*(\d+)\.\d+", text)
        if found:
            return int(found.group(1)), "nvidia-smi (the driver's CUDA version)"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        import torch  # noqa: PLC0415

        if torch.version.cuda:
            return int(torch.version.cuda.split(".")[0]), "torch.version.cuda (no nvidia-smi)"
    except ImportError:
        pass
    return None, "no nvidia-smi and no CUDA build of torch: a CPU machine"


def requirements(major: int | None) -> tuple[list[str], str | None]:
    """The project's requirements (dependencies, the test extra and, with a CUDA major, the
    matching gpu extra: gpu-cuda<major>, or gpu for CUDA 12), and the gpu extra chosen."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    reqs = list(project["dependencies"]) + list(extras.get("test", []))
    extra = None
    if major is not None:
        extra = f"gpu-cuda{major}" if f"gpu-cuda{major}" in extras else "gpu" if major == 12 else None
        reqs += extras.get(extra, []) if extra else [f"cupy-cuda{major}x"]
    return reqs, extra


def unmet(reqs: list[str]) -> list[str]:
    """The requirements not satisfied by what is installed."""
    from packaging.requirements import Requirement  # noqa: PLC0415

    missing = []
    for text in reqs:
        req = Requirement(text)
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (have {version})")
    return missing


def install(opts: Options) -> dict[str, Any]:
    """Install the project with its gpu and test extras, offline: what is missing comes from
    the wheels folder; the project itself is installed editable without build isolation.
    small: pip's --dry-run, so the environment is left as it is."""
    major, source = cuda_major()
    reqs, extra = requirements(major)
    missing = unmet(reqs)
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--disable-pip-version-check"]
    if opts.small:
        pip.append("--dry-run")
    result: dict[str, Any] = {"cuda_major": major, "cuda_major_from": source, "gpu_extra": extra,
                              "missing_before": missing, "wheels": sorted(p.name for p in opts.wheels.glob("*.whl"))}
    names = [m.split(" (have")[0] for m in missing]
    if names:
        if not result["wheels"]:
            result["wheels_note"] = f"{opts.wheels} holds no wheels: `python -m runners.device.check wheels` makes them"
        done = subprocess.run([*pip, "--find-links", str(opts.wheels), *names], capture_output=True, text=True)
        result["wheel_install"] = (done.stdout + done.stderr)[-2000:]
    project = subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], capture_output=True, text=True)
    result["project_install"] = (project.stdout + project.stderr)[-2000:]
    result["missing_after"] = unmet(reqs) if not opts.small else missing
    from packaging.requirements import Requirement  # noqa: PLC0415

    missing_names = {Requirement(m.split(" (have")[0]).name for m in result["missing_after"]}
    fatal = sorted(missing_names - set(TOLERATED))
    result["tolerated"] = {k: v for k, v in TOLERATED.items() if k in missing_names}
    result["status"] = "ok" if project.returncode == 0 and not fatal else "failed"
    return result


def env(opts: Options) -> dict[str, Any]:
    """The card and the versions: nvidia-smi's name, driver and memory; CUDA, CuPy, torch, numpy, python."""
    import platform  # noqa: PLC0415

    import torch  # noqa: PLC0415

    from localnet.backend import get_backend  # noqa: PLC0415

    out: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                           "torch_cuda": torch.version.cuda, "torch_sees_gpu": torch.cuda.is_available()}
    try:
        query = "name,driver_version,memory.total"
        text = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        if text:
            out["nvidia_smi"] = text.splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        out["nvidia_smi"] = None
    out.update(get_backend(opts.backend, "float32").device_info())
    return out


def tests(opts: Options) -> dict[str, Any]:
    """The GPU test subset (`pytest -m gpu`); counts from its JUnit XML, the failures by name."""
    import importlib.util  # noqa: PLC0415

    report = Path(f"/tmp/device_check_junit_{time.time_ns()}.xml")
    # On a GPU machine with pytest-xdist, four workers share the card: the suite is mostly
    # Python, kernel compilation and small launches, so workers overlap well.
    workers = ["-n", "4"] if opts.backend == "cupy" and importlib.util.find_spec("xdist") else []
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", *workers,
                           "--durations=10", f"--junitxml={report}"], cwd=ROOT, capture_output=True, text=True)
    out: dict[str, Any] = {"exit_code": done.returncode, "workers": len(workers) and 4,
                           "tail": (done.stdout + done.stderr)[-4000:]}
    if report.is_file():
        suites = ET.parse(report).getroot()
        suite = suites if suites.tag == "testsuite" else suites[0]
        out.update({k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")})
        out["failed"] = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
                         if case.find("failure") is not None or case.find("error") is not None][:30]
        report.unlink()
    ran = out.get("tests", 0) - out.get("skipped", 0)
    ok = done.returncode in (0, 5) and not out.get("failures") and not out.get("errors")
    if opts.backend == "cupy" and ran == 0:
        ok, out["note"] = False, "every GPU test was skipped: CuPy or the GPU is not usable"
    out["status"] = "ok" if ok else "failed"
    return out


def fc(opts: Options) -> dict[str, Any]:
    """MNIST-FC bp, fa, dfa: localnet against torch on the same device, batch 128."""
    from localnet.backend import get_backend  # noqa: PLC0415
    from runners.bench.fc import run_bench, synthetic_batches, time_localnet  # noqa: PLC0415

    batch, steps, repeats = (8, 2, 2) if opts.small else (128, 200, 3)
    rows = run_bench(["bp", "fa", "dfa"], batch, steps, repeats, None, backend=opts.backend)
    x, y = synthetic_batches(batch, 4)
    profile = {}
    for rule in ("bp", "fa", "dfa"):  # host vs device time of one step: is it Python- and launch-bound?
        timer = time_localnet(rule, batch, 1, x, y, backend_name=opts.backend)
        profile[rule] = timer.backend.profile(timer.one_step, 3 if opts.small else 20)
    return {"rows": rows, "profile": profile, "memory": memory(get_backend(opts.backend, "float32"))}


def lc_step(opts: Options) -> dict[str, Any]:
    """CIFAR-LC bp, fa, sdtp one training step: localnet against torch unfold-LC, batch 128."""
    from localnet.backend import get_backend  # noqa: PLC0415
    from runners.bench.lc_step import CIFAR_SHAPE, CLASSES, NARROW, run_lc_step_bench, time_localnet_step  # noqa: PLC0415

    batch, steps, repeats = (8, 2, 2) if opts.small else (128, 20, 3)
    rows = run_lc_step_bench(["bp", "fa", "sdtp"], batch, steps, repeats, opts.backend, narrow=opts.small)
    rng = np.random.default_rng(1)
    x, y = rng.random((batch, *CIFAR_SHAPE), dtype=np.float32), rng.integers(0, CLASSES, size=batch)
    profile = {}
    for rule in ("bp", "fa", "sdtp"):  # host vs device time of one step: is it Python- and launch-bound?
        timer = time_localnet_step(rule, batch, 1, x, y, opts.backend, NARROW if opts.small else ())
        profile[rule] = timer.backend.profile(timer.one_step, 3 if opts.small else 10)
        del timer
    return {"rows": rows, "profile": profile, "memory": memory(get_backend(opts.backend, "float32"))}


def lc_ops(opts: Options) -> dict[str, Any]:
    """Where an LC step's time goes: each CIFAR-LC layer's forward, weight gradient and transpose
    against torch, and col2im as array ops against the gather kernel (numpy: its twin)."""
    from localnet.backend import get_backend  # noqa: PLC0415
    from localnet.layers.patches import PatchGeometry, col2im_gather  # noqa: PLC0415
    from runners.bench.env import timed  # noqa: PLC0415
    from runners.bench.lc import run_lc_bench  # noqa: PLC0415

    layers = [((8, 8, 3), 3, 4, 2)] if opts.small else CIFAR_LC_LAYERS
    batch, repeats, calls = (8, 2, 1) if opts.small else (128, 3, 20)
    rows = run_lc_bench(batch, repeats, backend=opts.backend, calls=calls, layers=layers)
    backend = get_backend(opts.backend, "float32")
    col2im = []
    for in_shape, kernel, _, stride in layers:
        plain = PatchGeometry(in_shape, kernel, stride, backend)
        cols = backend.to_device(np.random.default_rng(0).standard_normal(
            (plain.positions, plain.patch_size, batch), dtype=np.float32)).transpose(0, 2, 1)
        if backend.name == "cupy":
            gather = PatchGeometry(in_shape, kernel, stride, backend, gpu_kernel=True)
            variants = {"array_ops": lambda g=plain, c=cols: g.col2im(c), "gather_kernel": lambda g=gather, c=cols: g.col2im(c)}
        else:
            variants = {"array_ops": lambda g=plain, c=cols: g.col2im(c),
                        "gather_twin": lambda g=plain, c=cols: col2im_gather(g, c)}
        row: dict[str, Any] = {"layer": f"{'x'.join(map(str, in_shape))} k{kernel} s{stride}", "batch": batch}
        for name, fn in variants.items():
            fn()
            row[f"{name}_ms"] = 1e3 * min(timed(fn, sync=backend.synchronize, calls=calls) for _ in range(repeats))
        col2im.append(row)
    return {"rows": rows, "col2im": col2im, "memory": memory(backend)}
