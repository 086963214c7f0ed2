"""sa1b_rle quickstart: the pycocotools.mask API on real COCO data shipped with the repo.

Run with ``scripts/dev demo`` (or ``python examples/quickstart.py`` once installed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import sa1b_rle
from sa1b_rle import mask

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    with open(SAMPLE / "coco_instances_val2014_fakesegm100_results.json") as f:
        results = json.load(f)
    segs = [r["segmentation"] for r in results]
    print(f"sa1b_rle {sa1b_rle.__version__}: {len(segs)} COCO RLE detections")

    t = time.perf_counter()
    areas = mask.area(segs)
    boxes = mask.toBbox(segs)
    print(f"area/toBbox of all: {1e3 * (time.perf_counter() - t):.2f} ms")
    print(f"  first: area={areas[0]} bbox={boxes[0].tolist()}")

    by_image: dict[int, list[dict]] = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(r["segmentation"])
    image_id, rles = max(by_image.items(), key=lambda kv: len(kv[1]))
    m = mask.decode(rles)
    print(f"image {image_id}: decoded {m.shape} {m.dtype} (Fortran order: {m.flags.f_contiguous})")
    assert mask.encode(m) == [{**r, "counts": r["counts"].encode()} for r in rles]
    print("  re-encoded byte-identically")
    ious = mask.iou(rles, rles, [0] * len(rles))
    print(f"  IoU matrix {ious.shape}, max off-diagonal {np.max(ious - np.eye(len(rles))):.3f}")
    union = mask.merge(rles)
    print(f"  union covers {mask.area(union)} pixels")

    # The batch API: parse once, then decode (N, H, W) C order and IoU in parallel.
    batch = sa1b_rle.RleBatch.from_coco(rles)
    dense = batch.decode(threads=2)
    assert np.array_equal(dense, m.transpose(2, 0, 1))
    assert np.array_equal(sa1b_rle.iou_matrix(batch, batch), ious)
    big = batch[batch.area() > 1000]
    print(f"  RleBatch {batch.shape}: decoded {dense.shape} C order; {len(big)} masks over 1000 px")

    poly = [[10.0, 10.0, 60.5, 12.0, 40.0, 55.5]]
    rle = mask.frPyObjects(poly, 64, 80)[0]
    print(f"polygon -> RLE {rle['counts']!r}, area {mask.area(rle)}")

    try:
        mask.decode({"size": [3, 3], "counts": b"02"})
    except sa1b_rle.RleError as e:
        print(f"bad RLE rejected: {e}")


if __name__ == "__main__":
    main()
