"""Mask images to RLE: instance label maps and binary mask images."""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import (
    RleBatch,
    batch_polygons,
    labels_from_array,
    labels_from_png,
    labels_from_rgb,
    mask_from_binary_array,
    mask_from_image_bytes,
    rgb_to_luma,
)

__all__ = ["from_label_image", "from_mask_image", "to_polygons"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@contextlib.contextmanager
def _naming(name: str) -> Iterator[None]:
    """Prefixes the message of a ValueError raised inside with the file's name."""
    try:
        yield
    except ValueError as e:
        e.args = (f"{name}: {e}", *e.args[1:])
        raise


def _image_array(source: Any, kinds: str, wrong_dtype: str) -> Any:
    """``source`` as an array (bool viewed as uint8) of a dtype kind in ``kinds``; a 3-D
    one must be ``(H, W, 3)`` uint8 RGB."""
    a: Any = np.asarray(source)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype.kind not in kinds:
        raise TypeError(f"{wrong_dtype}, not {a.dtype}")
    if a.ndim == 3 and (a.shape[2] != 3 or a.dtype != np.uint8):
        what = "label" if "f" not in kinds else "mask"
        raise ValueError(f"a 3-D {what} image must be (H, W, 3) uint8 RGB, not {a.shape} {a.dtype}")
    return a


def from_label_image(
    source: str | os.PathLike[str] | npt.ArrayLike,
    *,
    background: int = 0,
    max_pixels: int | None = None,
) -> tuple[npt.NDArray[np.int64], RleBatch]:
    """One mask per instance of a label image: ``(values, masks)``.

    ``values`` are the instance values present (int64, ascending, ``background``
    excluded) and ``masks`` an :class:`RleBatch` with one mask per value in the same
    order; mask ``k`` equals ``pycocotools.mask.encode(label == values[k])``. The image is
    read once in Rust (no dense mask per instance).

    ``source``: a 2-D integer array (uint8, uint16, uint32, int8, int16, int32, int64, or
    uint64 below 2**63; any memory order), an ``(H, W, 3)`` uint8 RGB array whose colours
    are the ids (``r << 16 | g << 8 | b``; ``background=0`` is black), or the path of a
    PNG (8/16-bit grey, palette: the indices, not their colours; 8-bit RGB or RGBA:
    colour codes, alpha ignored) decoded in Rust. A PNG declaring more than
    ``max_pixels`` pixels is refused before decoding (default: the
    ``SA1B_RLE_MAX_IMAGE_PIXELS`` environment variable, else 178,956,970, Pillow's
    limit); corrupt data (chunk CRCs, zlib checksum) raises :class:`RleError`, naming
    the file.

    >>> import numpy as np
    >>> values, masks = from_label_image(np.array([[0, 3, 3], [7, 0, 3]], np.uint8))
    >>> values.tolist(), masks.area().tolist()
    ([3, 7], [3, 1])
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(source, "rb") as f:
            data = f.read()
        if not data.startswith(_PNG_MAGIC):
            raise ValueError(
                f"{name}: not a PNG (label images must be lossless PNGs; for "
                "a thresholded JPEG mask use from_mask_image)"
            )
        with _naming(name):
            values, masks = labels_from_png(data, background, max_pixels=max_pixels)
        return values, masks
    a = _image_array(source, "iu", "label images must have an integer dtype")
    if a.ndim == 3:
        values, masks = labels_from_rgb(np.ascontiguousarray(a), background)
        return values, masks
    if a.ndim != 2:
        raise ValueError(f"label images are 2-D (or (H, W, 3) RGB), not of shape {a.shape}")
    if a.dtype == np.uint64:
        if a.size and a.max() > np.iinfo(np.int64).max:
            raise ValueError("uint64 label values must be below 2**63")
        a = a.view(np.int64)
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = np.ascontiguousarray(a)
    if a.dtype.byteorder not in "=|":
        a = a.astype(a.dtype.newbyteorder("="))
    values, masks = labels_from_array(a, background)
    return values, masks


def from_mask_image(
    source: str | os.PathLike[str] | bytes | npt.ArrayLike,
    *,
    threshold: float = 127,
    invert: bool = False,
    min_component_area: int = 0,
    max_pixels: int | None = None,
) -> RleBatch:
    """The one-mask :class:`RleBatch` of a binary mask image: foreground is
    ``value > threshold`` (``<= threshold`` with ``invert``).

    ``source``: a path to (or the bytes of) a PNG or JPEG, decoded in Rust to grey
    levels (colour images by Pillow's ``convert("L")`` luma; 16-bit PNGs scaled to 8
    bits), or an array: 2-D of any real dtype (compared as it is) or ``(H, W, 3)`` uint8
    RGB (luma first). JPEG is lossy: levels near the edges are noise, hence the
    threshold, and ``min_component_area`` drops 8-connected foreground specks smaller
    than that many pixels. An image file declaring more than ``max_pixels`` pixels is
    refused before decoding (see :func:`from_label_image`); corrupt data (PNG CRCs and
    zlib checksum, JPEG data that does not match its header) raises :class:`RleError`.

    >>> import numpy as np
    >>> m = from_mask_image(np.array([[0, 200, 255], [90, 0, 130]]), min_component_area=2)
    >>> m.decode()[0].tolist()
    [[0, 1, 1], [0, 0, 1]]
    """
    if min_component_area < 0:
        raise ValueError(f"min_component_area must not be negative, not {min_component_area}")
    if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
        raise TypeError(f"threshold must be a real number, not {type(threshold).__name__}")
    if threshold != threshold:
        raise ValueError("threshold must be a number, not NaN")
    # Image files hold integer grey levels 0..255: `v > t` is `v > floor(t)` exactly
    # (not int(t), which rounds -0.5 up to 0), and any t outside -1..255 acts as its end.
    level = -1 if threshold < -1 else 255 if threshold > 255 else math.floor(threshold)
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(source, "rb") as f:
            data = f.read()
        with _naming(name):
            return mask_from_image_bytes(
                data, level, invert, min_component_area, max_pixels=max_pixels
            )
    if isinstance(source, (bytes, bytearray, memoryview)):
        return mask_from_image_bytes(
            bytes(source), level, invert, min_component_area, max_pixels=max_pixels
        )
    a = _image_array(source, "iuf", "mask images must be numeric")
    if a.ndim == 3:
        a = rgb_to_luma(np.ascontiguousarray(a))
    if a.ndim != 2:
        raise ValueError(f"mask images are 2-D (or (H, W, 3) RGB), not of shape {a.shape}")
    mask = (a <= threshold) if invert else (a > threshold)
    return mask_from_binary_array(mask.view(np.uint8), min_component_area)


def to_polygons(rle: dict[str, Any] | RleBatch, *, tolerance: float = 0.0) -> list[list[float]]:
    """COCO polygons of a mask (a COCO RLE dict or a one-mask :class:`RleBatch`).

    One flat ``[x0, y0, x1, y1, ...]`` list per 4-connected piece of the mask, along
    pixel edges (corner coordinates). Holes are joined to their piece's outline by a
    segment walked there and back, which pycocotools' parity fill leaves empty: at
    ``tolerance=0`` ``merge(frPyObjects(polys, h, w))`` gives back the mask exactly.
    With ``tolerance > 0`` (pixels) each outline and hole is simplified by
    Douglas-Peucker first.

    >>> import numpy as np
    >>> m = np.zeros((5, 5), np.uint8); m[1:4, 1:4] = 1; m[2, 2] = 0   # a ring
    >>> polys = to_polygons(RleBatch.from_masks(m))
    >>> len(polys), polys[0][:8]
    (1, [1.0, 1.0, 4.0, 1.0, 4.0, 4.0, 1.0, 4.0])
    """
    if tolerance < 0 or tolerance != tolerance:
        raise ValueError(f"tolerance must be >= 0, not {tolerance}")
    batch = rle if isinstance(rle, RleBatch) else RleBatch.from_coco([rle])
    if len(batch) != 1:
        raise ValueError(f"expected one mask, got a batch of {len(batch)}")
    # Traced in Rust within the mask's box, straight from the runs.
    return batch_polygons(batch, 0, float(tolerance))
