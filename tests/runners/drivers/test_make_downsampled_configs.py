"""models/imagenet{32,64}_lc_*.toml: the generator's output, LC nets that fit the input size
(checked by plan), and each trains on a tiny real-format Downsampled ImageNet release."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from localnet.cli import main
from localnet.config import load_config
from localnet.data.imagenet_spec import input_shape_of
from localnet.plan import estimate_layers
from runners.drivers.make_downsampled_configs import RULES, config_text, variants

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "models"
sys.path.insert(0, str(ROOT / "tests" / "data"))
SHAPES = {32: [(16, 16, 64), (8, 8, 128), (8, 8, 256), (16384,), (1024,), (1000,)],
          64: [(32, 32, 32), (16, 16, 64), (8, 8, 128), (8, 8, 256), (16384,), (1024,), (1000,)]}


def test_both_sizes_have_bp_fa_dfa_sdtp_and_dtp_alternating():
    for side in (32, 64):
        names = {p.stem.removeprefix(f"imagenet{side}_lc_") for p in MODELS.glob(f"imagenet{side}_lc_*.toml")}
        assert names == set(RULES) == {"bp", "fa", "dfa", "sdtp", "dtp_alternating"}


@pytest.mark.parametrize(("side", "variant"), variants())
def test_config_is_the_generator_output_and_fits_the_input(side, variant):
    path = MODELS / f"imagenet{side}_lc_{variant}.toml"
    assert path.read_text() == config_text(side, variant), "regenerate: python -m runners.drivers.make_downsampled_configs"
    config = load_config(path)
    assert config.data.dataset == f"imagenet{side}" and input_shape_of(config) == (side, side, 3)
    rows = estimate_layers(config, input_shape_of(config))
    assert [r.out_shape for r in rows] == SHAPES[side]
    assert 50e6 < sum(r.parameters for r in rows) < 70e6


# Small widths, so that a step takes milliseconds; the geometry (kernels, strides) is the config's.
SMALL = {32: ["layers.0.channels=2", "layers.1.channels=2", "layers.2.channels=2", "layers.4.units=4"],
         64: ["layers.0.channels=2", "layers.1.channels=2", "layers.2.channels=2", "layers.3.channels=2",
              "layers.5.units=4"]}


@pytest.mark.parametrize("side", [32, 64])
@pytest.mark.parametrize("variant", ["bp", "sdtp", "dtp_alternating"])
def test_each_size_trains_on_a_real_format_release(tmp_path, side, variant):
    from test_downsampled import write_npz_release

    write_npz_release(tmp_path / "data", side, per_batch=2)
    sets = [*SMALL[side], "data.batch_size=5", "train.epochs=1", "backend=numpy"]
    result = CliRunner().invoke(main, ["run", str(MODELS / f"imagenet{side}_lc_{variant}.toml"),
                                       *[a for s in sets for a in ("--set", s)], "--data-dir", str(tmp_path / "data"),
                                       "--out", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert 0.0 <= row["test_top5_error"] <= row["test_error"] <= 100.0
    assert "20 train / 2 test examples" in result.output
