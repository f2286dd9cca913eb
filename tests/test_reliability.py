"""Divergence stops the run with one line; a locked run directory is refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import tiny_config
from localnet.backend import get_backend
from localnet.guard import DivergenceError, FiniteGuard, check_parameters
from localnet.lock import RunLock
from localnet.errors import LocalnetError
from localnet.network import build_network
from localnet.run import prepare_run_dir


def test_guard_names_layer_kind_and_step():
    net = build_network(tiny_config("fa", [4, 4], 3), get_backend(), (2,), 3)
    net.engine.add_tap(FiniteGuard(np))
    net.nodes[1].params["W"][0, 0] = np.nan
    x, onehot = np.ones((2, 2), dtype=np.float32), np.eye(3, dtype=np.float32)[[0, 1]]
    with pytest.raises(DivergenceError) as info:
        net.step(7, x, onehot)
    message = str(info.value)
    assert "layer2 -> layer3" in message and "forward" in message and "step 7" in message
    assert "\n" not in message


def test_parameter_check_names_the_array():
    with pytest.raises(DivergenceError, match="parameter W of layer2"):
        check_parameters({"layer1/W": np.zeros(2), "layer2/W": np.array([np.inf])}, np, 3)


def test_live_lock_is_refused_and_stale_lock_taken_over(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "run.lock").write_text(f"{sleeper.pid}\n")
        with pytest.raises(LocalnetError, match=f"in use by a running localnet \\(pid {sleeper.pid}\\)"):
            prepare_run_dir(tmp_path, force=True)
        with pytest.raises(LocalnetError, match="in use"):
            RunLock(tmp_path).__enter__()
    finally:
        sleeper.kill()
        sleeper.wait()
    with RunLock(tmp_path) as lock:  # the owner is gone: the stale lock is taken over
        assert lock.owner() is not None
    assert not (tmp_path / "run.lock").exists()


RESUMABLE = """
name = "r"
seed = 5
[data]
batch_size = 8
[data.augment]
flip = "horizontal"
crop_padding = 2
[[layers]]
type = "dense"
units = 6
[[layers]]
type = "softmax"
units = 10
[rule]
name = "{rule}"
{extra}
[train]
epochs = 3
checkpoint_every = 2
keep_checkpoints = 2
"""


@pytest.mark.parametrize("rule,extra", [("fa", ""), ("sdtp", 'schedule = "alternating"\nsigma = 0.2')])
def test_interrupted_run_resumes_bit_identically(tmp_path, rule, extra):
    from localnet.config import parse_config
    from localnet.data.synthetic import write_synthetic_mnist
    from localnet.run import resume_experiment, run_experiment
    import json
    import tomllib

    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=40, n_test=10)  # 5 steps per pass
    config = parse_config(tomllib.loads(RESUMABLE.format(rule=rule, extra=extra)))
    quiet = lambda line: None  # noqa: E731
    run_experiment(config, str(data), tmp_path / "straight", echo=quiet)

    class Stop(Exception):
        pass

    import localnet.run as run_module
    original = run_module.FiniteGuard

    def stopping_guard(xp):
        def tap(message):
            if message.step == 13:  # mid-epoch (epoch 2 of an alternating run, epoch 3 otherwise)
                raise Stop
        return tap

    run_module.FiniteGuard = stopping_guard
    try:
        with pytest.raises(Stop):
            run_experiment(config, str(data), tmp_path / "cut", echo=quiet)
    finally:
        run_module.FiniteGuard = original
    assert not (tmp_path / "cut" / "run.lock").exists()
    newest = sorted((tmp_path / "cut" / "checkpoints").glob("ckpt-*.npz"))[-1]
    assert newest.name == "ckpt-0000000012.npz"
    newest.write_bytes(newest.read_bytes()[:100])  # a partial write: must be skipped with a warning
    lines = []
    resume_experiment(tmp_path / "cut", str(data), echo=lines.append)
    assert any("skipping checkpoint" in line and newest.name in line for line in lines)
    with np.load(tmp_path / "straight" / "params.npz") as a, np.load(tmp_path / "cut" / "params.npz") as b:
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]


def test_resume_needs_a_run_directory(tmp_path):
    from localnet.run import resume_experiment

    with pytest.raises(LocalnetError, match="not a run directory"):
        resume_experiment(tmp_path)
