"""COCO evaluation end to end, side by side: pycocotools, faster-coco-eval, hotcoco,
ultrafast-pycocotools, vernier and sa1b_rle, each in a process of its own, on the same
files, with 1 and 2 threads.

Timed per implementation and iouType (median of ``--repeat`` runs in one process):

- **end to end**: load the ground truth from its file, load the results from theirs,
  evaluate, accumulate, summarize (what a user times);
- **evaluate + accumulate** alone (the loaders built outside the clock);
- **peak RSS** of the process during its first run (``VmHWM``), and whether its twelve (ten for
  keypoints) stats equal pycocotools' exactly.

Workloads (written to a temporary directory as JSON files):

- ``coco-tiled``: the real COCO val2014 sample of ``tests/data`` (100 images, polygons
  and crowd RLEs; 734 RLE results) tiled ``--tiles`` times (default 20: 2,000 images,
  16,780 ground truths, 14,680 detections), ids renumbered per tile;
- ``generated``: ``--images`` images (default 1000) at COCO sizes, 80 categories, ~7
  ground truths (polygons, a few crowd RLEs) and ~20 RLE detections each;
- ``keypoints``: ``--images`` images of people (17 keypoints, some invisible or
  unlabelled, a few crowd regions), ~3 ground truths and ~6 detections each.

Run after ``scripts/dev test`` and ``pip install faster-coco-eval==1.8.0 hotcoco==1.3.0
ultrafast-pycocotools==0.1.14 vernier==0.5.4``::

    .venv/bin/python benches/compare_eval.py --repeat 3

Thread counts are set for every implementation through ``SA1B_RLE_NUM_THREADS``,
``RAYON_NUM_THREADS`` and ``OMP_NUM_THREADS`` (and vernier's ``num_threads``).
An implementation that is not installed or fails is reported as such.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent.parent / "tests" / "data"
IMPLS = ["pycocotools", "faster-coco-eval", "hotcoco", "ultrafast", "vernier", "sa1b_rle"]


# --------------------------------------------------------------------------- workloads


def polygon(rng: np.random.Generator, h: int, w: int, scale: float) -> list[float]:
    """A random star-shaped polygon of about ``scale`` pixels across."""
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    k = int(rng.integers(6, 20))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = scale * rng.uniform(0.3, 0.6, k)
    xs = np.clip(cx + r * np.cos(ang), 0, w - 1)
    ys = np.clip(cy + r * np.sin(ang), 0, h - 1)
    return [round(float(v), 2) for xy in zip(xs, ys, strict=True) for v in xy]


def _runs(rle: dict[str, Any]) -> list[int]:
    import pycocotools.mask as pm

    m = pm.decode(rle)
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0, *runs] if flat[0] else runs


def generated(n_images: int, seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Instances at COCO sizes: polygons and crowd RLEs; RLE detections with scores."""
    import pycocotools.mask as pm

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


def keypoints(n_images: int, seed: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """People with 17 keypoints (visibility 0/1/2), a few crowd regions without
    keypoints; detections jittered from them and some strays, with scores."""
    rng = np.random.default_rng(seed)
    cats = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": [], "skeleton": []}]
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        h, w = 480, 640
        images.append({"id": i, "height": h, "width": w, "file_name": f"{i:012d}.jpg"})
        people = []
        for _ in range(int(rng.poisson(3))):
            bw, bh = float(rng.uniform(20, 250)), float(rng.uniform(40, 400))
            x, y = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
            pts = np.stack(
                [rng.uniform(x, x + bw, 17), rng.uniform(y, y + bh, 17), rng.integers(0, 3, 17)],
                axis=1,
            )
            pts[pts[:, 2] == 0, :2] = 0
            crowd = int(rng.random() < 0.03)
            if crowd:
                pts[:] = 0
            kp = [round(float(v), 1) if j % 3 != 2 else int(v) for j, v in enumerate(pts.ravel())]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": kp,
                    "num_keypoints": int(np.count_nonzero(pts[:, 2])),
                    "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)],
                    "area": round(bw * bh * 0.6, 2),
                    "iscrowd": crowd,
                    "segmentation": [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]],
                }
            )
            people.append((pts, bw, bh))
        for _ in range(int(rng.poisson(6))):
            if people and rng.random() < 0.7:
                pts, bw, bh = people[int(rng.integers(len(people)))]
                xy = pts[:, :2] + rng.normal(0, 0.05 * max(bw, bh), (17, 2))
            else:
                xy = np.stack([rng.uniform(0, w, 17), rng.uniform(0, h, 17)], axis=1)
            kp = []
            for px, py in xy:
                kp += [round(float(px), 2), round(float(py), 2), 1]
            results.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": kp,
                    "score": round(float(rng.uniform(0.05, 1.0)), 3),
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, results


def coco_tiled(tiles: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The real COCO sample and its results, tiled with renumbered ids."""
    gt = json.loads((DATA / "coco_instances_val2014_100.json").read_text())
    res = json.loads((DATA / "coco_instances_val2014_fakesegm100_results.json").read_text())
    img_step = max(i["id"] for i in gt["images"]) + 1
    ann_step = max(a["id"] for a in gt["annotations"]) + 1
    out: dict[str, Any] = {k: v for k, v in gt.items() if k not in ("images", "annotations")}
    out["images"], out["annotations"], results = [], [], []
    for t in range(tiles):
        out["images"] += [{**i, "id": i["id"] + t * img_step} for i in gt["images"]]
        out["annotations"] += [
            {**a, "id": a["id"] + t * ann_step, "image_id": a["image_id"] + t * img_step}
            for a in gt["annotations"]
        ]
        results += [{**r, "image_id": r["image_id"] + t * img_step} for r in res]
    return out, results


# --------------------------------------------------------------------------- runners


def _quiet() -> Any:
    return contextlib.redirect_stdout(io.StringIO())


def run_pycocotools(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    g = COCO(gt)
    e = COCOeval(g, g.loadRes(res), iou)
    return e, e


def run_fce(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    from faster_coco_eval import COCO, COCOeval_faster

    g = COCO(gt)
    e = COCOeval_faster(g, g.loadRes(res), iou, print_function=lambda *a: None)
    return e, e


def run_hotcoco(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    from hotcoco import COCO, COCOeval

    g = COCO(gt)
    e = COCOeval(g, g.loadRes(res), iou)
    return e, e


def run_ultrafast(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    from ultrafast_pycocotools.coco import COCO
    from ultrafast_pycocotools.cocoeval import COCOeval

    g = COCO(gt)
    e = COCOeval(g, g.loadRes(res), iou)
    return e, e


def run_ours(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    from sa1b_rle.coco import COCO
    from sa1b_rle.cocoeval import COCOeval

    g = COCO(gt)
    e = COCOeval(g, g.loadRes(res), iou)
    return e, e


class _Vernier:
    """vernier's native route (bytes in, summary out): evaluate+accumulate is its grid
    evaluation plus accumulation with the files already read."""

    def __init__(self, gt: str, res: str, iou: str, threads: int) -> None:
        self.gt, self.res = Path(gt).read_bytes(), Path(res).read_bytes()
        self.iou, self.threads = iou, threads
        self.stats: Any = None

    def _kw(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"parity_mode": "strict", "use_cats": True}
        if self.iou == "keypoints":
            sig = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62]
            sig += [1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
            kw["sigmas"] = {1: [s / 10.0 for s in sig]}
        return kw

    def evaluate(self) -> None:
        from vernier import _core

        grid = getattr(_core, f"evaluate_{self.iou}_grid")
        md = [20] if self.iou == "keypoints" else [1, 10, 100]
        self._grid = grid(
            self.gt, self.res, max_dets_per_image=md[-1], num_threads=self.threads, **self._kw()
        )
        self._md = md

    def accumulate(self) -> None:
        self._acc = self._grid.accumulate(self._md)

    def summarize(self) -> None:
        from vernier import _core

        summary = getattr(_core, f"evaluate_{self.iou}_summary")
        md = [20] if self.iou == "keypoints" else [1, 10, 100]
        self.stats = np.array(
            summary(self.gt, self.res, max_dets=md, num_threads=self.threads, **self._kw()).stats
        )


def run_vernier(gt: str, res: str, iou: str, threads: int) -> tuple[Any, Any]:
    v = _Vernier(gt, res, iou, threads)
    return v, v


def child(impl: str, gt: str, res: str, iou: str, threads: int, repeat: int) -> None:
    """Times one implementation (prints one JSON line)."""
    run = {
        "pycocotools": run_pycocotools,
        "faster-coco-eval": run_fce,
        "hotcoco": run_hotcoco,
        "ultrafast": run_ultrafast,
        "vernier": run_vernier,
        "sa1b_rle": run_ours,
    }[impl]
    e2e, core, stats, peak = [], [], None, 0.0
    for n in range(repeat):
        if n == 1:
            # The peak of one whole run (later runs overlap the previous one's objects).
            peak = _peak_rss_mb()
        with _quiet():
            t0 = time.perf_counter()
            if impl == "vernier":
                # End to end: the files read and evaluated by the one summary call.
                v = _Vernier(gt, res, iou, threads)
                v.summarize()
                e2e.append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                v.evaluate()
                v.accumulate()
                core.append(time.perf_counter() - t1)
                stats = v.stats
                continue
            e, _ = run(gt, res, iou, threads)
            t1 = time.perf_counter()
            e.evaluate()
            e.accumulate()
            t2 = time.perf_counter()
            e.summarize()
            t3 = time.perf_counter()
        e2e.append(t3 - t0)
        core.append(t2 - t1)
        stats = np.asarray(e.stats, dtype=float)
    peak = peak or _peak_rss_mb()
    out = {
        "e2e": float(np.median(e2e)),
        "core": float(np.median(core)),
        "rss": peak,
        "stats": [float(x) for x in np.asarray(stats, dtype=float)],
    }
    print(json.dumps(out))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss`` it does not
    carry the parent's peak across ``exec``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    impl: str, gt: str, res: str, iou: str, threads: int, repeat: int
) -> dict[str, Any] | str:
    env = dict(os.environ)
    for k in ("SA1B_RLE_NUM_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"):
        env[k] = str(threads)
    args = [sys.executable, __file__, "--child", impl, gt, res, iou, str(threads), str(repeat)]
    p = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["failed"])[-1]
        return last[:80]
    result: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tiles", type=int, default=20)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--workloads", default="coco-tiled,generated,keypoints")
    ap.add_argument("--iou-types", default="segm,bbox,keypoints", help="the iouTypes to time")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        impl, gt, res, iou, threads, repeat = args.child
        child(impl, gt, res, iou, int(threads), int(repeat))
        return
    impls = args.impls.split(",")
    makers = {
        "coco-tiled": (lambda: coco_tiled(args.tiles), ("segm", "bbox")),
        "generated": (lambda: generated(args.images), ("segm", "bbox")),
        "keypoints": (lambda: keypoints(args.images), ("keypoints",)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.workloads.split(","):
            make, iou_types = makers[name]
            gt, res = make()
            gt_path, res_path = Path(tmp) / f"{name}_gt.json", Path(tmp) / f"{name}_res.json"
            gt_path.write_text(json.dumps(gt))
            res_path.write_text(json.dumps(res))
            print(
                f"\n### {name}: {len(gt['images'])} images, {len(gt['annotations'])} ground "
                f"truths, {len(res)} detections (medians of {args.repeat})\n"
            )
            print(
                "| iouType | implementation | end to end 1 thread (s) | 2 threads (s) | "
                "evaluate+accumulate 1 thread (s) | 2 threads (s) | peak RSS (MB) | "
                "stats = pycocotools |"
            )
            print("|---|---|---:|---:|---:|---:|---:|---|")
            for iou in (t for t in iou_types if t in args.iou_types.split(",")):
                want = None
                for impl in impls:
                    cells: list[str] = []
                    got: list[dict[str, Any] | str] = []
                    for threads in (1, 2):
                        if impl == "pycocotools" and threads == 2:
                            got.append(got[0])
                            continue
                        got.append(
                            measure(impl, str(gt_path), str(res_path), iou, threads, args.repeat)
                        )
                    ok = [g for g in got if isinstance(g, dict)]
                    if impl == "pycocotools" and ok:
                        want = ok[0]["stats"]
                    for key in ("e2e", "core"):
                        for g in got:
                            cells.append(f"{g[key]:.3f}" if isinstance(g, dict) else "fails")
                    rss = f"{max(g['rss'] for g in ok):.1f}" if ok else "-"
                    same = all(g["stats"] == want for g in ok) if ok and want is not None else None
                    note = (
                        ""
                        if len(ok) == len(got)
                        else f" ({next(g for g in got if isinstance(g, str))})"
                    )
                    print(f"| {iou} | {impl} | {' | '.join(cells)} | {rss} | {same}{note} |")
                    sys.stdout.flush()


if __name__ == "__main__":
    main()
