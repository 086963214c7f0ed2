"""sa1b_rle.ray: SA-1B shards on Ray Data, checked against a single-process run.

Ray runs locally (``ray.init(num_cpus=2)``) on shards made from the real masks of
test_sa1b (COCO val2014 fake segmentation results in SA-1B's format): the rows,
statistics and decoded masks must equal what sa1b_rle gives in this process.
"""

from __future__ import annotations

import doctest
import json
import logging
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install pyarrow)")
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'sa1b_rle[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'ray[data]')")

from test_sa1b import DOCS, dump, fake_jpeg, make_shard, shard_members  # noqa: E402

from sa1b_rle import RleBatch, arrow, cli, sa1b  # noqa: E402
from sa1b_rle import ray as sray  # noqa: E402

KEYS = ["image_id", "id"]
ERR_COLS = ["source", "member", "message"]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    yield
    ray.shutdown()


def bad_doc() -> dict[str, Any]:
    d = json.loads(json.dumps(DOCS[0]))
    d["image"]["image_id"] = 999_001
    d["annotations"][0]["area"] += 1  # the stored area is not the mask's
    return d


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three shards (one gzip-compressed, one with bad members), a directory of JSON
    files, and what a single process reads from them."""
    root = tmp_path_factory.mktemp("sa1b")
    shards = root / "shards"
    shards.mkdir()
    make_shard(shards / "sa_000000.tar", shard_members(DOCS[:30]))
    make_shard(shards / "sa_000001.tar.gz", shard_members(DOCS[30:60], json_first=True), gz=True)
    members = shard_members(DOCS[60:80]) + shard_members([bad_doc()])
    members.append(("sa_999002.jpg", fake_jpeg("sa_999002")))  # no annotation file
    make_shard(shards / "sa_000002.tar", members)
    files = root / "files"
    files.mkdir()
    for d in DOCS[80:]:
        (files / f"sa_{d['image']['image_id']}.json").write_bytes(dump(d))
    (files / "sa_999003.json").write_bytes(b'{"image": {"image_id": 1}')  # truncated JSON
    errors: list[tuple[str, str]] = []
    images = [
        img for _, img in sa1b.iter_images([shards, files], on_error="collect", errors=errors)
    ]
    return {
        "paths": [str(shards), str(files)],
        "shards": shards,
        "images": images,
        "table": arrow.to_table(images).sort_by([(k, "ascending") for k in KEYS]),
        "errors": errors,
    }


def rows(ds: Any) -> pa.Table:
    """The dataset's rows in (image_id, id) order."""
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    return table.sort_by([(k, "ascending") for k in KEYS])


def test_rows_equal_a_single_process(corpus: dict[str, Any]) -> None:
    want = corpus["table"]
    assert want.num_rows == sum(len(d["annotations"]) for d in DOCS)
    ds = sray.read_sa1b(corpus["paths"])
    got = rows(ds)
    assert got.schema == arrow.SCHEMA
    assert got.equals(want)
    # Fewer tasks than shards (whole shards per task), and paths given one by one.
    paths = [*sorted(str(p) for p in corpus["shards"].iterdir()), corpus["paths"][1]]
    assert rows(sray.read_sa1b(paths, parallelism=2)).equals(want)
    # A filesystem URI goes through pyarrow.fs (as s3:// or gs:// would).
    uris = [Path(p).resolve().as_uri() for p in corpus["paths"]]
    assert rows(sray.read_sa1b(uris)).equals(want)


def test_bad_members_are_reported_not_dropped(corpus: dict[str, Any]) -> None:
    errors = sray.read_sa1b_errors(corpus["paths"]).to_arrow_refs()
    table = pa.concat_tables(ray.get(errors))
    assert table.schema == sray.ERROR_SCHEMA
    got = sorted(
        (f"{s}:{m}" if m else s, msg)
        for s, m, msg in zip(*(table[c].to_pylist() for c in table.column_names), strict=True)
    )
    assert got == sorted(corpus["errors"])
    assert len(got) == 4  # bad JSON in a shard, its image, an unpaired image, a broken file
    assert any("annotation 0" in msg and "area" in msg for _, msg in got)
    # The task's own exception reaches the driver (it pickles).
    with pytest.raises(sa1b.Sa1bShardError, match=r"sa_999001\.json"):
        sray.read_sa1b(corpus["paths"][0], on_error="raise").materialize()


def test_unreadable_shards_are_reported(tmp_path: Path) -> None:
    good = make_shard(tmp_path / "a.tar", shard_members(DOCS[:3]))
    data = good.read_bytes()
    (tmp_path / "b.tar").write_bytes(data[: len(data) // 2])  # truncated
    (tmp_path / "c.tar").write_bytes(b"not a tar archive" * 100)
    errors: list[tuple[str, str]] = []
    images = list(sa1b.iter_images(tmp_path, on_error="collect", errors=errors))
    # The truncated shard gives the samples before the cut.
    assert len(images) > 3
    want = arrow.to_table([i for _, i in images]).sort_by([(k, "ascending") for k in KEYS])
    assert rows(sray.read_sa1b(tmp_path)).equals(want)
    errs = pa.concat_tables(ray.get(sray.read_sa1b_errors(tmp_path).to_arrow_refs()))
    got = sorted(zip(*(errs[c].to_pylist() for c in ERR_COLS), strict=True))
    assert got == sorted((*e[0].rsplit(":", 1), e[1]) for e in errors)
    assert {Path(s).name for s, _, _ in got} == {"b.tar", "c.tar"}
    assert ("<start of the archive>", "c.tar") in {(m, Path(s).name) for s, m, _ in got}


def test_empty_directory(tmp_path: Path) -> None:
    ds = sray.read_sa1b(tmp_path)
    assert ds.count() == 0
    assert ds.schema().names == arrow.SCHEMA.names
    with pytest.raises(FileNotFoundError):
        sray.read_sa1b(tmp_path / "missing")
    with pytest.raises(ValueError, match="on_error"):
        sray.read_sa1b(tmp_path, on_error="skip")


@pytest.mark.parametrize("fmt", ["pyarrow", "numpy"])
def test_filters_equal_sa1b_image_filter(corpus: dict[str, Any], fmt: str) -> None:
    ds = sray.read_sa1b(corpus["paths"])
    ds = ds.map_batches(
        sray.filter_quality,
        fn_kwargs={"min_predicted_iou": 0.5, "min_stability_score": 0.3},
        batch_format=fmt,
    ).map_batches(
        sray.filter_area, fn_kwargs={"min_area": 500, "max_area": 40_000}, batch_format=fmt
    )
    kept = [
        img.filter(min_predicted_iou=0.5, min_stability_score=0.3, min_area=500, max_area=40_000)
        for img in corpus["images"]
    ]
    want = arrow.to_table(kept).sort_by([(k, "ascending") for k in KEYS])
    assert 0 < want.num_rows < corpus["table"].num_rows
    assert rows(ds).equals(want)


def test_filters_follow_the_one_rule() -> None:
    """Inclusive bounds, NaN passes no score threshold, as Sa1bImage.filter (one rule,
    in Rust); bad thresholds and columns are named."""
    batch = {
        "predicted_iou": np.array([0.5, np.nan, 0.9]),
        "stability_score": np.array([1.0, 1.0, np.nan]),
        "area": np.array([10, 20, 30]),
    }
    assert sray.filter_quality(batch, min_predicted_iou=0.5)["area"].tolist() == [10, 30]
    assert sray.filter_quality(batch, min_stability_score=0.0)["area"].tolist() == [10, 20]
    assert sray.filter_area(batch, min_area=20, max_area=20)["area"].tolist() == [20]
    assert sray.filter_area(batch) is batch and sray.filter_quality(batch) is batch
    table = pa.table(batch)
    assert sray.filter_area(table, max_area=15).column("area").to_pylist() == [10]
    with pytest.raises(TypeError, match="integers"):
        sray.filter_area({"area": np.array([1.5])}, min_area=1)
    with pytest.raises(ValueError, match="min_area"):
        sray.filter_area(batch, min_area=2**70)
    with pytest.raises(KeyError):
        sray.filter_quality({"area": np.array([1])}, min_predicted_iou=0.1)


def test_decoded_masks_equal_a_single_process(corpus: dict[str, Any]) -> None:
    by_id = {img.image_id: img for img in corpus["images"]}
    ds = sray.read_sa1b(corpus["paths"]).map_batches(
        sray.filter_area, fn_kwargs={"min_area": 20_000}, batch_format="pyarrow"
    )
    decoded = ds.map_batches(sray.decode_masks, batch_size=8, batch_format="pyarrow")
    seen = 0
    for row in decoded.iter_rows():
        img = by_id[row["image_id"]]
        k = int(np.flatnonzero(img.ids == row["id"])[0])
        assert np.array_equal(np.asarray(row["mask"]), img.masks.decode(indices=[k])[0])
        seen += 1
    assert seen == ds.count() > 10


def test_decode_masks_batch_shapes(corpus: dict[str, Any]) -> None:
    table = corpus["table"]
    one_size = table.filter(pa.compute.equal(table["image_id"], table["image_id"][0]))
    out = sray.decode_masks(one_size, column="m")
    img = next(i for i in corpus["images"] if i.image_id == one_size["image_id"][0].as_py())
    order = np.argsort(img.ids)
    assert out["m"].shape == (len(img), img.height, img.width)
    assert np.array_equal(out["m"], img.masks.decode(indices=order))
    mixed = table.slice(0, 40)
    assert len(set(mixed["height"].to_pylist())) > 1
    out = sray.decode_masks(
        {k: mixed[k].to_numpy(zero_copy_only=False) for k in mixed.column_names}
    )
    assert out["mask"].dtype == object
    for r in range(40):
        counts = mixed["counts"][r].as_py()
        h, w = mixed["height"][r].as_py(), mixed["width"][r].as_py()
        assert np.array_equal(out["mask"][r], RleBatch.from_strings([counts], h, w).decode()[0])


def single_process_stats(images: list[sa1b.Sa1bImage]) -> dict[str, np.ndarray]:
    """The statistics computed image by image with the Sa1bImage API."""
    images = sorted(images, key=lambda i: i.image_id)
    return {
        "image_id": np.array([i.image_id for i in images]),
        "masks": np.array([len(i) for i in images]),
        "area_sum": np.array([i.area.sum() for i in images]),
        "area_min": np.array([i.area.min() for i in images]),
        "area_max": np.array([i.area.max() for i in images]),
        "predicted_iou_mean": np.array([i.predicted_iou.mean() for i in images]),
        "stability_score_mean": np.array([i.stability_score.mean() for i in images]),
        "coverage": np.array([i.masks.merge().area()[0] / (i.height * i.width) for i in images]),
    }


def check_stats(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for k, v in want.items():
        if k.endswith("_mean") or k == "coverage":
            np.testing.assert_allclose(got[k], v, rtol=1e-12, err_msg=k)
        else:
            assert np.array_equal(got[k], v), k


def test_image_stats(corpus: dict[str, Any]) -> None:
    want = single_process_stats(corpus["images"])
    table = corpus["table"]
    check_stats(sray.image_stats(table), want)
    as_numpy = {k: table[k].to_numpy(zero_copy_only=False) for k in table.column_names}
    check_stats(sray.image_stats(as_numpy), want)
    # Through Ray, with every image's rows scattered over several small blocks.
    ds = sray.read_sa1b(corpus["paths"]).random_shuffle(seed=3).repartition(13)
    got = pa.concat_tables(
        ray.get(sray.per_image_stats(ds, num_partitions=3).to_arrow_refs())
    ).sort_by("image_id")
    assert got.column_names == list(sray.STATS_COLUMNS)
    check_stats({k: got[k].to_numpy() for k in got.column_names}, want)


def test_images_column_holds_each_rows_jpeg(corpus: dict[str, Any]) -> None:
    ds = sray.read_sa1b(corpus["shards"] / "sa_000001.tar.gz", images=True)
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    assert table.schema.field("image").type == pa.dictionary(pa.int32(), pa.binary())
    assert table.num_rows == sum(len(d["annotations"]) for d in DOCS[30:60])
    for image_id, jpeg in zip(
        table["image_id"].to_pylist(), table["image"].to_pylist(), strict=True
    ):
        assert jpeg == fake_jpeg(f"sa_{image_id}")


def test_module_example() -> None:
    # The docstring's pipeline on the package's sample shard (Ray already running).
    assert doctest.testmod(sray).failed == 0
    images = [img for _, _, img in sa1b.iter_shard(cli.sample_path(), images=False)]
    good = [i.filter(min_predicted_iou=0.9) for i in images]
    want = single_process_stats(good)
    assert want["masks"].tolist() == [62, 24, 33]
    assert np.round(want["coverage"], 3).tolist() == [0.896, 0.623, 0.994]


def test_tar_members_read_in_one_task_per_shard(corpus: dict[str, Any]) -> None:
    # Each shard is one read task (one block per task for these small shards).
    ds = sray.read_sa1b(corpus["shards"]).materialize()
    assert ds.num_blocks() == 3
    with tarfile.open(corpus["shards"] / "sa_000000.tar") as tf:
        assert len(tf.getnames()) == 60


def test_parquet_round_trip_through_ray(corpus: dict[str, Any], tmp_path: Path) -> None:
    # The README's cluster recipe: write the masks as Parquet once, read them back and
    # decode from the Arrow columns.
    out = tmp_path / "parquet"
    sray.read_sa1b(corpus["paths"]).write_parquet(str(out))
    back = ray.data.read_parquet(str(out))
    got = rows(back)
    assert got.equals(corpus["table"])
    img = corpus["images"][5]
    mine = got.filter(pa.compute.equal(got["image_id"], img.image_id))
    masks = RleBatch.from_arrow(mine["counts"], img.height, img.width)
    assert masks == img.masks[np.argsort(img.ids)]


def test_images_of_json_files_are_the_jpegs_beside_them(tmp_path: Path) -> None:
    for d in DOCS[:4]:
        key = f"sa_{d['image']['image_id']}"
        (tmp_path / f"{key}.json").write_bytes(dump(d))
        if d is not DOCS[3]:
            (tmp_path / f"{key}.jpg").write_bytes(fake_jpeg(key))
    table = rows(sray.read_sa1b(tmp_path, images=True))
    assert set(table["image_id"].to_pylist()) == {d["image"]["image_id"] for d in DOCS[:3]}
    for image_id, jpeg in zip(
        table["image_id"].to_pylist(), table["image"].to_pylist(), strict=True
    ):
        assert jpeg == fake_jpeg(f"sa_{image_id}")
    errs = pa.concat_tables(ray.get(sray.read_sa1b_errors(tmp_path, images=True).to_arrow_refs()))
    missing = f"sa_{DOCS[3]['image']['image_id']}"
    assert [Path(s).name for s in errs["source"].to_pylist()] == [f"{missing}.json"]
    assert errs["message"][0].as_py() == f"image not found (looked for {missing}.jpg beside it)"
    # Without images the file is fine.
    assert rows(sray.read_sa1b(tmp_path)).num_rows == sum(len(d["annotations"]) for d in DOCS[:4])
    assert sray.read_sa1b_errors(tmp_path).count() == 0


def test_task_options_pass_through(corpus: dict[str, Any]) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = sray.read_sa1b(
            corpus["paths"][0], concurrency=1, threads=2, ray_remote_args={"num_cpus": 1}
        )
    assert not [w for w in caught if "deprecated" in str(w.message)]
    assert rows(ds).num_rows == sum(len(d["annotations"]) for d in DOCS[:80])
