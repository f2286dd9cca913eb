"""Reliability: divergence stops the run with one line (exit 3) and leaves the last good
checkpoint; a locked run directory is refused; a corrupt or partial checkpoint is skipped
and resume falls back to the one before; an interrupted run resumes bit for bit; sizes no
machine holds are refused before anything is allocated. (SIGKILL at many steps:
test_kill_resume.py; config fuzzing: test_config_fuzz.py.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import small_toml, tiny_config
from hypothesis import given, settings, strategies as st

from localnet.backend import get_backend
from localnet.errors import LocalnetError
from localnet.guard import DivergenceError, FiniteGuard, check_parameters
from localnet.lock import RunLock
from localnet.network import build_network
from localnet.run import prepare_run_dir


def test_guard_names_layer_kind_and_step():
    net = build_network(tiny_config("fa", [4, 4], 3), get_backend(), (2,), 3)
    net.engine.add_tap(FiniteGuard(np))
    net.nodes[1].params["W"][0, 0] = np.nan
    x, onehot = np.ones((2, 2), dtype=np.float32), np.eye(3, dtype=np.float32)[[0, 1]]
    with pytest.raises(DivergenceError) as info:
        net.step(7, x, onehot)
    message = str(info.value)
    assert "layer2 -> layer3" in message and "forward" in message and "step 7" in message
    assert "\n" not in message


def test_parameter_check_names_the_array():
    with pytest.raises(DivergenceError, match="parameter W of layer2"):
        check_parameters({"layer1/W": np.zeros(2), "layer2/W": np.array([np.inf])}, np, 3)


HOLDER = """
import sys, time
from localnet.lock import RunLock
with RunLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_live_lock_is_refused_and_a_killed_holders_lock_taken_over(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LocalnetError, match=f"in use by a running localnet \\(pid {holder.pid}\\)"):
            prepare_run_dir(tmp_path, force=True)
        with pytest.raises(LocalnetError, match="in use"):
            RunLock(tmp_path).__enter__()
    finally:
        holder.kill()  # SIGKILL: no cleanup, run.lock stays behind
        holder.wait()
        holder.stdout.close()
    assert (tmp_path / "run.lock").read_text().strip() == str(holder.pid)
    prepare_run_dir(tmp_path, force=False)  # the lock died with its holder: the directory is free
    with RunLock(tmp_path) as lock:  # and is taken over
        assert lock.owner() == os.getpid()
    assert not (tmp_path / "run.lock").exists()


def test_a_pid_in_an_unheld_lock_file_does_not_lock(tmp_path):
    """Only a held lock counts: a leftover file naming a live (e.g. reused) pid does not."""
    (tmp_path / "run.lock").write_text(f"{os.getppid()}\n")
    prepare_run_dir(tmp_path, force=False)
    with RunLock(tmp_path), pytest.raises(LocalnetError, match=f"in use by a running localnet \\(pid {os.getpid()}\\)"):
        RunLock(tmp_path).__enter__()  # a second holder, even in the same process, is refused
    assert not (tmp_path / "run.lock").exists()


RESUMABLE = """
name = "r"
seed = 5
[data]
batch_size = 8
[data.augment]
flip = "horizontal"
crop_padding = 2
[[layers]]
type = "dense"
units = 6
[[layers]]
type = "softmax"
units = 10
[rule]
name = "{rule}"
{extra}
[train]
epochs = 3
checkpoint_every = 2
keep_checkpoints = 2
"""


@pytest.mark.parametrize("rule,extra", [("fa", ""), ("sdtp", 'schedule = "alternating"\nsigma = 0.2')])
def test_interrupted_run_resumes_bit_identically(tmp_path, rule, extra):
    import json
    import tomllib

    from localnet.config import parse_config
    from localnet.data.synthetic import write_synthetic_mnist
    from localnet.run import resume_experiment, run_experiment

    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=40, n_test=10)  # 5 steps per pass
    config = parse_config(tomllib.loads(RESUMABLE.format(rule=rule, extra=extra)))
    quiet = lambda line: None  # noqa: E731
    run_experiment(config, str(data), tmp_path / "straight", echo=quiet)

    class Stop(Exception):
        pass

    import localnet.run as run_module
    original = run_module.FiniteGuard

    def stopping_guard(xp):
        def tap(message):
            if message.step == 13:  # mid-epoch (epoch 2 of an alternating run, epoch 3 otherwise)
                raise Stop
        return tap

    run_module.FiniteGuard = stopping_guard
    try:
        with pytest.raises(Stop):
            run_experiment(config, str(data), tmp_path / "cut", echo=quiet)
    finally:
        run_module.FiniteGuard = original
    assert not (tmp_path / "cut" / "run.lock").exists()
    newest = sorted((tmp_path / "cut" / "checkpoints").glob("ckpt-*.npz"))[-1]
    assert newest.name == "ckpt-0000000012.npz"
    newest.write_bytes(newest.read_bytes()[:100])  # a partial write: must be skipped with a warning
    lines = []
    resume_experiment(tmp_path / "cut", str(data), echo=lines.append)
    assert any("skipping checkpoint" in line and newest.name in line for line in lines)
    with np.load(tmp_path / "straight" / "params.npz") as a, np.load(tmp_path / "cut" / "params.npz") as b:
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]


def test_resume_needs_a_run_directory(tmp_path):
    from localnet.run import resume_experiment

    with pytest.raises(LocalnetError, match="not a run directory"):
        resume_experiment(tmp_path)


# -- corrupt checkpoints ------------------------------------------------------------------

def small_run_toml(lr: float, every: int) -> str:
    return small_toml(seed=2, lr=lr, epochs=2, train=(f"checkpoint_every = {every}", "keep_checkpoints = 3"))


WALL_CLOCK = ("seconds", "examples_per_second")


@pytest.fixture
def data40(tmp_path):
    from localnet.data.synthetic import write_synthetic_mnist

    write_synthetic_mnist(tmp_path / "mnist", n_train=40, n_test=10)  # 5 steps an epoch
    return tmp_path / "mnist"


def _cli(*args):
    from click.testing import CliRunner

    from localnet.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def _one_error_line(result, *needles, code):
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _same_params_and_metrics(a_dir, b_dir):
    import json

    with np.load(a_dir / "params.npz", allow_pickle=False) as a, np.load(b_dir / "params.npz", allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files)
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
    rows = [[{k: v for k, v in json.loads(line).items() if k not in WALL_CLOCK}
             for line in (d / "metrics.jsonl").read_text().splitlines()] for d in (a_dir, b_dir)]
    assert rows[0] == rows[1] and len(rows[0]) == 2


def _flip_middle(path):
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 16] = bytes(b ^ 0xFF for b in raw[middle:middle + 16])
    path.write_bytes(bytes(raw))  # same length, 16 bytes inverted in the middle


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])


@pytest.mark.parametrize("damage", [_flip_middle, _truncate], ids=["flipped", "truncated"])
def test_corrupt_checkpoint_is_detected_and_resume_falls_back(tmp_path, data40, damage):
    import shutil

    config = tmp_path / "small.toml"
    config.write_text(small_run_toml(0.01, 2))
    assert _cli("run", config, "--out", tmp_path / "straight", "--data-dir", data40, "--no-progress").exit_code == 0
    cut = tmp_path / "cut"
    shutil.copytree(tmp_path / "straight", cut)
    (cut / "params.npz").unlink()
    (cut / "summary.json").unlink()
    names = sorted(p.name for p in (cut / "checkpoints").glob("ckpt-*.npz"))
    assert names == ["ckpt-0000000006.npz", "ckpt-0000000008.npz", "ckpt-0000000010.npz"]
    newest = cut / "checkpoints" / names[-1]
    size = newest.stat().st_size
    damage(newest)
    assert newest.stat().st_size == size or damage is _truncate

    result = _cli("run", "--resume", cut, "--data-dir", data40, "--no-progress")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("warning: skipping checkpoint") and names[-1] in line
               for line in result.output.splitlines()), result.output
    assert f"from {names[-2]}" in result.output
    assert (cut / "checkpoints" / (names[-1] + ".corrupt")).exists()  # moved aside, kept for a post-mortem
    _same_params_and_metrics(tmp_path / "straight", cut)

    # The two newest broken: back to the oldest. All broken: one error line, exit 1. (Without
    # its summary the finished run counts as unfinished again: --resume trains.)
    for name in names[1:]:
        damage(cut / "checkpoints" / name)
    (cut / "params.npz").unlink()
    (cut / "summary.json").unlink()
    result = _cli("run", "--resume", cut, "--data-dir", data40, "--no-progress")
    assert result.exit_code == 0 and f"from {names[0]}" in result.output, result.output
    assert result.output.count("warning: skipping checkpoint") == 2
    _same_params_and_metrics(tmp_path / "straight", cut)
    for name in names:
        damage(cut / "checkpoints" / name)
    (cut / "summary.json").unlink()
    _one_error_line(_cli("run", "--resume", cut, "--data-dir", data40, "--no-progress"), "no valid checkpoint", code=1)


def test_run_stopped_before_its_first_checkpoint_starts_again(tmp_path, data40):
    config = tmp_path / "small.toml"
    config.write_text(small_run_toml(0.01, 0))
    assert _cli("run", config, "--out", tmp_path / "straight", "--data-dir", data40, "--no-progress").exit_code == 0
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "config.toml").write_bytes((tmp_path / "straight" / "config.toml").read_bytes())
    result = _cli("run", "--resume", cut, "--data-dir", data40, "--no-progress")
    assert result.exit_code == 0 and "no checkpoint yet" in result.output, result.output
    _same_params_and_metrics(tmp_path / "straight", cut)


@pytest.fixture(scope="module")
def two_checkpoints():
    """The bytes of two consecutive checkpoints of a small FA network, and their states."""
    import tempfile

    from localnet.checkpoint import Checkpointer, network_state
    from localnet.train import Position

    net = build_network(tiny_config("fa", [5, 4], 3), get_backend(), (6,), 3)
    with tempfile.TemporaryDirectory() as tmp:
        saver = Checkpointer(Path(tmp), net, keep=2)
        x, onehot = np.linspace(0, 1, 12, dtype=np.float32).reshape(2, 6), np.eye(3, dtype=np.float32)[[0, 2]]
        files, states = [], []
        for step in (1, 2):
            net.step(step - 1, x, onehot)
            files.append(saver.save(Position(step=step)).read_bytes())
            states.append(network_state(net))
    return _Saved(net, files, states)


class _Saved(tuple):
    """(network, checkpoint bytes, states), with a short repr for hypothesis' reports."""

    def __new__(cls, *items):
        return super().__new__(cls, items)

    def __repr__(self) -> str:
        return "<two checkpoints>"


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(where=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
def test_a_flipped_byte_anywhere_is_caught_or_harmless(two_checkpoints, where, mask):
    """Any single corrupted byte of the newest checkpoint either makes it skipped (zip CRC,
    header or format checks; the previous one is restored) or changed nothing that matters."""
    import tempfile

    from localnet.checkpoint import Checkpointer, network_state

    net, files, states = two_checkpoints
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "checkpoints"
        folder.mkdir()
        (folder / "ckpt-0000000001.npz").write_bytes(files[0])
        raw = bytearray(files[1])
        raw[int(where * len(raw))] ^= mask
        (folder / "ckpt-0000000002.npz").write_bytes(bytes(raw))
        warnings = []
        position, _, path = Checkpointer(Path(tmp), net, warn=warnings.append).load_latest()
    expected = states[position.step - 1]
    assert path.name == f"ckpt-{position.step:010d}.npz" and (position.step == 2) == (not warnings)
    restored = network_state(net)
    assert restored.keys() == expected.keys()
    assert all(np.array_equal(restored[k], expected[k]) for k in expected)


# -- divergence ---------------------------------------------------------------------------

@pytest.mark.slow
def test_blow_up_stops_the_process_with_one_line_exit_3_and_a_loadable_checkpoint(tmp_path, data40):
    """A real `localnet run` whose huge learning rate overflows within a few steps."""
    from localnet.checkpoint import Checkpointer
    from localnet.config import load_config

    config = tmp_path / "blowup.toml"
    config.write_text(small_run_toml(1e20, 1).replace('units = 6', 'units = 6\nactivation = "identity"'))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "localnet.cli", "run", str(config), "--out", str(out), "--data-dir",
                           str(data40), "--no-progress"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: training diverged"), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and "Warning" not in proc.stderr
    assert re.search(r"(forward|feedback|target) message layer\d+ -> (layer\d+|readout) holds NaN/Inf at step \d+",
                     proc.stderr), proc.stderr
    assert not (out / "params.npz").exists() and not (out / "summary.json").exists()
    assert not (out / "run.lock").exists()
    newest = sorted((out / "checkpoints").glob("ckpt-*.npz"))[-1]
    with np.load(newest, allow_pickle=False) as saved:
        assert all(np.isfinite(saved[k]).all() for k in saved.files if k.startswith("param/"))
    cfg = load_config(out / "config.toml")
    net = build_network(cfg, get_backend(), (28, 28, 1), 10)
    position, _, path = Checkpointer(out, net).load_latest()
    assert path == newest and position.step == int(newest.stem.split("-")[1])


@pytest.mark.parametrize("when", ["before", "after"])
def test_nan_in_one_layer_names_it_and_keeps_the_last_good_checkpoint(tmp_path, data40, monkeypatch, when):
    """NaN written into layer2's W at step 6: before the step, its forward message carries
    it; after the step, the checkpoint that follows refuses to save it. Either way: one
    line naming layer2, exit 3, the step-6 checkpoint left, and resuming from it works."""
    import localnet.network as network_module
    from localnet.checkpoint import Checkpointer
    from localnet.config import load_config

    original = network_module.Network.step

    def poisoned(self, step, *args, **kwargs):
        if step == 6 and when == "before":
            self.node("layer2").params["W"][0, 0] = np.nan
        probs = original(self, step, *args, **kwargs)
        if step == 6 and when == "after":
            self.node("layer2").params["W"][0, 0] = np.nan
        return probs

    config = tmp_path / "three.toml"
    config.write_text(small_run_toml(0.01, 1).replace('units = 6', 'units = 6\n[[layers]]\ntype = "dense"\n'
                                                                        'units = 5', 1))
    out = tmp_path / "run"
    monkeypatch.setattr(network_module.Network, "step", poisoned)
    result = _cli("run", config, "--out", out, "--data-dir", data40, "--no-progress")
    if when == "before":
        _one_error_line(result, "forward message layer2 -> layer3 holds NaN/Inf at step 6", code=3)
    else:
        _one_error_line(result, "parameter W of layer2 holds NaN/Inf at step 7", "not checkpointed", code=3)
    newest = sorted((out / "checkpoints").glob("ckpt-*.npz"))[-1]
    assert newest.name == "ckpt-0000000006.npz"
    with np.load(newest, allow_pickle=False) as saved:
        assert all(np.isfinite(saved[k]).all() for k in saved.files if k.startswith("param/"))
    monkeypatch.setattr(network_module.Network, "step", original)
    net = build_network(load_config(out / "config.toml"), get_backend(), (28, 28, 1), 10)
    assert Checkpointer(out, net).load_latest()[2] == newest
    resumed = _cli("run", "--resume", out, "--data-dir", data40, "--no-progress")
    assert resumed.exit_code == 0 and "from ckpt-0000000006.npz" in resumed.output, resumed.output


# -- two runs, one directory -------------------------------------------------------------

@pytest.mark.slow
def test_second_run_into_a_busy_directory_is_refused_and_the_first_completes(tmp_path, data40):
    import json

    from run_child import close, read_until_step, start_child

    config = tmp_path / "small.toml"
    config.write_text(small_run_toml(0.01, 2))
    out = tmp_path / "run"
    first = start_child(tmp_path, "run", config, "--out", out, "--data-dir", data40, "--no-progress", wait=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        read_until_step(first, 0, go=False)  # the first holds the directory, paused at step 0
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        for extra in ([], ["--force"]):
            second = subprocess.run([sys.executable, "-m", "localnet.cli", "run", str(config), "--out", str(out),
                                     "--data-dir", str(data40), "--no-progress", *extra],
                                    capture_output=True, text=True, env=env, timeout=120)
            assert second.returncode != 0 and second.stderr.count("\n") == 1, second.stderr
            assert second.stderr.startswith("error: run directory") and "Traceback" not in second.stderr
            assert f"in use by a running localnet (pid {first.pid})" in second.stderr
        resume = subprocess.run([sys.executable, "-m", "localnet.cli", "run", "--resume", str(out), "--data-dir",
                                 str(data40)], capture_output=True, text=True, env=env, timeout=120)
        assert resume.returncode == 1 and f"in use by a running localnet (pid {first.pid})" in resume.stderr
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # untouched
        first.stdin.write("go\n")
        first.stdin.flush()
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        close(first)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["test_error"] is not None
    with np.load(out / "params.npz", allow_pickle=False) as params:
        assert params["layer1/W"].shape == (784, 6) and all(np.isfinite(params[k]).all() for k in params.files)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert not (out / "run.lock").exists()


# -- sizes, before anything is allocated -------------------------------------------------

@pytest.mark.parametrize("layers", [
    [{"type": "dense", "units": 7}, {"type": "dense", "units": 5}],
    [{"type": "conv", "kernel": 3, "channels": 4, "stride": 2}, {"type": "flatten"}],
    [{"type": "locally_connected", "kernel": 2, "channels": 3}, {"type": "conv", "kernel": 3, "channels": 2}],
    [{"type": "locally_connected", "kernel": 3, "channels": 2, "stride": 3, "bias": "channel"}],
])
def test_estimate_from_the_config_matches_the_built_plan(layers):
    from localnet.config import parse_config
    from localnet.plan import estimate_layers, plan, training_bytes

    config = parse_config({"name": "est", "layers": [*layers, {"type": "softmax", "units": 10}], "rule": {"name": "bp"},
                           "data": {"batch_size": 6}})
    rows = estimate_layers(config, (9, 8, 2))
    built = plan(build_network(config, get_backend(), (9, 8, 2), 10), 6)
    assert [(r.out_shape, r.parameters) for r in rows] == [(b.out_shape, b.parameters) for b in built]
    assert training_bytes(config, rows, 6) == sum(b.weights + b.feedback + b.optimizer + b.activations for b in built)


def test_too_big_for_memory_is_refused_before_allocating(tmp_path, data40, monkeypatch):
    import localnet.network as network_module
    from localnet.config import config_to_dict, parse_config
    from localnet.errors import ConfigError
    from localnet.plan import check_memory

    config = parse_config({"name": "big", "layers": [{"type": "dense", "units": 1000}, {"type": "softmax", "units": 10}],
                           "rule": {"name": "fa"}, "data": {"eval_batch_size": 100}})
    check_memory(config, (28, 28, 1), limit=16 * 2**20)  # 13.6 MiB at batch_size 100: fits
    wide_eval = parse_config({**config_to_dict(config), "data": {"eval_batch_size": 50000}})
    with pytest.raises(ConfigError, match=r"evaluating this network at data.eval_batch_size 50000 needs at least "
                                          r".*lower data.eval_batch_size"):
        check_memory(wide_eval, (28, 28, 1), limit=16 * 2**20)
    recording = parse_config({**config_to_dict(config), "record": {"enabled": True, "chunk": 10**9}})
    with pytest.raises(ConfigError, match=r"recording needs at least .* lower record.chunk"):
        check_memory(recording, (28, 28, 1), limit=16 * 2**20)
    with pytest.raises(ConfigError, match=r"needs at least .* more than the 1.0 MiB .*reduce units/channels or "
                                          r"batch_size"):
        check_memory(config, (28, 28, 1), limit=2**20)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(network_module, "build_network", no_build)
    huge = tmp_path / "huge.toml"
    huge.write_text(small_run_toml(0.01, 0).replace("units = 6", "units = 1000000000000"))
    for args in (["validate", huge], ["run", huge, "--out", tmp_path / "r", "--data-dir", data40]):
        _one_error_line(_cli(*args), "reduce units/channels or batch_size", "layers.0 dense", code=2)
    assert not (tmp_path / "r").exists()


def test_forced_rerun_leaves_no_checkpoint_of_the_old_run(tmp_path, data40):
    """--force overwrites: the old run's checkpoints (here from later steps than the new
    run reaches) must not be resumed as the new run's."""
    config = tmp_path / "small.toml"
    config.write_text(small_run_toml(0.01, 2))
    out = tmp_path / "run"
    assert _cli("run", config, "--out", out, "--data-dir", data40, "--no-progress").exit_code == 0
    result = _cli("run", config, "--out", out, "--data-dir", data40, "--no-progress", "--force", "--epochs", "1",
                  "--set", "train.checkpoint_every=0")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["ckpt-0000000005.npz"]
    resumed = _cli("run", "--resume", out, "--data-dir", data40, "--no-progress", "--epochs", "2")
    assert "from ckpt-0000000005.npz" in resumed.output and resumed.exit_code == 0, resumed.output


def test_a_stop_during_evaluation_checkpoints_the_finished_epoch_and_resume_evaluates(tmp_path, data40, monkeypatch):
    """A signal that lands while an epoch is evaluated: every step of that epoch is in the
    checkpoint, the resume only evaluates it (no step is run twice) and ends bit-identical."""
    import json

    import localnet.network as network_module
    import localnet.train as train
    from localnet.config import load_config
    from localnet.errors import Interrupted
    from localnet.run import resume_experiment, run_experiment

    config_path = tmp_path / "small.toml"
    config_path.write_text(small_run_toml(0.01, 0))
    config = load_config(config_path)
    quiet = lambda line: None  # noqa: E731
    run_experiment(config, str(data40), tmp_path / "straight", echo=quiet)
    trainers = []
    init, predict = train.Trainer.__init__, network_module.Network.predict

    def keep(self, *args, **kwargs):
        init(self, *args, **kwargs)
        trainers.append(self)

    def predicting(self, x):  # only evaluation predicts: ask for a stop in epoch 2's (after step 10)
        if trainers and trainers[-1].step_count == 10:
            trainers[-1].stop_requested = True
        return predict(self, x)

    monkeypatch.setattr(train.Trainer, "__init__", keep)
    monkeypatch.setattr(network_module.Network, "predict", predicting)
    with pytest.raises(Interrupted, match=r"checkpoint saved at step 10; continue with: localnet run --resume") as err:
        run_experiment(config, str(data40), tmp_path / "cut", echo=quiet)
    assert err.value.exit_code == 130
    assert sorted(p.name for p in (tmp_path / "cut" / "checkpoints").glob("*.npz"))[-1] == "ckpt-0000000010.npz"
    monkeypatch.setattr(network_module.Network, "predict", predict)
    lines: list[str] = []
    resume_experiment(tmp_path / "cut", str(data40), echo=lines.append)
    (epoch_line,) = [line for line in lines if line.startswith("epoch   2/")]
    assert "no steps left; resumed at 40 of 40 examples" in epoch_line, lines
    _same_params_and_metrics(tmp_path / "straight", tmp_path / "cut")
    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["epochs"] == 2


def test_the_first_signal_asks_for_a_stop_and_a_second_stops_at_once():
    import signal

    from localnet.run import _stop_on_signals

    class Trainer:
        stop_requested = False

    trainer = Trainer()
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), _stop_on_signals(trainer) as received:
        os.kill(os.getpid(), signal.SIGTERM)
        assert trainer.stop_requested and received == [signal.SIGTERM]
        os.kill(os.getpid(), signal.SIGINT)  # the handler raises here
        raise AssertionError("a second signal must interrupt")
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # restored


def test_a_finite_blow_up_stops_the_run_with_one_line(tmp_path):
    """optim.lr = 1e30 keeps every value finite (the NaN/Inf guard sees nothing) while every
    prediction goes confidently wrong: the loss check stops it after the epoch, exit 3."""
    from click.testing import CliRunner

    from localnet.cli import main
    from localnet.data.synthetic import write_synthetic_mnist
    from localnet.guard import check_loss

    write_synthetic_mnist(tmp_path / "mnist", n_train=32, n_test=16)
    (tmp_path / "c.toml").write_text(small_toml(lr=1e30, epochs=3))
    args = ["run", str(tmp_path / "c.toml"), "--data-dir", str(tmp_path / "mnist"), "--no-progress"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 3, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "training diverged: epoch 1's" in errors[0] and "train.diverge_loss" in errors[0]
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 1  # the diverged epoch is on record
    off = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "off"), "--set", "train.diverge_loss=0"])
    assert off.exit_code == 0, off.output
    check_loss(1, 2.3, 2.3, 10, 10.0)  # chance level is far below the limit
    with pytest.raises(DivergenceError, match="test loss is 24"):
        check_loss(1, 2.0, 24.0, 10, 10.0)


def _set_position(checkpoint, **change):
    import json as _json

    with np.load(checkpoint) as data:
        state = {key: data[key] for key in data.files}
    position = _json.loads(state["trainer/position"].tobytes().decode())
    position.update(change)
    state["trainer/position"] = np.frombuffer(_json.dumps(position).encode(), dtype=np.uint8)
    with open(checkpoint, "wb") as handle:
        np.savez(handle, **state)


def test_a_checkpoint_position_that_lies_is_not_followed(tmp_path):
    """A negative step makes the newest checkpoint unusable (skipped, the one before resumes);
    a well-formed position this run cannot have is one line, not silently other results."""
    from click.testing import CliRunner

    from localnet.cli import main
    from localnet.data.synthetic import write_synthetic_mnist

    write_synthetic_mnist(tmp_path / "mnist", n_train=32, n_test=16)
    (tmp_path / "c.toml").write_text(small_toml(epochs=2, train=("checkpoint_every = 2", "keep_checkpoints = 3")))
    run = tmp_path / "run"
    args = ["--data-dir", str(tmp_path / "mnist"), "--no-progress"]
    assert CliRunner().invoke(main, ["run", str(tmp_path / "c.toml"), "--out", str(run), *args]).exit_code == 0
    (run / "summary.json").unlink()
    newest, before = sorted((run / "checkpoints").glob("ckpt-*.npz"))[-1:-3:-1]
    _set_position(newest, step=-5)
    resumed = CliRunner().invoke(main, ["run", "--resume", str(run), *args])
    assert resumed.exit_code == 0, resumed.output
    assert f"warning: skipping checkpoint {newest} (ValueError: position step -5 is not an integer" in resumed.output
    assert f"resuming {run} from {before.name}" in resumed.output
    (run / "summary.json").unlink()
    newest = sorted((run / "checkpoints").glob("ckpt-*.npz"))[-1]
    _set_position(newest, pass_index=7)
    lied = CliRunner().invoke(main, ["run", "--resume", str(run), *args])
    assert lied.exit_code == 1 and "Traceback" not in lied.output, lied.output
    assert "the checkpoint's position (epoch 3, pass 7" in lied.output and "it is not this run's checkpoint" in lied.output
