"""COCO evaluation: a drop-in for ``pycocotools.cocoeval.COCOeval`` with the same numbers.

``COCOeval(cocoGt, cocoDt, iouType)`` takes ``pycocotools.coco.COCO`` objects or this
package's :class:`sa1b_rle.coco.COCO` (so pycocotools is not needed at run time) and has
pycocotools' API: ``params`` (every field), ``evaluate()``, ``accumulate()``,
``summarize()``, ``stats``, ``eval`` (``precision``, ``recall``, ``scores``, ...),
``evalImgs`` and ``ious``, for ``"segm"``, ``"bbox"`` (and ``"keypoints"``).

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
- ``_prepare`` replaces each annotation's ``segmentation`` with its RLE and sets
  ``ignore`` in the annotation dicts (``segm``), as pycocotools does.

The IoU matrices come from :func:`sa1b_rle.mask.iou` (the batch engine).

Derived from cocoapi's ``cocoeval.py`` (Simplified BSD License, Copyright (c) 2014,
Piotr Dollar and Tsung-Yi Lin; the notice is in ``tests/data/LICENSES.md``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import gc
import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from sa1b_rle import mask as mask_utils
from sa1b_rle._core import (
    coco_annotation_columns,
    coco_evaluate,
    coco_evaluate_group,
    coco_match,
    coco_polygons_to_rles,
)

__all__ = ["STAT_NAMES", "COCOeval", "Params", "evaluate"]

#: The names of ``stats``' twelve entries (segm and bbox), as detectron2 reports them.
STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl"]
STAT_NAMES += ["AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


class COCOeval:
    """Evaluation of detections (``cocoDt``) against ground truth (``cocoGt``); see the
    module docstring. ``iouType`` is ``"segm"``, ``"bbox"`` or ``"keypoints"``."""

    def __init__(self, cocoGt: Any = None, cocoDt: Any = None, iouType: str = "segm") -> None:
        if iouType not in ("segm", "bbox", "keypoints"):
            raise ValueError(f'iouType must be "segm", "bbox" or "keypoints", not {iouType!r}')
        self.cocoGt = cocoGt
        self.cocoDt = cocoDt
        self.evalImgs: Any = defaultdict(list)
        self.eval: dict[str, Any] = {}
        self._gts: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        self._dts: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        self.params = Params(iouType=iouType)
        self._paramsEval: Any = {}
        self.stats: Any = []
        self.ious: Any = {}
        self._rust: Any = None
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    def _prepare(self) -> None:
        """Groups the ground truths and detections of ``params`` by (image, category)."""
        p = self.params
        if p.useCats:
            gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
            dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
        else:
            gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=p.imgIds))
            dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=p.imgIds))
        if p.iouType == "segm":
            for anns, coco in ((gts, self.cocoGt), (dts, self.cocoDt)):
                _to_rles(anns, coco)
        for gt in gts:
            gt["ignore"] = gt["ignore"] if "ignore" in gt else 0
            gt["ignore"] = "iscrowd" in gt and gt["iscrowd"]
            if p.iouType == "keypoints":
                gt["ignore"] = (gt["num_keypoints"] == 0) or gt["ignore"]
        self._gts = defaultdict(list)
        self._dts = defaultdict(list)
        for gt in gts:
            self._gts[gt["image_id"], gt["category_id"]].append(gt)
        for dt in dts:
            self._dts[dt["image_id"], dt["category_id"]].append(dt)
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def evaluate(self) -> None:
        """Runs the per-image evaluation into ``evalImgs`` (and ``ious``): in Rust for
        ``segm`` and ``bbox`` (``evalImgs`` and ``ious`` are then built on access)."""
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._rust = None
        cat_ids = p.catIds if p.useCats else [-1]
        if p.iouType != "keypoints" and len(set(p.catIds)) == len(p.catIds):
            with _gc_paused():
                self._prepare()
                self._evaluate_in_rust(cat_ids)
        else:
            self._prepare()
            compute = self.computeOks if p.iouType == "keypoints" else self.computeIoU
            self.ious = {(i, c): compute(i, c) for i in p.imgIds for c in cat_ids}
            max_det = p.maxDets[-1]
            self.evalImgs = [
                self.evaluateImg(i, c, a, max_det)
                for c in cat_ids
                for a in p.areaRng
                for i in p.imgIds
            ]
        self._paramsEval = copy.deepcopy(self.params)

    def _evaluate_in_rust(self, cat_ids: list[Any]) -> None:
        """``evaluate()`` by ``sa1b_rle::eval``: the annotations flattened group after
        group (image and category, or image with ``useCats=0``), in pycocotools' order."""
        p = self.params
        img_pos = {img: n for n, img in enumerate(p.imgIds)}
        cat_pos = {c: n for n, c in enumerate(p.catIds)}
        n_cats = len(cat_ids)
        n_groups = len(p.imgIds) * n_cats
        segm = p.iouType == "segm"

        def flatten(table: Any) -> tuple[list[dict[str, Any]], np.ndarray]:
            # The (image, category) lists in (image, category) order of params; with
            # useCats=0 an image's categories follow each other in one group.
            keyed = [
                (img_pos.get(i, -1), cat_pos.get(c, -1), anns)
                for (i, c), anns in table.items()
                if anns
            ]
            ii = np.array([k[0] for k in keyed], np.int64)
            kk = np.array([k[1] for k in keyed], np.int64)
            where = np.flatnonzero((ii >= 0) & (kk >= 0))
            where = where[np.argsort(ii[where] * len(p.catIds) + kk[where], kind="stable")]
            anns = list(itertools.chain.from_iterable(keyed[j][2] for j in where))
            group = ii[where] * n_cats + kk[where] if p.useCats else ii[where]
            sizes = np.array([len(keyed[j][2]) for j in where], np.int64)
            counts = np.bincount(group, weights=sizes, minlength=n_groups).astype(np.int64)
            return anns, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

        def side(anns: list[dict[str, Any]], offsets: np.ndarray, gt: bool) -> tuple[Any, ...]:
            ids, area, score, crowd, ignore, boxes = coco_annotation_columns(
                anns, gt=gt, boxes=not segm
            )
            geometry = [a["segmentation"] for a in anns] if segm else boxes
            return (ids, area, score, crowd, ignore, offsets, geometry)

        gts, gt_off = flatten(self._gts)
        dts, dt_off = flatten(self._dts)
        gt_side, dt_side = side(gts, gt_off, True), side(dts, dt_off, False)
        thresholds = np.ascontiguousarray(p.iouThrs, dtype=np.float64)
        area_rng = np.asarray(p.areaRng, dtype=np.float64).reshape(-1, 2)
        self._rust = coco_evaluate(gt_side, dt_side, thresholds, area_rng, p.maxDets[-1])
        groups = _Groups(gt_side, dt_side, gts, dts, thresholds, area_rng, p.maxDets[-1])
        self.evalImgs = _EvalImgs(groups, p, cat_ids)
        self.ious = _Ious(groups, p, cat_ids)

    def _group(self, imgId: Any, catId: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        p = self.params
        if p.useCats:
            return self._gts[imgId, catId], self._dts[imgId, catId]
        gt = [g for c in p.catIds for g in self._gts[imgId, c]]
        dt = [d for c in p.catIds for d in self._dts[imgId, c]]
        return gt, dt

    def computeIoU(self, imgId: Any, catId: Any) -> Any:
        """The IoU of the image's detections (by score, at most ``maxDets[-1]``) with its
        ground truths, as pycocotools computes it."""
        p = self.params
        gt, dt = self._group(imgId, catId)
        if len(gt) == 0 and len(dt) == 0:
            return []
        inds = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in inds]
        if len(dt) > p.maxDets[-1]:
            dt = dt[0 : p.maxDets[-1]]
        if p.iouType == "segm":
            g = [x["segmentation"] for x in gt]
            d = [x["segmentation"] for x in dt]
        elif p.iouType == "bbox":
            g = [x["bbox"] for x in gt]
            d = [x["bbox"] for x in dt]
        else:
            raise ValueError(f"unknown iouType {p.iouType!r} for IoU computation")
        iscrowd = [int(o["iscrowd"]) for o in gt]
        return mask_utils.iou(d, g, iscrowd)

    def computeOks(self, imgId: Any, catId: Any) -> Any:
        """Object keypoint similarity, as pycocotools computes it."""
        p = self.params
        gts = self._gts[imgId, catId]
        dts = self._dts[imgId, catId]
        inds = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in inds]
        if len(dts) > p.maxDets[-1]:
            dts = dts[0 : p.maxDets[-1]]
        if len(gts) == 0 or len(dts) == 0:
            return []
        ious = np.zeros((len(dts), len(gts)))
        sigmas = p.kpt_oks_sigmas
        variances = (sigmas * 2) ** 2
        k = len(sigmas)
        for j, gt in enumerate(gts):
            g = np.array(gt["keypoints"])
            xg, yg, vg = g[0::3], g[1::3], g[2::3]
            k1 = np.count_nonzero(vg > 0)
            bb = gt["bbox"]
            x0, x1 = bb[0] - bb[2], bb[0] + bb[2] * 2
            y0, y1 = bb[1] - bb[3], bb[1] + bb[3] * 2
            for i, dt in enumerate(dts):
                d = np.array(dt["keypoints"])
                xd, yd = d[0::3], d[1::3]
                if k1 > 0:
                    dx, dy = xd - xg, yd - yg
                else:
                    z = np.zeros(k)
                    dx = np.max((z, x0 - xd), axis=0) + np.max((z, xd - x1), axis=0)
                    dy = np.max((z, y0 - yd), axis=0) + np.max((z, yd - y1), axis=0)
                e = (dx**2 + dy**2) / variances / (gt["area"] + np.spacing(1)) / 2
                if k1 > 0:
                    e = e[vg > 0]
                ious[i, j] = np.sum(np.exp(-e)) / e.shape[0]
        return ious

    def evaluateImg(self, imgId: Any, catId: Any, aRng: Any, maxDet: int) -> dict[str, Any] | None:
        """The matches of one image, category and area range (None when the image has
        neither ground truth nor detections there)."""
        p = self.params
        gt, dt = self._group(imgId, catId)
        if len(gt) == 0 and len(dt) == 0:
            return None
        for g in gt:
            g["_ignore"] = 1 if g["ignore"] or g["area"] < aRng[0] or g["area"] > aRng[1] else 0
        gtind = np.argsort([g["_ignore"] for g in gt], kind="mergesort")
        gt = [gt[i] for i in gtind]
        dtind = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in dtind[0:maxDet]]
        iscrowd = [int(o["iscrowd"]) for o in gt]
        ious = self.ious[imgId, catId]
        ious = ious[:, gtind] if len(ious) > 0 else ious
        t_count, g_count, d_count = len(p.iouThrs), len(gt), len(dt)
        gtm = np.zeros((t_count, g_count))
        dtm = np.zeros((t_count, d_count))
        gt_ig = np.array([g["_ignore"] for g in gt])
        dt_ig = np.zeros((t_count, d_count))
        if len(ious) != 0:
            # pycocotools' greedy matching, in Rust (sa1b_rle::eval::coco_match).
            dtm, gtm, dt_ig = coco_match(
                np.ascontiguousarray(ious, dtype=np.float64),
                np.array([g["id"] for g in gt], dtype=np.float64),
                gt_ig != 0,
                np.array(iscrowd, dtype=bool),
                np.array([d["id"] for d in dt], dtype=np.float64),
                np.ascontiguousarray(p.iouThrs, dtype=np.float64),
            )
        outside = np.array([d["area"] < aRng[0] or d["area"] > aRng[1] for d in dt])
        outside = outside.reshape((1, len(dt)))
        dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(outside, t_count, 0)))
        return {
            "image_id": imgId,
            "category_id": catId,
            "aRng": aRng,
            "maxDet": maxDet,
            "dtIds": [d["id"] for d in dt],
            "gtIds": [g["id"] for g in gt],
            "dtMatches": dtm,
            "gtMatches": gtm,
            "dtScores": [d["score"] for d in dt],
            "gtIgnore": gt_ig,
            "dtIgnore": dt_ig,
        }

    def accumulate(self, p: Any = None) -> None:
        """Accumulates ``evalImgs`` into ``eval``: ``precision`` (T, R, K, A, M),
        ``recall`` (T, K, A, M) and ``scores`` (T, R, K, A, M), -1 where there is no
        ground truth."""
        if not self.evalImgs:
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
        i_list = [n for n, i in enumerate(p.imgIds) if i in set_i]
        precision, recall, scores = self._rust.accumulate(
            k_list,
            a_list,
            m_list,
            i_list,
            len(pe.imgIds),
            len(pe.areaRng),
            len(cat_ids),
            dims,
            [float(x) for x in p.recThrs],
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


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cycle collector paused: ``evaluate()`` creates an object or more per
    annotation, which would otherwise set off full collections over the whole dataset
    (a fifth of the run time on large ones); the objects it makes hold no cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _to_rles(anns: list[dict[str, Any]], coco: Any) -> None:
    """``ann["segmentation"] = coco.annToRLE(ann)`` for every annotation, as pycocotools'
    ``_prepare``; with this package's loader the polygons of all annotations are
    rasterised and merged in one Rust call (the same RLEs)."""
    from sa1b_rle.coco import COCO

    if type(coco) is not COCO:
        for ann in anns:
            ann["segmentation"] = coco.annToRLE(ann)
        return
    batch: list[tuple[Any, int, int]] = []
    where: list[int] = []
    imgs = coco.imgs
    for n, ann in enumerate(anns):
        segm = ann["segmentation"]
        kind = type(segm)
        if kind is dict:
            counts = type(segm.get("counts"))
            if counts is str or counts is bytes:
                continue  # a compressed RLE is its own annToRLE
        # Polygons (pycocotools reads a list whose first entry has 4 numbers as boxes).
        elif kind is list and segm and type(segm[0]) is list and len(segm[0]) != 4:
            img = imgs[ann["image_id"]]
            h, w = img["height"], img["width"]
            if type(h) is int and type(w) is int and h >= 0 and w >= 0:
                batch.append((segm, h, w))
                where.append(n)
                continue
        ann["segmentation"] = coco.annToRLE(ann)
    if not batch:
        return
    try:
        rles = coco_polygons_to_rles(batch)
    except (ValueError, TypeError, OverflowError):
        # One by one, so that the error is annToRLE's for the annotation at fault.
        rles = [coco.annToRLE(anns[n]) for n in where]
    for n, rle in zip(where, rles, strict=True):
        anns[n]["segmentation"] = rle


class _Groups:
    """The per-group detail of a Rust evaluation (``sa1b_rle::eval::evaluate_group``:
    the IoU matrix and the ``evalImgs`` entry of each area range), recomputed from the
    annotations when ``evalImgs`` or ``ious`` is read, so that ``evaluate()`` keeps only
    what ``accumulate()`` needs. The groups last read are cached (at most
    ``CACHE`` of them: reading ``evalImgs`` in order computes each group once per
    category's pass)."""

    CACHE = 8192

    def __init__(
        self,
        gt_side: tuple[Any, ...],
        dt_side: tuple[Any, ...],
        gts: list[dict[str, Any]],
        dts: list[dict[str, Any]],
        thresholds: np.ndarray,
        area_rng: np.ndarray,
        max_det: int,
    ) -> None:
        self._sides, self.gts, self.dts = (gt_side, dt_side), gts, dts
        self._thresholds, self._area_rng, self._max_det = thresholds, area_rng, max_det
        self._cache: dict[int, Any] = {}

    def _slice(self, side: tuple[Any, ...], k: int) -> tuple[tuple[Any, ...], int]:
        offsets = side[5]
        lo, hi = int(offsets[k]), int(offsets[k + 1])
        arrays = tuple(a[lo:hi] for a in side[:5])
        return (*arrays, np.array([0, hi - lo], np.int64), side[6][lo:hi]), lo

    def detail(self, k: int) -> Any:
        """``None`` or ``(dt, iou, entries)`` of group ``k``, indices into ``gts`` and
        ``dts``."""
        if k in self._cache:
            return self._cache[k]
        (gt, g0), (dt, d0) = (self._slice(s, k) for s in self._sides)
        got = coco_evaluate_group(gt, dt, 0, self._thresholds, self._area_rng, self._max_det)
        if got is not None:
            dt_idx, iou, entries = got
            got = (
                [d0 + j for j in dt_idx],
                iou,
                [([g0 + j for j in e[0]], *e[1:]) for e in entries],
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
        dt, _, entries = got
        gt, dtm, gtm, gt_ig, dt_ig = entries[a]
        gts, dts = self._groups.gts, self._groups.dts
        return {
            "image_id": self._img_ids[i],
            "category_id": self._cat_ids[k],
            "aRng": self._area_rng[a],
            "maxDet": self._max_det,
            "dtIds": [dts[j]["id"] for j in dt],
            "gtIds": [gts[j]["id"] for j in gt],
            "dtMatches": dtm,
            "gtMatches": gtm,
            "dtScores": [dts[j]["score"] for j in dt],
            "gtIgnore": gt_ig,
            "dtIgnore": dt_ig,
        }

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
        self._img_pos = {img: n for n, img in enumerate(self._img_ids)}
        self._cat_pos = {c: k for k, c in enumerate(cat_ids)}

    def __getitem__(self, key: Any) -> Any:
        img, cat = key
        got = self._groups.detail(self._img_pos[img] * len(self._cat_ids) + self._cat_pos[cat])
        if got is None or got[1].size == 0:
            return []
        return got[1]

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
        if iouType in ("segm", "bbox"):
            self.setDetParams()
        elif iouType == "keypoints":
            self.setKpParams()
        else:
            raise ValueError(f'iouType must be "segm", "bbox" or "keypoints", not {iouType!r}')
        self.iouType = iouType
        self.useSegm: Any = None


def evaluate(gt: Any, results: Any, iou_type: str = "segm", *, quiet: bool = True) -> COCOeval:
    """``COCOeval`` run end to end (evaluate, accumulate, summarize) on a ground truth
    (a COCO JSON path, dict or COCO object) and results (a path, a list of result dicts
    or an ``(N, 7)`` array); the summary lines are in ``summary_lines`` (printed unless
    ``quiet``)."""
    import contextlib
    import io

    from sa1b_rle.coco import COCO

    coco_gt = gt if hasattr(gt, "loadRes") else COCO(gt)
    coco_dt = coco_gt.loadRes(results)
    e = COCOeval(coco_gt, coco_dt, iou_type)
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e
