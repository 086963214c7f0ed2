"""COCOeval and the COCO loader against pycocotools, on the COCO sample and generated
datasets: every parameter users change, crowd regions, ties, empty images."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from _coco import DATA, GT, RESULTS, assert_same, generated, people, run
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import COCOeval

TWEAKS = {
    "default": lambda p: None,
    "useCats=0": lambda p: setattr(p, "useCats", 0),
    "maxDets": lambda p: setattr(p, "maxDets", [2, 5, 20]),
    "iouThrs": lambda p: setattr(p, "iouThrs", np.array([0.3, 0.5, 0.9])),
    "areaRng": lambda p: setattr(
        p, "areaRng", [[0, 1e10], [0, 50**2], [50**2, 150**2], [150**2, 1e10]]
    ),
    "imgIds": lambda p: setattr(p, "imgIds", p.imgIds[::3]),
    "catIds": lambda p: setattr(p, "catIds", p.catIds[:5]),
    "recThrs": lambda p: setattr(p, "recThrs", np.linspace(0, 1, 11)),
    # Edge cases found by fuzzing, answered as pycocotools answers them.
    "recThrs=[]": lambda p: setattr(p, "recThrs", np.array([])),
    "iouThrs with NaN": lambda p: setattr(p, "iouThrs", np.array([0.5, np.nan])),
    "recThrs with NaN": lambda p: setattr(p, "recThrs", np.array([0.0, np.nan, 0.5])),
    "imgIds=[]": lambda p: setattr(p, "imgIds", []),
    "catIds=[]": lambda p: setattr(p, "catIds", []),
    "maxDets=[-1, 10, 100]": lambda p: setattr(p, "maxDets", [-1, 10, 100]),
    "maxDets=[1, 10, -2]": lambda p: setattr(p, "maxDets", [1, 10, -2]),
}


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
@pytest.mark.parametrize("tweak", list(TWEAKS))
def test_the_coco_sample(iou_type: str, tweak: str) -> None:
    assert_same(GT, RESULTS, iou_type, TWEAKS[tweak])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_generated_datasets(seed: int, iou_type: str) -> None:
    gt, res = generated(seed)
    if not res:
        pytest.skip("no detections drawn")
    assert_same(gt, res, iou_type)
    assert_same(gt, res, iou_type, TWEAKS["useCats=0"])


def test_loader_answers_as_pycocotools() -> None:
    ours, theirs = COCO(str(DATA / "coco_instances_val2014_100.json")), PyCOCO()
    theirs.dataset = copy.deepcopy(GT)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs.createIndex()
    img_ids = sorted(theirs.getImgIds())
    cat_ids = theirs.getCatIds()
    assert sorted(ours.getImgIds()) == img_ids and ours.getCatIds() == cat_ids
    for kw in (
        {"imgIds": img_ids[:7]},
        {"catIds": cat_ids[:3]},
        {"imgIds": img_ids[3], "catIds": cat_ids[0]},
        {"areaRng": [100, 5000]},
        {"iscrowd": True},
        {"imgIds": img_ids[:20], "iscrowd": False},
    ):
        assert ours.getAnnIds(**kw) == theirs.getAnnIds(**kw), kw
    two = cat_ids[:2]
    assert sorted(ours.getImgIds(catIds=two)) == sorted(theirs.getImgIds(catIds=two))
    assert ours.getCatIds(catNms=["person", "dog"]) == theirs.getCatIds(catNms=["person", "dog"])
    assert ours.getCatIds(supNms="animal") == theirs.getCatIds(supNms="animal")
    ann = theirs.loadAnns(theirs.getAnnIds(iscrowd=True)[0])[0]
    assert ours.annToRLE(ann) == theirs.annToRLE(ann)
    assert np.array_equal(ours.annToMask(ann), theirs.annToMask(ann))
    poly = theirs.loadAnns(theirs.getAnnIds(iscrowd=False)[0])[0]
    assert ours.annToRLE(poly) == theirs.annToRLE(poly)
    assert ours.loadImgs(img_ids[0]) == theirs.loadImgs(img_ids[0])
    # loadRes from a file, a list, and an (N, 7) array of boxes.
    res = ours.loadRes(str(DATA / "coco_instances_val2014_fakesegm100_results.json"))
    assert len(res.getAnnIds()) == len(RESULTS) and res.anns[1]["iscrowd"] == 0
    rows = np.array([[img_ids[0], 1.0, 2.0, 3.0, 4.0, 0.9, cat_ids[0]]])
    boxes = ours.loadRes(rows)
    assert boxes.anns[1]["area"] == 12.0 and boxes.anns[1]["segmentation"][0][:2] == [1.0, 2.0]
    with pytest.raises(ValueError, match="is not one of its images"):
        ours.loadRes([{"image_id": -5, "bbox": [0, 0, 1, 1], "score": 1, "category_id": 1}])
    with pytest.raises(ValueError, match="iouType"):
        COCOeval(ours, res, "masks")


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_the_eval_command(iou_type: str, tmp_path: Path) -> None:
    from sa1b_rle.cli import main

    want, printed = run(PyCOCOeval, PyCOCO, GT, RESULTS, iou_type, lambda p: None)
    out = io.StringIO()
    gt_path = str(DATA / "coco_instances_val2014_100.json")
    res_path = str(DATA / "coco_instances_val2014_fakesegm100_results.json")
    js = tmp_path / "stats.json"
    assert main(["eval", gt_path, res_path, "--iou-type", iou_type, "--json", str(js)], out) == 0
    lines = [x for x in printed.splitlines() if x.startswith(" Average")]
    assert out.getvalue().splitlines()[:12] == lines
    doc = json.loads(js.read_text())
    assert list(doc["stats"].values()) == want.stats.tolist() and doc["iou_type"] == iou_type
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": -1, "bbox": [0, 0, 1, 1], "score": 1, "category_id": 1}]')
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["eval", gt_path, str(bad)], io.StringIO()) == 1
    assert "image_id -1 is not one of its images" in err.getvalue()


def test_polygon_ground_truths_with_odd_parts() -> None:
    # Polygons as real datasets hold them: odd coordinate counts, 1-2 point parts.
    gt, res = generated(3)
    shapes = [
        [[2.0, 2.0, 15.0, 3.0, 14.0, 16.0, 3.0]],
        [[5.0, 5.0, 18.0, 6.0, 12.0, 19.0], [1.0, 1.0], [7.0, 7.0, 9.0, 9.0]],
        [[1.0, 1.0, 12.0, 1.0, 12.0, 9.0], [3.0, 4.0, 10.0, 12.0]],
    ]
    polys = [a for a in gt["annotations"] if not a["iscrowd"]]
    for k, a in enumerate(polys[:9]):
        a["segmentation"] = shapes[k % 3]
    assert_same(gt, res, "segm")
    bad = copy.deepcopy(gt)
    next(a for a in bad["annotations"] if not a["iscrowd"])["segmentation"] = [
        [1.0, float("nan"), 3.0, 4.0, 5.0, 6.0]
    ]
    g = COCO(bad)
    with pytest.raises(ValueError):
        COCOeval(g, g.loadRes(copy.deepcopy(res)), "segm").evaluate()


KEYPOINT_TWEAKS = {
    "default": lambda p: None,
    "sigmas": lambda p: setattr(p, "kpt_oks_sigmas", p.kpt_oks_sigmas[::-1] * 1.7),
    "areaRng": lambda p: setattr(p, "areaRng", [[0, 1e10], [0, 900], [900, 1e10]]),
    "maxDets": lambda p: setattr(p, "maxDets", [3]),
    "iouThrs": lambda p: setattr(p, "iouThrs", np.array([0.1, 0.5, 0.99])),
    "useCats=0": lambda p: setattr(p, "useCats", 0),
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tweak", list(KEYPOINT_TWEAKS))
def test_keypoints_follow_pycocotools(seed: int, tweak: str) -> None:
    # OKS in Rust, to the bit: visible, occluded and unlabelled points, people without
    # labelled points (ignored), crowd regions, integer coordinates, tied scores.
    gt, res = people(seed)
    assert_same(gt, res, "keypoints", KEYPOINT_TWEAKS[tweak])


def test_keypoints_of_another_length_are_an_error_naming_them() -> None:
    gt, res = people(1)
    res[0]["keypoints"] = res[0]["keypoints"][:-3]
    g = COCO(copy.deepcopy(gt))
    e = COCOeval(g, g.loadRes(res), "keypoints")
    with pytest.raises(ValueError, match=r"detection id 1: keypoints has 48 values, expected .*51"):
        e.evaluate()


def test_bad_annotations_are_named_by_id() -> None:
    gt, res = generated(1)
    g = COCO(copy.deepcopy(gt))
    bad = copy.deepcopy(res)
    bad[0]["segmentation"] = {"size": bad[0]["segmentation"]["size"], "counts": "0!"}
    d = g.loadRes(bad)
    bad_id = d.dataset["annotations"][0]["id"]
    with pytest.raises(ValueError, match=f"detection id {bad_id}: invalid byte '!'"):
        COCOeval(g, d, "segm").evaluate()
    # A detection of another size than the image's ground truths.
    other = copy.deepcopy(res)
    i = next(
        n
        for n, r in enumerate(other)
        if any(
            a["image_id"] == r["image_id"] and a["category_id"] == r["category_id"]
            for a in gt["annotations"]
        )
    )
    h, w = other[i]["segmentation"]["size"]
    other[i]["segmentation"] = pm.encode(np.asfortranarray(np.zeros((h + 1, w), np.uint8)))
    d = COCO(copy.deepcopy(gt)).loadRes(other)
    with pytest.raises(ValueError, match=r"detection id \d+: .*size"):
        COCOeval(d.__class__(copy.deepcopy(gt)), d, "segm").evaluate()


def test_evaluation_keeps_what_accumulate_needs() -> None:
    # evaluate() holds per detection its score and one byte per (area range, threshold),
    # not pycocotools' per-entry arrays and IoU matrices (rebuilt when read).
    g = COCO(copy.deepcopy(GT))
    e = COCOeval(g, g.loadRes(copy.deepcopy(RESULTS)), "segm")
    e.evaluate()
    p = e.params
    n_dt = sum(min(len(v), p.maxDets[-1]) for v in e._dts.values())
    # (Empty image-category pairs cost nothing.)
    n_groups = len({k for t in (e._gts, e._dts) for k, v in t.items() if v})
    per_dt = 8 + len(p.areaRng) * len(p.iouThrs)
    per_group = 16 + 4 * len(p.areaRng)
    assert e._rust.nbytes <= n_dt * per_dt + n_groups * per_group + 64
    # Reading evalImgs twice gives equal entries (recomputed or cached).
    first = [x for x in e.evalImgs if x is not None][:50]
    e.evalImgs._groups._cache.clear()
    again = [x for x in e.evalImgs if x is not None][:50]
    for a, b in zip(first, again, strict=True):
        assert a["dtIds"] == b["dtIds"] and np.array_equal(a["dtMatches"], b["dtMatches"])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    iou_type=st.sampled_from(["segm", "bbox"]),
    max_dets=st.lists(st.integers(1, 8), min_size=3, max_size=3),
    thresholds=st.lists(
        st.sampled_from([0.1, 0.3, 0.5, 0.55, 0.75, 0.9, 1.0]), min_size=1, max_size=4, unique=True
    ),
    use_cats=st.booleans(),
)
def test_random_datasets_and_parameters(
    seed: int, iou_type: str, max_dets: list[int], thresholds: list[float], use_cats: bool
) -> None:
    gt, res = generated(seed)
    if not res:
        return

    def tweak(p: Any) -> None:
        p.maxDets = max_dets
        p.iouThrs = np.array(sorted(thresholds))
        p.useCats = int(use_cats)

    assert_same(gt, res, iou_type, tweak)


def test_category_filters_answer_as_pycocotools() -> None:
    # getAnnIds tests categories through a set: the same answers as pycocotools' list
    # scan for numpy ids and floats.
    gt = copy.deepcopy(GT)
    gt["annotations"][1]["category_id"] = float(gt["annotations"][1]["category_id"])
    with contextlib.redirect_stdout(io.StringIO()):
        want = PyCOCO()
    want.dataset = copy.deepcopy(gt)
    with contextlib.redirect_stdout(io.StringIO()):
        want.createIndex()
    got = COCO(copy.deepcopy(gt))
    cats = sorted({c["id"] for c in gt["categories"]})
    for cat_ids in (cats[:7], np.array(cats[3:20]), [np.int64(c) for c in cats[::2]], [1.0]):
        for img_ids in ([], sorted(got.imgs)[:30]):
            assert got.getAnnIds(imgIds=img_ids, catIds=cat_ids) == want.getAnnIds(
                imgIds=img_ids, catIds=cat_ids
            )


def test_engine_refuses_inconsistent_inputs() -> None:
    # The binding's inputs, as a caller other than COCOeval could get them wrong: errors,
    # never a crash of the interpreter.
    from sa1b_rle._core import coco_columns_from_dicts, coco_evaluate

    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "area": 25.0, "iscrowd": 0,
         "bbox": [0, 0, 5, 5], "score": 0.5},
        {"id": 2, "image_id": 2, "category_id": 1, "area": 25.0, "iscrowd": 0,
         "bbox": [0, 0, 5, 5], "score": 0.5},
    ]  # fmt: skip
    cols = coco_columns_from_dicts(anns, None, keys={})
    kw: dict[str, Any] = dict(
        img_ids=[1, 2], cat_ids=[1], use_cats=True, iou_type="bbox", iou_thrs=[0.5],
        area_rng=[[0.0, 1e10]], max_det=10, kpt_oks_sigmas=[],
    )  # fmt: skip
    ev = coco_evaluate(cols, cols, **kw)
    assert ev.n_groups == 2 and ev.group(0) is not None
    with pytest.raises(ValueError, match="k must be"):
        ev.group(2)
    with pytest.raises(ValueError, match="gt_members: index 5"):
        coco_evaluate(cols, cols, **kw, gt_members=[5])
    with pytest.raises(ValueError, match="iou_type"):
        coco_evaluate(cols, cols, **{**kw, "iou_type": "mask"})
    with pytest.raises((TypeError, ValueError)):
        coco_evaluate(cols, cols, **{**kw, "area_rng": [[0.0, 1.0, 2.0]]})
    # Fields the evaluation needs, missing or unreadable: named by the annotation id.
    for field, bad, message in (
        ("area", "big", "ground truth id 1: no area"),
        ("bbox", [1, 2, 3], "ground truth id 1: no bbox"),
        ("iscrowd", None, "ground truth id 1: no iscrowd"),
    ):
        broken = [{**anns[0], field: bad}, anns[1]]
        with pytest.raises(ValueError, match=message):
            coco_evaluate(coco_columns_from_dicts(broken, None, keys={}), cols, **kw)
    with pytest.raises(ValueError, match="detection id 2: no score"):
        coco_evaluate(
            cols, coco_columns_from_dicts([anns[0], {**anns[1], "score": "x"}], None, keys={}), **kw
        )
    with pytest.raises(ValueError):  # a category index outside the evaluation
        ev.accumulate(
            k_list=[5], a_list=[0], m_list=[10], i_list=[0, 1], n_images=2, n_area_ranges=1,
            n_categories=1, dims=[1, 3, 1, 1, 1], rec_thrs=[0.0, 0.5, 1.0],
        )  # fmt: skip
    with pytest.raises(MemoryError, match="overflows"):  # sizes that overflow
        ev.accumulate(
            k_list=[0], a_list=[0], m_list=[10], i_list=[0, 1], n_images=2, n_area_ranges=1,
            n_categories=1, dims=[2**62, 3, 1, 1, 1], rec_thrs=[0.0, 0.5, 1.0],
        )  # fmt: skip


def test_pickled_and_copied_evaluations_accumulate_the_same() -> None:
    import pickle

    gt, res = generated(2)
    g = COCO(gt)
    e = COCOeval(g, g.loadRes(res), "segm")
    e.evaluate()
    for other in (copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert isinstance(other.evalImgs, list) and len(other.evalImgs) == len(e.evalImgs)
        other.accumulate()
        e.accumulate()
        for key in ("precision", "recall", "scores"):
            assert np.array_equal(other.eval[key], e.eval[key])


@given(
    st.one_of(
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30),
        st.lists(st.text(max_size=3), max_size=10),
        st.lists(st.booleans(), max_size=5),
        st.lists(st.floats(allow_nan=True), max_size=10),
    )
)
@settings(max_examples=200, deadline=None)
def test_ids_are_made_unique_as_numpy_does(ids: list) -> None:
    """``imgIds``/``catIds`` as pycocotools sets them (``list(np.unique(...))``): the
    same values, order and numpy scalar types."""
    from sa1b_rle.cocoeval import _unique

    want, got = list(np.unique(ids)), _unique(ids)
    assert repr(got) == repr(want)
    assert [type(x) for x in got] == [type(x) for x in want]


@pytest.mark.parametrize("n", [(1 << 16) - 1, 1 << 16])
def test_many_ids_are_made_unique_as_numpy_does(n: int) -> None:
    """Both sides of the size where numpy's sort takes over from Python's."""
    from sa1b_rle.cocoeval import _unique

    ids = np.random.default_rng(n).integers(-(2**40), 2**40, n).tolist()
    ids[n // 2 :] = ids[: n - n // 2]  # repeats
    got, want = _unique(ids), list(np.unique(ids))
    assert got == want and type(got[0]) is type(want[0])
    names = [str(i % 5000) for i in ids]
    assert _unique(names) == list(np.unique(names))
