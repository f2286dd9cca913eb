"""The recorder: it records exactly what was delivered, perturbs nothing, and its derived
probes mean what their attributes say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from record.recording_helpers import ALL_PROBES, small_config, train

from localnet.errors import ConfigError
from localnet.record import DEFAULT_PROBES, RecordConfig, RecordReader
from localnet.registry import RULES as REGISTRY
from localnet.testing import rule_names
from localnet.typed import Problems, build_dataclass

#: every registered rule, TP rules on the parallel schedule (dtp on the alternating one, to
#: have both), AO-SDTP's auxiliary output small
SMALL = {"schedule": "parallel", "aux_units": 6}
RULES = [(name, {k: ("alternating" if name == "dtp" and k == "schedule" else v) for k, v in SMALL.items()
                 if k in {f.name for f in dataclasses.fields(REGISTRY.get(name).Options)}})
         for name in rule_names()]


@pytest.mark.slow
@pytest.mark.parametrize("rule, options", RULES, ids=[r for r, _ in RULES])
def test_recorded_messages_equal_delivered_messages_bit_for_bit(tmp_path, rule, options):
    """Every message probe row is the kept batch rows of the payload the tap saw delivered;
    20 examples in batches of 8 leave a short last batch, whose missing rows are NaN."""
    delivered = {}

    def tap(message):
        if message.phase != "evaluate" and message.step % 3 == 0:
            layer = message.src if message.kind == "forward" else message.dst
            delivered[(layer, message.kind, message.step)] = np.array(message.payload, copy=True)

    record = RecordConfig(enabled=True, every=3, examples=5, chunk=2, probes=ALL_PROBES)
    _, _recorder = train(small_config(rule, **options), record, tmp_path / "r.zarr", taps=(tap,))
    reader = RecordReader(tmp_path / "r.zarr")
    rows = reader.attrs["examples"]
    assert rows == sorted(rows) and len(rows) == 5 and max(rows) < 8
    checked = 0
    for layer in reader.layers:
        steps = reader.coords(layer)["step"]
        assert list(steps) == list(range(0, 3 * len(steps), 3))
        for kind in ("forward", "feedback", "target"):
            if kind not in reader.probes(layer):
                assert not any(k[:2] == (layer, kind) for k in delivered)
                continue
            stored = reader.read(layer, kind)
            for row, step in enumerate(steps):
                payload = delivered.get((layer, kind, int(step)))
                expected = np.full(stored.shape[1:], np.nan, dtype=stored.dtype)
                if payload is not None:
                    kept = [r for r in rows if r < len(payload)]
                    expected[: len(kept)] = payload[kept]
                    checked += 1
                assert stored[row].dtype == np.float32
                np.testing.assert_array_equal(stored[row], expected, strict=True)
    assert checked == len([k for k in delivered if k[0] in reader.layers and k[1] in ("forward", "feedback", "target")])
    assert checked > 10


@pytest.mark.slow
@pytest.mark.parametrize("rule, options", RULES, ids=[r for r, _ in RULES])
def test_recording_does_not_perturb(tmp_path, rule, options):
    """Every probe, the angle analysis, every step recorded: parameters (forward and
    feedback) and optimizer states are bit-identical to a run without recording."""
    config = small_config(rule, **options)
    record = RecordConfig(enabled=True, every=1, examples=8, chunk=3, probes=ALL_PROBES, angle=True)
    plain, _ = train(config, None, None)
    recorded, recorder = train(config, record, tmp_path / "r.zarr")
    assert recorder.recorded_steps == 3 * 2 * len(recorded.rule.passes())
    a, b = plain.parameters(), recorded.parameters()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], strict=True, err_msg=key)
    for n, m in zip(plain.nodes, recorded.nodes):
        for key in n.optimizer.m:
            np.testing.assert_array_equal(n.optimizer.m[key], m.optimizer.m[key], strict=True)
            np.testing.assert_array_equal(n.optimizer.v[key], m.optimizer.v[key], strict=True)


def test_derived_series_mean_what_they_say(tmp_path):
    """act_mean/std, update_norm and weight_norm recomputed from the network after each step."""
    config = small_config("fa", batch_size=10)
    expected = {}

    def check(step, network):
        for node in network.nodes:
            expected[(node.name, step)] = (node.h.mean(), node.h.std(), np.linalg.norm(node.grads["W"]),
                                           np.linalg.norm(node.params["W"]))

    from record.recording_helpers import synthetic_arrays

    from localnet import Trainer, build_network, get_backend
    from localnet.record import Recorder

    backend = get_backend("numpy", "float32")
    network = build_network(config, backend, (28, 28), 10)
    recorder = Recorder(RecordConfig(every=2, chunk=4), network, tmp_path / "r.zarr", seed=3, batch_size=10)
    trainer = Trainer(config, network, backend, 10)
    x, y = synthetic_arrays(60)
    for step in range(6):
        xd, _, onehot = trainer.to_device(x[step * 5:step * 5 + 10], y[step * 5:step * 5 + 10])
        network.step(step, xd, onehot)
        recorder.end_step(step, 1)
        check(step, network)
    recorder.close()
    reader = RecordReader(tmp_path / "r.zarr")
    assert set(reader.probes("layer1")) == {"forward", "act_mean", "act_std", "update_norm", "weight_norm"}
    assert "target_gap" in reader.probes("layer3")  # the output receives the labels as a target
    for layer in reader.layers:
        for row, step in enumerate(reader.coords(layer)["step"]):
            values = [reader.read(layer, p)[row] for p in ("act_mean", "act_std", "update_norm", "weight_norm")]
            np.testing.assert_allclose(values, expected[(layer, step)], rtol=1e-5)
        assert reader.array(layer, "update_norm").attrs["units"]


def test_updates_missing_on_inverse_only_steps_are_nan(tmp_path):
    """Alternating DTP: the first pass only trains inverses, so W has no update there."""
    record = RecordConfig(every=1, chunk=4, probes=ALL_PROBES)
    train(small_config("dtp", schedule="alternating"), record, tmp_path / "r.zarr", n=16, epochs=1)
    reader = RecordReader(tmp_path / "r.zarr")
    phases = reader.coords("layer2")["phase"]
    assert list(phases) == ["inverse", "inverse", "forward+target", "forward+target"]
    update = reader.read("layer2", "update_norm")
    assert np.isnan(update[:2]).all() and np.isfinite(update[2:]).all()
    assert np.isnan(reader.read("layer2", "target")[:2]).all()
    assert "inverse_error" in reader.probes("layer2") and "inverse_error" not in reader.probes("layer1")
    assert "inverse_error" not in reader.probes("layer3")  # DTP's output layer has no inverse
    assert np.isfinite(reader.read("layer2", "inverse_error")).all()


def test_layer_and_probe_selection(tmp_path):
    record = RecordConfig(layers=("layer2",), probes=("act_mean", "target"), every=1, chunk=8)
    train(small_config("bp"), record, tmp_path / "r.zarr", epochs=1)
    reader = RecordReader(tmp_path / "r.zarr")
    assert reader.layers == ["layer2"] and list(reader.root.group_keys()) == ["layer2"]
    assert reader.probes("layer2") == ["act_mean"]  # bp's hidden layers receive no targets
    with pytest.raises(ConfigError, match=r"no layer 'layer7'.*layer1, layer2, layer3"):
        train(small_config("bp"), dataclasses.replace(record, layers=("layer7",)), tmp_path / "x.zarr")


@pytest.mark.parametrize("field, value, needle", [
    ("every", 0, "record.every must be an integer >= 1"),
    ("examples", -1, "record.examples"),
    ("chunk", 1.5, "record.chunk"),
    ("probes", ("forwards",), "unknown probe 'forwards'; valid probes: forward, feedback, target"),
    ("probes", ("angle",), "record.angle = true"),
    ("probes", ("act_mean", "act_mean"), "twice"),
    ("layers", ("hidden1",), "layer1, layer2"),
    ("enabled", "yes", "record.enabled must be true or false"),
])
def test_record_config_validation_names_the_field(field, value, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        RecordConfig(**{field: value})


def test_record_config_from_toml_tables():
    problems = Problems()
    config = build_dataclass(RecordConfig, {"enabled": True, "every": 5, "probes": ["forward", "angle"]},
                             "record", problems)
    assert config is None and "record.angle = true" in problems.lines[0]
    problems = Problems()
    assert build_dataclass(RecordConfig, {"evry": 5}, "record", problems) is None
    assert "record.evry" in problems.lines[0] and "every" in problems.lines[0]
    config = build_dataclass(RecordConfig, {"layers": ["layer2"], "angle": True}, "record", Problems())
    assert config == RecordConfig(layers=("layer2",), angle=True)
    assert RecordConfig().probes == DEFAULT_PROBES and not RecordConfig().enabled


@pytest.mark.slow
def test_bench_record_runs():
    from runners.bench.record import run_record_bench

    lines = []
    result = run_record_bench(rule="fa", steps=20, repeats=2, echo=lines.append)
    rounds = result["rounds"]
    assert len(rounds["off"]) == len(rounds["on"]) == 2  # both variants ran the same rounds
    assert result["off"] == max(rounds["off"]) and result["on"] == max(rounds["on"])
    assert result["overhead_percent"] == pytest.approx(100 * (1 - result["on"] / result["off"]))
    assert any("overhead" in line for line in lines)
