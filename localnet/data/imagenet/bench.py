"""Throughput of `data prepare imagenet` and of the shard loader, on generated JPEGs.

    python -m localnet.data.imagenet.bench [--images 1024] [--dir /tmp/localnet-bench] [--workers 1,2]
    python -m localnet.data.imagenet.bench --loader-only [--dir /tmp/localnet-bench]

Generates ImageNet-like JPEGs (500x375, quality 90, textured so they are about the
release's ~110 KB average), then reports, on this machine:
  decode: images/s of one process decoding + resizing to 256 (full decode, and draft),
          and how far draft's pixels are from the full decode's;
  prepare: images/s of `prepare_imagenet` (decode, resize, Zarr write) per worker count;
  loader: images/s from the prepared shards to a device-ready float32 batch (random 224
          crop, flip, normalisation on the numpy backend) per reading-thread count.
"""

from __future__ import annotations

import io
import resource
import shutil
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

from ...backend import get_backend
from ...errors import friendly_errors
from .decode import decode_resized
from .loader import ShardLoader, normalize_on_device
from .release import prepare_imagenet


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, its threads and its reaped children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_jpegs(root: Path | None, n: int, classes: int = 8, seed: int = 0, width: int = 500,
               height: int = 375) -> list[bytes]:
    """n textured JPEGs of width x height (under root/train/<wnid>/ unless root is None)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        base = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
        pixels = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        if root is not None:
            folder = root / "train" / f"n{i % classes:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"img_{i:05d}.JPEG").write_bytes(buffer.getvalue())
        out.append(buffer.getvalue())
    return out


def bench_decode(files: list[bytes], label: str, size: int = 256) -> None:
    rates, results = {}, {}
    for draft in (False, True):
        start = time.perf_counter()
        results[draft] = [decode_resized(data, size, draft) for data in files]
        rates[draft] = len(files) / (time.perf_counter() - start)
    diff = np.abs(np.stack(results[False]).astype(np.int16) - np.stack(results[True]))
    click.echo(f"decode+resize {label} to {size}, 1 process: full {rates[False]:.0f} img/s, draft {rates[True]:.0f} img/s "
          f"(x{rates[True] / rates[False]:.2f}); draft vs full: mean |diff| {diff.mean():.2f}, "
          f"max {diff.max()}, {100 * (diff > 0).mean():.0f}% of values differ, "
          f"{100 * (diff > 8).mean():.1f}% by more than 8")


def bench_prepare(src: Path, work: Path, workers: tuple[int, ...], n: int) -> Path:
    out = work / "prepared"
    for w in workers:
        shutil.rmtree(out, ignore_errors=True)
        start, cpu = time.perf_counter(), cpu_seconds()
        prepare_imagenet(src, out, size=256, workers=w, splits=("train",))
        rate, cpu = n / (time.perf_counter() - start), cpu_seconds() - cpu
        click.echo(f"prepare (decode, resize 256, Zarr write), {w} worker(s): {rate:.0f} img/s wall, "
              f"{n / cpu:.0f} img/s per CPU-second (all processes)")
    return out / "train"


def bench_loader(root: Path, threads: tuple[int, ...], batch: int = 128) -> None:
    backend = get_backend("numpy", "float32")
    for normalise in (True, False):
        what = "float32 batch, crop 224 + flip + normalise" if normalise else "uint8 batch, crop 224 + flip (host part)"
        for t in threads:
            loader = ShardLoader(root, batch, seed=0, crop=224, workers=t)
            for epoch in range(2):  # epoch 0 warms the page cache
                start, cpu, count = time.perf_counter(), cpu_seconds(), 0
                for x, _ in loader.batches(epoch):
                    if normalise:
                        normalize_on_device(backend, x)
                    count += len(x)
                rate, cpu = count / (time.perf_counter() - start), cpu_seconds() - cpu
            click.echo(f"loader (shards -> {what}, batch {batch}), {t} thread(s): "
                  f"{rate:.0f} img/s wall, {count / cpu:.0f} img/s per CPU-second")


def parse_counts(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """'1,2' -> (1, 2): a comma-separated list of counts >= 1."""
    try:
        counts = tuple(int(w) for w in value.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of counts >= 1, e.g. 1,2")
    return counts


@click.command(help=(__doc__ or "").splitlines()[0])
@click.option("--images", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Generated 500x375 JPEGs to prepare and load.")
@click.option("--dir", "work", type=click.Path(file_okay=False, path_type=Path), default=Path("/tmp/localnet-bench"),
              show_default=True, help="Working directory (emptied first, unless --loader-only).")
@click.option("--workers", "counts", default="1,2", show_default=True, callback=parse_counts,
              help="Prepare worker counts and loader thread counts.")
@click.option("--loader-only", is_flag=True, help="Only the loader, on DIR/prepared/train.")
@friendly_errors
def main(images: int, work: Path, counts: tuple[int, ...], loader_only: bool) -> None:
    if loader_only:
        bench_loader(work / "prepared" / "train", counts)
        return
    shutil.rmtree(work, ignore_errors=True)
    files = make_jpegs(work / "src", images)
    click.echo(f"{images} JPEGs 500x375, mean {np.mean([len(f) for f in files]) / 1e3:.0f} KB")
    bench_decode(files[: min(len(files), 128)], "500x375")
    bench_decode(make_jpegs(None, 64, seed=1, width=1200, height=900), "1200x900")
    root = bench_prepare(work / "src", work, counts, images)
    bench_loader(root, counts)


if __name__ == "__main__":
    main()
