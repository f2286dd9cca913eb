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
    assert said[0] == "2 run(s) to train, runner local: mnist_fc_bp-s0, mnist_fc_fa-s0"
    assert [line.split("] ")[0] for line in said[1:]] == ["[1/2", "[2/2"]  # progress, in finishing order
    assert sorted(line.split("] ")[1] for line in said[1:]) == ["done: mnist_fc_bp-s0", "done: mnist_fc_fa-s0"]
    said.clear()
    reproduce("mnist_fc", out, [0], 2, jobs=2, data_dir=str(data), models=models, echo=said.append)
    assert said == []  # finished runs are not run again


def test_finished_runs_are_archived_as_they_finish(tmp_path, grid):
    models, data = grid
    out, archive = tmp_path / "out", tmp_path / "docs" / "runs"
    said: list[str] = []
    reproduce("mnist_fc", out, [0], 1, jobs=1, data_dir=str(data), models=models, echo=said.append, archive_to=archive)
    assert sorted(p.name for p in archive.iterdir()) == ["mnist_fc_bp-s0", "mnist_fc_fa-s0"]
    for name in ("mnist_fc_bp-s0", "mnist_fc_fa-s0"):
        assert sorted(p.name for p in (archive / name).iterdir()) == ["config.toml", "metrics.jsonl", "summary.json"]
        assert (archive / name / "metrics.jsonl").read_bytes() == (out / name / "metrics.jsonl").read_bytes()
    assert said[1].startswith("[1/2] done: mnist_fc_bp-s0, archived in ")


def test_grid_and_rule_selection_errors_name_the_choices(grid):
    models, _ = grid
    assert [p.stem for p in grid_configs("mnist_fc", ["bp"], models)] == ["mnist_fc_bp"]
    (models / "mnist_fc_dtp_parallel.toml").write_text("not read")
    (models / "mnist_fc_dtp_alternating.toml").write_text("not read")
    assert [p.stem for p in grid_configs("mnist_fc", ["dtp_parallel", "fa"], models)] == ["mnist_fc_dtp_parallel",
                                                                                        "mnist_fc_fa"]
    with pytest.raises(ConfigError, match="unknown grid 'mnist'"):
        grid_configs("mnist", None, models)
    with pytest.raises(ConfigError, match="no mnist_fc config for sdtp; this grid has bp, dtp, fa "
                                          r"\(or one config: bp, dtp_alternating, dtp_parallel, fa\)"):
        grid_configs("mnist_fc", ["bp", "sdtp"], models)
    with pytest.raises(ConfigError, match="no mnist_lc_"):
        grid_configs("mnist_lc", None, models)


def test_bad_rules_are_one_line_and_exit_2(grid):
    models, _ = grid
    result = CliRunner().invoke(main, ["mnist_fc", "--rules", "dtp", "--models", str(models)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --rules: no mnist_fc config for dtp")
