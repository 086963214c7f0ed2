"""COCO evaluation, side by side: pycocotools' COCOeval, faster-coco-eval and
``sa1b_rle.cocoeval.COCOeval`` (evaluate + accumulate), checking that ours gives
pycocotools' numbers exactly.

The workload is generated (``--images`` images, default 1000, at COCO image sizes;
80 categories; per image ~7 ground truths, ~20 detections, polygons as COCO writes them,
detections as compressed RLE with scores, a few crowd regions), plus the COCO sample of
tests/data. Run after ``scripts/dev test`` and ``pip install faster-coco-eval==1.8.0``::

    SA1B_RLE_NUM_THREADS=1 .venv/bin/python benches/compare_eval.py --images 1000

``--memory`` adds the resident memory each one's evaluate() + accumulate() adds (peak,
and kept once done), each in a process of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import COCOeval

DATA = Path(__file__).parent.parent / "tests" / "data"


def polygon(rng: np.random.Generator, h: int, w: int, scale: float) -> list[float]:
    """A random star-shaped polygon of about ``scale`` pixels across."""
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    k = int(rng.integers(6, 20))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = scale * rng.uniform(0.3, 0.6, k)
    xs = np.clip(cx + r * np.cos(ang), 0, w - 1)
    ys = np.clip(cy + r * np.sin(ang), 0, h - 1)
    return [round(float(v), 2) for xy in zip(xs, ys, strict=True) for v in xy]


def workload(n_images: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    cats = [{"id": c, "name": f"c{c}", "supercategory": "s"} for c in range(1, 81)]
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        h, w = int(rng.choice([480, 427, 640, 512])), int(rng.choice([640, 480, 500, 612]))
        images.append({"id": i, "height": h, "width": w, "file_name": f"{i:012d}.jpg"})
        objects = []
        for _ in range(int(rng.poisson(7))):
            cat = int(rng.integers(1, 81))
            scale = float(rng.choice([20, 60, 150, 300]))
            poly = polygon(rng, h, w, scale)
            rle = pm.merge(pm.frPyObjects([poly], h, w))
            crowd = int(rng.random() < 0.02)
            seg: Any = [poly]
            if crowd:
                seg = {"size": [h, w], "counts": _runs(rle)}
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "segmentation": seg,
                    "area": float(pm.area(rle)),
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "iscrowd": crowd,
                }
            )
            objects.append((cat, poly, scale))
        for _ in range(int(rng.poisson(20))):
            if objects and rng.random() < 0.6:
                cat, poly, scale = objects[int(rng.integers(len(objects)))]
                jitter = rng.normal(0, scale * 0.05, len(poly))
                poly = [round(float(v), 2) for v in np.clip(np.array(poly) + jitter, 0, None)]
                if rng.random() < 0.2:
                    cat = int(rng.integers(1, 81))
            else:
                cat = int(rng.integers(1, 81))
                poly = polygon(rng, h, w, float(rng.choice([20, 60, 150])))
            rle = pm.merge(pm.frPyObjects([poly], h, w))
            results.append(
                {
                    "image_id": i,
                    "category_id": cat,
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "score": round(float(rng.uniform(0.05, 1.0)), 3),
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, results


def _runs(rle: dict[str, Any]) -> list[int]:
    m = pm.decode(rle)
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0, *runs] if flat[0] else runs


def timed(
    make: Any, gt: dict[str, Any], res: list[dict[str, Any]], iou_type: str
) -> tuple[float, Any]:
    """Seconds for evaluate() + accumulate() (the loaders are built outside the clock)."""
    with contextlib.redirect_stdout(io.StringIO()):
        e = make(copy.deepcopy(gt), copy.deepcopy(res), iou_type)
        t = time.perf_counter()
        e.evaluate()
        e.accumulate()
        t = time.perf_counter() - t
        e.summarize()
    return t, e


def pycocotools_eval(gt: dict[str, Any], res: list[dict[str, Any]], iou_type: str) -> Any:
    g = PyCOCO()
    g.dataset = gt
    g.createIndex()
    return PyCOCOeval(g, g.loadRes(res), iou_type)


def ours(gt: dict[str, Any], res: list[dict[str, Any]], iou_type: str) -> Any:
    g = COCO(gt)
    return COCOeval(g, g.loadRes(res), iou_type)


def fce(gt: dict[str, Any], res: list[dict[str, Any]], iou_type: str) -> Any:
    from faster_coco_eval import COCO as FC
    from faster_coco_eval import COCOeval_faster

    g = FC(gt)
    return COCOeval_faster(g, g.loadRes(res), iou_type, print_function=lambda *a: None)


def _rss() -> int:
    """Resident bytes of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(label: str, iou_type: str, path: str) -> None:
    """Prints the peak and retained resident memory that evaluate() + accumulate() add
    (sampled every millisecond by a thread), in MB, for one implementation, after a
    first run (so that loading code and starting threads are not counted)."""
    gt, res = json.loads(Path(path).read_text())
    make = {"pc": pycocotools_eval, "fce": fce, "ours": ours}[label]
    with contextlib.redirect_stdout(io.StringIO()):
        # A first run on copies loads code pages and thread pools: fixed costs.
        warm = make(copy.deepcopy(gt), copy.deepcopy(res), iou_type)
        warm.evaluate()
        warm.accumulate()
        del warm
        e = make(gt, res, iou_type)
    del gt, res
    gc.collect()
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    t = threading.Thread(target=sample)
    t.start()
    with contextlib.redirect_stdout(io.StringIO()):
        e.evaluate()
        e.accumulate()
    done.set()
    t.join()
    gc.collect()
    print(json.dumps({"peak": (max(peak[0], _rss()) - base) / 1e6, "kept": (_rss() - base) / 1e6}))


def memory(generated: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """The memory table: each implementation in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workload.json"
        path.write_text(json.dumps(list(generated)))
        print()
        print("Memory that evaluate() + accumulate() add, MB: peak / kept when done")
        print()
        print("| iouType | pycocotools | faster-coco-eval | sa1b_rle |")
        print("|---|---:|---:|---:|")
        for iou_type in ("segm", "bbox"):
            cells = []
            for label in ("pc", "fce", "ours"):
                out = subprocess.run(
                    [sys.executable, __file__, "--memory-child", label, iou_type, str(path)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    cells.append("n/a")
                    continue
                m = json.loads(out.stdout.strip().splitlines()[-1])
                cells.append(f"{m['peak']:.0f} / {m['kept']:.0f}")
            print(f"| {iou_type} | {' | '.join(cells)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also the memory table")
    ap.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    sample = (
        json.loads((DATA / "coco_instances_val2014_100.json").read_text()),
        json.loads((DATA / "coco_instances_val2014_fakesegm100_results.json").read_text()),
    )
    t = time.perf_counter()
    generated = workload(args.images)
    made = time.perf_counter() - t
    n_gt, n_dt = len(generated[0]["annotations"]), len(generated[1])
    print(
        f"generated {args.images} images, {n_gt} ground truths, {n_dt} detections "
        f"in {made:.1f} s; median of {args.repeat}"
    )
    print()
    print("| workload | iouType | pycocotools (s) | faster-coco-eval | sa1b_rle | exact |")
    print("|---|---|---:|---:|---:|---|")
    for name, (gt, res) in (("COCO sample (100 images)", sample), ("generated", generated)):
        for iou_type in ("segm", "bbox"):
            row = {}
            for label, make in (("pc", pycocotools_eval), ("fce", fce), ("ours", ours)):
                try:
                    runs = [timed(make, gt, res, iou_type) for _ in range(args.repeat)]
                except ImportError:
                    row[label] = (float("nan"), None)
                    continue
                row[label] = (float(np.median([r[0] for r in runs])), runs[0][1])
            want, got = row["pc"][1], row["ours"][1]
            exact = all(
                np.array_equal(want.eval[k], got.eval[k], equal_nan=True)
                for k in ("precision", "recall", "scores")
            ) and np.array_equal(want.stats, got.stats)
            pc = row["pc"][0]
            cells = [f"{pc:.3f}"] + [
                f"{row[k][0]:.3f} ({pc / row[k][0]:.1f}x)" for k in ("fce", "ours")
            ]
            print(f"| {name} | {iou_type} | {' | '.join(cells)} | {exact} |")
    if args.memory:
        memory(generated)


if __name__ == "__main__":
    main()
