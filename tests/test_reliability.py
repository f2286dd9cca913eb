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
