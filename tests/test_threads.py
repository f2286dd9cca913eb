"""BLAS threads: the `threads` setting is applied while training (threadpoolctl), stated
in the run's first line, saved with the run, and restored afterwards."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_info

from localnet import train
from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.threads import DEFAULT_THREADS, available_cores, resolve_threads

CONFIG = ('name = "t"\n[data]\nbatch_size = 8\n[[layers]]\ntype = "dense"\nunits = 6\n'
          '[[layers]]\ntype = "softmax"\nunits = 10\n[rule]\nname = "fa"\n[train]\nepochs = 1\n')


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_settings_resolve():
    assert resolve_threads(0) == available_cores() >= 1
    assert resolve_threads(3) == 3 and DEFAULT_THREADS == 1


def test_threads_apply_while_training_and_are_stated_first(tmp_path, monkeypatch):
    write_synthetic_mnist(tmp_path / "mnist", n_train=40, n_test=10)
    (tmp_path / "t.toml").write_text(CONFIG)
    seen: list[set[int]] = []
    original = train.Trainer.fit

    def fit(self, *args, **kwargs):
        seen.append(_blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(train.Trainer, "fit", fit)
    outside = _blas_threads()
    for args, count, text in (([], 1, "1 thread,"), (["--threads", "2"], 2, "2 threads,"),
                              (["--set", "threads=3"], 3, "3 threads,")):
        out = tmp_path / f"run{count}"
        result = CliRunner().invoke(main, ["run", str(tmp_path / "t.toml"), "--data-dir", str(tmp_path / "mnist"),
                                           "--out", str(out), "--no-progress", *args])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0].startswith(f"run t: {text}"), result.output
        assert f"threads = {count}" in (out / "config.toml").read_text()
        if outside:  # a BLAS numpy can report on: it ran with that many threads, then went back
            assert seen[-1] == {count}, seen
            assert _blas_threads() == outside
    resumed = CliRunner().invoke(main, ["run", "--resume", str(tmp_path / "run2"), "--epochs", "2", "--threads", "1",
                                        "--data-dir", str(tmp_path / "mnist"), "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    lines = resumed.output.splitlines()
    assert lines[0] == ("warning: resuming on 1 BLAS thread(s); the run trained on 2: sums may round differently, "
                        "so the result may differ from an uninterrupted run's bits")
    assert lines[1].startswith("run t: 1 thread,"), resumed.output


def test_an_absurd_thread_count_is_refused():
    from localnet.errors import ConfigError
    from localnet.threads import OVERSUBSCRIBE

    cores = available_cores()
    assert resolve_threads(OVERSUBSCRIBE * cores) == OVERSUBSCRIBE * cores  # oversubscribing is a setting
    with pytest.raises(ConfigError, match=rf"threads = 100000 is far more than the {cores} core"):
        resolve_threads(100000)
