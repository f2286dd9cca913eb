"""Find the splits of an ImageNet copy under SRC and prepare them (`prepare_imagenet`)."""

from __future__ import annotations

import tarfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...writes import write_error
from .prepare import prepare_split
from .sources import (
    DEVKIT_DIR,
    DEVKIT_TAR,
    TRAIN_TAR,
    VAL_TAR,
    Devkit,
    Item,
    folder_items,
    read_devkit,
    tar_wnids,
    train_tar_items,
    val_tar_items,
)

SPLITS = ("train", "val")


def class_list(src: Path, devkit: Devkit | None) -> list[str]:
    """The sorted wnids: the devkit's 1,000, else the train tar's or train/'s, else val/'s."""
    if devkit is not None:
        return sorted(devkit.wnids)
    if (src / TRAIN_TAR).is_file():
        return tar_wnids(src / TRAIN_TAR)
    for split in SPLITS:
        if (src / split).is_dir():
            return sorted(p.name for p in (src / split).iterdir() if p.is_dir())
    raise DataError(f"{src} holds no ImageNet files: expected {TRAIN_TAR}, {VAL_TAR} with {DEVKIT_TAR}, "
                    f"or train/<wnid>/*.JPEG and val/<wnid>/*.JPEG folders")


def split_items(src: Path, split: str, classes: list[str], devkit: Devkit | None) -> list[Item] | None:
    """The items of `split` under `src` (tar preferred over folder), or None if absent."""
    if split == "train" and (src / TRAIN_TAR).is_file():
        return train_tar_items(src / TRAIN_TAR, classes)
    if split == "val" and (src / VAL_TAR).is_file():
        if devkit is None:
            raise DataError(f"{src / VAL_TAR} needs the devkit for its labels: put {DEVKIT_TAR} "
                            f"(or the extracted {DEVKIT_DIR}/) next to it")
        return val_tar_items(src / VAL_TAR, devkit, classes)
    if (src / split).is_dir():
        return folder_items(src / split, classes)
    return None


def expected_counts(split: str, devkit: Devkit | None) -> dict[str, int] | None:
    """Images per wnid the release has: meta.mat's num_train_images for train, the
    ground truth's count per class for val; None without a devkit."""
    if devkit is None:
        return None
    if split == "train":
        return dict(devkit.train_counts)
    return dict(Counter(devkit.wnids[i - 1] for i in devkit.val_ids))


def prepare_imagenet(src: str | Path, out: str | Path, *, size: int = 256, workers: int = 1, draft: bool = False,
                     strict: bool = False, splits: tuple[str, ...] = SPLITS, chunk: int = 256,
                     say: Callable[[str], None] = lambda line: None,
                     bar: Callable[..., Any] | None = None) -> dict[str, dict[str, Any]]:
    """Prepare every split found under `src` into out/<split>/; returns {split: manifest}.
    DataError when `src` holds none of the requested splits."""
    src, out = Path(src).expanduser(), Path(out).expanduser()
    if not src.is_dir():
        raise DataError(f"{src} is not a directory: pass the folder holding the ImageNet files")
    if size < 1:
        raise DataError(f"--size must be >= 1, got {size}")
    here, there = src.resolve(), out.resolve()
    if here == there or here in there.parents or there in here.parents:
        how = "is" if here == there else "is inside" if here in there.parents else "holds"
        raise DataError(f"--out {out} {how} the source folder {src}: nothing was changed; "
                        "choose an --out outside the source folder (and the source outside --out)")
    devkit = read_devkit(src)
    classes = class_list(src, devkit)
    manifests = {}
    for split in splits:
        try:
            items = split_items(src, split, classes, devkit)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DataError(f"cannot index the {split} split under {src} ({type(err).__name__}: {err}): "
                            f"check the release files (a truncated tar?)") from None
        if items is None:
            say(f"{split}: not found under {src}, skipped")
            continue
        say(f"{split}: {len(items):,} images in {len(classes)} classes -> {out / split}")
        try:
            manifest = prepare_split(items, out / split, classes, split=split, size=size, workers=workers,
                                     draft=draft, strict=strict, chunk=chunk, expected=expected_counts(split, devkit),
                                     bar=bar)
        except OSError as err:  # the output side: unreadable sources are skipped per image
            raise write_error(out / split, err, "free some space or choose another --out",
                              "rerunning the same command resumes") from None
        say(f"{split}: {manifest['count']:,} images written, {len(manifest['skipped'])} skipped")
        for skipped in manifest["skipped"][:20]:
            say(f"  skipped {skipped['source']}: {skipped['reason']}")
        for problem in manifest["problems"]:
            say(f"warning: {problem}")
        manifests[split] = manifest
    if not manifests:
        raise DataError(f"{src} holds none of the splits {', '.join(splits)}: expected {TRAIN_TAR}, {VAL_TAR} "
                        f"with {DEVKIT_TAR}, or train/ and val/ folders of <wnid>/*.JPEG")
    return manifests
