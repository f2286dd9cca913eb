"""Tiny ImageNet release in the real formats, for tests (no network).

Three classes of real image files of odd sizes, including a CMYK JPEG, a grayscale
JPEG, a PNG saved under a .JPEG name and a truncated JPEG; written as the train
tar-of-tars, the flat val tar with the devkit (meta.mat + ground truth, tar.gz), and
the extracted train/<wnid>/ layout.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.io import savemat

# ILSVRC2012_IDs deliberately not in wnid order: class index = sorted wnid, not the id.
WNIDS_BY_ID = ("n01484850", "n01440764", "n01443537")
CLASSES = sorted(WNIDS_BY_ID)
SIZES = ((37, 53), (61, 29), (45, 45), (80, 33), (29, 70))


def image_bytes(rng: np.random.Generator, width: int, height: int, kind: str = "rgb") -> bytes:
    """A real image file: smooth random colours (JPEG-like content) in the given form."""
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((width, height), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if kind == "cmyk":
        image.convert("CMYK").save(out, "JPEG", quality=90)
    elif kind == "gray":
        image.convert("L").save(out, "JPEG", quality=90)
    elif kind == "png":
        image.convert("RGBA").save(out, "PNG")
    else:
        image.save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2] if kind == "truncated" else data


def class_images(seed: int, per_class: int = 5) -> dict[str, dict[str, bytes]]:
    """{wnid: {file name: bytes}}: per_class images each; the first class holds the
    CMYK, grayscale, PNG-as-JPEG and truncated files."""
    rng = np.random.default_rng(seed)
    special = ("cmyk", "gray", "png", "truncated")
    out: dict[str, dict[str, bytes]] = {}
    for c, wnid in enumerate(CLASSES):
        files = {}
        for i in range(per_class):
            kind = special[i] if c == 0 and i < len(special) else "rgb"
            width, height = SIZES[(i + c) % len(SIZES)]
            files[f"{wnid}_{i + 1}.JPEG"] = image_bytes(rng, width, height, kind)
        out[wnid] = files
    return out


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def meta_mat() -> bytes:
    """meta.mat as the devkit has it: a `synsets` struct array (leaves, then a parent)."""
    fields = ["ILSVRC2012_ID", "WNID", "words", "num_children", "num_train_images"]
    synsets = np.zeros((len(WNIDS_BY_ID) + 1, 1), dtype=[(f, "O") for f in fields])
    for i, wnid in enumerate(WNIDS_BY_ID):
        synsets[i, 0] = (np.array([[i + 1]]), wnid, f"class {wnid}", np.array([[0]]), np.array([[5]]))
    synsets[-1, 0] = (np.array([[1001]]), "n00000001", "a parent", np.array([[3]]), np.array([[0]]))
    out = io.BytesIO()
    savemat(out, {"synsets": synsets})
    return out.getvalue()


def write_release(src: Path, seed: int = 0, val_per_class: int = 3) -> dict[str, dict[str, bytes]]:
    """Write the train tar-of-tars, the val tar and the devkit tar.gz into `src`.
    Returns {"train": {source name: bytes}, "val": {...}} of every image written."""
    src.mkdir(parents=True, exist_ok=True)
    train = class_images(seed)
    inner = {f"{wnid}.tar": _tar_bytes(files) for wnid, files in train.items()}
    (src / "ILSVRC2012_img_train.tar").write_bytes(_tar_bytes(inner))
    rng = np.random.default_rng(seed + 1)
    val, truth = {}, []
    for n in range(val_per_class * len(CLASSES)):
        class_id = 1 + (n * 2) % len(WNIDS_BY_ID)
        width, height = SIZES[n % len(SIZES)]
        val[f"ILSVRC2012_val_{n + 1:08d}.JPEG"] = image_bytes(rng, width, height)
        truth.append(class_id)
    (src / "ILSVRC2012_img_val.tar").write_bytes(_tar_bytes(val))
    devkit = {"ILSVRC2012_devkit_t12/data/meta.mat": meta_mat(),
              "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt":
                  "".join(f"{i}\n" for i in truth).encode()}
    with tarfile.open(src / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        for name, data in devkit.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {"train": {f"{w}/{n}": d for w, files in train.items() for n, d in files.items()},
            "val": val, "truth": truth}  # type: ignore[dict-item]


def write_folders(src: Path, seed: int = 0) -> dict[str, bytes]:
    """The extracted layout src/train/<wnid>/*.JPEG; returns {"<wnid>/<name>": bytes}."""
    written = {}
    for wnid, files in class_images(seed).items():
        (src / "train" / wnid).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (src / "train" / wnid / name).write_bytes(data)
            written[f"{wnid}/{name}"] = data
    return written


def reference_pixels(data: bytes, size: int) -> np.ndarray:
    """Direct Pillow decoding plus the documented resize (docs/data.md), written out
    independently of localnet: RGB, shorter side to `size` (BILINEAR), centre crop."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    new = (size, max(size, round(h * size / w))) if w <= h else (max(size, round(w * size / h)), size)
    image = image.resize(new, Image.Resampling.BILINEAR)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))
