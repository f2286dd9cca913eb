"""Kill and resume, bit for bit: `localnet run` in a real process, SIGKILL-ed at a dozen
different steps (or stopped by SIGINT/SIGTERM, which checkpoint the step they land in),
then `localnet run --resume`, ends with exactly the parameters, metrics series and Zarr
record of a run that was never interrupted (numpy).

The child is the real CLI with one test instrument (tests/run_child.py): it prints
"step N" (flushed) as step N starts, so the test can kill it there. Most kills wait for
a 5 ms pause the child takes at each step, so they land at the step the test chose; the
others kill a child that runs on at nearly full speed (0.5 ms pauses), so they land
wherever it has got to by then: mid-step, mid-evaluation or in the middle of writing a
checkpoint. All children are started (and their imports paid for) together; each waits
for a "go" before training. The resumes run in this process, through the same CLI.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from run_child import close, read_until_step, start_child

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.record import RecordReader

CONFIG = """
name = "killed"
seed = 11
[data]
batch_size = 8
eval_batch_size = 32
[data.augment]
flip = "horizontal"
crop_padding = 2
[[layers]]
type = "dense"
units = 24
[[layers]]
type = "dense"
units = 16
[[layers]]
type = "softmax"
units = 10
[rule]
name = "sdtp"
schedule = "alternating"
sigma = 0.2
[optim]
lr = 0.003
[train]
epochs = 3
checkpoint_every = 3
keep_checkpoints = 2
"""
RECORD = """
[record]
enabled = true
every = 2
chunk = 3
examples = 4
layers = ["layer2", "layer3"]
probes = ["forward", "target", "update_norm"]
"""
N_TRAIN = 64  # 8 batches per pass, 2 passes per epoch (alternating): 16 steps an epoch, 48 in all
TOTAL_STEPS = 48

WALL_CLOCK = ("seconds", "examples_per_second")


def _metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in rows]


def _assert_same_run(expected: Path, got: Path) -> None:
    with np.load(expected / "params.npz", allow_pickle=False) as a, np.load(got / "params.npz", allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
    assert _metrics(got) == _metrics(expected)
    assert [row["epoch"] for row in _metrics(got)] == [1, 2, 3]
    if not (expected / "record.zarr").exists():
        return
    want, have = RecordReader(expected / "record.zarr"), RecordReader(got / "record.zarr")
    assert have.attrs["complete"] is True and have.rows == want.rows == TOTAL_STEPS // 2
    for layer in want.layers:
        coords = have.coords(layer)
        assert np.array_equal(coords["step"], np.arange(0, TOTAL_STEPS, 2)), layer  # no gap, no repeat
        for name in ("epoch", "phase"):
            assert np.array_equal(coords[name], want.coords(layer)[name]), (layer, name)
        assert have.probes(layer) == want.probes(layer)
        for probe in want.probes(layer):
            assert np.array_equal(have.read(layer, probe), want.read(layer, probe), equal_nan=True), (layer, probe)


def _kill_and_resume(tmp_path: Path, config_text: str, kills: list[tuple[int, str]]) -> list[int]:
    """Kill one child per (target step, how): "paced" (5 ms pauses: killed at the target),
    "free" (0.5 ms pauses: wherever it got to), "in_save" (inside the first checkpoint write
    after the target, between its temporary file and the rename). Resume each in turn and
    compare it with an uninterrupted child; returns the steps killed at."""
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=N_TRAIN, n_test=16)
    config = tmp_path / "killed.toml"
    config.write_text(config_text)
    children = [start_child(tmp_path, "run", config, "--out", tmp_path / f"cut{i}", "--data-dir", data,
                            "--no-progress", delay=0.0005 if how == "free" else 0.005, wait=True,
                            pause_in_save=target if how == "in_save" else None)
                for i, (target, how) in enumerate(kills)]
    straight = start_child(tmp_path, "run", config, "--out", tmp_path / "straight", "--data-dir", data,
                           "--no-progress")
    killed_at, had_checkpoint = [], []
    try:
        for i, (child, (target, how)) in enumerate(zip(children, kills)):
            last = read_until_step(child, target, saving=how == "in_save")
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            for line in child.stdout.read().splitlines():  # what it printed before dying
                if line.startswith("step "):
                    last = int(line.split()[1])
            assert child.returncode == -signal.SIGKILL, child.stderr.read()
            killed_at.append(last)
            folder = tmp_path / f"cut{i}" / "checkpoints"
            had_checkpoint.append(any(folder.glob("ckpt-*.npz")))
            if how == "in_save":  # the write was cut short: its temporary file, never renamed
                assert len(list(folder.glob(".ckpt-*.tmp"))) == 1, list(folder.iterdir())
        _, err = straight.communicate(timeout=120)
        assert straight.returncode == 0, err
    finally:
        for child in [*children, straight]:
            close(child)

    assert all(0 < step < TOTAL_STEPS for step in killed_at), killed_at
    assert sum(had_checkpoint) >= len(kills) - 1, (killed_at, had_checkpoint)  # the first is written at step 3
    for i, step in enumerate(killed_at):
        run = tmp_path / f"cut{i}"
        assert not (run / "params.npz").exists() and not (run / "summary.json").exists()
        result = CliRunner().invoke(main, ["run", "--resume", str(run), "--data-dir", str(data), "--no-progress"])
        assert result.exit_code == 0, (step, result.output)
        assert ("resuming" in result.output) == had_checkpoint[i], result.output
        assert not list((run / "checkpoints").glob(".ckpt-*.tmp"))  # the leftover was cleaned up
        _assert_same_run(tmp_path / "straight", run)
        assert json.loads((run / "summary.json").read_text())["epochs"] == 3
    return killed_at


@pytest.mark.slow
def test_sigkill_at_many_steps_then_resume_is_bit_identical(tmp_path):
    # 12 kill points, one in each 4-step window (so they stay distinct after a late kill),
    # mostly paced; free-running ones only early enough that no child can finish first; and
    # 2 kills inside a checkpoint write.
    rng = np.random.default_rng(2024)
    targets = [1 + 4 * i + int(rng.integers(0, 3)) for i in range(12)]
    kills = [(t, "free" if i % 2 == 1 and t < TOTAL_STEPS * 2 // 3 else "paced") for i, t in enumerate(targets)]
    kills += [(10, "in_save"), (34, "in_save")]
    killed_at = _kill_and_resume(tmp_path, CONFIG, kills)
    assert len(set(killed_at)) >= 10, killed_at


@pytest.mark.slow
def test_sigkill_with_recording_continues_the_record_without_gaps(tmp_path):
    """Each checkpoint carries the recorder's unflushed rows (every = 2, chunk = 3,
    checkpoint_every = 3: most checkpoints hold some), and a resumed run cuts the store at
    the first of them and restores them: the same steps, values and coordinates as a
    straight run, no gap, no repeat."""
    killed_at = _kill_and_resume(tmp_path, CONFIG + RECORD, [(5, "paced"), (22, "free"), (40, "in_save")])
    assert len(set(killed_at)) == 3, killed_at


def _progress_totals(output: str, epoch: int) -> set[tuple[str, str]]:
    """The (steps, examples) totals of epoch `epoch`'s progress lines, e.g. {("11", "88")}."""
    totals = set()
    for line in output.splitlines():
        if line.startswith(f"epoch {epoch}:"):
            steps = line.split(" step ")[1].split(",")[0].split("/")[1]
            examples = line.split(", ")[1].split(" examples")[0].split("/")[1]
            totals.add((steps, examples))
    return totals


@pytest.mark.slow
@pytest.mark.parametrize("sig,target", [(signal.SIGINT, 20), (signal.SIGTERM, 37)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_checkpoints_its_step_and_the_resume_counts_only_the_rest(tmp_path, sig, target):
    """SIGINT/SIGTERM mid-epoch: the child finishes the step it is in, writes that step's
    checkpoint (no periodic ones here, only at epoch ends), exits 128 + the signal and names
    the command that continues. The resume ends bit-identical to a straight run, and its
    first epoch's progress lines, epoch line and metrics row count only the resumed part."""
    data = tmp_path / "mnist"
    write_synthetic_mnist(data, n_train=N_TRAIN, n_test=16)
    config = tmp_path / "signalled.toml"
    config.write_text(CONFIG.replace("checkpoint_every = 3", "checkpoint_every = 0"))
    cut = tmp_path / "cut"
    child = start_child(tmp_path, "run", config, "--out", cut, "--data-dir", data, "--no-progress", delay=0.005, wait=True)
    straight = start_child(tmp_path, "run", config, "--out", tmp_path / "straight", "--data-dir", data, "--no-progress")
    try:
        last = read_until_step(child, target)
        os.kill(child.pid, sig)
        out, err = child.communicate(timeout=60)
        last = max([last] + [int(line.split()[1]) for line in out.splitlines() if line.startswith("step ")])
        assert straight.wait(timeout=120) == 0, straight.stderr.read()
    finally:
        close(child)
        close(straight)
    stopped = last + 1  # the step the signal landed in ran to its end
    assert child.returncode == 128 + sig, err
    assert f"interrupted by {signal.Signals(sig).name}: checkpoint saved at step {stopped}; continue with: " \
           f"localnet run --resume {cut} --data-dir {data}" in err, err
    assert "Traceback" not in err and "error:" not in err, err
    assert (cut / "checkpoints" / f"ckpt-{stopped:010d}.npz").is_file()
    assert not (cut / "params.npz").exists() and not (cut / "run.lock").exists()
    epoch, done = stopped // 16 + 1, stopped % 16  # 16 steps an epoch, 8 examples a step
    assert 0 < done < 16, stopped  # mid-epoch

    resumed = CliRunner().invoke(main, ["run", "--resume", str(cut), "--data-dir", str(data)])  # progress on
    assert resumed.exit_code == 0, resumed.output
    assert f"from ckpt-{stopped:010d}.npz" in resumed.output
    assert _progress_totals(resumed.output, epoch) == {(str(16 - done), str(128 - 8 * done))}, resumed.output
    if epoch < 3:
        assert _progress_totals(resumed.output, epoch + 1) == {("16", "128")}, resumed.output
    (line,) = [x for x in resumed.output.splitlines() if x.startswith(f"epoch {epoch:>3}/")]
    assert f"resumed at {8 * done} of 128 examples" in line, line
    rows = [json.loads(x) for x in (cut / "metrics.jsonl").read_text().splitlines()]
    for row in rows:  # seconds x epoch examples/s x 2 passes = the examples this process ran of the epoch
        ran = 128 - 8 * done if row["epoch"] == epoch else 128 if row["epoch"] > epoch else None
        if ran is not None:
            assert row["seconds"] * row["examples_per_second"] * 2 == pytest.approx(ran), row
    _assert_same_run(tmp_path / "straight", cut)
