"""runners.drivers.probe_epochs: per-epoch means of a recorded probe, from a real recorded run."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from helpers import small_toml

from localnet.cli import main as localnet_main
from localnet.data.synthetic import write_synthetic_mnist
from runners.drivers.probe_epochs import epoch_means, main, markdown


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("probe")
    write_synthetic_mnist(tmp / "mnist", n_train=32, n_test=16)  # 4 steps an epoch
    config = tmp / "small.toml"
    config.write_text(small_toml(seed=1, epochs=3).replace("units = 6", "units = 6\n[[layers]]\ntype = \"dense\"\nunits = 5", 1))
    result = CliRunner().invoke(localnet_main, ["run", str(config), "--data-dir", str(tmp), "--out", str(tmp / "run"),
                                                "--record", "--record-every", "1", "--record-angle"])
    assert result.exit_code == 0, result.output
    return tmp / "run"


def test_each_cell_is_the_mean_over_that_epochs_recorded_steps(recorded):
    epochs, table = epoch_means(recorded, "angle")
    assert epochs == [1, 2, 3]
    root = zarr.open_group(str(recorded / "record.zarr"), mode="r")
    for layer in ("layer1", "layer2"):
        angle, epoch = np.asarray(root[layer]["angle"][:]), np.asarray(root[layer]["epoch"][:])
        assert len(angle) == 12
        for i, e in enumerate(epochs):
            assert table[layer][i] == pytest.approx(angle[epoch == e].mean())
    assert list(table) == ["layer1", "layer2", "layer3"]  # bottom to top
    assert table["layer3"] == [0.0, 0.0, 0.0]  # the output's delta rule is the gradient


def test_markdown_keeps_every_nth_epoch_and_the_last():
    text = markdown([1, 2, 3, 4, 5], {"layer1": [80.0, 70.0, 60.0, 50.0, float("nan")]}, "angle", every=2)
    assert text.splitlines()[0] == "| angle \\ epoch | 1 | 3 | 5 |"
    assert text.splitlines()[2] == "| layer1 | 80 | 60 | - |"


def test_unrecorded_probe_and_tensor_probe_are_clear_errors(recorded, tmp_path):
    with pytest.raises(SystemExit, match="no layer recorded probe 'nope'"):
        epoch_means(recorded, "nope")
    with pytest.raises(SystemExit, match="tensor probe"):
        epoch_means(recorded, "forward")
    result = CliRunner().invoke(main, [str(tmp_path), "--probe", "angle"])
    assert result.exit_code == 1 and "no record.zarr" in result.output
