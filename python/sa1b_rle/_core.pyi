from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "RleError",
    "__version__",
    "area",
    "decode",
    "encode_masks",
    "fr_bbox",
    "fr_poly",
    "fr_uncompressed",
    "iou_bbox",
    "iou_rle",
    "merge",
    "to_bbox",
]

__version__: str

class RleError(ValueError): ...

def encode_masks(
    masks: npt.NDArray[np.uint8], height: int, width: int, n: int, *, column_major: bool
) -> list[dict[str, Any]]: ...
def decode(rles: Any) -> npt.NDArray[np.uint8]: ...
def area(rles: Any) -> npt.NDArray[np.uint32]: ...
def to_bbox(rles: Any) -> npt.NDArray[np.float64]: ...
def merge(rles: Any, *, intersect: bool) -> dict[str, Any]: ...
def iou_rle(dt: Any, gt: Any, iscrowd: list[bool]) -> npt.NDArray[np.float64]: ...
def iou_bbox(
    dt: npt.NDArray[np.float64], gt: npt.NDArray[np.float64], iscrowd: list[bool]
) -> npt.NDArray[np.float64]: ...
def fr_bbox(bb: npt.NDArray[np.float64], h: int, w: int) -> list[dict[str, Any]]: ...
def fr_poly(polys: Sequence[Sequence[float]], h: int, w: int) -> list[dict[str, Any]]: ...
def fr_uncompressed(rles: Any) -> list[dict[str, Any]]: ...
