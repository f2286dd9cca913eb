"""The sweep driver: variant parsing, and a tiny two-variant sweep that resumes."""

from __future__ import annotations

import json

import pytest

from helpers import small_toml
from localnet.data.synthetic import write_synthetic_mnist
from runners.sweep import parse_variant, run_sweep

CONFIG = small_toml(name="tiny")


def test_parse_variant_splits_on_top_level_commas():
    assert parse_variant("std: data.normalize=\"a,b\", data.batch_size=50") == (
        "std", ('data.normalize="a,b"', "data.batch_size=50"))
    assert parse_variant(" shipped :") == ("shipped", ())
    assert parse_variant("r: record.layers=[\"layer1\", \"layer2\"]")[1] == ('record.layers=["layer1", "layer2"]',)
    with pytest.raises(SystemExit):
        parse_variant("no name")


def test_sweep_runs_each_variant_and_seed_once(tmp_path, capsys):
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    variants = [("a", ()), ("b", ("optim.lr=0.01",))]
    dirs = run_sweep(config, tmp_path / "out", variants, [0, 1], jobs=2, extra=["--data-dir", str(data)])
    assert [d.name for d in dirs] == ["a-s0", "a-s1", "b-s0", "b-s1"]
    summaries = [json.loads((d / "summary.json").read_text()) for d in dirs]
    assert all(s["epochs"] == 1 for s in summaries)
    assert "lr = 0.01" in (dirs[2] / "config.toml").read_text() and "seed = 1" in (dirs[1] / "config.toml").read_text()
    capsys.readouterr()
    run_sweep(config, tmp_path / "out", variants, [0, 1], jobs=2, extra=["--data-dir", str(data)])
    assert "start" not in capsys.readouterr().out  # all finished: nothing reruns


def test_an_unfinished_run_resumes_from_its_checkpoint(tmp_path, capsys):
    """A run stopped after epoch 1 (summary gone, checkpoint there) continues with --resume
    and ends exactly as a straight 2-epoch run of the same variant."""
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    extra = ["--data-dir", str(data)]
    (cut,) = run_sweep(config, tmp_path / "cut", [("a", ())], [0], jobs=1, extra=[*extra, "--epochs", "1"])
    (cut / "summary.json").unlink()
    capsys.readouterr()
    run_sweep(config, tmp_path / "cut", [("a", ())], [0], jobs=1, extra=[*extra, "--epochs", "2"])
    assert "resume a-s0" in capsys.readouterr().out
    (straight,) = run_sweep(config, tmp_path / "straight", [("a", ())], [0], jobs=1, extra=[*extra, "--epochs", "2"])

    def rows(run):
        return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "examples_per_second")}
                for line in (run / "metrics.jsonl").read_text().splitlines()]

    assert len(rows(cut)) == 2 and rows(cut) == rows(straight)


def test_threads_reach_every_run_and_its_resume(tmp_path, monkeypatch):
    """--threads is passed on to `localnet run` (not set through environment variables):
    each run states it first, saves it, and a resumed run gets it too."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=32, n_test=16)
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    extra = ["--data-dir", str(data), "--threads", "2"]
    (run,) = run_sweep(config, tmp_path / "out", [("a", ())], [0], jobs=1, extra=[*extra, "--epochs", "1"])
    log = tmp_path / "out" / "a-s0.log"
    assert log.read_text().startswith("run tiny: 2 threads,"), log.read_text()
    assert "threads = 2" in (run / "config.toml").read_text()
    (run / "summary.json").unlink()
    run_sweep(config, tmp_path / "out", [("a", ())], [0], jobs=1, extra=[*extra, "--epochs", "2"])
    assert log.read_text().count("run tiny: 2 threads,") == 2
