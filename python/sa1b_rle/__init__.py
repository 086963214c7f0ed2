"""sa1b_rle: fast, validated COCO / SA-1B run-length-encoded masks.

``sa1b_rle.mask`` is a drop-in replacement for ``pycocotools.mask`` with bit-identical
results; bad input raises :class:`RleError` (a ``ValueError``) instead of crashing.

:class:`RleBatch` holds many masks of one size parsed once in Rust; it and the functions
:func:`decode`, :func:`area`, :func:`bbox`, :func:`iou_matrix` and :func:`encode` run in
parallel with the GIL released (:func:`set_num_threads`).
"""

import importlib as _importlib
import warnings as _warnings
from typing import TYPE_CHECKING, Any

from sa1b_rle._batch import (
    RleBatch,
    area,
    bbox,
    decode,
    encode,
    get_num_threads,
    iou_matrix,
    max_threads,
    set_num_threads,
)
from sa1b_rle._core import RleError, __version__, box_nms, stability_score, threads_env_problem

if TYPE_CHECKING:
    from sa1b_rle import coco, cocoeval, kaggle, lvis, mask, sa1b
    from sa1b_rle._images import from_label_image, from_mask_image, to_polygons
    from sa1b_rle._shims import init_as_lvis, init_as_pycocotools
    from sa1b_rle.sa1b import Sa1bShardError, Sa1bValidationError

# Imported on first use (an evaluation or a decode does not pay for the SA-1B, image and
# Kaggle modules and what they import: 2 MB of resident memory).
_LAZY = {
    "coco": ("sa1b_rle.coco", None),
    "cocoeval": ("sa1b_rle.cocoeval", None),
    "kaggle": ("sa1b_rle.kaggle", None),
    "lvis": ("sa1b_rle.lvis", None),
    "init_as_lvis": ("sa1b_rle._shims", "init_as_lvis"),
    "init_as_pycocotools": ("sa1b_rle._shims", "init_as_pycocotools"),
    "mask": ("sa1b_rle.mask", None),
    "sa1b": ("sa1b_rle.sa1b", None),
    "from_label_image": ("sa1b_rle._images", "from_label_image"),
    "from_mask_image": ("sa1b_rle._images", "from_mask_image"),
    "to_polygons": ("sa1b_rle._images", "to_polygons"),
    "Sa1bShardError": ("sa1b_rle.sa1b", "Sa1bShardError"),
    "Sa1bValidationError": ("sa1b_rle.sa1b", "Sa1bValidationError"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'sa1b_rle' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = _importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if (_problem := threads_env_problem()) is not None:
    # One line (no importer's source line under it): the setting is the place.
    _warnings.warn_explicit(
        _problem, RuntimeWarning, filename="SA1B_RLE_NUM_THREADS", lineno=0, module="sa1b_rle"
    )

__all__ = [
    "RleBatch",
    "RleError",
    "Sa1bShardError",
    "Sa1bValidationError",
    "__version__",
    "area",
    "bbox",
    "box_nms",
    "coco",
    "cocoeval",
    "decode",
    "encode",
    "from_label_image",
    "from_mask_image",
    "get_num_threads",
    "init_as_lvis",
    "init_as_pycocotools",
    "iou_matrix",
    "kaggle",
    "lvis",
    "mask",
    "max_threads",
    "sa1b",
    "set_num_threads",
    "stability_score",
    "to_polygons",
]
