"""runners.report: run tables, curves, and the per-seed summary, from run directories."""

from __future__ import annotations

import json
import statistics
import sys

import pytest

from localnet.toml_io import dump_toml
from runners.report import load_run, main, seed_groups, table


def make_run(root, name, errors, seed=0, batch=100, rule="bp"):
    """A finished run directory as `localnet run` leaves it: config.toml and metrics.jsonl."""
    path = root / name
    path.mkdir()
    config = {"name": "mnist_fc_" + rule, "seed": seed, "data": {"batch_size": batch}, "rule": {"name": rule}}
    (path / "config.toml").write_text(dump_toml(config))
    rows = [{"epoch": i + 1, "train_error": 0.5, "test_error": e, "seconds": 2.0} for i, e in enumerate(errors)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def runs(tmp_path):
    return [make_run(tmp_path, "b100-s0", [3.0, 1.9, 1.7, 2.0], seed=0),
            make_run(tmp_path, "b100-s1", [3.1, 1.85, 1.95, 1.82], seed=1),
            make_run(tmp_path, "b16-s0", [2.5, 2.4, 2.2, 1.5], seed=0, batch=16),
            make_run(tmp_path, "fa-s2", [4.0, 2.1, 2.3, 2.2], seed=2, rule="fa")]


def test_best_is_the_lowest_test_error_and_within_cuts_the_epochs(runs):
    assert load_run(runs[0])["best"]["epoch"] == 3
    early = load_run(runs[0], within=2)
    assert len(early["rows"]) == 2 and early["best"]["test_error"] == 1.9


def test_table_has_a_row_per_run_with_best_and_final(runs):
    text = table([load_run(p) for p in runs])
    row = next(line for line in text.splitlines() if line.startswith("| b100-s1 "))
    assert "| 1.82 (4) |" in row and row.endswith("| 1.82 | 2.0 |")


def test_seed_groups_join_runs_that_differ_only_in_the_seed(runs):
    text = seed_groups([load_run(p) for p in runs], target=1.8)
    body = text.splitlines()[2:]
    assert len(body) == 3  # b100 (two seeds), b16, fa: batch and rule separate the groups
    b100 = body[0].split(" | ")
    assert b100[0] == "| b100" and b100[4] == "0, 1" and b100[5] == "1.70 1.82"
    assert b100[6] == f"{statistics.fmean([1.70, 1.82]):.2f}"
    assert b100[7] == f"{statistics.stdev([1.70, 1.82]):.2f}"
    assert body[0].endswith("| 1/2 |")
    assert body[1].split(" | ")[7] == "-"  # one seed: no standard deviation


def test_within_changes_the_grouped_bests(runs):
    text = seed_groups([load_run(p, within=2) for p in runs[:2]])
    assert "| 1.90 1.85 |" in text


def test_cli_seeds_mode_and_errors(runs, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["report", *map(str, runs), "--seeds", "--within", "3"])
    main()
    assert "| b16 | bp | 16 | 3 | 0 | 2.20 |" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["report", str(runs[0]), "--within", "0"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and "--within must be >= 1" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["report", str(runs[0].parent / "missing")])
    with pytest.raises(SystemExit):
        main()
    assert "no finished epochs" in capsys.readouterr().err
