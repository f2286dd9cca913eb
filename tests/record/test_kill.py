"""A run killed mid-way (SIGKILL, no cleanup) leaves a store that opens and reads up to its
last flushed chunk, with plain zarr, the reader, `localnet inspect` and xarray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from localnet.record import RecordReader
from localnet.record.cli import inspect

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from localnet import build_network, get_backend, parse_config
    from localnet.record import RecordConfig, Recorder

    config = parse_config({"name": "killed", "rule": {"name": "fa"}, "layers": [
        {"type": "dense", "units": 12}, {"type": "dense", "units": 12}, {"type": "softmax", "units": 10}]})
    net = build_network(config, get_backend("numpy", "float32"), (20,), 10)
    record = RecordConfig(enabled=True, every=1, chunk=3, probes=("forward", "feedback", "act_mean", "update_norm"),
                          angle=True)
    recorder = Recorder(record, net, sys.argv[1], seed=0, batch_size=8, background=sys.argv[2] == "thread",
                        on_flush=lambda rows: print("flushed", rows, flush=True))
    rng = np.random.default_rng(0)
    step = 0
    while True:  # trains until killed
        net.step(step, rng.random((8, 20), dtype=np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8)])
        recorder.end_step(step, 1 + step // 5)
        step += 1
""")


@pytest.mark.slow
@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_killed_run_leaves_a_readable_store(tmp_path, writer):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    store = tmp_path / "record.zarr"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen([sys.executable, str(script), str(store), writer], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    flushed = 0
    deadline = time.monotonic() + 120
    try:
        while flushed < 9 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the child stopped early: {child.stderr.read()}")
            flushed = int(line.split()[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL and flushed >= 9

    reader = RecordReader(store)
    rows = reader.rows
    assert rows >= 9 and rows % 3 == 0  # whole chunks only
    assert reader.attrs["complete"] is False and "cost" not in reader.attrs
    for layer in reader.layers:
        coords = reader.coords(layer)
        assert np.array_equal(coords["step"], np.arange(rows))
        assert np.array_equal(coords["epoch"], 1 + np.arange(rows) // 5)
        for probe in reader.probes(layer):
            values = reader.read(layer, probe)
            assert values.shape[0] == rows and np.isfinite(values).all(), (layer, probe)
            assert reader.array(layer, probe).shape[0] >= rows  # a flush cut short may have grown it
    root = zarr.open_group(store, mode="r")
    assert root["layer2"]["forward"][: rows].shape == (rows, 8, 12)
    result = CliRunner().invoke(inspect, [str(store)])
    assert result.exit_code == 0 and "interrupted" in result.output, result.output
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(store, group="layer1", consolidated=False).isel(step=slice(0, rows))
    np.testing.assert_array_equal(ds["forward"].values, reader.read("layer1", "forward"))
