"""runners.drivers.make_configs is the single source of the generated configs: models/ matches it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from runners.drivers import make_configs

MODELS = Path(__file__).parents[3] / "models"


def test_generated_configs_match_the_shipped_files(tmp_path):
    result = CliRunner().invoke(make_configs.main, ["--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.glob("*.toml"))
    assert len(written) == 31 and {"mnist_lc_sdtp_alternating.toml", "cifar_fc_sign.toml", "cifar_lc_sign.toml"} <= set(written)
    for name in written:
        fix = f"{name}: rerun python -m runners.drivers.make_configs"
        assert (tmp_path / name).read_text() == (MODELS / name).read_text(), fix
    assert "1e-05" in (tmp_path / "mnist_lc_sdtp_parallel.toml").read_text()  # INVERSE_LR applied
    assert "lr = 0.001652" in (tmp_path / "mnist_lc_aosdtp_parallel.toml").read_text()  # not measured: Table 5's


def test_default_out_is_models_under_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(make_configs.main, [])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "models").glob("*.toml"))) == 31
