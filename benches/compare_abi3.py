"""The paths that read Python numbers one by one (where the stable ABI's function calls
for CPython's macros would show), timed with whatever sa1b_rle is installed: run it once
with the abi3 wheel and once with a wheel built for one CPython version, in the same
environment, to decide between one abi3 wheel and one wheel per version (RESULTS.md)::

    python benches/compare_abi3.py tests/data
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sa1b_rle import mask
from sa1b_rle.coco import COCO


def median_ms(f: Callable[[], Any], n: int = 41) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(data: Path) -> None:
    gt = json.loads((data / "coco_instances_val2014_100.json").read_text())
    res = json.loads((data / "coco_instances_val2014_fakesegm100_results.json").read_text())
    imgs = {i["id"]: i for i in gt["images"]}
    polygons = [
        (a["segmentation"], imgs[a["image_id"]]["height"], imgs[a["image_id"]]["width"])
        for a in gt["annotations"]
        if isinstance(a["segmentation"], list)
    ]
    boxes = [[float(x) for x in a["bbox"]] for a in gt["annotations"]] * 20
    rows: dict[str, Callable[[], Any]] = {
        f"mask.frPyObjects, {len(polygons)} polygons": lambda: [
            mask.frPyObjects(p, h, w) for p, h, w in polygons
        ],
        f"mask.frPyObjects, {len(boxes)} boxes (one call)": lambda: mask.frPyObjects(
            boxes, 480, 640
        ),
        f"COCO(dict), {len(gt['annotations'])} annotations": lambda: COCO(copy.copy(gt)),
        f"loadRes(list), {len(res)} RLE results": lambda: COCO(copy.copy(gt)).loadRes(
            [dict(r) for r in res]
        ),
    }
    for name, f in rows.items():
        print(f"{name}\t{median_ms(f):.3f} ms")


if __name__ == "__main__":
    main(
        Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "tests" / "data")
    )
