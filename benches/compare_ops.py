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
    k3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    k7 = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}

    def dense_route(f: Any) -> Any:
        return lambda: sa1b_rle.encode(np.stack([f(m) for m in batch.decode(threads=1)]), threads=1)

    def sam_islands(m: np.ndarray) -> np.ndarray:
        _, lab, stats, _ = cv2.connectedComponentsWithStats(m, 8)
        sizes = stats[1:, -1]
        keep = [i + 1 for i, s in enumerate(sizes) if s >= 400] or [int(np.argmax(sizes)) + 1]
        return np.isin(lab, keep).astype(np.uint8)

    def cc_dense() -> list[Any]:
        out = []
        for m in batch.decode(threads=1):
            nl, lab = cv2.connectedComponents(m, connectivity=8)
            out += [sa1b_rle.encode((lab == k).astype(np.uint8), threads=1) for k in range(1, nl)]
        return out

    ops: list[tuple[str, Any, Any, Any]] = [
        # (name, ours(threads), rlemasklib, dense)
        (
            "union a | b (30 pairs)",
            lambda t: a | b,
            lambda: [x | y for x, y in zip(rl[:half], rl[half:], strict=False)],
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
            "centroid",
            lambda t: batch.centroid(threads=t),
            lambda: [m.centroid() for m in rl],
            lambda: [np.argwhere(m).mean(0) for m in batch.decode(threads=1)],
        ),
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
        cells = [f"{t1:.1f}", f"{t2:.1f}", f"{tr:.1f}", f"{td:.1f}" if td else "-"]
        cells += [f"{tr / t1:.1f}x", f"{td / t1:.1f}x" if td else "-"]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
