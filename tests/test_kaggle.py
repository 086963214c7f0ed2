"""The Kaggle dialect and the COCO compressed/uncompressed forms, against pycocotools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sa1b_rle import coco, kaggle

DATA = Path(__file__).parent / "data"

masks = hnp.arrays(
    np.uint8,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=30),
    elements=st.integers(0, 1),
)


def coco_of(m: np.ndarray) -> dict[str, Any]:
    r = pm.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": r["size"], "counts": r["counts"].decode()}


@settings(max_examples=200, deadline=None)
@given(masks, st.sampled_from(["C", "F"]), st.booleans())
def test_round_trips_are_exact(m: np.ndarray, order: str, one: bool) -> None:
    text = kaggle.encode(m, order=order, one_indexed=one)
    assert np.array_equal(kaggle.decode(text, m.shape, order=order, one_indexed=one), m)
    assert kaggle.to_coco(text, m.shape, order=order, one_indexed=one) == coco_of(m)
    assert kaggle.from_coco(coco_of(m), order=order, one_indexed=one) == text
    # Any memory order of the input mask gives the same string.
    assert kaggle.encode(np.asfortranarray(m), order=order, one_indexed=one) == text


def test_the_transposition_pitfall_is_visible() -> None:
    m = np.zeros((4, 6), np.uint8)
    m[0, 1:5] = 1  # a horizontal bar: not symmetric
    c, f = kaggle.encode(m, order="C"), kaggle.encode(m, order="F")
    assert c == "2 4" and f == "5 1 9 1 13 1 17 1" and c != f
    # Reading a row-major string as column-major gives another mask.
    wrong = kaggle.decode(c, m.shape, order="F")
    assert not np.array_equal(wrong, m) and wrong.sum() == m.sum()
    assert kaggle.encode(m, one_indexed=False) == "1 4"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 x 4", r"token 2 \('x'\) is not a non-negative integer"),
        ("1 2 3", "even count"),
        ("1 2 -3 4", "not a non-negative integer"),
        ("0 2", "before the first pixel"),
        ("5 0", "must not be empty"),
        ("20 10", "ends past the last of 24 pixels"),
        ("5 4 7 2", "starts before the end of run 0"),
        ("9 1 3 1", "starts before the end of run 0"),
        ("1.5 2", "not a non-negative integer"),
    ],
)
def test_bad_strings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaggle.decode(text, (4, 6))
    with pytest.raises(ValueError, match=message):
        kaggle.to_coco(text, (4, 6), order="F")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="order"):
        kaggle.encode(np.zeros((2, 2)), order="K")
    with pytest.raises(ValueError, match="2-D"):
        kaggle.encode(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError):
        kaggle.decode(b"1 2", (2, 2))  # type: ignore[arg-type]
    assert kaggle.decode("", (2, 3)).tolist() == [[0, 0, 0], [0, 0, 0]]
    assert kaggle.encode(np.zeros((2, 3))) == ""


def test_compressed_and_uncompressed_coco_forms() -> None:
    # The real crowd annotations of tests/data are uncompressed RLE.
    anns = json.loads((DATA / "coco_instances_val2014_100.json").read_text())["annotations"]
    crowd = [a["segmentation"] for a in anns if a["iscrowd"]]
    assert len(crowd) == 9
    for rle in crowd:
        h, w = rle["size"]
        want = pm.frPyObjects(rle, h, w)
        got = coco.compress(rle)
        assert got == {"size": [h, w], "counts": want["counts"].decode()}
        assert coco.compress(rle, counts="bytes") == want
        assert coco.decompress(got) == {"size": [h, w], "counts": rle["counts"]}
        assert coco.decompress(rle) == {"size": [h, w], "counts": rle["counts"]}
    with pytest.raises(ValueError):
        coco.compress({"size": [2, 2], "counts": [1, 1]})  # sums to 2, not 4
    with pytest.raises(ValueError):
        coco.decompress({"size": [2, 2], "counts": "x"})
    with pytest.raises(ValueError, match="size"):
        coco.decompress({"counts": "x"})
