"""Shared by the COCO evaluation tests: evaluators run side by side with pycocotools, and
generated datasets (instances with crowd RLEs and ties; people with keypoints)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
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
    """An evaluator run on deep copies (both mutate annotations), and what it printed.
    ``coco`` is a loader class (given the dataset as dicts), or ``"files"``: this
    package's loader on JSON files (the column path)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), tempfile.TemporaryDirectory() as tmp:
        if coco == "files":
            gt_path, res_path = Path(tmp) / "gt.json", Path(tmp) / "res.json"
            gt_path.write_text(json.dumps(gt))
            res_path.write_text(json.dumps(res))
            g = COCO(gt_path)
            d = g.loadRes(str(res_path))
        else:
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
    # Our loader on files (columns) and on dicts, and pycocotools' objects given to ours.
    for coco in ("files", COCO, PyCOCO):
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


def people(
    seed: int, n_images: int = 8, k: int = 17
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """People with ``k`` keypoints: visible (2), occluded (1) and unlabelled (0) points,
    some people with none labelled (``num_keypoints`` 0), crowd regions, images without
    people or without detections; detections jittered from the people and strays, with
    tied scores and integer coordinates here and there."""
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        h, w = 120, 160
        images.append({"id": i, "height": h, "width": w})
        found = []
        for _ in range(int(rng.integers(0, 5)) if i % 4 else 0):
            bw, bh = float(rng.uniform(5, 80)), float(rng.uniform(5, 100))
            x, y = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
            v = rng.integers(0, 3, k)
            if rng.random() < 0.15:
                v[:] = 0
            xs, ys = rng.uniform(x, x + bw, k), rng.uniform(y, y + bh, k)
            xs[v == 0], ys[v == 0] = 0, 0
            kps: list[Any] = []
            for j in range(k):
                kps += [round(float(xs[j]), 2), round(float(ys[j]), 2), int(v[j])]
            crowd = int(rng.random() < 0.1)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": kps,
                    "num_keypoints": int(np.count_nonzero(v)),
                    "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)],
                    "area": round(float(rng.uniform(0.3, 1.0)) * bw * bh, 2),
                    "iscrowd": crowd,
                }
            )
            found.append((xs, ys, max(bw, bh)))
        for _ in range(int(rng.integers(0, 7)) if i % 5 else 0):
            if found and rng.random() < 0.7:
                xs, ys, size = found[int(rng.integers(len(found)))]
                dx = xs + rng.normal(0, 0.08 * size, k)
                dy = ys + rng.normal(0, 0.08 * size, k)
            else:
                dx, dy = rng.uniform(0, w, k), rng.uniform(0, h, k)
            kps = []
            for j in range(k):
                rounded = rng.random() < 0.2
                kps += [int(dx[j]) if rounded else float(dx[j]), float(dy[j]), 1]
            results.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": kps,
                    "score": float(rng.integers(1, 5)) / 4,  # ties
                }
            )
    cats = [{"id": 1, "name": "person", "supercategory": "person"}]
    return {"images": images, "annotations": anns, "categories": cats}, results
