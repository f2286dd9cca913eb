"""CIFAR-10, python version: six pickled batches (+ batches.meta), their checksums, the
canonical tarball, a restricted unpickler and the loader.

The batches are Python-2 pickles (protocol 2) of a dict {b"batch_label": bytes,
b"labels": [int]*N, b"data": uint8 ndarray (N, 3072), b"filenames": [bytes]*N}; each
data row holds 1024 red, then 1024 green, then 1024 blue values of a 32x32 image in
row-major order. Unpickling can run arbitrary code, so `BatchUnpickler` resolves only
the three numpy names these files use and rejects every other reference.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import cast

import numpy as np
from numpy._core.multiarray import _reconstruct  # numpy >= 2 (a project requirement)

from ..errors import DataError
from .archive import extract_missing
from .idx import error_summary
from .spec import Dataset, DatasetSpec, FileSpec, find_file

CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FOLDER = "cifar-10-batches-py"  # the tarball's folder; also accepted on disk
N_PIXELS = 32 * 32 * 3

# MD5s and sizes of the official files (the values torchvision checks).
CIFAR10_FILES = tuple(
    FileSpec(name=name, md5=md5, size=size, role=role, folder=FOLDER)
    for name, md5, size, role in (
        ("data_batch_1", "c99cafc152244af753f735de768cd75f", 31_035_704, "train_1"),
        ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec", 31_035_320, "train_2"),
        ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751", 31_035_999, "train_3"),
        ("data_batch_4", "634d18415352ddfa80567beed471001a", 31_035_696, "train_4"),
        ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb", 31_035_623, "train_5"),
        ("test_batch", "40351d587109b95175f43aff81a1287e", 31_035_526, "test"),
        ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888", 158, "meta"),
    )
)
CIFAR10_ARCHIVE = FileSpec(
    name="cifar-10-python.tar.gz", md5="c58f3010e74e6b94a0d2a1a6bc50a1bc", size=170_498_071,
    role="archive",
)

# Everything the official pickles reference (checked on all seven files): numpy's
# array reconstruction. numpy >= 2 pickles name numpy._core instead of numpy.core.
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
BATCH_KEYS = (b"batch_label", b"labels", b"data", b"filenames")


class BatchUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the names in ALLOWED; any other global raises a
    one-line DataError naming `path` (`what` and `fix` complete the message)."""

    def __init__(self, stream: io.BytesIO, path: Path, what: str, fix: str) -> None:
        # encoding="bytes": Python-2 str objects (keys, labels' names) stay bytes.
        super().__init__(stream, encoding="bytes")
        self.path, self.what, self.fix = path, what, fix

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            ref = " ".join(f"{module}.{name}".split())[:100]  # keep the message one line
            raise DataError(
                f"{self.what} {self.path} refers to {ref}, which a CIFAR-10 batch never does: "
                f"the file is not an official batch; re-download it: {self.fix}"
            ) from None


def unpickle(data: bytes, path: Path, what: str, fix: str) -> object:
    """The object pickled in `data` (read from `path`), via BatchUnpickler."""
    stream = io.BytesIO(data)
    try:
        obj = BatchUnpickler(stream, path, what, fix).load()
    except DataError:
        raise
    except Exception as err:
        state = "is truncated" if isinstance(err, EOFError) or "truncated" in str(err) else "is corrupt"
        raise DataError(f"{what} {path} {state} ({error_summary(err)[:120]}): {fix}") from None
    if stream.tell() != len(data):
        extra = len(data) - stream.tell()
        raise DataError(f"{what} {path} has {extra} trailing bytes after the pickle: {fix}")
    return obj


def check_batch(
    obj: object, path: Path, what: str, fix: str, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(data uint8 (N, 3072), labels int64 (N,)) of an unpickled batch; DataError if the
    structure is not the official one (dict with BATCH_KEYS, N rows = N labels in range)."""
    def bad(problem: str) -> DataError:
        return DataError(f"{what} {path} {problem}, so it is not a CIFAR-10 batch: {fix}")

    if not isinstance(obj, dict):
        raise bad(f"holds a {type(obj).__name__}, not a dict")
    if missing := [k.decode() for k in BATCH_KEYS if k not in obj]:
        raise bad(f"lacks the key(s) {', '.join(missing)}")
    data, labels, filenames = obj[b"data"], obj[b"labels"], obj[b"filenames"]
    if not isinstance(data, np.ndarray):
        raise bad(f"has data {type(data).__name__}, expected a uint8 array (N, {N_PIXELS})")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != N_PIXELS:
        raise bad(f"has data {data.dtype} array of shape {data.shape}, expected uint8 (N, {N_PIXELS})")
    try:
        y = np.array(labels) if isinstance(labels, list) else np.empty(0, dtype=object)
    except (ValueError, TypeError, OverflowError):  # ragged or odd items: reported below
        y = np.empty(0, dtype=object)
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(data):
        raise bad(f"has {len(labels) if isinstance(labels, list) else 'no list of'} integer labels "
                  f"for {len(data)} images")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise bad(f"has labels {y.min()}..{y.max()}, expected 0..{num_classes - 1}")
    if not isinstance(filenames, list) or len(filenames) != len(data):
        raise bad(f"has no list of {len(data)} filenames")
    return data, y.astype(np.int64)


def read_cifar_file(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, object, str]:
    """(raw bytes, checked content, summary) of one file: (data, labels) for a batch,
    the dict for batches.meta. DataError (one line) if unreadable or malformed."""
    # The fix names the data dir: the parent of the cifar-10-batches-py/ folder when the
    # file sits in it (a fetch into that folder itself would not replace this file).
    data_dir = path.parent.parent if fspec.folder and path.parent.name == fspec.folder else path.parent
    what, fix = f"{spec.title} file", spec.file_fix(data_dir)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{what} {path} cannot be read ({error_summary(err)}): {fix}") from None
    obj = unpickle(raw, path, what, fix)
    if fspec.role == "meta":
        names = obj.get(b"label_names") if isinstance(obj, dict) else None
        if not isinstance(names, list) or len(names) != spec.num_classes:
            raise DataError(f"{what} {path} has no list of {spec.num_classes} label_names: {fix}")
        return raw, obj, f"{len(names)} label names"
    data, labels = check_batch(obj, path, what, fix, spec.num_classes)
    return raw, (data, labels), f"{len(data)} images 32x32x3, {len(labels)} labels"


def parse_cifar_file(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    """The `FileParser` used by verify: (raw bytes, summary); DataError if bad."""
    raw, _, summary = read_cifar_file(spec, fspec, path)
    return raw, summary


def load_cifar10(spec: DatasetSpec, directory: Path) -> Dataset:
    """Load the batches from `directory` (or its cifar-10-batches-py/ folder), first
    extracting any missing ones from cifar-10-python.tar.gz there (structural checks,
    no MD5). Returns read-only x uint8 (N, 32, 32, 3) channel-last, y int64 (N,):
    50000 train images (batches 1..5 in order) and 10000 test images for the real files.
    """
    directory = Path(directory)
    extract_missing(spec, directory)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "test": []}
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            raise DataError(
                f"{spec.title} file {directory / fspec.name} is missing (looked in {directory} and "
                f"{directory / FOLDER}, and for {CIFAR10_ARCHIVE.name}): run "
                f"`{spec.fetch_hint(directory)}`, or copy the official files there"
            )
        _, content, _ = read_cifar_file(spec, fspec, path)
        if fspec.role != "meta":
            parts[fspec.role.split("_")[0]].append(cast("tuple[np.ndarray, np.ndarray]", content))  # a batch file
    return Dataset(spec.name, *_stack(parts["train"]), *_stack(parts["test"]), num_classes=spec.num_classes)


def _stack(batches: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate batches into read-only channel-last x (N, 32, 32, 3) and y (N,)."""
    x = np.empty((sum(len(d) for d, _ in batches), 32, 32, 3), dtype=np.uint8)
    pixels = x.reshape(len(x), 32 * 32, 3)  # a view: (N, pixel, channel)
    start = 0
    for data, _ in batches:
        # Rows are (R plane, G plane, B plane) of 1024 pixels each: copy plane c into
        # channel c. One copy per plane (inner loop 1024 long) is ~3x faster than
        # assigning data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1) (inner loop 3 long).
        planes = data.reshape(len(data), 3, 32 * 32)
        for c in range(3):
            pixels[start:start + len(data), :, c] = planes[:, c]
        start += len(data)
    y = np.concatenate([labels for _, labels in batches])
    x.flags.writeable = y.flags.writeable = False
    return x, y


CIFAR10 = DatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    files=CIFAR10_FILES,
    mirrors=CIFAR10_MIRRORS,
    num_classes=10,
    input_shape=(32, 32, 3),
    loader=load_cifar10,
    train_size=50_000,
    test_size=10_000,
    parse_file=parse_cifar_file,
    archive=CIFAR10_ARCHIVE,
)
