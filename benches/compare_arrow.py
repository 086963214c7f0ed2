"""SA-1B shards to Arrow, Parquet and a local Ray Data pipeline: throughput and sizes.

    python benches/compare_arrow.py [--shards 4] [--per-shard 100] [--repeat 5]
                                    [--markdown FILE] [--no-ray]

The shards hold SA-1B-like annotation files (compare_sa1b.py's: ~90 masks of 1500x2250
made from real photographs, in SA-1B's exact format) with 200 kB image payloads that are
never decoded. Figures:

* shard -> Arrow table on one core: ``iter_shard(images=False)`` (every file validated)
  + ``arrow.to_table``, against what a user writes today: ``tarfile`` + ``json.loads`` +
  flattening each annotation into a dict + ``pyarrow.Table.from_pylist`` (no checks);
* the local Ray Data pipeline ``read_sa1b -> filter_quality`` (and ``-> per_image_stats``)
  with ``ray.init(num_cpus=1)`` and ``num_cpus=2``, from dataset creation to the last
  block (Ray's start-up excluded, workers warm);
* Parquet size per million masks (``sa1b.to_parquet``, pyarrow's defaults: snappy)
  against the JSON it came from, for these files and for the package's sample shard.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from compare import emit
from compare_sa1b import sa1b_doc

import sa1b_rle
from sa1b_rle import arrow, cli, sa1b


def docs_for(count: int, distinct: list[dict[str, Any]]) -> list[bytes]:
    """``count`` annotation files: the distinct documents under new image and mask ids."""
    out = []
    for k in range(count):
        d = json.loads(json.dumps(distinct[k % len(distinct)]))
        image_id = 10_000 + k
        d["image"]["image_id"] = image_id
        d["image"]["file_name"] = f"sa_{image_id}.jpg"
        for i, a in enumerate(d["annotations"]):
            a["id"] = image_id * 1000 + i
        out.append(json.dumps(d).encode())
    return out


def write_shards(root: Path, files: list[bytes], shards: int) -> list[Path]:
    payload = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    paths = []
    per = len(files) // shards
    for s in range(shards):
        path = root / f"sa_{s:06d}.tar"
        with tarfile.open(path, "w") as tf:
            for k in range(s * per, (s + 1) * per):
                image_id = 10_000 + k
                for name, blob in (
                    (f"sa_{image_id}.jpg", payload),
                    (f"sa_{image_id}.json", files[k]),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(blob)
                    tf.addfile(info, io.BytesIO(blob))
        paths.append(path)
    return paths


def baseline_table(shard: Path) -> pa.Table:
    """tarfile + json.loads + one dict per annotation + Table.from_pylist."""
    rows = []
    with tarfile.open(shard) as tf:
        for m in tf:
            if not m.name.endswith(".json"):
                continue
            f = tf.extractfile(m)
            assert f is not None
            doc = json.loads(f.read())
            img = doc["image"]
            for a in doc["annotations"]:
                x, y, w, h = a["bbox"]
                px, py = a["point_coords"][0]
                cx, cy, cw, ch = a["crop_box"]
                rows.append(
                    {
                        "image_id": img["image_id"],
                        "id": a["id"],
                        "height": img["height"],
                        "width": img["width"],
                        "counts": a["segmentation"]["counts"].encode(),
                        "bbox_x": x,
                        "bbox_y": y,
                        "bbox_w": w,
                        "bbox_h": h,
                        "area": a["area"],
                        "predicted_iou": a["predicted_iou"],
                        "stability_score": a["stability_score"],
                        "point_x": px,
                        "point_y": py,
                        "crop_x": cx,
                        "crop_y": cy,
                        "crop_w": cw,
                        "crop_h": ch,
                    }
                )
    return pa.Table.from_pylist(rows, schema=arrow.SCHEMA)


def ours_table(shard: Path) -> pa.Table:
    images = [img for _, _, img in sa1b.iter_shard(shard, images=False)]
    return arrow.to_table(images, threads=1)


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def ray_rows(paths: list[str], cpus: int, repeat: int) -> list[tuple[str, float, int]]:
    """(pipeline, median seconds, rows in) on a local Ray with ``cpus`` CPUs."""
    import ray

    from sa1b_rle import ray as sray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    out = []
    try:
        pipelines: list[tuple[str, Callable[[], Any]]] = [
            (
                "read_sa1b -> filter_quality",
                lambda: (
                    sray.read_sa1b(paths)
                    .map_batches(
                        sray.filter_quality,
                        fn_kwargs={"min_predicted_iou": 0.88},
                        batch_format="pyarrow",
                        batch_size=None,
                    )
                    .materialize()
                ),
            ),
            (
                "read_sa1b -> per_image_stats",
                lambda: sray.per_image_stats(
                    sray.read_sa1b(paths), num_partitions=cpus
                ).materialize(),
            ),
        ]
        rows_in = sray.read_sa1b(paths).count()  # also warms the workers
        for name, fn in pipelines:
            fn()  # warm
            t, _ = median_time(fn, repeat)
            out.append((name, t, rows_in))
    finally:
        ray.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--per-shard", type=int, default=100)
    ap.add_argument("--distinct", type=int, default=8, help="distinct annotation files")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    sa1b_rle.set_num_threads(1)

    distinct = [sa1b_doc(i) for i in range(args.distinct)]
    files = docs_for(args.shards * args.per_shard, distinct)
    json_bytes = sum(map(len, files))
    n_rows = sum(len(json.loads(f)["annotations"]) for f in files[: len(distinct)])
    n_rows = n_rows * (len(files) // len(distinct)) + sum(
        len(json.loads(f)["annotations"]) for f in files[: len(files) % len(distinct)]
    )
    lines = [
        f"sa1b_rle {sa1b_rle.__version__}; pyarrow {pa.__version__}; "
        + (f"ray {version('ray')}; " if not args.no_ray else "")
        + f"Python {platform.python_version()}; {os.cpu_count()} vCPUs; {args.shards} shards "
        f"of {args.per_shard} SA-1B-like files ({n_rows} masks of 1500x2250, "
        f"{json_bytes / 1e6:.0f} MB of JSON); median of {args.repeat}",
        "",
        "| what | baseline | sa1b_rle | ratio |",
        "|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shard_dir = root / "shards"
        shard_dir.mkdir()
        shards = write_shards(shard_dir, files, args.shards)

        # One core, one shard at a time.
        shard = shards[0]
        per_shard_rows = ours_table(shard).num_rows
        assert baseline_table(shard).equals(ours_table(shard))
        tb, to = [], []
        for _ in range(args.repeat):
            tb.append(median_time(lambda: baseline_table(shard), 1)[0])
            to.append(median_time(lambda: ours_table(shard), 1)[0])
        b, o = statistics.median(tb), statistics.median(to)
        lines.append(
            f"| shard -> Arrow table, one core (rows/s; baseline json + from_pylist, no "
            f"checks; ours validated) | {per_shard_rows / b:,.0f} | {per_shard_rows / o:,.0f} "
            f"| {b / o:.1f}x |"
        )
        print(lines[-1], flush=True)

        # Parquet sizes.
        out = root / "parquet"
        summary = sa1b.to_parquet(shard_dir, out)
        pq_bytes = sum(Path(f).stat().st_size for f in summary.files)
        lines.append(
            f"| Parquet size per million masks (SA-1B-like files) | JSON "
            f"{json_bytes / n_rows / 1e3:.2f} GB | {pq_bytes / n_rows / 1e3:.2f} GB | "
            f"{json_bytes / pq_bytes:.2f}x smaller |"
        )
        print(lines[-1], flush=True)
        sample_json = 0
        with tarfile.open(cli.sample_path()) as tf:
            for m in tf:
                if m.name.endswith(".json"):
                    sample_json += m.size
        s_summary = sa1b.to_parquet(cli.sample_path(), root / "sample_parquet")
        s_bytes = sum(Path(f).stat().st_size for f in s_summary.files)
        lines.append(
            f"| Parquet size per million masks (sample shard: real photos, "
            f"{s_summary.rows} masks) | JSON {sample_json / s_summary.rows / 1e3:.2f} GB | "
            f"{s_bytes / s_summary.rows / 1e3:.2f} GB | {sample_json / s_bytes:.2f}x smaller |"
        )
        print(lines[-1], flush=True)

        if not args.no_ray:
            results: dict[str, dict[int, float]] = {}
            rows_in = {}
            for cpus in (1, 2):
                for name, t, n in ray_rows([str(shard_dir)], cpus, args.repeat):
                    results.setdefault(name, {})[cpus] = t
                    rows_in[name] = n
            for name, by in results.items():
                r1, r2 = rows_in[name] / by[1], rows_in[name] / by[2]
                lines.append(
                    f"| Ray Data `{name}` (rows/s; baseline 1 CPU, ours 2 CPUs) | "
                    f"{r1:,.0f} | {r2:,.0f} | {r2 / r1:.2f}x |"
                )
                print(lines[-1], flush=True)
    emit(lines, args.markdown)


if __name__ == "__main__":
    main()
