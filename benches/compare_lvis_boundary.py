"""LVIS and Boundary IoU evaluation end to end, side by side, each implementation in a
process of its own, on the same files, with 1 and 2 threads.

- ``lvis``: a generated federated LVIS set (``--images`` images, default 1,500, at
  640x480; 300 categories of each frequency; polygons; negative and not-exhaustive
  lists) and segmentation results (about ``--dets`` per image, default 40: jittered
  ground truths, negative categories and strays, as RLEs). Timed: load the annotation
  file, load the results, ``run()`` (evaluate, accumulate, summarize). lvis-api 0.5.3
  (its ``np.float`` restored, as in the tests), hotcoco's ``LVISeval``,
  faster-coco-eval's ``lvis_style`` and ``sa1b_rle.lvis``; each one's 13 results
  compared with lvis-api's.
- ``boundary``: the COCO val2014 sample of ``tests/data`` tiled ``--tiles`` times
  (default 10: 1,000 images) and its RLE results (with their boxes, which vernier
  needs; loadRes then takes each result's area from its box), ``iouType="boundary"`` at dilation
  ratio 0.02. Timed: load, loadRes, the boundaries, evaluate, accumulate, summarize.
  boundary-iou-api (its ``mask_to_boundary`` on each annotation in a process pool of
  the machine's cores, as its ``COCO(get_boundary=True)`` does, then its ``COCOeval``;
  vendored in ``tests/_boundary_reference.py``), faster-coco-eval, vernier and
  sa1b_rle; each one's 12 stats compared with boundary-iou-api's.

Run after ``scripts/dev test`` and ``pip install faster-coco-eval==1.8.0 hotcoco==1.3.0
vernier==0.5.4``::

    .venv/bin/python benches/compare_lvis_boundary.py --repeat 5

Thread counts are set through ``SA1B_RLE_NUM_THREADS``, ``RAYON_NUM_THREADS`` and
``OMP_NUM_THREADS`` (vernier's ``num_threads``; faster-coco-eval's boundary worker
count). The references run once (minutes); the others ``--repeat`` times (median).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from compare_eval import _peak_rss_mb, coco_tiled, polygon

LVIS_IMPLS = ["lvis-api", "hotcoco", "faster-coco-eval", "sa1b_rle"]
BOUNDARY_IMPLS = ["boundary-iou-api", "faster-coco-eval", "vernier", "sa1b_rle"]
REFERENCES = ("lvis-api", "boundary-iou-api")
# lvis-api's 13 results, and faster-coco-eval's names for them.
LVIS_KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf"]
LVIS_KEYS += ["AR@300", "ARs@300", "ARm@300", "ARl@300"]
FCE_KEYS = ["AP_all", "AP_50", "AP_75", "AP_small", "AP_medium", "AP_large", "APr", "APc"]
FCE_KEYS += ["APf", "AR_second", "AR_small", "AR_medium", "AR_large"]


# --------------------------------------------------------------------------- workloads


def lvis_workload(
    n_images: int, dets: int, seed: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import pycocotools.mask as pm

    rng = np.random.default_rng(seed)
    n_cats = 300
    cats = [
        {"id": c, "name": f"c{c}", "synset": f"s{c}", "frequency": "rcf"[c % 3]}
        for c in range(1, n_cats + 1)
    ]
    images, anns, results = [], [], []
    for i in range(1, n_images + 1):
        h, w = 480, 640
        present = sorted({int(c) for c in rng.integers(1, n_cats + 1, int(rng.integers(1, 5)))})
        objects = []
        for c in present:
            for _ in range(int(rng.integers(1, 4))):
                poly = polygon(rng, h, w, float(rng.uniform(20, 200)))
                rle = pm.merge(pm.frPyObjects([poly], h, w))
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": i,
                        "category_id": c,
                        "segmentation": [poly],
                        "area": float(pm.area(rle)),
                        "bbox": [float(v) for v in pm.toBbox(rle)],
                    }
                )
                objects.append((c, poly))
        others = [c for c in range(1, n_cats + 1) if c not in present]
        neg = sorted(int(c) for c in rng.choice(others, 6, replace=False))
        nel = [c for c in present if rng.random() < 0.2]
        images.append(
            {
                "id": i,
                "height": h,
                "width": w,
                "neg_category_ids": neg,
                "not_exhaustive_category_ids": nel,
                "coco_url": f"http://images.example/{i:012d}.jpg",
            }
        )
        for _ in range(int(rng.integers(dets // 2, dets * 3 // 2 + 1))):
            u = rng.random()
            if u < 0.6 and objects:
                c, poly = objects[int(rng.integers(len(objects)))]
                poly = list(np.asarray(poly) + rng.normal(0, 4, len(poly)))
            else:
                c = int(rng.choice(neg)) if u < 0.8 else int(rng.integers(1, n_cats + 1))
                poly = polygon(rng, h, w, float(rng.uniform(20, 200)))
            rle = pm.merge(pm.frPyObjects([[float(v) for v in poly]], h, w))
            results.append(
                {
                    "image_id": i,
                    "category_id": c,
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "score": round(float(rng.random()), 3),
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, results


# --------------------------------------------------------------------------- runners


def lvis_run(impl: str, gt: str, res: str, iou: str, threads: int) -> list[float]:
    """Loads and runs one LVIS evaluation; its 13 results."""
    if impl == "lvis-api":
        from _lvis_reference import load

        LVIS, LVISResults, LVISEval = load()
        g = LVIS(gt)
        e = LVISEval(g, LVISResults(g, res), iou)
        e.run()
        return [float(e.results[k]) for k in LVIS_KEYS]
    if impl == "hotcoco":
        import hotcoco

        g = hotcoco.COCO(gt)
        e = hotcoco.LVISeval(g, g.load_res(res), iou)
        e.run()
        got = e.get_results()
        return [float(got[k]) for k in LVIS_KEYS]
    if impl == "faster-coco-eval":
        from faster_coco_eval import COCO, COCOeval_faster

        g = COCO(gt)
        e = COCOeval_faster(g, g.loadRes(res), iou, lvis_style=True, print_function=print)
        e.run()
        return [float(e.stats_as_dict[k]) for k in FCE_KEYS]
    from sa1b_rle.lvis import LVIS, LVISEval, LVISResults

    g = LVIS(gt)
    e = LVISEval(g, LVISResults(g, res), iou)
    e.run()
    return [float(e.results[k]) for k in LVIS_KEYS]


def _augment_part(part: list[dict[str, Any]], coco: Any, ratio: float) -> list[dict[str, Any]]:
    """boundary-iou-api's augment_annotations_with_boundary_single_core."""
    import _boundary_reference as ref
    import pycocotools.mask as mask_utils

    out = []
    for ann in part:
        b = ref.mask_to_boundary(coco.annToMask(ann), ratio)
        ann["boundary"] = mask_utils.encode(np.array(b[:, :, None], order="F", dtype="uint8"))[0]
        out.append(ann)
    return out


def _augment(coco: Any, ratio: float) -> None:
    """boundary-iou-api's augment_annotations_with_boundary_multi_core: the annotations
    split over a pool of the machine's cores."""
    import multiprocessing

    n = multiprocessing.cpu_count()
    parts = np.array_split(np.array(coco.dataset["annotations"], dtype=object), n)
    with multiprocessing.Pool(processes=n) as pool:
        jobs = [pool.apply_async(_augment_part, (list(p), coco, ratio)) for p in parts]
        coco.dataset["annotations"] = [a for j in jobs for a in j.get()]
    coco.createIndex()
    coco.get_boundary = True


def boundary_run(impl: str, gt: str, res: str, threads: int) -> list[float]:
    """Loads and runs one Boundary IoU evaluation; its 12 stats."""
    ratio = 0.02
    if impl == "boundary-iou-api":
        import _boundary_reference as ref
        from pycocotools.coco import COCO

        g = COCO(gt)
        d = g.loadRes(res)
        _augment(g, ratio)
        _augment(d, ratio)
        e = ref.COCOeval(g, d, "boundary", dilation_ratio=ratio)
    elif impl == "faster-coco-eval":
        from faster_coco_eval import COCO, COCOeval_faster

        g = COCO(gt)
        e = COCOeval_faster(
            g,
            g.loadRes(res),
            "boundary",
            boundary_dilation_ratio=ratio,
            boundary_cpu_count=threads,
            print_function=lambda *a: None,
        )
    elif impl == "vernier":
        from vernier import _core

        s = _core.evaluate_boundary_summary(
            Path(gt).read_bytes(),
            Path(res).read_bytes(),
            max_dets=[1, 10, 100],
            num_threads=threads,
            parity_mode="strict",
            use_cats=True,
            dilation_ratio=ratio,
        )
        return [float(x) for x in s.stats]
    else:
        from sa1b_rle.coco import COCO
        from sa1b_rle.cocoeval import COCOeval

        g = COCO(gt)
        e = COCOeval(g, g.loadRes(res), "boundary", dilation_ratio=ratio)
    e.evaluate()
    e.accumulate()
    e.summarize()
    return [float(x) for x in e.stats]


def child(kind: str, impl: str, gt: str, res: str, iou: str, threads: int, repeat: int) -> None:
    logging.disable(logging.WARNING)
    times, stats, peak = [], None, 0.0
    for n in range(1 if impl in REFERENCES else repeat):
        if n == 1:
            peak = _peak_rss_mb()
        with contextlib.redirect_stdout(io.StringIO()):
            t0 = time.perf_counter()
            if kind == "lvis":
                stats = lvis_run(impl, gt, res, iou, threads)
            else:
                stats = boundary_run(impl, gt, res, threads)
            times.append(time.perf_counter() - t0)
    out = {"e2e": float(np.median(times)), "rss": peak or _peak_rss_mb(), "stats": stats}
    print(json.dumps(out))


def measure(kind: str, impl: str, gt: str, res: str, iou: str, threads: int, repeat: int) -> Any:
    env = dict(os.environ)
    for k in ("SA1B_RLE_NUM_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"):
        env[k] = str(threads)
    args = [sys.executable, __file__, "--child", kind, impl, gt, res, iou]
    args += [str(threads), str(repeat)]
    p = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        return ((p.stderr.strip().splitlines() or ["failed"])[-1])[:80]
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(kind: str, impls: list[str], gt: str, res: str, iou: str, repeat: int) -> None:
    print(
        f"| {kind} {iou} | end to end 1 thread (s) | 2 threads (s) | vs reference (2 threads) "
        "| peak RSS (MB) | stats = reference |"
    )
    print("|---|---:|---:|---:|---:|---|")
    want, ref_time = None, None
    for impl in impls:
        got = [measure(kind, impl, gt, res, iou, t, repeat) for t in (1, 2)]
        ok = [g for g in got if isinstance(g, dict)]
        if impl in REFERENCES and ok:
            want, ref_time = ok[0]["stats"], ok[-1]["e2e"]
        cells = [f"{g['e2e']:.3f}" if isinstance(g, dict) else f"fails ({g})" for g in got]
        ratio = (
            f"{ref_time / got[1]['e2e']:.1f}x"
            if isinstance(got[1], dict) and ref_time and impl not in REFERENCES
            else "-"
        )
        rss = f"{max(g['rss'] for g in ok):.0f}" if ok else "-"
        same: Any = "-"
        if want and ok:
            diff = max(float(np.max(np.abs(np.subtract(g["stats"], want)))) for g in ok)
            same = True if diff == 0 else f"False (up to {diff:.2g} apart)"
        print(f"| {impl} | {' | '.join(cells)} | {ratio} | {rss} | {same} |")
        sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=1500)
    ap.add_argument("--dets", type=int, default=40)
    ap.add_argument("--tiles", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workloads", default="lvis,boundary")
    ap.add_argument("--lvis-impls", default=",".join(LVIS_IMPLS))
    ap.add_argument("--boundary-impls", default=",".join(BOUNDARY_IMPLS))
    ap.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, impl, gt, res, iou, threads, repeat = args.child
        child(kind, impl, gt, res, iou, int(threads), int(repeat))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.workloads.split(","):
            if kind == "lvis":
                gt, res = lvis_workload(args.images, args.dets)
                impls = args.lvis_impls.split(",")
            else:
                gt, res = coco_tiled(args.tiles)
                impls = args.boundary_impls.split(",")
                # Boxes too (as detectors write them; vernier needs them).
                import pycocotools.mask as pm

                for r in res:
                    r["bbox"] = [float(v) for v in pm.toBbox(r["segmentation"])]
            gt_path, res_path = Path(tmp) / f"{kind}_gt.json", Path(tmp) / f"{kind}_res.json"
            gt_path.write_text(json.dumps(gt))
            res_path.write_text(json.dumps(res))
            print(
                f"\n### {kind}: {len(gt['images'])} images, {len(gt['categories'])} categories, "
                f"{len(gt['annotations'])} ground truths, {len(res)} results "
                f"(medians of {args.repeat}; the reference once)\n"
            )
            table(kind, impls, str(gt_path), str(res_path), "segm", args.repeat)


if __name__ == "__main__":
    main()
