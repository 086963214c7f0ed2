"""Module-level batch functions: each takes a list of COCO RLE dicts or an RleBatch.

The work runs in Rust with the GIL released, on a process-local thread pool (see
:func:`set_num_threads`); results are bit-identical to pycocotools for every thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import RleBatch, get_num_threads, max_threads, set_num_threads

__all__ = [
    "RleBatch",
    "area",
    "bbox",
    "decode",
    "encode",
    "get_num_threads",
    "iou_matrix",
    "max_threads",
    "set_num_threads",
]

RLEs = RleBatch | Sequence[dict[str, Any]]


def _as_batch(rles: RLEs, threads: int | None = None) -> RleBatch:
    if isinstance(rles, RleBatch):
        return rles
    if isinstance(rles, dict):
        raise TypeError("expected a list of RLE dicts or an RleBatch, not a single dict")
    return RleBatch.from_coco(rles, threads=threads)


def decode(
    rles: RLEs,
    *,
    out: npt.NDArray[np.uint8] | None = None,
    indices: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint8]:
    """Decode masks into an ``(n, H, W)`` uint8 C-contiguous array (1 = foreground).

    Parameters
    ----------
    rles
        COCO RLE dicts of one size, or an :class:`RleBatch`.
    out
        Optional ``(n, H, W)`` uint8 C-contiguous writeable array to decode into (returned).
    indices
        Decode only these masks (in this order); ``n = len(indices)``. Default: all.
    threads
        Threads for this call (default: :func:`get_num_threads`).
    """
    return _as_batch(rles, threads).decode(out=out, indices=indices, threads=threads)


def area(rles: RLEs, *, threads: int | None = None) -> npt.NDArray[np.int64]:
    """Foreground pixels of each mask, int64 ``(n,)``."""
    return _as_batch(rles, threads).area(threads=threads)


def bbox(rles: RLEs, *, threads: int | None = None) -> npt.NDArray[np.float64]:
    """pycocotools' ``toBbox`` of each mask, ``[x, y, w, h]`` float64 ``(n, 4)``."""
    return _as_batch(rles, threads).bbox(threads=threads)


def iou_matrix(
    dt: RLEs,
    gt: RLEs,
    *,
    iscrowd: Sequence[bool] | Sequence[int] | npt.NDArray[Any] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """IoU of every detection with every ground truth, float64 ``(len(dt), len(gt))``.

    Bit-identical to ``pycocotools.mask.iou(dt, gt, iscrowd)``; ``iscrowd`` has one flag
    per ground truth (crowd: the union is the detection's area). Passing the same object
    as ``dt`` and ``gt`` (without crowd) computes one triangle of the symmetric matrix.
    """
    d = _as_batch(dt, threads)
    g = d if gt is dt else _as_batch(gt, threads)
    return d.iou(g, iscrowd=iscrowd, threads=threads)


def _from_arrow(counts: Any, h: int, w: int, *, threads: int | None = None) -> RleBatch:
    """A batch from an Arrow array of compressed counts (binary or string, chunked or
    not, no nulls), all of size (h, w); needs pyarrow."""
    from sa1b_rle.arrow import batch_from_arrow

    return batch_from_arrow(counts, h, w, threads=threads)


# The package adds what needs Python-only dependencies to the Rust class (the binding
# never imports the package).
RleBatch.from_arrow = staticmethod(_from_arrow)  # type: ignore[method-assign]


def encode(masks: npt.ArrayLike, *, threads: int | None = None) -> RleBatch:
    """Encode an ``(N, H, W)`` or ``(H, W)`` bool/uint8 array (any memory order; nonzero
    is foreground) into an :class:`RleBatch`, masks in parallel."""
    return RleBatch.from_masks(masks, threads=threads)
