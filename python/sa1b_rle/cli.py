"""The sa1b-rle command: inspect, validate, summarise, convert and show SA-1B data.

Over 400 lines: the parser and one short function per subcommand, kept together so
that the command line reads as one page.

PATH is an SA-1B annotation file (sa_N.json), a directory of them and/or of shards, a
shard (.tar, gzip or not), or @sample: the sample shard shipped with the package, which
every command reads when no PATH is given. Run "sa1b-rle COMMAND --help" for each
command's options.

Exit status: 0 done, 1 bad input (each problem named on one line), 2 usage errors.
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

import sa1b_rle
from sa1b_rle import sa1b

SAMPLE = "@sample"


def sample_path() -> str:
    """The sample shard shipped with the package (``@sample``): three SAM demo photographs
    with masks of a classical segmentation in SA-1B's format (``data/NOTICE.md``)."""
    return str(resources.files("sa1b_rle") / "data" / "sa_sample.tar")


def _paths(paths: Sequence[str]) -> list[str]:
    """The paths given, ``@sample`` resolved; the sample when none is given."""
    return [sample_path() if p == SAMPLE else p for p in paths] or [sample_path()]


class InputError(Exception):
    """Bad input the command reports on one line (exit status 1)."""


def _sources(paths: Sequence[str]) -> list[tuple[str, bool]]:
    """``(path, is_shard)`` of the SA-1B files and shards given; an error naming the
    paths when there are none (an empty directory)."""
    resolved = _paths(paths)
    found = sa1b.expand_sources(resolved)
    if not found:
        raise InputError(
            f"no SA-1B annotation files (.json) or shards (.tar, .tar.gz, .tgz) in "
            f"{', '.join(resolved)}"
        )
    return found


def _wrote(out: TextIO, what: str, errors: Sequence[tuple[str, str]]) -> int:
    """Prints each skipped input on stderr (the name once) and ``wrote WHAT[, N
    skipped]`` on ``out``; the exit status."""
    for name, message in errors:
        line = message if message.startswith(f"{name}:") else f"{name}: {message}"
        sys.stderr.write(f"skipped {line}\n")
    out.write(f"wrote {what}" + (f", {len(errors)} skipped\n" if errors else "\n"))
    return 1 if errors else 0


def _plural(n: int, word: str) -> str:
    """``"1 image"``, ``"2 images"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _count(lo: int, hi: int | None = None) -> Any:
    """An argparse type: an integer in ``lo..=hi`` (a usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {v}")
        return v

    return parse


def _dims(height: Any, width: Any) -> str:
    """An image size as the command line prints it: width x height, labelled."""
    return f"{width}x{height} (WxH)"


def _fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return v


def _non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0.0 <= v < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, not {text}")
    return v


def _finite(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not -float("inf") < v < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return v


def _png_path(text: str) -> str:
    """An argparse type: a file name ending in .png (the overlay is written as PNG)."""
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(
            f"the overlay is written as PNG: name a .png file, not {text!r}"
        )
    return text


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal): a bar and count
    when the total is known, else a count and rate."""

    def __init__(self, total: int | None, what: str, enabled: bool) -> None:
        self.total, self.what, self.done = total, what, 0
        self.enabled = enabled and sys.stderr.isatty()
        self.start = self.last = time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            sys.stderr.write("\r" + self.line(now))
            sys.stderr.flush()

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.start, 1e-9)
        if self.total:
            filled = int(30 * min(self.done, self.total) / self.total)
            bar = "#" * filled + "." * (30 - filled)
            return f"[{bar}] {self.done}/{self.total} {self.what} ({rate:.0f}/s)"
        return f"{self.done} {self.what} ({rate:.0f}/s)"

    def close(self) -> None:
        if self.enabled and self.done:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _images(
    paths: Sequence[str], errors: list[tuple[str, str]], progress: bool
) -> Iterator[tuple[str, sa1b.Sa1bImage]]:
    sources = _sources(paths)
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
                f"{_dims(r['height'], r['width'])}, {r['masks']} masks\n"
            )
        _write_errors(errors)
        n = sum(int(r["masks"]) for r in rows)
        out.write(f"{_plural(len(rows), 'image')}, {_plural(n, 'mask')}")
        out.write(f", {len(errors)} unreadable\n" if errors else "\n")
    return 1 if errors else 0


def _write_errors(errors: Sequence[tuple[str, str]]) -> None:
    """One line per unreadable file or shard member on stderr: what is wrong, the name
    once (the messages of the library's readers start with it)."""
    for name, message in errors:
        line = message if message.startswith(f"{name}:") else f"{name}: {message}"
        sys.stderr.write(f"unreadable {line}\n")


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    bar = Progress(None, "files", args.progress)
    try:
        checked, problems = sa1b.validate_all(
            [p for p, _ in _sources(args.paths)], on_file=bar.step
        )
    finally:
        bar.close()
    if args.json:
        out.write(json.dumps({"checked": checked, "problems": problems}) + "\n")
    else:
        for p in problems:
            if "code" in p:
                out.write(str(sa1b.Problem(**p)) + "\n")
            else:
                out.write(f"{p['file']}: {p['message']}\n")
        status = _plural(len(problems), "problem") if problems else "no problems"
        out.write(f"{_plural(checked, 'annotation file')} checked: {status}\n")
    return 1 if problems else 0


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    errors: list[tuple[str, str]] = []
    bar = Progress(None, "images", args.progress)
    try:
        stats = sa1b.statistics(
            [p for p, _ in _sources(args.paths)],
            decode=not args.no_decode,
            errors=errors,
            on_image=bar.step,
        )
    finally:
        bar.close()
    if args.json:
        out.write(json.dumps(stats) + "\n")
        return 1 if errors else 0
    _write_errors(errors)
    out.write(f"{_plural(stats['images'], 'image')}, {_plural(stats['masks'], 'mask')}")
    out.write(f", {len(errors)} unreadable\n" if errors else "\n")
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
    paths = [p for p, _ in _sources(args.paths)]
    summary = sa1b.to_coco(
        paths,
        args.output,
        filter=_filters(args) or None,
        category=args.category,
        on_error="collect" if args.keep_going else "raise",
    )
    return _wrote(
        out,
        f"{args.output}: {_plural(summary.images, 'image')}, "
        f"{_plural(summary.annotations, 'annotation')}",
        summary.errors,
    )


def cmd_to_parquet(args: argparse.Namespace, out: TextIO) -> int:
    paths = [p for p, _ in _sources(args.paths)]
    old = sa1b.parquet_parts(args.output)
    if old and not args.overwrite:
        raise InputError(
            f"{args.output} already holds {old[0]} (and maybe more): pass --overwrite to "
            "replace the part files"
        )
    bar = Progress(None, "images", args.progress)
    try:
        summary = sa1b.to_parquet(
            paths,
            args.output,
            rows_per_file=args.rows_per_file,
            on_error="raise" if args.strict else "collect",
            overwrite=args.overwrite,
            progress=lambda _: bar.step(),
        )
    finally:
        bar.close()
    return _wrote(
        out,
        f"{_plural(len(summary.files), 'file')} to {args.output}: "
        f"{_plural(summary.rows, 'row')} from {_plural(summary.images, 'image')}",
        summary.errors,
    )


def _show_source(
    path: str, key: str | None, validate: bool
) -> tuple[sa1b.Sa1bImage, bytes | str | ValueError, str]:
    """The annotations to draw, their image (a shard's bytes, or the path beside the
    JSON; the error when its file_name cannot be used) and that image's name."""
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory: show draws one annotation file or shard")
    if _sources([path])[0][1]:
        with sa1b.iter_shard(path) as reader:
            for k, jpg, image in reader:
                if key is None or k == key or os.path.basename(k) == key:
                    name = f"{path}:{os.path.splitext(k)[0]}.jpg"
                    if jpg is None:
                        return image, ValueError(f"{path} has no image for {k}"), name
                    return image, jpg, name
        raise InputError(f"{path} has no sample {key!r}" if key else f"{path} is empty")
    if key is not None:
        raise InputError(f"{path}: --key picks a sample of a shard; this is an annotation file")
    image = sa1b.load(path, validate=validate)
    try:
        beside = sa1b.image_path(path, image)
    except ValueError as e:
        return image, e, path
    return image, beside, beside


def _show_image(args: argparse.Namespace, found: bytes | str | ValueError, name: str) -> Any:
    """The RGB image to draw over: --image, else the shard's or the one beside the JSON."""
    again = "give --image PATH, or --no-image for a grey canvas"
    if args.image:
        found = name = args.image
    if isinstance(found, ValueError):
        raise InputError(f"{found}; {again}")
    try:
        return sa1b.read_image(found)
    except FileNotFoundError:
        where = "" if args.image else " (the annotation's file_name beside it)"
        raise InputError(f"no image at {name}{where}; {again}") from None
    except ValueError as e:
        text = str(e)
        raise InputError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    path = _paths([args.annotation] if args.annotation else [])[0]
    image, found, name = _show_source(path, args.key, not args.no_validate)
    filters = _filters(args)
    if filters:
        image = image.filter(**filters)
    pixels, limit = image.height * image.width, sa1b.max_image_pixels()
    if pixels > limit:
        raise InputError(
            f"{path}: the image is {_dims(image.height, image.width)} ({pixels} pixels), more "
            f"than the {limit} an overlay is drawn for (SA1B_RLE_MAX_IMAGE_PIXELS raises the "
            "limit)"
        )
    rgb = None
    if not args.no_image:
        rgb = _show_image(args, found, name)
        if rgb.shape[:2] != (image.height, image.width):
            raise InputError(
                f"the image is {_dims(rgb.shape[0], rgb.shape[1])}, the "
                f"annotations are for {_dims(image.height, image.width)}"
            )
    sa1b.write_png(args.output, sa1b.render(image, rgb, args.alpha))
    size = _dims(image.height, image.width)
    out.write(f"wrote {args.output}: {_plural(len(image), 'mask')} over {size}\n")
    return 0


def cmd_from_masks(args: argparse.Namespace, out: TextIO) -> int:
    from sa1b_rle.coco import IMAGE_EXTENSIONS, dataset_from_masks

    for d in (args.images_dir, args.masks_dir):
        if not os.path.isdir(d):
            raise FileNotFoundError(f"no such directory: {d}")
    names: dict[str, str] = {}
    if args.categories:
        try:
            with open(args.categories, "rb") as fh:
                mapping = json.loads(fh.read())
        except OSError as e:
            raise InputError(f"{args.categories}: {e.strerror or e}") from None
        except ValueError as e:
            raise InputError(f"{args.categories}: {e}") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise InputError(f"{args.categories}: expected a JSON object of value -> category name")
        names = {str(k): v for k, v in mapping.items()}
    total = sum(n.lower().endswith(IMAGE_EXTENSIONS) for n in os.listdir(args.images_dir))
    if total == 0:
        # Nothing to convert is bad input, as for info/stats on a directory without files.
        raise InputError(
            f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {args.images_dir}; nothing written"
        )
    bar = Progress(total, "images", args.progress)
    doc, errors = dataset_from_masks(
        args.images_dir,
        args.masks_dir,
        mode=args.mode,
        categories=names,
        category=args.category,
        threshold=args.threshold,
        background=args.background,
        min_component_area=args.min_component_area,
        segmentation=args.format,
        tolerance=args.tolerance,
        on_image=bar.step,
    )
    bar.close()
    categories = doc["categories"]
    results = doc["images"]
    with open(args.output, "w") as f:
        json.dump(doc, f)
    status = _wrote(
        out,
        f"{args.output}: {_plural(len(doc['images']), 'image')}, "
        f"{_plural(len(doc['annotations']), 'annotation')}, "
        f"{_plural(len(categories), 'category').replace('categorys', 'categories')}",
        errors,
    )
    if results and not doc["annotations"]:
        if args.mode == "binary":
            why = (
                f"every mask image is empty at --threshold {args.threshold:g}; label maps "
                "(one small value per instance) need --mode instances"
            )
        else:
            why = f"every label map is all --background {args.background}"
        out.write(f"no masks found in {_plural(len(results), 'image')}: {why}\n")
        return 1
    return status


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("quality filters (inclusive)")
    g.add_argument("--min-predicted-iou", type=_fraction, metavar="X", help="0 to 1")
    g.add_argument("--min-stability-score", type=_fraction, metavar="X", help="0 to 1")
    g.add_argument("--min-area", type=_count(0), metavar="PIXELS")
    g.add_argument("--max-area", type=_count(0), metavar="PIXELS")


_PATHS_HELP = (
    "SA-1B annotation files, directories of them or of shards, shards (.tar, gzip or "
    "not), or @sample (default: the sample shard shipped with the package)"
)


def cmd_eval_lvis(args: argparse.Namespace, out: TextIO) -> int:
    import contextlib
    import io

    from sa1b_rle.lvis import LVIS, LVISEval

    e = LVISEval(LVIS(args.gt), args.results, args.iou_type)
    e.run()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        e.print_results()
    out.write(printed.getvalue())
    if args.json:
        doc = {
            "lvis": True,
            "iou_type": args.iou_type,
            "stats": {k: float(v) for k, v in e.results.items()},
            "lines": printed.getvalue().splitlines(),
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        out.write(f"wrote {args.json}\n")
    return 0


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from sa1b_rle.cocoeval import evaluate

    if args.lvis:
        return cmd_eval_lvis(args, out)

    e = evaluate(args.gt, args.results, args.iou_type, dilation_ratio=args.dilation_ratio)
    for text in e.summary_lines:
        out.write(text + "\n")
    results = e.get_results(per_class=args.per_class)
    if args.per_class:
        for name, value in results.items():
            if name.startswith("AP/"):
                out.write(f" {name:<30} {value:0.3f}\n")
    if args.json:
        doc = {
            "iou_type": args.iou_type,
            **({"dilation_ratio": args.dilation_ratio} if args.iou_type == "boundary" else {}),
            "stats": {k: v for k, v in results.items() if not k.startswith("AP/")},
            "lines": e.summary_lines,
        }
        if args.per_class:
            doc["per_class"] = {k[3:]: v for k, v in results.items() if k.startswith("AP/")}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        out.write(f"wrote {args.json}\n")
    return 0


def _command(
    sub: Any, name: str, summary: str, parents: list[argparse.ArgumentParser], details: str = ""
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        parents=parents,
        help=summary,
        description=summary[0].upper() + summary[1:] + (". " + details if details else "."),
    )
    p.set_defaults(command_parser=p)  # (for usage errors found after parsing)
    return p


def parser() -> argparse.ArgumentParser:
    doc = (__doc__ or "").split("\n\n")
    ap = argparse.ArgumentParser(
        prog="sa1b-rle",
        description=doc[0].replace("\n", " "),
        epilog=" ".join(part.replace("\n", " ") for part in doc[1:]).strip(),
    )
    ap.add_argument("--version", action="version", version=f"sa1b-rle {sa1b_rle.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--threads",
        type=_count(1, sa1b_rle.max_threads()),
        metavar="N",
        help=f"threads for the work done in Rust (1 to {sa1b_rle.max_threads()})",
    )
    common.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress line"
    )
    common.add_argument(
        "--debug", action="store_true", help="on an error, show the Python traceback"
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "info", "images and mask counts", [common])
    p.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_info)

    p = _command(
        sub,
        "validate",
        "check every annotation; exit 1 on problems",
        [common],
        "Each problem is one line naming the file (and shard member), the annotation and "
        "what is wrong",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_validate)

    p = _command(
        sub, "stats", "mask counts, quality and area distributions, decode speed", [common]
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-decode", action="store_true", help="skip the decode timing")
    p.set_defaults(run=cmd_stats)

    p = _command(sub, "convert", "write one COCO instances JSON", [common])
    p.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    p.add_argument("-o", "--output", required=True, metavar="COCO.json")
    p.add_argument("--category", default="object", help='category name (default "object")')
    p.add_argument(
        "--keep-going", action="store_true", help="skip bad files (listed) instead of stopping"
    )
    _add_filters(p)
    p.set_defaults(run=cmd_convert)

    p = _command(
        sub,
        "from-masks",
        "mask images (binary or instance maps) to one COCO JSON",
        [common],
        "Each image of IMAGES_DIR (.jpg/.png) takes its masks from MASKS_DIR: "
        "with --mode instances the label map STEM.png (one annotation per value other "
        "than --background); with --mode binary STEM.png or STEM.jpg, and/or every image "
        "in the directory STEM/ (one annotation each). Files that cannot be used are "
        "listed and skipped; the rest is converted",
    )
    p.add_argument("images_dir", metavar="IMAGES_DIR", help="the images (.jpg, .png)")
    p.add_argument("masks_dir", metavar="MASKS_DIR", help="their masks (see above)")
    p.add_argument("-o", "--output", required=True, metavar="COCO.json")
    p.add_argument("--format", choices=["rle", "polygon"], default="rle")
    p.add_argument("--mode", choices=["binary", "instances"], default="binary")
    p.add_argument("--threshold", type=_finite, default=127, help="binary: foreground > this")
    p.add_argument("--min-component-area", type=_count(0), default=0, metavar="PIXELS")
    p.add_argument("--background", type=int, default=0, help="instances: the background value")
    p.add_argument(
        "--tolerance", type=_non_negative, default=0.0, help="polygon simplification (px)"
    )
    p.add_argument(
        "--categories",
        metavar="FILE",
        help="JSON object: instance value (instances) or mask file stem (binary) -> name",
    )
    p.add_argument("--category", default="object", help="the name of unmapped masks")
    p.set_defaults(run=cmd_from_masks)

    p = _command(
        sub, "to-parquet", "one row per mask into a Parquet dataset (needs pyarrow)", [common]
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    p.add_argument("--rows-per-file", type=_count(1), default=1_000_000, metavar="N")
    p.add_argument("--strict", action="store_true", help="stop at the first bad file")
    p.add_argument(
        "--overwrite", action="store_true", help="replace the part files already in OUT_DIR"
    )
    p.set_defaults(run=cmd_to_parquet)

    p = _command(
        sub,
        "eval",
        "COCO evaluation of detection results (pycocotools' COCOeval numbers)",
        [common],
        "Prints the twelve summary lines of pycocotools' COCOeval.summarize() "
        "(--iou-type boundary: boundary-iou-api's Boundary IoU)",
    )
    p.add_argument("gt", metavar="GT.json", help="COCO instances (ground truth)")
    p.add_argument("results", metavar="RESULTS.json", help="COCO results (a list of detections)")
    p.add_argument("--iou-type", choices=["segm", "bbox", "keypoints", "boundary"], default="segm")
    p.add_argument(
        "--dilation-ratio",
        type=_non_negative,
        default=0.02,
        metavar="R",
        help="boundary: the band's width as a fraction of the image diagonal (default 0.02)",
    )
    p.add_argument(
        "--lvis",
        action="store_true",
        help="LVIS federated evaluation (lvis-api's LVISEval numbers; segm or bbox)",
    )
    p.add_argument("--per-class", action="store_true", help="also each category's AP (AP/<name>)")
    p.add_argument("--json", metavar="OUT.json", help="also write the stats as JSON")
    p.set_defaults(run=cmd_eval)

    p = _command(sub, "show", "draw an image's masks into a PNG", [common])
    p.add_argument(
        "annotation",
        nargs="?",
        metavar="ANNOTATION.json",
        help="an annotation file, or a shard (with --key; default: the sample shard)",
    )
    p.add_argument("--key", help="the sample of a shard to draw (default: the first)")
    p.add_argument("--image", metavar="IMAGE", help="default: the file_name beside the JSON")
    p.add_argument("--no-image", action="store_true", help="draw on a grey canvas")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", type=_png_path)
    p.add_argument(
        "--alpha", type=_fraction, default=0.45, help="mask opacity, 0 to 1 (default 0.45)"
    )
    p.add_argument("--no-validate", action="store_true", help="skip the annotation checks")
    _add_filters(p)
    p.set_defaults(run=cmd_show)
    return ap


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Runs the command line; returns the exit status (0 done, 1 bad input: every
    problem on one line naming the file, 2 usage errors). No input ends in a traceback
    unless ``--debug`` is given."""
    args = parser().parse_args(argv)
    if getattr(args, "lvis", False) and (args.iou_type not in ("segm", "bbox") or args.per_class):
        args.command_parser.error("--lvis evaluates --iou-type segm or bbox, without --per-class")
    lo, hi = getattr(args, "min_area", None), getattr(args, "max_area", None)
    if lo is not None and hi is not None and hi < lo:
        args.command_parser.error(f"--max-area ({hi}) is below --min-area ({lo})")
    out = out or sys.stdout
    if args.threads is not None:
        sa1b_rle.set_num_threads(args.threads)
    try:
        return int(args.run(args, out))
    except BaseException as e:
        if args.debug or isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        sys.stderr.write(f"sa1b-rle {args.command}: {_describe(e)}\n")
        return 1


def _describe(e: BaseException) -> str:
    """One line for an error: its message (the library's name the file and member),
    with the kind where the message alone would not say it."""
    if isinstance(e, MemoryError):
        return f"not enough memory: {e}" if str(e) else "not enough memory"
    if isinstance(e, OSError) and e.strerror and e.filename is not None:
        # "out/x.json: No such file or directory", not "[Errno 2] ...: 'out/x.json'".
        f = e.filename
        name = os.fsdecode(f) if isinstance(f, (str, bytes, os.PathLike)) else str(f)
        return f"{name}: {e.strerror}"
    if isinstance(e, (InputError, ValueError, OSError, sa1b.Sa1bShardError)):
        return " ".join(str(e).split())
    return f"internal error ({type(e).__name__}: {e}); run with --debug for the traceback"


if __name__ == "__main__":
    sys.exit(main())
