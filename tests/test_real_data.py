"""Real third-party data (tests/data, see LICENSES.md) against pycocotools."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest

from sa1b_rle import mask as sm

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def results() -> list[dict[str, Any]]:
    with open(DATA / "coco_instances_val2014_fakesegm100_results.json") as f:
        return json.load(f)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def instances() -> dict[str, Any]:
    with open(DATA / "coco_instances_val2014_100.json") as f:
        return json.load(f)  # type: ignore[no-any-return]


def ann_to_rle(mod: Any, ann: dict[str, Any], h: int, w: int) -> dict[str, Any]:
    """COCO.annToRLE with the given mask module."""
    seg = ann["segmentation"]
    if isinstance(seg, list):
        return mod.merge(mod.frPyObjects(seg, h, w))  # type: ignore[no-any-return]
    if isinstance(seg["counts"], list):
        return mod.frPyObjects(seg, h, w)  # type: ignore[no-any-return]
    return seg


def test_all_734_results_round_trip_byte_identical(results: list[dict[str, Any]]) -> None:
    assert len(results) == 734
    for r in results:
        seg = r["segmentation"]
        m = sm.decode(seg)
        np.testing.assert_array_equal(m, pm.decode(seg))
        assert sm.encode(m)["counts"] == seg["counts"].encode()
        assert sm.encode(np.ascontiguousarray(m))["counts"] == seg["counts"].encode()


def test_results_area_bbox_match(results: list[dict[str, Any]]) -> None:
    segs = [r["segmentation"] for r in results]
    # pycocotools 2.0.11's area() raises OverflowError for more than 255 RLEs under
    # numpy 2 (np.array((n,), dtype=np.uint8)); compare in chunks, and check ours whole.
    whole = sm.area(segs)
    assert whole.dtype == np.uint32 and whole.shape == (734,)
    for i in range(0, len(segs), 200):
        np.testing.assert_array_equal(sm.area(segs[i : i + 200]), pm.area(segs[i : i + 200]))
        np.testing.assert_array_equal(whole[i : i + 200], pm.area(segs[i : i + 200]))
    np.testing.assert_array_equal(sm.toBbox(segs), pm.toBbox(segs))


def test_all_839_annotations_rasterise_identically(instances: dict[str, Any]) -> None:
    images = {im["id"]: im for im in instances["images"]}
    anns = instances["annotations"]
    assert len(anns) == 839
    n_poly = n_crowd = 0
    for ann in anns:
        im = images[ann["image_id"]]
        h, w = im["height"], im["width"]
        ours = ann_to_rle(sm, ann, h, w)
        ref = ann_to_rle(pm, ann, h, w)
        assert ours == ref, ann["id"]
        if isinstance(ann["segmentation"], list):
            n_poly += 1
            assert sm.frPyObjects(ann["segmentation"], h, w) == pm.frPyObjects(
                ann["segmentation"], h, w
            )
        else:
            n_crowd += 1
        assert sm.area(ours) == pm.area(ref)
        np.testing.assert_array_equal(sm.toBbox(ours), pm.toBbox(ref))
    assert (n_poly, n_crowd) == (830, 9)


def test_iou_matrices_per_image_match(
    instances: dict[str, Any], results: list[dict[str, Any]]
) -> None:
    images = {im["id"]: im for im in instances["images"]}
    gts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ann in instances["annotations"]:
        gts[ann["image_id"]].append(ann)
    dts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        dts[r["image_id"]].append(r["segmentation"])
    compared = 0
    for image_id, anns in gts.items():
        im = images[image_id]
        g = [ann_to_rle(pm, a, im["height"], im["width"]) for a in anns]
        crowd = [a["iscrowd"] for a in anns]
        for dt in (dts.get(image_id, []), g):
            ours, ref = sm.iou(dt, g, crowd), pm.iou(dt, g, crowd)
            if isinstance(ref, list):
                assert ours == ref
                continue
            assert ours.dtype == ref.dtype and ours.shape == ref.shape
            np.testing.assert_array_equal(ours, ref)
            compared += ref.size
            # box iou with the same crowd rule
            bd, bg = pm.toBbox(dt), pm.toBbox(g)
            np.testing.assert_array_equal(sm.iou(bd, bg, crowd), pm.iou(bd, bg, crowd))
    assert compared > 5000
