"""Mask NMS on the IoU engine and box NMS as torchvision does it, against brute force."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pycocotools.mask as pm
import pytest

import sa1b_rle
from sa1b_rle import RleBatch, box_nms, sa1b
from sa1b_rle.cli import sample_path


def greedy(order: list[int], suppresses: object, max_keep: int | None) -> list[int]:
    kept: list[int] = []
    for i in order:
        if max_keep is not None and len(kept) >= max_keep:
            break
        if not any(suppresses(k, i) for k in kept):  # type: ignore[operator]
            kept.append(i)
    return kept


def by_score(scores: np.ndarray) -> list[int]:
    # Highest first, ties by index: a stable sort of the negated scores.
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def mask_reference(
    rles: list[dict], scores: np.ndarray, thr: float, max_keep: int | None
) -> list[int]:
    iou = np.asarray(pm.iou(rles, rles, [0] * len(rles))) if rles else np.zeros((0, 0))
    return greedy(by_score(scores), lambda k, i: iou[k, i] > thr, max_keep)


@pytest.mark.parametrize("seed", range(12))
def test_mask_nms_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, h, w = int(rng.integers(0, 40)), int(rng.integers(1, 30)), int(rng.integers(1, 30))
    masks = np.zeros((n, h, w), np.uint8)
    for m in masks:
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        m[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = 1
    rles = pm.encode(np.asfortranarray(masks.transpose(1, 2, 0)))
    scores = rng.integers(0, 4, n) / 3.0  # ties on purpose
    for thr in (0.0, 0.3, 0.5, 0.7, 1.0):
        for max_keep in (None, 0, 3):
            want = mask_reference(rles, scores, thr, max_keep)
            got = RleBatch.from_coco(rles).nms(scores, thr, max_keep=max_keep)
            assert got.dtype == np.int64 and got.tolist() == want


def test_mask_nms_on_sa1b_images() -> None:
    for _, _, img in sa1b.iter_shard(sample_path(), images=False):
        rles = img.masks.to_coco(counts="bytes")
        for thr in (0.3, 0.7):
            want = mask_reference(rles, img.predicted_iou, thr, None)
            assert img.masks.nms(img.predicted_iou, thr, threads=2).tolist() == want


def torchvision_iou(a: np.ndarray, b: np.ndarray) -> float:
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])  # noqa: E731
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(w * h) / (area(a) + area(b) - w * h))


@pytest.mark.parametrize("seed", range(8))
def test_box_nms_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(0, 60))
    xy = rng.integers(0, 50, (n, 2)).astype(float)
    boxes = np.concatenate([xy, xy + rng.integers(0, 20, (n, 2))], axis=1)  # some empty
    scores = rng.integers(0, 5, n).astype(np.float32)
    for thr in (0.0, 0.5, 0.7):
        want = greedy(
            by_score(scores.astype(float)),
            lambda k, i, thr=thr: torchvision_iou(boxes[k], boxes[i]) > thr,
            None,
        )
        assert box_nms(boxes, scores, thr).tolist() == want
    # (want is the 0.7 result.)
    assert box_nms(boxes.tolist(), scores.tolist(), 0.7, max_keep=2).tolist() == want[:2]


def test_bad_arguments() -> None:
    b = RleBatch.from_masks(np.ones((2, 3, 3), np.uint8))
    with pytest.raises(sa1b_rle.RleError, match="scores has 1 entries, expected one per mask"):
        b.nms([1.0], 0.5)
    with pytest.raises(sa1b_rle.RleError, match="score 1 is NaN"):
        b.nms([1.0, float("nan")], 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        b.nms([1.0, 2.0], float("nan"))
    with pytest.raises(ValueError, match="max_keep"):
        b.nms([1.0, 2.0], 0.5, max_keep=-1)
    with pytest.raises(ValueError, match="one-dimensional"):
        b.nms([[1.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match=r"shape \(n, 4\), not \(2, 3\)"):
        box_nms(np.zeros((2, 3)), [1.0, 2.0], 0.5)
    assert b.nms([1.0, 2.0], 0.5).tolist() == [1]
    assert box_nms(np.zeros((0, 4)), [], 0.5).tolist() == []


def test_many_masks_take_the_linear_memory_path() -> None:
    """Past 2,048 masks each mask is compared with the kept ones only (no N x N matrix):
    the same choice as the greedy rule over the full IoU matrix."""
    rng = np.random.default_rng(5)
    m = (rng.random((2200, 6, 6)) < 0.3).astype(np.uint8)
    b = RleBatch.from_masks(m)
    scores = rng.integers(0, 20, len(m)) / 20  # ties
    iou = b.iou(b)
    order = sorted(range(len(m)), key=lambda i: (-scores[i], i))
    for thr in (0.2, 0.5):
        kept: list[int] = []
        for i in order:
            if not kept or not (iou[kept, i] > thr).any():
                kept.append(i)
        assert b.nms(scores, thr).tolist() == kept


def test_box_nms_at_scale_equals_the_greedy_rule() -> None:
    """3,000 boxes of every size (kept boxes looked up by position), with inverted,
    empty and infinite boxes among them: the greedy rule's answer, computed here by
    a vectorised brute force (each candidate against every box kept before it)."""
    rng = np.random.default_rng(11)
    n = 3000
    xy = rng.uniform(0, 2000, (n, 2))
    boxes = np.concatenate([xy, xy + np.exp(rng.uniform(0, 7, (n, 2)))], axis=1)
    boxes[rng.integers(0, n, 30)] = [5.0, 5.0, 1.0, 9.0]  # inverted
    boxes[rng.integers(0, n, 30), 2] = boxes[0, 0]  # mostly inverted or empty
    boxes[rng.integers(0, n, 10), 3] = np.inf
    boxes[rng.integers(0, n, 10), 0] = -np.inf
    scores = rng.integers(0, 100, n).astype(float)  # ties
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    for thr in (0.0, 0.3, 0.7, -0.5):
        kept: list[int] = []
        for i in order:
            if kept:
                k = boxes[kept]
                b = boxes[i]
                with np.errstate(invalid="ignore", over="ignore"):
                    w = np.maximum(np.minimum(k[:, 2], b[2]) - np.maximum(k[:, 0], b[0]), 0.0)
                    h = np.maximum(np.minimum(k[:, 3], b[3]) - np.maximum(k[:, 1], b[1]), 0.0)
                    inter = w * h
                    area = (k[:, 2] - k[:, 0]) * (k[:, 3] - k[:, 1])
                    iou = inter / (area + (b[2] - b[0]) * (b[3] - b[1]) - inter)
                if (iou > thr).any():
                    continue
            kept.append(i)
        assert box_nms(boxes, scores, thr).tolist() == kept, thr


def test_box_nms_can_be_interrupted() -> None:
    """A long box NMS (300,000 empty boxes, all kept: every pair's IoU is NaN) stops on
    Ctrl-C with KeyboardInterrupt instead of running to the end."""
    code = (
        "import os, signal, threading, time, numpy as np, sa1b_rle\n"
        "threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    sa1b_rle.box_nms(np.zeros((300_000, 4)), np.ones(300_000), -1.0)\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out[0] == "interrupted" and float(out[1]) < 30, out
