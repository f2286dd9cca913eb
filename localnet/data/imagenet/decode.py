"""Decode one ImageNet file to the prepared form: RGB uint8 (S, S, 3).

The documented resize (what `localnet data prepare imagenet` stores):
  1. decode with Pillow and convert to RGB: `Image.convert("RGB")` turns grayscale (L),
     CMYK and palette/alpha images (the release's PNG saved as .JPEG) into RGB;
  2. scale so the shorter side is S: new size (round(w * S / m), round(h * S / m)),
     m = min(w, h), the shorter side exactly S, with Pillow's antialiased BILINEAR
     resampling (`Image.resize(..., Image.Resampling.BILINEAR)`);
  3. centre crop S x S: left = (W - S) // 2, top = (H - S) // 2.
With `draft=True`, step 1 first asks libjpeg to decode JPEGs at 1/2, 1/4 or 1/8 scale
(`Image.draft`), the largest reduction that keeps both sides at least the target size
of step 2. That is faster but changes pixels: libjpeg's DCT-domain downscaling is not
Pillow's resampling (docs/data.md gives the measured difference), so it is an option.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

RESAMPLE = Image.Resampling.BILINEAR
#: the longest side may be at most this many times the shorter one: a 1 x 60,000 image would
#: otherwise be scaled to 256 x 15,360,000 pixels (12 GB) before its centre crop
MAX_ASPECT = 50
#: larger image files are skipped unread (the release's largest JPEG is about 15 MB)
MAX_FILE_BYTES = 64 * 2**20


class DecodeError(Exception):
    """A file that Pillow cannot decode (truncated, not an image); carries a short reason."""


def target_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(W, H) after scaling the shorter side of a width x height image to `size`."""
    short = min(width, height)
    if width <= height:
        return size, max(size, round(height * size / short))
    return max(size, round(width * size / short)), size


def decode_resized(data: bytes, size: int, draft: bool = False) -> np.ndarray:
    """RGB uint8 (size, size, 3) of the image file `data`, by the documented resize.

    Raises DecodeError (with a one-line reason) for a file Pillow cannot fully decode.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if draft and image.format == "JPEG":
                want = target_size(image.width, image.height, size)
                # draft keeps each side >= the requested size, so step 2 only shrinks.
                image.draft(None, want)
            if max(image.size) > MAX_ASPECT * max(1, min(image.size)):
                raise DecodeError(f"{image.width} x {image.height} pixels: an aspect ratio beyond {MAX_ASPECT}:1, "
                                  "which the resize would blow up")
            image.load()  # decodes now, so a truncated file fails here
            rgb = image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DecodeError(f"{type(err).__name__}: {' '.join(str(err).split())[:120]}") from None
    width, height = target_size(rgb.width, rgb.height, size)
    resized = rgb.resize((width, height), RESAMPLE)
    left, top = (width - size) // 2, (height - size) // 2
    cropped = resized.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.uint8)
