"""runners.drivers.reproduce: a tiny grid runs once per (config, seed), reports against the
paper cell by cell, and a second call trains nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import small_toml

from localnet.data.synthetic import write_synthetic_cifar10, write_synthetic_mnist
from localnet.errors import ConfigError
from localnet.sweep.trials import read_metrics
from runners.drivers.reproduce import grid_configs, main, reproduce


@pytest.fixture
def grid(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mnist_fc_fa.toml").write_text(small_toml(name="mnist_fc_fa"))
    (models / "mnist_fc_bp.toml").write_text(small_toml(name="mnist_fc_bp").replace('name = "fa"', 'name = "bp"'))
    (models / "cifar_fc_bp.toml").write_text("not used")
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    return models, data


def test_a_grid_runs_and_reports_against_the_paper(tmp_path, grid):
    models, data = grid
    out = tmp_path / "out"
    said: list[str] = []
    report = reproduce("mnist_fc", out, [0], 2, jobs=2, data_dir=str(data), models=models, echo=said.append)
    assert (out / "report.md").read_text() == report
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["mnist_fc_bp-s0", "mnist_fc_fa-s0"]
    bp = next(line for line in report.splitlines() if line.startswith("| BP |"))
    fa = next(line for line in report.splitlines() if line.startswith("| FA |"))
    assert "| 2 | 1 | 1.48 |" in bp and "| 2 | 1 | 1.85 |" in fa  # 2 epochs, 1 run, the paper's number
    assert said[0] == "2 run(s) to train, runner local: mnist_fc_bp-s0, mnist_fc_fa-s0"
    assert [line.split("] ")[0] for line in said[1:]] == ["[1/2", "[2/2"]  # progress, in finishing order
    assert sorted(line.split("] ")[1] for line in said[1:]) == ["done: mnist_fc_bp-s0", "done: mnist_fc_fa-s0"]
    said.clear()
    reproduce("mnist_fc", out, [0], 2, jobs=2, data_dir=str(data), models=models, echo=said.append)
    assert said == []  # finished runs are not run again


def test_finished_runs_are_archived_as_they_finish(tmp_path, grid):
    models, data = grid
    out, archive = tmp_path / "out", tmp_path / "docs" / "runs"
    said: list[str] = []
    reproduce("mnist_fc", out, [0], 1, jobs=1, data_dir=str(data), models=models, echo=said.append, archive_to=archive)
    assert sorted(p.name for p in archive.iterdir()) == ["mnist_fc_bp-s0", "mnist_fc_fa-s0"]
    for name in ("mnist_fc_bp-s0", "mnist_fc_fa-s0"):
        assert sorted(p.name for p in (archive / name).iterdir()) == ["config.toml", "metrics.jsonl", "summary.json"]
        assert (archive / name / "metrics.jsonl").read_bytes() == (out / name / "metrics.jsonl").read_bytes()
    assert said[1].startswith("[1/2] done: mnist_fc_bp-s0, archived in ")


def test_grid_and_rule_selection_errors_name_the_choices(grid):
    models, _ = grid
    assert [p.stem for p in grid_configs("mnist_fc", ["bp"], models)] == ["mnist_fc_bp"]
    (models / "mnist_fc_dtp_parallel.toml").write_text("not read")
    (models / "mnist_fc_dtp_alternating.toml").write_text("not read")
    assert [p.stem for p in grid_configs("mnist_fc", ["dtp_parallel", "fa"], models)] == ["mnist_fc_dtp_parallel",
                                                                                        "mnist_fc_fa"]
    with pytest.raises(ConfigError, match="unknown grid 'mnist'"):
        grid_configs("mnist", None, models)
    with pytest.raises(ConfigError, match="no mnist_fc config for sdtp; this grid has bp, dtp, fa "
                                          r"\(or one config: bp, dtp_alternating, dtp_parallel, fa\)"):
        grid_configs("mnist_fc", ["bp", "sdtp"], models)
    with pytest.raises(ConfigError, match="no mnist_lc_"):
        grid_configs("mnist_lc", None, models)


def test_bad_rules_are_one_line_and_exit_2(grid):
    models, _ = grid
    result = CliRunner().invoke(main, ["mnist_fc", "--rules", "dtp", "--models", str(models)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --rules: no mnist_fc config for dtp")


LC_CONFIG = """
name = "cifar_lc_sdtp_parallel"
seed = 3
[data]
dataset = "cifar10"
batch_size = 8
eval_batch_size = 32
[data.augment]
flip = "horizontal"
crop_padding = 2
[[layers]]
type = "locally_connected"
kernel = 3
channels = 4
stride = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 16
[[layers]]
type = "softmax"
units = 10
[rule]
name = "sdtp"
schedule = "parallel"
sigma = 0.1
[optim]
lr = 0.003
[train]
epochs = 40
checkpoint_every = 3
"""


def _curve(run) -> list[dict]:
    rows = read_metrics(run)
    return [{k: v for k, v in row.items() if k not in ("seconds", "examples_per_second")} for row in rows]


@pytest.mark.slow
def test_a_killed_lc_reproduction_resumes_to_the_uninterrupted_curve(tmp_path):
    """SIGKILL `localnet reproduce cifar_lc` (and with it its run) mid-run; the same command
    again resumes the run from its checkpoint and ends with the curve and parameters of a
    reproduction that was never interrupted; the run's log shows the resume."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "cifar_lc_sdtp_parallel.toml").write_text(LC_CONFIG)
    data = tmp_path / "data"
    write_synthetic_cifar10(data, n_train_per_batch=16, n_test=16)  # 80 training images: 10 steps an epoch
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    reproduce("cifar_lc", whole, [0], None, jobs=1, data_dir=str(data), models=models, echo=lambda line: None)
    command = [sys.executable, "-m", "runners.drivers.reproduce", "cifar_lc", "--out", str(cut), "--jobs", "1",
               "--data-dir", str(data), "--models", str(models)]
    parent = subprocess.Popen(command, cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    run = cut / "cifar_lc_sdtp_parallel-s0"
    try:
        deadline = time.monotonic() + 120
        while len(read_metrics(run)) < 3:  # killed three epochs into forty
            assert parent.poll() is None and time.monotonic() < deadline, "the reproduction ended before the kill"
            time.sleep(0.01)
        parent.send_signal(signal.SIGKILL)  # its run gets SIGKILL too (it dies with its parent)
    finally:
        parent.kill()
        parent.wait()
    for _ in range(500):  # the run process follows its parent
        if not (run / "run.lock").exists() or _unlocked(run):
            break
        time.sleep(0.01)
    assert not (run / "summary.json").exists() and len(read_metrics(run)) < 40
    said: list[str] = []
    reproduce("cifar_lc", cut, [0], None, jobs=1, data_dir=str(data), models=models, echo=said.append)
    assert said[0] == "1 run(s) to train, runner local: cifar_lc_sdtp_parallel-s0"
    assert _curve(run) == _curve(whole / "cifar_lc_sdtp_parallel-s0") and len(_curve(run)) == 40
    with np.load(run / "params.npz") as a, np.load(whole / "cifar_lc_sdtp_parallel-s0" / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
    assert "resuming " in (cut / "cifar_lc_sdtp_parallel-s0.log").read_text()


def _unlocked(run) -> bool:
    from localnet.errors import LocalnetError
    from localnet.lock import RunLock

    try:
        RunLock(run).check_free()
    except LocalnetError:
        return False
    return True
