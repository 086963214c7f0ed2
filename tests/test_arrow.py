"""sa1b_rle.arrow: SA-1B annotations as Arrow tables, and RLE batches from Arrow columns."""

from __future__ import annotations

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install pyarrow)")

import sa1b_rle  # noqa: E402
from sa1b_rle import RleBatch, arrow, cli, sa1b  # noqa: E402

IMAGES = [img for _, _, img in sa1b.iter_shard(cli.sample_path(), images=False)]


def test_table_rows_are_the_images_columns() -> None:
    table = arrow.to_table(IMAGES)
    assert table.schema == arrow.SCHEMA
    assert table.num_rows == sum(len(i) for i in IMAGES)
    start = 0
    for img in IMAGES:
        part = table.slice(start, len(img))
        start += len(img)
        assert part["image_id"].to_pylist() == [img.image_id] * len(img)
        assert part["id"].to_pylist() == img.ids.tolist()
        assert part["area"].to_pylist() == img.area.tolist()
        assert np.array_equal(np.c_[[part[f"bbox_{k}"].to_numpy() for k in "xywh"]].T, img.bbox)
        assert np.array_equal(part["point_x"].to_numpy(), img.point_coords[:, 0])
        assert np.array_equal(part["crop_h"].to_numpy(), img.crop_box[:, 3])
        assert np.array_equal(part["stability_score"].to_numpy(), img.stability_score)
        assert [c.decode() for c in part["counts"].to_pylist()] == [
            d["counts"] for d in img.masks.to_coco()
        ]
        assert RleBatch.from_arrow(part["counts"], img.height, img.width) == img.masks
    assert arrow.to_table([]).num_rows == 0


def test_counts_split_into_chunks_past_the_binary_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # binary has int32 offsets: past 2 GiB of strings the column takes more chunks (the
    # limit lowered here to a few strings' worth).
    whole = arrow.to_table(IMAGES)
    assert whole["counts"].num_chunks == 1 and whole["counts"].type == pa.binary()
    monkeypatch.setattr(arrow, "_BINARY_LIMIT", 20_000)
    table = arrow.to_table(IMAGES)
    assert table["counts"].num_chunks > 10
    assert all(c.nbytes <= 20_000 + 4 * (len(c) + 1) for c in table["counts"].chunks)
    assert table.equals(whole)
    img = IMAGES[0]
    assert RleBatch.from_arrow(table["counts"][: len(img)], img.height, img.width) == img.masks
    monkeypatch.setattr(arrow, "_BINARY_LIMIT", 10)
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        arrow.to_table(IMAGES)


def test_from_arrow_types_chunks_and_slices() -> None:
    img = IMAGES[1]
    strings = [d["counts"] for d in img.masks.to_coco()]
    for typ in (pa.binary(), pa.large_binary(), pa.string(), pa.large_string()):
        values = (
            strings if typ in (pa.string(), pa.large_string()) else [s.encode() for s in strings]
        )
        arr = pa.array(values, type=typ)
        assert RleBatch.from_arrow(arr, img.height, img.width, threads=2) == img.masks
        chunked = pa.chunked_array([arr.slice(0, 7), arr.slice(7, 0), arr.slice(7)])
        assert RleBatch.from_arrow(chunked, img.height, img.width) == img.masks
        assert RleBatch.from_arrow(arr.slice(5, 9), img.height, img.width) == img.masks[5:14]
    empty = RleBatch.from_arrow(pa.array([], pa.binary()), 3, 4)
    assert empty.shape == (0, 3, 4)


def test_from_arrow_errors() -> None:
    img = IMAGES[1]
    good = [d["counts"] for d in img.masks.to_coco()]
    with pytest.raises(ValueError, match="counts 2 is null"):
        RleBatch.from_arrow(pa.array([good[0], good[1], None]), img.height, img.width)
    with pytest.raises(ValueError, match="annotation 1"):
        RleBatch.from_arrow(pa.array([good[0], "!!"]), img.height, img.width)
    with pytest.raises(ValueError, match="annotation 0"):
        RleBatch.from_arrow(pa.array([good[0]]), img.height + 1, img.width)
    with pytest.raises(TypeError, match="binary or string"):
        RleBatch.from_arrow(pa.array([1, 2]), 2, 2)
    with pytest.raises(TypeError, match="pyarrow Array"):
        RleBatch.from_arrow(good, img.height, img.width)
    # Sizes are integers, as for from_strings: a float is not truncated, a string not read.
    for h, w in ((2.9, 3), ("2", 3), (2, 3.0)):
        with pytest.raises(TypeError, match="must be an integer"):
            RleBatch.from_arrow(pa.array([good[0]]), h, w)
    with pytest.raises(ValueError, match=r"^h must be in"):
        RleBatch.from_arrow(pa.array([good[0]]), -1, 3)
    assert (
        RleBatch.from_arrow(pa.array([good[0]]), np.int64(img.height), img.width) == img.masks[:1]
    )


def test_strings_and_pickles_report_bad_values_as_values() -> None:
    """A lone surrogate is an RleError as from_coco gives; a negative pickled size a
    ValueError naming it."""
    with pytest.raises(sa1b_rle.RleError, match="annotation 0: counts is not valid text"):
        RleBatch.from_strings(["\ud800"], 2, 2)
    for h, w in ((-1, 2), (2, -1)):
        with pytest.raises(ValueError, match="h" if h < 0 else "w"):
            RleBatch._from_pickle(h, w, b"\0" * 8, b"")


def test_module_examples() -> None:
    import doctest

    result = doctest.testmod(arrow)
    assert result.attempted > 0 and result.failed == 0


def test_to_parquet_streams_and_reports(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import json
    import tarfile
    from pathlib import Path

    import pyarrow.parquet as pq

    from sa1b_rle import cli as cli_mod

    out = Path(str(tmp_path)) / "dataset"
    seen: list[sa1b.Sa1bImage] = []
    summary = sa1b.to_parquet(cli.sample_path(), out, rows_per_file=100, progress=seen.append)
    assert [i.image_id for i in seen] == [i.image_id for i in IMAGES]
    sizes = [len(i) for i in IMAGES]
    assert summary.rows == sum(sizes) and summary.images == 3 and summary.errors == []
    # Files split between images once 100 rows are reached: 144 | 59 + 96.
    assert [pq.read_metadata(f).num_rows for f in summary.files] == [144, 155]
    back = pq.read_table(out)
    assert back.equals(arrow.to_table(IMAGES))

    # A shard with a bad member: the good samples are written, the bad one reported.
    shard = Path(str(tmp_path)) / "bad.tar"
    with tarfile.open(shard, "w") as tf:
        for name, data in (
            ("sa_1.json", json.dumps(IMAGES[0].to_dict()).encode()),
            ("sa_1.jpg", b"\xff\xd8"),
            ("sa_2.json", b"{oops"),
            ("sa_2.jpg", b"\xff\xd8"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out2 = Path(str(tmp_path)) / "d2"
    summary = sa1b.to_parquet(shard, out2)
    assert summary.rows == sizes[0] and len(summary.errors) == 2
    assert pq.read_table(out2).equals(arrow.to_table(IMAGES[:1]))
    with pytest.raises(FileExistsError, match="overwrite"):
        sa1b.to_parquet(shard, out2)
    with pytest.raises(sa1b.Sa1bShardError):
        sa1b.to_parquet(shard, out2, on_error="raise", overwrite=True)
    text = io.StringIO()
    argv = ["to-parquet", str(shard), "-o", str(out2), "--overwrite"]
    assert cli_mod.main(argv, out=text) == 1
    assert f"skipped {shard}:sa_2.json: invalid annotation file" in capsys.readouterr().err
    assert text.getvalue().endswith(f"{sizes[0]} rows from 1 image, 2 skipped\n")
    assert cli_mod.main(["to-parquet", "-o", str(out2)], out=io.StringIO()) == 1
    assert cli_mod.main(["to-parquet", "-o", str(out2), "--overwrite"], out=io.StringIO()) == 0
    assert pq.read_table(out2).equals(arrow.to_table(IMAGES))
