"""localnet.metrics_log and its readers: a damaged metrics.jsonl (a truncated last line, junk,
wrong types) or config.toml is read as far as it is readable, with one warning line, never a
traceback (`localnet report`, `localnet plot`)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import small_toml

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.metrics_log import read_rows

GOOD = {"epoch": 1, "train_loss": 2.0, "train_error": 50.0, "test_loss": 2.1, "test_error": 55.0, "seconds": 1.0,
        "examples_per_second": 10.0, "train_top5_error": 10.0, "test_top5_error": 12.0}


def test_read_rows_keeps_what_is_readable_and_says_what_it_skipped(tmp_path):
    log = tmp_path / "metrics.jsonl"
    lines = [json.dumps(GOOD), "garbage", json.dumps([1, 2]), json.dumps({**GOOD, "epoch": "2"}),
             json.dumps({**GOOD, "epoch": 3, "train_error": "high"}), json.dumps({**GOOD, "epoch": 4, "test_loss": None})]
    log.write_text("\n".join(lines) + "\n" + json.dumps({**GOOD, "epoch": 5})[:20])  # cut mid-line
    said: list[str] = []
    rows = read_rows(log, said.append)
    assert [row["epoch"] for row in rows] == [1, 4]
    assert said == [f"warning: {log}: skipped 5 unreadable line(s) (line 2: not JSON; line 3: not a JSON object; "
                    "line 4: no integer epoch >= 1 and 2 more)"]
    assert read_rows(tmp_path / "missing.jsonl") == []


def test_report_and_plot_read_damaged_run_folders(tmp_path):
    write_synthetic_mnist(tmp_path / "mnist", n_train=16, n_test=8)
    (tmp_path / "c.toml").write_text(small_toml(epochs=2))
    runs = tmp_path / "runs"
    for name in ("good", "torn", "bad_config"):
        result = CliRunner().invoke(main, ["run", str(tmp_path / "c.toml"), "--out", str(runs / name),
                                           "--data-dir", str(tmp_path / "mnist"), "--no-progress"])
        assert result.exit_code == 0, result.output
    torn = runs / "torn" / "metrics.jsonl"
    torn.write_text(torn.read_text()[:-30] + "\nnot json\n")
    (runs / "bad_config" / "config.toml").write_text("name = [unclosed")
    report = CliRunner().invoke(main, ["report", str(runs)])
    assert report.exit_code == 0 and "Traceback" not in report.output, report.output
    assert f"warning: {torn}: skipped 2 unreadable line(s)" in report.output
    assert f"warning: {runs / 'bad_config' / 'config.toml'} is not valid TOML" in report.output
    assert "| good |" in report.output and "| torn |" in report.output  # torn keeps its first epoch
    plot = CliRunner().invoke(main, ["plot", str(runs / "torn"), "--out", str(tmp_path / "plots")])
    assert plot.exit_code == 0 and "Traceback" not in plot.output, plot.output
