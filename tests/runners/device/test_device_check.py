"""runners/device_check: the CPU-sized run end to end (slow), and its parts: extras by CUDA
major, a stage killed at its time box, the ImageNet step timer, the summary's arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from runners.device.check import run_stage
from runners.device.report import markdown, summarize
from runners.device.stages import ROOT, Options, requirements, unmet

SCRIPT = ROOT / "runners" / "device_check"


def check(args: list[str], out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(SCRIPT), *args, "--out", str(out)], capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.slow
def test_small_cpu_run_passes_every_stage(tmp_path):
    """--backend numpy --small runs every stage's code on the CPU; only ImageNet is skipped
    (no config), and both reports say so."""
    done = check(["--backend", "numpy", "--small"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "device_check.json").read_text())
    status = {s["name"]: s["status"] for s in report["stages"]}
    expected_imagenet = "ok" if (ROOT / "models" / "imagenet_lc_sdtp.toml").is_file() else "skipped"
    assert status == {"install": "ok", "env": "ok", "tests": "ok", "fc": "ok", "lc_step": "ok", "lc_ops": "ok",
                      "cifar_epoch": "ok", "imagenet": expected_imagenet}, report["stages"]
    summary = report["summary"]
    assert set(summary["fc_ratios"]) == {"bp", "fa", "dfa"} and set(summary["lc_step_ratios"]) == {"bp", "fa", "sdtp"}
    fc_rows = {r["rule"]: r for r in report["stages"][[s["name"] for s in report["stages"]].index("fc")]["rows"]}
    for rule, ratios in summary["fc_ratios"].items():  # the summary quotes the stage's own rows
        assert ratios == {"ratio": fc_rows[rule]["ratio"], "paired": fc_rows[rule]["ratio_paired_median"]}
    assert set(summary["fc_step_profile_ms"]) == {"bp", "fa", "dfa"} and set(summary["lc_step_step_profile_ms"]) == {
        "bp", "fa", "sdtp"}
    cifar = summary["cifar_lc_bp"]
    assert cifar["grid_hours_at_bp_cost"] == pytest.approx(cifar["bp_500_epochs_hours"] * cifar["grid_configs"])
    assert cifar["grid_configs"] > 0 and "grid_hours_weighted" in cifar  # every grid config was weighted
    assert summary["peak_memory_bytes"]["host_max_rss_bytes"] > 0
    page = (tmp_path / "device_check.md").read_text()
    for heading in ("| stage | status |", "## MNIST-FC against torch", "## CIFAR-LC, one step", "## LC layer ops",
                    "## CIFAR-10 LC BP, one epoch", "## ImageNet-LC SDTP"):
        assert heading in page
    assert (tmp_path / "device_check.log").stat().st_size > 0


def test_unknown_stage_is_one_line(tmp_path):
    done = check(["--backend", "numpy", "--stages", "env,warp"], tmp_path)
    assert done.returncode == 2 and "unknown stage(s) warp" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "device_check.json").exists()


@pytest.mark.parametrize("major, extra, cupy", [(13, "gpu-cuda13", "cupy-cuda13x"), (12, "gpu", "cupy-cuda12x"),
                                                (None, None, None)])
def test_the_cupy_extra_follows_the_cuda_major(major, extra, cupy):
    reqs, chosen = requirements(major)
    assert chosen == extra
    cupies = [r for r in reqs if r.startswith("cupy")]
    assert (cupies[0].split(">")[0] if cupies else None) == cupy
    assert any(r.startswith("numpy") for r in reqs) and any(r.startswith("pytest") for r in reqs)


def test_unmet_names_what_is_missing_or_too_old():
    assert unmet(["numpy>=1", "pytest"]) == []
    assert unmet(["no-such-package-xyz>=1"]) == ["no-such-package-xyz>=1"]
    assert unmet(["numpy>=999"])[0].startswith("numpy>=999 (have ")


def test_a_stage_past_its_time_box_is_killed_and_recorded(tmp_path):
    log = tmp_path / "device_check.log"
    record = run_stage("tests", Options(backend="numpy", small=True), timeout=0.5, log=log)
    assert record["status"] == "timeout" and record["error"] == "killed after 0 s" and record["seconds"] < 30
    assert "===== stage tests" in log.read_text()


def test_step_timer_runs_an_sdtp_config_on_synthetic_data():
    """The ImageNet stage's timer, on a narrowed CIFAR-LC SDTP config (no ImageNet config needed)."""
    from runners.bench.lc_step import NARROW
    from runners.device.train import steps_per_second

    out = steps_per_second(ROOT / "models" / "cifar_lc_sdtp_parallel.toml", 2, Options(backend="numpy", small=True),
                           NARROW)
    assert out["input_shape"] == [32, 32, 3] and out["steps"] == 2


def test_summary_weights_the_grid_by_measured_step_cost():
    report = {"options": {"backend": "cupy", "small": False}, "budget_seconds": 470, "stages": [
        {"name": "env", "status": "ok", "seconds": 1, "gpu": "Card X", "cupy": "14.2.0", "memory": {}},
        {"name": "lc_step", "status": "ok", "seconds": 1, "memory": {"cupy_pool_bytes": 3 * 2**30},
         "rows": [{"rule": r, "step_ms": ms, "batch": 128, "localnet": 1.0, "torch": 2.0, "ratio": 0.5,
                   "ratio_paired_median": 0.5} for r, ms in (("bp", 10.0), ("fa", 8.0), ("sdtp", 30.0))]},
        {"name": "cifar_epoch", "status": "ok", "seconds": 1, "epoch_seconds": 36.0, "train_images_per_second": 1500.0,
         "projected_500_epochs_hours": 5.0, "memory": {"cupy_pool_bytes": 2**30},
         "grid_configs": ["cifar_lc_bp.toml", "cifar_lc_dfa.toml", "cifar_lc_sdtp_alternating.toml"]}]}
    s = summarize(report)
    assert s["card"] == "Card X" and s["peak_memory_bytes"] == {"cupy_pool_bytes": 3 * 2**30}
    c = s["cifar_lc_bp"]
    assert c["grid_hours_at_bp_cost"] == 15.0
    assert c["grid_hours_weighted"] == pytest.approx(5.0 * (1 + 0.8 + 3.0))  # bp, dfa as fa, sdtp
    report["summary"] = s
    page = markdown(report)
    assert "Card: **Card X**" in page and "| 36.0 | 1,500 | 5.0 | 3 | 15.0 | 24.0 |" in page


def test_a_malformed_stage_result_still_leaves_both_reports(tmp_path):
    from runners.device.check import write_reports

    report = {"options": {"backend": "cupy", "small": False}, "budget_seconds": 470,
              "stages": [{"name": "fc", "status": "ok", "seconds": 1, "rows": [{"rule": "bp"}]}]}
    write_reports(report, tmp_path)
    saved = json.loads((tmp_path / "device_check.json").read_text())
    assert saved["summary_error"].startswith("KeyError") and saved["stages"][0]["rows"] == [{"rule": "bp"}]
    assert "The summary failed" in (tmp_path / "device_check.md").read_text()
