"""COCO RLE forms (compressed: ``counts`` a str or bytes; uncompressed: a list) and COCO
annotations and datasets built from masks (part of :mod:`sa1b_rle.coco`, which
documents and exports it).

>>> rle = {"size": [2, 3], "counts": [2, 1, 1, 2]}
>>> compress(rle)
{'size': [2, 3], 'counts': '2111'}
>>> decompress({"size": [2, 3], "counts": "2111"})
{'size': [2, 3], 'counts': [2, 1, 1, 2]}
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._core import RleBatch, counts_to_runs


def _size(rle: dict[str, Any]) -> tuple[int, int]:
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError('expected a COCO RLE dict with "size" and "counts"')
    h, w = (int(x) for x in rle["size"])
    return h, w


def compress(rle: dict[str, Any], *, counts: str = "str") -> dict[str, Any]:
    """The compressed form (pycocotools' counts string; ``counts="bytes"`` for bytes) of
    an RLE dict in either form, validated (the runs must sum to height * width)."""
    h, w = _size(rle)
    out: dict[str, Any] = RleBatch.from_coco([rle]).to_coco(counts=counts)[0]
    out["size"] = [h, w]
    return out


def decompress(rle: dict[str, Any]) -> dict[str, Any]:
    """The uncompressed form (``counts`` a list of run lengths, background first) of an
    RLE dict in either form, validated."""
    h, w = _size(rle)
    c = rle["counts"]
    if isinstance(c, str):
        c = c.encode()
    if isinstance(c, (bytes, bytearray)):
        runs = counts_to_runs(bytes(c), h, w)
    else:
        runs = counts_to_runs(compress(rle, counts="bytes")["counts"], h, w)
    return {"size": [h, w], "counts": runs}


def annotations_from_masks(
    masks: RleBatch | npt.ArrayLike,
    *,
    image_id: int,
    category_id: int | Sequence[int] = 1,
    first_id: int = 1,
    segmentation: str = "rle",
    tolerance: float = 0.0,
    iscrowd: int = 0,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """COCO instance annotations of the masks of one image (``threads`` for the batch
    operations; the process default when None).

    Each has ``id`` (``first_id``, ``first_id + 1``, ...), ``image_id``,
    ``category_id`` (one for all, or one per mask), ``segmentation`` (``"rle"``:
    ``{"size", "counts": str}``; ``"polygon"``: :func:`sa1b_rle.to_polygons` lists,
    simplified by ``tolerance`` pixels), ``area`` (the mask's pixel count), ``bbox``
    (pycocotools' toBbox of the mask) and ``iscrowd``. Empty masks are skipped (their
    ids are not used).

    >>> import numpy as np
    >>> m = np.zeros((2, 4, 5), np.uint8); m[0, 1:3, 1:4] = 1; m[1, 0, 0] = 1
    >>> anns = annotations_from_masks(RleBatch.from_masks(m), image_id=7, category_id=[3, 5])
    >>> [(a["id"], a["category_id"], a["area"], a["bbox"]) for a in anns]
    [(1, 3, 6, [1.0, 1.0, 3.0, 2.0]), (2, 5, 1, [0.0, 0.0, 1.0, 1.0])]
    """
    from sa1b_rle._images import to_polygons

    if not isinstance(masks, RleBatch):
        a = np.asarray(masks)
        if a.dtype.kind not in "bui" or a.ndim not in (2, 3):
            raise TypeError(
                "masks must be an RleBatch or an (N, H, W) / (H, W) bool or integer array, "
                f"not {type(masks).__name__} of dtype {a.dtype} and shape {a.shape}"
            )
        masks = RleBatch.from_masks((a if a.ndim == 3 else a[None]) != 0)
    if segmentation not in ("rle", "polygon"):
        raise ValueError(f'segmentation must be "rle" or "polygon", not {segmentation!r}')
    n = len(masks)
    cats = [category_id] * n if isinstance(category_id, int) else list(category_id)
    if len(cats) != n:
        raise ValueError(f"{len(cats)} category ids for {n} masks")
    areas, boxes = masks.area(threads=threads), masks.bbox(threads=threads)
    rles = masks.to_coco(threads=threads) if segmentation == "rle" else None
    out = []
    next_id = first_id
    for k in range(n):
        if areas[k] == 0:
            continue
        seg: Any = rles[k] if rles is not None else to_polygons(masks[k], tolerance=tolerance)
        out.append(
            {
                "id": next_id,
                "image_id": image_id,
                "category_id": int(cats[k]),
                "segmentation": seg,
                "area": int(areas[k]),
                "bbox": [float(v) for v in boxes[k]],
                "iscrowd": iscrowd,
            }
        )
        next_id += 1
    return out


#: The image files ``dataset_from_masks`` reads.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _image_annotations(
    image_path: str,
    masks_dir: str,
    *,
    mode: str,
    names: dict[str, str],
    category: str,
    threshold: float,
    background: int,
    min_component_area: int,
    segmentation: str,
    tolerance: float,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """The image entry, its annotations (ids and image_id still 0) and their category
    names for one image; raises ValueError/OSError naming what is wrong."""
    from sa1b_rle import _core
    from sa1b_rle._images import from_label_image, from_mask_image

    stem = os.path.splitext(os.path.basename(image_path))[0]
    with open(image_path, "rb") as f:
        h, w = _core.image_size(f.read())
    batches: list[tuple[RleBatch, list[str]]] = []
    if mode == "instances":
        path = os.path.join(masks_dir, stem + ".png")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no label map {path}")
        values, batch = from_label_image(path, background=background)
        batches.append((batch, [names.get(str(int(v)), category) for v in values]))
    else:
        files = [
            os.path.join(masks_dir, stem + ext)
            for ext in IMAGE_EXTENSIONS
            if os.path.exists(os.path.join(masks_dir, stem + ext))
        ]
        sub = os.path.join(masks_dir, stem)
        if os.path.isdir(sub):
            files += [
                os.path.join(sub, n)
                for n in sorted(os.listdir(sub))
                if n.lower().endswith(IMAGE_EXTENSIONS)
            ]
        if not files:
            raise FileNotFoundError(
                f"no mask for {stem} in {masks_dir} ({stem}.png/.jpg or {stem}/)"
            )
        for path in files:
            m = from_mask_image(path, threshold=threshold, min_component_area=min_component_area)
            key = os.path.splitext(os.path.basename(path))[0]
            batches.append((m, [names.get(key, category)]))
    anns: list[dict[str, Any]] = []
    cat_names: list[str] = []
    for batch, cats in batches:
        if batch.shape[1:] != (h, w):
            raise ValueError(f"the masks are {batch.shape[1]}x{batch.shape[2]}, the image {h}x{w}")
        # One level of parallelism: images run side by side, each on one thread.
        found = annotations_from_masks(
            batch,
            image_id=0,
            category_id=[0] * len(batch),
            segmentation=segmentation,
            tolerance=tolerance,
            threads=1,
        )
        kept = [c for c, area in zip(cats, batch.area(threads=1).tolist(), strict=True) if area]
        anns.extend(found)
        cat_names.extend(kept)
    entry = {"file_name": os.path.basename(image_path), "height": h, "width": w}
    return entry, anns, cat_names


def dataset_from_masks(
    images_dir: str,
    masks_dir: str,
    *,
    mode: str = "binary",
    categories: dict[str, str] | None = None,
    category: str = "object",
    threshold: float = 127,
    background: int = 0,
    min_component_area: int = 0,
    segmentation: str = "rle",
    tolerance: float = 0.0,
    threads: int | None = None,
    on_image: Any = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A COCO instances document from mask images: ``(document, skipped)``.

    Every ``.jpg``/``.jpeg``/``.png`` in ``images_dir`` (sorted by name) becomes an image
    (ids from 1); its masks are, with ``mode="binary"``, ``masks_dir/<stem>.png`` (or
    ``.jpg``) and every image in ``masks_dir/<stem>/``, one instance each (foreground:
    grey level ``> threshold``; specks under ``min_component_area`` pixels dropped);
    with ``mode="instances"``, the label map ``masks_dir/<stem>.png``, one instance per
    value other than ``background``. ``categories`` maps a mask's file stem (binary) or
    label value (instances), as a string, to a category name (default ``category``);
    categories get ids from 1 in name order. ``segmentation`` is ``"rle"`` or
    ``"polygon"`` (simplified by ``tolerance`` pixels). Images run on ``threads`` threads
    (the process default when None), each image's work on one; ``on_image()`` is called
    after each. An image that cannot be read is skipped: ``skipped`` lists
    ``(path, message)``.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sa1b_rle._batch import get_num_threads

    if mode not in ("binary", "instances"):
        raise ValueError(f'mode must be "binary" or "instances", not {mode!r}')
    for d in (images_dir, masks_dir):
        if not os.path.isdir(d):
            raise FileNotFoundError(f"no such directory: {d}")
    names = dict(categories or {})
    images = sorted(
        os.path.join(images_dir, n)
        for n in os.listdir(images_dir)
        if n.lower().endswith(IMAGE_EXTENSIONS)
    )

    def job(path: str) -> Any:
        try:
            return _image_annotations(
                path,
                masks_dir,
                mode=mode,
                names=names,
                category=category,
                threshold=threshold,
                background=background,
                min_component_area=min_component_area,
                segmentation=segmentation,
                tolerance=tolerance,
            )
        except (OSError, ValueError) as e:
            return e

    skipped: list[tuple[str, str]] = []
    results = []
    with ThreadPoolExecutor(max_workers=threads or get_num_threads()) as pool:
        for path, r in zip(images, pool.map(job, images), strict=True):
            if on_image is not None:
                on_image()
            if isinstance(r, Exception):
                # Library errors about a file already start with its name.
                skipped.append((path, str(r).removeprefix(f"{path}: ")))
            else:
                results.append(r)
    names_used = sorted({n for _, _, cats in results for n in cats} | set(names.values()))
    cat_id = {n: k for k, n in enumerate(names_used, start=1)}
    doc: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": cat_id[n], "name": n} for n in names_used],
    }
    for image_id, (entry, anns, cats) in enumerate(results, start=1):
        doc["images"].append({"id": image_id, **entry})
        for a, n in zip(anns, cats, strict=True):
            a.update(id=len(doc["annotations"]) + 1, image_id=image_id, category_id=cat_id[n])
            doc["annotations"].append(a)
    return doc, skipped
