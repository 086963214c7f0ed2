"""SA-1B per-image annotation files: load them into columns, validate them.

An SA-1B file (``sa_N.json``) is ``{"image": {"image_id", "width", "height",
"file_name"}, "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
"bbox": [x, y, w, h], "area", "predicted_iou", "stability_score", "point_coords":
[[x, y]], "crop_box": [x, y, w, h]}, ...]}``.

:func:`load` parses one in Rust straight into an :class:`Sa1bImage` (one numpy array per
field, the masks as an :class:`~sa1b_rle.RleBatch`; no Python object per annotation).
:func:`validate` lists every :class:`Problem` of a file without raising.

>>> import json
>>> from sa1b_rle import sa1b
>>> doc = {"image": {"image_id": 7, "width": 3, "height": 2, "file_name": "sa_7.jpg"},
...        "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "213"},
...                         "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9,
...                         "stability_score": 0.95, "point_coords": [[1.5, 0.5]],
...                         "crop_box": [0, 0, 3, 2]}]}
>>> image = sa1b.load(json.dumps(doc).encode())
>>> len(image), image.area.tolist(), image.masks.decode()[0].tolist()
(1, [1], [[0, 1, 0], [0, 0, 0]])
>>> doc["annotations"][0]["area"] = 5
>>> report = sa1b.validate(json.dumps(doc).encode())
>>> print(report)
<bytes>: annotation 0 (id 1): annotations[0].area: 5 differs from the mask's area 1
"""

# The module is three files: annotation files (_sa1b_files), shards (_sa1b_shards), and
# many sources and conversions (_sa1b_convert); this one documents and exports them.
from sa1b_rle._core import Sa1bImage
from sa1b_rle._sa1b_convert import (
    CocoSummary,
    ParquetSummary,
    expand_sources,
    image_path,
    iter_images,
    max_image_pixels,
    parquet_parts,
    read_image,
    render,
    statistics,
    to_coco,
    to_parquet,
    validate_all,
    write_png,
)
from sa1b_rle._sa1b_files import (
    Problem,
    Report,
    Sa1bValidationError,
    Source,
    load,
    validate,
)
from sa1b_rle._sa1b_shards import (
    MAX_IMAGE_BYTES,
    MAX_JSON_BYTES,
    Sa1bShardError,
    ShardCounts,
    ShardEntry,
    ShardReader,
    index_shard,
    iter_shard,
)

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_JSON_BYTES",
    "CocoSummary",
    "ParquetSummary",
    "Problem",
    "Report",
    "Sa1bImage",
    "Sa1bShardError",
    "Sa1bValidationError",
    "ShardCounts",
    "ShardEntry",
    "ShardReader",
    "Source",
    "expand_sources",
    "image_path",
    "index_shard",
    "iter_images",
    "iter_shard",
    "load",
    "max_image_pixels",
    "parquet_parts",
    "read_image",
    "render",
    "statistics",
    "to_coco",
    "to_parquet",
    "validate",
    "validate_all",
    "write_png",
]

# Documented and pickled as this module's (the files behind it are private; the two
# exceptions are the package's own, `sa1b_rle.Sa1bShardError` and so on).
for _cls in (
    CocoSummary,
    ParquetSummary,
    Problem,
    Report,
    ShardCounts,
    ShardEntry,
    ShardReader,
):
    _cls.__module__ = __name__
del _cls
