"""Differential tests: sa1b_rle.mask against pycocotools.mask on generated inputs.

pycocotools (PyPI 2.0.11) is the reference; only inputs it handles correctly are compared
(valid 0/1 masks, valid RLEs of one size, polygons with >= 3 points and finite coords).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools._mask as _pm
import pycocotools.mask as pm
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sa1b_rle import mask as sm


def assert_same_array(ours: Any, ref: Any) -> None:
    assert type(ours) is type(ref)
    assert ours.dtype == ref.dtype
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


# ---------------------------------------------------------------- masks


@st.composite
def masks(draw: st.DrawFn, max_side: int = 40, max_n: int = 4) -> np.ndarray:
    """(h, w, n) 0/1 uint8 masks with varied fill patterns (runs, noise, blocks, empty, full)."""
    h = draw(st.integers(0, max_side))
    w = draw(st.integers(0, max_side))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "sparse", "dense", "blocks", "empty", "full", "rows"]))
    shape = (h, w, n)
    if kind == "noise":
        m = rng.random(shape) < 0.5
    elif kind == "sparse":
        m = rng.random(shape) < 0.03
    elif kind == "dense":
        m = rng.random(shape) < 0.97
    elif kind == "empty":
        m = np.zeros(shape, bool)
    elif kind == "full":
        m = np.ones(shape, bool)
    elif kind == "rows":
        m = np.zeros(shape, bool)
        if h:
            m[rng.integers(0, h, size=max(1, h // 3))] = True
    else:
        m = np.zeros(shape, bool)
        for i in range(n):
            for _ in range(int(rng.integers(1, 4))):
                if h and w:
                    y0, x0 = rng.integers(0, h), rng.integers(0, w)
                    m[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1), i] = True
    return m.astype(np.uint8)


@given(masks())
def test_encode_matches_in_every_layout(m: np.ndarray) -> None:
    ref = pm.encode(np.asfortranarray(m))
    assert sm.encode(np.asfortranarray(m)) == ref
    assert sm.encode(np.ascontiguousarray(m)) == ref
    assert sm.encode(np.asfortranarray(m).astype(bool)) == ref
    # (n, h, w) C-ordered stacks, transposed as users usually hold them.
    assert sm.encode(np.ascontiguousarray(m.transpose(2, 0, 1)).transpose(1, 2, 0)) == ref
    # any nonzero value is foreground
    assert sm.encode(m * 7) == ref


@given(masks(max_n=1))
def test_encode_2d_matches(m: np.ndarray) -> None:
    m2 = m[:, :, 0]
    ref = pm.encode(np.asfortranarray(m2))
    assert sm.encode(np.asfortranarray(m2)) == ref
    assert sm.encode(np.ascontiguousarray(m2)) == ref
    assert sm.encode(m2[:, ::-1][:, ::-1]) == ref  # non-contiguous view path


@given(masks())
def test_decode_area_bbox_match(m: np.ndarray) -> None:
    rles = pm.encode(np.asfortranarray(m))
    assume(m.shape[0] * m.shape[1] > 0 or True)
    d_ours, d_ref = sm.decode(rles), pm.decode(rles)
    assert_same_array(d_ours, d_ref)
    assert d_ours.flags.f_contiguous
    assert_same_array(sm.area(rles), pm.area(rles))
    assert_same_array(sm.toBbox(rles), pm.toBbox(rles))
    one = rles[0]
    assert_same_array(sm.decode(one), pm.decode(one))
    assert sm.area(one) == pm.area(one) and type(sm.area(one)) is type(pm.area(one))
    assert_same_array(sm.toBbox(one), pm.toBbox(one))
    # str counts are accepted too
    as_str = [{"size": r["size"], "counts": r["counts"].decode()} for r in rles]
    assert_same_array(sm.decode(as_str), d_ref)


@given(masks(max_n=6), st.data())
def test_iou_matches(m: np.ndarray, data: st.DataObject) -> None:
    rles = pm.encode(np.asfortranarray(m))
    k = data.draw(st.integers(1, len(rles)))
    dt, gt = rles[:k], rles[k - 1 :]
    crowd = data.draw(st.lists(st.integers(0, 1), min_size=len(gt), max_size=len(gt)))
    ours, ref = sm.iou(dt, gt, crowd), pm.iou(dt, gt, crowd)
    assert_same_array(ours, ref)
    assert ours.flags.f_contiguous == ref.flags.f_contiguous
    # boxes, as lists and as arrays
    bd, bg = pm.toBbox(dt), pm.toBbox(gt)
    assert_same_array(sm.iou(bd, bg, crowd), pm.iou(bd, bg, crowd))
    assert_same_array(
        sm.iou(bd.tolist(), bg.tolist(), crowd), pm.iou(bd.tolist(), bg.tolist(), crowd)
    )


@given(masks(max_n=5), st.booleans())
def test_merge_matches(m: np.ndarray, intersect: bool) -> None:
    rles = pm.encode(np.asfortranarray(m))
    assert sm.merge(rles, intersect) == pm.merge(rles, intersect)
    assert sm.merge(rles, intersect=intersect) == pm.merge(rles, intersect=intersect)
    assert sm.merge(rles[:1]) == pm.merge(rles[:1])


# ---------------------------------------------------------------- counts


@st.composite
def run_lists(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """Valid uncompressed RLEs, including zero-length runs (non-canonical but legal)."""
    runs = draw(st.lists(st.integers(0, 40), min_size=1, max_size=30))
    total = sum(runs)
    divisors = [d for d in range(1, total + 1) if total % d == 0] or [1]
    h = draw(st.sampled_from(divisors)) if total else draw(st.integers(0, 5))
    w = total // h if total else 0
    return h, w, runs


@given(run_lists())
def test_uncompressed_counts_match(rl: tuple[int, int, list[int]]) -> None:
    h, w, runs = rl
    assume(h * w == sum(runs))
    uc = {"size": [h, w], "counts": runs}
    ref = pm.frPyObjects(uc, h, w)
    assert sm.frPyObjects(uc, h, w) == ref
    assert sm.frUncompressedRLE([uc], h, w) == _pm.frUncompressedRLE([uc], h, w)
    # everything pycocotools computes on such (possibly non-canonical) RLEs agrees
    assert_same_array(sm.decode(ref), pm.decode(ref))
    assert_same_array(sm.area(ref), pm.area(ref))
    assert sm.merge([ref, ref]) == pm.merge([ref, ref])
    assert sm.merge([ref, ref], 1) == pm.merge([ref, ref], 1)
    if any(runs[1::2][: len(runs) // 2 * 2 // 2]) or len(runs) < 2:
        # pycocotools gives wrapped-around garbage boxes when every foreground run in the
        # first m//2*2 runs is empty; compare only the meaningful cases.
        assert_same_array(sm.toBbox(ref), pm.toBbox(ref))


# ---------------------------------------------------------------- polygons and boxes

coord = st.one_of(
    st.integers(-15, 60).map(float),
    st.integers(-150, 600).map(lambda v: v / 10),
    st.integers(-30, 120).map(lambda v: v / 2),  # exact .5 values
    st.floats(-20, 70, allow_nan=False, allow_infinity=False),
)


@st.composite
def polygons(draw: st.DrawFn) -> list[float]:
    k = draw(st.integers(3, 12))
    pts: list[float] = []
    for _ in range(k):
        pts += [draw(coord), draw(coord)]
    if draw(st.booleans()) and k > 3:
        # repeated vertices (a zero-length edge) exercise cocoapi's 0/0 slope
        i = draw(st.integers(0, k - 2))
        pts[2 * i + 2 : 2 * i + 4] = pts[2 * i : 2 * i + 2]
    return pts


sizes = st.tuples(st.integers(0, 50), st.integers(0, 50))


@given(st.lists(polygons(), min_size=1, max_size=4), sizes)
def test_polygons_match(polys: list[list[float]], hw: tuple[int, int]) -> None:
    h, w = hw
    assume(w > 0 or h == 0)  # pycocotools returns an invalid RLE for w == 0 < h
    ref = pm.frPyObjects(polys, h, w)
    assert sm.frPyObjects(polys, h, w) == ref
    assert sm.frPoly(polys, h, w) == ref
    assert sm.merge(ref) == pm.merge(ref)


@given(
    st.lists(st.tuples(coord, coord, coord, coord), min_size=1, max_size=5),
    sizes,
)
def test_boxes_match(boxes: list[tuple[float, ...]], hw: tuple[int, int]) -> None:
    h, w = hw
    assume(w > 0 or h == 0)
    arr = np.array(boxes, dtype=np.float64)
    ref = pm.frPyObjects(arr, h, w)
    assert sm.frPyObjects(arr, h, w) == ref
    assert sm.frBbox(arr, h, w) == ref
    # superset: lists of boxes and single boxes work too
    assert sm.frPyObjects([list(b) for b in boxes], h, w) == ref
    assert sm.frPyObjects(list(boxes[0]), h, w) == ref[0]


@pytest.mark.parametrize(
    ("box", "h", "w"),
    [([0.5, 0.5, 2, 2], 10, 10), ([1.2, 1.7, 3.3, 2.1], 10, 10), ([-3, -3, 100, 100], 7, 9)],
)
def test_fractional_boxes_follow_polygon_rounding(box: list[float], h: int, w: int) -> None:
    arr = np.array([box], dtype=np.float64)
    assert sm.frBbox(arr, h, w) == _pm.frBbox(arr, h, w)


def test_far_away_vertices_are_fast_and_exact() -> None:
    # Vertices far outside the image: cocoapi walks ~10^7 points; we skip to the image.
    poly = [[-1e6, -1e6, 2e6, 5.5, 3.0, 1e6, 7.25, 2.5]]
    ref = pm.frPyObjects(poly, 20, 30)
    assert sm.frPyObjects(poly, 20, 30) == ref
