"""The Zarr store: layout, attributes, whole-chunk flushes with one host copy each, and
readability with plain zarr (also mid-run) and xarray."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import zarr
from record.recording_helpers import small_config, synthetic_arrays, train

from localnet import Trainer, build_network, get_backend
from localnet.backend import Backend
from localnet.record import RecordConfig, Recorder, RecordReader
from localnet.record.store import PROBE_INFO, unit_dims


def test_layout_and_attributes(tmp_path):
    config = small_config("sdtp", schedule="parallel")
    record = RecordConfig(enabled=True, every=2, chunk=2, probes=("forward", "target", "act_mean", "inverse_error"))
    train(config, record, tmp_path / "r.zarr", n=24, epochs=2)  # 6 steps: 0, 2, 4 recorded
    root = zarr.open_group(tmp_path / "r.zarr", mode="r")
    assert root.metadata.zarr_format == 3
    attrs = root.attrs
    assert attrs["config"]["rule"]["name"] == "sdtp" and attrs["config"]["layers"][0]["units"] == 12
    assert set(attrs["versions"]) >= {"localnet", "numpy", "zarr", "python"}
    assert attrs["versions"]["zarr"] == zarr.__version__
    assert attrs["record"]["every"] == 2 and attrs["rows"] == 3 and attrs["complete"] is True
    assert attrs["cost"]["flushes"] == 2 and attrs["cost"]["recorded_steps"] == 3
    json.dumps(dict(attrs))  # plain JSON throughout
    assert sorted(root.group_keys()) == ["layer1", "layer2", "layer3"]
    group = root["layer2"]
    assert group.attrs["out_shape"] == [12] and group.attrs["role"] == "hidden"
    assert np.array_equal(group["step"][:], [0, 2, 4]) and np.array_equal(group["epoch"][:], [1, 1, 2])
    assert list(group["phase"][:]) == ["forward+target_inverse"] * 3
    assert np.array_equal(group["example"][:], attrs["examples"])
    forward = group["forward"]
    assert forward.shape == (3, 8, 12) and forward.chunks == (2, 8, 12) and forward.dtype == np.float32
    assert forward.metadata.dimension_names == ("step", "example", "unit")
    assert forward.attrs["units"] == PROBE_INFO["forward"][0] and forward.attrs["coordinates"] == "epoch phase"
    assert group["act_mean"].chunks == (2,) and group["step"].chunks == (2,)
    assert "inverse_error" in group and "inverse_error" not in root["layer1"]
    assert root["layer3"]["target"].metadata.dimension_names == ("step", "example", "unit")  # 10 = out units


def test_large_tensors_are_chunked_along_examples_too(tmp_path):
    from localnet.record.store import CHUNK_BYTES, RecordWriter

    writer = RecordWriter(tmp_path / "r.zarr", {}, {"layer1": {"out_shape": [32, 32, 64]}}, np.arange(8), 64,
                          np.float32)
    writer.ensure("layer1", "forward", (8, 32, 32, 64))  # 64 steps x 65536 units x 4 B = 16 MiB per example
    writer.ensure("layer1", "act_mean", ())
    assert writer.groups["layer1"]["forward"].chunks == (64, 1, 32, 32, 64)
    assert writer.groups["layer1"]["act_mean"].chunks == (64,)
    small = RecordWriter(tmp_path / "s.zarr", {}, {"layer1": {"out_shape": [256]}}, np.arange(8), 64, np.float32)
    small.ensure("layer1", "forward", (8, 256))
    assert small.groups["layer1"]["forward"].chunks == (64, 8, 256) and CHUNK_BYTES > 64 * 8 * 256 * 4


def test_unit_dims_keep_xarray_sizes_consistent():
    assert unit_dims("forward", (12,), (12,)) == ["unit"]
    assert unit_dims("feedback", (10,), (12,)) == ["feedback_unit"]  # DFA: the output error
    assert unit_dims("forward", (4, 4, 8), (4, 4, 8)) == ["height", "width", "channel"]


class CountingBackend(Backend):
    """numpy, counting device -> host copies (the only ones the recorder should make are flushes)."""

    copies: list[int] = []

    def to_host(self, array):
        CountingBackend.copies.append(int(np.asarray(array).nbytes))
        return super().to_host(array)


@pytest.mark.parametrize("background", [False, True], ids=["inline", "writer-thread"])
def test_whole_chunks_one_host_copy_per_flush_and_readable_mid_run(tmp_path, background):
    config = small_config("fa")
    base = get_backend("numpy", "float32")
    backend = CountingBackend(base.name, base.xp, base.dtype)
    CountingBackend.copies = []
    network = build_network(config, backend, (28, 28), 10)
    seen = []

    def on_flush(rows):  # a reader opened during the run sees every flushed row
        reader = RecordReader(tmp_path / "r.zarr")
        seen.append((rows, reader.rows, reader.read("layer2", "forward").shape[0], reader.attrs["complete"]))

    record = RecordConfig(enabled=True, every=1, chunk=4, probes=("forward", "act_mean", "weight_norm"))
    recorder = Recorder(record, network, tmp_path / "r.zarr", seed=3, batch_size=8, on_flush=on_flush,
                        background=background)
    trainer = Trainer(config, network, backend, 10)
    x, y = synthetic_arrays(80)
    for step in range(10):
        xd, _, onehot = trainer.to_device(x[step * 8:(step + 1) * 8], y[step * 8:(step + 1) * 8])
        network.step(step, xd, onehot)
        recorder.end_step(step, 1)
    recorder.wait()  # the writer thread's last chunk (a no-op inline)
    assert seen == [(4, 4, 4, False), (8, 8, 8, False)]
    assert len(CountingBackend.copies) == 2  # one host copy per flush, nothing per step
    recorder.close()
    assert len(CountingBackend.copies) == 3 and RecordReader(tmp_path / "r.zarr").rows == 10
    per_step = 3 * (8 * 12 + 2) * 4 - 8 * (12 - 10) * 4  # forward rows and two series per layer, float32
    assert CountingBackend.copies[0] == 4 * per_step


@pytest.mark.slow
def test_plain_zarr_and_xarray_read_the_same_values(tmp_path):
    xr = pytest.importorskip("xarray")
    record = RecordConfig(enabled=True, every=1, chunk=4, probes=("forward", "act_mean"), angle=True)
    train(small_config("fa"), record, tmp_path / "r.zarr", n=24, epochs=2)
    root = zarr.open_group(tmp_path / "r.zarr", mode="r")
    ds = xr.open_zarr(tmp_path / "r.zarr", group="layer2", consolidated=False)
    assert list(ds["step"].values) == list(range(6))
    assert set(ds.coords) >= {"step", "epoch", "phase", "example"}
    assert ds["forward"].dims == ("step", "example", "unit")
    np.testing.assert_array_equal(ds["forward"].values, root["layer2"]["forward"][:])
    np.testing.assert_array_equal(ds["angle"].sel(step=3).values, root["layer2"]["angle"][3])
    assert ds["epoch"].sel(step=5).item() == 2 and ds.attrs["layer"] == "layer2"


def test_probe_first_seen_mid_run_is_nan_before(tmp_path):
    """Alternating DTP: targets first arrive in the second pass, after a flush; the array is
    created then, with NaN for the rows flushed before it."""
    record = RecordConfig(enabled=True, every=1, chunk=2, probes=("target", "act_mean"))
    train(small_config("dtp", schedule="alternating"), record, tmp_path / "r.zarr", n=32, epochs=1)
    reader = RecordReader(tmp_path / "r.zarr")
    target = reader.read("layer2", "target")
    assert target.shape == (8, 8, 12)
    assert np.isnan(target[:4]).all() and np.isfinite(target[4:]).all()
    assert reader.attrs["record"] == {**dataclasses.asdict(record), "layers": [], "probes": ["target", "act_mean"]}


@pytest.mark.slow
def test_resumed_run_continues_the_store(tmp_path):
    """A resumed run (from a checkpoint at step 6) reopens the store, drops the rows of
    steps >= 6 that the interrupted run had flushed, and appends from there."""
    config = small_config("fa")
    record = RecordConfig(enabled=True, every=1, chunk=4, probes=("forward", "act_mean"))
    backend = get_backend("numpy", "float32")
    x, y = synthetic_arrays(80)

    def steps(network, recorder, first, last, seen=None):
        trainer = Trainer(config, network, backend, 10)
        for step in range(first, last):
            xd, _, onehot = trainer.to_device(x[step * 8 % 80:][:8], y[step * 8 % 80:][:8])
            network.step(step, xd, onehot)
            recorder.end_step(step, 1)
            if seen is not None:
                seen[step] = np.array(network.nodes[1].h[recorder.examples])

    first = build_network(config, backend, (28, 28), 10)
    recorder = Recorder.for_run(config, first, tmp_path / "r.zarr", record=record)
    steps(first, recorder, 0, 9)  # flushed rows 0..7; the crash loses step 8's buffered row
    recorder.wait()
    before = RecordReader(tmp_path / "r.zarr").read("layer2", "forward")
    assert before.shape[0] == 8

    second, seen = build_network(config, backend, (28, 28), 10), {}
    resumed = Recorder.for_run(config, second, tmp_path / "r.zarr", record=record, resume_step=6)
    steps(second, resumed, 6, 11, seen)
    resumed.close()
    reader = RecordReader(tmp_path / "r.zarr")
    assert list(reader.coords("layer2")["step"]) == list(range(11)) and reader.attrs["complete"] is True
    forward = reader.read("layer2", "forward")
    np.testing.assert_array_equal(forward[:6], before[:6])
    for step in range(6, 11):
        np.testing.assert_array_equal(forward[step], seen[step])
    other = dataclasses.replace(record, probes=("act_mean",))
    with pytest.raises(Exception, match="other \\[record\\] settings"):
        Recorder.for_run(config, second, tmp_path / "r.zarr", record=other, resume_step=3)
