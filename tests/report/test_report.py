"""`localnet report`: paper tables cell by cell, per-run and per-seed tables, figures, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from localnet.cli import main
from localnet.report.paper import method_of, published, tables
from localnet.report.runs import find_runs
from localnet.report.tables import paper_table, seed_table
from localnet.toml_io import dump_toml

FC = [{"type": "dense", "units": 8}, {"type": "softmax", "units": 10}]
LC = [{"type": "locally_connected", "channels": 4}, {"type": "flatten"}, {"type": "softmax", "units": 10}]


def make_run(root: Path, name: str, errors: list[float], seed: int = 0, rule: dict | None = None,
             layers: list | None = None, dataset: str = "mnist", lr: float = 1e-3) -> Path:
    """A finished run directory as `localnet run` leaves it: config.toml and metrics.jsonl."""
    path = root / name
    path.mkdir(parents=True)
    rule = rule or {"name": "bp"}
    config = {"name": f"{dataset}_{rule['name']}", "seed": seed, "data": {"dataset": dataset, "batch_size": 100},
              "layers": layers or FC, "rule": rule, "optim": {"lr": lr}}
    (path / "config.toml").write_text(dump_toml(config))
    rows = [{"epoch": i + 1, "train_error": e / 2, "test_error": e, "seconds": 2.0} for i, e in enumerate(errors)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_paper_tables_are_complete():
    by_key = {t.key: t for t in tables()}
    assert set(by_key) == {"table1a", "table1b", "table2"}
    assert len(by_key["table1a"].cells["fc"]) == 9 and len(by_key["table1a"].cells["lc"]) == 10
    assert by_key["table1b"].cells["fc"]["bp"] == (28.97, 41.32)
    assert by_key["table2"].cells["lc"]["sdtp_parallel"] == (99.28, 97.15)


def test_a_config_finds_its_cell():
    config = {"data": {"dataset": "cifar10"}, "layers": LC, "rule": {"name": "sdtp", "schedule": "alternating"}}
    assert method_of(config) == "sdtp_alternating"
    assert published(config) == (40.40, 45.66)
    convnet = {"data": {"dataset": "mnist"}, "layers": [{"type": "conv"}], "rule": {"name": "bp"}}
    assert published(convnet) == (0.00, 1.01)
    assert published({"data": {"dataset": "mnist"}, "layers": FC, "rule": {"name": "sign"}}) is None


def test_cells_take_the_best_run_and_the_seed_spread_of_its_setting(tmp_path):
    make_run(tmp_path, "bp-s0", [3.0, 1.9, 2.0], seed=0)
    make_run(tmp_path, "bp-s1", [3.0, 2.1, 2.3], seed=1)
    make_run(tmp_path, "bp-other", [5.0, 4.0], lr=1e-4)
    make_run(tmp_path, "fa-lc", [4.0, 1.5], rule={"name": "fa"}, layers=LC)
    runs = find_runs([tmp_path])
    mnist = next(t for t in tables() if t.key == "table1a")
    fc = paper_table(runs, mnist, "fc")
    bp = next(line for line in fc.splitlines() if line.startswith("| BP |"))
    # best 1.90 at epoch 2; its setting over seeds 0 and 1: mean 2.00, sd 0.14; 2-3 epochs; 3 runs; gap +0.42.
    assert bp == "| BP | 1.90 (2) | 2.00 ± 0.14 (2 seeds) | 2-3 | 3 | 1.48 | +0.42 |"
    assert "| FA | - | - | - | 0 | 1.85 | - |" in fc
    lc = paper_table(runs, mnist, "lc")
    assert "| FA | 1.50 (2) | 1.50 (1 seed) | 2 | 1 | 1.26 | +0.24 |" in lc


def test_seed_table_groups_runs_differing_only_in_seed(tmp_path):
    make_run(tmp_path, "a-s0", [2.0, 1.8], seed=0)
    make_run(tmp_path, "a-s1", [2.2, 1.9], seed=1)
    make_run(tmp_path, "b-s0", [2.5], lr=3e-4)
    text = seed_table(find_runs([tmp_path]), target=1.85)
    rows = [line for line in text.splitlines()[2:]]
    assert len(rows) == 2
    assert "| 1.80 1.90 | 1.85 ± 0.07 (2 seeds) | 1.80 | 1.90 | 1/2 |" in rows[0]


def test_paper_report_writes_markdown_and_figures(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "bp", [3.0, 2.0])
    make_run(runs, "sign", [3.5, 2.5], rule={"name": "sign"})
    sweep = make_sweep(tmp_path / "sweep", [2.0, 3.0, 9.0])
    out = tmp_path / "docs" / "results.md"
    result = CliRunner().invoke(main, ["report", str(runs), str(sweep), "--paper", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "## Table 1(a): MNIST" in text and "## Table 2: ImageNet" in text
    assert "| FA | 2.00 (2) |" in text  # the best trial of the sweep fills FA's cell
    assert "## Other runs" in text and "| sign |" in text
    assert "![curves_table1a](img/results/curves_table1a.png)" in text
    for name in ("curves_table1a.png", "search_spread.png"):
        assert (out.parent / "img" / "results" / name).stat().st_size > 10_000
    assert not (out.parent / "img" / "results" / "curves_table1b.png").exists()  # no CIFAR runs
    assert f"`localnet sweep {sweep}/config.toml --space {sweep}/space.toml --trials 3 --keep 2 --after 1" in text


def make_sweep(path: Path, bests: list[float]) -> Path:
    """A finished random-search sweep directory: its trials (runs), trials.csv, sweep.json, config, space."""
    (path / "runs").mkdir(parents=True)
    lines = ["trial,name,seed,status,epochs,best_test_error,best_epoch,final_test_error,run_dir,optim.lr,optim.beta1"]
    for i, best in enumerate(bests):
        make_run(path / "runs", f"trial{i:03d}", [best + 1, best], rule={"name": "fa"})
        lines.append(f"{i},trial{i:03d},{i},done,2,{best},2,{best},{path}/runs/trial{i:03d},{10.0 ** -(i + 3)},0.9")
    (path / "trials.csv").write_text("\n".join(lines) + "\n")
    plan = {"epochs": 2, "rungs": [{"after": 1, "keep": 2}], "seed": 7, "threads": 1, "gpus": 0.0}
    (path / "sweep.json").write_text(json.dumps({"plan": plan, "trials": []}))
    (path / "config.toml").write_text(dump_toml({"name": "mnist_fc_fa"}))
    (path / "space.toml").write_text('"optim.lr" = {loguniform = [1e-6, 1e-2]}\n')
    return path


def test_a_sweep_is_described_by_its_command_and_best_trials(tmp_path):
    from localnet.report.sweeps import describe

    text = describe(make_sweep(tmp_path / "s", [4.0, 2.5, 3.0]), top=2)
    assert "3 trials of `mnist_fc_fa` (random search), 2 epochs; the best 2 after 1 epochs continue" in text
    assert "--trials 3 --keep 2 --after 1 --epochs 2 --seed 7 --threads 1 --out s`" in text
    rows = [line for line in text.splitlines() if line.startswith("| trial0")]
    # the two best by best test error, with the one sampled key that varies (beta1 is constant)
    assert rows == ["| trial001 | 2 | 2.50 (2) | 2.50 | 0.0001 |", "| trial002 | 2 | 3.00 (2) | 3.00 | 1e-05 |"]
    assert "optim.beta1" not in text


@pytest.mark.parametrize("args", [["report", "/no/such/dir"], ["report", "EMPTY"]])
def test_missing_or_empty_dirs_are_one_line_errors(tmp_path, args):
    args = [str(tmp_path) if a == "EMPTY" else a for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "no such directory" in result.output or "no finished epochs" in result.output


def test_a_halving_sweep_command_gives_back_its_rungs():
    from dataclasses import asdict

    from localnet.report.sweeps import command
    from localnet.sweep.driver import halving_rungs

    rungs = [asdict(r) for r in halving_rungs(27, 2, 3, 50)]
    text = command(Path("out/s"), {"epochs": 50, "rungs": rungs, "seed": 0, "threads": 1}, 27, True)
    assert "--after 2 --eta 3 --epochs 50" in text
    after, eta = (int(text.split(flag)[1].split()[0]) for flag in ("--after ", "--eta "))
    assert [asdict(r) for r in halving_rungs(27, after, eta, 50)] == rungs


def test_seed_key_fills_options_a_config_does_not_state():
    """A run saved before an option existed groups with today's runs of the same setting;
    a different value of that option, or another seed only, is told apart correctly."""
    from localnet.report.runs import seed_key

    base = {"name": "x", "seed": 0, "layers": [{"type": "dense", "units": 4}, {"type": "softmax", "units": 10}],
            "rule": {"name": "dtp", "schedule": "alternating"}}
    stated = {**base, "seed": 1, "rule": {**base["rule"], "parallel_order": "targets_first"}}
    other = {**base, "rule": {**base["rule"], "parallel_order": "inverse_first"}}
    assert seed_key(base) == seed_key(stated) != seed_key(other)
    assert seed_key({"not": "a config"}) == seed_key({"not": "a config", "seed": 3})
