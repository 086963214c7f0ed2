"""Mask images to RLE: instance label maps (issue #5, in progress)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import RleBatch, labels_from_array, labels_from_png, labels_from_rgb

__all__ = ["from_label_image"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def from_label_image(
    source: str | os.PathLike[str] | npt.ArrayLike, *, background: int = 0
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
    colour codes, alpha ignored) decoded in Rust.

    >>> import numpy as np
    >>> values, masks = from_label_image(np.array([[0, 3, 3], [7, 0, 3]], np.uint8))
    >>> values.tolist(), masks.area().tolist()
    ([3, 7], [3, 1])
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            data = f.read()
        if not data.startswith(_PNG_MAGIC):
            raise ValueError(
                f"{os.fspath(source)}: not a PNG (label images must be lossless PNGs; for "
                "a thresholded JPEG mask use from_mask_image)"
            )
        values, masks = labels_from_png(data, background)
        return values, masks
    a: Any = np.asarray(source)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype.kind not in "iu":
        raise TypeError(f"label images must have an integer dtype, not {a.dtype}")
    if a.ndim == 3:
        if a.shape[2] != 3 or a.dtype != np.uint8:
            raise ValueError(
                f"a 3-D label image must be (H, W, 3) uint8 RGB, not {a.shape} {a.dtype}"
            )
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
