"""runners.reproduce: a tiny grid runs once per (config, seed) and reports the paper's numbers."""

from __future__ import annotations

import pytest

from helpers import small_toml
from localnet.data.synthetic import write_synthetic_mnist
from runners.reproduce import grid_configs, reproduce


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


def test_a_grid_runs_and_reports_against_the_paper(tmp_path, grid, capsys):
    models, data = grid
    out = tmp_path / "out"
    report = reproduce("mnist_fc", out, [0], jobs=2, extra=["--data-dir", str(data)], models=models)
    assert (out / "report.md").read_text() == report
    rows = {line.split(" | ")[0].strip("| "): line for line in report.splitlines() if line.startswith("| mnist_fc")}
    assert set(rows) == {"mnist_fc_bp-s0", "mnist_fc_fa-s0"}
    assert "| 1.48 |" in rows["mnist_fc_bp-s0"] and "| 1.85 |" in rows["mnist_fc_fa-s0"]
    assert "test error by epoch" in report and "Not finished" not in report
    capsys.readouterr()
    reproduce("mnist_fc", out, [0], jobs=2, extra=["--data-dir", str(data)], models=models)
    assert "start" not in capsys.readouterr().out  # finished runs are not run again


def test_grid_and_rule_selection_errors_name_the_choices(grid):
    models, _ = grid
    assert [p.stem for p in grid_configs("mnist_fc", ["bp"], models)] == ["mnist_fc_bp"]
    with pytest.raises(SystemExit, match="unknown grid 'mnist'"):
        grid_configs("mnist", None, models)
    with pytest.raises(SystemExit, match="no mnist_fc config for dtp; this grid has bp, fa"):
        grid_configs("mnist_fc", ["bp", "dtp"], models)
    with pytest.raises(SystemExit, match="no mnist_lc_"):
        grid_configs("mnist_lc", None, models)


def test_threads_are_passed_to_every_run(monkeypatch, capsys):
    import runners.reproduce as module

    seen = []
    monkeypatch.setattr(module, "reproduce", lambda grid, out, seeds, jobs, extra, rules: seen.append(extra) or "")
    module.main(["mnist_fc", "--threads", "3", "--epochs", "1"])
    assert seen == [["--epochs", "1", "--threads", "3"]]
