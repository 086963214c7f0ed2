"""Many SA-1B sources at once and what they become: iteration over files and shards,
validation, statistics, COCO, Parquet, overlays and the image helpers (part of
:mod:`sa1b_rle.sa1b`, which documents and exports it)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from sa1b_rle import sources as _sources
from sa1b_rle._core import (
    Sa1bImage,
    default_max_pixels,
    draw_masks,
    encode_png,
    file_name_problem,
    read_image_rgb,
)
from sa1b_rle._sa1b_files import Sa1bValidationError, load, validate
from sa1b_rle._sa1b_shards import MAX_IMAGE_BYTES, iter_shard


def expand_sources(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[tuple[str, bool]]:
    """``(path, is_shard)`` for every SA-1B file or shard given: a file as it is (a shard
    when its bytes say tar or gzip), a directory's ``*.json`` files and ``*.tar``,
    ``*.tar.gz`` and ``*.tgz`` shards (not recursive), in name order (see
    :mod:`sa1b_rle.sources`)."""
    return [(s.path, s.shard) for s in _sources.find(sources)]


def iter_images(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_error: str = "raise",
    errors: list[tuple[str, str]] | None = None,
) -> Iterator[tuple[str, Sa1bImage]]:
    """``(name, Sa1bImage)`` for every annotation file in ``sources`` (files, directories,
    shards; see :func:`expand_sources`), validated. A shard's samples are named
    ``shard:member``. With ``on_error="collect"`` bad files and members are appended to
    ``errors`` as ``(name, message)`` and skipped; with ``"raise"`` the first raises."""
    _sources.check_on_error(on_error)
    sink = errors if errors is not None else []
    for path, shard in expand_sources(sources):
        if shard:
            reader = iter_shard(path, images=False, on_error=on_error)
            for key, _, image in reader:
                yield f"{path}:{key}.json", image
            sink.extend((f"{path}:{m}", msg) for m, msg in reader.errors)
            continue
        try:
            image = load(path)
        except (Sa1bValidationError, OSError) as e:
            if on_error == "raise":
                raise
            sink.append((path, str(e)))
            continue
        yield path, image


def validate_all(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_file: Any = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Validates every annotation file and shard member of ``sources`` (see
    :func:`expand_sources`): ``(files checked, problems)``, each problem a dict
    (:meth:`Problem.to_dict`, or ``{"file": "shard:member", "message"}`` for a member
    that cannot be read). ``on_file()`` is called after each file."""
    problems: list[dict[str, Any]] = []
    checked = 0
    for path, shard in expand_sources(sources):
        if shard:
            reader = iter_shard(path, images=False, on_error="collect")
            for _ in reader:
                checked += 1
                if on_file is not None:
                    on_file()
            problems.extend({"file": f"{path}:{m}", "message": msg} for m, msg in reader.errors)
            continue
        report = validate(path)
        checked += 1
        if on_file is not None:
            on_file()
        problems.extend(p.to_dict() for p in report)
    return checked, problems


def _quantiles(x: npt.NDArray[Any]) -> dict[str, float]:
    if len(x) == 0:
        return {}
    q = np.quantile(x, [0.0, 0.05, 0.5, 0.95, 1.0])
    names = ("min", "p5", "median", "p95", "max")
    return {k: float(v) for k, v in zip(names, q, strict=True)} | {"mean": float(np.mean(x))}


#: The most decoded mask bytes :func:`statistics` holds at once for its decode timing.
_DECODE_BYTES = 256 << 20


def statistics(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    decode: bool = True,
    errors: list[tuple[str, str]] | None = None,
    on_image: Any = None,
) -> dict[str, Any]:
    """Statistics of the SA-1B images in ``sources``: counts, quantiles (min, p5, median,
    p95, max, mean) of masks per image, ``predicted_iou``, ``stability_score``, area and
    area as a fraction of the image, and (with ``decode``) the decode rate on this
    machine. Unreadable files are skipped and listed in ``errors``; ``on_image()`` is
    called after each image."""
    from sa1b_rle._batch import get_num_threads

    sink = errors if errors is not None else []
    per_image: list[int] = []
    piou, stab, area, rel_area = [], [], [], []
    decode_s, decoded_px, decoded_masks = 0.0, 0, 0
    for _, img in iter_images(sources, on_error="collect", errors=sink):
        if on_image is not None:
            on_image()
        per_image.append(len(img))
        piou.append(img.predicted_iou)
        stab.append(img.stability_score)
        area.append(img.area)
        rel_area.append(img.area / max(1, img.height * img.width))
        if len(img) and decode:
            # Timed in chunks of at most _DECODE_BYTES of output; masks larger than
            # that on their own are not timed.
            per_mask = img.height * img.width
            step = _DECODE_BYTES // per_mask if per_mask else len(img)
            for start in range(0, len(img) if step else 0, step or 1):
                idx = np.arange(start, min(start + step, len(img)))
                t = time.perf_counter()
                img.decode(indices=idx)
                decode_s += time.perf_counter() - t
                decoded_px += len(idx) * per_mask
                decoded_masks += len(idx)

    def cat(xs: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        return np.concatenate(xs) if xs else np.zeros(0)

    stats: dict[str, Any] = {
        "images": len(per_image),
        "masks": int(sum(per_image)),
        "masks_per_image": _quantiles(np.array(per_image, float)),
        "predicted_iou": _quantiles(cat(piou)),
        "stability_score": _quantiles(cat(stab)),
        "area": _quantiles(cat(area)),
        "area_fraction_of_image": _quantiles(cat(rel_area)),
        "unreadable": len(sink),
        "threads": get_num_threads(),
    }
    if decode_s > 0:
        stats["decode"] = {
            "masks_per_second": decoded_masks / decode_s,
            "megapixels_per_second": decoded_px / decode_s / 1e6,
        }
    return stats


class CocoSummary(NamedTuple):
    """What :func:`to_coco` wrote."""

    images: int
    annotations: int
    errors: list[tuple[str, str]]
    """Files or shard members skipped (``on_error="collect"``), as ``(name, message)``."""


def to_coco(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    filter: Any = None,
    category: str = "object",
    on_error: str = "raise",
) -> CocoSummary:
    """Writes SA-1B annotation files, directories or shards as one COCO instances JSON.

    One category (id 1, ``category``), one image entry per file (``id`` is SA-1B's
    ``image_id``), annotations with ``iscrowd`` 0, the RLE segmentation (counts as str),
    SA-1B's area and bbox, sequential unique ids from 1 (SA-1B's own id kept as
    ``sa1b_id``) and SA-1B's quality fields as they are. Written streaming: memory does
    not grow with the number of images (the image entries are spooled to a temporary
    file beside the output and appended at the end).

    ``filter``: a dict of :meth:`Sa1bImage.filter` thresholds (e.g.
    ``{"min_predicted_iou": 0.88}``) or a function from an ``Sa1bImage`` to the
    ``Sa1bImage`` to keep. ``on_error``: ``"raise"`` (the first bad file or member) or
    ``"collect"`` (skip it, listed in the returned summary). Image ids must be unique.
    """
    if filter is None:
        keep = None
    elif callable(filter):
        keep = filter
    elif isinstance(filter, dict):
        keep = lambda image: image.filter(**filter)  # noqa: E731
    else:
        raise TypeError("filter must be a dict of Sa1bImage.filter thresholds or a function")
    out_path = os.fspath(out_path)
    errors: list[tuple[str, str]] = []
    n_images = n_anns = 0
    seen_ids: set[int] = set()
    spool_path = out_path + ".images.tmp"
    try:
        with open(out_path, "wb") as out, open(spool_path, "w+b") as spool:
            out.write(b'{"info": {"description": "SA-1B annotations converted by sa1b_rle"}, ')
            cat = json.dumps([{"id": 1, "name": category, "supercategory": category}])
            out.write(b'"categories": ' + cat.encode() + b', "annotations": [')
            for name, image in iter_images(sources, on_error=on_error, errors=errors):
                if image.image_id in seen_ids:
                    message = f"image_id {image.image_id} appears twice"
                    if on_error == "raise":
                        raise ValueError(f"{name}: {message}")
                    errors.append((name, message))
                    continue
                seen_ids.add(image.image_id)
                if keep is not None:
                    image = keep(image)
                entry = {
                    "id": image.image_id,
                    "width": image.width,
                    "height": image.height,
                    "file_name": image.file_name,
                }
                spool.write((b"," if n_images else b"") + json.dumps(entry).encode())
                n_images += 1
                if len(image):
                    if n_anns:
                        out.write(b",")
                    out.write(image._coco_annotations_json(n_anns + 1, 1))
                    n_anns += len(image)
            out.write(b'], "images": [')
            spool.seek(0)
            while chunk := spool.read(1 << 20):
                out.write(chunk)
            out.write(b"]}")
    except BaseException:
        if os.path.exists(out_path):
            os.remove(out_path)
        raise
    finally:
        if os.path.exists(spool_path):
            os.remove(spool_path)
    return CocoSummary(n_images, n_anns, errors)


def render(
    image: Sa1bImage, rgb: npt.ArrayLike | None = None, alpha: float = 0.45
) -> npt.NDArray[np.uint8]:
    """The masks of ``image`` drawn over ``rgb`` ((H, W, 3) uint8 RGB; a grey canvas when
    None): each mask blended in its own colour with weight ``alpha``, its outline in the
    solid colour, later masks over earlier ones. Returns a new (H, W, 3) uint8 array."""
    if rgb is None:
        canvas = np.full((image.height, image.width, 3), 128, np.uint8)
    else:
        canvas = np.array(rgb, dtype=np.uint8, order="C", copy=True)
    draw_masks(canvas, image.masks, alpha)
    return canvas


def max_image_pixels() -> int:
    """The most pixels an image may have to be decoded or drawn: the environment's
    ``SA1B_RLE_MAX_IMAGE_PIXELS``, else 178,956,970 (where Pillow refuses an image as a
    decompression bomb)."""
    return default_max_pixels()


def read_image(
    source: str | os.PathLike[str] | bytes, *, max_pixels: int | None = None
) -> npt.NDArray[np.uint8]:
    """A JPEG or PNG (a path, or the file's bytes) as an (H, W, 3) uint8 RGB array.

    An image of more than ``max_pixels`` pixels (default :func:`max_image_pixels`) or a
    file over :data:`MAX_IMAGE_BYTES` is refused before it is decoded. Raises
    ``OSError`` (``FileNotFoundError``, ...) for a file that cannot be read and
    ``ValueError`` naming the file for one that is not a readable JPEG or PNG."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return read_image_rgb(bytes(source), max_pixels=max_pixels)
    path = os.fspath(source)
    with open(path, "rb") as f:
        data = f.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{path}: the file is over the {MAX_IMAGE_BYTES} bytes read as an image")
    try:
        return read_image_rgb(data, max_pixels=max_pixels)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def write_png(path: str | os.PathLike[str], rgb: npt.ArrayLike) -> None:
    """Writes an (H, W, 3) uint8 RGB array (such as :func:`render`'s) as a PNG file."""
    data = encode_png(np.ascontiguousarray(rgb, dtype=np.uint8))
    with open(path, "wb") as f:
        f.write(data)


def image_path(annotation: str | os.PathLike[str], image: Sa1bImage) -> str:
    """The image an annotation file names: its ``image.file_name`` in the file's
    directory. ``ValueError`` naming the file when ``file_name`` is not a bare file name
    (a path, ``..`` or an absolute name must not make a file from elsewhere read
    others)."""
    path = os.fspath(annotation)
    problem = file_name_problem(image.file_name)
    if problem is not None:
        raise ValueError(f"{path}: image.file_name {problem}")
    return os.path.join(os.path.dirname(path), image.file_name)


class ParquetSummary(NamedTuple):
    """What :func:`to_parquet` wrote."""

    files: list[str]
    rows: int
    images: int
    errors: list[tuple[str, str]]
    """Files or shard members skipped, as ``(name, message)``."""


def to_parquet(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    rows_per_file: int = 1_000_000,
    on_error: str = "collect",
    overwrite: bool = False,
    progress: Callable[[Sa1bImage], object] | None = None,
) -> ParquetSummary:
    """Writes SA-1B files, directories or shards as a Parquet dataset: one row per mask
    (:data:`sa1b_rle.arrow.SCHEMA`), files ``part-00000.parquet``, ... of about
    ``rows_per_file`` rows (split between images), written as the input streams in
    (memory holds one file's rows). Needs pyarrow.

    ``on_error="collect"`` (the default) skips bad files and shard members and lists
    them in the summary (nothing is dropped silently); ``"raise"`` stops at the first.
    A directory already holding ``part-*.parquet`` files is refused
    (``FileExistsError``) unless ``overwrite``, which deletes those files first.
    ``progress`` is called with each image once its rows are queued for writing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sa1b_rle import arrow

    if rows_per_file < 1:
        raise ValueError(f"rows_per_file must be at least 1, not {rows_per_file}")
    out = os.fspath(out_dir)
    old = parquet_parts(out)
    if old and not overwrite:
        raise FileExistsError(f"{out} already holds {old[0]} (and maybe more): pass overwrite=True")
    # Missing inputs fail here, before anything is written or deleted.
    sources = [p for p, _ in expand_sources(sources)]
    for n in old:
        os.remove(os.path.join(out, n))
    errors: list[tuple[str, str]] = []
    files: list[str] = []
    pending: list[Any] = []
    rows = images = pending_rows = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending:
            return
        # Created with the first part file: input that fails first leaves nothing behind.
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, f"part-{len(files):05d}.parquet")
        pq.write_table(pa.concat_tables(pending), path)
        files.append(path)
        pending, pending_rows = [], 0

    for _, image in iter_images(sources, on_error=on_error, errors=errors):
        table = arrow.to_table([image])
        pending.append(table)
        pending_rows += table.num_rows
        rows += table.num_rows
        images += 1
        if progress is not None:
            progress(image)
        if pending_rows >= rows_per_file:
            flush()
    flush()
    return ParquetSummary(files, rows, images, errors)


def parquet_parts(out_dir: str | os.PathLike[str]) -> list[str]:
    """The ``part-*.parquet`` files already in ``out_dir`` (none if it does not exist)."""
    out = os.fspath(out_dir)
    if not os.path.isdir(out):
        return []
    return sorted(n for n in os.listdir(out) if n.startswith("part-") and n.endswith(".parquet"))
