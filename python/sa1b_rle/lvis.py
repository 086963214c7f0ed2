"""LVIS evaluation: lvis-api 0.5.3's ``LVIS``, ``LVISResults`` and ``LVISEval`` with its
numbers, on this package's loader and evaluation engine.

Over 400 lines: lvis-api's three classes and ``Params`` (their whole surface: the
dataset views, ``get_*_ids``/``load_*``, the federated ``_prepare``, ``eval_imgs``,
``ious``, ``eval`` with ``dt_pointers``, ``summarize``/``print_results``), one module user
code reaches into by name.

``LVIS(path)`` loads an LVIS annotation file into columns (Rust, as
:class:`sa1b_rle.coco.COCO`; the dicts are built when first read). ``LVISResults(gt,
results, max_dets=300)`` takes a path or a list of result dicts; ``LVISEval(gt, dt,
iou_type)`` takes these or lvis-api's own objects (or paths, or a results list) and
evaluates ``"segm"`` or ``"bbox"`` by lvis-api's federated rules:

- a detection counts only for categories present in its image (a ground truth of it)
  or listed in the image's ``neg_category_ids``; an unmatched detection of a category in
  the image's ``not_exhaustive_category_ids`` is ignored;
- every detection is kept (``LVISResults`` keeps the ``max_dets`` best per image,
  ties in file order, and numbers the results image by image, as lvis-api does);
- ground truths and detections of area 0 are left out (lvis-api's ``get_ann_ids``
  keeps areas strictly inside ``(0, inf)``); there are no crowd regions;
- ``results`` holds the 13 metrics in lvis-api's order (AP, AP50, AP75, APs, APm, APl,
  APr, APc, APf, AR@300, ARs@300, ARm@300, ARl@300), r/c/f from each category's
  ``frequency``; ``eval["precision"]`` is ``(T, R, K, A)``, ``eval["recall"]``
  ``(T, K, A)``.

The numbers equal lvis-api's exactly (``np.array_equal``). Unlike lvis-api (whose last
release fails on numpy >= 1.24) it works under numpy 2. With ``params.use_cats = 0``
lvis-api reads no annotation (every entry empty, every curve -1) and its ``summarize()``
fails with an ``IndexError``; so does this, but for a ``ValueError`` saying why.
A ground truth's ``ignore`` field is not read (LVIS has none).

Derived from lvis-api (Modified BSD License, Copyright (c) 2019, Agrim Gupta and Ross
Girshick; the notice is in ``tests/data/LICENSES.md``).
"""

from __future__ import annotations

import copy
import datetime
import logging
import os
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import _Groups as _CocoGroups
from sa1b_rle.cocoeval import _Ious

__all__ = ["LVIS", "LVISEval", "LVISResults", "Params"]

# No detection cap inside the evaluation (LVISResults applies max_dets).
_ALL = 2**62


def _lvis_api(obj: Any, name: str) -> bool:
    """Whether ``obj`` is lvis-api's own ``name`` (or a subclass of it)."""
    return any(c.__name__ == name and c.__module__.startswith("lvis") for c in type(obj).__mro__)


class LVIS:
    """An LVIS annotation set with lvis-api's ``LVIS`` API: ``dataset``, ``anns``,
    ``imgs``, ``cats``, ``img_ann_map``, ``cat_img_map`` (built when first read),
    ``get_ann_ids``, ``get_cat_ids``, ``get_img_ids``, ``load_anns``, ``load_cats``,
    ``load_imgs``, ``ann_to_rle``, ``ann_to_mask``, ``download``.

    ``annotation_path``: a path to an LVIS JSON file (also its bytes or the loaded
    dict). Parsed in Rust into columns, as :class:`sa1b_rle.coco.COCO` (whose rule for
    mutation holds: once the annotation dicts are read, evaluation reads them)."""

    def __init__(self, annotation_path: str | os.PathLike[str] | bytes | dict[str, Any]) -> None:
        self.logger = logging.getLogger(__name__)
        self._coco = COCO(annotation_path)

    @classmethod
    def _of(cls, gt: Any) -> LVIS:
        """This package's ``LVIS`` of a path, or of lvis-api's object (its dicts)."""
        if isinstance(gt, LVIS):
            return gt
        if isinstance(gt, (str, os.PathLike)):
            return cls(gt)
        if _lvis_api(gt, "LVIS"):
            return cls(gt.dataset)
        raise TypeError(f"Unsupported type {type(gt)} of lvis_gt.")

    # The dict views, built when first read.
    @property
    def dataset(self) -> Any:
        return self._coco.dataset

    @property
    def anns(self) -> Any:
        return self._coco.anns

    @property
    def imgs(self) -> Any:
        return self._coco.imgs

    @property
    def cats(self) -> Any:
        return self._coco.cats

    @property
    def img_ann_map(self) -> Any:
        return self._coco.imgToAnns

    @property
    def cat_img_map(self) -> Any:
        return self._coco.catToImgs

    def _columns(self) -> Any:
        """The columns evaluation reads (None once the annotation dicts are read)."""
        return self._coco._columns

    def get_ann_ids(
        self, img_ids: Any = None, cat_ids: Any = None, area_rng: Any = None
    ) -> list[Any]:
        """Ids of the annotations of ``img_ids`` (in that order; all when None), of
        ``cat_ids`` and with area strictly inside ``area_rng`` (``[0, inf]`` when only
        ``cat_ids`` is given), as lvis-api's."""
        anns: list[Any] = []
        if img_ids is not None:
            for img_id in img_ids:
                anns.extend(self.img_ann_map[img_id])
        else:
            anns = self.dataset["annotations"]
        if cat_ids is None and area_rng is None:
            return [a["id"] for a in anns]
        cats = set(cat_ids)  # (lvis-api: cat_ids is needed here)
        if area_rng is None:
            area_rng = [0, float("inf")]
        lo, hi = area_rng[0], area_rng[1]
        return [a["id"] for a in anns if a["category_id"] in cats and lo < a["area"] < hi]

    def get_cat_ids(self) -> list[Any]:
        return self._coco.getCatIds()

    def get_img_ids(self) -> list[Any]:
        return self._coco.getImgIds()

    def _meta(self) -> Any:
        """The columns of the images and categories (None once their dicts are built)."""
        return self._coco._meta_columns()

    @staticmethod
    def _load_helper(table: dict[Any, Any], ids: Any) -> list[Any]:
        return list(table.values()) if ids is None else [table[i] for i in ids]

    def load_anns(self, ids: Any = None) -> list[dict[str, Any]]:
        return self._load_helper(self.anns, ids)

    def load_cats(self, ids: Any) -> list[dict[str, Any]]:
        return self._load_helper(self.cats, ids)

    def load_imgs(self, ids: Any) -> list[dict[str, Any]]:
        return self._load_helper(self.imgs, ids)

    def download(self, save_dir: str, img_ids: Any = None) -> None:
        """Downloads the images (their ``coco_url``) into ``save_dir``."""
        from urllib.request import urlretrieve

        os.makedirs(save_dir, exist_ok=True)
        for img in self.load_imgs(img_ids):
            name = os.path.join(save_dir, img["coco_url"].split("/")[-1])
            if not os.path.exists(name):
                urlretrieve(img["coco_url"], name)

    def ann_to_rle(self, ann: dict[str, Any]) -> dict[str, Any]:
        """The compressed RLE of an annotation (polygons merged), at its image's size."""
        return self._coco.annToRLE(ann)

    def ann_to_mask(self, ann: dict[str, Any]) -> Any:
        return self._coco.annToMask(ann)


class LVISResults(LVIS):
    """Detection results on an LVIS set, as lvis-api's ``LVISResults``: ``results`` (a
    JSON path or a list of result dicts; a list's dicts are completed in place when the
    dicts are first read), at most ``max_dets`` per image (the best scores, ties in
    their order; all when negative), numbered image by image from 1, box results with
    ``area = w * h`` (and their box as a polygon), segmentation results with their
    RLE's area (and box)."""

    def __init__(self, lvis_gt: Any, results: Any, max_dets: int = 300) -> None:
        self.logger = logging.getLogger(__name__)
        self._gt = LVIS._of(lvis_gt)
        self._raw = results if not isinstance(results, (str, os.PathLike)) else None
        if not isinstance(results, (str, os.PathLike)) and not isinstance(results, list):
            raise TypeError("results is not a list.")
        # The results as columns, in their order, completed by loadRes (the areas and
        # boxes lvis-api gives them; ids are renumbered below).
        self._res = self._gt._coco.loadRes(results)
        kind = self._res._cols.result_kind if self._res._cols is not None else None
        if kind not in ("bbox", "segmentation"):
            raise ValueError("LVIS results need a 'bbox' or a 'segmentation' (got neither)")
        self._max_dets = int(max_dets)
        self._order, self._new_id = self._numbering()
        self._dicts: COCO | None = None

    def _numbering(self) -> tuple[np.ndarray, np.ndarray]:
        """lvis-api's ``limit_dets_per_image`` on the columns: the kept results in its
        order (image by image, first appearance first; a capped image's by score, ties
        in file order; all in file order when ``max_dets`` is negative), and each
        result's new id (0: dropped)."""
        _, img, _, _, score, _ = self._res._cols.annotation_arrays()
        n = len(img)
        if self._max_dets < 0:
            # (lvis-api then neither caps nor regroups: file order.)
            return np.arange(n), np.arange(1, n + 1, dtype=np.int64)
        _, first, inverse = np.unique(img, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")[inverse]
        counts = np.bincount(rank, minlength=int(rank.max()) + 1 if n else 0)
        capped = (counts > self._max_dets)[rank]
        # Within a capped image: score descending (Python's stable sorted(reverse=True)),
        # else file order.
        key = np.where(capped, -score, 0.0)
        order = np.lexsort((np.arange(n), key, rank))
        if capped.any():
            start = np.concatenate([[0], np.cumsum(counts)[:-1]])
            within = np.arange(n) - start[rank[order]]
            order = order[within < self._max_dets]
        new_id = np.zeros(n, np.int64)
        new_id[order] = np.arange(1, len(order) + 1)
        return order, new_id

    def _lvis_dicts(self) -> COCO:
        """The results as lvis-api's dicts (``dataset`` as a copy of the ground truth's
        with these annotations), built when first read."""
        if self._dicts is None:
            raw = self._raw
            if raw is None:
                import json

                raw = json.loads(self._res._cols.source())
            anns = [raw[i] for i in self._order.tolist()]
            if "bbox" in anns[0]:
                for i, ann in enumerate(anns):
                    x1, y1, w, h = ann["bbox"]
                    if "segmentation" not in ann:
                        ann["segmentation"] = [[x1, y1, x1, y1 + h, x1 + w, y1 + h, x1 + w, y1]]
                    ann["area"] = w * h
                    ann["id"] = i + 1
            else:
                from sa1b_rle import mask as mask_utils

                for i, ann in enumerate(anns):
                    ann["area"] = mask_utils.area(ann["segmentation"])
                    if "bbox" not in ann:
                        ann["bbox"] = mask_utils.toBbox(ann["segmentation"])
                    ann["id"] = i + 1
            dataset = copy.deepcopy(
                {k: v for k, v in self._gt.dataset.items() if k != "annotations"}
            )
            dataset["annotations"] = anns
            self._dicts = COCO(dataset)
        return self._dicts

    @property
    def _coco(self) -> COCO:
        return self._lvis_dicts()

    @_coco.setter
    def _coco(self, value: COCO) -> None:
        self._dicts = value

    def _columns(self) -> Any:
        return None if self._dicts is not None else self._res._columns

    def get_cat_ids(self) -> list[Any]:
        return self._gt.get_cat_ids() if self._dicts is None else super().get_cat_ids()

    def get_img_ids(self) -> list[Any]:
        return self._gt.get_img_ids() if self._dicts is None else super().get_img_ids()

    def _meta(self) -> Any:
        return None

    def limit_dets_per_image(self, anns: list[Any], max_dets: int) -> list[Any]:
        """lvis-api's: the ``max_dets`` best-scored results of each image (ties in
        order), image by image."""
        img_ann: defaultdict[Any, list[Any]] = defaultdict(list)
        for ann in anns:
            img_ann[ann["image_id"]].append(ann)
        for img_id, group in img_ann.items():
            if len(group) > max_dets:
                img_ann[img_id] = sorted(group, key=lambda a: a["score"], reverse=True)[:max_dets]
        return [a for group in img_ann.values() for a in group]

    def get_top_results(self, img_id: Any, score_thrs: float) -> list[Any]:
        anns = self.load_anns(self.get_ann_ids(img_ids=[img_id]))
        return [a for a in anns if a["score"] > score_thrs]


class Params:
    """lvis-api's evaluation parameters: ``img_ids``, ``cat_ids``, ``iou_thrs``
    (0.5:0.05:0.95), ``rec_thrs`` (0:0.01:1), ``max_dets`` (300, for the labels),
    ``area_rng`` and ``area_rng_lbl`` (all, small, medium, large), ``use_cats`` (1),
    ``img_count_lbl`` (r, c, f), ``iou_type``."""

    def __init__(self, iou_type: str) -> None:
        self.img_ids: list[Any] = []
        self.cat_ids: list[Any] = []
        self.iou_thrs = np.linspace(
            0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True
        )
        self.rec_thrs = np.linspace(
            0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True
        )
        self.max_dets = 300
        self.area_rng: list[Any] = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.area_rng_lbl = ["all", "small", "medium", "large"]
        self.use_cats = 1
        self.img_count_lbl = ["r", "c", "f"]
        self.iou_type = iou_type


class LVISEval:
    """lvis-api's ``LVISEval``: ``run()`` (``evaluate()``, ``accumulate()``,
    ``summarize()``), ``print_results()``, ``get_results()``, ``results``, ``eval``,
    ``eval_imgs`` and ``ious`` (both built when read), ``params``, ``freq_groups``,
    ``img_nel``. ``lvis_gt``: an :class:`LVIS`, lvis-api's ``LVIS`` or a path;
    ``lvis_dt``: an :class:`LVISResults`, lvis-api's ``LVISResults``, a path or a list
    of result dicts; ``iou_type``: ``"segm"`` or ``"bbox"``."""

    def __init__(self, lvis_gt: Any, lvis_dt: Any, iou_type: str = "segm") -> None:
        self.logger = logging.getLogger(__name__)
        if iou_type not in ["bbox", "segm"]:
            raise ValueError(f"iou_type: {iou_type} is not supported.")
        if isinstance(lvis_gt, LVIS) or _lvis_api(lvis_gt, "LVIS"):
            self.lvis_gt = lvis_gt
        elif isinstance(lvis_gt, (str, os.PathLike)):
            self.lvis_gt = LVIS(lvis_gt)
        else:
            raise TypeError(f"Unsupported type {lvis_gt} of lvis_gt.")
        if isinstance(lvis_dt, LVISResults) or _lvis_api(lvis_dt, "LVISResults"):
            self.lvis_dt = lvis_dt
        elif isinstance(lvis_dt, (str, os.PathLike, list)):
            self.lvis_dt = LVISResults(self.lvis_gt, lvis_dt)
        else:
            raise TypeError(f"Unsupported type {lvis_dt} of lvis_dt.")
        self.eval_imgs: Any = defaultdict(list)
        self.eval: dict[str, Any] = {}
        self.params = Params(iou_type=iou_type)
        self.results: OrderedDict[str, Any] = OrderedDict()
        self.ious: Any = {}
        self.params.img_ids = sorted(self.lvis_gt.get_img_ids())
        self.params.cat_ids = sorted(self.lvis_gt.get_cat_ids())
        self._rust: Any = None
        self._new_id: np.ndarray | None = None

    # -- evaluate --------------------------------------------------------------------

    def _images(self) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """Per image of ``img_ids``: its ``neg_category_ids`` and
        ``not_exhaustive_category_ids`` (from the columns while the image dicts are not
        built)."""
        got = self._images_of_columns()
        if got is not None:
            return got
        neg: dict[Any, Any] = {}
        nel: dict[Any, Any] = {}
        for d in self.lvis_gt.load_imgs(ids=self.params.img_ids):
            for name, table in (("neg_category_ids", neg), ("not_exhaustive_category_ids", nel)):
                if name not in d:
                    raise ValueError(f"image {d.get('id')!r} has no {name!r} (an LVIS image does)")
                if not isinstance(d[name], list):
                    raise ValueError(
                        f"image {d.get('id')!r}: {name} must be a list of category ids, "
                        f"not {type(d[name]).__name__}"
                    )
                table[d["id"]] = d[name]
        return neg, nel

    def _images_of_columns(self) -> tuple[dict[Any, Any], dict[Any, Any]] | None:
        meta = self.lvis_gt._meta() if isinstance(self.lvis_gt, LVIS) else None
        if meta is None:
            return None
        ids = meta.image_ids()
        row = {int(i): r for r, i in enumerate(ids.tolist())}  # (the last of an id)
        wanted = self.params.img_ids
        if any(not isinstance(i, (int, np.integer)) for i in wanted):
            return None
        rows = [row[int(i)] for i in wanted]  # (an unknown id: a KeyError, as lvis-api)
        tables: list[dict[Any, Any]] = []
        for which in (0, 1):
            lists = meta.image_category_lists(which)
            if lists is None:
                return None
            values, starts, ends, present = lists
            if not present[rows].all() or not np.array_equal(values, np.round(values)):
                return None  # (the dicts say what is missing or unusual)
            as_int = values.astype(np.int64).tolist()
            tables.append(
                {i: as_int[starts[r] : ends[r]] for i, r in zip(wanted, rows, strict=True)}
            )
        return tables[0], tables[1]

    def _prepare_freq_group(self) -> list[list[int]]:
        groups: list[list[int]] = [[] for _ in self.params.img_count_lbl]
        meta = self.lvis_gt._meta() if isinstance(self.lvis_gt, LVIS) else None
        if meta is not None:
            frequency = dict(
                zip(meta.category_ids().tolist(), meta.category_frequencies(), strict=True)
            )
            cats = [{"id": c, "frequency": frequency[c]} for c in self.params.cat_ids]
        else:
            cats = self.lvis_gt.load_cats(self.params.cat_ids)
        for idx, cat in enumerate(cats):
            freq = cat.get("frequency")
            if freq not in self.params.img_count_lbl:
                raise ValueError(
                    f"category {cat.get('id')!r}: frequency must be one of "
                    f"{self.params.img_count_lbl}, not {freq!r}"
                )
            groups[self.params.img_count_lbl.index(freq)].append(idx)
        return groups

    def evaluate(self) -> None:
        """lvis-api's ``evaluate()``: the federated selection, then each image and
        category matched in Rust (``sa1b_rle::eval``, on the thread pool)."""
        from sa1b_rle import _core

        p = self.params
        p.img_ids = list(np.unique(p.img_ids))
        cat_ids = p.cat_ids if p.use_cats else [-1]
        neg, self.img_nel = self._images()
        self.freq_groups = self._prepare_freq_group()
        keys: dict[Any, int] = {}
        if not p.use_cats:
            # lvis-api reads _gts[img_id, -1]: nothing.
            gt_cols = dt_cols = _core.coco_columns_from_dicts([], None, keys=keys)
            gt_members: list[int] = []
            dt_members: list[int] = []
            flags: list[bool] = []
            gt_dicts: Any = []
            dt_dicts: Any = []
        else:
            sides = self._columns_side(neg, keys) or self._dicts_side(neg, keys)
            gt_cols, gt_members, gt_dicts, dt_cols, dt_members, dt_dicts, flags = sides
        self._rust = _core.coco_evaluate(
            gt_cols,
            dt_cols,
            img_ids=_core.coco_keys(p.img_ids, keys),
            cat_ids=_core.coco_keys(cat_ids, keys),
            use_cats=True,
            iou_type=p.iou_type,
            iou_thrs=[float(t) for t in p.iou_thrs],
            area_rng=np.asarray(p.area_rng, dtype=np.float64).reshape(-1, 2).tolist(),
            max_det=_ALL,
            kpt_oks_sigmas=[],
            gt_members=gt_members,
            dt_members=dt_members,
            not_exhaustive=flags,
        )
        groups = _Groups(self._rust, gt_cols, dt_cols, gt_dicts, dt_dicts, self._new_id)
        self.eval_imgs = _EvalImgs(groups, p, cat_ids)
        view = _IouParams(p.img_ids, p.iou_type)
        self.ious = _Ious(groups, view, cat_ids)
        self._evaluated = (list(p.img_ids), list(cat_ids), [list(r) for r in p.area_rng])

    def _columns_side(self, neg: dict[Any, Any], keys: dict[Any, int]) -> Any:
        """The selection on the columns (this package's untouched objects with integer
        ids): None when the dicts must be read."""
        gt, dt = self.lvis_gt, self.lvis_dt
        if not (isinstance(gt, LVIS) and isinstance(dt, LVISResults)):
            return None
        gt_cols, dt_cols = gt._columns(), dt._columns()
        if gt_cols is None or dt_cols is None:
            return None
        p = self.params
        img_ids = np.asarray(p.img_ids)
        cats = np.unique(np.asarray(p.cat_ids))
        if img_ids.dtype.kind not in "iu" or cats.dtype.kind not in "iu":
            return None
        if len(cats) == 0 or len(img_ids) == 0 or len(cats) != len(p.cat_ids):
            return None
        n_cat = len(cats)

        def pairs(img: np.ndarray, cat: np.ndarray) -> np.ndarray:
            """(image, category) as one key, -1 outside img_ids x cat_ids (img_ids is
            sorted: evaluate() made it unique)."""
            i = np.clip(np.searchsorted(img_ids, img), 0, len(img_ids) - 1)
            c = np.clip(np.searchsorted(cats, cat), 0, n_cat - 1)
            inside = (img_ids[i] == img) & (cats[c] == cat)
            return np.where(inside, i.astype(np.int64) * n_cat + c, -1)

        def listed(table: dict[Any, Any]) -> np.ndarray:
            img = [i for i, cats in table.items() for _ in cats]
            cat = [c for cats in table.values() for c in cats]
            if not img:
                return np.zeros(0, np.int64)
            try:
                key = pairs(np.asarray(img, np.int64), np.asarray(cat, np.int64))
            except (TypeError, ValueError, OverflowError):
                raise ValueError("category ids in the image lists must be integers") from None
            return key[key >= 0]

        # Ground truths: get_ann_ids(img_ids, cat_ids) (area strictly inside (0, inf)),
        # then load_anns (an id given twice: its last annotation).
        ids, img, cat, area, _, _ = gt_cols.annotation_arrays()
        key = pairs(img, cat)
        keep = (key >= 0) & (area > 0) & (area < np.inf)
        members = np.flatnonzero(keep)
        uniq, last_rev = np.unique(ids[::-1], return_index=True)
        if len(uniq) < len(ids):
            last = len(ids) - 1 - last_rev
            members = last[np.searchsorted(uniq, ids[members])]
        present = np.unique(pairs(img[members], cat[members]))
        # Detections: kept by LVISResults, selected as the ground truths, then only the
        # categories present in the image or on its negative list.
        _, dimg, dcat, darea, _, _ = dt_cols.annotation_arrays()
        dkey = pairs(dimg, dcat)
        dkeep = (dkey >= 0) & (darea > 0) & (darea < np.inf) & (dt._new_id > 0)
        dkeep &= np.isin(dkey, np.union1d(present, listed(neg)))
        flags = np.isin(dkey, listed(self.img_nel)) & (dkey >= 0)
        self._new_id = dt._new_id
        return (
            gt_cols,
            members.tolist(),
            None,
            dt_cols,
            np.flatnonzero(dkeep).tolist(),
            None,
            flags.tolist(),
        )

    def _dicts_side(self, neg: dict[Any, Any], keys: dict[Any, int]) -> Any:
        """lvis-api's ``_prepare`` on the annotation dicts (its own objects, or ours
        once their dicts were read)."""
        from sa1b_rle import _core

        p = self.params
        gt, dt = self.lvis_gt, self.lvis_dt
        cat_ids = p.cat_ids if p.cat_ids else None
        gts = gt.load_anns(gt.get_ann_ids(img_ids=p.img_ids, cat_ids=cat_ids))
        dts = dt.load_anns(dt.get_ann_ids(img_ids=p.img_ids, cat_ids=cat_ids))
        images = None
        if p.iou_type == "segm":
            for anns, owner in ((gts, gt), (dts, dt)):
                for ann in anns:
                    ann["segmentation"] = owner.ann_to_rle(ann)
        present: defaultdict[Any, set[Any]] = defaultdict(set)
        for ann in gts:
            present[ann["image_id"]].add(ann["category_id"])
        dts = [
            d
            for d in dts
            if d["category_id"] in neg[d["image_id"]] or d["category_id"] in present[d["image_id"]]
        ]
        flags = [d["category_id"] in self.img_nel[d["image_id"]] for d in dts]
        gt_cols = _core.coco_columns_from_dicts(gts, images, keys=keys)
        dt_cols = _core.coco_columns_from_dicts(dts, images, keys=keys)
        self._new_id = None
        return (
            gt_cols,
            list(range(len(gts))),
            gts,
            dt_cols,
            list(range(len(dts))),
            dts,
            flags,
        )

    def compute_iou(self, img_id: Any, cat_id: Any) -> Any:
        """The IoU matrix of an image and category (detections by score), as
        ``evaluate()`` computed it."""
        if not isinstance(self.ious, Mapping) or self._rust is None:
            raise RuntimeError("run evaluate() first")
        return self.ious[img_id, cat_id]

    def evaluate_img(self, img_id: Any, cat_id: Any, area_rng: Any) -> dict[str, Any] | None:
        """The ``eval_imgs`` entry of an image, category and area range."""
        if not isinstance(self.eval_imgs, _EvalImgs):
            raise RuntimeError("run evaluate() first")
        return self.eval_imgs.find(img_id, cat_id, area_rng)

    # -- accumulate and summarize ----------------------------------------------------

    def accumulate(self) -> None:
        """lvis-api's ``accumulate()`` (in Rust): ``eval["precision"]`` ``(T, R, K, A)``
        and ``eval["recall"]`` ``(T, K, A)``, -1 where there is no ground truth."""
        if not isinstance(self.eval_imgs, _EvalImgs):
            self.logger.warning("Please run evaluate first.")
            raise RuntimeError("run evaluate() first")
        p = self.params
        img_ids, cat_ids, area_rng = self._evaluated
        dims = [len(p.iou_thrs), len(p.rec_thrs), len(cat_ids), len(area_rng), 1]
        precision, recall, _ = self._rust.accumulate(
            k_list=list(range(len(cat_ids))),
            a_list=list(range(len(area_rng))),
            m_list=[_ALL],
            i_list=list(range(len(img_ids))),
            n_images=len(img_ids),
            n_area_ranges=len(area_rng),
            n_categories=len(cat_ids),
            dims=dims,
            rec_thrs=[float(x) for x in p.rec_thrs],
        )
        self.eval = {
            "params": p,
            "counts": dims[:4],
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": precision[..., 0],
            "recall": recall[..., 0],
            "dt_pointers": _DtPointers(self.eval_imgs, len(cat_ids), len(area_rng)),
        }

    def _summarize(
        self,
        summary_type: str,
        iou_thr: float | None = None,
        area_rng: str = "all",
        freq_group_idx: int | None = None,
    ) -> Any:
        aidx = [i for i, lbl in enumerate(self.params.area_rng_lbl) if lbl == area_rng]
        if summary_type == "ap":
            s = self.eval["precision"]
            if iou_thr is not None:
                tidx = np.where(iou_thr == self.params.iou_thrs)[0]
                s = s[tidx]
            if freq_group_idx is not None:
                s = s[:, :, self.freq_groups[freq_group_idx], aidx]
            else:
                s = s[:, :, :, aidx]
        else:
            s = self.eval["recall"]
            if iou_thr is not None:
                tidx = np.where(iou_thr == self.params.iou_thrs)[0]
                s = s[tidx]
            s = s[:, :, aidx]
        if len(s[s > -1]) == 0:
            return -1
        return np.mean(s[s > -1])

    def summarize(self) -> None:
        """The 13 metrics into ``results``, in lvis-api's order."""
        if not self.eval:
            raise RuntimeError("Please run accumulate() first.")
        if not self.params.use_cats:
            raise ValueError(
                "summarize() needs params.use_cats = 1: its r/c/f groups index categories "
                "(lvis-api fails there with an IndexError)"
            )
        max_dets = self.params.max_dets
        self.results["AP"] = self._summarize("ap")
        self.results["AP50"] = self._summarize("ap", iou_thr=0.50)
        self.results["AP75"] = self._summarize("ap", iou_thr=0.75)
        self.results["APs"] = self._summarize("ap", area_rng="small")
        self.results["APm"] = self._summarize("ap", area_rng="medium")
        self.results["APl"] = self._summarize("ap", area_rng="large")
        self.results["APr"] = self._summarize("ap", freq_group_idx=0)
        self.results["APc"] = self._summarize("ap", freq_group_idx=1)
        self.results["APf"] = self._summarize("ap", freq_group_idx=2)
        self.results[f"AR@{max_dets}"] = self._summarize("ar")
        for area_rng in ["small", "medium", "large"]:
            self.results[f"AR{area_rng[0]}@{max_dets}"] = self._summarize("ar", area_rng=area_rng)

    def run(self) -> None:
        """``evaluate()``, ``accumulate()``, ``summarize()``."""
        self.evaluate()
        self.accumulate()
        self.summarize()

    def print_results(self) -> None:
        """The metrics as lvis-api prints them."""
        template = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} catIds={:>3s}] = {:0.3f}"
        for key, value in self.results.items():
            max_dets = self.params.max_dets
            if "AP" in key:
                title, kind = "Average Precision", "(AP)"
            else:
                title, kind = "Average Recall", "(AR)"
            if len(key) > 2 and key[2].isdigit():
                iou = f"{float(key[2:]) / 100:0.2f}"
            else:
                iou = f"{self.params.iou_thrs[0]:0.2f}:{self.params.iou_thrs[-1]:0.2f}"
            group = key[2] if len(key) > 2 and key[2] in ["r", "c", "f"] else "all"
            area = key[2] if len(key) > 2 and key[2] in ["s", "m", "l"] else "all"
            print(template.format(title, kind, iou, area, max_dets, group, value))

    def get_results(self) -> OrderedDict[str, Any]:
        if not self.results:
            self.logger.warning("results is empty. Call run().")
        return self.results


class _IouParams:
    """What :class:`sa1b_rle.cocoeval._Ious` reads of the parameters."""

    def __init__(self, img_ids: list[Any], iou_type: str) -> None:
        self.imgIds, self.iouType, self.useCats = img_ids, iou_type, 1


class _Groups(_CocoGroups):
    """cocoeval's group detail, with the results' LVIS ids (their numbering by
    ``LVISResults``) where the columns hold file positions."""

    def __init__(
        self,
        rust: Any,
        gt_cols: Any,
        dt_cols: Any,
        gt_dicts: Any,
        dt_dicts: Any,
        new_id: np.ndarray | None,
    ) -> None:
        super().__init__(rust, gt_cols, dt_cols, gt_dicts, dt_dicts)
        self._new_id = new_id

    def _sides(self) -> list[tuple[list[Any], list[Any]]]:
        sides: list[tuple[list[Any], list[Any]]] = super()._sides()
        if self._new_id is not None and not getattr(self, "_renumbered", False):
            sides[1] = (self._new_id.tolist(), sides[1][1])
            self._renumbered = True
        return sides

    def detail(self, k: int) -> Any:
        got = super().detail(k)
        if got is None or self._new_id is None or getattr(got, "_lvis", False):
            return got
        # gtMatches hold the detections' column ids (file positions from 1).
        dt_ids, dt_scores, iou, entries = got
        fixed = []
        for gt_ids, dtm, gtm, gt_ig, dt_ig in entries:
            pos = gtm.astype(np.int64)
            gtm = np.where(pos > 0, self._new_id[np.maximum(pos - 1, 0)], 0).astype(gtm.dtype)
            fixed.append((gt_ids, dtm, gtm, gt_ig, dt_ig))
        out = _Detail((dt_ids, dt_scores, iou, fixed))
        self._cache[k] = out
        return out


class _Detail(tuple):  # type: ignore[type-arg]
    """A group's detail with its ids renumbered (marked, so it is done once)."""

    _lvis = True


class _EvalImgs(Sequence[Any]):
    """``eval_imgs``: lvis-api's list (category, area range, image order), each entry
    built when read."""

    def __init__(self, groups: _Groups, p: Params, cat_ids: list[Any]) -> None:
        self._groups, self._cat_ids = groups, cat_ids
        self._img_ids, self._area_rng = list(p.img_ids), list(p.area_rng)
        self._area_lists: list[Any] = [list(r) for r in self._area_rng]
        self._n = len(cat_ids) * len(self._area_rng) * len(self._img_ids)

    def __len__(self) -> int:
        return self._n

    def _entry(self, n: int) -> dict[str, Any] | None:
        n_img, n_area = len(self._img_ids), len(self._area_rng)
        k, a, i = n // (n_area * n_img), (n // n_img) % n_area, n % n_img
        got = self._groups.detail(i * len(self._cat_ids) + k)
        if got is None:
            return None
        dt_ids, dt_scores, _, entries = got
        gt_ids, dtm, gtm, gt_ig, dt_ig = entries[a]
        return {
            "image_id": self._img_ids[i],
            "category_id": self._cat_ids[k],
            "area_rng": self._area_rng[a],
            "dt_ids": list(dt_ids),
            "gt_ids": gt_ids,
            "dt_matches": dtm,
            "gt_matches": gtm,
            "dt_scores": list(dt_scores),
            "gt_ignore": gt_ig,
            "dt_ignore": dt_ig,
        }

    def find(self, img: Any, cat: Any, area_rng: Any) -> dict[str, Any] | None:
        i, k = self._img_ids.index(img), self._cat_ids.index(cat)
        a = self._area_lists.index(list(area_rng))
        n_img, n_area = len(self._img_ids), len(self._area_rng)
        return self._entry(k * n_area * n_img + a * n_img + i)

    @overload
    def __getitem__(self, n: int) -> dict[str, Any] | None: ...
    @overload
    def __getitem__(self, n: slice) -> list[dict[str, Any] | None]: ...
    def __getitem__(self, n: int | slice) -> Any:
        if isinstance(n, slice):
            return [self._entry(k) for k in range(*n.indices(self._n))]
        if n < 0:
            n += self._n
        if not 0 <= n < self._n:
            raise IndexError("eval_imgs index out of range")
        return self._entry(n)


class _DtPointers(Mapping[int, Any]):
    """``eval["dt_pointers"]``: per category index and area index, the detections' ids
    by score and their true and false positives (``{}`` where lvis-api skips), each
    category's computed when read."""

    def __init__(self, eval_imgs: _EvalImgs, n_cats: int, n_areas: int) -> None:
        self._e, self._k, self._a = eval_imgs, n_cats, n_areas
        self._done: dict[int, dict[int, Any]] = {}

    def _category(self, k: int) -> dict[int, Any]:
        n_img = len(self._e._img_ids)
        out: dict[int, Any] = {}
        for a in range(self._a):
            base = k * self._a * n_img + a * n_img
            es = [e for e in (self._e[base + i] for i in range(n_img)) if e is not None]
            out[a] = {}
            if not es:
                continue
            scores = np.concatenate([e["dt_scores"] for e in es], axis=0)
            ids = np.concatenate([e["dt_ids"] for e in es], axis=0)
            idx = np.argsort(-scores, kind="mergesort")
            dt_m = np.concatenate([e["dt_matches"] for e in es], axis=1)[:, idx]
            dt_ig = np.concatenate([e["dt_ignore"] for e in es], axis=1)[:, idx]
            gt_ig = np.concatenate([e["gt_ignore"] for e in es])
            if np.count_nonzero(gt_ig == 0) == 0:
                continue
            out[a] = {
                "dt_ids": ids[idx],
                "tps": np.logical_and(dt_m, np.logical_not(dt_ig)),
                "fps": np.logical_and(np.logical_not(dt_m), np.logical_not(dt_ig)),
            }
        return out

    def __getitem__(self, k: int) -> Any:
        if not 0 <= k < self._k:
            raise KeyError(k)
        if k not in self._done:
            self._done[k] = self._category(k)
        return self._done[k]

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._k))

    def __len__(self) -> int:
        return self._k
