"""Drop-in gaps found by replaying downstream code (issue "One engine"): inputs real
code passes to pycocotools that it answers deterministically, answered the same.

- mmdetection's ``PolygonMasks.crop`` passes float (numpy float32/float64, fractional)
  heights and widths to ``frPyObjects``: truncated like ``int()``;
- RLE ``size`` entries written as floats: accepted everywhere, truncated the same way;
- degenerate parts of a multi-part polygon segmentation (1 or 2 points) and polygons with
  an odd coordinate count (the last one is ignored): rasterised as pycocotools does;
- where pycocotools reads out of bounds (an empty polygon) or fails obscurely (a first
  polygon of 4 numbers followed by longer ones), a clear ``RleError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sa1b_rle import RleBatch, RleError
from sa1b_rle import mask as sm

coord = st.floats(-10, 60, allow_nan=False).map(lambda v: round(v, 2))


def polygon(points: int) -> st.SearchStrategy[list[float]]:
    return st.lists(coord, min_size=2 * points, max_size=2 * points)


@given(
    first=polygon(4),
    parts=st.lists(
        st.one_of(polygon(1), polygon(2), polygon(3), polygon(5)).flatmap(
            lambda p: st.one_of(st.just(p), coord.map(lambda c, p=p: [*p, c]))
        ),
        min_size=1,
        max_size=3,
    ),
    h=st.integers(1, 50),
    w=st.integers(1, 50),
)
def test_multi_part_segmentations_with_degenerate_parts(
    first: list[float], parts: list[list[float]], h: int, w: int
) -> None:
    segm = [first, *parts]
    ref = pm.frPyObjects(segm, h, w)
    assert sm.frPyObjects(segm, h, w) == ref
    assert sm.merge(sm.frPyObjects(segm, h, w)) == pm.merge(ref)


@given(pts=polygon(4).flatmap(lambda p: coord.map(lambda c: [*p, c])), h=st.integers(1, 50))
def test_odd_coordinate_count_ignores_the_last(pts: list[float], h: int) -> None:
    assert sm.frPyObjects([pts], h, 37) == pm.frPyObjects([pts], h, 37)
    assert sm.frPyObjects([pts], h, 37) == sm.frPyObjects([pts[:-1]], h, 37)


floats = st.floats(1.0, 60.0, allow_nan=False)


@given(
    pts=polygon(5),
    h=floats,
    w=floats,
    kind=st.sampled_from(["float", "float32", "float64"]),
)
def test_float_heights_and_widths_are_truncated(
    pts: list[float], h: float, w: float, kind: str
) -> None:
    cast: Any = {"float": float, "float32": np.float32, "float64": np.float64}[kind]
    H, W = cast(h), cast(w)
    assert sm.frPyObjects([pts], H, W) == pm.frPyObjects([pts], H, W)
    boxes = np.array([[1.5, 2.5, 10.2, 7.7], [0.0, 0.0, 3.0, 3.0]])
    assert sm.frPyObjects(boxes, H, W) == pm.frPyObjects(boxes, H, W)


def test_mmdetection_crop_like_call() -> None:
    # PolygonMasks.crop: a float crop box makes fractional heights and widths.
    x1, y1, x2, y2 = np.array([3.4, 5.2, 47.9, 38.6], dtype=np.float32)
    h, w = y2 - y1, x2 - x1
    polys = [[1.0, 1.0, 30.0, 2.5, 28.0, 20.0, 2.0, 25.0]]
    assert sm.frPyObjects(polys, h, w) == pm.frPyObjects(polys, h, w)


@pytest.mark.parametrize("size", [[6.0, 5.0], [np.float32(6), np.float32(5)], [6.7, 5.2]])
def test_float_sizes_in_rle_dicts(size: list[Any]) -> None:
    rng = np.random.default_rng(1)
    r = pm.encode(np.asfortranarray((rng.random((6, 5)) < 0.5).astype(np.uint8)))
    rf = {"size": size, "counts": r["counts"]}
    for fn in ("decode", "area", "toBbox"):
        ours, ref = getattr(sm, fn)(rf), getattr(pm, fn)(rf)
        assert np.array_equal(ours, ref) and ours.dtype == ref.dtype
    assert np.array_equal(sm.iou([rf], [rf], [0]), pm.iou([rf], [rf], [0]))
    assert sm.merge([rf, rf]) == pm.merge([rf, rf])
    un = {"size": size, "counts": [30]}
    assert sm.frPyObjects([un], 6, 5) == pm.frPyObjects([un], 6, 5)
    assert RleBatch.from_coco([rf]).shape == (1, 6, 5)


def test_empty_polygon_is_an_error() -> None:
    # pycocotools reads past its buffer for a polygon of no points.
    with pytest.raises(RleError, match="polygon has 0 point"):
        sm.frPyObjects([[10.0, 10.0, 20.0, 10.0, 20.0, 20.0], []], 30, 30)
    with pytest.raises(RleError, match="polygon has 0 point"):
        sm.frPyObjects([[10.0, 10.0, 20.0, 10.0, 20.0, 20.0], [5.0]], 30, 30)


def test_four_numbers_then_a_polygon_says_why() -> None:
    segm = [[1.0, 1.0, 5.0, 5.0], [1.0, 1.0, 9.0, 1.0, 9.0, 9.0]]
    with pytest.raises(TypeError):  # pycocotools: frBbox of a list
        pm.frPyObjects(segm, 20, 20)
    with pytest.raises(RleError, match=r"entry 1 is not a box"):
        sm.frPyObjects(segm, 20, 20)


def test_the_batch_api_stays_strict() -> None:
    with pytest.raises(RleError, match="odd number of coordinates"):
        RleBatch.from_polygons([[[1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 2.0]]], 10, 10)
    with pytest.raises(RleError, match="polygon has 2 point"):
        RleBatch.from_polygons([[[1.0, 1.0, 5.0, 1.0, 5.0, 5.0], [1.0, 1.0, 2.0, 2.0]]], 10, 10)


def test_non_finite_float_sizes_are_errors() -> None:
    for bad in (float("nan"), float("inf"), np.float32("nan")):
        with pytest.raises(RleError, match="finite"):
            sm.frPyObjects([[1.0, 1.0, 5.0, 1.0, 5.0, 5.0]], bad, 10)
        with pytest.raises(RleError, match="not finite"):
            sm.decode({"size": [bad, 2], "counts": b"0"})


def test_entries_of_fewer_than_four_numbers_are_refused_as_pycocotools_does() -> None:
    """pycocotools reads a first entry of 4 numbers as boxes and of more as polygons,
    and refuses fewer; so does frPyObjects, flat (this package's extension) or not."""
    for obj in ([1, 2], [1, 2, 3], [[1, 2]], [[1.5, 2, 3], [1, 2, 3, 4, 5, 6]]):
        with pytest.raises(Exception):  # noqa: B017 - pycocotools raises a bare Exception
            pm.frPyObjects(obj, 7, 9)
        with pytest.raises(RleError, match="the first entry has"):
            sm.frPyObjects(obj, 7, 9)
    assert sm.frPyObjects([[1, 2, 3, 4, 5, 6]], 7, 9) == pm.frPyObjects([[1, 2, 3, 4, 5, 6]], 7, 9)
