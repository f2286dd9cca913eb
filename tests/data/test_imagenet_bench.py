"""localnet.data.imagenet.bench: the click CLI runs end to end on a few generated JPEGs."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from localnet.data.imagenet.bench import main, make_jpegs
from localnet.data.imagenet.release import prepare_imagenet


def test_loader_only_reports_a_line_per_batch_kind_and_thread_count(tmp_path):
    make_jpegs(tmp_path / "src", 3)
    prepare_imagenet(tmp_path / "src", tmp_path / "prepared", size=256, splits=("train",))
    result = CliRunner().invoke(main, ["--loader-only", "--dir", str(tmp_path), "--workers", "1,2"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("loader (shards -> ")]
    assert [re.search(r"(\d+) thread\(s\)", line)[1] for line in lines] == ["1", "2", "1", "2"]
    assert ["float32" in line for line in lines] == [True, True, False, False]
    assert (tmp_path / "src").is_dir()  # --loader-only leaves DIR as it was


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path):
    result = CliRunner().invoke(main, ["--workers", "1,x", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "'1,x' is not a comma-separated list of counts >= 1" in result.output
    result = CliRunner().invoke(main, ["--loader-only", "--dir", str(tmp_path / "missing")])
    assert result.exit_code == 1 and result.output.startswith("error: ") and "Traceback" not in result.output


@pytest.mark.slow
def test_full_run_generates_prepares_and_loads(tmp_path):
    result = CliRunner().invoke(main, ["--images", "4", "--dir", str(tmp_path / "bench"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    heads = [line.split(",")[0] for line in result.output.splitlines()]
    assert heads == ["4 JPEGs 500x375", "decode+resize 500x375 to 256", "decode+resize 1200x900 to 256",
                     "prepare (decode", "loader (shards -> float32 batch", "loader (shards -> uint8 batch"]
    assert len(list((tmp_path / "bench" / "src" / "train").rglob("*.JPEG"))) == 4
