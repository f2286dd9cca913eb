"""runners.bench.threads: loads start and are stopped by PID; the table has a row per setting."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import small_toml

from localnet.data.synthetic import write_synthetic_mnist
from runners.bench.threads import main, start_load, stop_load


def test_each_load_is_stopped_by_its_pid():
    assert start_load("idle", 2) == []
    for load, count in (("busy", 2), ("gemm", 1)):
        processes = start_load(load, 2)
        assert len(processes) == count and all(p.poll() is None for p in processes)
        stop_load(processes)
        assert all(p.returncode is not None for p in processes)


@pytest.mark.slow
def test_table_has_a_row_per_setting_with_the_ratio_to_one_thread(tmp_path):
    write_synthetic_mnist(tmp_path / "mnist", n_train=64, n_test=16)
    config = tmp_path / "tiny.toml"
    config.write_text(small_toml(name="tiny"))
    result = CliRunner().invoke(main, ["--config", str(config), "--limit", "64", "--threads", "default,2",
                                       "--loads", "idle", "--repeats", "1", "--data-dir", str(tmp_path / "mnist")])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| idle |")]
    assert [row.split(" | ")[1] for row in rows] == ["default", "2", "1"]
    assert rows[-1].endswith("| 1.00x |")
