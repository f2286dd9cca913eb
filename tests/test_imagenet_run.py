"""`localnet run models/imagenet_lc_sdtp.toml` end to end on tiny real-format ImageNet fixtures.

The fixture release (tests/data/imagenet_fixture.py: a train tar of per-class tars, a val
tar with the devkit) is prepared at 104 px; the headline config runs with its widths and
image size overridden small by --set (96 px crops keep every layer's kernel within its
input). Checked: top-1 and top-5 errors are logged, and a run killed mid-epoch by SIGKILL
then resumed ends bit-identical to one never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from localnet.backend import resolve_auto
from localnet.cli import main
from localnet.data.imagenet import prepare_imagenet

sys.path.insert(0, str(Path(__file__).parent / "data"))
from imagenet_fixture import write_release
from run_child import close, read_until_step, start_child

CONFIG = str(Path(__file__).resolve().parents[1] / "models" / "imagenet_lc_sdtp.toml")
SMALL = ["data.image_size=96", "data.batch_size=4", "data.eval_batch_size=5", "layers.0.channels=4",
         "layers.1.channels=4", "layers.2.channels=6", "layers.3.channels=6", "layers.4.channels=8",
         "layers.5.channels=8", "layers.6.channels=8", "layers.8.units=3", "backend=numpy"]
WALL_CLOCK = ("seconds", "examples_per_second")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """The fixture release prepared at 104 px: 14 train images (one truncated file skipped), 9 val, 3 classes."""
    src = tmp_path_factory.mktemp("release")
    write_release(src)
    out = tmp_path_factory.mktemp("prepared")
    prepare_imagenet(src, out, size=104, chunk=4)
    return out


def sets(*extra: str) -> list[str]:
    return [arg for item in (*SMALL, *extra) for arg in ("--set", item)]


def metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in rows]


def test_headline_config_trains_on_prepared_shards_and_logs_top1_top5(prepared, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", CONFIG, *sets("train.epochs=2", "train.eval_train=true", "backend=auto"),
                                       "--data-dir", str(prepared), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = metrics(out)
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        for key in ("train_error", "test_error", "train_top5_error", "test_top5_error"):
            assert 0.0 <= row[key] <= 100.0, (key, row)
        # with 3 classes the true class is always among the 5 most probable
        assert row["test_top5_error"] == 0.0 and row["train_top5_error"] == 0.0
        assert row["test_error"] * 9 / 100 == pytest.approx(round(row["test_error"] * 9 / 100))  # k of 9 images
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_top5_error"] == rows[-1]["test_top5_error"]
    assert summary["rule"] == "sdtp" and summary["epochs"] == 2
    assert summary["backend"] == "auto" and summary["backend_used"] == resolve_auto()[0].name
    assert "14 train / 9 test examples" in result.output
    if resolve_auto()[0].name == "numpy":  # no usable GPU: one line says so, with the expected speed
        line = next(text for text in result.output.splitlines() if text.startswith("backend auto"))
        assert "training on numpy" in line and "s per step of 4" in line and "examples/s" in line


def test_a_crop_larger_than_the_prepared_images_is_one_line(prepared, tmp_path):
    result = CliRunner().invoke(main, ["run", CONFIG, *sets("data.image_size=120"), "--data-dir", str(prepared),
                                       "--out", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code != 0
    assert "data.image_size" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_a_directory_without_prepared_shards_names_the_fix(tmp_path):
    result = CliRunner().invoke(main, ["run", CONFIG, *sets(), "--data-dir", str(tmp_path), "--out",
                                       str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code != 0 and "manifest.json" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bit_identical(prepared, tmp_path):
    # 4 steps an epoch (14 images, batch 4), 3 epochs; a checkpoint after every step.
    args = ["run", CONFIG, *sets("train.epochs=3", "train.checkpoint_every=1"), "--data-dir", prepared,
            "--no-progress"]
    cut = start_child(tmp_path, *args, "--out", tmp_path / "cut", delay=0.02)
    straight = start_child(tmp_path, *args, "--out", tmp_path / "straight")
    try:
        read_until_step(cut, 6)  # the middle of epoch 2 (steps 4..7)
        os.kill(cut.pid, signal.SIGKILL)
        cut.wait(timeout=30)
        _, err = straight.communicate(timeout=300)
        assert straight.returncode == 0, err
    finally:
        close(cut)
        close(straight)
    assert not (tmp_path / "cut" / "summary.json").exists()
    result = CliRunner().invoke(main, ["run", "--resume", str(tmp_path / "cut"), "--data-dir", str(prepared),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "epoch 2" in result.output.split("resuming")[1].splitlines()[0]
    with np.load(tmp_path / "straight" / "params.npz") as a, np.load(tmp_path / "cut" / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    assert metrics(tmp_path / "cut") == metrics(tmp_path / "straight")


def test_downsampled_imagenet_trains_in_memory_with_top5(tmp_path):
    from test_downsampled import write_npz_release

    write_npz_release(tmp_path / "data", 32, per_batch=3)
    config = tmp_path / "i32.toml"
    config.write_text('name = "i32"\n[data]\ndataset = "imagenet32"\nbatch_size = 10\n'
                      '[[layers]]\ntype = "flatten"\n[[layers]]\ntype = "dense"\nunits = 8\nactivation = "tanh"\n'
                      '[[layers]]\ntype = "softmax"\nunits = 1000\n[rule]\nname = "bp"\n[train]\nepochs = 1\n')
    result = CliRunner().invoke(main, ["run", str(config), "--data-dir", str(tmp_path / "data"), "--out",
                                       str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (row,) = metrics(tmp_path / "run")
    assert 0.0 <= row["test_top5_error"] <= row["test_error"] <= 100.0
    assert 0.0 <= row["train_top5_error"] <= row["train_error"] <= 100.0


def test_the_train_error_subset_reads_only_its_images_and_changes_no_parameter(prepared, tmp_path):
    runs = {}
    for name, examples in (("all", '"all"'), ("part", "5")):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["run", CONFIG, *sets("train.epochs=1", "train.eval_train=true",
                                                                f"train.eval_train_examples={examples}"),
                                           "--data-dir", str(prepared), "--out", str(out), "--no-progress"])
        assert result.exit_code == 0, result.output
        runs[name] = (metrics(out), dict(np.load(out / "params.npz")))
    (full,), params_full = runs["all"]
    (part,), params_part = runs["part"]
    assert all(np.array_equal(params_full[k], params_part[k]) for k in params_full)
    assert (full["test_error"], full["test_loss"]) == (part["test_error"], part["test_loss"])
    assert part["train_error"] * 5 / 100 == pytest.approx(round(part["train_error"] * 5 / 100))  # k of 5 images
    assert full["train_error"] * 14 / 100 == pytest.approx(round(full["train_error"] * 14 / 100))  # k of 14


def test_validate_takes_a_streamed_config_s_classes_from_its_output_layer():
    """A 3-class prepared subset trains (the test above); validate of the same config must not
    refuse it for lacking the release's 1,000 classes."""
    result = CliRunner().invoke(main, ["validate", CONFIG, *sets()])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("parameters)") and "(3,)" in result.output
