"""The batch API (RleBatch and the module functions) against pycocotools, and its contract.

pycocotools is the reference for every value (counts bytes, area, bbox, iou, decoded
pixels); the batch API must match it for every constructor, memory order and thread count.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sa1b_rle
from sa1b_rle import RleBatch, RleError
from sa1b_rle import mask as mask_utils


@st.composite
def stacks(draw: st.DrawFn, max_side: int = 33, max_n: int = 6) -> np.ndarray:
    """(n, h, w) bool masks with varied fill patterns."""
    n = draw(st.integers(0, max_n))
    h = draw(st.integers(0, max_side))
    w = draw(st.integers(0, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "sparse", "blobs", "empty", "full"]))
    shape = (n, h, w)
    if kind == "noise":
        return rng.random(shape) < 0.5
    if kind == "sparse":
        return rng.random(shape) < 0.03
    if kind == "empty":
        return np.zeros(shape, bool)
    if kind == "full":
        return np.ones(shape, bool)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros(shape, bool)
    for i in range(n):
        for _ in range(3):
            cy, cx, r = rng.random(3) * [h, w, max(h, w) / 2 + 1]
            out[i] |= (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    return out


def reference(m: np.ndarray) -> list[dict[str, Any]]:
    """pycocotools' RLEs of (n, h, w) masks."""
    return pm.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))


def layouts(m: np.ndarray) -> list[np.ndarray]:
    """The same masks in every memory layout a user may hold them in."""
    n, h, w = m.shape
    as_u8 = m.astype(np.uint8)
    per_mask_fortran = np.asfortranarray(m.transpose(1, 2, 0)).transpose(2, 0, 1)
    column_major_masks = np.ascontiguousarray(m.transpose(0, 2, 1)).transpose(0, 2, 1)
    wide = np.zeros((n, h, 2 * w + 1), np.uint8)
    wide[:, :, 1::2] = m
    strided = wide[:, :, 1::2]
    return [m, as_u8, per_mask_fortran, column_major_masks, strided, as_u8 * 7]


@given(stacks())
def test_from_masks_equals_pycocotools_in_every_layout(m: np.ndarray) -> None:
    want = reference(m)
    for x in layouts(m):
        for threads in (1, 2):
            b = RleBatch.from_masks(x, threads=threads)
            assert b.shape == m.shape
            assert b.to_coco(counts="bytes") == want
            assert sa1b_rle.encode(x, threads=threads) == b


@given(stacks())
def test_decode_area_bbox_equal_pycocotools(m: np.ndarray) -> None:
    rles = reference(m)
    n, h, w = m.shape
    # (No dicts carry no size: an empty list gives a 0x0 batch.)
    b = RleBatch.from_coco(rles) if n else RleBatch.from_masks(m)
    d = b.decode()
    assert d.dtype == np.uint8 and d.shape == (n, h, w) and d.flags["C_CONTIGUOUS"]
    if n:
        np.testing.assert_array_equal(d, pm.decode(rles).transpose(2, 0, 1))
        np.testing.assert_array_equal(b.area(), pm.area(rles).astype(np.int64))
        np.testing.assert_array_equal(b.bbox(), pm.toBbox(rles))
    assert b.area().dtype == np.int64 and b.area().shape == (n,)
    assert b.bbox().dtype == np.float64 and b.bbox().shape == (n, 4)
    # From the module functions, from dicts and from the batch alike.
    np.testing.assert_array_equal(sa1b_rle.decode(b, threads=2), d)
    if n:
        np.testing.assert_array_equal(sa1b_rle.decode(rles), d)
        np.testing.assert_array_equal(sa1b_rle.area(rles), b.area())
        np.testing.assert_array_equal(sa1b_rle.bbox(rles), b.bbox())


@given(stacks(max_n=5), st.data())
def test_decode_into_out_and_indices(m: np.ndarray, data: st.DataObject) -> None:
    b = RleBatch.from_masks(m)
    n = len(b)
    idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=7)) if n else []
    sel = np.asarray(idx, dtype=np.int64)
    want = m.astype(np.uint8)[sel] if len(idx) else np.zeros((0, *m.shape[1:]), np.uint8)
    np.testing.assert_array_equal(b.decode(indices=idx), want)
    out = np.full((len(idx), *m.shape[1:]), 9, np.uint8)  # dirty: every byte is rewritten
    got = b.decode(out=out, indices=sel, threads=2)
    assert got is out
    np.testing.assert_array_equal(out, want)


@given(stacks(max_n=7), stacks(max_n=5), st.data())
def test_iou_matrix_equals_pycocotools(m1: np.ndarray, m2: np.ndarray, data: st.DataObject) -> None:
    m2 = np.resize(m2, (m2.shape[0], *m1.shape[1:]))  # same size as m1
    dt, gt = reference(m1), reference(m2)
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gt), max_size=len(gt)))
    bd, bg = RleBatch.from_masks(m1), RleBatch.from_masks(m2)
    for threads in (1, 2):
        got = sa1b_rle.iou_matrix(bd, bg, iscrowd=crowd, threads=threads)
        assert got.shape == (len(dt), len(gt)) and got.dtype == np.float64
        if dt and gt:
            np.testing.assert_array_equal(got, pm.iou(dt, gt, crowd))
            # Same object: the symmetric path (one triangle).
            self_ref = pm.iou(dt, dt, [0] * len(dt))
            np.testing.assert_array_equal(bd.iou(bd, threads=threads), self_ref)
            np.testing.assert_array_equal(sa1b_rle.iou_matrix(dt, gt, iscrowd=crowd), got)
            np.testing.assert_array_equal(sa1b_rle.iou_matrix(dt, dt), self_ref)
            np.testing.assert_array_equal(bd.iou(gt, iscrowd=np.array(crowd)), got)


@given(stacks(max_n=6))
def test_merge_equals_pycocotools(m: np.ndarray) -> None:
    rles = reference(m)
    b = RleBatch.from_masks(m)
    for intersect in (False, True):
        merged = b.merge(intersect=intersect)
        assert len(merged) == 1
        if rles:
            assert merged.to_coco(counts="bytes") == [pm.merge(rles, intersect=intersect)]
    if not rles and m.shape[1] * m.shape[2]:
        # The union of nothing is empty, the intersection of nothing full.
        assert b.merge().area()[0] == 0
        assert b.merge(intersect=True).area()[0] == m.shape[1] * m.shape[2]


coords = st.floats(-20, 80, allow_nan=False)


polygon = st.lists(coords, min_size=6, max_size=16).filter(lambda p: len(p) % 2 == 0)


@given(st.lists(st.lists(polygon, max_size=3), max_size=5), st.integers(1, 60), st.integers(1, 60))
def test_from_polygons_equals_coco_ann_to_rle(
    polys: list[list[list[float]]], h: int, w: int
) -> None:
    b = RleBatch.from_polygons(polys, h, w, threads=2)
    assert b.shape == (len(polys), h, w)
    got = b.to_coco(counts="bytes")
    for mask_polys, rle in zip(polys, got, strict=True):
        if mask_polys:
            assert rle == pm.merge(pm.frPyObjects(mask_polys, h, w))
        else:
            assert rle["counts"] == pm.encode(np.zeros((h, w, 1), np.uint8, order="F"))[0]["counts"]


@given(st.lists(st.lists(st.floats(-10, 70, allow_nan=False), min_size=4, max_size=4), max_size=6))
def test_from_boxes_equals_pycocotools(boxes: list[list[float]]) -> None:
    b = RleBatch.from_boxes(boxes, 50, 40)
    assert len(b) == len(boxes)
    if boxes:
        assert b.to_coco(counts="bytes") == pm.frPyObjects(np.array(boxes), 50, 40)


def test_from_coco_takes_str_bytes_and_list_counts() -> None:
    m = np.zeros((3, 8, 9), bool)
    m[0, 2:5, 3:7] = True
    m[2, :, 4] = True
    rles = reference(m)
    # Uncompressed counts of mask 2, built from its column-major pixels.
    flat = m[2].T.ravel().astype(int)
    runs, cur, k = [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(k)
            cur, k = v, 0
        k += 1
    runs.append(k)
    mixed = [
        {"size": rles[0]["size"], "counts": rles[0]["counts"].decode()},
        rles[1],
        {"size": [8, 9], "counts": runs},
    ]
    b = RleBatch.from_coco(mixed)
    assert b.to_coco(counts="bytes") == rles
    assert RleBatch.from_strings([r["counts"] for r in rles], 8, 9) == b
    assert RleBatch.from_strings([r["counts"].decode() for r in rles], 8, 9) == b
    assert b.to_coco() == [{"size": [8, 9], "counts": r["counts"].decode()} for r in rles]


def test_indexing() -> None:
    m = np.zeros((5, 4, 3), bool)
    for i in range(5):
        m[i].flat[i] = True
    b = RleBatch.from_masks(m)
    assert len(b[2]) == 1 and b[2].area()[0] == 1
    assert b[-1] == b[4]
    assert b[1:4] == RleBatch.from_masks(m[1:4])
    assert b[::-2] == RleBatch.from_masks(m[::-2])
    assert b[[0, 0, 3]] == RleBatch.from_masks(m[[0, 0, 3]])
    assert b[np.array([4, -5])] == RleBatch.from_masks(m[[4, 0]])
    mask = np.array([True, False, True, False, True])
    assert b[mask] == RleBatch.from_masks(m[mask])
    assert b[list(mask)] == b[mask]
    assert len(b[[]]) == 0
    # numpy integer scalars (and 0-d integer arrays) index as Python ints do.
    for i in (np.int64(2), np.int32(-1), np.uint8(3), np.array(1)):
        assert b[i] == b[int(i)]
    for bad in (5, -6, [0, 7], np.int64(5)):
        with pytest.raises(IndexError, match="out of range"):
            b[bad]
    with pytest.raises(IndexError, match="boolean index"):
        b[np.array([True, False])]
    with pytest.raises(TypeError):
        b[[0.5]]


def test_pickle_round_trip_and_corrupt_state() -> None:
    m = np.random.default_rng(1).random((4, 30, 20)) < 0.3
    b = RleBatch.from_masks(m)
    c = pickle.loads(pickle.dumps(b))
    assert c == b and c.shape == b.shape
    np.testing.assert_array_equal(c.decode(), m)

    # The state is the counts as "offsets + data" (little-endian int64 offsets).
    def offsets(*o: int) -> bytes:
        return np.array(o, "<i8").tobytes()

    with pytest.raises(RleError, match="not whole little-endian int64"):
        RleBatch._from_pickle(30, 20, b"\x05\x00\x00\x00", b"12")
    with pytest.raises(RleError, match=r"counts 0: offsets 0\.\.5 are not inside the 2 bytes"):
        RleBatch._from_pickle(30, 20, offsets(0, 5), b"12")
    with pytest.raises(RleError, match=r"counts 1: offsets 1\.\.0"):
        RleBatch._from_pickle(30, 20, offsets(0, 1, 0), b"12")
    with pytest.raises(RleError, match="annotation 0"):
        RleBatch._from_pickle(30, 20, offsets(0, 1), b"1")


def test_errors_name_what_and_where() -> None:
    good = reference(np.zeros((2, 4, 4), bool))
    with pytest.raises(RleError, match=r"annotation 1.*size"):
        RleBatch.from_coco([good[0], {"size": [4, 5], "counts": b"<"}])
    with pytest.raises(RleError, match="annotation 2: invalid byte"):
        RleBatch.from_coco([good[0], good[1], {"size": [4, 4], "counts": b"4 "}])
    with pytest.raises(RleError, match="annotation 0: run lengths sum"):
        RleBatch.from_strings([b"3"], 4, 4)
    with pytest.raises(RleError, match="2\\*\\*32"):
        RleBatch.from_strings([b"0"], 2**20, 2**20)
    with pytest.raises(TypeError, match="list of counts strings"):
        RleBatch.from_strings(b"12", 1, 3)
    with pytest.raises(TypeError, match="numeric or bool"):
        RleBatch.from_masks(np.zeros((2, 3, 3), "U1"))
    with pytest.raises(
        ValueError, match=r"^masks must have shape \(N, H, W\) or \(H, W\), not \(2, 3, 3, 1\)$"
    ):
        RleBatch.from_masks(np.zeros((2, 3, 3, 1), np.uint8))
    with pytest.raises(RleError, match="annotation 1: polygon has 2 point"):
        RleBatch.from_polygons([[[0, 0, 1, 1, 2, 0]], [[0, 0, 1, 1]]], 5, 5)
    with pytest.raises(TypeError, match="one entry per mask"):
        RleBatch.from_polygons([[0.0, 0.0, 1.0, 1.0, 2.0, 0.0]], 5, 5)
    with pytest.raises(RleError, match="annotation 0: coordinate 1 is not finite"):
        RleBatch.from_boxes([[0, np.nan, 1, 1]], 5, 5)
    with pytest.raises(ValueError, match="shape"):
        RleBatch.from_boxes([[0, 1, 2]], 5, 5)
    b = RleBatch.from_coco(good)
    with pytest.raises(RleError, match="iscrowd has 3 entries"):
        b.iou(b, iscrowd=[0, 0, 1])
    with pytest.raises(RleError, match="size"):
        b.iou(RleBatch.from_strings([b"5"], 1, 5))
    with pytest.raises(ValueError, match=r"threads must be in 1\.\.=256, not 0"):
        b.decode(threads=0)
    with pytest.raises(ValueError, match=r"^counts must be \"str\" or \"bytes\", not 'list'$"):
        b.to_coco(counts="list")
    with pytest.raises(TypeError, match="single dict"):
        sa1b_rle.decode(good[0])  # type: ignore[arg-type]


def test_decode_out_is_validated() -> None:
    b = RleBatch.from_masks(np.ones((2, 3, 4), bool))
    with pytest.raises(ValueError, match=r"^out must have shape \(2, 3, 4\), not \(2, 4, 3\)$"):
        b.decode(out=np.zeros((2, 4, 3), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        b.decode(out=np.zeros((2, 3, 4), np.int16))
    with pytest.raises(ValueError, match="C-contiguous"):
        b.decode(out=np.zeros((2, 4, 3), np.uint8).transpose(0, 2, 1))
    ro = np.zeros((2, 3, 4), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        b.decode(out=ro)
    with pytest.raises(ValueError, match=r"must have shape \(1, 3, 4\), not \(2, 3, 4\)"):
        b.decode(out=np.zeros((2, 3, 4), np.uint8), indices=[1])


def test_empty_batches() -> None:
    e = RleBatch.from_coco([])
    assert e.shape == (0, 0, 0) and len(e) == 0
    assert e.decode().shape == (0, 0, 0)
    z = RleBatch.from_masks(np.zeros((0, 5, 6), bool))
    assert z.shape == (0, 5, 6)
    assert z.decode().shape == (0, 5, 6)
    assert z.iou(RleBatch.from_masks(np.ones((3, 5, 6), bool))).shape == (0, 3)
    assert z.area().shape == (0,) and z.bbox().shape == (0, 4)


def test_thread_settings() -> None:
    default = sa1b_rle.get_num_threads()
    assert default >= 1
    try:
        sa1b_rle.set_num_threads(3)
        assert sa1b_rle.get_num_threads() == 3
    finally:
        sa1b_rle.set_num_threads(0)
    assert sa1b_rle.get_num_threads() == default
    with pytest.raises(ValueError, match=r"n must be in 0\.\.=256"):
        sa1b_rle.set_num_threads(-1)


@pytest.mark.parametrize(
    "dtype",
    [
        *("bool", "uint8", "int8", "uint16", "int16", "int32", "uint32", "int64", "uint64"),
        *("float16", "float32", "float64", "complex64"),
    ],
)
def test_from_masks_takes_every_dtype_encode_takes(dtype: str) -> None:
    """Nonzero is foreground (NaN too), as in ``mask.encode``: the same RLEs."""
    rng = np.random.default_rng(7)
    a = (rng.random((3, 5, 7)) < 0.4).astype(dtype)
    if np.dtype(dtype).kind == "f":
        a[0, 1, 1], a[1, 2, 2], a[2, 0, 0] = np.nan, -0.5, 1e-30
    elif np.dtype(dtype).kind in "iu":
        a[0, 1, 1] = np.iinfo(dtype).max  # (not 1: nonzero, not the low byte, counts)
        a[1, 1, 1] = 256 if np.dtype(dtype).itemsize > 1 else 1
    got = RleBatch.from_masks(a).to_coco(counts="bytes")
    want = mask_utils.encode(np.asfortranarray(a.transpose(1, 2, 0)))
    assert got == want
    assert got == RleBatch.from_masks(a != 0).to_coco(counts="bytes")


@pytest.mark.parametrize(
    "boxes",
    [np.zeros((2, 3)), np.zeros((2, 2, 4)), [1.0, 2.0, 3.0], np.zeros(8), [[1, 2, 3, 4, 5]]],
)
def test_every_box_argument_follows_one_shape_rule(boxes: Any) -> None:
    """``(n, 4)``, or one box (or none) as a flat list of 4 (0) numbers: the same rule and
    message for from_boxes, box_nms, mask.frBbox and mask.iou."""
    from sa1b_rle import box_nms

    shape = np.asarray(boxes).shape
    want = f"boxes must have shape (n, 4), not {shape}"
    calls = [
        lambda: RleBatch.from_boxes(boxes, 5, 5),
        lambda: box_nms(boxes, [1.0] * len(boxes), 0.5),
        lambda: mask_utils.frBbox(boxes, 5, 5),
    ]
    for call in calls:
        with pytest.raises(RleError) as info:
            call()
        assert str(info.value) == want
    good = [[0, 0, 2, 2]]
    one = RleBatch.from_boxes([0, 0, 2, 2], 5, 5)
    assert one == RleBatch.from_boxes(good, 5, 5) and len(RleBatch.from_boxes([], 5, 5)) == 0
    assert mask_utils.frBbox([0, 0, 2, 2], 5, 5) == mask_utils.frBbox(good, 5, 5)
