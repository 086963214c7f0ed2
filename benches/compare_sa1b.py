"""SA-1B files and shards: sa1b_rle against json.load + pycocotools, and shard throughput.

    python benches/compare_sa1b.py [--images 4] [--repeat 15] [--markdown FILE]

The annotation files are SA-1B-like: the masks of compare.py's workload (superpixels at
several scales, ~86 of 1500x2250 per image) written in SA-1B's exact format with
pycocotools' area and bbox. The baseline for loading with validation is what a careful
user does today: ``json.load``, then pycocotools ``area`` and ``toBbox`` of every
annotation compared with the stored values.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import tarfile
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
from compare import compare, emit, sa1b_like_masks

import sa1b_rle
from sa1b_rle import sa1b


def sa1b_doc(image_id: int) -> dict[str, Any]:
    masks = np.asfortranarray(sa1b_like_masks(image_id).transpose(1, 2, 0)).view(np.uint8)
    rles = pm.encode(masks)
    h, w = masks.shape[:2]
    boxes, areas = pm.toBbox(rles), pm.area(rles)
    rng = np.random.default_rng(image_id)
    anns = []
    for i, r in enumerate(rles):
        x, y, bw, bh = (float(v) for v in boxes[i])
        anns.append(
            {
                "bbox": [x, y, bw, bh],
                "area": int(areas[i]),
                "segmentation": {"size": [h, w], "counts": r["counts"].decode()},
                "predicted_iou": float(rng.uniform(0.8, 1.0)),
                "point_coords": [[x + bw / 2, y + bh / 2]],
                "crop_box": [0.0, 0.0, float(w), float(h)],
                "id": 1000 * image_id + i,
                "stability_score": float(rng.uniform(0.85, 1.0)),
            }
        )
    image = {"image_id": image_id, "width": w, "height": h, "file_name": f"sa_{image_id}.jpg"}
    return {"image": image, "annotations": anns}


def pycocotools_checked_load(data: bytes) -> int:
    """json.load, then area and toBbox of every annotation checked against the file."""
    doc = json.loads(data)
    anns = doc["annotations"]
    rles = [
        {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
        for a in anns
    ]
    ok = np.array_equal(pm.area(rles), [a["area"] for a in anns])
    ok &= np.array_equal(pm.toBbox(rles), np.array([a["bbox"] for a in anns]))
    assert ok
    return len(anns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()

    files = [json.dumps(sa1b_doc(i)).encode() for i in range(args.images)]
    data = files[0]
    n_masks = len(json.loads(data)["annotations"])
    lines = [
        f"sa1b_rle {sa1b_rle.__version__}; pycocotools {version('pycocotools')}; numpy "
        f"{np.__version__}; Python {platform.python_version()}; {n_masks} masks of 1500x2250, "
        f"{len(data) / 1e6:.2f} MB per file; median of {args.repeat}",
        "",
        "| operation | baseline (ms) | sa1b_rle (ms) | ratio |",
        "|---|---:|---:|---:|",
    ]

    for name, ours in (
        ("load + validate one file", lambda: len(sa1b.load(data))),
        ("load without validation", lambda: len(sa1b.load(data, validate=False))),
        ("validate (report)", lambda: len(sa1b.validate(data))),
    ):
        _, tr, to = compare(name, lambda: pycocotools_checked_load(data), ours, args.repeat)
        lines.append(
            f"| {name} vs json.load + pycocotools area/toBbox checks | "
            f"{tr * 1e3:.2f} | {to * 1e3:.2f} | {tr / to:.1f}x |"
        )
        print(lines[-1], flush=True)

    # A shard of these files with 1.5 MB image payloads (random bytes: never decoded).
    with tempfile.TemporaryDirectory() as tmp:
        shard = Path(tmp) / "sa_000000.tar"
        rng = np.random.default_rng(0)
        payload = rng.integers(0, 256, 1_500_000, dtype=np.uint8).tobytes()
        copies = 40
        with tarfile.open(shard, "w") as tf:
            for k in range(copies):
                for name, blob in (
                    (f"sa_{k}.jpg", payload),
                    (f"sa_{k}.json", files[k % len(files)]),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(blob)
                    tf.addfile(info, io.BytesIO(blob))
        size = shard.stat().st_size
        json_bytes = sum(len(files[k % len(files)]) for k in range(copies))
        for images in (False, True):
            times = []
            for _ in range(max(3, args.repeat // 3)):
                t = time.perf_counter()
                n = sum(1 for _ in sa1b.iter_shard(shard, images=images))
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            assert n == copies
            lines.append(
                f"| iter_shard(images={images}) over a {size / 1e6:.0f} MB shard of {copies} "
                f"samples | - | {med * 1e3:.1f} | {copies / med:.0f} files/s, "
                f"{size / med / 1e6:.0f} MB/s of shard "
                f"({json_bytes / med / 1e6:.0f} MB/s of JSON) |"
            )
            print(lines[-1], flush=True)
    emit(lines, args.markdown)


if __name__ == "__main__":
    main()
