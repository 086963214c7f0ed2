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
    lines += ["", *from_masks_throughput(args.repeat)]
    print("\n".join(lines[-4:]))
    emit(lines, args.markdown)


def from_masks_throughput(repeat: int, copies: int = 10) -> list[str]:
    """images/s of `sa1b-rle from-masks` (instance maps, RLE and polygon output) over a
    directory of the sample's photographs with 10-instance label maps."""
    import io
    import tempfile
    import time

    from PIL import Image

    from sa1b_rle import cli, sa1b

    out = [
        "| `sa1b-rle from-masks --mode instances` | images/s, 1 thread | 2 threads |",
        "|---|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        images, labels = Path(tmp) / "images", Path(tmp) / "labels"
        images.mkdir()
        labels.mkdir()
        n = 0
        for key, jpg, img in sa1b.iter_shard(cli.sample_path()):
            masks = img.decode()
            label = np.zeros((img.height, img.width), np.uint8)
            for v, k in enumerate(np.argsort(-img.area)[2:12], start=1):
                label[masks[k].astype(bool)] = v
            png = io.BytesIO()
            Image.fromarray(label).save(png, "PNG")
            for c in range(copies):
                (images / f"{key}_{c}.jpg").write_bytes(jpg)
                (labels / f"{key}_{c}.png").write_bytes(png.getvalue())
                n += 1
        for fmt in ("rle", "polygon"):
            rates = []
            for threads in (1, 2):
                times = []
                for _ in range(max(3, repeat // 3)):
                    t = time.perf_counter()
                    code = cli.main(
                        ["from-masks", str(images), str(labels), "-o", str(Path(tmp) / "c.json"),
                         "--mode", "instances", "--format", fmt, "--threads", str(threads),
                         "--no-progress"],
                        out=io.StringIO(),
                    )  # fmt: skip
                    times.append(time.perf_counter() - t)
                    assert code == 0
                rates.append(n / sorted(times)[len(times) // 2])
            out.append(f"| {n} images, `--format {fmt}` | {rates[0]:.0f} | {rates[1]:.0f} |")
    return out


if __name__ == "__main__":
    main()
