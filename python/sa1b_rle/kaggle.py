"""The Kaggle run-length dialect: ``"start length start length ..."``.

Competitions (and many medical datasets) write masks as space-separated pairs: the
position where a run of foreground starts and its length. Two conventions differ between
datasets and are the classic source of transposed masks, so both are explicit here:

- ``order``: the pixel order positions count in, ``"C"`` (row by row: position
  ``y * width + x``) or ``"F"`` (column by column, COCO's order: ``x * height + y``);
- ``one_indexed``: whether the first pixel is position 1 (Kaggle's usual) or 0.

>>> import numpy as np
>>> m = np.array([[0, 1, 1], [0, 0, 1]], np.uint8)
>>> encode(m)                       # row-major, 1-based
'2 2 6 1'
>>> encode(m, order="F")            # column-major: a different string
'3 1 5 2'
>>> decode("2 2 6 1", (2, 3)).tolist()
[[0, 1, 1], [0, 0, 1]]
>>> to_coco("2 2 6 1", (2, 3))["counts"]     # COCO is column-major: runs 2 1 1 2
'2111'
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import RleBatch, kaggle_decode, kaggle_encode, kaggle_to_batch

__all__ = ["decode", "encode", "from_coco", "to_coco"]


def _column_major(order: str) -> bool:
    if order not in ("C", "F"):
        raise ValueError(f'order must be "C" (row-major) or "F" (column-major), not {order!r}')
    return order == "F"


def _text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"expected a str of 'start length' pairs, not {type(text).__name__}")
    return text


#: COCO's limit, which every mask here shares: counts are 32-bit.
_MAX_PIXELS = 2**32 - 1


def _shape(shape: Any) -> tuple[int, int]:
    """``(height, width)``: two integers (Python or numpy; not floats or strings), not
    negative, with at most 2**32-1 pixels (checked before anything is allocated)."""
    try:
        h, w = shape
    except (TypeError, ValueError):
        raise TypeError(f"shape must be (height, width), not {shape!r}") from None
    dims = []
    for name, x in (("height", h), ("width", w)):
        if isinstance(x, (str, bytes, float, np.floating)) or not hasattr(x, "__index__"):
            raise TypeError(f"shape {name} must be an integer, not {type(x).__name__} {x!r}")
        v = operator.index(x)
        if v < 0:
            raise ValueError(f"shape {name} must not be negative, not {v}")
        dims.append(v)
    if dims[0] * dims[1] > _MAX_PIXELS:
        raise ValueError(
            f"shape {dims[0]}x{dims[1]} has more than 2**32-1 pixels, which COCO RLE "
            "(32-bit counts) cannot represent"
        )
    return dims[0], dims[1]


def decode(
    text: str, shape: tuple[int, int], *, order: str = "C", one_indexed: bool = True
) -> npt.NDArray[np.uint8]:
    """The ``(height, width)`` uint8 mask (1 = foreground) of a Kaggle string.

    Raises ``ValueError`` (:class:`sa1b_rle.RleError`) naming the token or run at fault:
    not an ASCII integer, an odd count, an empty run, a run outside the mask, runs
    unsorted or overlapping.
    """
    col = _column_major(order)
    h, w = _shape(shape)
    return kaggle_decode(_text(text), h, w, column_major=col, one_indexed=one_indexed)


def _batch_of(mask: npt.ArrayLike) -> RleBatch:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D mask, not shape {m.shape}")
    if m.dtype not in (np.bool_, np.uint8):
        m = m != 0
    return RleBatch.from_masks(m)


def encode(mask: npt.ArrayLike, *, order: str = "C", one_indexed: bool = True) -> str:
    """The Kaggle string of a 2-D mask (nonzero = foreground), any memory order."""
    col = _column_major(order)
    return kaggle_encode(_batch_of(mask), column_major=col, one_indexed=one_indexed)


def to_coco(
    text: str, shape: tuple[int, int], *, order: str = "C", one_indexed: bool = True
) -> dict[str, Any]:
    """The COCO RLE ``{"size": [h, w], "counts": str}`` of a Kaggle string (a row-major
    string's runs are transposed in Rust, without a dense mask)."""
    col = _column_major(order)
    h, w = _shape(shape)
    batch = kaggle_to_batch(_text(text), h, w, column_major=col, one_indexed=one_indexed)
    out: dict[str, Any] = batch.to_coco()[0]
    return out


def from_coco(rle: dict[str, Any] | RleBatch, *, order: str = "C", one_indexed: bool = True) -> str:
    """The Kaggle string of a COCO RLE dict (str, bytes or list counts) or a one-mask
    ``RleBatch``."""
    col = _column_major(order)
    batch = rle if isinstance(rle, RleBatch) else RleBatch.from_coco([rle])
    return kaggle_encode(batch, column_major=col, one_indexed=one_indexed)
