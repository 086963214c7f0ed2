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
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import COCOeval

DATA = Path(__file__).parent / "data"
GT = json.loads((DATA / "coco_instances_val2014_100.json").read_text())
RESULTS = json.loads((DATA / "coco_instances_val2014_fakesegm100_results.json").read_text())


def run(
    evaluator: Any, coco: Any, gt: dict[str, Any], res: Any, iou_type: str, tweak: Any
) -> tuple[Any, str]:
    """An evaluator run on deep copies (both mutate annotations), and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        g = coco()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        d = g.loadRes(copy.deepcopy(res))
        e = evaluator(g, d, iou_type)
        tweak(e.params)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e, out.getvalue()


def assert_same(gt: dict[str, Any], res: Any, iou_type: str, tweak: Any = lambda p: None) -> None:
    want, printed = run(PyCOCOeval, PyCOCO, gt, res, iou_type, tweak)
    for coco in (COCO, PyCOCO):  # our loader, and pycocotools' objects given to ours
        got, ours = run(COCOeval, coco, gt, res, iou_type, tweak)
        for key in ("precision", "recall", "scores"):
            assert got.eval[key].shape == want.eval[key].shape
            assert np.array_equal(got.eval[key], want.eval[key], equal_nan=True), key
        assert np.array_equal(got.stats, want.stats, equal_nan=True)
        # The twelve summary lines, as pycocotools prints them.
        lines = [x for x in printed.splitlines() if x.startswith(" Average")]
        assert [x for x in ours.splitlines() if x.startswith(" Average")] == lines
        assert len(got.ious) == len(want.ious)
        for key, v in want.ious.items():
            mine = got.ious[key]
            assert len(mine) == len(v) and np.array_equal(np.asarray(mine), np.asarray(v)), key
        assert len(got.evalImgs) == len(want.evalImgs)
        for a, b in zip(got.evalImgs, want.evalImgs, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                for k in ("dtIds", "gtIds", "dtScores"):
                    assert list(a[k]) == list(b[k])
                for k in ("dtMatches", "gtMatches", "gtIgnore", "dtIgnore"):
                    assert np.array_equal(a[k], b[k])


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
}


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
@pytest.mark.parametrize("tweak", list(TWEAKS))
def test_the_coco_sample(iou_type: str, tweak: str) -> None:
    assert_same(GT, RESULTS, iou_type, TWEAKS[tweak])


def generated(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A small dataset: images without ground truth or without detections, crowd
    regions as uncompressed RLE, many categories, tied scores."""
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    cats = [{"id": c, "name": f"c{c}", "supercategory": "s"} for c in (1, 2, 5, 7)]
    for i in range(1, 13):
        h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        images.append({"id": i, "height": h, "width": w, "file_name": f"{i}.jpg"})
        for _ in range(int(rng.integers(0, 6)) if i % 4 else 0):
            m = np.zeros((h, w), np.uint8)
            y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
            m[y : y + int(rng.integers(2, h - y)), x : x + int(rng.integers(2, w - x))] = 1
            crowd = int(rng.random() < 0.15)
            rle = pm.encode(np.asfortranarray(m))
            if crowd:
                segm: Any = {"size": [h, w], "counts": pm_runs(m)}
            else:
                segm = {"size": [h, w], "counts": rle["counts"].decode()}
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": int(rng.choice([1, 2, 5, 7])),
                    "segmentation": segm,
                    "area": float(pm.area(rle)) + (0.5 if crowd else 0.0),
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "iscrowd": crowd,
                }
            )
        for _ in range(int(rng.integers(0, 8)) if i % 5 else 0):
            m = np.zeros((h, w), np.uint8)
            y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
            m[y : y + int(rng.integers(2, h - y)), x : x + int(rng.integers(2, w - x))] = 1
            rle = pm.encode(np.asfortranarray(m))
            results.append(
                {
                    "image_id": i,
                    "category_id": int(rng.choice([1, 2, 5, 7])),
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "score": float(rng.integers(0, 4)) / 4,  # ties
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, results


def pm_runs(m: np.ndarray) -> list[int]:
    """COCO's uncompressed counts: column-major run lengths from a background run."""
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0, *runs] if flat[0] else runs


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


def test_keypoints_follow_pycocotools() -> None:
    rng = np.random.default_rng(5)
    images = [{"id": i, "height": 100, "width": 100} for i in (1, 2, 3)]
    anns, results = [], []
    for i in (1, 2, 3):
        for _ in range(3):
            x, y = rng.uniform(10, 80, 2)
            kp = []
            for _ in range(17):
                kp += [float(x + rng.uniform(0, 15)), float(y + rng.uniform(0, 15)), 2]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": kp,
                    "num_keypoints": 17,
                    "area": 225.0,
                    "bbox": [float(x), float(y), 15.0, 15.0],
                    "iscrowd": 0,
                }
            )
            noisy = [v + (rng.normal(0, 2) if k % 3 != 2 else 0) for k, v in enumerate(kp)]
            results.append(
                {"image_id": i, "category_id": 1, "keypoints": noisy, "score": float(rng.random())}
            )
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    assert_same(gt, results, "keypoints")


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
