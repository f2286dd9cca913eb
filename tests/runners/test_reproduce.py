"""runners.drivers.reproduce: a tiny grid runs once per (config, seed), reports against the
paper cell by cell, and a second call trains nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import small_toml

from localnet.data.synthetic import write_synthetic_mnist
from localnet.errors import ConfigError
from runners.drivers.reproduce import grid_configs, main, reproduce


@pytest.fixture
def grid(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mnist_fc_fa.toml").write_text(small_toml(name="mnist_fc_fa"))
    (models / "mnist_fc_bp.toml").write_text(small_toml(name="mnist_fc_bp").replace('name = "fa"', 'name = "bp"'))
    (models / "cifar_fc_bp.toml").write_text("not used")
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    return models, data


def test_a_grid_runs_and_reports_against_the_paper(tmp_path, grid):
    models, data = grid
    out = tmp_path / "out"
    said: list[str] = []
    report = reproduce("mnist_fc", out, [0], 2, jobs=2, data_dir=str(data), models=models, echo=said.append)
    assert (out / "report.md").read_text() == report
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["mnist_fc_bp-s0", "mnist_fc_fa-s0"]
    bp = next(line for line in report.splitlines() if line.startswith("| BP |"))
    fa = next(line for line in report.splitlines() if line.startswith("| FA |"))
    assert "| 2 | 1 | 1.48 |" in bp and "| 2 | 1 | 1.85 |" in fa  # 2 epochs, 1 run, the paper's number
    assert said[0] == "2 run(s) to train, runner local"
    said.clear()
    reproduce("mnist_fc", out, [0], 2, jobs=2, data_dir=str(data), models=models, echo=said.append)
    assert said == []  # finished runs are not run again


def test_grid_and_rule_selection_errors_name_the_choices(grid):
    models, _ = grid
    assert [p.stem for p in grid_configs("mnist_fc", ["bp"], models)] == ["mnist_fc_bp"]
    with pytest.raises(ConfigError, match="unknown grid 'mnist'"):
        grid_configs("mnist", None, models)
    with pytest.raises(ConfigError, match="no mnist_fc config for dtp; this grid has bp, fa"):
        grid_configs("mnist_fc", ["bp", "dtp"], models)
    with pytest.raises(ConfigError, match="no mnist_lc_"):
        grid_configs("mnist_lc", None, models)


def test_bad_rules_are_one_line_and_exit_2(grid):
    models, _ = grid
    result = CliRunner().invoke(main, ["mnist_fc", "--rules", "dtp", "--models", str(models)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --rules: no mnist_fc config for dtp")
