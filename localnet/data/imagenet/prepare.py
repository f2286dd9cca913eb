"""`localnet data prepare imagenet`: decode, resize and store a split as Zarr shards.

Workers (a process pool) decode images in source order; the main process keeps them in
that order, drops unreadable files (listed in the manifest, or an error with strict),
and writes CHUNK kept images at a time: the shard of images, the labels, then a record
`.parts/NNNNNN.json` (written atomically) of which source items the chunk consumed.
A killed prepare resumes after the last record: a chunk whose record is missing is
decoded and written again, so a half-written shard is never counted, and the arrays
equal those of an uninterrupted run byte for byte. manifest.json is written last.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...zarr_nodes import array_at
from ..imagenet_entry import IMAGENET
from .decode import MAX_FILE_BYTES, DecodeError, decode_resized
from .sources import Item
from .store import CHUNK, MANIFEST, PARTS, completed_parts, create_or_open, write_json_atomic

FULL_TOTALS = {"train": IMAGENET.train_size, "val": IMAGENET.test_size}  # the registry's split sizes
Task = tuple[str, int, int, int, bool]


def _decode_task(task: Task) -> np.ndarray | str:
    """Worker: the decoded image, or the reason it cannot be decoded (a str)."""
    path, offset, length, size, draft = task
    try:
        stored = length if length >= 0 else os.stat(path).st_size
        if stored > MAX_FILE_BYTES:  # a sparse or hostile file is not read whole
            return f"{stored:,} bytes, more than an image file may have ({MAX_FILE_BYTES:,}): not read"
        return decode_resized(Item(path, offset, length, "", 0).read(), size, draft)
    except DecodeError as err:
        return str(err)
    except OSError as err:
        return f"cannot read: {type(err).__name__}: {err}"


def _worker_start() -> None:  # pragma: no cover - runs in each pool worker
    """A decode worker leaves Ctrl-C to the prepare process (which stops the pool), dies with
    it on Linux, and prints nothing itself: its results and its errors travel to the prepare
    process, which reports them, so all a worker could print is the pool's own BrokenPipe
    traceback when a killed prepare's pipe closes (which can race the death signal)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's whole life


def _decoded(tasks: Sequence[Task], workers: int) -> Iterator[np.ndarray | str]:
    """Decoded results in task order: in this process (workers <= 1) or a spawn pool."""
    if workers <= 1:
        yield from map(_decode_task, tasks)
        return
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_start) as pool:
        yield from pool.imap(_decode_task, tasks, chunksize=8)


def prepare_split(items: Sequence[Item], root: Path, classes: Sequence[str], *, split: str, size: int = 256,
                  workers: int = 1, draft: bool = False, strict: bool = False, chunk: int = CHUNK,
                  expected: dict[str, int] | None = None, bar: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Prepare `items` into the split folder `root` (resuming a killed run) and return
    its manifest. expected: images per wnid the release should have (None: not checked);
    bar(total=, initial=) -> a tqdm-like progress object, or None."""
    if not items:
        raise DataError(f"no images found for the {split} split")
    if (root / MANIFEST).is_file():
        import json  # noqa: PLC0415

        return json.loads((root / MANIFEST).read_text())
    settings = {"size": size, "draft": draft, "chunk": chunk, "items": len(items), "classes": len(classes)}
    group = create_or_open(root, len(items), size, chunk, settings)
    images, labels = array_at(group, "images"), array_at(group, "labels")
    parts = completed_parts(root)
    start = parts[-1]["end"] if parts else 0
    kept = parts[-1]["out_end"] if parts else 0
    tasks = [(it.path, it.offset, it.length, size, draft) for it in items[start:]]
    progress = bar(total=len(items), initial=start) if bar else None
    batch: list[np.ndarray] = []
    record: dict[str, Any] = {"start": start, "sources": [], "labels": [], "skipped": []}
    try:
        for i, result in enumerate(_decoded(tasks, workers), start=start):
            item = items[i]
            if isinstance(result, str):
                if strict:
                    raise DataError(f"{item.source} cannot be decoded ({result}): remove or replace it, "
                                    f"or drop --strict to skip and list it")
                record["skipped"].append({"source": item.source, "reason": result})
            else:
                batch.append(result)
                record["sources"].append(item.source)
                record["labels"].append(item.label)
            if progress is not None:
                progress.update(1)
            if len(batch) == chunk or i == len(items) - 1:
                end = kept + len(batch)
                if batch:
                    _drop_stale(root, kept // chunk)
                    images[kept:end] = np.stack(batch)
                    labels[kept:end] = np.asarray(record["labels"], dtype=np.int16)
                record.update(index=len(parts), end=i + 1, out_start=kept, out_end=end)
                write_json_atomic(root / PARTS / f"{len(parts):06d}.json", record)
                parts.append(record)
                kept, batch = end, []
                record = {"start": i + 1, "sources": [], "labels": [], "skipped": []}
    finally:
        if progress is not None:
            progress.close()
    images.resize((kept, size, size, 3))
    labels.resize((kept,))
    manifest = _manifest(parts, classes, split, size, draft, expected)
    write_json_atomic(root / MANIFEST, manifest)
    return manifest


def _drop_stale(root: Path, shard: int) -> None:
    """Delete what a killed run may have left of output chunk `shard` (a half-written
    shard file would otherwise be read back and merged by the next write)."""
    for path in (root / "images" / "c" / str(shard) / "0" / "0" / "0", root / "labels" / "c" / str(shard)):
        path.unlink(missing_ok=True)


def _manifest(parts: list[dict[str, Any]], classes: Sequence[str], split: str, size: int, draft: bool,
              expected: dict[str, int] | None) -> dict[str, Any]:
    sources = [s for p in parts for s in p["sources"]]
    counts = Counter(classes[label] for p in parts for label in p["labels"])
    skipped = [s for p in parts for s in p["skipped"]]
    return {
        "dataset": "imagenet", "split": split, "size": size, "draft": draft, "count": len(sources),
        "classes": list(classes), "class_counts": {w: counts.get(w, 0) for w in classes},
        "sources": sources, "skipped": skipped,
        "problems": check_totals(split, classes, counts, expected),
    }


def check_totals(split: str, classes: Sequence[str], counts: Counter[str] | dict[str, int],
                 expected: dict[str, int] | None) -> list[str]:
    """One line per problem: classes with no images, classes short of their expected
    count, and a total that is not the full release's (checked for 1,000 classes)."""
    problems = []
    missing = [w for w in classes if counts.get(w, 0) == 0]
    if missing:
        problems.append(f"{split}: {len(missing)} class(es) have no images: {', '.join(missing[:10])}"
                        + (" ..." if len(missing) > 10 else ""))
    if expected:
        short = [f"{w} ({counts.get(w, 0)} of {n})" for w, n in expected.items() if 0 < counts.get(w, 0) < n]
        if short:
            problems.append(f"{split}: {len(short)} class(es) are short: {', '.join(short[:10])}"
                            + (" ..." if len(short) > 10 else ""))
    total = sum(counts.values())
    if len(classes) == 1000 and total != FULL_TOTALS[split]:
        problems.append(f"{split}: {total:,} images, the full ILSVRC-2012 release has {FULL_TOTALS[split]:,}")
    return problems
