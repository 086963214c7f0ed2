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

from sa1b_rle._core import (
    RleBatch,
    Sa1bImage,
    batch_from_counts_buffers,
    counts_buffers,
    sa1b_columns,
)

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
        ("counts", pa.binary()),
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


#: Bytes of counts strings in one chunk of a ``binary`` column (int32 offsets).
_BINARY_LIMIT = 2**31 - 1


def _binary_column(offsets: np.ndarray, data: np.ndarray) -> pa.ChunkedArray:
    """Strings ``data[offsets[k]:offsets[k + 1]]`` as a ``binary`` column, in as many
    chunks as int32 offsets need (one unless the strings pass 2 GiB)."""
    n = len(offsets) - 1
    chunks, start = [], 0
    while True:
        end = int(np.searchsorted(offsets, offsets[start] + _BINARY_LIMIT, side="right")) - 1
        end = min(end, n)
        if end == start and n > start:
            raise ValueError(f"counts {start} is longer than {_BINARY_LIMIT} bytes")
        off = (offsets[start : end + 1] - offsets[start]).astype(np.int32)
        part = data[int(offsets[start]) : int(offsets[end])]
        chunks.append(
            pa.BinaryArray.from_buffers(
                pa.binary(), end - start, [None, pa.py_buffer(off), pa.py_buffer(part)]
            )
        )
        if end >= n:
            return pa.chunked_array(chunks, pa.binary())
        start = end


def to_table(images: Iterable[Sa1bImage], *, threads: int | None = None) -> pa.Table:
    """One row per mask of the images (see :data:`SCHEMA`), built in Rust from their
    columns (no Python object per mask or per image); ``threads`` write the counts
    strings (the process default when None). ``counts`` is one chunk of ``binary`` up
    to 2 GiB of strings, more chunks past that."""
    images = list(images)
    cols: dict[str, Any] = sa1b_columns(images, threads)
    cols["counts"] = _binary_column(cols.pop("counts_offsets"), cols["counts"])
    return pa.table(cols, schema=SCHEMA)


def batch_from_arrow(counts: Any, h: int, w: int, *, threads: int | None = None) -> RleBatch:
    """:meth:`RleBatch.from_arrow`: a batch from an Arrow array (or chunked array) of
    compressed counts, binary or string, without nulls."""
    for name, value in (("h", h), ("w", w)):
        # Integers only (a float is not truncated, a string not parsed), as from_strings.
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
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
    return batch_from_counts_buffers(offsets, data, h, w, threads)
