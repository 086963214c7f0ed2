"""COCO evaluation: a drop-in for ``pycocotools.cocoeval.COCOeval`` with the same numbers.

Over 400 lines: pycocotools' whole ``COCOeval`` surface (``Params``, ``evaluate``,
``accumulate``, ``summarize`` and the views of ``evalImgs``, ``ious``, ``_gts``,
``_dts`` built when read), one class user code reaches into by name.

``COCOeval(cocoGt, cocoDt, iouType)`` takes ``pycocotools.coco.COCO`` objects or this
package's :class:`sa1b_rle.coco.COCO` (so pycocotools is not needed at run time) and has
pycocotools' API: ``params`` (every field), ``evaluate()``, ``accumulate()``,
``summarize()``, ``stats``, ``eval`` (``precision``, ``recall``, ``scores``, ...),
``evalImgs`` and ``ious``, for ``"segm"``, ``"bbox"`` and ``"keypoints"``, and
``get_results()`` (the stats by name, and per-category AP).

``iouType="boundary"`` (with ``dilation_ratio``, 0.02 by default) is boundary-iou-api's
``COCOeval``: Boundary IoU (Cheng et al., CVPR 2021), a pair's IoU the smaller of its
mask IoU and the IoU of the two masks' boundary bands (each annotation's own, as
``RleBatch.boundary`` computes them), against a crowd region its mask IoU; its numbers
are the reference's exactly.

The results equal pycocotools' bit for bit (``np.array_equal``, -1 and NaN in place),
its quirks included:

- detections are ordered by score with a stable sort (``mergesort``), so ties keep
  their order in the results; ground truths with ``ignore`` go last, stably;
- a crowd region's ``area`` is the stored one (often its polygon's), and a crowd ground
  truth can be matched by several detections; against it the IoU's union is the
  detection's area;
- ``evaluate()`` takes at most ``maxDets[-1]`` detections per image and category, and
  ``summarize()`` reads ``maxDets[0..2]`` for its twelve lines whatever they are (it
  assumes three values: the default ``[1, 10, 100]``);
- a matched ground truth id of 0 counts as unmatched (ids are compared with ``> 0``);
- negative ``maxDets`` cut as Python slices; NaN ``iouThrs`` match everything and NaN
  ``recThrs`` end the curve, as in pycocotools; empty ``recThrs``, ``imgIds`` or
  ``catIds`` give pycocotools' -1 stats;
- with ``useCats=0``, keypoint similarity reads ``_gts[imgId, -1]``: nothing matches;
- ``_prepare`` replaces each annotation's ``segmentation`` with its RLE and sets
  ``ignore`` in the annotation dicts: done when ``_gts``/``_dts`` are read (an
  evaluation over this package's columns does not touch the dicts).

``evaluate()`` and ``accumulate()`` run in Rust (``sa1b_rle::eval``) on the columns of
this package's loader, or on columns read from the dicts of any other ``COCO`` (after
its own ``_prepare``): selection and grouping, the IoU matrices (masks by the batch
engine, boxes, or keypoint similarity), the greedy matching and the curves.

Derived from cocoapi's ``cocoeval.py`` (Simplified BSD License, Copyright (c) 2014,
Piotr Dollar and Tsung-Yi Lin; the notice is in ``tests/data/LICENSES.md``).
"""

from __future__ import annotations

import copy
import datetime
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

# The iouTypes that compare masks (annotations' segmentations made RLEs).
_MASKS = ("segm", "boundary")

__all__ = ["KEYPOINT_STAT_NAMES", "STAT_NAMES", "COCOeval", "Params", "evaluate"]

#: The names of ``stats``' twelve entries (segm and bbox), as detectron2 reports them.
STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl"]
STAT_NAMES += ["AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
#: The names of ``stats``' ten entries for keypoints.
KEYPOINT_STAT_NAMES = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]


def _unique(ids: Any) -> list[Any]:
    """``list(np.unique(ids))``, as pycocotools sets ``imgIds``/``catIds`` (sorted numpy
    scalars), without the first call's import of ``numpy.ma`` (1.3 MB resident) for
    the usual flat list of numbers or strings, and below 2**16 of them sorted by Python
    (the same order for integers, booleans and strings; numpy's first sort maps 0.4 MB
    of its vectorised kernels)."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.dtype.kind not in "iub" + "U" or arr.size == 0:
        return list(np.unique(arr))
    if arr.size < 1 << 16:
        return list(np.array(sorted(dict.fromkeys(arr.tolist())), dtype=arr.dtype))
    arr = np.sort(arr)
    return list(arr[np.concatenate(([True], arr[1:] != arr[:-1]))])


class COCOeval:
    """Evaluation of detections (``cocoDt``) against ground truth (``cocoGt``); see the
    module docstring. ``iouType`` is ``"segm"``, ``"bbox"``, ``"keypoints"`` or
    ``"boundary"`` (Boundary IoU at ``dilation_ratio``)."""

    def __init__(
        self,
        cocoGt: Any = None,
        cocoDt: Any = None,
        iouType: str = "segm",
        dilation_ratio: float = 0.02,
    ) -> None:
        if not math.isfinite(dilation_ratio):
            raise ValueError(f"dilation_ratio must be a finite number, not {dilation_ratio}")
        self.dilation_ratio = float(dilation_ratio)
        self.cocoGt = cocoGt
        self.cocoDt = cocoDt
        self.evalImgs: Any = defaultdict(list)
        self.eval: dict[str, Any] = {}
        self._prepared: Any = (defaultdict(list), defaultdict(list))
        self.params = Params(iouType=iouType)
        self._paramsEval: Any = {}
        self.stats: Any = []
        self.ious: Any = {}
        self._rust: Any = None
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    @property
    def _gts(self) -> Any:
        """pycocotools' ``_gts`` (``(imgId, catId)`` -> ground truth dicts), built when
        read."""
        if self._prepared is None:
            self._prepare()
        return self._prepared[0]

    @_gts.setter
    def _gts(self, value: Any) -> None:
        self._prepared = (value, self._prepared[1] if self._prepared else defaultdict(list))

    @property
    def _dts(self) -> Any:
        """pycocotools' ``_dts``, built when read."""
        if self._prepared is None:
            self._prepare()
        return self._prepared[1]

    @_dts.setter
    def _dts(self, value: Any) -> None:
        self._prepared = (self._prepared[0] if self._prepared else defaultdict(list), value)

    def _selected(self, coco: Any) -> list[dict[str, Any]]:
        p = self.params
        if p.useCats:
            ids = coco.getAnnIds(imgIds=p.imgIds, catIds=p.catIds)
        else:
            ids = coco.getAnnIds(imgIds=p.imgIds)
        anns: list[dict[str, Any]] = coco.loadAnns(ids)
        return anns

    def _prepare(self) -> None:
        """pycocotools' ``_prepare``: the selected annotation dicts grouped by (image,
        category) into ``_gts``/``_dts``; for ``segm`` each one's ``segmentation``
        replaced by its RLE, and ``ignore`` set on the ground truths (the dicts are
        changed, as in pycocotools)."""
        p = self.params
        gts, dts = self._selected(self.cocoGt), self._selected(self.cocoDt)
        if p.iouType in _MASKS:
            for anns, coco in ((gts, self.cocoGt), (dts, self.cocoDt)):
                for ann in anns:
                    ann["segmentation"] = coco.annToRLE(ann)
        for gt in gts:
            gt["ignore"] = gt["ignore"] if "ignore" in gt else 0
            gt["ignore"] = "iscrowd" in gt and gt["iscrowd"]
            if p.iouType == "keypoints":
                gt["ignore"] = (gt["num_keypoints"] == 0) or gt["ignore"]
        g: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        d: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        for gt in gts:
            g[gt["image_id"], gt["category_id"]].append(gt)
        for dt in dts:
            d[dt["image_id"], dt["category_id"]].append(dt)
        if self._paramsEval:
            # pycocotools' evaluate() reads _gts/_dts[imgId, catId] for every pair (a
            # defaultdict: each read adds the key), in this order.
            pe = self._paramsEval
            if pe.useCats or p.iouType == "keypoints":
                pairs = [(i, c) for i in pe.imgIds for c in (pe.catIds if pe.useCats else [-1])]
            else:
                pairs = [(i, c) for i in pe.imgIds for c in pe.catIds]
            for key in pairs:
                g[key]
                d[key]
            # evaluateImg's last mark on each ground truth: `_ignore` for the last area
            # range.
            lo, hi = pe.areaRng[-1]
            for i in pe.imgIds:
                if pe.useCats:
                    groups = [g[i, c] for c in pe.catIds]
                else:
                    groups = [[x for c in pe.catIds for x in g[i, c]]]
                for group in groups:
                    if group or any(d[i, c] for c in pe.catIds):
                        for x in group:
                            x["_ignore"] = (
                                1 if x["ignore"] or x["area"] < lo or x["area"] > hi else 0
                            )
        self._prepared = (g, d)

    def evaluate(self) -> None:
        """Runs the per-image evaluation (``sa1b_rle::eval``: the IoU or OKS of every
        image and category, the greedy matching per area range, on the thread pool) and
        sets ``evalImgs`` and ``ious``, both built on access.

        Over this package's :class:`~sa1b_rle.coco.COCO` the annotations are read from
        its columns (no Python object per annotation; ``_gts``/``_dts`` are built when
        read); over dicts (pycocotools' ``COCO``, or after the dicts were built) they
        are read from the dicts, pycocotools' ``_prepare`` first for a pycocotools
        ``COCO``."""
        from sa1b_rle import _core

        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
        if p.iouType not in ("segm", "bbox", "keypoints", "boundary"):
            raise ValueError(f"unknown iouType {p.iouType!r}")
        p.imgIds = _unique(p.imgIds)
        if p.useCats:
            p.catIds = _unique(p.catIds)
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._rust = None
        self._prepared = None
        cat_ids = p.catIds if p.useCats else [-1]
        keys: dict[Any, int] = {}
        sides = [self._side(c, keys) for c in (self.cocoGt, self.cocoDt)]
        (gt_cols, gt_members, gt_dicts), (dt_cols, dt_members, dt_dicts) = sides
        sigmas = getattr(p, "kpt_oks_sigmas", None)
        self._rust = _core.coco_evaluate(
            gt_cols,
            dt_cols,
            img_ids=_core.coco_keys(p.imgIds, keys),
            cat_ids=_core.coco_keys(p.catIds, keys),
            use_cats=bool(p.useCats),
            iou_type=p.iouType,
            iou_thrs=[float(t) for t in p.iouThrs],
            area_rng=np.asarray(p.areaRng, dtype=np.float64).reshape(-1, 2).tolist(),
            max_det=int(p.maxDets[-1]),
            kpt_oks_sigmas=[] if sigmas is None else [float(x) for x in sigmas],
            dilation_ratio=self.dilation_ratio,
            gt_members=gt_members,
            dt_members=dt_members,
        )
        groups = _Groups(self._rust, gt_cols, dt_cols, gt_dicts, dt_dicts)
        self.evalImgs = _EvalImgs(groups, p, cat_ids)
        self.ious = _Ious(groups, p, cat_ids)
        self._paramsEval = _snapshot(self.params)

    def _side(self, coco: Any, keys: dict[Any, int]) -> tuple[Any, Any, Any]:
        """One side's columns: ``(columns, members, dicts)``; members and dicts are None
        when the columns are this package's parsed ones (the selection is made in
        Rust)."""
        from sa1b_rle import _core
        from sa1b_rle.coco import COCO

        if isinstance(coco, COCO) and coco._columns is not None:
            return coco._columns, None, None
        p = self.params
        if isinstance(coco, COCO):
            # Our dicts: read as they are (pycocotools' _prepare changes them; this
            # evaluation does not, until _gts/_dts is read).
            anns = self._selected(coco)
            images = list(coco.imgs.values()) if p.iouType in _MASKS else None
        else:
            self._prepare_foreign(coco)
            anns = self._foreign[id(coco)]
            images = None
        cols = _core.coco_columns_from_dicts(anns, images, keys=keys)
        return cols, list(range(len(anns))), anns

    def _prepare_foreign(self, coco: Any) -> None:
        """pycocotools' ``_prepare`` for another implementation's ``COCO``: its own
        ``annToRLE`` (``segm``) and the ``ignore`` flags set in its dicts."""
        p = self.params
        anns = self._selected(coco)
        if p.iouType in _MASKS:
            for ann in anns:
                ann["segmentation"] = coco.annToRLE(ann)
        if coco is self.cocoGt:
            for gt in anns:
                gt["ignore"] = gt["ignore"] if "ignore" in gt else 0
                gt["ignore"] = "iscrowd" in gt and gt["iscrowd"]
                if p.iouType == "keypoints":
                    gt["ignore"] = (gt["num_keypoints"] == 0) or gt["ignore"]
        if not hasattr(self, "_foreign"):
            self._foreign: dict[int, list[dict[str, Any]]] = {}
        self._foreign[id(coco)] = anns

    def computeIoU(self, imgId: Any, catId: Any) -> Any:
        """The IoU matrix of an image and category (detections by score, at most
        ``maxDets[-1]``, by ground truths), as ``evaluate()`` computed it."""
        if not isinstance(self.ious, _Ious):
            raise RuntimeError("run evaluate() first")
        return self.ious[imgId, catId]

    def computeOks(self, imgId: Any, catId: Any) -> Any:
        """The object keypoint similarity matrix of an image and category, as
        ``evaluate()`` computed it."""
        return self.computeIoU(imgId, catId)

    def evaluateImg(self, imgId: Any, catId: Any, aRng: Any, maxDet: int) -> dict[str, Any] | None:
        """The ``evalImgs`` entry of an image, category and area range of the
        evaluation (``maxDet`` must be ``maxDets[-1]``, the one it used)."""
        if not isinstance(self.evalImgs, _EvalImgs):
            raise RuntimeError("run evaluate() first")
        return self.evalImgs.find(imgId, catId, aRng, maxDet)

    def accumulate(self, p: Any = None) -> None:
        """Accumulates ``evalImgs`` into ``eval``: ``precision`` (T, R, K, A, M),
        ``recall`` (T, K, A, M) and ``scores`` (T, R, K, A, M), -1 where there is no
        ground truth."""
        if not self._paramsEval:
            raise RuntimeError("run evaluate() first")
        if p is None:
            p = self.params
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        t_count, r_count = len(p.iouThrs), len(p.recThrs)
        k_count = len(p.catIds) if p.useCats else 1
        a_count, m_count = len(p.areaRng), len(p.maxDets)
        if isinstance(self.evalImgs, _EvalImgs):
            self._accumulate_in_rust(p, [t_count, r_count, k_count, a_count, m_count])
            return
        precision = -np.ones((t_count, r_count, k_count, a_count, m_count))
        recall = -np.ones((t_count, k_count, a_count, m_count))
        scores = -np.ones((t_count, r_count, k_count, a_count, m_count))
        pe = self._paramsEval
        cat_ids = pe.catIds if pe.useCats else [-1]
        set_k, set_a = set(cat_ids), set(map(tuple, pe.areaRng))
        set_m, set_i = set(pe.maxDets), set(pe.imgIds)
        k_list = [n for n, k in enumerate(p.catIds) if k in set_k]
        m_list = [m for m in p.maxDets if m in set_m]
        a_list = [n for n, a in enumerate(map(tuple, p.areaRng)) if a in set_a]
        i_list = [n for n, i in enumerate(p.imgIds) if i in set_i]
        i0, a0 = len(pe.imgIds), len(pe.areaRng)
        for k, k0 in enumerate(k_list):
            nk = k0 * a0 * i0
            for a, a_0 in enumerate(a_list):
                na = a_0 * i0
                for m, max_det in enumerate(m_list):
                    es = [self.evalImgs[nk + na + i] for i in i_list]
                    es = [e for e in es if e is not None]
                    if len(es) == 0:
                        continue
                    dt_scores = np.concatenate([e["dtScores"][0:max_det] for e in es])
                    inds = np.argsort(-dt_scores, kind="mergesort")
                    dt_scores_sorted = dt_scores[inds]
                    dtm = np.concatenate([e["dtMatches"][:, 0:max_det] for e in es], axis=1)[
                        :, inds
                    ]
                    dt_ig = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in es], axis=1)[
                        :, inds
                    ]
                    gt_ig = np.concatenate([e["gtIgnore"] for e in es])
                    npig = np.count_nonzero(gt_ig == 0)
                    if npig == 0:
                        continue
                    tps = np.logical_and(dtm, np.logical_not(dt_ig))
                    fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                    tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                    fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                    for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum, strict=True)):
                        nd = len(tp)
                        rc = tp / npig
                        pr = tp / (fp + tp + np.spacing(1))
                        q = np.zeros((r_count,))
                        ss = np.zeros((r_count,))
                        recall[t, k, a, m] = rc[-1] if nd else 0
                        # The precision envelope (running maximum from the right).
                        pr = np.maximum.accumulate(pr[::-1])[::-1]
                        inds = np.searchsorted(rc, p.recThrs, side="left")
                        # Recall thresholds past the last recall keep 0 (pycocotools
                        # stops at the first index past the end).
                        valid = inds < nd
                        stop = int(np.argmin(valid)) if not valid.all() else len(inds)
                        q[:stop] = pr[inds[:stop]]
                        ss[:stop] = dt_scores_sorted[inds[:stop]]
                        precision[t, :, k, a, m] = q
                        scores[t, :, k, a, m] = ss
        self.eval = {
            "params": p,
            "counts": [t_count, r_count, k_count, a_count, m_count],
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": precision,
            "recall": recall,
            "scores": scores,
        }

    def _accumulate_in_rust(self, p: Any, dims: list[int]) -> None:
        """``accumulate()`` by ``sa1b_rle::eval`` on the Rust evaluation (the same index
        lists as pycocotools)."""
        pe = self._paramsEval
        cat_ids = pe.catIds if pe.useCats else [-1]
        set_k, set_a = set(cat_ids), set(map(tuple, pe.areaRng))
        set_m, set_i = set(pe.maxDets), set(pe.imgIds)
        k_list = [n for n, k in enumerate(p.catIds) if k in set_k]
        m_list = [int(m) for m in p.maxDets if m in set_m]
        a_list = [n for n, a in enumerate(map(tuple, p.areaRng)) if a in set_a]
        i_list = (
            list(range(len(p.imgIds)))
            if type(p.imgIds) is list and p.imgIds == pe.imgIds
            else [n for n, i in enumerate(p.imgIds) if i in set_i]
        )
        precision, recall, scores = self._rust.accumulate(
            k_list=k_list,
            a_list=a_list,
            m_list=m_list,
            i_list=i_list,
            n_images=len(pe.imgIds),
            n_area_ranges=len(pe.areaRng),
            n_categories=len(cat_ids),
            dims=dims,
            rec_thrs=[float(x) for x in p.recThrs],
        )
        self.eval = {
            "params": p,
            "counts": dims,
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": precision,
            "recall": recall,
            "scores": scores,
        }

    def summarize(self) -> None:
        """Prints pycocotools' twelve summary lines (ten for keypoints) and sets
        ``stats``. Reads ``maxDets[0]``, ``[1]`` and ``[2]`` as pycocotools does."""
        if not self.eval:
            raise RuntimeError("run accumulate() first")
        self.summary_lines: list[str] = []

        def line(
            ap: int = 1, iou_thr: float | None = None, area: str = "all", max_dets: int = 100
        ) -> float:
            p = self.params
            form = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
            title = "Average Precision" if ap == 1 else "Average Recall"
            kind = "(AP)" if ap == 1 else "(AR)"
            iou_str = (
                f"{p.iouThrs[0]:0.2f}:{p.iouThrs[-1]:0.2f}"
                if iou_thr is None
                else f"{iou_thr:0.2f}"
            )
            aind = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == area]
            mind = [i for i, m in enumerate(p.maxDets) if m == max_dets]
            if ap == 1:
                s = self.eval["precision"]
                if iou_thr is not None:
                    s = s[np.where(iou_thr == p.iouThrs)[0]]
                s = s[:, :, :, aind, mind]
            else:
                s = self.eval["recall"]
                if iou_thr is not None:
                    s = s[np.where(iou_thr == p.iouThrs)[0]]
                s = s[:, :, aind, mind]
            mean_s = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
            text = form.format(title, kind, iou_str, area, max_dets, mean_s)
            self.summary_lines.append(text)
            print(text)
            return float(mean_s)

        def dets() -> np.ndarray:
            md = self.params.maxDets
            stats = np.zeros((12,))
            stats[0] = line(1)
            stats[1] = line(1, iou_thr=0.5, max_dets=md[2])
            stats[2] = line(1, iou_thr=0.75, max_dets=md[2])
            stats[3] = line(1, area="small", max_dets=md[2])
            stats[4] = line(1, area="medium", max_dets=md[2])
            stats[5] = line(1, area="large", max_dets=md[2])
            stats[6] = line(0, max_dets=md[0])
            stats[7] = line(0, max_dets=md[1])
            stats[8] = line(0, max_dets=md[2])
            stats[9] = line(0, area="small", max_dets=md[2])
            stats[10] = line(0, area="medium", max_dets=md[2])
            stats[11] = line(0, area="large", max_dets=md[2])
            return stats

        def kps() -> np.ndarray:
            stats = np.zeros((10,))
            stats[0] = line(1, max_dets=20)
            stats[1] = line(1, max_dets=20, iou_thr=0.5)
            stats[2] = line(1, max_dets=20, iou_thr=0.75)
            stats[3] = line(1, max_dets=20, area="medium")
            stats[4] = line(1, max_dets=20, area="large")
            stats[5] = line(0, max_dets=20)
            stats[6] = line(0, max_dets=20, iou_thr=0.5)
            stats[7] = line(0, max_dets=20, iou_thr=0.75)
            stats[8] = line(0, max_dets=20, area="medium")
            stats[9] = line(0, max_dets=20, area="large")
            return stats

        self.stats = kps() if self.params.iouType == "keypoints" else dets()

    def __str__(self) -> str:
        self.summarize()
        return ""

    def get_results(self, per_class: bool = False) -> dict[str, float]:
        """The summary metrics by name, after ``summarize()``: ``AP``, ``AP50``,
        ``AP75``, ``APs``, ``APm``, ``APl``, ``AR1``, ``AR10``, ``AR100``, ``ARs``,
        ``ARm``, ``ARl`` (``stats`` in order; for keypoints ``AP``, ``AP50``, ``AP75``,
        ``APm``, ``APl``, ``AR``, ``AR50``, ``AR75``, ``ARm``, ``ARl``). ``per_class``
        adds ``AP/<category name>`` for every evaluated category: detectron2's
        per-category AP, the mean of ``precision[:, :, k, 0, -1]`` over its entries
        above -1 (NaN when there are none)."""
        if len(self.stats) == 0:
            raise RuntimeError("run summarize() first")
        names = KEYPOINT_STAT_NAMES if len(self.stats) == 10 else STAT_NAMES
        out = {n: float(v) for n, v in zip(names, self.stats, strict=True)}
        if per_class and self.params.useCats:
            precision = self.eval["precision"]
            for k, name in enumerate(self._category_names(self.params.catIds)):
                p = precision[:, :, k, 0, -1]
                p = p[p > -1]
                out[f"AP/{name}"] = float(np.mean(p)) if p.size else float("nan")
        return out

    def _category_names(self, cat_ids: list[Any]) -> list[str]:
        """The names of these categories of the ground truth (from its columns when it
        has them, else its ``loadCats``)."""
        from sa1b_rle.coco import COCO

        gt = self.cocoGt
        meta = gt._meta_columns() if isinstance(gt, COCO) else None
        if meta is not None:
            by_id = dict(zip(meta.category_ids().tolist(), meta.category_names(), strict=True))
            return [str(by_id.get(int(c), c)) for c in cat_ids]
        return [str(gt.loadCats(c)[0]["name"]) for c in cat_ids]

    def __getstate__(self) -> dict[str, Any]:
        """pycocotools' state for pickle and ``copy.deepcopy``: ``evalImgs`` as a list
        and ``ious`` as a dict, built from the Rust evaluation (which stays behind; an
        ``accumulate()`` of the copy runs pycocotools' way on that list)."""
        state = self.__dict__.copy()
        if isinstance(state.get("evalImgs"), _EvalImgs):
            state["evalImgs"] = list(state["evalImgs"])
            state["ious"] = dict(state["ious"].items())
        state["_rust"] = None
        return state


def _snapshot(p: Params) -> Params:
    """``copy.deepcopy(p)`` for the values parameters hold (lists of numbers or of
    ranges, arrays), without deep-copying every id: numbers are immutable."""
    out = copy.copy(p)
    for name, value in vars(p).items():
        if type(value) is list:
            types = set(map(type, value))
            if all(t in (int, float, str, list) or issubclass(t, np.generic) for t in types):
                items = (
                    [list(v) if type(v) is list else v for v in value]
                    if list in types
                    else value.copy()
                )
                setattr(out, name, items)
                continue
        elif isinstance(value, np.ndarray):
            setattr(out, name, value.copy())
            continue
        setattr(out, name, copy.deepcopy(value))
    return out


class _Groups:
    """The per-group detail of a Rust evaluation (the IoU matrix and the ``evalImgs``
    entry of each area range), recomputed when ``evalImgs`` or ``ious`` is read, so that
    ``evaluate()`` keeps only what ``accumulate()`` needs. The groups last read are
    cached (at most ``CACHE``: reading ``evalImgs`` in order computes each group once
    per category's pass)."""

    CACHE = 8192

    def __init__(self, rust: Any, gt_cols: Any, dt_cols: Any, gt_dicts: Any, dt_dicts: Any):
        self._rust = rust
        self._cache: dict[int, Any] = {}
        self._given = ((gt_cols, gt_dicts), (dt_cols, dt_dicts))
        self._lists: list[tuple[list[Any], list[Any]]] | None = None

    def _sides(self) -> list[tuple[list[Any], list[Any]]]:
        """Ids and scores as pycocotools lists them: the dicts' own values, or the
        columns' (integers and floats); made on the first read."""
        if self._lists is None:
            self._lists = []
            for cols, dicts in self._given:
                if dicts is not None:
                    self._lists.append(([a["id"] for a in dicts], [a.get("score") for a in dicts]))
                else:
                    ids, _, _, _, score, _ = cols.annotation_arrays()
                    self._lists.append((ids.tolist(), score.tolist()))
        return self._lists

    def detail(self, k: int) -> Any:
        """``None`` or ``(dtIds, dtScores, gtIds per area range, iou, entries)`` of
        group ``k``."""
        if k in self._cache:
            return self._cache[k]
        got = self._rust.group(k)
        if got is not None:
            dt, iou, entries = got
            (gt_ids, _), (dt_ids, dt_scores) = self._sides()
            got = (
                [dt_ids[j] for j in dt],
                [dt_scores[j] for j in dt],
                iou,
                [([gt_ids[j] for j in e[0]], *e[1:]) for e in entries],
            )
        if len(self._cache) >= self.CACHE:
            self._cache.clear()
        self._cache[k] = got
        return got


class _EvalImgs(Sequence[Any]):
    """``evalImgs`` of a Rust evaluation: pycocotools' list (category, area range, image
    order), each entry built when it is read."""

    def __init__(self, groups: _Groups, p: Any, cat_ids: list[Any]) -> None:
        self._groups, self._cat_ids = groups, cat_ids
        self._img_ids, self._area_rng = list(p.imgIds), list(p.areaRng)
        self._max_det = p.maxDets[-1]
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
            "aRng": self._area_rng[a],
            "maxDet": self._max_det,
            "dtIds": list(dt_ids),
            "gtIds": gt_ids,
            "dtMatches": dtm,
            "gtMatches": gtm,
            "dtScores": list(dt_scores),
            "gtIgnore": gt_ig,
            "dtIgnore": dt_ig,
        }

    def find(self, img: Any, cat: Any, a_rng: Any, max_det: int) -> dict[str, Any] | None:
        """The entry of an image, category and area range."""
        if max_det != self._max_det:
            raise ValueError(
                f"the evaluation kept maxDet={self._max_det} detections, not {max_det}"
            )
        i, k = self._img_ids.index(img), self._cat_ids.index(cat)
        a = [list(r) for r in self._area_rng].index(list(a_rng))
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
            raise IndexError("evalImgs index out of range")
        return self._entry(n)


class _Ious(Mapping[Any, Any]):
    """``ious`` of a Rust evaluation: ``{(imgId, catId): (D, G) array or []}``, each
    matrix computed when it is read."""

    def __init__(self, groups: _Groups, p: Any, cat_ids: list[Any]) -> None:
        self._groups, self._cat_ids, self._img_ids = groups, cat_ids, list(p.imgIds)
        self._positions: tuple[dict[Any, int], dict[Any, int]] | None = None
        # pycocotools' computeOks reads _gts[imgId, -1] without categories: all empty.
        self._no_ious = p.iouType == "keypoints" and not p.useCats
        # boundary-iou-api's np.minimum of two empty lists when one side is empty.
        self._empty: Any = np.zeros(0) if p.iouType == "boundary" else []

    def __getitem__(self, key: Any) -> Any:
        img, cat = key
        if self._positions is None:
            # (Built on the first read: most evaluations never read ious.)
            self._positions = (
                {img: n for n, img in enumerate(self._img_ids)},
                {c: k for k, c in enumerate(self._cat_ids)},
            )
        img_pos, cat_pos = self._positions
        got = self._groups.detail(img_pos[img] * len(self._cat_ids) + cat_pos[cat])
        if got is None or self._no_ious:
            return []
        return self._empty if got[2].size == 0 else got[2]

    def __iter__(self) -> Iterator[Any]:
        return ((img, c) for img in self._img_ids for c in self._cat_ids)

    def __len__(self) -> int:
        return len(self._img_ids) * len(self._cat_ids)


class Params:
    """Evaluation parameters, pycocotools' defaults: ``imgIds``, ``catIds``, ``iouThrs``
    (0.5:0.05:0.95), ``recThrs`` (0:0.01:1), ``maxDets`` ([1, 10, 100]), ``areaRng`` and
    ``areaRngLbl`` (all, small, medium, large), ``useCats`` (1), ``iouType``,
    ``useSegm`` (deprecated; None), and ``kpt_oks_sigmas`` for keypoints."""

    def setDetParams(self) -> None:
        self.imgIds: list[Any] = []
        self.catIds: list[Any] = []
        # np.arange is slightly off at the points; linspace as pycocotools.
        self.iouThrs = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
        self.recThrs = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
        self.maxDets = [1, 10, 100]
        self.areaRng = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1

    def setKpParams(self) -> None:
        self.imgIds = []
        self.catIds = []
        self.iouThrs = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
        self.recThrs = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
        self.maxDets = [20]
        self.areaRng = [[0**2, 1e5**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.areaRngLbl = ["all", "medium", "large"]
        self.useCats = 1
        sigmas = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62]
        self.kpt_oks_sigmas = np.array([*sigmas, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]) / 10.0

    def __init__(self, iouType: str = "segm") -> None:
        if iouType in ("segm", "bbox", "boundary"):
            self.setDetParams()
        elif iouType == "keypoints":
            self.setKpParams()
        else:
            raise ValueError(
                f'iouType must be "segm", "bbox", "keypoints" or "boundary", not {iouType!r}'
            )
        self.iouType = iouType
        self.useSegm: Any = None


def evaluate(
    gt: Any,
    results: Any,
    iou_type: str = "segm",
    *,
    quiet: bool = True,
    dilation_ratio: float = 0.02,
) -> COCOeval:
    """``COCOeval`` run end to end (evaluate, accumulate, summarize) on a ground truth
    (a COCO JSON path, dict or COCO object) and results (a path, a list of result dicts
    or an ``(N, 7)`` array); the summary lines are in ``summary_lines`` (printed unless
    ``quiet``); ``dilation_ratio`` is for ``iou_type="boundary"``. Errors are
    ``ValueError``s naming the file at fault (a ground truth without ``images``,
    ``annotations`` or ``categories``; results without a field the evaluation reads)."""
    import contextlib
    import io
    import os

    from sa1b_rle.coco import COCO

    gt_name = os.fspath(gt) if isinstance(gt, (str, os.PathLike)) else "the ground truth"
    res_name = os.fspath(results) if isinstance(results, (str, os.PathLike)) else "the results"
    coco_gt = gt if hasattr(gt, "loadRes") else COCO(gt)
    if isinstance(coco_gt, COCO):
        tables = coco_gt._tables()
        for name in ("images", "annotations", "categories"):
            if name not in tables:
                raise ValueError(
                    f"{gt_name}: no {name!r} (a COCO dataset has images, annotations and "
                    "categories)"
                )
    coco_dt = coco_gt.loadRes(results)
    e = COCOeval(coco_gt, coco_dt, iou_type, dilation_ratio=dilation_ratio)
    try:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            e.evaluate()
            e.accumulate()
            e.summarize()
    except ValueError as err:
        text = str(err)
        if text.startswith("detection"):
            raise ValueError(f"{res_name}: {text}") from None
        if text.startswith("ground truth"):
            raise ValueError(f"{gt_name}: {text}") from None
        raise
    return e
