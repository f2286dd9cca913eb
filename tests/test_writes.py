"""A failed write, at every place localnet writes, is one line naming the path, the cause and
the fix (exit 74, no traceback), and loses nothing already written: the previous checkpoint
loads, metrics.jsonl has no torn line, no temporary file is left, and resuming (or, for a
failure before the first checkpoint, rerunning the same command) ends bit for bit where an
uninterrupted run ends.

Failures are injected through the test hook LOCALNET_FAIL_WRITES (localnet/writes.py), which
fails the N-th write of a named file with a chosen errno before it writes; a real full
disk, a real file in the way and a real unwritable folder are tested beside it where this
machine can make one.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from localnet.checkpoint import Checkpointer
from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.errors import friendly_errors
from localnet.record import RecordReader
from localnet.writes import HOOK, WriteError, append_line, check_space, reset_injected, write_atomic, writing

CONFIG = """
name = "writes"
seed = 5
[data]
batch_size = 8
eval_batch_size = 32
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
name = "fa"
[optim]
lr = 0.003
[train]
epochs = 3
checkpoint_every = 3
keep_checkpoints = 2
[record]
enabled = true
every = 2
chunk = 3
examples = 4
layers = ["layer2", "layer3"]
probes = ["forward", "update_norm"]
"""


@pytest.fixture(autouse=True)
def _fresh_hook(monkeypatch):
    monkeypatch.delenv(HOOK, raising=False)
    reset_injected()
    yield
    reset_injected()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(config, data dir, the uninterrupted run's directory)."""
    root = tmp_path_factory.mktemp("writes")
    data = root / "mnist"
    write_synthetic_mnist(data, n_train=64, n_test=16)
    config = root / "writes.toml"
    config.write_text(CONFIG)
    whole = root / "whole"
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(whole), "--data-dir", str(data), "--no-progress"])
    assert result.exit_code == 0, result.output
    return config, data, whole


def _run(args: list[str], fail: str | None = None, monkeypatch=None):
    if fail is not None:
        monkeypatch.setenv(HOOK, fail)
    reset_injected()
    try:
        return CliRunner().invoke(main, args)
    finally:
        if monkeypatch is not None:
            monkeypatch.delenv(HOOK, raising=False)


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def _assert_one_line_write_error(result, path_part: str) -> str:
    assert result.exit_code == 74, result.output
    assert "Traceback" not in result.output
    lines = _error_lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: cannot write ") and path_part in lines[0], lines[0]
    assert re.fullmatch(r"error: cannot write \S+ \(.+\): \S.*", lines[0]), lines[0]  # path (cause): fix
    return lines[0]


def _assert_nothing_half_written(run: Path) -> None:
    assert not [p for p in run.rglob(".*.tmp")], list(run.rglob("*"))
    log = run / "metrics.jsonl"
    if log.exists():
        text = log.read_text()
        assert text == "" or text.endswith("\n")
        for line in text.splitlines():
            json.loads(line)


def _same_run(expected: Path, got: Path) -> None:
    with np.load(expected / "params.npz") as a, np.load(got / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key

    def metrics(run: Path) -> list[dict]:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in row.items() if k not in ("seconds", "examples_per_second")} for row in rows]

    assert metrics(got) == metrics(expected)
    want, have = RecordReader(expected / "record.zarr"), RecordReader(got / "record.zarr")
    assert have.attrs["complete"] is True and have.rows == want.rows
    for layer in want.layers:
        assert np.array_equal(have.coords(layer)["step"], want.coords(layer)["step"])
        for probe in want.probes(layer):
            assert np.array_equal(have.read(layer, probe), want.read(layer, probe), equal_nan=True), (layer, probe)


# (hook, the failed path's name, whether config.toml was written: then the error says to
# --resume, which continues from the newest checkpoint (or step 0); else rerunning the same
# command starts the run again in the same directory)
SITES = [
    ("run.lock", "run.lock", False),
    ("config.toml", "config.toml", False),
    ("metrics.jsonl", "metrics.jsonl", True),
    ("record.zarr", "record.zarr", True),
    ("checkpoints", "checkpoints", True),
    ("ckpt-*.npz@3", "ckpt-", True),
    ("metrics.jsonl@4", "metrics.jsonl", True),
    ("record.zarr@6", "record.zarr", True),
    ("params.npz", "params.npz", True),
    ("summary.json", "summary.json", True),
]


@pytest.mark.parametrize(("fail", "name", "started"), SITES, ids=[s[0] for s in SITES])
def test_every_run_write_site_fails_in_one_line_and_loses_nothing(setup, tmp_path, monkeypatch, fail, name, started):
    config, data, whole = setup
    run = tmp_path / "cut"
    args = ["run", str(config), "--out", str(run), "--data-dir", str(data), "--no-progress"]
    line = _assert_one_line_write_error(_run(args, f"{fail}", monkeypatch), name)
    assert "no space left on device" in line
    _assert_nothing_half_written(run)
    if started:
        assert f"localnet run --resume {run}" in line  # the error says how to go on
        if any((run / "checkpoints").glob("ckpt-*.npz")):
            fresh = Checkpointer(run, _network(config), keep=2)
            fresh.load_latest()  # the previous checkpoint stays loadable
        result = _run(["run", "--resume", str(run), "--data-dir", str(data), "--no-progress"])
    else:
        result = _run(args)  # nothing was trained: the same command, in the same directory
    assert result.exit_code == 0, result.output
    _same_run(whole, run)


def _network(config: Path):
    from localnet.backend import get_backend
    from localnet.config import load_config
    from localnet.network import build_network

    cfg = load_config(config)
    return build_network(cfg, get_backend("numpy", cfg.dtype), (784,), 10)


@pytest.mark.parametrize("code", ["EROFS", "EACCES", "EDQUOT"])
def test_read_only_or_unwritable_folder(setup, tmp_path, monkeypatch, code):
    """Standing in for a folder this user cannot write (the suites may run as root, whom
    permissions do not stop): the run directory itself cannot be created."""
    config, data, _ = setup
    out = tmp_path / "ro" / "run"
    result = _run(["run", str(config), "--out", str(out), "--data-dir", str(data), "--no-progress"],
                  f"run:{code}", monkeypatch)
    line = _assert_one_line_write_error(result, str(out))
    cause = {"EROFS": "read-only file system", "EACCES": "permission denied", "EDQUOT": "disk quota exceeded"}[code]
    assert cause in line
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder; the hook test above stands in")
def test_real_read_only_folder(setup, tmp_path):
    config, data, _ = setup
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _run(["run", str(config), "--out", str(folder / "run"), "--data-dir", str(data), "--no-progress"])
        assert "permission denied" in _assert_one_line_write_error(result, str(folder / "run"))
    finally:
        folder.chmod(0o755)


def test_out_under_an_existing_file(setup, tmp_path):
    """A real file in the way: --out FILE/run (and --out FILE, which click refuses itself)."""
    config, data, _ = setup
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    result = _run(["run", str(config), "--out", str(blocker / "run"), "--data-dir", str(data), "--no-progress"])
    assert "a folder on the path is a file" in _assert_one_line_write_error(result, str(blocker / "run"))
    result = _run(["run", str(config), "--out", str(blocker), "--data-dir", str(data), "--no-progress"])
    assert result.exit_code == 2 and "is a file" in result.output and "Traceback" not in result.output
    assert blocker.read_text() == "keep me"


def test_a_run_that_cannot_fit_is_refused_before_it_starts(setup, tmp_path, monkeypatch):
    config, data, whole = setup
    monkeypatch.setattr("localnet.writes.free_bytes", lambda path: 1000)
    out = tmp_path / "full"
    args = ["run", str(config), "--out", str(out), "--data-dir", str(data), "--no-progress"]
    line = _assert_one_line_write_error(_run(args), str(out))
    assert "2 checkpoints and params.npz need about" in line and "--force" in line
    assert not out.exists()
    result = _run([*args, "--force"])  # tries anyway (free_bytes is what says it cannot fit)
    assert result.exit_code == 0, result.output
    _same_run(whole, out)


def test_write_atomic_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.bin"
    write_atomic(path, lambda handle: handle.write(b"old"))

    def half_then_full(handle):
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match=r"cannot write .*state.bin \(no space left on device\)"):
        write_atomic(path, half_then_full)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]


def test_append_line_cuts_a_torn_line_back_off(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_bytes(b'{"epoch": 1}\n')

    class FillsUp(io.FileIO):
        def write(self, data):  # the disk takes 5 bytes, then is full
            if len(data) > 5:
                return super().write(bytes(data[:5]))
            raise OSError(errno.ENOSPC, "No space left on device")

    with FillsUp(log, "ab") as handle, pytest.raises(WriteError, match="metrics.jsonl"):
        append_line(handle, log, '{"epoch": 2}')
    assert log.read_bytes() == b'{"epoch": 1}\n'


def test_writing_passes_other_os_errors_through(tmp_path):
    with pytest.raises(OSError) as info, writing(tmp_path / "x"):
        raise OSError(errno.EIO, "Input/output error")
    assert not isinstance(info.value, WriteError) and info.value.errno == errno.EIO


def test_check_space(tmp_path, monkeypatch):
    monkeypatch.setattr("localnet.writes.free_bytes", lambda path: 5 * 2**20)
    check_space(tmp_path / "new" / "run", 4 * 2**20, "checkpoints")
    with pytest.raises(WriteError, match=r"checkpoints need about 6.0 MiB, 5.0 MiB free"):
        check_space(tmp_path / "new" / "run", 6 * 2**20, "checkpoints")
    check_space(tmp_path / "new" / "run", 6 * 2**20, "checkpoints", force=True)


def test_a_full_disk_anywhere_else_is_still_one_line():
    """The CLI's net: ENOSPC from a write no `writing()` names is a WriteError line, exit 74."""

    @click.command()
    @friendly_errors
    def writes_somewhere() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/some/file")

    result = CliRunner().invoke(writes_somewhere, [])
    assert result.exit_code == 74 and "Traceback" not in result.output
    assert result.output.strip() == ("error: cannot write /some/file (no space left on device): "
                                     "free some space or choose another --out")


def test_sweep_report_and_plot_writes_are_one_line(setup, tmp_path, monkeypatch):
    config, data, whole = setup
    report = _run(["report", str(whole), "--out", str(tmp_path / "r.md")], "r.md", monkeypatch)
    _assert_one_line_write_error(report, "r.md")
    assert not (tmp_path / "r.md").exists() and not list(tmp_path.glob(".*.tmp"))
    plot = _run(["plot", str(whole), "--out", str(tmp_path / "figs")], "*.png", monkeypatch)
    _assert_one_line_write_error(plot, ".png")
    sweep_args = ["sweep", str(config), "--variant", "a: optim.lr=0.003", "--variant", "b: optim.lr=0.001",
                  "--epochs", "1", "--jobs", "1", "--out", str(tmp_path / "sweep"), "--data-dir", str(data)]
    sweep = _run(sweep_args, "trials.csv", monkeypatch)
    _assert_one_line_write_error(sweep, "trials.csv")
    assert _run(sweep_args).exit_code == 0  # rerunning the same command goes on


def test_checkpoint_size_estimate_matches_the_files(setup):
    """What the free-space check and `localnet plan` count is what a checkpoint holds."""
    from localnet.checkpoint import checkpoint_bytes

    config, _, whole = setup
    newest = sorted((whole / "checkpoints").glob("ckpt-*.npz"))[-1].stat().st_size
    estimate = checkpoint_bytes(_network(config))
    assert estimate <= newest <= estimate + 64 * 2**10  # npz headers, the metrics history, record rows


def test_plan_prints_the_disk_a_run_needs():
    result = CliRunner().invoke(main, ["plan", "models/mnist_fc_bp.toml"])
    assert result.exit_code == 0, result.output
    assert re.search(r"disk: a checkpoint is [\d.]+ MiB; the run directory grows to about [\d.]+ MiB", result.output)


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MiB file system (tmpfs), where this machine lets the tests mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.strip()}); the hook tests fail every site instead")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_real_full_disk_mid_run(setup, small_disk):
    """The disk fills at the second checkpoint: one line, the first checkpoint loads, and
    after space is freed --resume ends where an uninterrupted run ends."""
    config, data, whole = setup
    checkpoint = sorted((whole / "checkpoints").glob("ckpt-*.npz"))[-1].stat().st_size
    filler = small_disk / "filler"
    room = int(1.6 * checkpoint) + 24 * 2**10  # the config, the log, the record's first chunks, one checkpoint
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - room))
    run = small_disk / "run"
    args = ["run", str(config), "--out", str(run), "--data-dir", str(data), "--no-progress"]
    refused = _run(args)
    assert "pass --force to start anyway" in _assert_one_line_write_error(refused, str(run))
    assert not run.exists()
    failed = _run([*args, "--force"])  # try anyway: it fills up
    line = _assert_one_line_write_error(failed, str(run))
    assert "no space left on device" in line and f"localnet run --resume {run}" in line
    _assert_nothing_half_written(run)
    assert list((run / "checkpoints").glob("ckpt-*.npz"))
    Checkpointer(run, _network(config), keep=2).load_latest()
    filler.unlink()
    resumed = _run(["run", "--resume", str(run), "--data-dir", str(data), "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    _same_run(whole, run)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("someone's file")
    (victim / "zarr.json").write_text("{}")
    return victim


def _unchanged(victim: Path) -> None:
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt", "zarr.json"]
    assert (victim / "notes.txt").read_text() == "someone's file" and (victim / "zarr.json").read_text() == "{}"


@pytest.mark.parametrize(("link", "target"), [("run.lock", "victim/notes.txt"), ("record.zarr", "victim"),
                                              ("checkpoints", "victim"), ("config.toml", "victim/notes.txt")])
def test_links_in_a_run_folder_are_refused_and_their_targets_untouched(setup, tmp_path, link, target):
    """A link planted where a run writes (whoever can write a shared --out could aim it at any
    file the user can write): refused with one line, with or without --force; the target stays."""
    config, data, _ = setup
    victim = _victim(tmp_path)
    out = tmp_path / "shared"
    out.mkdir()
    (out / link).symlink_to(tmp_path / target)
    for extra in ([], ["--force"]):
        result = _run(["run", str(config), "--out", str(out), "--data-dir", str(data), "--no-progress", *extra])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert _error_lines(result.output) == [f"error: {out / link} is a symbolic link: localnet does not write "
                                               "through links in a run folder; remove the link, or choose another --out"]
        _unchanged(victim)


def test_resume_refuses_a_linked_metrics_log(setup, tmp_path):
    _, data, whole = setup
    victim = _victim(tmp_path)
    run = tmp_path / "run"
    shutil.copytree(whole, run)
    (run / "summary.json").unlink()
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").symlink_to(victim / "notes.txt")
    result = _run(["run", "--resume", str(run), "--data-dir", str(data), "--no-progress"])
    assert result.exit_code == 1 and "metrics.jsonl is a symbolic link" in result.output, result.output
    _unchanged(victim)


def test_write_atomic_never_writes_through_a_planted_temporary(tmp_path):
    victim = _victim(tmp_path)
    path = tmp_path / "summary.json"
    (tmp_path / ".summary.json.tmp").symlink_to(victim / "notes.txt")
    write_atomic(path, lambda handle: handle.write(b"{}"))
    assert path.read_bytes() == b"{}" and not path.is_symlink()
    _unchanged(victim)
