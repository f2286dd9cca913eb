"""`localnet data prepare imagenet` on tiny real-format fixtures (tests/data/imagenet_fixture.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from data.imagenet_fixture import CLASSES, WNIDS_BY_ID, reference_pixels, write_folders, write_release

from localnet.cli import main
from localnet.data.imagenet import open_split, prepare_imagenet
from localnet.data.imagenet.decode import decode_resized
from localnet.errors import DataError, WriteError

SIZE = 24


def store_bytes(root: Path) -> dict[str, bytes]:
    """Every file of a prepared split (arrays, parts, manifest) by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    src = tmp_path_factory.mktemp("release")
    written = write_release(src)
    out = tmp_path_factory.mktemp("prepared")
    manifests = prepare_imagenet(src, out, size=SIZE, chunk=4)
    return src, out, written, manifests


def test_train_tar_of_tars_pixels_equal_pillow_plus_resize(release):
    _, out, written, _ = release
    images, labels, manifest = open_split(out / "train")
    assert manifest["classes"] == CLASSES and images.shape == (14, SIZE, SIZE, 3)
    for i, source in enumerate(manifest["sources"]):
        _, member, name = source.split(":")
        wnid = member.removesuffix(".tar")
        np.testing.assert_array_equal(images[i], reference_pixels(written["train"][f"{wnid}/{name}"], SIZE))
        assert labels[i] == CLASSES.index(wnid)


def test_cmyk_gray_and_png_become_rgb_and_truncated_is_listed(release):
    _, out, _, _ = release
    images, _, manifest = open_split(out / "train")
    wnid = CLASSES[0]
    for n in (1, 2, 3):  # CMYK, grayscale, PNG named .JPEG
        source = f"ILSVRC2012_img_train.tar:{wnid}.tar:{wnid}_{n}.JPEG"
        image = images[manifest["sources"].index(source)]
        assert image.shape == (SIZE, SIZE, 3) and image.any()
    gray = images[manifest["sources"].index(f"ILSVRC2012_img_train.tar:{wnid}.tar:{wnid}_2.JPEG")]
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    truncated = f"ILSVRC2012_img_train.tar:{wnid}.tar:{wnid}_4.JPEG"
    assert truncated not in manifest["sources"]
    assert [s["source"] for s in manifest["skipped"]] == [truncated] and "truncated" in manifest["skipped"][0]["reason"]
    assert manifest["class_counts"][wnid] == 4
    assert manifest["problems"] == [f"train: 1 class(es) are short: {wnid} (4 of 5)"]


def test_val_tar_labelled_through_meta_mat(release):
    _, out, written, _ = release
    images, labels, manifest = open_split(out / "val")
    truth = written["truth"]
    assert len(labels) == len(truth) == 9
    for i, source in enumerate(manifest["sources"]):
        name = source.split(":")[1]
        np.testing.assert_array_equal(images[i], reference_pixels(written["val"][name], SIZE))
        assert labels[i] == CLASSES.index(WNIDS_BY_ID[truth[i] - 1])  # id -> wnid -> sorted index
    assert manifest["problems"] == []


def test_folder_layout_matches_tar(release, tmp_path):
    _, out, _, _ = release
    write_folders(tmp_path / "src")
    prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, chunk=4)
    a, la, _ = open_split(out / "train")
    b, lb, mb = open_split(tmp_path / "out" / "train")
    np.testing.assert_array_equal(a[:], b[:])
    np.testing.assert_array_equal(la, lb)
    assert mb["sources"][0] == f"train/{CLASSES[0]}/{CLASSES[0]}_1.JPEG"


def test_strict_fails_on_unreadable(tmp_path):
    write_folders(tmp_path / "src")
    with pytest.raises(DataError, match="_4.JPEG cannot be decoded"):
        prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, strict=True)


def test_val_tar_without_devkit_is_refused(tmp_path):
    write_release(tmp_path / "src")
    (tmp_path / "src" / "ILSVRC2012_devkit_t12.tar.gz").unlink()
    with pytest.raises(DataError, match="needs the devkit"):
        prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, splits=("val",))


def test_other_settings_do_not_resume(tmp_path):
    write_folders(tmp_path / "src")
    prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, chunk=4)
    (tmp_path / "out" / "train" / "manifest.json").unlink()
    with pytest.raises(DataError, match="other settings"):
        prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE + 1, chunk=4)


def test_half_written_chunk_is_rewritten(tmp_path):
    write_folders(tmp_path / "src")
    prepare_imagenet(tmp_path / "src", tmp_path / "ref", size=SIZE, chunk=2)
    reference = store_bytes(tmp_path / "ref" / "train")
    prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, chunk=2)
    root = tmp_path / "out" / "train"
    # Undo the end of the run: no manifest, the last two chunk records gone, and the
    # shard of the second-to-last chunk half written (as a kill mid-write leaves it).
    (root / "manifest.json").unlink()
    parts = sorted((root / ".parts").iterdir())
    for part in parts[-2:]:
        part.unlink()
    shard = root / "images" / "c" / str(len(parts) - 2) / "0" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, chunk=2)
    assert store_bytes(root) == reference


@pytest.mark.slow
def test_sigkill_then_rerun_is_byte_identical(tmp_path):
    write_folders(tmp_path / "src")
    for wnid in CLASSES:  # more, larger images so the run is still going when killed
        for i in range(12):
            src = tmp_path / "src" / "train" / wnid / f"{wnid}_1.JPEG"
            if wnid != CLASSES[0]:
                (tmp_path / "src" / "train" / wnid / f"{wnid}_x{i}.JPEG").write_bytes(src.read_bytes())
    cmd = [sys.executable, "-m", "localnet.cli", "data", "prepare", "imagenet", str(tmp_path / "src"),
           "--size", "160", "--chunk", "1", "--workers", "1", "--split", "train"]
    subprocess.run([*cmd, "--out", str(tmp_path / "ref")], check=True, capture_output=True, timeout=300)
    root = tmp_path / "out" / "train"
    child = subprocess.Popen([*cmd, "--out", str(tmp_path / "out")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (root / ".parts" / "000003.json").exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not (root / "manifest.json").exists(), "the run finished before the kill: make it longer"
    subprocess.run([*cmd, "--out", str(tmp_path / "out")], check=True, capture_output=True, timeout=300)
    assert store_bytes(root) == store_bytes(tmp_path / "ref" / "train")


def test_draft_is_off_by_default_and_changes_pixels_only_slightly():
    from data.imagenet_fixture import image_bytes

    data = image_bytes(np.random.default_rng(3), 500, 375)
    full = decode_resized(data, 64)
    np.testing.assert_array_equal(full, reference_pixels(data, 64))
    drafted = decode_resized(data, 64, draft=True)
    diff = np.abs(full.astype(int) - drafted.astype(int))
    assert diff.mean() < 4  # a different downscaler, the same picture


@pytest.mark.slow
def test_cli_prepare_reports_and_bad_src(tmp_path):
    write_folders(tmp_path / "src")
    done = subprocess.run([sys.executable, "-m", "localnet.cli", "data", "prepare", "imagenet", str(tmp_path / "src"),
                           "--out", str(tmp_path / "out"), "--size", "16", "--workers", "2"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "14 images written, 1 skipped" in done.stdout and "_4.JPEG: OSError" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "localnet.cli", "data", "prepare", "imagenet", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "o2")], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "is not a directory" in bad.stderr


def test_truncated_tar_and_unwritable_out_are_one_line_errors(tmp_path):
    write_release(tmp_path / "src")
    tar = tmp_path / "src" / "ILSVRC2012_img_train.tar"
    tar.write_bytes(tar.read_bytes()[:1000])
    with pytest.raises(DataError, match="cannot index the train split"):
        prepare_imagenet(tmp_path / "src", tmp_path / "out", size=SIZE, splits=("train",))
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match="cannot write"):
        prepare_imagenet(tmp_path / "src", tmp_path / "file", size=SIZE, splits=("val",))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["src", "src/prepared", "parent"])
def test_prepare_into_or_around_its_source_is_refused_and_changes_nothing(tmp_path, where):
    """--out equal to the source (an easy slip), inside it, or holding it: one line, every
    source file byte-identical afterwards, nothing created."""
    src = tmp_path / "src"
    write_folders(src)
    before = _tree(tmp_path)
    out = {"src": src, "src/prepared": src / "prepared", "parent": tmp_path}[where]
    result = CliRunner().invoke(main, ["data", "prepare", "imagenet", str(src), "--out", str(out), "--size", "8"])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: --out ") and "the source folder" in result.output
    assert "nothing was changed" in result.output
    assert _tree(tmp_path) == before and not (src / "prepared").exists()


def test_prepare_never_clears_a_folder_it_did_not_write(tmp_path):
    """OUT/train holding someone's files (no zarr.json): refused, the files stay as they were."""
    src, out = tmp_path / "src", tmp_path / "out"
    write_folders(src)
    (out / "train").mkdir(parents=True)
    (out / "train" / "thesis.tex").write_text("three years of work")
    with pytest.raises(DataError, match=r"out/train already holds files that are not a localnet prepare \(e.g. thesis.tex\)"):
        prepare_imagenet(src, out, size=8)
    assert sorted(p.name for p in (out / "train").iterdir()) == ["thesis.tex"]
    assert (out / "train" / "thesis.tex").read_text() == "three years of work"
    prepare_imagenet(src, tmp_path / "new", size=8)  # an empty or new folder is fine
    (tmp_path / "empty" / "train").mkdir(parents=True)
    prepare_imagenet(src, tmp_path / "empty", size=8)


@pytest.mark.slow
def test_a_killed_multi_worker_prepare_leaves_no_workers_and_no_tracebacks(tmp_path):
    """SIGKILL a prepare with 2 decode workers mid-run: its workers die with it (their
    stderr, the same pipe, closes at once) and print nothing (no BrokenPipe tracebacks)."""
    write_folders(tmp_path / "src")
    from io import BytesIO

    from PIL import Image

    big = BytesIO()  # slow to decode, so the workers are busy when the kill lands
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (1600, 1600, 3), dtype=np.uint8)).save(big, "JPEG")
    for wnid in CLASSES[1:]:
        for i in range(20):
            (tmp_path / "src" / "train" / wnid / f"{wnid}_x{i}.JPEG").write_bytes(big.getvalue())
    root = tmp_path / "out" / "train"
    child = subprocess.Popen([sys.executable, "-m", "localnet.cli", "data", "prepare", "imagenet",
                              str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--size", "160", "--chunk", "1",
                              "--workers", "2", "--split", "train"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (root / ".parts" / "000003.json").exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    _, stderr = child.communicate(timeout=30)  # returns once every holder of the pipe (the workers) is gone
    assert child.returncode == -signal.SIGKILL and not (root / "manifest.json").exists()
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr.decode()
