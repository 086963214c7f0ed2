"""Arrow tables of SA-1B annotations, and RLE batches straight from Arrow columns.

Needs pyarrow (``pip install sa1b_rle[arrow]``); the rest of the package does not.

>>> from sa1b_rle import sa1b, cli
>>> images = [img for _, _, img in sa1b.iter_shard(cli.sample_path(), images=False)]
>>> table = to_table(images)
>>> table.num_rows, table.column_names[:5]
(299, ['image_id', 'id', 'height', 'width', 'counts'])
>>> first = table.filter(table["image_id"].to_numpy() == 1)
>>> masks = RleBatch.from_arrow(first["counts"], 1200, 1800)
>>> masks == images[0].masks
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from sa1b_rle._core import RleBatch, Sa1bImage, batch_from_counts_buffers, counts_buffers

try:
    import pyarrow as pa
except ImportError as e:  # pragma: no cover - exercised where pyarrow is missing
    raise ImportError(
        "sa1b_rle.arrow needs pyarrow (pip install pyarrow); the rest of sa1b_rle does not"
    ) from e

__all__ = ["SCHEMA", "batch_from_arrow", "counts_array", "to_table"]

#: One row per mask.
SCHEMA = pa.schema(
    [
        ("image_id", pa.int64()),
        ("id", pa.int64()),
        ("height", pa.int64()),
        ("width", pa.int64()),
        ("counts", pa.large_binary()),
        ("bbox_x", pa.float64()),
        ("bbox_y", pa.float64()),
        ("bbox_w", pa.float64()),
        ("bbox_h", pa.float64()),
        ("area", pa.int64()),
        ("predicted_iou", pa.float64()),
        ("stability_score", pa.float64()),
        ("point_x", pa.float64()),
        ("point_y", pa.float64()),
        ("crop_x", pa.float64()),
        ("crop_y", pa.float64()),
        ("crop_w", pa.float64()),
        ("crop_h", pa.float64()),
    ]
)


def counts_array(batch: RleBatch, *, threads: int | None = None) -> pa.LargeBinaryArray:
    """The compressed counts strings of a batch as an Arrow large_binary array, built from
    one buffer (no Python object per mask)."""
    offsets, data = counts_buffers(batch, threads)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(batch), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def to_table(images: Iterable[Sa1bImage]) -> pa.Table:
    """One row per mask of the images (see :data:`SCHEMA`), built from their columns."""
    tables = []
    for img in images:
        n = len(img)
        bbox, point, crop = img.bbox, img.point_coords, img.crop_box
        cols: dict[str, Any] = {
            "image_id": np.full(n, img.image_id, np.int64),
            "id": img.ids,
            "height": np.full(n, img.height, np.int64),
            "width": np.full(n, img.width, np.int64),
            "counts": counts_array(img.masks),
            "bbox_x": bbox[:, 0],
            "bbox_y": bbox[:, 1],
            "bbox_w": bbox[:, 2],
            "bbox_h": bbox[:, 3],
            "area": img.area,
            "predicted_iou": img.predicted_iou,
            "stability_score": img.stability_score,
            "point_x": point[:, 0],
            "point_y": point[:, 1],
            "crop_x": crop[:, 0],
            "crop_y": crop[:, 1],
            "crop_w": crop[:, 2],
            "crop_h": crop[:, 3],
        }
        tables.append(pa.table(cols, schema=SCHEMA))
    if not tables:
        return SCHEMA.empty_table()
    return pa.concat_tables(tables)


def batch_from_arrow(
    counts: Any, height: int, width: int, *, threads: int | None = None
) -> RleBatch:
    """:meth:`RleBatch.from_arrow`: a batch from an Arrow array (or chunked array) of
    compressed counts, binary or string, without nulls."""
    if isinstance(counts, pa.ChunkedArray):
        chunks = counts.chunks
    elif isinstance(counts, pa.Array):
        chunks = [counts]
    else:
        raise TypeError(f"expected a pyarrow Array or ChunkedArray, not {type(counts).__name__}")
    offsets_parts, data_parts = [np.zeros(1, np.int64)], []
    base, seen = 0, 0
    for chunk in chunks:
        t = chunk.type
        if pa.types.is_large_binary(t) or pa.types.is_large_string(t):
            otype: Any = np.int64
        elif pa.types.is_binary(t) or pa.types.is_string(t):
            otype = np.int32
        else:
            raise TypeError(f"counts must be binary or string, not {t}")
        if chunk.null_count:
            k = seen + int(np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))[0])
            raise ValueError(f"counts {k} is null")
        n = len(chunk)
        if n:
            _, obuf, dbuf = chunk.buffers()
            off = np.frombuffer(obuf, otype, count=chunk.offset + n + 1)[chunk.offset :]
            off = off.astype(np.int64)
            data = (
                np.frombuffer(dbuf, np.uint8, count=int(off[-1])) if dbuf else np.zeros(0, np.uint8)
            )
            data = data[int(off[0]) :]
            offsets_parts.append(off[1:] - off[0] + base)
            data_parts.append(data)
            base += int(off[-1] - off[0])
        seen += n
    offsets = np.concatenate(offsets_parts)
    data = np.concatenate(data_parts) if data_parts else np.zeros(0, np.uint8)
    return batch_from_counts_buffers(offsets, data, int(height), int(width), threads)
