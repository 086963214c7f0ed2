"""COCO RLE forms (compressed: ``counts`` a str or bytes; uncompressed: a list) and COCO
annotations built from masks.

>>> rle = {"size": [2, 3], "counts": [2, 1, 1, 2]}
>>> compress(rle)
{'size': [2, 3], 'counts': '2111'}
>>> decompress({"size": [2, 3], "counts": "2111"})
{'size': [2, 3], 'counts': [2, 1, 1, 2]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import RleBatch, counts_to_runs

__all__ = ["annotations_from_masks", "compress", "decompress"]


def _size(rle: dict[str, Any]) -> tuple[int, int]:
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError('expected a COCO RLE dict with "size" and "counts"')
    h, w = (int(x) for x in rle["size"])
    return h, w


def compress(rle: dict[str, Any], *, counts: str = "str") -> dict[str, Any]:
    """The compressed form (pycocotools' counts string; ``counts="bytes"`` for bytes) of
    an RLE dict in either form, validated (the runs must sum to height * width)."""
    h, w = _size(rle)
    out: dict[str, Any] = RleBatch.from_coco([rle]).to_coco(counts=counts)[0]
    out["size"] = [h, w]
    return out


def decompress(rle: dict[str, Any]) -> dict[str, Any]:
    """The uncompressed form (``counts`` a list of run lengths, background first) of an
    RLE dict in either form, validated."""
    h, w = _size(rle)
    c = rle["counts"]
    if isinstance(c, str):
        c = c.encode()
    if isinstance(c, (bytes, bytearray)):
        runs = counts_to_runs(bytes(c), h, w)
    else:
        runs = counts_to_runs(compress(rle, counts="bytes")["counts"], h, w)
    return {"size": [h, w], "counts": runs}


def annotations_from_masks(
    masks: RleBatch | npt.ArrayLike,
    *,
    image_id: int,
    category_id: int | Sequence[int] = 1,
    first_id: int = 1,
    segmentation: str = "rle",
    tolerance: float = 0.0,
    iscrowd: int = 0,
) -> list[dict[str, Any]]:
    """COCO instance annotations of the masks of one image.

    Each has ``id`` (``first_id``, ``first_id + 1``, ...), ``image_id``,
    ``category_id`` (one for all, or one per mask), ``segmentation`` (``"rle"``:
    ``{"size", "counts": str}``; ``"polygon"``: :func:`sa1b_rle.to_polygons` lists,
    simplified by ``tolerance`` pixels), ``area`` (the mask's pixel count), ``bbox``
    (pycocotools' toBbox of the mask) and ``iscrowd``. Empty masks are skipped (their
    ids are not used).

    >>> import numpy as np
    >>> m = np.zeros((2, 4, 5), np.uint8); m[0, 1:3, 1:4] = 1; m[1, 0, 0] = 1
    >>> anns = annotations_from_masks(RleBatch.from_masks(m), image_id=7, category_id=[3, 5])
    >>> [(a["id"], a["category_id"], a["area"], a["bbox"]) for a in anns]
    [(1, 3, 6, [1.0, 1.0, 3.0, 2.0]), (2, 5, 1, [0.0, 0.0, 1.0, 1.0])]
    """
    from sa1b_rle._images import to_polygons

    if not isinstance(masks, RleBatch):
        a = np.asarray(masks)
        if a.dtype.kind not in "bui" or a.ndim not in (2, 3):
            raise TypeError(
                "masks must be an RleBatch or an (N, H, W) / (H, W) bool or integer array, "
                f"not {type(masks).__name__} of dtype {a.dtype} and shape {a.shape}"
            )
        masks = RleBatch.from_masks((a if a.ndim == 3 else a[None]) != 0)
    if segmentation not in ("rle", "polygon"):
        raise ValueError(f'segmentation must be "rle" or "polygon", not {segmentation!r}')
    n = len(masks)
    cats = [category_id] * n if isinstance(category_id, int) else list(category_id)
    if len(cats) != n:
        raise ValueError(f"{len(cats)} category ids for {n} masks")
    areas, boxes = masks.area(), masks.bbox()
    rles = masks.to_coco() if segmentation == "rle" else None
    out = []
    next_id = first_id
    for k in range(n):
        if areas[k] == 0:
            continue
        seg: Any = rles[k] if rles is not None else to_polygons(masks[k], tolerance=tolerance)
        out.append(
            {
                "id": next_id,
                "image_id": image_id,
                "category_id": int(cats[k]),
                "segmentation": seg,
                "area": int(areas[k]),
                "bbox": [float(v) for v in boxes[k]],
                "iscrowd": iscrowd,
            }
        )
        next_id += 1
    return out
