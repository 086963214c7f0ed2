"""Writes the sample shard shipped in the package: python/sa1b_rle/data/sa_sample.tar.

Three real photographs (the SAM notebook images, Apache-2.0: see data/NOTICE.md) with
masks from a classical segmentation (scikit-image's Felzenszwalb at three scales, so
masks nest and overlap as SAM's do), written in SA-1B's exact format: ``sa_N.jpg`` and
``sa_N.json`` side by side in an uncompressed tar. Area and bbox are pycocotools' area and
toBbox; predicted_iou and stability_score are seeded random values (there is no model);
point_coords is the mask pixel farthest from its border; crop_box the whole image.

    python scripts/make_sample.py PATH/TO/sam_notebook_images

Needs numpy, scikit-image, scipy and pycocotools (the bench extra). The output is
deterministic for given inputs and library versions.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pycocotools.mask as pm
from scipy import ndimage
from skimage import io as skio
from skimage import segmentation

IMAGES = ["truck.jpg", "dog.jpg", "groceries.jpg"]
SCALES = [(300, 1500), (900, 5000), (3000, 20000)]  # (scale, min_size)
OUT = Path(__file__).resolve().parent.parent / "python" / "sa1b_rle" / "data" / "sa_sample.tar"


def annotations(rgb: np.ndarray, rng: np.random.Generator, first_id: int) -> list[dict]:
    h, w = rgb.shape[:2]
    out = []
    for scale, min_size in SCALES:
        labels = segmentation.felzenszwalb(rgb, scale=scale, sigma=0.8, min_size=min_size)
        for v in np.unique(labels):
            m = labels == v
            if m.sum() < 0.001 * h * w:
                continue
            rle = pm.encode(np.asfortranarray(m.astype(np.uint8)))
            dist = ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
            y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
            out.append(
                {
                    "bbox": [float(v) for v in pm.toBbox(rle)],
                    "area": int(pm.area(rle)),
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "predicted_iou": round(float(rng.uniform(0.75, 1.0)), 6),
                    "point_coords": [[float(x), float(y)]],
                    "crop_box": [0.0, 0.0, float(w), float(h)],
                    "id": first_id + len(out),
                    "stability_score": round(float(rng.uniform(0.85, 1.0)), 6),
                }
            )
    return out


def main(src: Path) -> None:
    rng = np.random.default_rng(20261122)
    members: list[tuple[str, bytes]] = []
    next_id = 1
    for k, name in enumerate(IMAGES, start=1):
        jpg = (src / name).read_bytes()
        rgb = skio.imread(io.BytesIO(jpg))[..., :3]
        h, w = rgb.shape[:2]
        anns = annotations(rgb, rng, next_id)
        next_id += len(anns)
        doc = {
            "image": {"image_id": k, "width": w, "height": h, "file_name": f"sa_{k}.jpg"},
            "annotations": anns,
        }
        members += [(f"sa_{k}.jpg", jpg), (f"sa_{k}.json", json.dumps(doc).encode())]
        print(f"sa_{k}: {name} {h}x{w}, {len(anns)} masks")
    with tarfile.open(OUT, "w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tf.addfile(info, io.BytesIO(data))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/sam_notebook_images"))
