"""Side-by-side benchmark: sa1b_rle.mask against pycocotools.mask on SA-1B-like data.

Workload: images of 1500x2250 with ~100 masks each, made from segments of real
photographs (scikit-image's sample images, segmented with SLIC at three scales so mask
sizes range from a few hundred pixels to a third of the image), plus the 830 real COCO
polygon annotations shipped in tests/data for the polygon path.

Every timing is the median of several samples (short operations looped to >= 50 ms a
sample), the two libraries interleaved in one process, single-threaded. Decode figures
include a full read of the output (np.count_nonzero), since a decoder that returns lazily
zeroed pages defers cost to its reader.

    python benches/compare.py [--images 2] [--repeat 7] [--markdown benches/out/table.md]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm

import sa1b_rle
from sa1b_rle import mask as sm

H, W = 1500, 2250
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def sa1b_like_masks(image_index: int, n_masks: int = 100) -> np.ndarray:
    """(n, H, W) bool masks: SLIC segments of a sample photograph at three scales."""
    from skimage import data, segmentation, transform

    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"]
    img = getattr(data, names[image_index % len(names)])()
    small = transform.resize(img, (H // 2, W // 2), anti_aliasing=True)
    rng = np.random.default_rng(image_index)
    masks: list[np.ndarray] = []
    for n_segments, share in ((12, 0.12), (60, 0.38), (300, 0.5)):
        labels = segmentation.slic(small, n_segments=n_segments, compactness=8, start_label=0)
        labels = labels.repeat(2, axis=0).repeat(2, axis=1)
        ids = rng.permutation(labels.max() + 1)[: int(n_masks * share)]
        masks += [labels == i for i in ids]
    out = np.stack(masks[:n_masks])
    return out


def sample(fn: Callable[[], Any], loops: int) -> float:
    """Seconds per call of ``fn`` over ``loops`` back-to-back calls."""
    gc.collect()
    t = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t) / loops


def compare(
    name: str, ref: Callable[[], Any], ours: Callable[[], Any], repeat: int
) -> tuple[str, float, float]:
    """Median seconds per call of each, samples interleaved (ref, ours, ref, ...) so drift
    on a noisy machine hits both; short operations are looped to >= 50 ms a sample."""
    loops = max(1, math.ceil(0.05 / max(sample(ref, 1), 1e-6)))
    tr, to = [], []
    for _ in range(repeat):
        tr.append(sample(ref, loops))
        to.append(sample(ours, loops))
    return name, statistics.median(tr), statistics.median(to)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument(
        "--only", default="", help="run only the operations whose name contains this text"
    )
    args = ap.parse_args()

    images = [sa1b_like_masks(i) for i in range(args.images)]
    fortran = [np.asfortranarray(m.transpose(1, 2, 0)).view(np.uint8) for m in images]
    c_order = [np.ascontiguousarray(m).view(np.uint8) for m in images]
    rles = [pm.encode(f) for f in fortran]
    assert all(sm.encode(f) == r for f, r in zip(fortran, rles, strict=True))
    n_masks = sum(len(r) for r in rles)
    mean_chars = np.mean([len(x["counts"]) for r in rles for x in r])
    flat = [m.reshape(len(m), -1) for m in (im.transpose(0, 2, 1) for im in images)]
    mean_runs = np.mean([np.count_nonzero(np.diff(f, axis=1), axis=1).mean() + 1 for f in flat])
    a, b = rles[0], rles[1 % len(rles)]
    zeros = [0] * len(a)

    with open(DATA / "coco_instances_val2014_100.json") as f:
        inst = json.load(f)
    dims = {im["id"]: (im["height"], im["width"]) for im in inst["images"]}
    polys = [(x["segmentation"], *dims[x["image_id"]]) for x in inst["annotations"]]
    polys = [p for p in polys if isinstance(p[0], list)]

    def decode_read(mod: Any) -> Callable[[], Any]:
        def run() -> None:
            for r in rles:
                np.count_nonzero(mod.decode(r))

        return run

    def encode_f(mod: Any) -> Callable[[], Any]:
        return lambda: [mod.encode(f) for f in fortran]

    def poly_run(mod: Any) -> Callable[[], Any]:
        return lambda: [mod.merge(mod.frPyObjects(p, h, w)) for p, h, w in polys]

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], int]] = [
        ("decode + full read", decode_read(pm), decode_read(sm), args.repeat),
        ("encode (h,w,n) Fortran uint8", encode_f(pm), encode_f(sm), args.repeat),
        (
            "encode (n,h,w) C-order (pycocotools needs asfortranarray)",
            lambda: [pm.encode(np.asfortranarray(c.transpose(1, 2, 0))) for c in c_order],
            lambda: [sm.encode(c.transpose(1, 2, 0)) for c in c_order],
            args.repeat,
        ),
        (
            "encode (n,h,w) C-order vs pycocotools on its (h,w,n) Fortran input",
            encode_f(pm),
            lambda: [sm.encode(c.transpose(1, 2, 0)) for c in c_order],
            args.repeat,
        ),
        (
            "iou, an image's masks vs themselves",
            lambda: pm.iou(a, a, zeros),
            lambda: sm.iou(a, a, zeros),
            args.repeat,
        ),
        (
            "iou, vs another image's masks",
            lambda: pm.iou(a, b, [0] * len(b)),
            lambda: sm.iou(a, b, [0] * len(b)),
            args.repeat,
        ),
        (
            "counts string parse + serialize (merge([r]) per mask)",
            lambda: [pm.merge([r]) for r in a],
            lambda: [sm.merge([r]) for r in a],
            args.repeat,
        ),
        (
            f"frPyObjects, {len(polys)} real COCO polygon annotations",
            lambda: [pm.frPyObjects(p, h, w) for p, h, w in polys],
            lambda: [sm.frPyObjects(p, h, w) for p, h, w in polys],
            args.repeat,
        ),
        (
            f"frPyObjects + merge (COCO annToRLE), {len(polys)} annotations",
            poly_run(pm),
            poly_run(sm),
            args.repeat,
        ),
        ("area (list of dicts)", lambda: pm.area(a), lambda: sm.area(a), args.repeat),
        ("toBbox (list of dicts)", lambda: pm.toBbox(a), lambda: sm.toBbox(a), args.repeat),
        ("merge (union of an image's masks)", lambda: pm.merge(a), lambda: sm.merge(a), 5),
    ]
    rows = [compare(*case) for case in cases if args.only in case[0]]

    header = (
        f"sa1b_rle {sa1b_rle.__version__} vs pycocotools {version('pycocotools')}; "
        f"numpy {np.__version__}; Python {platform.python_version()}; "
        f"{args.images} image(s) of {H}x{W}, {n_masks} masks, "
        f"{mean_runs:.0f} runs and {mean_chars:.0f} counts characters per mask on average; "
        f"median of {args.repeat}; single thread"
    )
    lines = [
        header,
        "",
        "| operation | pycocotools (ms) | sa1b_rle.mask (ms) | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, tr, to in rows:
        lines.append(f"| {name} | {tr * 1e3:.2f} | {to * 1e3:.2f} | {tr / to:.1f}x |")
    emit(lines, args.markdown)


def emit(lines: list[str], markdown: Path | None) -> None:
    """Print the table and, if asked, write it as a markdown file."""
    text = "\n".join(lines)
    print(text)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
