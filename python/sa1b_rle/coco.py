"""pycocotools' ``COCO`` on columns parsed in Rust (:class:`COCO`), COCO RLE forms
(:func:`compress`, :func:`decompress`) and COCO annotations and datasets built from masks
(:func:`annotations_from_masks`, :func:`dataset_from_masks`; in ``_coco_convert``).

Over 400 lines: pycocotools' whole ``COCO`` surface (attributes built when read,
``get*Ids``, ``load*``, ``annToRLE``, ``loadRes``), one class.

>>> rle = {"size": [2, 3], "counts": [2, 1, 1, 2]}
>>> compress(rle)
{'size': [2, 3], 'counts': '2111'}
>>> decompress({"size": [2, 3], "counts": "2111"})
{'size': [2, 3], 'counts': [2, 1, 1, 2]}
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt

from sa1b_rle._coco_convert import (
    IMAGE_EXTENSIONS,
    annotations_from_masks,
    compress,
    dataset_from_masks,
    decompress,
)

__all__ = [
    "COCO",
    "IMAGE_EXTENSIONS",
    "annotations_from_masks",
    "compress",
    "dataset_from_masks",
    "decompress",
]


def _lookup(values: Any) -> Any:
    """``values`` for ``in`` tests: a set when every value is hashable (the same answers
    as the list's ``==`` scan for numbers and strings, in constant time), else as given."""
    try:
        return set(values)
    except TypeError:
        return values


def _is_array_like(obj: Any) -> bool:
    return hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def _int_keys(values: Any) -> list[int] | None:
    """``values`` as int64 keys when every one is an integer (Python or numpy) or an
    integral float (equal to it as a dict key), else None."""
    out = []
    for v in values:
        if isinstance(v, (bool, int, np.integer)):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(int(v))
        else:
            return None
    return out


_VIEWS = ("dataset", "anns", "imgs", "cats", "imgToAnns", "catToImgs")


def _view(name: str) -> Any:
    def get(self: COCO) -> Any:
        if self._views is None:
            self._materialize()
        return self._views[name]  # type: ignore[index]

    def set_(self: COCO, value: Any) -> None:
        if self._views is None:
            self._materialize()
        self._views[name] = value  # type: ignore[index]

    return property(get, set_, doc=f"pycocotools' ``{name}`` (built on first access)")


class COCO:
    """A COCO annotation set with pycocotools' ``COCO`` API (``dataset``, ``anns``,
    ``imgs``, ``cats``, ``imgToAnns``, ``catToImgs``, ``getAnnIds``, ``getCatIds``,
    ``getImgIds``, ``loadAnns``, ``loadCats``, ``loadImgs``, ``loadRes``, ``annToRLE``,
    ``annToMask``, ``info``, ``createIndex``), with the same results, so that
    :class:`sa1b_rle.cocoeval.COCOeval` needs no pycocotools at run time.

    ``annotation_file``: a path to a COCO JSON file, its bytes, or the already loaded
    ``dict``. A file or bytes is parsed in Rust straight into columns (ids, areas,
    boxes, segmentations, keypoints); pycocotools' dicts (``dataset`` and the index
    tables) are built from the JSON the first time one is read.

    **One rule for mutation**: evaluation reads the columns until the annotation dicts
    have been built (by reading ``dataset``, ``anns``, ``imgToAnns``, ``catToImgs`` or
    ``loadAnns``, or by assigning one of them); from then on it reads the dicts, as
    pycocotools does, so edits made through them are honoured. A dict or results list
    passed in is read as the evaluation starts. ``imgs``, ``cats``, ``loadImgs`` and
    ``loadCats`` build only the image and category dicts.

    The id filters behave as pycocotools' do, quirks included (``getImgIds`` returns the
    ids in set order when filtering; ``getAnnIds`` with ``areaRng`` keeps areas strictly
    inside it). Nothing is printed.
    """

    dataset = _view("dataset")
    anns = _view("anns")
    imgs = _view("imgs")
    cats = _view("cats")
    imgToAnns = _view("imgToAnns")
    catToImgs = _view("catToImgs")

    def __init__(
        self, annotation_file: str | os.PathLike[str] | bytes | dict[str, Any] | None = None
    ) -> None:
        from sa1b_rle import _core

        self._cols: Any = None  # _core.CocoColumns while the annotation dicts are not built
        self._views: dict[str, Any] | None = None
        self._source = "<bytes>"
        # Results of loadRes: (ground truth, the result dicts or None for the columns'
        # file, kind).
        self._results: tuple[COCO, Any, str] | None = None
        if annotation_file is None or isinstance(annotation_file, dict):
            self._set_dataset({} if annotation_file is None else annotation_file)
            return
        try:
            if isinstance(annotation_file, (bytes, bytearray, memoryview)):
                self._cols = _core.coco_parse_dataset(bytes(annotation_file))
            else:
                self._source = os.fspath(annotation_file)
                # Read and parsed in Rust; the columns keep the bytes for the dicts.
                self._cols = _core.coco_read_dataset(self._source)
        except ValueError as e:
            raise ValueError(f"{self._source}: {e}") from None

    def _set_dataset(self, dataset: Any) -> None:
        if not isinstance(dataset, dict):
            raise ValueError(
                f"annotation file format {type(dataset).__name__} not supported: "
                "expected a JSON object"
            )
        self._cols = None
        self._views = {"dataset": dataset}
        self.createIndex()

    def _materialize(self) -> None:
        """Builds pycocotools' dicts from the JSON (or the results), once; from then on
        evaluation reads them."""
        if self._results is not None:
            gt, anns, kind = self._results
            if anns is None:
                anns = json.loads(self._cols.source())
            dataset: dict[str, Any] = {
                "info": copy.deepcopy(gt.dataset.get("info", {})),
                "images": list(gt.dataset["images"]),
            }
            _complete_results(anns, kind, dataset, gt)
            dataset["annotations"] = anns
            self._results = None
        else:
            dataset = json.loads(self._cols.source()) if self._cols is not None else {}
        self._set_dataset(dataset)

    @property
    def _columns(self) -> Any:
        """The columns evaluation can read (None once the dicts are built, or when the
        columns do not hold every value as Python would see it)."""
        if self._cols is None or self._views is not None or self._cols.atypical is not None:
            return None
        return self._cols

    def createIndex(self) -> None:
        """(Re)builds ``anns``, ``imgs``, ``cats``, ``imgToAnns`` and ``catToImgs`` from
        ``dataset``."""
        if self._views is None:
            self._materialize()
            return
        dataset = self._views["dataset"]
        anns: dict[Any, dict[str, Any]] = {}
        cats: dict[Any, dict[str, Any]] = {}
        imgs: dict[Any, dict[str, Any]] = {}
        img_to_anns: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        cat_to_imgs: defaultdict[Any, list[Any]] = defaultdict(list)
        for ann in dataset.get("annotations", []):
            img_to_anns[ann["image_id"]].append(ann)
            anns[ann["id"]] = ann
        for img in dataset.get("images", []):
            imgs[img["id"]] = img
        for cat in dataset.get("categories", []):
            cats[cat["id"]] = cat
        if "annotations" in dataset and "categories" in dataset:
            for ann in dataset["annotations"]:
                cat_to_imgs[ann["category_id"]].append(ann["image_id"])
        self._views.update(
            anns=anns, imgs=imgs, cats=cats, imgToAnns=img_to_anns, catToImgs=cat_to_imgs
        )
        self._cols = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickles as pycocotools' state: the dicts (built first if needed)."""
        if self._views is None:
            self._materialize()
        state = self.__dict__.copy()
        state["_cols"] = None
        return state

    def info(self) -> None:
        """Prints the dataset's ``info`` entries, as pycocotools does."""
        for key, value in self.dataset["info"].items():
            print(f"{key}: {value}")

    def getAnnIds(
        self, imgIds: Any = (), catIds: Any = (), areaRng: Any = (), iscrowd: Any = None
    ) -> list[Any]:
        """Ids of the annotations on ``imgIds``, of ``catIds``, with area strictly inside
        ``areaRng`` and the given ``iscrowd`` (each filter skipped when empty/None)."""
        img_ids = imgIds if _is_array_like(imgIds) else [imgIds]
        cat_ids = catIds if _is_array_like(catIds) else [catIds]
        cols = self._columns
        if cols is not None and self._results is None:
            ik, ck = _int_keys(img_ids), _int_keys(cat_ids)
            crowd_ok = iscrowd is None or isinstance(iscrowd, (int, float, np.number))
            if ik is not None and ck is not None and crowd_ok and len(areaRng) in (0, 2):
                ids = cols.ann_ids(
                    img_ids=ik if len(img_ids) else None,
                    cat_ids=ck if len(cat_ids) else None,
                    area_rng=(float(areaRng[0]), float(areaRng[1])) if len(areaRng) else None,
                    iscrowd=None if iscrowd is None else float(iscrowd),
                )
                out: list[Any] = ids.tolist()
                return out
        if len(img_ids) == len(cat_ids) == len(areaRng) == 0:
            anns = self.dataset["annotations"]
        else:
            if len(img_ids) != 0:
                lists = [self.imgToAnns[i] for i in img_ids if i in self.imgToAnns]
                anns = list(itertools.chain.from_iterable(lists))
            else:
                anns = self.dataset["annotations"]
            if len(cat_ids) != 0:
                try:
                    wanted = _lookup(cat_ids)
                    anns = [a for a in anns if a["category_id"] in wanted]
                except TypeError:  # an unhashable category_id: the list's own scan
                    anns = [a for a in anns if a["category_id"] in cat_ids]
            if len(areaRng) != 0:
                anns = [a for a in anns if areaRng[0] < a["area"] < areaRng[1]]
        if iscrowd is not None:
            return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
        return [a["id"] for a in anns]

    def _tables(self) -> set[str]:
        """The top-level tables the dataset has (of images, annotations, categories)."""
        if self._results is None and self._views is None and self._cols is not None:
            names = ("images", "annotations", "categories")
            return {n for n, has in zip(names, self._cols.tables, strict=True) if has}
        return {n for n in ("images", "annotations", "categories") if n in self.dataset}

    def _meta_columns(self) -> Any:
        """The columns that hold this set's images and categories (a results set's are
        its ground truth's), while no dict of them is built."""
        if self._results is not None:
            return self._results[0]._meta_columns()
        if self._views is not None or self._cols is None or self._cols.atypical is not None:
            return None
        return self._cols

    def getCatIds(self, catNms: Any = (), supNms: Any = (), catIds: Any = ()) -> list[Any]:
        """Ids of the categories with the given names, supercategories and ids."""
        nms = catNms if _is_array_like(catNms) else [catNms]
        sups = supNms if _is_array_like(supNms) else [supNms]
        ids = catIds if _is_array_like(catIds) else [catIds]
        meta = self._meta_columns()
        if meta is not None and len(nms) == len(sups) == len(ids) == 0:
            if not meta.tables[2]:
                raise KeyError("categories")
            out: list[Any] = meta.category_ids().tolist()
            return out
        cats = self.dataset["categories"]
        if len(nms) != 0:
            cats = [c for c in cats if c["name"] in nms]
        if len(sups) != 0:
            cats = [c for c in cats if c["supercategory"] in sups]
        if len(ids) != 0:
            cats = [c for c in cats if c["id"] in ids]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds: Any = (), catIds: Any = ()) -> list[Any]:
        """Ids of the images among ``imgIds`` that have every category of ``catIds``."""
        img_ids = imgIds if _is_array_like(imgIds) else [imgIds]
        cat_ids = catIds if _is_array_like(catIds) else [catIds]
        meta = self._meta_columns()
        if len(img_ids) == len(cat_ids) == 0:
            if meta is not None:
                return list(dict.fromkeys(meta.image_ids().tolist()))
            return list(self.imgs.keys())
        cols = self._columns
        ids = set(img_ids)
        for i, cat in enumerate(cat_ids):
            if cols is not None and self._results is None and _int_keys([cat]) is not None:
                tables = cols.tables
                on = cols.images_of_category(int(cat)).tolist() if tables[1] and tables[2] else []
            else:
                on = self.catToImgs[cat]
            if i == 0 and len(ids) == 0:
                ids = set(on)
            else:
                ids &= set(on)
        return list(ids)

    @staticmethod
    def _load(table: dict[Any, dict[str, Any]], ids: Any) -> list[dict[str, Any]]:
        if _is_array_like(ids):
            return [table[i] for i in ids]
        return [table[ids]]

    def loadAnns(self, ids: Any = ()) -> list[dict[str, Any]]:
        """The annotations with these ids (one id or a sequence)."""
        return self._load(self.anns, ids)

    def loadCats(self, ids: Any = ()) -> list[dict[str, Any]]:
        """The categories with these ids."""
        return self._load(self.cats, ids)

    def loadImgs(self, ids: Any = ()) -> list[dict[str, Any]]:
        """The images with these ids."""
        return self._load(self.imgs, ids)

    def loadRes(self, resFile: str | os.PathLike[str] | list[dict[str, Any]] | Any) -> COCO:
        """A :class:`COCO` of detection results (a JSON file, a list of result dicts, or
        pycocotools' ``(N, 7)`` array ``[image_id, x, y, w, h, score, category_id]``) on
        this set's images, completed as pycocotools does: ids from 1, ``iscrowd`` 0, and
        for box results ``area = w * h`` and the box as a polygon, for segmentation
        results the RLE's ``area`` and (if missing) ``bbox``, for keypoints the points'
        extent. A file is parsed in Rust into columns; the values are derived there,
        in parallel. Result dicts (of a file, or the list given) are completed in place
        when the new set's dicts are first read."""
        from sa1b_rle import _core

        source = "<results>"
        raw: Any = None  # the results list (None: the file, kept by the columns)
        if isinstance(resFile, (str, os.PathLike)):
            source = os.fspath(resFile)
            try:
                cols = _core.coco_read_results(source)
            except ValueError as e:
                raise ValueError(f"{source}: {e}") from None
        else:
            if isinstance(resFile, np.ndarray):
                raw = _numpy_results(resFile)
            else:
                raw = resFile
            if not isinstance(raw, list):
                raise ValueError("results must be a list of result objects")
            try:
                cols = _core.coco_columns_from_dicts(raw, None, keys={}, results=True)
            except ValueError as e:
                raise ValueError(f"results: {e}") from None
        if cols.n_annotations == 0:
            raise ValueError(f"{source}: no results (pycocotools cannot load an empty list)")
        if cols.atypical is None and self._meta_columns() is not None:
            bad: Any = cols.unknown_image_id(self._meta_columns())
        else:
            # Ids the columns cannot key (strings, fractions): pycocotools' set test.
            if raw is None:
                raw = json.loads(cols.source())
            ids = {a["image_id"] for a in raw}
            extra = ids - set(self.getImgIds())
            bad = next(iter(extra)) if extra else None
        if bad is not None:
            raise ValueError(
                f"{source}: results do not correspond to this annotation set "
                f"(image_id {bad!r} is not one of its images)"
            )
        res = COCO()
        res._views = None
        res._cols = cols
        res._results = (self, raw, cols.result_kind or "plain")
        res._source = source
        return res

    def annToRLE(self, ann: dict[str, Any]) -> dict[str, Any]:
        """The compressed RLE of an annotation (polygons merged, uncompressed RLE
        compressed), at its image's size."""
        from sa1b_rle import mask as mask_utils

        img = self.imgs[ann["image_id"]]
        h, w = img["height"], img["width"]
        segm = ann["segmentation"]
        if isinstance(segm, list):
            if not segm:
                raise ValueError(
                    f"annotation id {ann.get('id')!r}: segmentation is an empty list "
                    "(pycocotools cannot read it)"
                )
            return mask_utils.merge(mask_utils.frPyObjects(segm, h, w))  # type: ignore[arg-type]
        if isinstance(segm["counts"], list):
            out: dict[str, Any] = mask_utils.frPyObjects(segm, h, w)  # type: ignore[assignment]
            return out
        rle: dict[str, Any] = segm
        return rle

    def annToMask(self, ann: dict[str, Any]) -> npt.NDArray[np.uint8]:
        """The annotation's ``(h, w)`` uint8 mask."""
        from sa1b_rle import mask as mask_utils

        return mask_utils.decode(self.annToRLE(ann))


def _complete_results(
    anns: list[dict[str, Any]], kind: str, dataset: dict[str, Any], gt: COCO
) -> None:
    """pycocotools' ``loadRes`` completion of result dicts, in place (run when the dicts
    of a results set are first read)."""
    from sa1b_rle import mask as mask_utils

    if kind == "caption":
        keep = {img["id"] for img in dataset["images"]} & {a["image_id"] for a in anns}
        dataset["images"] = [i for i in dataset["images"] if i["id"] in keep]
        for k, ann in enumerate(anns):
            ann["id"] = k + 1
    elif kind == "bbox":
        dataset["categories"] = copy.deepcopy(gt.dataset["categories"])
        for k, ann in enumerate(anns):
            bb = ann["bbox"]
            x1, x2, y1, y2 = bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]
            if "segmentation" not in ann:
                ann["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
            ann["area"] = bb[2] * bb[3]
            ann["id"] = k + 1
            ann["iscrowd"] = 0
    elif kind == "segmentation":
        dataset["categories"] = copy.deepcopy(gt.dataset["categories"])
        for k, ann in enumerate(anns):
            ann["area"] = mask_utils.area(ann["segmentation"])
            if "bbox" not in ann:
                ann["bbox"] = mask_utils.toBbox(ann["segmentation"])
            ann["id"] = k + 1
            ann["iscrowd"] = 0
    elif kind == "keypoints":
        dataset["categories"] = copy.deepcopy(gt.dataset["categories"])
        for k, ann in enumerate(anns):
            s = ann["keypoints"]
            x, y = s[0::3], s[1::3]
            x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
            ann["area"] = (x1 - x0) * (y1 - y0)
            ann["id"] = k + 1
            ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]


def _numpy_results(data: np.ndarray) -> list[dict[str, Any]]:
    """pycocotools' ``loadNumpyAnnotations``: rows ``[image_id, x, y, w, h, score,
    category_id]``."""
    if data.ndim != 2 or data.shape[1] != 7:
        raise ValueError(f"a results array must have shape (N, 7), not {data.shape}")
    return [
        {
            "image_id": int(row[0]),
            "bbox": [row[1], row[2], row[3], row[4]],
            "score": row[5],
            "category_id": int(row[6]),
        }
        for row in data
    ]
