"""Drop-in replacement for ``pycocotools.mask``.

Same names, same arguments and bit-identical results (counts bytes, dtypes, shapes and
memory order) on every input pycocotools handles correctly. Where pycocotools crashes,
hangs or returns garbage (malformed counts, mixed sizes, broken polygons, ...), these
functions raise :class:`sa1b_rle.RleError` (a ``ValueError``) or ``TypeError`` naming what
is wrong and where. Input is accepted more liberally: any memory order, bool or any
numeric dtype (nonzero is foreground), counts as ``str``, ``bytes`` or a list.

An RLE is a dict ``{"size": [h, w], "counts": bytes}``; counts are column-major
(Fortran order) run lengths starting with a background run.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle import _core
from sa1b_rle._core import RleError

__all__ = [
    "area",
    "decode",
    "encode",
    "frBbox",
    "frPoly",
    "frPyObjects",
    "frUncompressedRLE",
    "iou",
    "merge",
    "toBbox",
]

RLE = dict[str, Any]
RleInput = RLE | Sequence[RLE]


def _binary_u8(a: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """A uint8 view (or, for other dtypes, a 0/1 copy) of ``a`` where nonzero is 1."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    if a.dtype.kind not in "iufcb":
        raise TypeError(f"masks must be numeric or bool arrays, not dtype {a.dtype}")
    binary: npt.NDArray[np.uint8] = (a != 0).view(np.uint8)
    return binary


def encode(bimask: npt.ArrayLike) -> RLE | list[RLE]:
    """Encode binary masks as RLEs.

    Parameters
    ----------
    bimask : array_like
        ``(h, w)`` for one mask, or ``(h, w, n)`` for ``n`` masks. Any memory order,
        any numeric or bool dtype; nonzero pixels are foreground. (pycocotools needs a
        Fortran-ordered uint8 array.)

    Returns
    -------
    dict or list of dict
        ``{"size": [h, w], "counts": bytes}`` for a 2-D input, a list of them for 3-D.

    Examples
    --------
    >>> import numpy as np
    >>> from sa1b_rle import mask
    >>> mask.encode(np.array([[0, 1], [1, 1]], dtype=np.uint8))
    {'size': [2, 2], 'counts': b'13'}
    """
    a = np.asarray(bimask)
    if a.ndim not in (2, 3):
        raise RleError(f"encode expects a 2-D (h, w) or 3-D (h, w, n) array, not {a.ndim}-D")
    a = _binary_u8(a)
    if a.ndim == 2:
        h, w = a.shape
        col = bool(a.flags.f_contiguous)
        if not col and not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        return _core.encode_masks(a, h, w, 1, column_major=col)[0]
    h, w, n = a.shape
    if a.flags.f_contiguous:
        return _core.encode_masks(a, h, w, n, column_major=True)
    # (n, h, w) row-major masks: free for the common masks.transpose(1, 2, 0).
    t = np.ascontiguousarray(np.moveaxis(a, 2, 0))
    return _core.encode_masks(t, h, w, n, column_major=False)


def _is_single(rleObjs: Any) -> bool:
    return isinstance(rleObjs, dict)


def decode(rleObjs: RleInput) -> npt.NDArray[np.uint8]:
    """Decode RLEs to binary masks.

    Parameters
    ----------
    rleObjs : dict or list of dict
        One RLE, or a list of RLEs of one size.

    Returns
    -------
    numpy.ndarray
        uint8 0/1, Fortran-ordered: ``(h, w)`` for one RLE, ``(h, w, n)`` for a list.

    Raises
    ------
    RleError
        Malformed counts, counts that do not sum to ``h * w``, mixed sizes, an empty list.
    """
    if _is_single(rleObjs):
        return _core.decode([rleObjs])[:, :, 0]
    return _core.decode(rleObjs)


def area(rleObjs: RleInput) -> Any:
    """Foreground pixel count: ``np.uint32`` for one RLE, a uint32 ``(n,)`` array for a list."""
    if _is_single(rleObjs):
        return _core.area([rleObjs])[0]
    return _core.area(rleObjs)


def toBbox(rleObjs: RleInput) -> npt.NDArray[np.float64]:
    """Bounding boxes ``[x, y, w, h]``: float64 ``(4,)`` for one RLE, ``(n, 4)`` for a list."""
    if _is_single(rleObjs):
        one: npt.NDArray[np.float64] = _core.to_bbox([rleObjs])[0]
        return one
    return _core.to_bbox(rleObjs)


def merge(rleObjs: Sequence[RLE], intersect: Any = 0) -> RLE:
    """Union (or, with ``intersect``, intersection) of a list of RLEs of one size.

    An empty list gives ``{"size": [0, 0], "counts": b""}`` as in pycocotools; mixed sizes
    raise ``RleError`` (pycocotools silently returns that empty RLE).
    """
    if _is_single(rleObjs):
        raise TypeError("merge expects a list of RLE dicts, not a single dict")
    return _core.merge(rleObjs, intersect=bool(intersect))


def _iou_operand(objs: Any, name: str) -> tuple[str, Any]:
    if isinstance(objs, np.ndarray):
        a = objs
        if a.ndim == 1 and a.size in (0, 4):
            a = a.reshape(-1, 4)
        if a.ndim != 2 or a.shape[1] != 4:
            raise RleError(f"{name}: a numpy array must hold boxes of shape (n, 4), not {a.shape}")
        return "box", np.ascontiguousarray(a, dtype=np.float64)
    if isinstance(objs, (list, tuple)):
        if len(objs) == 0:
            return "empty", objs
        if all(isinstance(o, dict) for o in objs):
            return "rle", objs
        if all(isinstance(o, (list, tuple, np.ndarray)) and len(o) == 4 for o in objs):
            return "box", np.asarray(objs, dtype=np.float64).reshape(-1, 4)
        raise TypeError(f"{name}: a list must hold either RLE dicts or [x, y, w, h] boxes")
    raise TypeError(
        f"{name}: expected a list of RLE dicts, a list of boxes or an (n, 4) array, "
        f"not {type(objs).__name__}"
    )


def _iscrowd(pyiscrowd: Any, n: int) -> list[bool]:
    if pyiscrowd is None:
        return [False] * n
    try:
        flags = np.array(pyiscrowd, dtype=np.uint8)
    except (OverflowError, ValueError, TypeError) as e:
        raise RleError(f"iscrowd must be a list of 0/1 flags: {e}") from None
    if flags.ndim != 1 or len(flags) != n:
        raise RleError(
            f"iscrowd has {flags.size} entries but there are {n} ground truths: "
            "it needs one flag per ground truth"
        )
    return [bool(v) for v in flags]


def iou(dt: Any, gt: Any, pyiscrowd: Any) -> Any:
    """Intersection over union of every detection with every ground truth.

    Parameters
    ----------
    dt, gt : list of RLE dicts, list of ``[x, y, w, h]`` boxes, or ``(n, 4)`` array
        Both of the same kind. RLEs must all have one size.
    pyiscrowd : sequence of bool/int, one per ground truth (or None: no crowd)
        Against a crowd ground truth the union is the detection's own area.

    Returns
    -------
    numpy.ndarray or list
        Fortran-ordered float64 ``(len(dt), len(gt))``; ``[]`` when either side is empty.
    """
    dt_kind, dts = _iou_operand(dt, "dt")
    gt_kind, gts = _iou_operand(gt, "gt")
    crowd = _iscrowd(pyiscrowd, len(gts))
    if len(dts) == 0 or len(gts) == 0:
        return []
    if dt_kind != gt_kind:
        raise TypeError("dt and gt must both be RLEs or both be boxes")
    if dt_kind == "rle":
        return _core.iou_rle(dts, gts, crowd)
    return _core.iou_bbox(dts, gts, crowd)


def _dim(v: Any, name: str) -> int:
    if isinstance(v, (float, np.floating)):
        # pycocotools converts h and w to its unsigned size type, which truncates a
        # float like int(): mmdetection's PolygonMasks.crop passes fractional ones.
        if not np.isfinite(v):
            raise RleError(f"{name} must be a finite number, not {v}")
        v = int(v)
    try:
        n = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(v).__name__}") from None
    if n < 0:
        raise RleError(f"{name} must not be negative ({n})")
    return n


def frBbox(bb: npt.ArrayLike, h: int, w: int) -> list[RLE]:
    """Rasterise boxes ``[x, y, w, h]`` (an ``(n, 4)`` array-like) to RLEs of size (h, w).

    Boxes go through the polygon path exactly as in pycocotools, so fractional boxes
    follow polygon rounding.
    """
    return _core.fr_bbox(bb, _dim(h, "h"), _dim(w, "w"))


def _polygon(p: Any) -> list[float]:
    if isinstance(p, np.ndarray):
        p = p.astype(np.float64).tolist()
    if not isinstance(p, list):
        p = list(p)
    return p  # type: ignore[no-any-return]


def frPoly(poly: Sequence[Any], h: int, w: int) -> list[RLE]:
    """Rasterise polygons (each a flat ``[x0, y0, x1, y1, ...]``) to RLEs of size (h, w).

    Raises
    ------
    RleError
        Odd number of coordinates, fewer than 3 points, non-finite or huge coordinates.
    """
    polys = [_polygon(p) for p in poly]
    return _core.fr_poly(polys, _dim(h, "h"), _dim(w, "w"))


def frUncompressedRLE(ucRles: Sequence[RLE], h: int, w: int) -> list[RLE]:
    """Compress RLEs with list counts. Each keeps its own ``size`` (``h``, ``w`` unused,
    as in pycocotools); unlike pycocotools, counts must sum to that size."""
    return _core.fr_uncompressed(ucRles)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


# pycocotools reads a first entry of 4 numbers as boxes, of more as polygons, and
# refuses one of fewer ("input type is not supported").
_TOO_SHORT = (
    "frPyObjects: the first entry has {n} numbers: a box needs 4, a polygon more "
    "(pycocotools refuses it too)"
)


def frPyObjects(pyobj: Any, h: int, w: int) -> RLE | list[RLE]:
    """Convert polygons, boxes or uncompressed RLEs to compressed RLEs of size (h, w).

    Accepts what pycocotools accepts (a list of polygons, an ``(n, 4)`` box array, a list
    of uncompressed RLE dicts, one uncompressed RLE dict) and, where pycocotools fails,
    a list of boxes, a single flat box or polygon (returning one dict) and an empty list
    (returning ``[]``).
    """
    if isinstance(pyobj, np.ndarray):
        if pyobj.ndim == 1 and pyobj.size == 4:
            return frBbox(pyobj.reshape(1, 4), h, w)[0]
        return frBbox(pyobj, h, w)
    if isinstance(pyobj, dict):
        if "counts" in pyobj and "size" in pyobj:
            return frUncompressedRLE([pyobj], h, w)[0]
        raise TypeError("an RLE dict needs 'counts' and 'size'")
    if isinstance(pyobj, (list, tuple)):
        if len(pyobj) == 0:
            return []
        first = pyobj[0]
        if isinstance(first, dict):
            return frUncompressedRLE(pyobj, h, w)
        if _is_number(first):
            if len(pyobj) < 4:
                raise RleError(_TOO_SHORT.format(n=len(pyobj)))
            if len(pyobj) == 4:
                return frBbox([list(pyobj)], h, w)[0]
            return frPoly([list(pyobj)], h, w)[0]
        try:
            n = len(first)
        except TypeError:
            raise TypeError(
                f"unsupported element type {type(first).__name__} in frPyObjects input"
            ) from None
        if n < 4:
            raise RleError(_TOO_SHORT.format(n=n))
        if n == 4:
            # Read as boxes, as pycocotools does when the first entry has 4 numbers.
            lengths = {len(o) if hasattr(o, "__len__") else -1 for o in pyobj}
            if lengths != {4}:
                k = next(i for i, o in enumerate(pyobj) if not hasattr(o, "__len__") or len(o) != 4)
                raise RleError(
                    f"frPyObjects: the first entry has 4 numbers, so the list is read as "
                    f"[x, y, w, h] boxes (as pycocotools does), but entry {k} is not a box; "
                    "for polygons give each its own frPyObjects call, or use "
                    "sa1b_rle.RleBatch.from_polygons"
                )
            return frBbox(pyobj, h, w)
        if type(first) is list and type(h) is int and type(w) is int and h >= 0 and w >= 0:
            # The common COCO case (lists of float lists, int sizes): straight to Rust.
            return _core.fr_poly(pyobj, h, w)
        return frPoly(pyobj, h, w)
    raise TypeError(f"input type is not supported: {type(pyobj).__name__}")
