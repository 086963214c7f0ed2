"""Inputs where pycocotools crashes, hangs or returns garbage: a clear error instead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sa1b_rle
from sa1b_rle import RleError
from sa1b_rle import mask as sm


def rle(counts: Any, h: int = 3, w: int = 3) -> dict[str, Any]:
    return {"size": [h, w], "counts": counts}


@pytest.mark.parametrize(
    ("counts", "pattern"),
    [
        (b"3 6", r"annotation 0: invalid byte 0x20 at offset 1"),
        (b"3p6", r"invalid byte 'p' \(0x70\) at offset 1"),
        ("3\u00e96", r"invalid byte 0xc3 at offset 1"),
        (b"36P", r"truncated counts: the value starting at offset 2"),
        (b"PPPPPPP0", r"offset 0 uses more than 7 characters"),
        (b"PPPPPP7", r"run 0 \(counts offset 0\) has length 7516192768, which does not fit"),
        (b"O9", r"run 0 \(counts offset 0\) has negative length -1"),
        (b"123M", r"run 3 \(counts offset 3\) has negative length -1"),
        (b"02", r"run lengths sum to 2, short of height\*width = 9"),
        (b"0:", r"run lengths sum to 10, past height\*width = 9"),
        (b"", r"empty counts for a mask of 9 pixels"),
    ],
)
def test_bad_counts_strings(counts: Any, pattern: str) -> None:
    for fn in (sm.decode, sm.area, sm.toBbox):
        with pytest.raises(RleError, match=pattern):
            fn(rle(counts))
        with pytest.raises(ValueError, match=pattern):
            fn([rle(counts)])
    with pytest.raises(RleError, match=pattern):
        sm.merge([rle(counts), rle(counts)])
    with pytest.raises(RleError, match=pattern):
        sm.iou([rle(counts)], [rle(b"9")], [0])


def test_error_names_the_annotation_index() -> None:
    good = rle(b"9")
    with pytest.raises(RleError, match=r"^annotation 2: "):
        sm.decode([good, good, rle(b"3!6")])
    with pytest.raises(RleError, match=r"^gt annotation 1: "):
        sm.iou([good], [good, rle(b"3!6")], [0, 0])
    with pytest.raises(RleError, match=r"^dt annotation 0: "):
        sm.iou([rle(b"3!6")], [good], [0])


def test_huge_declared_size_fails_before_allocating() -> None:
    for size in ([100_000, 100_000], [2**32, 1], [1, 2**40]):
        with pytest.raises(RleError, match="more than 2\\*\\*32-1 pixels"):
            sm.decode({"size": size, "counts": b"0"})
        with pytest.raises(RleError, match="more than 2\\*\\*32-1 pixels"):
            sm.frPyObjects({"size": size, "counts": [0, 1]}, 1, 1)
        with pytest.raises(RleError, match="more than 2\\*\\*32-1 pixels"):
            sm.frPyObjects([[0, 0, 1, 0, 1, 1]], *size)


def test_bad_uncompressed_counts() -> None:
    with pytest.raises(RleError, match=r"run 1 .* negative length -2"):
        sm.frPyObjects({"size": [2, 2], "counts": [1, -2, 5]}, 2, 2)
    with pytest.raises(RleError, match=r"run 0 .* does not fit in 32 bits"):
        sm.frPyObjects({"size": [2, 2], "counts": [2**32, 4]}, 2, 2)
    with pytest.raises(RleError, match="sum to 3, short"):
        sm.frPyObjects({"size": [2, 2], "counts": [1, 2]}, 2, 2)
    with pytest.raises(RleError, match="not an integer"):
        sm.frPyObjects({"size": [2, 2], "counts": [1.5, 2.5]}, 2, 2)
    with pytest.raises(TypeError, match="must be an integer"):
        sm.frPyObjects({"size": [2, 2], "counts": ["1", "3"]}, 2, 2)


def test_mixed_sizes() -> None:
    a, b = rle(b"9"), rle(b"<", 3, 4)
    with pytest.raises(RleError, match=r"annotation 1: size \[3, 4\] differs from \[3, 3\]"):
        sm.decode([a, b])
    with pytest.raises(RleError, match="differs"):
        sm.merge([a, b])
    with pytest.raises(RleError, match="differs"):
        sm.iou([a], [b], [0])


def test_iscrowd_length() -> None:
    a = rle(b"9")
    with pytest.raises(ValueError, match="iscrowd has 2 entries but there are 1 ground truths"):
        sm.iou([a], [a], [0, 1])
    with pytest.raises(ValueError, match="iscrowd has 0 entries"):
        sm.iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], [])


@pytest.mark.parametrize(
    ("poly", "pattern"),
    [
        # Odd counts and 1-2 point parts are answered as pycocotools does
        # (tests/test_dropin_gaps.py); a polygon of no points is where it reads out of
        # bounds.
        ([[0, 0, 5, 0]], None),  # 4 values: a box in pycocotools' dispatch
        ([[0, 0, 5, 0, 5, 5], []], r"annotation 1: polygon has 0 point\(s\)"),
        ([[0, 0, 5, 0, 5, 5], [1]], r"annotation 1: polygon has 0 point\(s\)"),
        ([[0, 0, 5, float("nan"), 5, 5]], r"coordinate 3 is not finite \(NaN\)"),
        ([[0, 0, 5, float("inf"), 5, 5]], r"coordinate 3 is not finite \(inf\)"),
        ([[0, 0, 5, -1e300, 5, 5]], r"coordinate 3 \(-1e300\) is out of range"),
        ([[0, 0, 5, 0, 5, 3e8]], r"coordinate 5 .* is out of range"),
    ],
)
def test_bad_polygons(poly: list[list[float]], pattern: str | None) -> None:
    if pattern is None:
        assert sm.frPyObjects(poly, 10, 10)[0]["size"] == [10, 10]
        return
    with pytest.raises(RleError, match=pattern):
        sm.frPyObjects(poly, 10, 10)
    with pytest.raises(RleError, match=pattern):
        sm.frPoly(poly, 10, 10)


def test_bad_boxes() -> None:
    with pytest.raises(RleError, match="coordinate 2 is not finite"):
        sm.frBbox(np.array([[0, 0, np.nan, 1.0]]), 5, 5)
    with pytest.raises(RleError, match="shape"):
        sm.frBbox(np.zeros((2, 3)), 5, 5)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="h must not be negative"):
        sm.frPyObjects([[0, 0, 1, 0, 1, 1]], -1, 5)
    with pytest.raises(TypeError, match="w must be an integer"):
        sm.frPyObjects([[0, 0, 1, 0, 1, 1]], 5, "5")
    with pytest.raises(RleError, match="height is negative"):
        sm.decode({"size": [-1, 3], "counts": b"0"})
    with pytest.raises(RleError, match="'size' must have 2 entries"):
        sm.decode({"size": [3], "counts": b"3"})
    with pytest.raises(TypeError, match="height must be an integer"):
        sm.decode({"size": ["3", 1], "counts": b"3"})
    # Float sizes are truncated like int(), as pycocotools does.
    assert sm.decode({"size": [3.5, 1], "counts": b"3"}).shape == (3, 1)


@pytest.mark.parametrize("shape", [(5,), (2, 2, 2, 2), ()])
def test_encode_rejects_wrong_ndim(shape: tuple[int, ...]) -> None:
    with pytest.raises(RleError, match=r"2-D .* or 3-D"):
        sm.encode(np.zeros(shape, np.uint8))


def test_type_errors() -> None:
    with pytest.raises(TypeError, match="'counts' must be str, bytes or a list"):
        sm.decode({"size": [1, 1], "counts": 1})
    with pytest.raises(RleError, match="missing 'counts'"):
        sm.decode([{"size": [1, 1]}])
    with pytest.raises(TypeError, match="both be RLEs or both be boxes"):
        sm.iou([rle(b"9")], [[0, 0, 1, 1]], [0])
    with pytest.raises(TypeError):
        sm.iou("abc", [rle(b"9")], [0])
    with pytest.raises(TypeError, match="not supported"):
        sm.frPyObjects("abc", 1, 1)
    with pytest.raises(TypeError, match="a list of RLE dicts"):
        sm.merge(rle(b"9"))
    with pytest.raises(TypeError, match="dtype"):
        sm.encode(np.array([["a"]]))


def test_empty_decode_is_an_error_not_garbage() -> None:
    with pytest.raises(RleError, match="empty list"):
        sm.decode([])


@given(st.binary(max_size=40), st.integers(0, 20), st.integers(0, 20))
def test_arbitrary_bytes_never_crash(counts: bytes, h: int, w: int) -> None:
    """Any byte string either decodes to a valid mask or raises RleError."""
    r = rle(counts, h, w)
    try:
        m = sm.decode(r)
    except RleError:
        return
    assert m.shape == (h, w) and set(np.unique(m)) <= {0, 1}
    assert int(sm.area(r)) == int(m.sum())


def test_exception_is_exported() -> None:
    assert issubclass(sa1b_rle.RleError, ValueError)


def test_impossible_decode_is_a_memory_error_not_an_abort() -> None:
    # A valid 60000x60000 RLE (one 7-character run) a thousand times: 3.6 TB.
    r = sm.frPyObjects({"size": [60000, 60000], "counts": [3_600_000_000]}, 1, 1)
    assert r["counts"] == b"PPYWY[3"
    with pytest.raises(MemoryError, match="cannot allocate"):
        sm.decode([r] * 1000)
