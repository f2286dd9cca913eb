"""localnet/cli.py adds runner commands from the `localnet.commands` entry-point group; a
command whose package is missing says so in one line when called."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import click
from click.testing import CliRunner

from localnet import cli


def test_bench_comes_from_the_entry_point_group():
    assert "bench" in cli.main.commands
    assert cli.main.commands["bench"].callback.__module__ == "runners.bench.cli"


def test_a_missing_package_is_one_clear_line(monkeypatch):
    missing = EntryPoint(name="ghost", value="no_such_runner_package.cli:ghost", group="localnet.commands")
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [missing] if group == "localnet.commands" else [])
    group = click.Group("localnet")
    cli.add_runner_commands(group)
    result = CliRunner().invoke(group, ["ghost", "--anything"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no_such_runner_package" in lines[0] and lines[0].startswith("error: ")
