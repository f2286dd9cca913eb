"""The `imagenet` dataset entry: ILSVRC-2012 as prepared by `localnet data prepare imagenet`.

It is streamed, never loaded whole: the trainer reads DIR/train and DIR/val through
ShardLoader (localnet/stream.py). The entry gives the registry what it needs before any
file is read (class count, nominal input shape, split sizes) and lets --data-dir find a
prepared directory (D or D/imagenet holding train/manifest.json and val/manifest.json).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


STREAMED = frozenset({"imagenet"})


def is_streamed(dataset: str) -> bool:
    """True for a dataset the trainer streams from prepared shards (localnet/stream.py)."""
    return dataset in STREAMED


def input_shape_of(config: Any) -> tuple[int, ...]:
    """The shape of one network input: (image_size, image_size, 3) for streamed ImageNet
    with data.image_size set, else the registered dataset's input shape."""
    from .registry import get_spec

    if is_streamed(config.data.dataset) and config.data.image_size:
        return (config.data.image_size, config.data.image_size, 3)
    return tuple(get_spec(config.data.dataset).input_shape)
