"""`localnet sweep` end to end on the shipped MNIST (a small subset): early kill keeps exactly
the best trials, a SIGKILLed sweep reruns only what is unfinished, grid mode, bad input."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from sweep.sweep_helpers import REPO, sweep_args, table, write_files

from localnet.cli import main
from localnet.sweep.trials import read_metrics


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


@pytest.mark.slow
def test_keep_2_after_1_continues_exactly_the_2_best(files):
    out = files / "sweep"
    result = CliRunner().invoke(main, sweep_args(files, out, "--keep", "2", "--after", "1", "--jobs", "2"))
    assert result.exit_code == 0, result.output
    rows = table(out)
    assert len(rows) == 6
    first = {row["name"]: read_metrics(out / "runs" / row["name"])[0]["test_error"] for row in rows}
    best_two = sorted(first, key=lambda name: (first[name], name))[:2]
    done = sorted(row["name"] for row in rows if row["status"] == "done")
    assert done == sorted(best_two)
    for row in rows:
        assert int(row["epochs"]) == (2 if row["name"] in best_two else 1)
        assert row["status"] in ("done", "stopped")
    # A continued trial resumed from its epoch-1 checkpoint rather than starting again.
    log = (out / "runs" / f"{best_two[0]}.log").read_text()
    assert "resuming" in log
    assert "| trial |" in (out / "report.md").read_text()


@pytest.mark.slow
def test_grid_mode_names_runs_by_variant_and_seed(files):
    out = files / "grid"
    args = ["sweep", str(files / "tiny.toml"), "--variant", "slow: optim.lr=1e-4", "--variant", "fast: optim.lr=3e-3",
            "--seeds", "0,1", "--epochs", "1", "--data-dir", str(REPO / "data" / "mnist"), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = table(out)
    assert [row["name"] for row in rows] == ["slow-s0", "slow-s1", "fast-s0", "fast-s1"]
    assert [row["seed"] for row in rows] == ["0", "1", "0", "1"]
    assert all(row["status"] == "done" for row in rows)
    assert "seed = 1" in (out / "runs" / "fast-s1" / "config.toml").read_text()


@pytest.mark.slow
def test_sigkilled_sweep_reruns_only_unfinished_trials(files):
    out = files / "killed"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "localnet.cli", *sweep_args(files, out, "--jobs", "1")]
    sweep = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until two trials are finished
        if (out / "trials.csv").exists() and sum(r["status"] == "done" for r in table(out)) >= 2:
            break
        time.sleep(0.1)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait(timeout=30)
    before = {row["name"]: row for row in table(out)}
    finished = [name for name, row in before.items() if row["status"] == "done"]
    assert 2 <= len(finished) < 6, before
    stamps = {name: (out / "runs" / name / "params.npz").stat().st_mtime_ns for name in finished}

    result = CliRunner().invoke(main, sweep_args(files, out, "--jobs", "2"))
    assert result.exit_code == 0, result.output
    assert f"training {6 - len(finished)} trial(s)" in result.output
    for name in finished:  # untouched
        assert (out / "runs" / name / "params.npz").stat().st_mtime_ns == stamps[name]
    rerun = table(out)
    assert all(row["status"] == "done" and row["epochs"] == "2" for row in rerun)

    straight = files / "straight"
    assert CliRunner().invoke(main, sweep_args(files, straight, "--jobs", "2")).exit_code == 0
    assert rerun == table(straight)


@pytest.mark.slow
def test_a_rerun_with_other_arguments_is_refused(files):
    out = files / "sweep"
    assert CliRunner().invoke(main, sweep_args(files, out, "--epochs", "1", "--trials", "1")).exit_code == 0
    result = CliRunner().invoke(main, sweep_args(files, out, "--epochs", "1", "--trials", "2"))
    assert result.exit_code == 2
    assert "holds a different sweep" in result.output


@pytest.mark.parametrize(("space", "extra", "message"), [
    ('"optim.lr" = {loguniform = [-1e-5, 3e-4]}', (), "must be > 0"),
    ('"optim.lr" = {uniform = [3e-4, 1e-5]}', (), "is empty"),
    ('"optim.lr" = {gaussian = [0, 1]}', (), "unknown distribution"),
    ('"optim.lrr" = {uniform = [1e-5, 3e-4]}', (), "optim.lrr"),
    ('"optim.lr" = {uniform = [1e-5, 3e-4]}', ("--keep", "2"), "need --after"),
    ('"optim.lr" = {uniform = [1e-5, 3e-4]}', ("--keep", "2", "--after", "2"), "--after 2 must be between"),
    ('"optim.lr" = {uniform = [1e-5, 3e-4]}', ("--runner", "slurm"), "unknown runner 'slurm'"),
])
def test_bad_input_is_one_line_and_exit_2(files, space, extra, message):
    (files / "space.toml").write_text(space)
    result = CliRunner().invoke(main, sweep_args(files, files / "bad", *extra))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert not (files / "bad").exists()  # checked before anything is written


def test_the_trials_table_round_trips_and_names_run_dirs_inside_the_sweep(tmp_path):
    from localnet.sweep.trials import Trial, read_table, write_table

    trials = [Trial(0, "trial000", 11, {"optim.lr": "0.001"}, "done", 2, 1.5, 2, 1.6),
              Trial(1, "trial001", 12, {"optim.lr": "1e-05"})]
    write_table(tmp_path / "trials.csv", trials, ["optim.lr"], tmp_path / "runs")
    assert read_table(tmp_path / "trials.csv") == (trials, ["optim.lr"])
    with (tmp_path / "trials.csv").open() as handle:
        assert [row["run_dir"] for row in csv.DictReader(handle)] == ["runs/trial000", "runs/trial001"]
