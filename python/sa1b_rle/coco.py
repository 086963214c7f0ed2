"""COCO RLE forms: compressed (``counts`` a str or bytes) and uncompressed (a list).

>>> rle = {"size": [2, 3], "counts": [2, 1, 1, 2]}
>>> compress(rle)
{'size': [2, 3], 'counts': '2111'}
>>> decompress({"size": [2, 3], "counts": "2111"})
{'size': [2, 3], 'counts': [2, 1, 1, 2]}
"""

from __future__ import annotations

from typing import Any

from sa1b_rle._core import RleBatch, counts_to_runs

__all__ = ["compress", "decompress"]


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
