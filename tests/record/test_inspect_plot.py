"""`localnet inspect` and `localnet plot` on recorded run directories (tiny synthetic runs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from record.recording_helpers import make_run_dir, small_config

from localnet.record import RecordConfig, RecordReader
from localnet.record.cli import inspect, plot

PNG = b"\x89PNG\r\n\x1a\n"


def invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def assert_one_line_error(result, *needles, code):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three recorded runs (bp, fa with the angle, sdtp with targets) and one without a record."""
    from localnet.data.synthetic import write_synthetic_mnist

    root = tmp_path_factory.mktemp("runs")
    data = root / "mnist"
    write_synthetic_mnist(data, n_train=48, n_test=16)
    record = RecordConfig(enabled=True, every=2, chunk=4, angle=True)
    return {
        "bp": make_run_dir(root / "bp", small_config("bp"), record, data),
        "fa": make_run_dir(root / "fa", small_config("fa"), record, data),
        "sdtp": make_run_dir(root / "sdtp", small_config("sdtp", schedule="parallel"),
                             RecordConfig(enabled=True, every=2, chunk=4, probes=("target", "act_mean", "act_std",
                                                                                   "inverse_error")), data),
        "plain": make_run_dir(root / "plain", small_config("fa"), None, data),
    }


@pytest.mark.slow
def test_inspect_table_lists_layers_and_probes(runs):
    result = invoke(inspect, runs["fa"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "run tiny_fa (rule fa)" in lines[0] and "6 recorded steps (every 2)" in lines[0] and "complete" in lines[0]
    assert lines[1].startswith("cost: recording")
    header = lines[2].split()
    assert header == ["layer", "probe", "shape", "steps", "mean", "std", "min", "max", "nan"]
    table = {tuple(line.split()[:2]): line.split() for line in lines[3:]}
    assert table[("layer1", "forward")][2] == "6x8x12" and table[("layer1", "forward")][3:5] == ["0..10", "(6)"]
    assert table[("layer3", "forward")][2] == "6x8x10"
    for layer in ("layer1", "layer2", "layer3"):
        for probe in ("act_mean", "act_std", "update_norm", "weight_norm", "angle"):
            assert (layer, probe) in table
    reader = RecordReader(runs["fa"] / "record.zarr")
    mean = float(np.mean(reader.read("layer2", "act_mean").astype(np.float64)))
    assert float(table[("layer2", "act_mean")][5]) == pytest.approx(mean, rel=1e-3, abs=1e-6)


def test_inspect_narrows_and_prints_values(runs):
    result = invoke(inspect, runs["sdtp"], "--layer", "layer2", "--probe", "target", "--step", "4", "--values")
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("layer") and "/" not in line]
    assert len(table) == 2 and table[1].split()[:4] == ["layer2", "target", "1x8x12", "4..4"]
    assert "layer2/target (activation):" in result.output and "step 4 (examples x units)" in result.output
    reader = RecordReader(runs["sdtp"] / "record.zarr")
    first = reader.read("layer2", "target", 2, 3)[0, 0, 0]
    assert f"{first:.4f}"[:5] in result.output
    series = invoke(inspect, runs["fa"], "--probe", "angle", "--layer", "layer3", "--values")
    assert series.exit_code == 0 and series.output.count("  step ") == 6


def test_inspect_errors_are_one_line(runs, tmp_path):
    assert_one_line_error(invoke(inspect, runs["fa"], "--layer", "layer9"), "--layer layer9", "layer1, layer2",
                          code=2)
    assert_one_line_error(invoke(inspect, runs["fa"], "--probe", "angel"), "did you mean 'angle'", code=2)
    assert_one_line_error(invoke(inspect, runs["fa"], "--step", "3"), "--step 3 was not recorded", "2, 4", code=2)
    assert_one_line_error(invoke(inspect, runs["plain"]), "has no record.zarr", "--record", code=1)
    assert_one_line_error(invoke(inspect, tmp_path / "nope"), "does not exist", code=1)


@pytest.mark.slow
def test_plot_one_run_writes_pngs(runs):
    result = invoke(plot, runs["fa"])
    assert result.exit_code == 0, result.output
    for name in ("errors.png", "angle.png", "activations.png", "update_norm.png", "weight_norm.png"):
        path = runs["fa"] / "plots" / name
        assert f"wrote {path}" in result.output and path.read_bytes()[:8] == PNG


@pytest.mark.slow
def test_plot_overlays_runs(runs, tmp_path):
    out = tmp_path / "compare"
    result = invoke(plot, runs["bp"], runs["fa"], runs["sdtp"], runs["plain"], "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["activations.png", "angle.png", "errors.png", "inverse_error.png",
                                                     "update_norm.png", "weight_norm.png"]
    only_errors = invoke(plot, runs["plain"], "--out", tmp_path / "plain")
    assert only_errors.exit_code == 0 and "skipped angle.png" in only_errors.output
    assert [p.name for p in (tmp_path / "plain").iterdir()] == ["errors.png"]
    assert_one_line_error(invoke(plot, tmp_path / "missing"), "does not exist", code=1)


@pytest.mark.slow
def test_docs_python_examples_run(tmp_path, data_dir):
    """The Python blocks of docs/recording.md, in order, on a tiny recorded SDTP run with the
    probes the page records (layer4 receives targets in a 4-hidden-layer network)."""
    pytest.importorskip("xarray")
    probes = ("forward", "target", "act_mean", "act_std", "inverse_error", "target_gap")
    run = make_run_dir(tmp_path / "sdtp-rec", small_config("sdtp", hidden=(12, 12, 12, 12), schedule="parallel"),
                       RecordConfig(enabled=True, every=2, chunk=4, probes=probes), data_dir)
    text = (Path(__file__).resolve().parents[2] / "docs" / "recording.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block.replace('"runs/sdtp-rec"', repr(str(run))), "recording.md", "exec"), namespace)
    assert namespace["targets"].shape == (6, 8, 12)


def test_record_options_become_overrides():
    import click

    from localnet.record.cli import record_options, record_overrides

    @click.command()
    @record_options
    def run(record, record_every, record_angle):
        click.echo(" ".join(record_overrides(record, record_every, record_angle)))

    assert invoke(run).output.strip() == ""
    assert invoke(run, "--record", "--record-every", "5", "--record-angle").output.split() == [
        "record.enabled=true", "record.every=5", "record.angle=true"]
    assert invoke(run, "--no-record").output.strip() == "record.enabled=false"
    assert invoke(run, "--record-every", "0").exit_code == 2


def _integrated() -> bool:
    from localnet.cli import main
    from localnet.config import RunConfig

    return "record" in RunConfig.__dataclass_fields__ and "inspect" in main.commands


integrated = pytest.mark.skipif(not _integrated(),
                                reason="the recorder is not wired into RunConfig/Trainer/run_experiment/the CLI yet")


@pytest.mark.slow
@integrated
def test_localnet_run_records_and_does_not_perturb(tmp_path, data_dir):
    """End to end through the real CLI, once integrated: `localnet run --record` writes a
    store that inspect reads, and parameters equal those of a run without recording."""
    from localnet.cli import main

    config = tmp_path / "tiny.toml"
    config.write_text("""
name = "tiny"
seed = 3
[data]
batch_size = 8
eval_batch_size = 16
[[layers]]
type = "dense"
units = 12
[[layers]]
type = "softmax"
units = 10
[rule]
name = "fa"
[train]
epochs = 2
""")
    base = ["run", str(config), "--data-dir", str(data_dir), "--no-progress"]
    on = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "on"), "--record", "--record-every", "2",
                                   "--record-angle"])
    off = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "off")])
    assert on.exit_code == 0 and off.exit_code == 0, on.output + off.output
    reader = RecordReader(tmp_path / "on" / "record.zarr")
    assert reader.attrs["complete"] and reader.rows == 6 and "angle" in reader.probes("layer1")
    assert reader.attrs["config"]["record"]["enabled"] is True
    assert "record" in json.loads((tmp_path / "on" / "summary.json").read_text())
    with np.load(tmp_path / "on" / "params.npz") as a, np.load(tmp_path / "off" / "params.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], strict=True)
    assert CliRunner().invoke(main, ["inspect", str(tmp_path / "on")]).exit_code == 0
    assert not (tmp_path / "off" / "record.zarr").exists()
