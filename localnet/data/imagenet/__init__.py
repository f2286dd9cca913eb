"""ImageNet (ILSVRC-2012): prepare the release into Zarr shards, and stream batches from them.

    prepare_imagenet(src, out, size=256, workers=1, draft=False, ...)   -> {split: manifest}
    open_split(out / "train")                      -> (images zarr array, labels, manifest)
    ShardLoader(out / "train", batch_size, seed, ...)   batches for the trainer (loader.py)
See docs/data.md.
"""

from .loader import ShardLoader, normalize_on_device
from .release import prepare_imagenet
from .store import open_split

__all__ = ["ShardLoader", "normalize_on_device", "open_split", "prepare_imagenet"]
