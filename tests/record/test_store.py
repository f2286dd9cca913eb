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
    assert list(group["phase"][:]) == ["inverse+target"] * 3
    assert np.array_equal(group["example"][:], attrs["examples"])
    forward = group["forward"]
    assert forward.shape == (3, 8, 12) and forward.chunks == (2, 8, 12) and forward.dtype == np.float32
    assert forward.metadata.dimension_names == ("step", "example", "unit")
    assert forward.attrs["units"] == PROBE_INFO["forward"][0] and forward.attrs["coordinates"] == "epoch phase"
    assert group["act_mean"].chunks == (2,) and group["step"].chunks == (2,)
    assert "inverse_error" in group and "inverse_error" not in root["layer1"]
    assert root["layer3"]["target"].metadata.dimension_names == ("step", "example", "unit")  # 10 = out units


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


def test_whole_chunks_one_host_copy_per_flush_and_readable_mid_run(tmp_path):
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
    recorder = Recorder(record, network, tmp_path / "r.zarr", seed=3, batch_size=8, on_flush=on_flush)
    trainer = Trainer(config, network, backend, 10)
    x, y = synthetic_arrays(80)
    for step in range(10):
        xd, _, onehot = trainer.to_device(x[step * 8:(step + 1) * 8], y[step * 8:(step + 1) * 8])
        network.step(step, xd, onehot)
        recorder.end_step(step, 1)
    assert seen == [(4, 4, 4, False), (8, 8, 8, False)]
    assert len(CountingBackend.copies) == 2  # one host copy per flush, nothing per step
    recorder.close()
    assert len(CountingBackend.copies) == 3 and RecordReader(tmp_path / "r.zarr").rows == 10
    per_step = 3 * (8 * 12 + 2) * 4 - 8 * (12 - 10) * 4  # forward rows and two series per layer, float32
    assert CountingBackend.copies[0] == 4 * per_step


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
