"""to_polygons: masks to COCO polygons that pycocotools rasterises back to the mask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pycocotools.mask as pm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sa1b_rle
from sa1b_rle import RleBatch

DATA = Path(__file__).parent / "data"


def rasterise(polys: list[list[float]], h: int, w: int) -> np.ndarray:
    if not polys:
        return np.zeros((h, w), np.uint8)
    return pm.decode(pm.merge(pm.frPyObjects(polys, h, w)))


def pieces(m: np.ndarray) -> int:
    """Number of 4-connected foreground pieces (a plain flood fill)."""
    seen = np.zeros(m.shape, bool)
    n = 0
    for y0, x0 in zip(*np.nonzero(m), strict=True):
        if seen[y0, x0]:
            continue
        n += 1
        stack = [(y0, x0)]
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < m.shape[0] and 0 <= nx < m.shape[1] and m[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return n


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
        elements=st.integers(0, 1),
    )
)
def test_polygons_rasterise_back_exactly(m: np.ndarray) -> None:
    # Random masks: many pieces, diagonal touches, holes, islands in holes.
    polys = sa1b_rle.to_polygons(RleBatch.from_masks(m))
    assert np.array_equal(rasterise(polys, *m.shape), m)
    assert len(polys) == pieces(m)
    assert all(len(p) >= 6 and len(p) % 2 == 0 for p in polys)


def test_real_masks_round_trip() -> None:
    results = json.loads((DATA / "coco_instances_val2014_fakesegm100_results.json").read_text())
    checked = 0
    simplified: list[tuple[float, int]] = []
    for r in results:
        rle = {"size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"]}
        enc = {"size": rle["size"], "counts": rle["counts"].encode()}
        if pm.area(enc) < 100:
            continue
        h, w = rle["size"]
        polys = sa1b_rle.to_polygons(rle)
        back = pm.merge(pm.frPyObjects(polys, h, w))
        assert pm.iou([back], [enc], [0])[0][0] >= 0.99
        assert back["counts"] == enc["counts"]  # in fact exact
        simple = sa1b_rle.to_polygons(rle, tolerance=1.5)
        assert sum(map(len, simple)) <= sum(map(len, polys))
        iou = pm.iou([pm.merge(pm.frPyObjects(simple, h, w))], [enc], [0])[0][0]
        simplified.append((iou, int(pm.area(enc))))
        checked += 1
    assert checked > 600
    # Simplified by 1.5 pixels: close for most masks, never far off for large ones.
    ious = np.array([i for i, _ in simplified])
    assert np.median(ious) >= 0.95
    assert min(i for i, a in simplified if a >= 1000) >= 0.85


def test_shapes_and_errors() -> None:
    ring = np.zeros((5, 5), np.uint8)
    ring[1:4, 1:4] = 1
    ring[2, 2] = 0
    (poly,) = sa1b_rle.to_polygons(RleBatch.from_masks(ring))
    assert np.array_equal(rasterise([poly], 5, 5), ring)
    assert sa1b_rle.to_polygons(RleBatch.from_masks(np.zeros((3, 3), np.uint8))) == []
    full = np.ones((2, 3), np.uint8)
    assert sa1b_rle.to_polygons(RleBatch.from_masks(full)) == [
        [0.0, 0.0, 3.0, 0.0, 3.0, 2.0, 0.0, 2.0]
    ]
    with pytest.raises(ValueError, match="one mask"):
        sa1b_rle.to_polygons(RleBatch.from_masks(np.zeros((2, 3, 3), np.uint8)))
    with pytest.raises(ValueError, match="tolerance"):
        sa1b_rle.to_polygons(RleBatch.from_masks(full), tolerance=-1)


def test_box_errors_name_the_boxs_own_value() -> None:
    """A box out of range names its own entry: x 0, y 1, width 2, height 3 (the
    rasterised polygon's corners are x, y+h, x+w, ...)."""
    big = 2.0**31
    for k in range(4):
        box = [0.0, 0.0, 5.0, 5.0]
        box[k] = big
        with pytest.raises(sa1b_rle.RleError, match=f"coordinate {k} "):
            sa1b_rle.mask.frPyObjects([box], 10, 10)
