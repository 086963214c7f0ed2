"""The ``sa1b-rle`` command: inspect, validate, summarise, convert and show SA-1B data.

PATH is an SA-1B annotation file (``sa_N.json``), a directory of them and/or of shards,
a shard (``.tar``, gzip or not), or ``@sample``: the sample shard shipped with the
package, which every command reads when no PATH is given. Run ``sa1b-rle COMMAND
--help`` for each command's options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any, TextIO

import numpy as np

import sa1b_rle
from sa1b_rle import _core, sa1b

SAMPLE = "@sample"


def sample_path() -> str:
    """The sample shard shipped with the package (``@sample``): three SAM demo photographs
    with masks of a classical segmentation in SA-1B's format (``data/NOTICE.md``)."""
    return str(resources.files("sa1b_rle") / "data" / "sa_sample.tar")


def _paths(paths: Sequence[str]) -> list[str]:
    """The paths given, ``@sample`` resolved; the sample when none is given."""
    return [sample_path() if p == SAMPLE else p for p in paths] or [sample_path()]


class Progress:
    """A one-line progress counter on stderr (only when it is a terminal)."""

    def __init__(self, total: int | None, what: str, enabled: bool) -> None:
        self.total, self.what, self.done = total, what, 0
        self.enabled = enabled and sys.stderr.isatty()
        self.start = self.last = time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            rate = self.done / max(now - self.start, 1e-9)
            sys.stderr.write(f"\r{self.done}{of} {self.what} ({rate:.0f}/s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _images(
    paths: Sequence[str], errors: list[tuple[str, str]], progress: bool
) -> Iterator[tuple[str, sa1b.Sa1bImage]]:
    sources = sa1b.expand_sources(_paths(paths))
    bar = Progress(None, "images", progress)
    try:
        for name, image in sa1b.iter_images(
            [p for p, _ in sources], on_error="collect", errors=errors
        ):
            bar.step()
            yield name, image
    finally:
        bar.close()


def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    errors: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    for name, img in _images(args.paths, errors, args.progress):
        rows.append(
            {
                "source": name,
                "image_id": img.image_id,
                "file_name": img.file_name,
                "height": img.height,
                "width": img.width,
                "masks": len(img),
            }
        )
    if args.json:
        out.write(json.dumps({"images": rows, "errors": errors}) + "\n")
    else:
        for r in rows:
            out.write(
                f"{r['source']}: image {r['image_id']} ({r['file_name']}), "
                f"{r['height']}x{r['width']}, {r['masks']} masks\n"
            )
        n = sum(int(r["masks"]) for r in rows)
        out.write(f"{len(rows)} images, {n} masks")
        out.write(f", {len(errors)} unreadable (run validate)\n" if errors else "\n")
    return 1 if errors else 0


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    problems: list[dict[str, Any]] = []
    checked = 0
    bar = Progress(None, "files", args.progress)
    for path, shard in sa1b.expand_sources(_paths(args.paths)):
        if shard:
            reader = sa1b.iter_shard(path, images=False, on_error="collect")
            for _ in reader:
                checked += 1
                bar.step()
            for member, message in reader.errors:
                problems.append({"file": f"{path}:{member}", "message": message})
            continue
        report = sa1b.validate(path)
        checked += 1
        bar.step()
        problems.extend(p.to_dict() for p in report)
    bar.close()
    if args.json:
        out.write(json.dumps({"checked": checked, "problems": problems}) + "\n")
    else:
        for p in problems:
            if "code" in p:
                out.write(str(sa1b.Problem(**p)) + "\n")
            else:
                out.write(f"{p['file']}: {p['message']}\n")
        status = f"{len(problems)} problems" if problems else "no problems"
        out.write(f"{checked} annotation files checked: {status}\n")
    return 1 if problems else 0


def _quantiles(x: np.ndarray) -> dict[str, float]:
    if len(x) == 0:
        return {}
    q = np.quantile(x, [0.0, 0.05, 0.5, 0.95, 1.0])
    return {k: float(v) for k, v in zip(("min", "p5", "median", "p95", "max"), q, strict=True)} | {
        "mean": float(np.mean(x))
    }


def _cat(xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(xs) if xs else np.zeros(0)


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    errors: list[tuple[str, str]] = []
    per_image, piou, stab, area, rel_area = [], [], [], [], []
    decode_s, decoded_px, decoded_masks = 0.0, 0, 0
    for _, img in _images(args.paths, errors, args.progress):
        per_image.append(len(img))
        piou.append(img.predicted_iou)
        stab.append(img.stability_score)
        area.append(img.area)
        rel_area.append(img.area / max(1, img.height * img.width))
        if len(img) and not args.no_decode:
            t = time.perf_counter()
            img.decode()
            decode_s += time.perf_counter() - t
            decoded_px += len(img) * img.height * img.width
            decoded_masks += len(img)
    stats: dict[str, Any] = {
        "images": len(per_image),
        "masks": int(sum(per_image)),
        "masks_per_image": _quantiles(np.array(per_image, float)),
        "predicted_iou": _quantiles(_cat(piou)),
        "stability_score": _quantiles(_cat(stab)),
        "area": _quantiles(_cat(area)),
        "area_fraction_of_image": _quantiles(_cat(rel_area)),
        "unreadable": len(errors),
        "threads": sa1b_rle.get_num_threads(),
    }
    if decode_s > 0:
        stats["decode"] = {
            "masks_per_second": decoded_masks / decode_s,
            "megapixels_per_second": decoded_px / decode_s / 1e6,
        }
    if args.json:
        out.write(json.dumps(stats) + "\n")
        return 1 if errors else 0
    out.write(f"{stats['images']} images, {stats['masks']} masks")
    out.write(f" ({len(errors)} unreadable: run validate)\n" if errors else "\n")
    for key in (
        "masks_per_image",
        "predicted_iou",
        "stability_score",
        "area",
        "area_fraction_of_image",
    ):
        q = stats[key]
        if q:
            cells = "  ".join(f"{k} {v:.4g}" for k, v in q.items())
            out.write(f"{key:24s} {cells}\n")
    if "decode" in stats:
        d = stats["decode"]
        out.write(
            f"decode ({stats['threads']} threads): {d['masks_per_second']:.0f} masks/s, "
            f"{d['megapixels_per_second']:.0f} Mpixel/s\n"
        )
    return 1 if errors else 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("min_predicted_iou", "min_stability_score", "min_area", "max_area")
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    paths = _paths(args.paths)
    summary = sa1b.to_coco(
        paths,
        args.output,
        filter=_filters(args) or None,
        category=args.category,
        on_error="collect" if args.keep_going else "raise",
    )
    for name, message in summary.errors:
        out.write(f"skipped {name}: {message}\n")
    out.write(
        f"wrote {args.output}: {summary.images} images, {summary.annotations} annotations"
        + (f", {len(summary.errors)} skipped\n" if summary.errors else "\n")
    )
    return 1 if summary.errors else 0


def _show_source(path: str, key: str | None, validate: bool) -> tuple[sa1b.Sa1bImage, Any]:
    """The annotations to draw and their image (bytes, a path, or None when not found)."""
    if sa1b.expand_sources(path)[0][1]:
        with sa1b.iter_shard(path) as reader:
            for k, jpg, image in reader:
                if key is None or k == key or os.path.basename(k) == key:
                    return image, jpg
        raise FileNotFoundError(f"{path} has no sample {key!r}" if key else f"{path} is empty")
    image = sa1b.load(path, validate=validate)
    return image, os.path.join(os.path.dirname(path), image.file_name)


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    path = _paths([args.annotation] if args.annotation else [])[0]
    image, found = _show_source(path, args.key, not args.no_validate)
    filters = _filters(args)
    if filters:
        image = image.filter(**filters)
    rgb = None
    if not args.no_image:
        if args.image:
            found = args.image
        if isinstance(found, str):
            try:
                with open(found, "rb") as f:
                    found = f.read()
            except FileNotFoundError:
                raise SystemExit(
                    f"sa1b-rle show: no image at {found} (the annotation's file_name beside "
                    "it); give --image PATH, or --no-image for a grey canvas"
                ) from None
        rgb = _core.read_image_rgb(found)
        if rgb.shape[:2] != (image.height, image.width):
            raise SystemExit(
                f"sa1b-rle show: the image is {rgb.shape[0]}x{rgb.shape[1]}, the "
                f"annotations are for {image.height}x{image.width}"
            )
    canvas = sa1b.render(image, rgb, args.alpha)
    with open(args.output, "wb") as f:
        f.write(_core.encode_png(canvas))
    out.write(f"wrote {args.output}: {len(image)} masks over {image.height}x{image.width}\n")
    return 0


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("quality filters (inclusive)")
    g.add_argument("--min-predicted-iou", type=float, metavar="X")
    g.add_argument("--min-stability-score", type=float, metavar="X")
    g.add_argument("--min-area", type=int, metavar="PIXELS")
    g.add_argument("--max-area", type=int, metavar="PIXELS")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="sa1b-rle",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="PATH: an SA-1B .json file, a directory, a shard (.tar, gzip or not), or "
        "@sample; with no PATH, the sample shard shipped with the package.",
    )
    ap.add_argument("--version", action="version", version=f"sa1b-rle {sa1b_rle.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, metavar="N", help="threads for decoding")
    common.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress line"
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", parents=[common], help="images and mask counts")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser(
        "validate", parents=[common], help="check every annotation; exit 1 on problems"
    )
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser(
        "stats", parents=[common], help="mask counts, quality and area distributions, decode speed"
    )
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-decode", action="store_true", help="skip the decode timing")
    p.set_defaults(run=cmd_stats)

    p = sub.add_parser("convert", parents=[common], help="write one COCO instances JSON")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("-o", "--output", required=True, metavar="COCO.json")
    p.add_argument("--category", default="object", help='category name (default "object")')
    p.add_argument(
        "--keep-going", action="store_true", help="skip bad files (listed) instead of stopping"
    )
    _add_filters(p)
    p.set_defaults(run=cmd_convert)

    p = sub.add_parser("show", parents=[common], help="draw an image's masks into a PNG")
    p.add_argument(
        "annotation",
        nargs="?",
        metavar="ANNOTATION.json",
        help="an annotation file, or a shard (with --key; default: the sample shard)",
    )
    p.add_argument("--key", help="the sample of a shard to draw (default: the first)")
    p.add_argument("--image", metavar="IMAGE", help="default: the file_name beside the JSON")
    p.add_argument("--no-image", action="store_true", help="draw on a grey canvas")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png")
    p.add_argument("--alpha", type=float, default=0.45, help="mask opacity (default 0.45)")
    p.add_argument("--no-validate", action="store_true", help="skip the annotation checks")
    _add_filters(p)
    p.set_defaults(run=cmd_show)
    return ap


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 problems found or files
    skipped, 2 usage errors or unreadable input)."""
    args = parser().parse_args(argv)
    out = out or sys.stdout
    if args.threads is not None:
        if args.threads < 1:
            sys.stderr.write("sa1b-rle: --threads must be at least 1\n")
            return 2
        sa1b_rle.set_num_threads(args.threads)
    try:
        return int(args.run(args, out))
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        sys.stderr.write(f"sa1b-rle {args.command}: {e}\n")
        return 2
    except (sa1b.Sa1bValidationError, sa1b.Sa1bShardError) as e:
        sys.stderr.write(f"sa1b-rle {args.command}: {e}\n")
        return 1
    except sa1b_rle.RleError as e:
        sys.stderr.write(f"sa1b-rle {args.command}: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
