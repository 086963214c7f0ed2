"""Boundary IoU: ``RleBatch.boundary`` against boundary-iou-api's ``mask_to_boundary``,
and ``COCOeval(iouType="boundary")`` against its ``COCOeval`` (vendored in
``_boundary_reference``, with OpenCV's erosion)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import _boundary_reference as ref
import numpy as np
import pycocotools.mask as pm
import pytest
from _coco import GT, RESULTS, generated
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO as PyCOCO

from sa1b_rle import RleBatch, cli
from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import COCOeval

RATIOS = [0.02, 0.005, 0.1, 0.0]


def reference(masks: np.ndarray, ratio: float) -> np.ndarray:
    return np.stack([ref.mask_to_boundary(m, ratio) for m in masks]) if len(masks) else masks


@st.composite
def masks(draw: Any) -> np.ndarray:
    """Masks of 1x1 to 40x40: noise, blobs with holes, thin lines, single pixels, empty
    and full ones, many touching the border."""
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = np.zeros((n, h, w), np.uint8)
    for m in out:
        kind = draw(st.sampled_from(["noise", "blob", "line", "pixel", "empty", "full"]))
        if kind == "noise":
            m[...] = rng.random((h, w)) < draw(st.floats(0.3, 0.95))
        elif kind == "blob":
            y0, x0 = rng.integers(-3, h), rng.integers(-3, w)
            m[
                max(y0, 0) : y0 + rng.integers(1, h + 4), max(x0, 0) : x0 + rng.integers(1, w + 4)
            ] = 1
            m[rng.integers(0, h), rng.integers(0, w)] = 0  # a hole
        elif kind == "line":
            if rng.random() < 0.5:
                m[rng.integers(0, h), :] = 1
            else:
                m[:, rng.integers(0, w)] = 1
        elif kind == "pixel":
            m[rng.integers(0, h), rng.integers(0, w)] = 1
        elif kind == "full":
            m[...] = 1
    return out


@settings(max_examples=300, deadline=None)
@given(masks(), st.sampled_from([*RATIOS, 0.03, 0.25, 1.0, -0.5]))
def test_boundary_equals_mask_to_boundary(m: np.ndarray, ratio: float) -> None:
    b = RleBatch.from_masks(m)
    got = b.boundary(ratio)
    assert got.shape == b.shape
    np.testing.assert_array_equal(got.decode(), reference(m, ratio))
    # The RLEs pycocotools encodes from the reference's masks, byte for byte.
    want = pm.encode(np.asfortranarray(reference(m, ratio).transpose(1, 2, 0)))
    assert got.to_coco(counts="bytes") == want
    assert b.boundary(ratio, threads=2) == got


@pytest.mark.parametrize("ratio", RATIOS)
def test_large_images(ratio: float) -> None:
    """SA-1B's 1500x2250 (d = 54 at 0.02): blobs with holes cut by the border, lines."""
    h, w = 1500, 2250
    yy, xx = np.mgrid[:h, :w]
    m = np.zeros((4, h, w), np.uint8)
    m[0] = (yy - 700) ** 2 + (xx - 1100) ** 2 < 600**2
    m[0][(yy - 700) ** 2 + (xx - 1100) ** 2 < 150**2] = 0
    m[1] = ((xx // 97 + yy // 61) % 3 == 0) | (xx > 2200)
    m[2][700:703, :] = 1
    m[2][:, 5] = 1
    m[3][10:1490, 3:2240] = 1
    got = RleBatch.from_masks(m).boundary(ratio)
    np.testing.assert_array_equal(got.decode(), reference(m, ratio))


def test_bad_ratios() -> None:
    b = RleBatch.from_masks(np.ones((1, 3, 3), np.uint8))
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^dilation_ratio must be a finite number"):
            b.boundary(bad)
    with pytest.raises(TypeError):
        b.boundary("0.02")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^dilation_ratio must be a finite number"):
        COCOeval(None, None, "boundary", dilation_ratio=float("nan"))


def run_reference(gt: dict[str, Any], res: Any, ratio: float) -> tuple[Any, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        g = PyCOCO()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        d = g.loadRes(copy.deepcopy(res))
        ref.augment(g, ratio)
        ref.augment(d, ratio)
        e = ref.COCOeval(g, d, "boundary", dilation_ratio=ratio)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e, out.getvalue()


def run_ours(coco: Any, gt: dict[str, Any], res: Any, ratio: float) -> tuple[Any, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), tempfile.TemporaryDirectory() as tmp:
        if coco == "files":
            gt_path, res_path = Path(tmp) / "gt.json", Path(tmp) / "res.json"
            gt_path.write_text(json.dumps(gt))
            res_path.write_text(json.dumps(res))
            g = COCO(gt_path)
            d = g.loadRes(str(res_path))
        else:
            g = coco()
            g.dataset = copy.deepcopy(gt)
            g.createIndex()
            d = g.loadRes(copy.deepcopy(res))
        e = COCOeval(g, d, "boundary", dilation_ratio=ratio)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e, out.getvalue()


def assert_same_as_reference(gt: dict[str, Any], res: Any, ratio: float) -> None:
    want, printed = run_reference(gt, res, ratio)
    for coco in ("files", COCO, PyCOCO):
        got, ours = run_ours(coco, gt, res, ratio)
        for key in ("precision", "recall", "scores"):
            assert np.array_equal(got.eval[key], want.eval[key], equal_nan=True), (coco, key)
        assert np.array_equal(got.stats, want.stats, equal_nan=True)
        lines = [x for x in printed.splitlines() if x.startswith(" Average")]
        assert [x for x in ours.splitlines() if x.startswith(" Average")] == lines
        assert len(got.ious) == len(want.ious)
        for key, v in want.ious.items():
            mine = got.ious[key]
            assert type(mine) is type(v), key
            assert np.array_equal(np.asarray(mine), np.asarray(v)), key
        for a, b in zip(got.evalImgs, want.evalImgs, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                for k in ("dtIds", "gtIds", "dtMatches", "gtMatches", "gtIgnore", "dtIgnore"):
                    assert np.array_equal(a[k], b[k])


@pytest.mark.parametrize("ratio", [0.02, 0.005])
def test_the_coco_sample(ratio: float) -> None:
    """The 100-image COCO sample (polygons, crowd RLEs) and its segm results."""
    assert_same_as_reference(GT, RESULTS, ratio)


@pytest.mark.parametrize("seed", range(4))
def test_generated_datasets(seed: int) -> None:
    """Crowd regions, tied scores, images without ground truth or detections."""
    gt, res = generated(seed)
    assert_same_as_reference(gt, res, [0.02, 0.1, 0.0, 0.05][seed])


def test_the_eval_command(tmp_path: Path) -> None:
    gt, res = generated(1)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    out = io.StringIO()
    argv = ["eval", str(tmp_path / "gt.json"), str(tmp_path / "res.json")]
    assert cli.main([*argv, "--iou-type", "boundary", "--dilation-ratio", "0.1"], out) == 0
    _, printed = run_reference(gt, res, 0.1)
    lines = [x for x in printed.splitlines() if x.startswith(" Average")]
    assert [x for x in out.getvalue().splitlines() if x.startswith(" Average")] == lines
