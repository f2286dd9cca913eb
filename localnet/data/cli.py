"""`localnet data prepare`: turn a dataset's release into training-ready shards (ImageNet)."""

from __future__ import annotations

import os
import sys

import click

from ..errors import LocalnetError


@click.command()
@click.argument("dataset", type=click.Choice(["imagenet"]))
@click.argument("src", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder; gets train/ and val/ Zarr stores. Rerun the same command to resume.")
@click.option("--size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Side S of the stored images: shorter side resized to S, then centre crop S x S.")
@click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default="all cores",
              help="Decoding processes.")
@click.option("--split", "splits", type=click.Choice(["train", "val"]), multiple=True,
              help="Prepare only this split (repeatable; default: every split found).")
@click.option("--draft", is_flag=True, help="Decode JPEGs at reduced scale first (faster, pixels differ slightly; "
                                            "see docs/data.md).")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable image instead of skipping and listing it.")
@click.option("--chunk", type=click.IntRange(min=1), default=256, show_default=True, help="Images per shard.")
def prepare(dataset: str, src: str, out: str, size: int, workers: int, splits: tuple[str, ...], draft: bool,
            strict: bool, chunk: int) -> None:
    """Prepare DATASET from the release files in SRC into Zarr shards under --out.

    imagenet: SRC holds ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar with
    ILSVRC2012_devkit_t12.tar.gz, and/or extracted train/<wnid>/*.JPEG, val/<wnid>/*.JPEG.
    Unreadable images are skipped and listed in each split's manifest.json.
    """
    from tqdm import tqdm  # noqa: PLC0415

    from .imagenet import prepare_imagenet  # noqa: PLC0415

    def bar(total: int, initial: int) -> tqdm:
        # A bar on a terminal only; logs get the per-split lines below.
        return tqdm(total=total, initial=initial, unit="img", unit_scale=True, disable=None, file=sys.stderr)

    try:
        manifests = prepare_imagenet(src, out, size=size, workers=workers, draft=draft, strict=strict, chunk=chunk,
                                     splits=splits or ("train", "val"), say=click.echo, bar=bar)
    except LocalnetError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo(f"interrupted: rerun the same command to resume from the last complete chunk in {out}", err=True)
        sys.exit(130)
    summary = ", ".join(f"{split} {m['count']:,}" for split, m in manifests.items())
    click.echo(f"imagenet: prepared {summary} images of {size}x{size} in {out}")
