"""Instance label maps to COCO RLE: sa1b_rle.from_label_image against the usual loop.

    python benches/compare_labels.py [--repeat 7] [--markdown FILE]

The label map is 1500x2250 with ~100 instances (SLIC superpixels of a sample photograph,
as in compare.py). The usual loop: ``np.unique``, then per value
``pycocotools.mask.encode(np.asfortranarray(label == v))``.
"""

from __future__ import annotations

import argparse
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pycocotools.mask as pm
from compare import H, W, compare, emit

import sa1b_rle


def label_map() -> np.ndarray:
    from skimage import data, segmentation, transform

    small = transform.resize(data.astronaut(), (H // 2, W // 2), anti_aliasing=True)
    labels = segmentation.slic(small, n_segments=110, compactness=8, start_label=1)
    return labels.repeat(2, axis=0).repeat(2, axis=1).astype(np.uint16)


def usual_loop(label: np.ndarray) -> list[dict[str, bytes]]:
    return [
        pm.encode(np.asfortranarray((label == v).astype(np.uint8)))
        for v in np.unique(label)
        if v != 0
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    label = label_map()
    n = len(np.unique(label))
    _, masks = sa1b_rle.from_label_image(label)
    assert masks.to_coco(counts="bytes") == usual_loop(label)
    lines = [
        f"sa1b_rle {sa1b_rle.__version__}; pycocotools {version('pycocotools')}; numpy "
        f"{np.__version__}; Python {platform.python_version()}; {label.shape[0]}x"
        f"{label.shape[1]} uint16 label map, {n} instances; median of {args.repeat}",
        "",
        "| operation | usual loop (ms) | sa1b_rle (ms) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, src in (("C order", label), ("Fortran order", np.asfortranarray(label))):
        _, tr, to = compare(
            name,
            lambda s=src: usual_loop(s),
            lambda s=src: sa1b_rle.from_label_image(s),
            args.repeat,
        )
        lines.append(
            f"| from_label_image, {name} | {tr * 1e3:.1f} | {to * 1e3:.2f} | {tr / to:.0f}x |"
        )
        print(lines[-1], flush=True)
    emit(lines, args.markdown)


if __name__ == "__main__":
    main()
