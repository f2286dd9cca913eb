"""The Ray runner: a local Ray instance (started by the sweep) gives the same trials table as
the local runner, and a trial whose Ray worker is killed retries from its checkpoint and ends
with exactly the parameters of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sweep.sweep_helpers import CONFIG, REPO, sweep_args, table, write_files

from localnet.cli import main

pytestmark = pytest.mark.slow
MNIST = str(REPO / "data" / "mnist")


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


def test_ray_and_local_give_identical_tables(files):
    local, ray = files / "local", files / "ray"
    args = ("--keep", "2", "--after", "1", "--jobs", "2")
    result = CliRunner().invoke(main, sweep_args(files, local, *args))
    assert result.exit_code == 0, result.output
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "localnet.cli", *sweep_args(files, ray, *args, "--runner", "ray")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert table(ray) == table(local)
    assert sum(row["status"] == "done" for row in table(ray)) == 2


def _trial_process(run_dir: Path) -> int | None:
    """The pid of the `localnet run` process training into `run_dir`, if one runs."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"localnet.cli" in cmdline and str(run_dir).encode() in cmdline:
                return int(entry.name)
    return None


def _parent(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the Ray worker through /proc")
def test_killed_ray_worker_retries_the_trial_from_its_checkpoint(tmp_path):
    config = CONFIG.replace("limit_train = 300", "limit_train = 6000").replace("epochs = 2", "epochs = 3")
    (tmp_path / "long.toml").write_text(config.replace("checkpoint_every = 2", "checkpoint_every = 10"))
    common = ["--variant", "only: optim.lr=1e-3", "--data-dir", MNIST]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = tmp_path / "ray"
    sweep = subprocess.Popen([sys.executable, "-m", "localnet.cli", "sweep", str(tmp_path / "long.toml"), *common,
                              "--runner", "ray", "--out", str(out)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = out / "runs" / "only-s0"
    killed = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and killed is None:
            pid = _trial_process(run_dir)
            if pid and any((run_dir / "checkpoints").glob("ckpt-*.npz")):
                killed = _parent(pid)  # the Ray worker that runs this trial's task
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.01)
        assert killed is not None, "the trial never wrote a checkpoint"
        assert sweep.wait(timeout=300) == 0
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    log = (out / "runs" / "only-s0.log").read_text()
    assert "resuming" in log, log  # the retry continued from the checkpoint
    assert table(out)[0]["status"] == "done"

    straight = tmp_path / "straight"
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "long.toml"), *common, "--out", str(straight)])
    assert result.exit_code == 0, result.output
    with np.load(run_dir / "params.npz") as got, np.load(straight / "runs" / "only-s0" / "params.npz") as want:
        assert sorted(got.files) == sorted(want.files)
        for key in want.files:
            assert np.array_equal(got[key], want[key]), key
