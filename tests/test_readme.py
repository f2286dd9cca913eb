"""The README's promises, run: the Python snippet prints the message trace, and every command
of its "Using it" block runs here (shrunk: small data subsets, few epochs), in order, in a
scratch folder. A command the table below does not know fails the test, so a new README
command must say how it is exercised."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from localnet.cli import main
from localnet.data import DATASETS
from localnet.data.synthetic import write_synthetic_mnist

sys.path.insert(0, str(Path(__file__).parent / "data"))
from imagenet_fixture import write_release

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
LIMITS = ["--set", "data.limit_train=300", "--set", "data.limit_test=100"]
IMAGENET_SMALL = [arg for item in ("data.image_size=96", "data.batch_size=4", "data.eval_batch_size=5",
                                   "layers.0.channels=4", "layers.1.channels=4", "layers.2.channels=6",
                                   "layers.3.channels=6", "layers.4.channels=8", "layers.5.channels=8",
                                   "layers.6.channels=8", "layers.8.units=3", "backend=numpy")
                  for arg in ("--set", item)]
#: README command prefix -> arguments appended here to keep it small (click keeps an option's last value)
SHRINK = {
    "localnet run models/mnist_fc_bp.toml --epochs 5": LIMITS,
    "localnet run models/mnist_fc_bp.toml --set 'data.dataset=\"fashion_mnist\"'": [*LIMITS, "--epochs", "1"],
    "localnet run models/mnist_fc_sdtp_alternating.toml": [*LIMITS, "--epochs", "1"],
    "localnet run models/imagenet_lc_sdtp.toml": [*IMAGENET_SMALL, "--epochs", "1"],
    "localnet data prepare imagenet": ["--workers", "1", "--size", "104"],
    "localnet sweep": ["--trials", "3", "--after", "1", "--keep", "1", "--epochs", "2", *LIMITS],
    "localnet bench --suite lc": ["--repeats", "1"],
    "localnet bench": ["--steps", "3", "--repeats", "1", "--rules", "bp,fa"],
    "localnet reproduce": ["--epochs", "1", "--rules", "bp"],
}
#: commands that run as written
AS_IS = ("localnet run --resume", "localnet validate", "localnet schedule", "localnet plan", "localnet data verify",
         "localnet data fetch", "localnet inspect", "localnet plot", "localnet report")


def block(heading: str, language: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def commands() -> list[str]:
    text = block("## Using it", "bash").replace("\\\n", " ")
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in text.splitlines()]
    return [" ".join(line.split()) for line in lines if line]


def test_the_python_snippet_prints_the_message_trace():
    snippet = block("In Python", "python")
    done = subprocess.run([sys.executable, "-c", snippet], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["forward", "forward:", "input", "->", "layer1", "(4,", "28,", "28,", "1)"]
    assert "feedback feedback: layer2 -> layer1  (4, 256)" in done.stdout
    assert len(lines) == 13  # 7 forward hops, the labels' target, 5 feedback hops


def test_every_command_is_known():
    for command in commands():
        assert command.startswith(AS_IS) or any(command.startswith(p) for p in SHRINK), command


@pytest.mark.slow
def test_every_using_it_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").symlink_to(REPO / "models")
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LOCALNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # `data fetch fashion_mnist`: a local file:// mirror whose files carry the registry's checksums.
    mirror = tmp_path / "mirror"
    spec = DATASETS["fashion_mnist"]
    paths = write_synthetic_mnist(mirror, n_train=400, n_test=200, spec=spec)
    files = tuple(dataclasses.replace(f, gz_md5=hashlib.md5(paths[f.role].read_bytes()).hexdigest())
                  for f in spec.files)
    monkeypatch.setitem(DATASETS, "fashion_mnist", dataclasses.replace(spec, files=files,
                                                                       mirrors=(mirror.as_uri() + "/",)))
    write_release(home / "ILSVRC2012")
    ran = []
    for command in commands():
        args = shlex.split(command.replace("~", str(home)))
        extra = next((SHRINK[p] for p in sorted(SHRINK, key=len, reverse=True) if command.startswith(p)), [])
        result = CliRunner().invoke(main, [*args[1:], *extra], catch_exceptions=False)
        assert result.exit_code == 0, (command, result.output)
        ran.append(command)
    assert ran == commands()
    assert (tmp_path / "runs" / "report.md").is_file()
    assert (tmp_path / "runs" / "sdtp-rec" / "plots").is_dir() or list((tmp_path / "runs" / "sdtp-rec").glob("*.png"))
