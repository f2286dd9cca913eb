"""runners.bench.fc: a tiny run fills every column, and the paired ratio is the per-round median."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from runners.bench.fc import run_bench


@pytest.mark.slow
def test_tiny_bench_reports_best_and_paired_ratios(capsys):
    rows = run_bench(["bp", "sdtp"], batch_size=8, steps=2, repeats=3, json_out=None)
    bp, sdtp = rows
    assert len(bp["rounds"]) == len(bp["rounds_torch"]) == 3 and len(sdtp["rounds"]) == 3
    assert bp["ratio"] == pytest.approx(max(bp["rounds"]) / max(bp["rounds_torch"]))
    assert bp["ratio_paired_median"] == pytest.approx(np.median(np.array(bp["rounds"]) / np.array(bp["rounds_torch"])))
    assert sdtp["torch"] is None and sdtp["ratio_paired_median"] is None  # no torch TP reference
    assert sdtp["step_cost_paired_median"] == pytest.approx(np.median(np.array(bp["rounds"]) / np.array(sdtp["rounds"])))
    assert bp["step_cost_paired_median"] == 1.0
    out = capsys.readouterr().out
    assert "paired" in out and out.count("\n") == 4  # header, column names, two rules
