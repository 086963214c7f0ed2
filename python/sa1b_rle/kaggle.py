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

from sa1b_rle._core import RleBatch

__all__ = ["decode", "encode", "from_coco", "to_coco"]


def _check(order: str) -> None:
    if order not in ("C", "F"):
        raise ValueError(f'order must be "C" (row-major) or "F" (column-major), not {order!r}')


def _pairs(text: str, n_pixels: int, one_indexed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validated 0-based starts and lengths of a Kaggle string."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str of 'start length' pairs, not {type(text).__name__}")
    tokens = text.split()
    for k, t in enumerate(tokens):
        # ASCII digits only: str.isdigit() and int() also take other scripts' digits.
        if not (t.isascii() and t.isdigit()):
            raise ValueError(f"token {k} ({t!r}) is not a non-negative integer")
    if len(tokens) % 2:
        raise ValueError(f"{len(tokens)} numbers: expected 'start length' pairs (an even count)")
    v = np.array([int(t) for t in tokens], dtype=object if tokens else np.int64)
    if len(v) and max(v) > 2**62:
        raise ValueError("a position or length is out of range")
    v = v.astype(np.int64)
    starts, lengths = v[0::2] - (1 if one_indexed else 0), v[1::2]
    if len(starts):
        if starts.min() < 0:
            k = int(np.argmax(starts < 0))
            raise ValueError(f"run {k} starts at {int(v[2 * k])}, before the first pixel")
        if lengths.min() <= 0:
            k = int(np.argmax(lengths <= 0))
            raise ValueError(f"run {k} has length {int(lengths[k])}: runs must not be empty")
        ends = starts + lengths
        if ends.max() > n_pixels:
            k = int(np.argmax(ends > n_pixels))
            raise ValueError(
                f"run {k} ({int(v[2 * k])} {int(lengths[k])}) ends past the last of "
                f"{n_pixels} pixels"
            )
        if len(starts) > 1 and (starts[1:] < ends[:-1]).any():
            k = int(np.argmax(starts[1:] < ends[:-1])) + 1
            raise ValueError(
                f"run {k} starts before the end of run {k - 1} (unsorted or overlapping)"
            )
    return starts, lengths


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
    """The ``(height, width)`` uint8 mask (1 = foreground) of a Kaggle string."""
    _check(order)
    h, w = _shape(shape)
    starts, lengths = _pairs(text, h * w, one_indexed)
    # Background and foreground runs alternating, expanded once: the mask is the only
    # image-sized allocation.
    gaps = np.diff(np.concatenate(([0], starts + lengths)))[: len(starts)] - lengths
    runs = np.empty(2 * len(starts) + 1, np.int64)
    runs[0:-1:2], runs[1::2] = gaps, lengths
    runs[-1] = h * w - (int(starts[-1] + lengths[-1]) if len(starts) else 0)
    values = np.zeros(len(runs), np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, runs)
    if order == "C":
        return flat.reshape(h, w)
    return np.ascontiguousarray(flat.reshape(w, h).T)


def encode(mask: npt.ArrayLike, *, order: str = "C", one_indexed: bool = True) -> str:
    """The Kaggle string of a 2-D mask (nonzero = foreground), any memory order."""
    _check(order)
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D mask, not shape {m.shape}")
    flat = (m != 0).ravel(order=order).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0]))))
    starts, ends = edges[0::2], edges[1::2]
    offset = 1 if one_indexed else 0
    pairs = np.stack([starts + offset, ends - starts], axis=1).ravel()
    return " ".join(map(str, pairs.tolist()))


def to_coco(
    text: str, shape: tuple[int, int], *, order: str = "C", one_indexed: bool = True
) -> dict[str, Any]:
    """The COCO RLE ``{"size": [h, w], "counts": str}`` of a Kaggle string."""
    _check(order)
    h, w = _shape(shape)
    if order == "F":
        # Column-major positions are COCO's: runs follow directly, no dense mask.
        starts, lengths = _pairs(text, h * w, one_indexed)
        ends = starts + lengths
        runs = np.empty(2 * len(starts) + 1, np.int64)
        runs[0:-1:2] = starts - np.concatenate(([0], ends[:-1]))
        runs[1::2] = lengths
        runs[-1] = h * w - (ends[-1] if len(ends) else 0)
        counts = runs.tolist() if runs[-1] or not len(starts) else runs[:-1].tolist()
        batch = RleBatch.from_coco([{"size": [h, w], "counts": counts}])
    else:
        batch = RleBatch.from_masks(decode(text, (h, w), order="C", one_indexed=one_indexed))
    out: dict[str, Any] = batch.to_coco()[0]
    return out


def from_coco(rle: dict[str, Any] | RleBatch, *, order: str = "C", one_indexed: bool = True) -> str:
    """The Kaggle string of a COCO RLE dict (str, bytes or list counts) or a one-mask
    ``RleBatch``."""
    _check(order)
    batch = rle if isinstance(rle, RleBatch) else RleBatch.from_coco([rle])
    if len(batch) != 1:
        raise ValueError(f"expected one mask, got a batch of {len(batch)}")
    return encode(batch.decode()[0], order=order, one_indexed=one_indexed)
