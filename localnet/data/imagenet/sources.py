"""Where ImageNet images come from: the release's tars or the extracted folders.

Accepted under SRC (any of):
  ILSVRC2012_img_train.tar      a tar of 1,000 per-class tars <wnid>.tar of JPEGs;
  ILSVRC2012_img_val.tar        a flat tar of ILSVRC2012_val_%08d.JPEG, labelled by the
                                devkit: ILSVRC2012_devkit_t12.tar.gz (or its extracted
                                folder ILSVRC2012_devkit_t12/) holding data/meta.mat and
                                data/ILSVRC2012_validation_ground_truth.txt;
  train/<wnid>/*.JPEG, val/<wnid>/*.JPEG   the extracted layout.
Every image becomes an `Item`: where its bytes are (a file, and for tars the byte
offset and length inside it, so worker processes read it with one seek) and its class.
Class index = position of the wnid in the sorted list of wnids (the standard order).
"""

from __future__ import annotations

import io
import math
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ...errors import DataError

TRAIN_TAR = "ILSVRC2012_img_train.tar"
VAL_TAR = "ILSVRC2012_img_val.tar"
DEVKIT_TAR = "ILSVRC2012_devkit_t12.tar.gz"
DEVKIT_DIR = "ILSVRC2012_devkit_t12"
META = "data/meta.mat"
MAX_SYNSETS = 2000  # the release's meta.mat has 1,860 synsets (1,000 leaves)
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


@dataclass(frozen=True)
class Item:
    """One source image: `path` (and for a tar member, `offset`/`length` of its bytes
    in that file; length -1 = the whole file), `source` (its name for the manifest,
    e.g. "ILSVRC2012_img_train.tar:n01440764.tar:n01440764_10026.JPEG"), `label`."""

    path: str
    offset: int
    length: int
    source: str
    label: int

    def read(self) -> bytes:
        """The image file's bytes."""
        with open(self.path, "rb") as handle:
            if self.length < 0:
                return handle.read()
            handle.seek(self.offset)
            return handle.read(self.length)


@dataclass(frozen=True)
class Devkit:
    """What the devkit says: `wnids` of the 1,000 classes (ILSVRC2012_ID order, 1-based
    ids map to wnids[id - 1]), expected training images per wnid, and the validation
    ground truth (ILSVRC2012_ID of val image 1, 2, ...)."""

    wnids: tuple[str, ...]
    train_counts: dict[str, int]
    val_ids: tuple[int, ...]


class Window:
    """A read-only, seekable view of bytes [start, start + size) of an open file: a
    member tar inside the train tar, opened without copying it."""

    def __init__(self, handle: io.BufferedReader, start: int, size: int) -> None:
        self.handle, self.start, self.size, self.pos = handle, start, size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        self.handle.seek(self.start + self.pos)
        data = self.handle.read(n)
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.size + offset
        return self.pos

    def tell(self) -> int:
        return self.pos


def _tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")  # uncompressed: members are seekable by offset
    except (tarfile.TarError, OSError) as err:
        raise DataError(f"{path} is not a readable uncompressed tar ({type(err).__name__}: {err}): "
                        f"use the release's file as downloaded") from None


def _images(members: list[tarfile.TarInfo]) -> list[tarfile.TarInfo]:
    return sorted((m for m in members if m.isfile() and m.name.lower().endswith(IMAGE_SUFFIXES)),
                  key=lambda m: m.name)


def train_tar_items(path: Path, classes: list[str]) -> list[Item]:
    """Items of the train tar-of-tars, sorted by (wnid, file name)."""
    index = {w: i for i, w in enumerate(classes)}
    items = []
    with _tar(path) as outer:
        inner_tars = sorted((m for m in _fits(path, outer.getmembers()) if m.isfile() and m.name.endswith(".tar")),
                            key=lambda m: m.name)
        for member in inner_tars:
            wnid = Path(member.name).stem
            if wnid not in index:
                raise DataError(f"{path}: member {member.name} is not one of the {len(classes)} classes: "
                                f"use the official train tar")
            with open(path, "rb") as handle, tarfile.open(
                fileobj=Window(handle, member.offset_data, member.size), mode="r:"  # type: ignore[call-overload]  # a file-like window
            ) as inner:  # tarfile seeks past the JPEG data: only the headers are read
                for image in _images(_fits(path, inner.getmembers(), member.size)):
                    items.append(Item(str(path), member.offset_data + image.offset_data, image.size,
                                      f"{path.name}:{member.name}:{image.name}", index[wnid]))
    return items


def _fits(path: Path, members: list[tarfile.TarInfo], end: int | None = None) -> list[tarfile.TarInfo]:
    """`members`, after checking that each one's data lies inside the file (or before `end`):
    a header whose size runs past the end is a truncated or hostile tar (DataError)."""
    limit = path.stat().st_size if end is None else end
    for member in members:
        if member.offset_data + member.size > limit:
            raise DataError(f"{path}: member {member.name} claims {member.size:,} bytes, which run past the end of "
                            f"the tar (a truncated download?): use the complete official tar")
    return members


def tar_wnids(path: Path) -> list[str]:
    """The wnids of the per-class tars in the train tar-of-tars, sorted."""
    try:
        with _tar(path) as outer:
            members = _fits(path, outer.getmembers())
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{path} cannot be read as a tar ({type(err).__name__}: {err}): a truncated download? "
                        "use the complete official tar") from None
    return sorted(Path(m.name).stem for m in members if m.isfile() and m.name.endswith(".tar"))


def val_tar_items(path: Path, devkit: Devkit, classes: list[str]) -> list[Item]:
    """Items of the flat val tar, in file-name order, labelled by the ground truth."""
    index = {w: i for i, w in enumerate(classes)}
    with _tar(path) as tar:
        images = _images(_fits(path, tar.getmembers()))
    if len(images) != len(devkit.val_ids):
        raise DataError(f"{path} holds {len(images)} images but the ground truth lists {len(devkit.val_ids)}: "
                        f"use the val tar and devkit of the same release")
    return [Item(str(path), m.offset_data, m.size, f"{path.name}:{m.name}", index[devkit.wnids[i - 1]])
            for m, i in zip(images, devkit.val_ids, strict=True)]


def folder_items(root: Path, classes: list[str]) -> list[Item]:
    """Items of an extracted split folder root/<wnid>/*.JPEG, sorted by (wnid, name)."""
    index = {w: i for i, w in enumerate(classes)}
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name not in index:
            raise DataError(f"{folder} is not one of the {len(classes)} classes: a split folder holds only "
                            f"<wnid>/ folders of the same classes as train/")
        for file in sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES)):
            items.append(Item(str(file), 0, -1, f"{root.name}/{folder.name}/{file.name}", index[folder.name]))
    return items


def read_devkit(src: Path) -> Devkit | None:
    """The devkit under `src` (tar.gz or extracted folder), or None if there is none."""
    folder, archive = src / DEVKIT_DIR, src / DEVKIT_TAR
    if folder.is_dir():
        meta, truth = _devkit_file(folder / META), _devkit_file(folder / GROUND_TRUTH).decode(errors="replace")
    elif archive.is_file():
        try:
            with tarfile.open(archive, mode="r:*") as tar:
                meta = _member(tar, f"{DEVKIT_DIR}/{META}", archive).read()
                truth = _member(tar, f"{DEVKIT_DIR}/{GROUND_TRUTH}", archive).read().decode(errors="replace")
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DataError(f"{archive} cannot be read ({type(err).__name__}): use the release's devkit") from None
    else:
        return None
    wnids, counts = parse_meta(meta, src / DEVKIT_DIR / META)
    try:
        val_ids = tuple(int(line) for line in truth.split())
    except ValueError:
        raise DataError(f"{GROUND_TRUTH} in the devkit under {src} is not one integer per line") from None
    if val_ids and not 1 <= min(val_ids) <= max(val_ids) <= len(wnids):
        raise DataError(f"{GROUND_TRUTH} in the devkit under {src} has ids outside 1..{len(wnids)}")
    return Devkit(wnids, counts, val_ids)


#: the devkit's files are small (meta.mat about 2 MB, the ground truth 300 KB): a larger one is not read
MAX_DEVKIT_BYTES = 16 * 2**20


def _devkit_file(path: Path) -> bytes:
    """The bytes of one extracted devkit file; DataError if it is missing, not a regular file
    (a folder, a FIFO that would block) or too large to be the release's."""
    if not path.is_file():
        state = "missing" if not path.exists() else "not a regular file"
        raise DataError(f"{path} is {state}: use the release's ILSVRC2012 devkit")
    if path.stat().st_size > MAX_DEVKIT_BYTES:
        raise DataError(f"{path} has {path.stat().st_size:,} bytes, more than the devkit's files have: "
                        "use the release's ILSVRC2012 devkit")
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataError(f"{path} cannot be read ({type(err).__name__}: {err})") from None


def _member(tar: tarfile.TarFile, name: str, archive: Path) -> io.BufferedReader:
    try:
        info = tar.getmember(name)
        handle = tar.extractfile(info) if info.isfile() else None
    except KeyError:
        handle = None
    if handle is None:
        raise DataError(f"{archive} lacks {name}: use the release's ILSVRC2012 devkit")
    if info.size > MAX_DEVKIT_BYTES:
        raise DataError(f"{name} in {archive} has {info.size:,} bytes, more than the devkit's files have: "
                        "use the release's ILSVRC2012 devkit")
    return handle  # type: ignore[return-value]


def parse_meta(data: bytes, where: Path) -> tuple[tuple[str, ...], dict[str, int]]:
    """(wnids by ILSVRC2012_ID, training images per wnid) of the 1,000 leaf classes in
    meta.mat (its `synsets` struct array; leaves have ILSVRC2012_ID 1..1000)."""
    from scipy.io import loadmat, whosmat  # noqa: PLC0415 - only prepare reads meta.mat

    try:
        # What the file declares, before loading it: a few KB can declare gigabytes.
        declared = {name: shape for name, shape, _ in whosmat(io.BytesIO(data))}
        if "synsets" not in declared or math.prod(declared["synsets"]) > MAX_SYNSETS:
            raise ValueError(f"it declares {declared.get('synsets', 'no')} synsets, not the release's "
                             f"{MAX_SYNSETS:,} at most")
        synsets = loadmat(io.BytesIO(data), squeeze_me=True)["synsets"]
        rows = [(int(s["ILSVRC2012_ID"]), str(s["WNID"]), int(s["num_train_images"])) for s in synsets]
    except Exception as err:
        raise DataError(f"{where} is not the devkit's meta.mat ({type(err).__name__}: {err}): "
                        f"use the release's ILSVRC2012 devkit") from None
    leaves = sorted((r for r in rows if 1 <= r[0] <= 1000), key=lambda r: r[0])
    if [r[0] for r in leaves] != list(range(1, len(leaves) + 1)):
        raise DataError(f"{where}: the leaf ILSVRC2012_IDs are not 1..{len(leaves)}: use the release's devkit")
    return tuple(r[1] for r in leaves), {r[1]: r[2] for r in leaves}
