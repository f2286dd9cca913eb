"""localnet.machine: the platform a run's bits belong to."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import small_toml

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.machine import blas_core, machine, platform_key, simd_target


def test_the_platform_key_names_blas_kernels_and_simd_target():
    assert platform_key() == f"{blas_core()}/{simd_target()}"
    assert blas_core() != "unknown"  # numpy's bundled OpenBLAS answers (its wheels bundle scipy-openblas)
    assert simd_target() != "unknown"


def test_a_run_summary_names_its_machine(tmp_path):
    write_synthetic_mnist(tmp_path / "mnist", n_train=16, n_test=8)
    (tmp_path / "c.toml").write_text(small_toml())
    result = CliRunner().invoke(main, ["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "run"),
                                       "--data-dir", str(tmp_path / "mnist"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["machine"] == machine()
