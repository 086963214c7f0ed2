"""segment-anything's ``remove_small_regions`` (segment_anything/utils/amg.py), vendored
unchanged as the reference of ``RleBatch.remove_small_regions``.

Copyright (c) Meta Platforms, Inc. and affiliates. Apache License 2.0 (the notice is in
tests/data/LICENSES.md).
"""
# mypy: ignore-errors

from typing import Tuple

import numpy as np


def remove_small_regions(
    mask: np.ndarray, area_thresh: float, mode: str
) -> Tuple[np.ndarray, bool]:
    """
    Removes small disconnected regions and holes in a mask. Returns the
    mask and an indicator of if the mask has been modified.
    """
    import cv2  # type: ignore

    assert mode in ["holes", "islands"]
    correct_holes = mode == "holes"
    working_mask = (correct_holes ^ mask).astype(np.uint8)
    n_labels, regions, stats, _ = cv2.connectedComponentsWithStats(working_mask, 8)
    sizes = stats[:, -1][1:]  # Row 0 is background label
    small_regions = [i + 1 for i, s in enumerate(sizes) if s < area_thresh]
    if len(small_regions) == 0:
        return mask, False
    fill_labels = [0] + small_regions
    if not correct_holes:
        fill_labels = [i for i in range(n_labels) if i not in fill_labels]
        # If every region is below threshold, keep largest
        if len(fill_labels) == 0:
            fill_labels = [int(np.argmax(sizes)) + 1]
    mask = np.isin(regions, fill_labels)
    return mask, True


def calculate_stability_score(masks, mask_threshold: float, threshold_offset: float):
    """segment-anything's calculate_stability_score (utils/amg.py), transcribed from torch
    to numpy with its dtypes: per-row int16 sums, int32 totals, float32 division (torch
    divides two int32 tensors as float32)."""
    intersections = (
        (masks > (mask_threshold + threshold_offset)).sum(-1, dtype=np.int16).sum(-1, dtype=np.int32)
    )
    unions = (masks > (mask_threshold - threshold_offset)).sum(-1, dtype=np.int16).sum(-1, dtype=np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return intersections.astype(np.float32) / unions.astype(np.float32)
