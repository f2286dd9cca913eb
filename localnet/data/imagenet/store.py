"""The prepared ImageNet store: one folder per split holding Zarr v3 arrays.

OUT/<split>/ is a Zarr v3 group:
  images    uint8 (N, S, S, 3), sharding codec: one shard (file) per CHUNK images, inner
            chunks of one image (so a single image can also be read alone), no compression
            (decoded photos barely compress, and reading stays a plain copy);
  labels    int16 (N,), class index = position of the wnid in manifest["classes"];
  .parts/   one JSON record per completed chunk (resumability, see prepare.py);
  manifest.json   written last: classes, per-class counts, the source of every index,
            the skipped files and the problems found. Its presence marks a finished split.
Group attributes hold the settings a resumed prepare must match.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ...errors import DataError
from ...writes import write_text_atomic
from ...zarr_nodes import array_at, attrs_of

CHUNK = 256
MANIFEST = "manifest.json"
PARTS = ".parts"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write `obj` as compact JSON to `path` atomically (localnet.writes.write_text_atomic): a
    reader (or a resumed prepare) sees the old file or the whole new one, never half of it."""
    write_text_atomic(path, json.dumps(obj, separators=(",", ":")))


def create_or_open(root: Path, n_items: int, size: int, chunk: int, settings: dict[str, Any]) -> zarr.Group:
    """The split's group, created for `n_items` images (resized to the kept count at the
    end) or reopened when its settings equal `settings`; DataError if they differ."""
    if (root / "zarr.json").is_file():
        group = zarr.open_group(root, mode="r+")
        old = dict(attrs_of(group).get("settings", {}))
        if old != settings:
            changed = ", ".join(f"{k} {old.get(k)!r} -> {v!r}" for k, v in settings.items() if old.get(k) != v)
            raise DataError(f"{root} holds a prepare made with other settings ({changed}): "
                            f"use the same options to resume, or another --out")
        return group
    if root.is_dir() and (theirs := next(iter(sorted(root.iterdir())), None)) is not None:
        # not our store (no zarr.json): zarr's mode "w" would delete whatever is there
        raise DataError(f"{root} already holds files that are not a localnet prepare (e.g. {theirs.name}): "
                        "nothing was changed; choose an --out whose split folders are new or empty")
    root.mkdir(parents=True, exist_ok=True)
    group = zarr.open_group(root, mode="w-")  # create only: never clears an existing store
    group.attrs["settings"] = settings
    group.create_array("images", shape=(n_items, size, size, 3), dtype="uint8", chunks=(1, size, size, 3),
                       shards=(chunk, size, size, 3), compressors=None, fill_value=0)
    group.create_array("labels", shape=(n_items,), dtype="int16", chunks=(chunk,), compressors=None, fill_value=-1)
    (root / PARTS).mkdir(exist_ok=True)
    return group


def completed_parts(root: Path) -> list[dict[str, Any]]:
    """The records of chunks 0, 1, ... that were completely written (stops at the first gap)."""
    parts: list[dict[str, Any]] = []
    while (path := root / PARTS / f"{len(parts):06d}.json").is_file():
        parts.append(json.loads(path.read_text()))
    return parts


#: more images than any prepared split could hold: a count above it is a damaged or hostile store
MAX_COUNT = 10**8


def open_split(root: str | Path) -> tuple[zarr.Array, np.ndarray, dict[str, Any]]:
    """(images array, labels int64 (N,), manifest) of a finished prepared split; DataError
    when `root` is not one (missing, or a prepare that did not finish) or does not hold what
    its manifest says: the arrays' shapes and dtypes, every chunk file, the labels' range are
    checked before anything large is read, so a damaged or hostile store fails here, in one
    line, instead of allocating absurd sizes or training on the zeros of a missing shard."""
    root = Path(root)
    if not (root / MANIFEST).is_file():
        state = "an unfinished prepare" if (root / "zarr.json").is_file() else "no prepared split"
        raise DataError(f"{root} holds {state}: run `localnet data prepare imagenet SRC --out {root.parent}`")
    again = "prepare it again into an empty --out"
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        count, classes, size = manifest["count"], manifest["classes"], manifest["size"]
        group = zarr.open_group(root, mode="r")
        images, label_array = array_at(group, "images"), array_at(group, "labels")
    except (OSError, ValueError, KeyError, TypeError) as err:  # JSONDecodeError is a ValueError
        raise DataError(f"{root} is not a readable prepared split ({type(err).__name__}: {err}): {again}") from None
    if not (isinstance(count, int) and 0 <= count <= MAX_COUNT and isinstance(classes, list) and classes
            and isinstance(size, int) and size >= 1):
        raise DataError(f"{root / MANIFEST} is malformed (count {count!r}, {type(classes).__name__} classes, "
                        f"size {size!r}): {again}")
    expected = {"images": ((count, size, size, 3), np.dtype("uint8")), "labels": ((count,), np.dtype("int16"))}
    for name, array in (("images", images), ("labels", label_array)):
        shape, dtype = expected[name]
        if tuple(array.shape) != shape or np.dtype(array.dtype) != dtype:
            raise DataError(f"{root}/{name} is {tuple(array.shape)} {np.dtype(array.dtype)}, but the manifest says "
                            f"{shape} {dtype}: {again}")
    for name, array in (("images", images), ("labels", label_array)):
        per = (array.shards or array.chunks)[0]
        tail = "/0/0/0" if name == "images" else ""
        missing = [i for i in range(-(-count // per)) if not (root / name / "c" / f"{i}{tail}").is_file()]
        if missing:
            raise DataError(f"{root}/{name} lacks {len(missing)} of its chunk files (the first: "
                            f"{name}/c/{missing[0]}{tail}): the store is incomplete; {again}")
    labels = np.asarray(label_array[:], dtype=np.int64)
    if count and not (labels.min() >= 0 and labels.max() < len(classes)):
        raise DataError(f"{root}/labels hold values outside 0..{len(classes) - 1} (from {labels.min()} to "
                        f"{labels.max()}) for its {len(classes)} classes: {again}")
    return images, labels, manifest
