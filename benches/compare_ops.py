"""Mask operations on runs, side by side: sa1b_rle's RleBatch methods (1 and 2 threads),
rlemasklib's RLEMask methods (one object per mask) and the dense route (decode with
sa1b_rle, OpenCV or numpy, encode with sa1b_rle), on SA-1B-sized masks: the first 60
masks of the sample shard's first image resized to 1500x2250 (nearest).

Each figure is the median of ``--repeat`` runs of the whole batch (milliseconds); the
ratios are rlemasklib's and the dense route's time over sa1b_rle's on one thread.
Equality with the references is the tests' job (tests/test_ops.py).

Run after ``scripts/dev test`` and ``pip install rlemasklib==0.8.1
opencv-python-headless``::

    .venv/bin/python benches/compare_ops.py --repeat 7
"""

from __future__ import annotations

import os

# numpy's OpenBLAS threads spin on the other core after the dense route's calls and
# slow the two-thread column; no operation measured here uses BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import time
from typing import Any

import numpy as np

import sa1b_rle
from sa1b_rle import cli, sa1b


def timed(f: Any, repeat: int) -> tuple[float, Any]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def main() -> None:
    import cv2
    from rlemasklib import RLEMask

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--masks", type=int, default=60)
    args = ap.parse_args()
    _, _, image = next(iter(sa1b.iter_shard(cli.sample_path())))
    batch = image.masks[: args.masks].resize(1500, 2250)
    n, h, w = batch.shape
    dense = batch.decode()
    rl = [RLEMask.from_array(m) for m in dense]
    half = n // 2
    a, b = batch[:half], batch[half : 2 * half]
    # The sample's masks are one component each: the same masks cut by a grid of lines
    # (every 150th row and column) have several (7 on average), for the component rows.
    grid = np.zeros((1, h, w), np.uint8)
    grid[:, ::150, :] = 1
    grid[:, :, ::150] = 1
    cut = batch - sa1b_rle.RleBatch.from_masks(grid)
    rl_cut = [RLEMask.from_array(m) for m in cut.decode()]
    n_cut = len(cut.components(8)[0])
    k3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    k7 = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    e7 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}

    def dense_route(f: Any) -> Any:
        return lambda: sa1b_rle.encode(np.stack([f(m) for m in batch.decode(threads=1)]), threads=1)

    def sam_islands(m: np.ndarray) -> np.ndarray:
        _, lab, stats, _ = cv2.connectedComponentsWithStats(m, 8)
        sizes = stats[1:, -1]
        keep = [i + 1 for i, s in enumerate(sizes) if s >= 400] or [int(np.argmax(sizes)) + 1]
        return np.isin(lab, keep).astype(np.uint8)

    def sam_holes(m: np.ndarray) -> np.ndarray:
        # segment-anything's remove_small_regions(mask, 400, "holes").
        work = (1 - m).astype(np.uint8)
        _, lab, stats, _ = cv2.connectedComponentsWithStats(work, 8)
        sizes = stats[1:, -1]
        small = [i + 1 for i, s in enumerate(sizes) if s < 400]
        return (1 - (work & ~np.isin(lab, small))).astype(np.uint8)

    def cc_dense() -> list[Any]:
        out = []
        for m in batch.decode(threads=1):
            nl, lab = cv2.connectedComponents(m, connectivity=8)
            out += [sa1b_rle.encode((lab == k).astype(np.uint8), threads=1) for k in range(1, nl)]
        return out

    ops: list[tuple[str, Any, Any, Any]] = [
        # (name, ours(threads), rlemasklib, dense)
        (
            "union a \\| b (30 pairs)",
            lambda t: (sa1b_rle.set_num_threads(t), a | b)[1],
            lambda: [x | y for x, y in zip(rl[:half], rl[half:], strict=False)],
            None,
        ),
        (
            "intersection a & b (30 pairs)",
            lambda t: (sa1b_rle.set_num_threads(t), a & b)[1],
            lambda: [x & y for x, y in zip(rl[:half], rl[half:], strict=False)],
            None,
        ),
        (
            "difference a - b (30 pairs)",
            lambda t: (sa1b_rle.set_num_threads(t), a - b)[1],
            lambda: [x - y for x, y in zip(rl[:half], rl[half:], strict=False)],
            None,
        ),
        (
            "xor a ^ b (30 pairs)",
            lambda t: (sa1b_rle.set_num_threads(t), a ^ b)[1],
            lambda: [x ^ y for x, y in zip(rl[:half], rl[half:], strict=False)],
            None,
        ),
        (
            "complement ~m",
            lambda t: (sa1b_rle.set_num_threads(t), ~batch)[1],
            lambda: [~m for m in rl],
            dense_route(lambda m: 1 - m),
        ),
        (
            "shift 7 down, 5 left",
            lambda t: batch.shift(7, -5, threads=t),
            lambda: [m.shift([7, -5]) for m in rl],
            None,
        ),
        (
            "flipud",
            lambda t: batch.flipud(threads=t),
            lambda: [m.flipud() for m in rl],
            dense_route(np.flipud),
        ),
        (
            "fliplr",
            lambda t: batch.fliplr(threads=t),
            lambda: [m.fliplr() for m in rl],
            dense_route(np.fliplr),
        ),
        (
            "transpose",
            lambda t: batch.transpose(threads=t),
            lambda: [m.transpose() for m in rl],
            dense_route(lambda m: np.ascontiguousarray(m.T)),
        ),
        (
            "rot90",
            lambda t: batch.rot90(1, threads=t),
            lambda: [m.rot90(1) for m in rl],
            dense_route(np.rot90),
        ),
        (
            "crop 1000x800",
            lambda t: batch.crop(500, 300, 1000, 800, threads=t),
            lambda: [m.crop(np.array([500, 300, 1000, 800])) for m in rl],
            None,
        ),
        (
            "pad 16 each side",
            lambda t: batch.pad(16, 16, 16, 16, threads=t),
            lambda: [m.pad(16, 16, 16, 16) for m in rl],
            None,
        ),
        (
            "resize to 750x1125",
            lambda t: batch.resize(750, 1125, threads=t),
            lambda: [m.resize((750, 1125)) for m in rl],
            None,
        ),
        (
            "dilate 3x3",
            lambda t: batch.dilate(1, threads=t),
            lambda: [m.dilate3x3() for m in rl],
            dense_route(lambda m: cv2.dilate(m, k3, **border)),
        ),
        (
            "erode 3x3",
            lambda t: batch.erode(1, threads=t),
            lambda: [m.erode3x3() for m in rl],
            dense_route(lambda m: cv2.erode(m, k3, **border)),
        ),
        (
            "dilate 7x7",
            lambda t: batch.dilate(3, threads=t),
            lambda: [m.dilate("square", 7) for m in rl],
            dense_route(lambda m: cv2.dilate(m, k7, **border)),
        ),
        (
            "erode 7x7",
            lambda t: batch.erode(3, threads=t),
            lambda: [m.erode("square", 7) for m in rl],
            dense_route(lambda m: cv2.erode(m, k7, **border)),
        ),
        (
            "dilate disk r=3 (rlemasklib: circle 7)",
            lambda t: batch.dilate(3, "disk", threads=t),
            lambda: [m.dilate("circle", 7) for m in rl],
            dense_route(lambda m: cv2.dilate(m, e7, **border)),
        ),
        (
            "opening 7x7",
            lambda t: batch.opening(3, threads=t),
            lambda: [m.opening("square", 7) for m in rl],
            dense_route(lambda m: cv2.morphologyEx(m, cv2.MORPH_OPEN, k7, **border)),
        ),
        (
            "closing 7x7",
            lambda t: batch.closing(3, threads=t),
            lambda: [m.closing("square", 7) for m in rl],
            dense_route(lambda m: cv2.morphologyEx(m, cv2.MORPH_CLOSE, k7, **border)),
        ),
        (
            "components (8)",
            lambda t: batch.components(8, threads=t),
            lambda: [m.connected_components(connectivity=8) for m in rl],
            cc_dense,
        ),
        (
            "largest_component (8)",
            lambda t: batch.largest_component(8, threads=t),
            lambda: [m.largest_connected_component(connectivity=8) for m in rl],
            None,
        ),
        (
            "remove_small_regions 400 (islands)",
            lambda t: batch.remove_small_regions(400, "islands", threads=t),
            lambda: [m.remove_small_components(400, connectivity=8) for m in rl],
            dense_route(sam_islands),
        ),
        (
            "remove_small_regions 400 (holes; rlemasklib: fill_small_holes)",
            lambda t: batch.remove_small_regions(400, "holes", threads=t),
            lambda: [m.fill_small_holes(400, connectivity=8) for m in rl],
            dense_route(sam_holes),
        ),
        (
            "centroid",
            lambda t: batch.centroid(threads=t),
            lambda: [m.centroid() for m in rl],
            lambda: [np.argwhere(m).mean(0) for m in batch.decode(threads=1)],
        ),
    ]
    # The component operations again on the cut masks (several components each).
    ops[-1:-1] = [
        (
            f"{name}, cut masks"
            + (f" ({n_cut} components)" if name.startswith("components") else ""),
            lambda t, f=ours: f(cut, t),
            lambda f=theirs: [f(m) for m in rl_cut],
            None,
        )
        for name, ours, theirs in [
            (
                "components (8)",
                lambda b, t: b.components(8, threads=t),
                lambda m: m.connected_components(connectivity=8),
            ),
            (
                "largest_component (8)",
                lambda b, t: b.largest_component(8, threads=t),
                lambda m: m.largest_connected_component(connectivity=8),
            ),
            (
                "remove_small_regions 400 (islands)",
                lambda b, t: b.remove_small_regions(400, "islands", threads=t),
                lambda m: m.remove_small_components(400, connectivity=8),
            ),
        ]
    ]
    print(f"\n{n} masks of {h}x{w} (median of {args.repeat}, ms)\n")
    print(
        "| operation | sa1b_rle 1 thread | 2 threads | rlemasklib | dense route "
        "| rlemasklib / ours | dense / ours |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ours, theirs, dense_f in ops:
        t1, _ = timed(lambda f=ours: f(1), args.repeat)
        t2, _ = timed(lambda f=ours: f(2), args.repeat)
        tr, _ = timed(theirs, args.repeat)
        td = timed(dense_f, args.repeat)[0] if dense_f else None
        cells = [f"{t1:.2f}", f"{t2:.2f}", f"{tr:.2f}", f"{td:.1f}" if td else "-"]
        cells += [f"{tr / t1:.2f}x", f"{td / t1:.0f}x" if td else "-"]
        print(f"| {name} | {' | '.join(cells)} |")
    sa1b_rle.set_num_threads(0)
    logits_rows(batch[:8], args.repeat)
    box_nms_rows(args.repeat)


def logits_rows(batch: Any, repeat: int) -> None:
    """From model outputs: float32 logits of 8 of the masks (+-3 with noise, as SAM's
    upscaled logits), thresholded into a batch and scored by stability, against numpy
    (threshold, then encode; segment-anything's calculate_stability_score transcribed
    to numpy with its dtypes)."""
    rng = np.random.default_rng(0)
    dense = batch.decode()
    logits = (dense.astype(np.float32) * 6 - 3) + rng.normal(0, 1, dense.shape).astype(np.float32)
    n, h, w = logits.shape

    def sam_stability() -> Any:
        inter = (logits > 1.0).sum(-1, dtype=np.int16).sum(-1, dtype=np.int32)
        union = (logits > -1.0).sum(-1, dtype=np.int16).sum(-1, dtype=np.int32)
        return inter.astype(np.float32) / union.astype(np.float32)

    rows = [
        (
            "from_logits (> 0)",
            lambda t: sa1b_rle.RleBatch.from_logits(logits, 0.0, threads=t),
            lambda: sa1b_rle.encode(logits > 0, threads=1),
        ),
        (
            "stability_score (offset 1)",
            lambda t: sa1b_rle.stability_score(logits, 0.0, 1.0, threads=t),
            sam_stability,
        ),
    ]
    print(f"\nfrom model outputs: {n} float32 logit maps of {h}x{w} (median of {repeat}, ms)\n")
    print("| operation | sa1b_rle 1 thread | 2 threads | numpy | numpy / ours |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, theirs in rows:
        t1, _ = timed(lambda f=ours: f(1), repeat)
        t2, _ = timed(lambda f=ours: f(2), repeat)
        tn, _ = timed(theirs, repeat)
        print(f"| {name} | {t1:.2f} | {t2:.2f} | {tn:.2f} | {tn / t1:.1f}x |")


def box_nms_rows(repeat: int) -> None:
    """box_nms of 100,000 boxes, most of them kept (uniform positions, small boxes) and
    with sizes spread over three orders of magnitude (many overlapping pairs)."""
    rng = np.random.default_rng(0)
    n = 100_000
    scores = rng.uniform(size=n)
    xy = rng.uniform(0, 10_000, (n, 2))
    small = np.concatenate([xy, xy + rng.uniform(5, 60, (n, 2))], axis=1)
    xy = rng.uniform(0, 2_000, (n, 2))
    spread = np.concatenate([xy, xy + np.exp(rng.uniform(0, 7, (n, 2)))], axis=1)
    print("\nbox_nms of 100,000 boxes (median of", repeat, "runs, s)\n")
    print("| boxes | IoU threshold | kept | sa1b_rle.box_nms (s) |")
    print("|---|---:|---:|---:|")
    for name, boxes, thr in [
        ("uniform, 5-60 px in 10,000 px", small, 0.5),
        ("sizes 1-1,100 px in 2,000 px", spread, 0.7),
    ]:
        t, kept = timed(lambda b=boxes, th=thr: sa1b_rle.box_nms(b, scores, th), repeat)
        print(f"| {name} | {thr} | {len(kept)} | {t / 1000:.3f} |")


if __name__ == "__main__":
    main()
