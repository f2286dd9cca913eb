"""The `imagenet` dataset entry: ILSVRC-2012 as prepared by `localnet data prepare imagenet`.

It is streamed, never loaded whole: the trainer reads DIR/train and DIR/val through
ShardLoader (localnet/stream.py). The entry gives the registry what it needs before any
file is read (class count, nominal input shape, split sizes) and lets --data-dir find a
prepared directory (D or D/imagenet holding train/manifest.json and val/manifest.json).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .spec import Dataset, DatasetSpec, FileSpec

OBTAIN = ("ImageNet has no public download: get ILSVRC-2012 from image-net.org, then "
          "`localnet data prepare imagenet SRC --out DIR` and pass --data-dir DIR")


def _not_in_memory(spec: DatasetSpec, directory: Path) -> Dataset:
    raise DataError(f"{spec.title} in {directory} is streamed from its prepared shards, not loaded whole: "
                    "train it with `localnet run` (data.dataset = \"imagenet\")")


def _parse(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    return path.read_bytes(), "prepared split manifest"


IMAGENET = DatasetSpec(
    name="imagenet",
    title="ImageNet (prepared shards)",
    files=(FileSpec("manifest.json", None, 0, role="train", folder="train"),
           FileSpec("manifest.json", None, 0, role="test", folder="val")),
    mirrors=(),
    num_classes=1000,
    input_shape=(224, 224, 3),
    loader=_not_in_memory,
    parse_file=_parse,
    train_size=1_281_167,
    test_size=50_000,
    obtain=OBTAIN,
)
