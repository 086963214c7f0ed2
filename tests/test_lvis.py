"""``sa1b_rle.lvis`` against lvis-api 0.5.3 (``_lvis_reference``) on generated federated
datasets: negative and not-exhaustive lists, the three frequencies, polygon and RLE
ground truths (some of area 0), RLE and box results, the per-image cap with tied
scores, images without annotations, categories without detections."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from _lvis_reference import load

from sa1b_rle import cli
from sa1b_rle.lvis import LVIS, LVISEval, LVISResults

logging.getLogger("lvis").setLevel(logging.ERROR)


def generated(
    seed: int, n_images: int = 24, crowded: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An LVIS-style dataset and results. ``crowded``: one image with that many
    detections (tied scores), for the per-image cap."""
    rng = np.random.default_rng(seed)
    cat_ids = [1, 3, 4, 8, 9, 12, 15, 20, 21, 30]
    cats = [
        {"id": c, "name": f"c{c}", "synset": f"s{c}", "frequency": "rcf"[k % 3]}
        for k, c in enumerate(cat_ids)
    ]
    images, anns, results = [], [], []
    masks: dict[int, list[tuple[int, np.ndarray]]] = {}
    for i in range(1, n_images + 1):
        h, w = int(rng.integers(30, 90)), int(rng.integers(30, 90))
        present: list[int] = []
        masks[i] = []
        for _ in range(int(rng.integers(0, 7)) if i % 5 else 0):
            c = int(rng.choice(cat_ids[:8]))  # two categories never annotated
            y, x = int(rng.integers(0, h - 6)), int(rng.integers(0, w - 6))
            bh, bw = int(rng.integers(1, h - y)), int(rng.integers(1, w - x))
            kind = rng.random()
            if kind < 0.5:
                poly = [x, y, x + bw, y, x + bw, y + bh, x, y + bh]
                if rng.random() < 0.1:
                    poly = [x, y, x, y, x, y]  # a degenerate polygon: area 0
                segm: Any = [[float(v) + 0.5 for v in poly]]
                rle = pm.merge(pm.frPyObjects(segm, h, w))
            else:
                m = np.zeros((h, w), np.uint8)
                m[y : y + bh, x : x + bw] = 1
                m[y + bh // 2, x : x + bw // 2] = 0
                rle = pm.encode(np.asfortranarray(m))
                segm = {"size": [h, w], "counts": rle["counts"].decode()}
            area = float(pm.area(rle))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": c,
                    "segmentation": segm,
                    "area": area,
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                }
            )
            present.append(c)
            masks[i].append((c, pm.decode(rle)))
        absent = [c for c in cat_ids if c not in present]
        neg = sorted(rng.choice(absent, size=min(len(absent), 3), replace=False).tolist())
        nel = sorted({c for c in present if rng.random() < 0.3})
        images.append(
            {
                "id": i,
                "height": h,
                "width": w,
                "neg_category_ids": [int(c) for c in neg],
                "not_exhaustive_category_ids": [int(c) for c in nel],
                "coco_url": f"http://example/{i}.jpg",
            }
        )
        n_dets = crowded if (crowded and i == 2) else int(rng.integers(0, 14)) if i % 7 else 0
        detected = [c for c in cat_ids if c != 15]  # category 15: never detected
        for _ in range(n_dets):
            if masks[i] and rng.random() < 0.6:
                c, m = masks[i][int(rng.integers(len(masks[i])))]
                m = np.roll(m, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 2)))
                if rng.random() < 0.3 or c == 15:
                    c = int(rng.choice(detected))
            else:
                c = int(rng.choice(detected))
                m = np.zeros((h, w), np.uint8)
                y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
                m[y : y + int(rng.integers(1, h - y)), x : x + int(rng.integers(1, w - x))] = 1
            rle = pm.encode(np.asfortranarray(m))
            results.append(
                {
                    "image_id": i,
                    "category_id": c,
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "score": float(rng.integers(0, 8)) / 8,  # ties
                }
            )
    rng.shuffle(results)  # images interleaved: LVISResults regroups them
    return {"images": images, "annotations": anns, "categories": cats}, results


def as_boxes(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "segmentation"} for r in results]


def as_masks(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segmentation results without boxes: areas (and boxes) from their RLEs."""
    return [{k: v for k, v in r.items() if k != "bbox"} for r in results]


def run_reference(gt_path: Path, results: Any, iou_type: str, max_dets: int, tweak: Any) -> Any:
    RLVIS, RResults, REval = load()
    gt = RLVIS(str(gt_path))
    dt = RResults(gt, copy.deepcopy(results) if isinstance(results, list) else results, max_dets)
    e = REval(gt, dt, iou_type)
    tweak(e.params)
    e.run()
    return e


def run_ours(gt_path: Path, results: Any, iou_type: str, max_dets: int, tweak: Any) -> Any:
    gt = LVIS(gt_path)
    res = copy.deepcopy(results) if isinstance(results, list) else results
    e = LVISEval(gt, LVISResults(gt, res, max_dets=max_dets), iou_type)
    tweak(e.params)
    e.run()
    return e


def assert_same(want: Any, got: Any) -> None:
    assert list(got.results) == list(want.results)
    for k, v in want.results.items():
        assert got.results[k] == v, k
    for key in ("precision", "recall"):
        assert got.eval[key].shape == want.eval[key].shape
        assert np.array_equal(got.eval[key], want.eval[key]), key
    assert got.eval["counts"] == want.eval["counts"]
    assert len(got.eval_imgs) == len(want.eval_imgs)
    for a, b in zip(got.eval_imgs, want.eval_imgs, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.keys() == b.keys()
            for k in ("image_id", "category_id", "area_rng", "dt_ids", "gt_ids", "dt_scores"):
                assert list(np.atleast_1d(a[k])) == list(np.atleast_1d(b[k])), k
            for k in ("dt_matches", "gt_matches", "gt_ignore", "dt_ignore"):
                assert np.array_equal(a[k], b[k]), k
    assert got.ious.keys() == want.ious.keys()
    for key, v in want.ious.items():
        assert np.array_equal(np.asarray(got.ious[key]), np.asarray(v)), key
    for k, per_area in want.eval["dt_pointers"].items():
        for a, d in per_area.items():
            mine = got.eval["dt_pointers"][k][a]
            assert mine.keys() == d.keys()
            for name in d:
                assert np.array_equal(mine[name], d[name]), (k, a, name)
    assert [list(g) for g in got.freq_groups] == [list(g) for g in want.freq_groups]


CASES = [
    # (seed, iou_type, results as, max_dets, crowded, tweak)
    (0, "segm", "list", 300, 0, "none"),
    (1, "bbox", "list", 300, 0, "none"),
    (2, "segm", "file", 5, 0, "none"),
    (3, "bbox", "file", 300, 320, "none"),
    (4, "segm", "list", 300, 310, "none"),
    (5, "segm", "list", -1, 40, "none"),
    (6, "bbox", "list", 10, 0, "cats"),
    (7, "segm", "file", 300, 0, "imgs"),
]

TWEAKS: dict[str, Any] = {
    "none": lambda p: None,
    "cats": lambda p: setattr(p, "cat_ids", [1, 4, 9, 12, 30]),
    "imgs": lambda p: setattr(p, "img_ids", [5, 3, 3, 2, 7, 11, 12, 13, 20]),
}


@pytest.mark.parametrize(("seed", "iou_type", "given", "max_dets", "crowded", "tweak"), CASES)
def test_generated_federated_datasets(
    seed: int, iou_type: str, given: str, max_dets: int, crowded: int, tweak: str, tmp_path: Path
) -> None:
    gt, results = generated(seed, crowded=crowded)
    if iou_type == "bbox" and seed % 2:
        results = as_boxes(results)  # box results: area w * h, the box as a polygon
    elif seed in (2, 4, 7):
        results = as_masks(results)  # mask results: the RLE's area and box
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    res: Any = results
    if given == "file":
        res = str(tmp_path / "res.json")
        Path(res).write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        want = run_reference(gt_path, res, iou_type, max_dets, TWEAKS[tweak])
        got = run_ours(gt_path, res, iou_type, max_dets, TWEAKS[tweak])
    assert got._new_id is not None  # (read from the columns, no dict built)
    assert got.lvis_gt._coco._columns is not None
    assert_same(want, got)
    # The same objects once their dicts are read (the dict path).
    with contextlib.redirect_stdout(io.StringIO()):
        g = LVIS(gt_path)
        d = LVISResults(g, copy.deepcopy(results) if given == "list" else res, max_dets)
        _ = g.anns, d.anns
        e = LVISEval(g, d, iou_type)
        TWEAKS[tweak](e.params)
        e.run()
    assert e._new_id is None
    assert_same(want, e)
    # lvis-api's own objects given to ours (its dicts, after its own _prepare).
    RLVIS, RResults, _ = load()
    with contextlib.redirect_stdout(io.StringIO()):
        rgt = RLVIS(str(gt_path))
        rdt = RResults(rgt, copy.deepcopy(results) if given == "list" else res, max_dets)
        mixed = LVISEval(rgt, rdt, iou_type)
        TWEAKS[tweak](mixed.params)
        mixed.run()
    assert_same(want, mixed)


def test_results_numbering_and_dicts(tmp_path: Path) -> None:
    """LVISResults' dicts: image by image, the cap with ties in order, ids from 1."""
    gt, results = generated(4, crowded=30)
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    RLVIS, RResults, _ = load()
    want = RResults(RLVIS(str(gt_path)), copy.deepcopy(results), 12)
    got = LVISResults(LVIS(gt_path), copy.deepcopy(results), max_dets=12)
    assert got.dataset["annotations"] == want.dataset["annotations"]
    assert got.get_ann_ids(img_ids=[2, 3], cat_ids=[1, 3, 4]) == want.get_ann_ids(
        img_ids=[2, 3], cat_ids=[1, 3, 4]
    )
    assert got.get_img_ids() == want.get_img_ids()
    assert got.get_top_results(2, 0.5) == want.get_top_results(2, 0.5)


def test_print_results_as_lvis_api(tmp_path: Path) -> None:
    gt, results = generated(0)
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    want, got = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(want):
        run_reference(gt_path, results, "segm", 300, TWEAKS["none"]).print_results()
    with contextlib.redirect_stdout(got):
        run_ours(gt_path, results, "segm", 300, TWEAKS["none"]).print_results()
    assert got.getvalue() == want.getvalue()
    assert len(want.getvalue().splitlines()) == 13


def test_without_categories_nothing_is_read(tmp_path: Path) -> None:
    """lvis-api's use_cats=0 reads _gts[img_id, -1]: every curve -1, and its summarize()
    fails (an IndexError there, a ValueError saying why here)."""
    gt, results = generated(1)
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    evals = []
    for gt_class, results_class, eval_class in (load(), (LVIS, LVISResults, LVISEval)):
        g = gt_class(str(gt_path))
        e = eval_class(g, results_class(g, copy.deepcopy(results)), "segm")
        e.params.use_cats = 0
        e.evaluate()
        e.accumulate()
        evals.append(e)
    want, got = evals
    assert all(x is None for x in got.eval_imgs) and all(x is None for x in want.eval_imgs)
    for key in ("precision", "recall"):
        assert np.array_equal(got.eval[key], want.eval[key])
    assert (got.eval["precision"] == -1).all()
    with pytest.raises(IndexError):
        want.summarize()
    with pytest.raises(ValueError, match="use_cats = 1"):
        got.summarize()


def test_bad_input(tmp_path: Path) -> None:
    gt, results = generated(0)
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    g = LVIS(gt_path)
    with pytest.raises(ValueError, match="iou_type: keypoints is not supported"):
        LVISEval(g, results, "keypoints")
    with pytest.raises(TypeError, match="Unsupported type"):
        LVISEval(42, results)
    with pytest.raises(ValueError, match="image_id 999"):
        LVISResults(g, [{**results[0], "image_id": 999}])
    del gt["images"][0]["neg_category_ids"]
    gt_path.write_text(json.dumps(gt))
    e = LVISEval(LVIS(gt_path), results)
    with pytest.raises(ValueError, match="image 1 has no 'neg_category_ids'"):
        e.evaluate()
    gt["images"][0]["neg_category_ids"] = "1, 3"  # (lvis-api: a TypeError deep inside)
    gt_path.write_text(json.dumps(gt))
    with pytest.raises(ValueError, match="image 1: neg_category_ids must be a list"):
        LVISEval(LVIS(gt_path), results).evaluate()
    # Lists the columns do not hold as integers are read from the dicts: the same numbers.
    gt["images"][0]["neg_category_ids"] = [3.0, 4]
    gt_path.write_text(json.dumps(gt))
    RLVIS, RResults, REval = load()
    with contextlib.redirect_stdout(io.StringIO()):
        want = REval(RLVIS(str(gt_path)), RResults(RLVIS(str(gt_path)), copy.deepcopy(results)))
        want.run()
        got = LVISEval(LVIS(gt_path), copy.deepcopy(results))
        got.run()
    assert_same(want, got)
    gt["images"][0]["neg_category_ids"] = []
    gt["categories"][0]["frequency"] = "x"
    gt_path.write_text(json.dumps(gt))
    with pytest.raises(ValueError, match="category 1: frequency must be one of"):
        LVISEval(LVIS(gt_path), results).evaluate()


def test_the_eval_command(tmp_path: Path) -> None:
    gt, results = generated(2)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results))
    out = io.StringIO()
    argv = ["eval", "--lvis", str(tmp_path / "gt.json"), str(tmp_path / "res.json")]
    assert cli.main(argv, out) == 0
    want = io.StringIO()
    with contextlib.redirect_stdout(want):
        run_reference(tmp_path / "gt.json", results, "segm", 300, TWEAKS["none"]).print_results()
    assert out.getvalue().splitlines()[:13] == want.getvalue().splitlines()
