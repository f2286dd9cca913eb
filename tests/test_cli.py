"""The command line end to end on tiny synthetic MNIST files: runs, outputs, and bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.testing import rule_names

TINY = """
name = "tiny"
seed = 3
[data]
dataset = "mnist"
batch_size = 8
eval_batch_size = 16
[[layers]]
type = "dense"
units = 12
repeat = 2
[[layers]]
type = "softmax"
units = 10
[rule]
name = "{rule}"
[optim]
lr = 0.001
[train]
epochs = 2
"""


@pytest.fixture
def data_dir(tmp_path):
    directory = tmp_path / "mnist"
    write_synthetic_mnist(directory, n_train=40, n_test=20)
    return directory


def write_config(tmp_path, text, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def assert_one_line_error(result, *needles, code=None):
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.mark.parametrize("rule", rule_names())
def test_run_writes_a_complete_run_directory(tmp_path, data_dir, rule):
    out = tmp_path / "run"
    result = invoke("run", write_config(tmp_path, TINY.format(rule=rule)), "--data-dir", data_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert "epoch   2/2" in result.output and "test err" in result.output
    assert {p.name for p in out.iterdir()} >= {"config.toml", "metrics.jsonl", "params.npz", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    for key in ("train_error", "test_error", "best_test_error", "epochs", "examples_per_second"):
        assert summary[key] is not None, key
    assert summary["epochs"] == 2 and summary["rule"] == rule
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    with np.load(out / "params.npz", allow_pickle=False) as params:
        assert params["layer1/W"].shape == (784, 12)
    # the saved config is the resolved one and runs again as is
    assert 'name = "tiny"' in (out / "config.toml").read_text()
    again = invoke("run", out / "config.toml", "--data-dir", data_dir, "--out", tmp_path / "again", "--epochs", "1")
    assert again.exit_code == 0, again.output


def test_same_seed_gives_bit_identical_parameters(tmp_path, data_dir):
    config = write_config(tmp_path, TINY.format(rule="fa"))
    for name in ("a", "b"):
        assert invoke("run", config, "--data-dir", data_dir, "--out", tmp_path / name).exit_code == 0
    with np.load(tmp_path / "a" / "params.npz") as a, np.load(tmp_path / "b" / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    assert invoke("run", config, "--data-dir", data_dir, "--out", tmp_path / "c", "--seed", "4").exit_code == 0
    with np.load(tmp_path / "a" / "params.npz") as a, np.load(tmp_path / "c" / "params.npz") as c:
        assert not np.array_equal(a["layer1/W"], c["layer1/W"])


def test_set_overrides_reach_the_run(tmp_path, data_dir):
    out = tmp_path / "run"
    result = invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir, "--out", out,
                    "--set", "optim.lr=0.0005", "--set", "layers.0.units=5", "--epochs", "1")
    assert result.exit_code == 0, result.output
    text = (out / "config.toml").read_text()
    assert "lr = 0.0005" in text and "units = 5" in text


@pytest.mark.parametrize("name", ["a\\nb", "../../../x", "/tmp/x", "a\\u0000b", "", ".hidden", "x" * 101])
def test_a_name_that_is_not_a_plain_name_is_refused(tmp_path, data_dir, name):
    """The name names the run directory (runs/NAME-TIME): a path, a control character or an
    empty name is refused before anything is written (--set 'name="a\\nb"' is a TOML escape)."""
    out = tmp_path / "run"
    result = invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir, "--out", out,
                    "--set", f'name="{name}"', "--epochs", "1")
    assert_one_line_error(result, "name must be a plain name", code=2)
    assert not out.exists()


def test_unknown_key(tmp_path, data_dir):
    config = write_config(tmp_path, TINY.format(rule="bp").replace("batch_size = 8", "batchsize = 8"))
    assert_one_line_error(invoke("run", config, "--data-dir", data_dir, "--out", tmp_path / "r"),
                          "data.batchsize", "batch_size", code=2)
    assert not (tmp_path / "r").exists()


def test_wrong_type(tmp_path, data_dir):
    config = write_config(tmp_path, TINY.format(rule="bp").replace("lr = 0.001", 'lr = "fast"'))
    assert_one_line_error(invoke("run", config, "--data-dir", data_dir), "optim.lr", "float", code=2)


def test_missing_config_file(tmp_path):
    assert_one_line_error(invoke("run", tmp_path / "nope.toml"), "nope.toml", "does not exist", code=2)


def test_unknown_rule(tmp_path, data_dir):
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="backprop")), "--data-dir", data_dir),
                          "'backprop'", "known: aosdtp, bp, dfa", code=2)


def test_truncated_idx_file(tmp_path, data_dir):
    path = data_dir / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir,
                                 "--out", tmp_path / "r"), "train-images-idx3-ubyte.gz", "truncated", code=1)
    assert not (tmp_path / "r").exists()


def test_missing_data_dir(tmp_path):
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir",
                                 tmp_path / "empty"), "--data-dir", "localnet data fetch mnist", code=1)


def test_existing_run_directory_is_not_overwritten(tmp_path, data_dir):
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("precious")
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir,
                                 "--out", out), "already holds a run", "--force")
    assert (out / "summary.json").read_text() == "precious"
    forced = invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir, "--out", out,
                    "--force", "--epochs", "1")
    assert forced.exit_code == 0, forced.output
    assert f"--force: replacing the run in {out} (its checkpoints, params.npz and summary.json are removed)" \
        in forced.output  # said, not done silently


def test_a_folder_of_other_files_is_not_called_a_run(tmp_path, data_dir):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir,
                                 "--out", out), f"run directory {out} is not empty (it holds thesis.tex)",
                          "--force to write into it")
    forced = invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir, "--out", out,
                    "--force", "--epochs", "1")
    assert forced.exit_code == 0 and f"--force: writing into {out}, which holds thesis.tex" in forced.output
    assert (out / "thesis.tex").read_text() == "mine"


def test_bad_set_and_bad_cli_arguments(tmp_path, data_dir):
    config = write_config(tmp_path, TINY.format(rule="bp"))
    assert_one_line_error(invoke("run", config, "--set", "optim.lr"), "key=value", code=2)
    result = invoke("run", config, "--backend", "tpu")
    assert result.exit_code == 2 and "Traceback" not in result.output and "tpu" in result.output


def test_cupy_without_gpu_is_one_line(tmp_path, data_dir):
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    assert_one_line_error(invoke("run", write_config(tmp_path, TINY.format(rule="bp")), "--data-dir", data_dir,
                                 "--backend", "cupy"), "cupy", "--backend numpy", code=2)


def test_validate(tmp_path):
    ok = invoke("validate", write_config(tmp_path, TINY.format(rule="dfa")))
    assert ok.exit_code == 0 and "ok" in ok.output
    bad = write_config(tmp_path, TINY.format(rule="dfa").replace("units = 12", "units = -1"), "bad.toml")
    assert_one_line_error(invoke("validate", bad), "units", code=2)


def test_data_verify_reports_mismatch_for_synthetic_files(data_dir):
    result = invoke("data", "verify", "mnist", "--data-dir", data_dir)
    assert result.exit_code == 1 and "md5-mismatch" in result.output and "Traceback" not in result.output


def test_help_is_complete():
    for args in ([], ["run"], ["validate"], ["data"], ["data", "fetch"], ["data", "verify"], ["bench"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.slow
def test_real_process_prints_no_traceback(tmp_path):
    """The installed entry point, in a real process, on a config error."""
    bad = write_config(tmp_path, TINY.format(rule="nope"))
    proc = subprocess.run([sys.executable, "-m", "localnet.cli", "run", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_resume_extends_a_finished_run(tmp_path, data_dir):
    out = tmp_path / "run"
    config = write_config(tmp_path, TINY.format(rule="fa"))
    assert invoke("run", config, "--data-dir", data_dir, "--out", out).exit_code == 0
    result = invoke("run", "--resume", out, "--epochs", "3", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "epoch   3/3" in result.output
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    both = invoke("run", config, "--resume", out)
    assert both.exit_code == 2 and "--resume takes no CONFIG" in both.output


def test_batch_larger_than_the_data_found_is_exit_2(tmp_path, data_dir):
    # 40 synthetic training images: the official-size check passes, the loaded data does not.
    config = write_config(tmp_path, TINY.format(rule="fa").replace("batch_size = 8", "batch_size = 41"))
    result = invoke("run", config, "--data-dir", data_dir, "--out", tmp_path / "run")
    assert_one_line_error(result, "data.batch_size 41", "40 training examples", code=2)
    assert not (tmp_path / "run").exists()


def test_unknown_dataset_is_exit_2(tmp_path):
    config = write_config(tmp_path, TINY.format(rule="fa").replace('dataset = "mnist"', 'dataset = "cifar100"'))
    assert_one_line_error(invoke("validate", config), "cifar100", "cifar10", code=2)


def test_errors_name_where_the_value_came_from(tmp_path, data_dir):
    """A bad value set on the command line names the option, not the file; one in the file names the file."""
    config = write_config(tmp_path, TINY.format(rule="bp"))
    cases = [(["--set", "optim.lr=abc"], "error: --set optim.lr=abc: optim.lr must be float, got str 'abc'"),
             (["--set", "layers.0.units=-1"], "error: --set layers.0.units=-1: [layers.0] units must be >= 1"),
             (["--epochs", "0"], "error: --epochs 0: [train] epochs must be >= 1, got 0"),
             (["--seed", "-2"], "error: --seed -2: seed must be >= 0"),
             (["--set", "threads=-1"], "error: --set threads=-1: threads must be >= 0")]
    for args, start in cases:
        result = invoke("run", config, "--data-dir", data_dir, "--out", tmp_path / "r", *args)
        assert_one_line_error(result, code=2)
        assert result.output.strip().startswith(start) and "tiny.toml" not in result.output, result.output
    in_file = write_config(tmp_path, TINY.format(rule="bp").replace("lr = 0.001", 'lr = "abc"'), "file.toml")
    result = invoke("validate", in_file, "--set", "optim.beta1=0.5")
    assert_one_line_error(result, code=2)
    assert result.output.startswith(f"error: {in_file}: optim.lr must be float"), result.output
    assert not (tmp_path / "r").exists()


def test_resume_of_a_finished_run_says_so_and_trains_nothing(tmp_path, data_dir):
    out = tmp_path / "run"
    assert invoke("run", write_config(tmp_path, TINY.format(rule="fa")), "--data-dir", data_dir, "--out", out,
                  "--no-progress").exit_code == 0
    before = {p.relative_to(out): (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    for extra in ([], ["--epochs", "2"], ["--epochs", "1"]):
        result = invoke("run", "--resume", out, "--data-dir", data_dir, *extra)
        assert result.exit_code == 0, result.output
        (line,) = result.output.splitlines()
        assert line.startswith(f"{out}: the run is complete (2 epochs trained") and "resuming" not in line
        assert line.endswith(f"localnet run --resume {out} --epochs 4"), line
    after = {p.relative_to(out): (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before  # nothing trained, nothing rewritten
    result = invoke("run", "--resume", out, "--data-dir", data_dir, "--epochs", "0")
    assert_one_line_error(result, "--epochs 0", "epochs must be >= 1", code=2)


def test_validate_warns_that_a_cupy_config_fails_here_without_cupy(tmp_path):
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    config = write_config(tmp_path, TINY.format(rule="bp").replace('name = "tiny"', 'name = "tiny"\nbackend = "cupy"'))
    result = invoke("validate", config)
    assert result.exit_code == 0, result.output
    warning, ok = result.output.splitlines()
    assert warning.startswith(f"warning: {config}: `localnet run` will fail on this machine: backend 'cupy' needs CuPy")
    assert ok.startswith(f"{config}: ok")
    bad = write_config(tmp_path, config.read_text().replace("units = 12", "units = -1"), "bad.toml")
    assert_one_line_error(invoke("validate", bad), "units", code=2)  # a bad config still fails, as before
