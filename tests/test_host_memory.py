"""keep_freed_memory: large numpy arrays come from malloc's heap, not fresh mmaps.

Each check runs in a fresh interpreter: the setting is process-wide and would otherwise
leak into the rest of the session (and an earlier test's run may already have set it).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import numpy as np
import pytest

# glibc's mallinfo2 (glibc >= 2.33) counts the bytes malloc holds in mmapped blocks (hblkhd).
PROBE = """
import ctypes, json, sys
import numpy as np
from localnet.host_memory import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
before = libc.mallinfo2().hblkhd
big = np.ones(1 << 24, dtype=np.float32)  # 64 MiB, above glibc's largest mmap threshold
mmapped = libc.mallinfo2().hblkhd - before
address = big.ctypes.data
del big
again = np.ones(1 << 24, dtype=np.float32)
print(json.dumps({"kept": kept, "mmapped": mmapped, "reused": again.ctypes.data == address,
                  "sum": float(again.sum())}))
"""

LIBC, LIBC_VERSION = platform.libc_ver()
glibc = pytest.mark.skipif(LIBC != "glibc" or sys.platform != "linux",
                           reason="keep_freed_memory only changes glibc's malloc")
mallinfo2 = pytest.mark.skipif(LIBC != "glibc" or tuple(map(int, LIBC_VERSION.split(".")[:2])) < (2, 33),
                               reason="the probe reads glibc's mallinfo2 (glibc >= 2.33)")


def probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@mallinfo2
def test_default_malloc_maps_large_arrays() -> None:
    # The control: without the setting, a 64 MiB array is its own mmap.
    assert probe("default")["mmapped"] >= 1 << 26


@mallinfo2
def test_kept_memory_serves_large_arrays_from_the_heap_and_reuses_them() -> None:
    result = probe("keep")
    assert result["kept"] is True
    assert result["mmapped"] == 0
    assert result["reused"]  # the freed block came back for the next array of its size
    assert result["sum"] == float(1 << 24)


@pytest.mark.skipif(LIBC == "glibc", reason="checks the no-op on other C libraries")
def test_other_c_libraries_are_left_alone() -> None:
    from localnet.host_memory import keep_freed_memory

    assert keep_freed_memory() is False


def test_a_numpy_run_keeps_freed_memory(tmp_path, monkeypatch) -> None:
    from localnet import run
    from localnet.config import load_config
    from localnet.data.synthetic import write_synthetic_mnist

    calls = []
    monkeypatch.setattr(run, "keep_freed_memory", lambda: calls.append(1) or True)
    write_synthetic_mnist(tmp_path / "mnist", n_train=40, n_test=20)
    config_path = tmp_path / "tiny.toml"
    config_path.write_text('name = "tiny"\n[data]\ndataset = "mnist"\nbatch_size = 8\n'
                           '[[layers]]\ntype = "softmax"\nunits = 10\n[rule]\nname = "bp"\n[train]\nepochs = 1\n')
    config = load_config(config_path, ["backend=numpy"])
    run.run_experiment(config, str(tmp_path / "mnist"), tmp_path / "run", echo=lambda _: None)
    assert calls == [1]


RUN = """
import sys
import localnet.run
if sys.argv[1] == "default":
    localnet.run.keep_freed_memory = lambda: False
from localnet.cli import main
main(sys.argv[2:])
"""

WIDE = """
name = "wide"
[data]
dataset = "mnist"
batch_size = 8
[[layers]]
type = "dense"
units = 12000  # 784 x 12000 float32 = 37.6 MB: above malloc's largest mmap threshold
[[layers]]
type = "softmax"
units = 10
[rule]
name = "sdtp"
[train]
epochs = 1
"""


@pytest.mark.slow
@glibc
def test_kept_memory_trains_bit_identically(tmp_path) -> None:
    # A layer whose weight, gradient and Adam moments are each their own mmap by default.
    from localnet.data.synthetic import write_synthetic_mnist

    write_synthetic_mnist(tmp_path / "mnist", n_train=40, n_test=16)
    (tmp_path / "wide.toml").write_text(WIDE)
    params = {}
    for mode in ("keep", "default"):
        out = tmp_path / mode
        subprocess.run([sys.executable, "-c", RUN, mode, "run", str(tmp_path / "wide.toml"), "--data-dir",
                        str(tmp_path / "mnist"), "--out", str(out), "--threads", "1"], check=True, capture_output=True)
        with np.load(out / "params.npz") as saved:
            params[mode] = {key: saved[key].tobytes() for key in saved.files}
    assert params["keep"] == params["default"]
