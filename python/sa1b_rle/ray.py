"""SA-1B on Ray Data: shards read as Arrow tables of masks, and batch functions for
``Dataset.map_batches``.

Over 400 lines: the Datasource (read tasks, error rows) and the batch functions it is
used with, one API that needs Ray to import.

Needs Ray Data and pyarrow (``pip install sa1b_rle[ray]``); the rest of the package
does not.

* :func:`read_sa1b` reads shards (``.tar``, ``.tar.gz``), SA-1B JSON files or
  directories of them, locally or from any filesystem pyarrow knows (``s3://``,
  ``gs://``, ``hdfs://``, ...), into a ``ray.data.Dataset`` with one row per mask
  (:data:`sa1b_rle.arrow.SCHEMA`). Each shard is read by one Ray task.
  :func:`read_sa1b_errors` gives the members that could not be read, as rows.
* :func:`filter_quality`, :func:`filter_area`, :func:`decode_masks` and
  :func:`image_stats` take a batch (a ``pyarrow.Table`` or a dict of numpy arrays) and
  are meant for ``Dataset.map_batches``; :func:`per_image_stats` groups a dataset by
  image first.

Everything here runs in Ray worker processes: it uses one thread per task unless a
``threads=`` argument says otherwise (sa1b_rle's thread pool is per process), so Ray's
own scheduling decides how many cores work.

>>> import ray
>>> from sa1b_rle import cli
>>> _ = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
>>> ds = read_sa1b(cli.sample_path())  # a directory, shard list or "s3://..." alike
>>> ds.count()
299
>>> good = ds.map_batches(filter_quality, fn_kwargs={"min_predicted_iou": 0.9})
>>> stats = per_image_stats(good, num_partitions=2).sort("image_id").take_all()
>>> [(s["image_id"], s["masks"], round(s["coverage"], 3)) for s in stats]
[(1, 62, 0.896), (2, 24, 0.623), (3, 33, 0.994)]
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

try:
    import pyarrow as pa
    import ray
    import ray.data
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata
except ImportError as e:  # pragma: no cover - exercised where Ray is missing
    raise ImportError(
        "sa1b_rle.ray needs Ray Data and pyarrow (pip install 'sa1b_rle[ray]'); "
        "the rest of sa1b_rle does not"
    ) from e

from sa1b_rle import arrow, sa1b
from sa1b_rle._core import RleBatch, Sa1bImage, counts_buffers, filter_keep, sa1b_parse
from sa1b_rle.sources import IMAGE_SUFFIXES, Source, check_on_error, find

__all__ = [
    "ERROR_SCHEMA",
    "decode_masks",
    "filter_area",
    "filter_quality",
    "image_stats",
    "per_image_stats",
    "read_sa1b",
    "read_sa1b_errors",
]

log = logging.getLogger("sa1b_rle")

#: Rows of :func:`read_sa1b_errors`: the shard or file, the member inside a shard
#: (empty for a JSON file or a shard that could not be opened) and what is wrong.
ERROR_SCHEMA = pa.schema(
    [("source", pa.string()), ("member", pa.string()), ("message", pa.string())]
)

#: JSON files read by one task when ``parallelism`` is not given.
_JSON_PER_TASK = 1000
#: A read task yields a block once it holds this many masks (SA-1B counts strings
#: are a few kB: tens of MB per block) ...
_BLOCK_ROWS = 20_000
#: ... or this many bytes of images.
_BLOCK_BYTES = 64 << 20

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


# --------------------------------------------------------------------------- sources


def _resolve(paths: Paths, filesystem: Any) -> list[Source]:
    """Every shard and annotation file named by ``paths`` (see :mod:`sa1b_rle.sources`)."""
    if not isinstance(paths, (str, os.PathLike)) and not paths:
        raise ValueError("no paths given")
    return find(paths, filesystem=filesystem)


def _groups(sources: list[Source], parallelism: int | None) -> list[list[Source]]:
    """Sources split into read tasks: by default one per shard and JSON files in groups
    of :data:`_JSON_PER_TASK`; with ``parallelism``, that many contiguous groups (at
    most one per source)."""
    if parallelism is None:
        groups = [[s] for s in sources if s.shard]
        files = [s for s in sources if not s.shard]
        groups += [files[i : i + _JSON_PER_TASK] for i in range(0, len(files), _JSON_PER_TASK)]
        return groups
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, not {parallelism}")
    k = min(parallelism, len(sources))
    bounds = np.linspace(0, len(sources), k + 1).round().astype(int)
    return [sources[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# ----------------------------------------------------------------------------- reading


class _Rows:
    """Images collected into Arrow blocks of bounded size."""

    def __init__(self, images: bool, threads: int) -> None:
        self.with_images, self.threads = images, threads
        self.pending: list[tuple[Sa1bImage, bytes | None]] = []
        self.rows = self.bytes = 0
        self.yielded = False

    def add(self, image: Sa1bImage, jpeg: bytes | None) -> pa.Table | None:
        self.pending.append((image, jpeg))
        self.rows += len(image)
        self.bytes += len(jpeg) if jpeg is not None else 0
        if self.rows >= _BLOCK_ROWS or self.bytes >= _BLOCK_BYTES:
            return self.flush()
        return None

    def flush(self) -> pa.Table | None:
        if not self.pending:
            return None
        images = [i for i, _ in self.pending]
        table = arrow.to_table(images, threads=self.threads)
        if self.with_images:
            lengths = np.array([len(i) for i in images], np.int64)
            indices = pa.array(np.repeat(np.arange(len(images), dtype=np.int32), lengths))
            jpegs = pa.array([j for _, j in self.pending], pa.binary())
            table = table.append_column("image", pa.DictionaryArray.from_arrays(indices, jpegs))
        self.pending, self.rows, self.bytes = [], 0, 0
        self.yielded = True
        return table


def _load(src: Source) -> tuple[Sa1bImage | None, str]:
    """An annotation file read and validated, or what is wrong with it."""
    try:
        with src.open() as f:
            data = f.read()
    except OSError as e:
        return None, f"cannot read: {e}"
    image, problems = sa1b_parse(bytes(data), src.name, True)
    if image is None or problems:
        report = sa1b.Report([sa1b.Problem(*p) for p in problems])
        more = f" (and {len(report) - 1} more)" if len(report) > 1 else ""
        return None, f"{report[0]}{more}"
    return image, ""


def _sibling_image(src: Source) -> tuple[bytes | None, str]:
    """The JPEG next to an annotation file (``sa_N.json`` -> ``sa_N.jpg``, as SA-1B's
    extracted shards lay them out), or why there is none."""
    stem = os.path.splitext(src.path)[0]
    tried = []
    for ext in IMAGE_SUFFIXES:
        path = stem + ext
        tried.append(path)
        try:
            if src.fs is None:
                with open(path, "rb") as f:
                    return f.read(), ""
            with src.fs.open_input_stream(path) as f:
                return bytes(f.read()), ""
        except FileNotFoundError:
            continue
        except OSError as e:
            if "not found" in str(e).lower() or "no such file" in str(e).lower():
                continue
            return None, f"cannot read its image {path}: {e}"
    return None, f"image not found (looked for {os.path.basename(tried[0])} beside it)"


def _read_group(
    group: list[Source], images: bool, on_error: str, threads: int, errors_only: bool
) -> Iterator[pa.Table]:
    """The read task of a group of sources: mask blocks, or (``errors_only``) one block
    of the bad members."""
    rows = _Rows(images, threads)
    bad: list[tuple[str, str, str]] = []

    def report(source: str, member: str, message: str) -> None:
        if on_error == "raise":
            if member:
                raise sa1b.Sa1bShardError(source, member, message)
            raise ValueError(f"{source}: {message}")
        bad.append((source, member, message))
        if not errors_only:
            where = f"{source}: {member}" if member else source
            log.warning("sa1b_rle.ray.read_sa1b skipped %s: %s", where, message)

    for src in group:
        if src.shard:
            try:
                f = src.open()
            except OSError as e:
                report(src.name, "", f"cannot open: {e}")
                continue
            try:
                reader = sa1b.iter_shard(f, images=images and not errors_only, on_error="collect")
                for _, jpeg, image in reader:
                    if errors_only:
                        continue
                    block = rows.add(image, jpeg)
                    if block is not None:
                        yield block
                for member, message in reader.errors:
                    report(src.name, member, message)
            finally:
                f.close()
        else:
            loaded, message = _load(src)
            jpeg = None
            if loaded is not None and images:
                jpeg, message = _sibling_image(src)
                if jpeg is None:
                    loaded = None
            if loaded is None:
                report(src.name, "", message)
            elif not errors_only:
                block = rows.add(loaded, jpeg)
                if block is not None:
                    yield block
    # Every task yields at least one block, so that even an empty one has the schema.
    if errors_only:
        yield pa.Table.from_pylist(
            [dict(zip(ERROR_SCHEMA.names, b, strict=True)) for b in bad], schema=ERROR_SCHEMA
        )
        return
    block = rows.flush()
    if block is not None:
        yield block
    elif not rows.yielded:
        yield _schema(images).empty_table()


def _block_metadata(group: list[Source]) -> Any:
    kwargs: dict[str, Any] = {
        "num_rows": None,
        "size_bytes": None,
        "input_files": [s.name for s in group],
        "exec_stats": None,
    }
    try:
        return BlockMetadata(**kwargs)
    except TypeError:  # Ray versions whose metadata still carries the schema
        return BlockMetadata(schema=None, **kwargs)


_READ_TASK_TAKES_LIMIT = "per_task_row_limit" in inspect.signature(ReadTask.__init__).parameters


class _Sa1bDatasource(Datasource):  # type: ignore[misc]
    def __init__(
        self,
        groups: list[list[Source]],
        images: bool,
        on_error: str,
        threads: int,
        errors_only: bool,
    ) -> None:
        super().__init__()
        self.groups, self.images, self.on_error = groups, images, on_error
        self.threads, self.errors_only = threads, errors_only

    def get_name(self) -> str:
        return "Sa1bErrors" if self.errors_only else "Sa1b"

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, **_: Any
    ) -> list[Any]:
        tasks = []
        for group in self.groups:
            args = (group, self.images, self.on_error, self.threads, self.errors_only)

            def read(args: tuple[Any, ...] = args) -> Iterator[pa.Table]:
                return _read_group(*args)

            extra = {"per_task_row_limit": per_task_row_limit} if _READ_TASK_TAKES_LIMIT else {}
            tasks.append(ReadTask(read, _block_metadata(group), **extra))
        return tasks


def read_sa1b(
    paths: Paths,
    *,
    images: bool = False,
    parallelism: int | None = None,
    on_error: str = "collect",
    threads: int = 1,
    filesystem: Any = None,
    concurrency: int | None = None,
    ray_remote_args: dict[str, Any] | None = None,
) -> ray.data.Dataset:
    """A Ray dataset of SA-1B masks, one row per mask (:data:`sa1b_rle.arrow.SCHEMA`).

    ``paths``: shards (tar, gzip-compressed or not), SA-1B JSON files, or directories
    holding them (``*.tar``, ``*.tar.gz``, ``*.tgz``, ``*.json``; not recursive), local
    or as URIs of any filesystem pyarrow supports (``s3://bucket/sa1b/``, ``gs://...``;
    or pass a ``pyarrow.fs`` ``filesystem``). On a cluster, local paths must be visible
    to every node.

    Each shard is read by one task with :func:`sa1b_rle.sa1b.iter_shard`, every
    annotation file validated; JSON files are read in groups of 1000 per task. With
    ``parallelism``, the sources are split into that many tasks instead (whole shards,
    in order). ``images=True`` adds a column ``image`` with each mask's JPEG bytes,
    dictionary-encoded (each image stored once per block; use
    ``batch_format="pyarrow"`` to keep it so); for a JSON file the image is the
    ``.jpg`` beside it, and a file without one is reported as bad.

    Bad members (invalid annotation files, unpaired or truncated members, unreadable
    shards): with ``on_error="collect"`` (the default) they are skipped, each logged as
    a warning by the task (Ray shows it on the driver), and :func:`read_sa1b_errors`
    lists them as rows; ``"raise"`` fails the read at the first, naming it.

    ``threads`` is sa1b_rle's thread count per task (1: Ray's tasks are the
    parallelism); ``concurrency`` caps the tasks running at once;
    ``ray_remote_args`` go to the read tasks (``{"num_cpus": 2}``, ...).
    """
    check_on_error(on_error)
    groups = _groups(_resolve(paths, filesystem), parallelism)
    return _read(groups, images, on_error, threads, False, concurrency, ray_remote_args)


def read_sa1b_errors(
    paths: Paths,
    *,
    images: bool = False,
    parallelism: int | None = None,
    filesystem: Any = None,
) -> ray.data.Dataset:
    """The shard members and files :func:`read_sa1b` skips, one row each
    (:data:`ERROR_SCHEMA`: source, member, message), read the same way (one task per
    shard; image payloads are skipped, annotation files parsed and validated). Give the
    ``images=`` given to :func:`read_sa1b`: with it, JSON files without their JPEG are
    listed too."""
    groups = _groups(_resolve(paths, filesystem), parallelism)
    return _read(groups, images, "collect", 1, True, None, None)


def _read(
    groups: list[list[Source]],
    images: bool,
    on_error: str,
    threads: int,
    errors_only: bool,
    concurrency: int | None,
    ray_remote_args: dict[str, Any] | None,
) -> ray.data.Dataset:
    if not groups:
        schema = ERROR_SCHEMA if errors_only else _schema(images)
        return ray.data.from_arrow(schema.empty_table())
    source = _Sa1bDatasource(groups, images, on_error, threads, errors_only)
    kwargs: dict[str, Any] = {"override_num_blocks": len(groups)}
    if concurrency is not None:
        kwargs["concurrency"] = concurrency
    if ray_remote_args:
        # Named where read_datasource has the parameter (newer Ray deprecates the dict).
        named = inspect.signature(ray.data.read_datasource).parameters
        rest = {k: v for k, v in ray_remote_args.items() if k not in named}
        kwargs.update({k: v for k, v in ray_remote_args.items() if k in named})
        if rest:
            kwargs["ray_remote_args"] = rest
    return ray.data.read_datasource(source, **kwargs)


def _schema(images: bool) -> pa.Schema:
    if images:
        return arrow.SCHEMA.append(pa.field("image", pa.dictionary(pa.int32(), pa.binary())))
    return arrow.SCHEMA


# ---------------------------------------------------------------------------- batches

Batch = Any  # pa.Table | dict[str, np.ndarray]


def _column(batch: Batch, name: str) -> np.ndarray:
    if isinstance(batch, pa.Table):
        return np.asarray(batch.column(name).to_numpy())
    if isinstance(batch, dict):
        return np.asarray(batch[name])
    raise TypeError(
        f"expected a pyarrow.Table or a dict of numpy arrays (batch_format='pyarrow' or "
        f"'numpy'), not {type(batch).__name__}"
    )


def _take(batch: Batch, keep: np.ndarray) -> Batch:
    if isinstance(batch, pa.Table):
        return batch.filter(pa.array(keep))
    return {k: np.asarray(v)[keep] for k, v in batch.items()}


def _nrows(batch: Batch) -> int:
    if isinstance(batch, pa.Table):
        return int(batch.num_rows)
    return len(next(iter(batch.values()))) if batch else 0


def _keep(batch: Batch, **thresholds: Any) -> Batch:
    """The rows passing ``thresholds`` by :meth:`Sa1bImage.filter`'s rule (one rule,
    in Rust: inclusive bounds, NaN passes no score threshold)."""
    given = {k: v for k, v in thresholds.items() if v is not None}
    if not given:
        return batch
    scores = {"min_predicted_iou": "predicted_iou", "min_stability_score": "stability_score"}
    columns: dict[str, Any] = {"predicted_iou": None, "stability_score": None, "area": None}
    for arg, name in scores.items():
        if arg in given:
            columns[name] = np.asarray(_column(batch, name), dtype=np.float64)
    if "min_area" in given or "max_area" in given:
        area = np.asarray(_column(batch, "area"))
        if area.dtype.kind not in "iu":
            raise TypeError(f"the area column must hold integers, not {area.dtype}")
        columns["area"] = area.astype(np.int64)
    keep = filter_keep(
        columns["predicted_iou"], columns["stability_score"], columns["area"], **given
    )
    return _take(batch, keep)


def filter_quality(
    batch: Batch,
    *,
    min_predicted_iou: float | None = None,
    min_stability_score: float | None = None,
) -> Batch:
    """The rows whose ``predicted_iou`` and ``stability_score`` reach the thresholds
    (inclusive; NaN passes no threshold), as :meth:`Sa1bImage.filter`. Same batch type
    out as in."""
    return _keep(
        batch, min_predicted_iou=min_predicted_iou, min_stability_score=min_stability_score
    )


def filter_area(batch: Batch, *, min_area: int | None = None, max_area: int | None = None) -> Batch:
    """The rows with ``min_area <= area <= max_area`` (either bound optional), as
    :meth:`Sa1bImage.filter`. Same batch type out as in."""
    return _keep(batch, min_area=min_area, max_area=max_area)


def _counts(batch: Batch) -> Any:
    """The counts column as one Arrow array (``take`` on a chunked array would
    concatenate its chunks on every call)."""
    if isinstance(batch, pa.Table):
        return batch.column("counts").combine_chunks()
    col = batch["counts"] if isinstance(batch, dict) else None
    if col is None:
        raise TypeError(f"expected a batch with a counts column, not {type(batch).__name__}")
    return pa.array(list(col), pa.binary())


def _as_numpy(batch: Batch) -> dict[str, Any]:
    if isinstance(batch, pa.Table):
        return {
            name: batch.column(name).to_numpy(zero_copy_only=False) for name in batch.column_names
        }
    return dict(batch)


def _size_groups(batch: Batch) -> dict[tuple[int, int], np.ndarray]:
    """Row indices per image size."""
    h, w = _column(batch, "height"), _column(batch, "width")
    sizes: dict[tuple[int, int], np.ndarray] = {}
    if len(h) == 0:
        return sizes
    hw = np.stack([h, w], 1)
    uniq, inverse = np.unique(hw, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, (hh, ww) in enumerate(uniq):
        sizes[(int(hh), int(ww))] = np.flatnonzero(inverse == k)
    return sizes


def decode_masks(batch: Batch, *, threads: int = 1, column: str = "mask") -> dict[str, Any]:
    """The batch (as a dict of numpy arrays) with a column of decoded masks: uint8
    ``(H, W)`` arrays, 1 = foreground, as :meth:`RleBatch.decode`. When every row has the
    same size the column is one ``(n, H, W)`` array (a Ray tensor column), otherwise an
    object array of ``(H, W)`` arrays (a variable-shaped tensor column).

    Decoded masks are large (3.4 MB for 1500x2250): filter first, and give
    ``map_batches`` a small ``batch_size``."""
    out = _as_numpy(batch)
    n = _nrows(batch)
    counts = _counts(batch)
    groups = _size_groups(batch)
    if len(groups) == 1:
        (h, w), _ = next(iter(groups.items()))
        out[column] = RleBatch.from_arrow(counts, h, w, threads=threads).decode(threads=threads)
        return out
    masks = np.empty(n, object)
    for (h, w), rows in groups.items():
        part = RleBatch.from_arrow(counts.take(pa.array(rows)), h, w, threads=threads)
        decoded = part.decode(threads=threads)
        for j, r in enumerate(rows):
            masks[r] = decoded[j]
    out[column] = masks
    return out


#: Columns of :func:`image_stats` and :func:`per_image_stats`.
STATS_COLUMNS = (
    "image_id",
    "height",
    "width",
    "masks",
    "area_sum",
    "area_min",
    "area_max",
    "predicted_iou_mean",
    "stability_score_mean",
    "coverage",
)


def _groups_by_image(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(order, unique ids, group starts in order, group sizes)``."""
    order = np.argsort(ids, kind="stable")
    uniq, starts, sizes = np.unique(ids[order], return_index=True, return_counts=True)
    return order, uniq, starts, sizes


def _union_counts(rles: RleBatch) -> bytes:
    merged = rles.merge()
    _, data = counts_buffers(merged, 1)
    return data.tobytes()


def _partial_stats(batch: Batch, *, threads: int = 1) -> dict[str, Any]:
    """Mergeable statistics of each image's rows in the batch: sums, extremes and the
    union of its masks (a counts string)."""
    ids = _column(batch, "image_id").astype(np.int64)
    order, uniq, starts, sizes = _groups_by_image(ids)
    heights = _column(batch, "height").astype(np.int64)[order]
    widths = _column(batch, "width").astype(np.int64)[order]
    area = _column(batch, "area").astype(np.int64)[order]
    piou = _column(batch, "predicted_iou").astype(np.float64)[order]
    stab = _column(batch, "stability_score").astype(np.float64)[order]
    counts_col = _counts(batch)
    if not np.array_equal(order, np.arange(len(order))):
        counts_col = counts_col.take(pa.array(order))
    unions = []
    for j, (a, n) in enumerate(zip(starts, sizes, strict=True)):
        h, w = int(heights[a]), int(widths[a])
        if np.any(heights[a : a + n] != h) or np.any(widths[a : a + n] != w):
            raise ValueError(f"image {int(uniq[j])}: its rows disagree on the image size")
        masks = RleBatch.from_arrow(counts_col.slice(a, n), h, w, threads=threads)
        unions.append(_union_counts(masks))

    def reduce(f: Any, v: np.ndarray) -> np.ndarray:
        return np.asarray(f.reduceat(v, starts)) if len(uniq) else np.zeros(0, v.dtype)

    return {
        "image_id": uniq,
        "height": heights[starts],
        "width": widths[starts],
        "masks": sizes.astype(np.int64),
        "area_sum": reduce(np.add, area),
        "area_min": reduce(np.minimum, area),
        "area_max": reduce(np.maximum, area),
        "predicted_iou_sum": reduce(np.add, piou),
        "stability_score_sum": reduce(np.add, stab),
        "union": np.array(unions, object),
    }


def _finish(p: dict[str, Any]) -> dict[str, np.ndarray]:
    masks = np.maximum(p["masks"], 1)
    pixels = p["height"] * p["width"]
    covered = np.array(
        [
            RleBatch.from_strings([u], int(h), int(w)).area()[0] if h * w else 0
            for u, h, w in zip(p["union"], p["height"], p["width"], strict=True)
        ],
        np.int64,
    )
    return {
        "image_id": p["image_id"],
        "height": p["height"],
        "width": p["width"],
        "masks": p["masks"],
        "area_sum": p["area_sum"],
        "area_min": p["area_min"],
        "area_max": p["area_max"],
        "predicted_iou_mean": p["predicted_iou_sum"] / masks,
        "stability_score_mean": p["stability_score_sum"] / masks,
        "coverage": covered / np.maximum(pixels, 1),
    }


def _combine_stats(batch: Batch) -> dict[str, np.ndarray]:
    """Partial statistics of the same images (from different batches) merged."""
    ids = _column(batch, "image_id").astype(np.int64)
    order, uniq, starts, sizes = _groups_by_image(ids)
    col = {k: _column(batch, k)[order] for k in ("height", "width", "union")}
    unions = []
    for a, n in zip(starts, sizes, strict=True):
        h, w = int(col["height"][a]), int(col["width"][a])
        parts = [bytes(u) for u in col["union"][a : a + n]]
        unions.append(parts[0] if n == 1 else _union_counts(RleBatch.from_strings(parts, h, w)))

    def reduce(name: str, f: Any) -> np.ndarray:
        v = _column(batch, name)[order]
        return np.asarray(f.reduceat(v, starts)) if len(uniq) else v[:0]

    return _finish(
        {
            "image_id": uniq,
            "height": col["height"][starts],
            "width": col["width"][starts],
            "masks": reduce("masks", np.add),
            "area_sum": reduce("area_sum", np.add),
            "area_min": reduce("area_min", np.minimum),
            "area_max": reduce("area_max", np.maximum),
            "predicted_iou_sum": reduce("predicted_iou_sum", np.add),
            "stability_score_sum": reduce("stability_score_sum", np.add),
            "union": np.array(unions, object),
        }
    )


def image_stats(batch: Batch, *, threads: int = 1) -> dict[str, np.ndarray]:
    """Statistics per image of the rows in the batch, one row per ``image_id`` (in
    increasing order; :data:`STATS_COLUMNS`): ``height``, ``width``, ``masks``,
    ``area_sum``, ``area_min``, ``area_max``, ``predicted_iou_mean``,
    ``stability_score_mean`` and ``coverage`` (the fraction of the image's pixels inside
    at least one of its masks).

    Exact for the images whose rows are all in the batch. ``map_batches`` may split an
    image's rows between batches: for a dataset use :func:`per_image_stats`."""
    return _finish(_partial_stats(batch, threads=threads))


def per_image_stats(
    ds: ray.data.Dataset, *, threads: int = 1, num_partitions: int | None = None
) -> ray.data.Dataset:
    """:func:`image_stats` of every image of a mask dataset, one row per image, exact
    however the rows are split into blocks: each batch's images are summarised
    (sums, extremes, the union of their masks as RLE), then the summaries are
    hash-partitioned by ``image_id`` (a shuffle of one small row per image and batch,
    not of the masks; ``num_partitions`` blocks, by default the cluster's CPU count)
    and each partition's images are merged.

    (``ds.groupby("image_id").map_groups(image_stats)`` gives the same rows but calls
    Python once per image and shuffles the masks: several times slower.)"""
    if num_partitions is None:
        if not ray.is_initialized():
            ray.init()  # as Ray Data itself does on first use
        num_partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
    partial = ds.map_batches(
        _partial_stats, fn_kwargs={"threads": threads}, batch_format="pyarrow", batch_size=None
    )
    # Hash partitioning puts every summary of an image in one block, and batch_size=None
    # hands each block whole to the merge.
    return partial.repartition(num_partitions, keys=["image_id"]).map_batches(
        _combine_stats, batch_format="numpy", batch_size=None
    )
