"""fetch_dataset against local mirrors (file:// and a 127.0.0.1 http.server): no internet."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import threading

import pytest

from localnet.data import DATASETS, fetch_dataset, load_dataset, verify_dataset
from localnet.data.synthetic import write_synthetic_mnist
from localnet.errors import DataError, WriteError

UNREACHABLE = "http://127.0.0.1:9/"  # discard port: connection refused at once


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv("LOCALNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder of synthetic .gz files whose MD5s are made the registry's official ones."""
    folder = tmp_path / "mirror"
    paths = write_synthetic_mnist(folder, n_train=20, n_test=10, gz=True)
    spec = DATASETS["mnist"]
    files = tuple(
        dataclasses.replace(f, gz_md5=hashlib.md5(paths[f.role].read_bytes()).hexdigest())
        for f in spec.files
    )
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(spec, files=files))
    return folder


@pytest.fixture
def http_mirror(mirror):
    """The mirror folder served over http on 127.0.0.1; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(mirror))
    )
    # A short poll interval makes shutdown() return quickly (the default waits 0.5 s).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def leftovers(directory):
    """Names of temp files a download may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_fetch_from_file_mirror(tmp_path, mirror):
    target = tmp_path / "data"
    lines = []
    written = fetch_dataset("mnist", target, mirrors=[mirror.as_uri()], log=lines.append)
    expected = sorted(f.download_name for f in DATASETS["mnist"].files)
    assert sorted(p.name for p in written) == expected
    assert all(r.ok for r in verify_dataset("mnist", target))
    assert load_dataset("mnist", target).x_train.shape == (20, 28, 28, 1)
    assert len(lines) == 4 and leftovers(target) == []
    # Second run: everything already present with the right MD5, so no mirror is touched.
    assert fetch_dataset("mnist", target, mirrors=[UNREACHABLE]) == []


def test_fetch_http_after_failed_mirror(tmp_path, http_mirror):
    target = tmp_path / "data"
    written = fetch_dataset("mnist", target, timeout=5, mirrors=[UNREACHABLE, http_mirror])
    assert len(written) == 4
    assert all(r.ok for r in verify_dataset("mnist", target))
    assert leftovers(target) == []


def test_fetch_default_dir_is_cache(tmp_path, mirror):
    fetch_dataset("mnist", mirrors=[mirror.as_uri()])
    assert all(r.ok for r in verify_dataset("mnist", tmp_path / "cache" / "localnet" / "mnist"))


def test_fetch_replaces_bad_file(tmp_path, mirror):
    target = tmp_path / "data"
    fetch_dataset("mnist", target, mirrors=[mirror.as_uri()])
    bad = target / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"garbage")
    assert fetch_dataset("mnist", target, mirrors=[mirror.as_uri()]) == [bad]
    assert verify_dataset("mnist", target)[3].ok


def test_fetch_md5_mismatch(tmp_path, mirror):
    (mirror / "train-labels-idx1-ubyte.gz").write_bytes(b"not the file")
    target = tmp_path / "data"
    with pytest.raises(DataError) as err:
        fetch_dataset("mnist", target, mirrors=[mirror.as_uri()])
    message = str(err.value)
    assert "\n" not in message
    assert "could not download train-labels-idx1-ubyte.gz from any mirror" in message
    assert "md5" in message and str(target) in message
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
    assert (target / "train-images-idx3-ubyte.gz").exists()  # fetched before the failure: kept
    assert leftovers(target) == []


def test_fetch_missing_on_http_mirror(tmp_path, http_mirror, mirror):
    (mirror / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        fetch_dataset("mnist", tmp_path / "data", timeout=5, mirrors=[http_mirror])
    assert "\n" not in str(err.value) and "404" in str(err.value)
    assert leftovers(tmp_path / "data") == []


def test_fetch_unreachable(tmp_path):
    target = tmp_path / "data"
    with pytest.raises(DataError) as err:
        fetch_dataset("mnist", target, timeout=2, mirrors=[UNREACHABLE, "file:///nonexistent/dir/"])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("could not download train-images-idx3-ubyte.gz from any mirror (")
    assert "127.0.0.1:9: " in message and "nonexistent" in message
    assert "check the network" in message and f"into {target}" in message
    assert "--data-dir / LOCALNET_DATA" in message
    assert list(target.iterdir()) == []  # no partial file, no temp file


def test_interrupted_download_leaves_nothing(tmp_path, mirror, monkeypatch):
    import localnet.data.fetch as fetch_module

    def half_then_interrupt(url, out, timeout):
        out.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch_module, "_stream", half_then_interrupt)
    target = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        fetch_dataset("mnist", target, mirrors=[mirror.as_uri()])
    assert list(target.iterdir()) == []


def test_fetch_unwritable_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriteError) as err:  # a failed write, exit 74, like every other writer's
        fetch_dataset("mnist", blocker / "sub", mirrors=[UNREACHABLE])
    assert "\n" not in str(err.value) and str(blocker / "sub") in str(err.value)
