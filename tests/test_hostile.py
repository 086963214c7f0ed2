"""Hostile input (issue "Hostile input"): no input may abort the interpreter, hang it, take
unbounded memory or pass as good. Every reproducer of the issue is a test here; the ones
that could take the process down run in a child under a 4 GiB address-space limit
(tests/_sandbox.py) and must end in a clean exception or a result, never a signal.
"""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import os
import pickle
import struct
import tarfile
import zlib
from typing import Any

import numpy as np
import pytest
from _sandbox import run
from _streams import Pipe

import sa1b_rle
from sa1b_rle import RleBatch, RleError, Sa1bShardError, Sa1bValidationError
from sa1b_rle import mask as sm


def assert_clean(outcome: Any, *allowed: str) -> None:
    """The child ended with a result or one of the allowed exceptions, not a crash."""
    assert not outcome.crashed, f"{outcome.kind}: {outcome.stderr[-2000:]}"
    assert outcome.kind in ("ok", *allowed), (outcome.kind, outcome.detail)


# -- 1. allocations sized by input --------------------------------------------------------

ONE_PIXEL_RLES = """
import sa1b_rle
from sa1b_rle import mask as sm
r = [{"size": [200, 200], "counts": [k % 40000, 1, 40000 - k % 40000 - 1]} for k in range(25000)]
r = sm.frPyObjects(r, 200, 200)
"""


@pytest.mark.parametrize(
    "call",
    [
        "sm.iou(r, r, None)",
        "sm.iou(r, r[:-1], [0] * 24999)",
        "sa1b_rle.RleBatch.from_coco(r).iou(sa1b_rle.RleBatch.from_coco(r))",
        "b = sa1b_rle.RleBatch.from_coco(r); b.iou(b)",
        "sa1b_rle.iou_matrix(r, r)",
    ],
)
def test_iou_result_too_large_is_memory_error(call: str) -> None:
    # 25,000 x 25,000 float64 is 5 GB: more than the child may have.
    out = run(ONE_PIXEL_RLES + call)
    assert_clean(out, "builtins.MemoryError")
    assert out.kind == "builtins.MemoryError", (out.kind, out.detail)
    assert "IoU" in out.detail


def test_to_polygons_of_a_huge_box_is_memory_error() -> None:
    out = run(
        """
        import sa1b_rle
        n = 65535
        # Two pixels at opposite corners: the mask's box is the whole 4.3 Gpixel image.
        rle = {"size": [n, n], "counts": [0, 1, n * n - 2, 1]}
        sa1b_rle.to_polygons(rle)
        """
    )
    assert_clean(out, "builtins.MemoryError")
    assert out.kind == "builtins.MemoryError"


def test_polygon_spanning_2e8_columns_does_not_abort() -> None:
    out = run(
        """
        from sa1b_rle import mask as sm
        sm.frPyObjects([[0, 0, 2e8, 0, 2e8, 2e8]], 1, 2**32 - 1)
        """,
        timeout=120,
    )
    assert_clean(out, "builtins.MemoryError")


class LyingLength:
    """A sequence whose ``__len__`` claims far more items than it yields."""

    def __init__(self, items: list[Any], length: int) -> None:
        self.items, self.length = items, length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Any:
        return iter(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]


@pytest.mark.parametrize("length", [10**12, 2**62])
def test_reported_lengths_are_not_trusted(length: int) -> None:
    out = run(
        f"""
        import sys
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from test_hostile import LyingLength
        from sa1b_rle import mask as sm
        import sa1b_rle
        counts = LyingLength([3, 6], {length})
        assert sm.area({{"size": [3, 3], "counts": counts}}) == 6
        rles = LyingLength([{{"size": [3, 3], "counts": [3, 6]}}], {length})
        assert sm.area(rles).tolist() == [6]
        assert sa1b_rle.RleBatch.from_coco(rles).area().tolist() == [6]
        crowd = LyingLength([0], {length})
        g = [{{"size": [3, 3], "counts": b"36"}}]
        assert sm.iou(g, g, crowd).tolist() == [[1.0]]
        polys = LyingLength([[0.0, 0.0, 2.0, 0.0, 2.0, 2.0]], {length})
        sa1b_rle.RleBatch.from_polygons([polys], 3, 3)
        """
    )
    assert out.kind == "ok", (out.kind, out.detail, out.stderr[-2000:])


# -- 2. threads -----------------------------------------------------------------------------


def big_batch(n: int = 12) -> RleBatch:
    rng = np.random.default_rng(7)
    return RleBatch.from_masks(rng.random((n, 300, 300)) < 0.5)


@pytest.mark.parametrize("threads", [0, -1, 257, 3000, 10**6, 2**62, 2**63, 2**70, -(2**70)])
def test_thread_counts_out_of_range_are_value_errors(threads: int) -> None:
    b = big_batch(2)
    for call in (
        lambda: b.iou(b, threads=threads),
        lambda: b.area(threads=threads),
        lambda: b.decode(threads=threads),
        lambda: RleBatch.from_coco(b.to_coco(), threads=threads),
        lambda: sa1b_rle.iou_matrix(b, b, threads=threads),
    ):
        with pytest.raises(ValueError, match=r"threads must be in 1\.\.=256"):
            call()


def test_set_num_threads_range() -> None:
    for n in (-1, 257, 2**63, 2**70):
        with pytest.raises(ValueError, match=r"^n must be in 0\.\.=256"):
            sa1b_rle.set_num_threads(n)
    with pytest.raises(TypeError):
        sa1b_rle.set_num_threads(2.0)  # type: ignore[arg-type]


def test_os_thread_count_stays_bounded() -> None:
    out = run(
        """
        import os
        import numpy as np
        import sa1b_rle
        rng = np.random.default_rng(1)
        b = sa1b_rle.RleBatch.from_masks(rng.random((12, 300, 300)) < 0.5)
        want = b.iou(b, threads=1)
        for t in range(2, 41):
            assert (b.iou(b, threads=t) == want).all()
        n = len(os.listdir("/proc/self/task"))
        # One pool, grown to the largest count asked for (39 pool threads), plus the
        # interpreter's own threads; never one pool per distinct count (782 threads).
        assert n <= 39 + 8, n
        """,
        env={"SA1B_RLE_NUM_THREADS": "2"},
    )
    assert out.kind == "ok", (out.kind, out.detail, out.stderr[-2000:])


@pytest.mark.parametrize("value", ["abc", "0", "-2", "9999", ""])
def test_invalid_thread_environment_variable_warns(value: str) -> None:
    out = run(
        """
        import warnings
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import sa1b_rle
        msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
        assert any("SA1B_RLE_NUM_THREADS" in m and "ignored" in m for m in msgs), msgs
        assert sa1b_rle.get_num_threads() >= 1
        """,
        env={"SA1B_RLE_NUM_THREADS": value},
    )
    assert out.kind == "ok", (out.kind, out.detail, out.stderr[-2000:])


def test_valid_thread_environment_variable_is_used() -> None:
    out = run(
        """
        import warnings
        warnings.simplefilter("error")
        import sa1b_rle
        assert sa1b_rle.get_num_threads() == 3
        """,
        env={"SA1B_RLE_NUM_THREADS": "3"},
    )
    assert out.kind == "ok", (out.kind, out.detail)


# -- 6. errors and types --------------------------------------------------------------------


def _raise_rle_error(_: int) -> None:
    sm.decode({"size": [3, 3], "counts": b"3!6"})


def _raise_shard_error(_: int) -> None:
    raise Sa1bShardError("shard.tar", "sa_1.json", "invalid JSON at byte 0")


def test_exceptions_live_in_the_package_and_pickle() -> None:
    with pytest.raises(RleError) as info:
        _raise_rle_error(0)
    e = info.value
    assert type(e).__module__ == "sa1b_rle"
    assert type(e) is sa1b_rle.RleError
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is RleError and str(back) == str(e)
    for cls in (Sa1bShardError, Sa1bValidationError):
        assert cls.__module__ == "sa1b_rle"
        assert getattr(sa1b_rle, cls.__name__) is cls
    s = Sa1bShardError("a.tar", "m.json", "bad")
    assert str(pickle.loads(pickle.dumps(s))) == str(s)


@pytest.mark.parametrize("fn", [_raise_rle_error, _raise_shard_error])
def test_exceptions_arrive_as_themselves_from_a_spawn_pool(fn: Any) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        with pytest.raises((RleError, Sa1bShardError)) as info:
            pool.map(fn, [0])
    assert type(info.value).__module__ == "sa1b_rle"
    assert type(info.value).__name__ in ("RleError", "Sa1bShardError")


@pytest.mark.parametrize("bad", [-1, -(2**70), 2**64, 2**70])
def test_sizes_out_of_range_are_value_errors_naming_them(bad: int) -> None:
    calls = {
        "h": [
            lambda: RleBatch.from_strings([b"9"], bad, 3),
            lambda: RleBatch.from_boxes([[0, 0, 1, 1]], bad, 3),
            lambda: RleBatch.from_polygons([[[0, 0, 1, 0, 1, 1]]], bad, 3),
        ],
        "w": [lambda: RleBatch.from_strings([b"9"], 3, bad)],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(ValueError, match=rf"^{name} must be in 0\.\.="):
                fn()
    with pytest.raises(RleError, match=r"more than 2\*\*32-1 pixels"):
        RleBatch.from_strings([b"9"], 2**32, 3)


def test_from_arrow_size_out_of_range() -> None:
    pa = pytest.importorskip("pyarrow")
    arr = pa.array([b"9"], pa.binary())
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match=r"^h must be in"):
            RleBatch.from_arrow(arr, bad, 3)


def test_integer_arguments_out_of_range_name_the_parameter() -> None:
    label = np.array([[0, 1], [2, 2]], np.uint8)
    with pytest.raises(ValueError, match=r"^background must be in"):
        sa1b_rle.from_label_image(label, background=2**70)
    with pytest.raises(ValueError, match=r"min_component_area"):
        sa1b_rle.from_mask_image(np.ones((3, 3), np.uint8), min_component_area=2**70)
    with pytest.raises(ValueError, match=r"min_component_area"):
        sa1b_rle.from_mask_image(np.ones((3, 3), np.uint8), min_component_area=-1)


def sample_image() -> Any:
    from sa1b_rle.cli import sample_path

    with sa1b_rle.sa1b.iter_shard(sample_path(), images=False) as reader:
        for _, _, image in reader:
            return image
    raise AssertionError("the sample shard is empty")


def test_sa1b_image_arguments_out_of_range() -> None:
    image = sample_image()
    with pytest.raises(IndexError, match="out of range"):
        image.select([10**20])
    with pytest.raises(IndexError, match="out of range"):
        image.select([-(10**20)])
    assert len(image.select([0, -1])) == 2
    with pytest.raises(ValueError, match=r"^min_area must be in"):
        image.filter(min_area=2**70)
    with pytest.raises(ValueError, match=r"^max_area must be in"):
        image.filter(max_area=-(2**70))
    assert len(image.filter(min_area=0)) == len(image)


# -- 1/4. images: pixel limit before decoding, verified data --------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(w: int, h: int, depth: int, color: int, idat: bytes, plte: bytes = b"") -> bytes:
    """A PNG with the given header fields and compressed data (no checks)."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if plte:
        out += png_chunk(b"PLTE", plte)
    return out + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def bomb_pngs() -> dict[str, bytes]:
    grey16 = png_bytes(200_000, 200_000, 16, 0, zlib.compress(b"\0" * 64))
    palette_tall = png_bytes(4, 2**31 - 1, 8, 3, zlib.compress(b"\0" * 64), b"\0\0\0" * 2)
    # 60000 x 60000 1-bit palette: rows of a filter byte and 7500 zero bytes, ~0.4 MB.
    row = b"\0" * 7501
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(60_000)) + z.flush()
    palette_1bit = png_bytes(60_000, 60_000, 1, 3, data, b"\0\0\0\xff\xff\xff")
    grey8_32k = png_bytes(32_000, 32_000, 8, 0, zlib.compress(b"\0" * 64))
    return {
        "grey16": grey16,
        "palette_tall": palette_tall,
        "palette_1bit": palette_1bit,
        "grey8_32k": grey8_32k,
    }


def jpeg_declaring(h: int, w: int) -> bytes:
    """The sample JPEG's header with its frame size replaced: its data no longer matches."""
    jpg = bytearray(SAMPLE_JPG)
    i = 2
    while True:
        assert jpg[i] == 0xFF
        marker, length = jpg[i + 1], struct.unpack(">H", jpg[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            jpg[i + 5 : i + 9] = struct.pack(">HH", h, w)
            return bytes(jpg)
        i += 2 + length


SAMPLE_JPG = b""


@pytest.fixture(scope="module", autouse=True)
def _sample_jpg() -> None:
    global SAMPLE_JPG
    from sa1b_rle.cli import sample_path

    with sa1b_rle.sa1b.iter_shard(sample_path()) as reader:
        for _, jpg, _ in reader:
            assert jpg is not None
            SAMPLE_JPG = jpg
            return


@pytest.mark.parametrize("name", ["grey16", "palette_tall", "palette_1bit", "grey8_32k"])
def test_label_png_bombs_are_refused_before_decoding(name: str, tmp_path: Any) -> None:
    path = tmp_path / f"{name}.png"
    path.write_bytes(bomb_pngs()[name])
    out = run(
        f"""
        import sa1b_rle
        sa1b_rle.from_label_image({str(path)!r})
        """
    )
    assert out.kind == "sa1b_rle.RleError", (out.kind, out.detail, out.stderr[-1000:])
    assert out.detail.startswith(f"{path}: image pixels ")
    assert "exceed the limit of 178956970" in out.detail
    assert "SA1B_RLE_MAX_IMAGE_PIXELS" in out.detail


@pytest.mark.parametrize("name", ["grey16", "palette_1bit", "grey8_32k"])
def test_mask_image_bombs_are_refused_before_decoding(name: str) -> None:
    data = bomb_pngs()[name]
    with pytest.raises(RleError, match=r"image pixels .* exceed the limit"):
        sa1b_rle.from_mask_image(data)


def test_jpeg_bomb_is_refused_and_bounded(tmp_path: Any) -> None:
    bomb = jpeg_declaring(30_000, 30_000)
    with pytest.raises(RleError, match="image pixels 900000000 exceed the limit"):
        sa1b_rle.from_mask_image(bomb)
    # With the limit raised the data does not match the header: an error, not noise,
    # within the address-space limit and quickly.
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bomb)
    out = run(
        f"""
        import sa1b_rle
        sa1b_rle.from_mask_image({str(path)!r}, max_pixels=10**9)
        """,
        timeout=60,
    )
    assert_clean(out, "sa1b_rle.RleError", "builtins.MemoryError")
    assert out.kind != "ok"


def test_raised_limit_decodes_a_large_png_within_bounds(tmp_path: Any) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(bomb_pngs()["grey8_32k"])
    out = run(
        f"""
        import sa1b_rle
        m = sa1b_rle.from_mask_image({str(path)!r}, max_pixels=2 * 10**9)
        """,
        timeout=120,
    )
    # The data stops long before 32000 rows: a clean error naming the file.
    assert out.kind == "sa1b_rle.RleError", (out.kind, out.detail, out.stderr[-1000:])
    assert out.detail.startswith(f"{path}: image: PNG: ")


def test_pixel_limit_argument_and_environment() -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((40, 50), 200, np.uint8)).save(buf, "PNG")
    png = buf.getvalue()
    assert sa1b_rle.from_mask_image(png).area().tolist() == [2000]
    with pytest.raises(RleError, match="image pixels 2000 exceed the limit of 1999"):
        sa1b_rle.from_mask_image(png, max_pixels=1999)
    assert sa1b_rle.from_mask_image(png, max_pixels=2000).area().tolist() == [2000]
    with pytest.raises(ValueError, match=r"^max_pixels must be in 1\.\.="):
        sa1b_rle.from_mask_image(png, max_pixels=0)
    out = run(
        f"""
        import sa1b_rle
        sa1b_rle.from_mask_image({png!r})
        """,
        env={"SA1B_RLE_MAX_IMAGE_PIXELS": "100"},
    )
    assert out.kind == "sa1b_rle.RleError" and "limit of 100" in out.detail
    out = run(
        f"""
        import sa1b_rle
        sa1b_rle.from_mask_image({png!r})
        """,
        env={"SA1B_RLE_MAX_IMAGE_PIXELS": "lots"},
    )
    assert out.kind == "builtins.ValueError" and "SA1B_RLE_MAX_IMAGE_PIXELS" in out.detail


def corrupt_idat(png: bytes) -> bytes:
    """The PNG with a byte of its compressed data changed and the chunk CRC fixed, so
    only the zlib stream's own checks can tell."""
    i = png.index(b"IDAT") - 4
    n = struct.unpack(">I", png[i : i + 4])[0]
    data = bytearray(png[i + 8 : i + 8 + n])
    data[len(data) // 2] ^= 0x55
    return png[:i] + png_chunk(b"IDAT", bytes(data)) + png[i + 12 + n :]


def test_corrupt_png_data_is_an_error(tmp_path: Any) -> None:
    from PIL import Image

    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray((rng.random((60, 70)) * 4).astype(np.uint8)).save(buf, "PNG")
    good = buf.getvalue()
    bad_crc = bytearray(good)
    bad_crc[good.index(b"IDAT") + 10] ^= 1  # data changed, CRC not
    for bad in (corrupt_idat(good), bytes(bad_crc)):
        with pytest.raises(Exception):  # noqa: B017 - Pillow's own error types vary
            Image.open(io.BytesIO(bad)).load()
        with pytest.raises(RleError, match="image: PNG: "):
            sa1b_rle.from_mask_image(bad, threshold=0)
        path = tmp_path / "bad.png"
        path.write_bytes(bad)
        with pytest.raises(RleError, match=rf"^{path}: image: PNG: "):
            sa1b_rle.from_label_image(path)


def test_jpeg_whose_data_does_not_match_its_header_is_an_error() -> None:
    h, w = sa1b_rle._core.image_size(SAMPLE_JPG)
    for size in ((h * 2, w), (h, w * 2), (h * 4, w * 4)):
        with pytest.raises(RleError, match="image: "):
            sa1b_rle.from_mask_image(jpeg_declaring(*size))
    # The untouched JPEG decodes.
    assert len(sa1b_rle.from_mask_image(SAMPLE_JPG)) == 1


# -- 3. shards ------------------------------------------------------------------------------


def tar_header(name: str, size: int) -> bytes:
    """A ustar header declaring ``size`` bytes (any size: the octal field is widened to
    GNU's base-256 form when needed)."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def sample_members() -> list[tuple[str, bytes]]:
    from sa1b_rle.cli import sample_path

    with tarfile.open(sample_path()) as tf:
        out = []
        for m in tf.getmembers()[:2]:
            f = tf.extractfile(m)
            assert f is not None
            out.append((m.name, f.read()))
    return out


def tar_of(members: list[tuple[str, bytes]], *, end: bool = True) -> bytes:
    """A tar archive of the members, with or without its end-of-archive blocks."""
    out = b""
    for name, data in members:
        out += tar_header(name, len(data)) + data + b"\0" * (-len(data) % 512)
    return out + (b"\0" * 1024 if end else b"")


def test_member_declaring_more_than_the_archive_holds(tmp_path: Any) -> None:
    # 10 KB: a good pair, then a member whose header declares 2**40 bytes.
    good = tar_of(sample_members(), end=False)  # without the end-of-archive blocks
    data = good + tar_header("sa_9.jpg", 2**40) + b"\0" * 8192
    path = tmp_path / "lying.tar"
    path.write_bytes(data)
    reader = sa1b_rle.sa1b.iter_shard(path, on_error="collect")
    samples = list(reader)
    assert len(samples) == 1
    assert any(m == "sa_9.jpg" and "declares 1099511627776 bytes" in e for m, e in reader.errors), (
        reader.errors
    )
    with pytest.raises(Sa1bShardError, match=r"sa_9\.jpg: .*declares 1099511627776 bytes"):
        list(sa1b_rle.sa1b.iter_shard(path))


def test_non_seekable_stream_with_a_lying_member_ends(tmp_path: Any) -> None:
    good = tar_of(sample_members(), end=False)
    path = tmp_path / "lying.tar"
    path.write_bytes(good + tar_header("sa_9.json", 2**40) + b"\0" * 8192)
    out = run(
        f"""
        import io, subprocess, sys
        import sa1b_rle
        # A pipe: how remote shards are streamed.
        p = subprocess.Popen(["cat", {str(path)!r}], stdout=subprocess.PIPE)
        reader = sa1b_rle.sa1b.iter_shard(p.stdout, on_error="collect")
        n = len(list(reader))
        p.wait()
        assert n == 1, n
        assert any("sa_9.json" == m for m, _ in reader.errors), reader.errors
        """,
        timeout=60,
    )
    assert out.kind == "ok", (out.kind, out.detail, out.stderr[-1000:])


def test_gzip_bomb_member_is_not_read(tmp_path: Any) -> None:
    # 600 MB of zeros in a ~600 KB .tar.gz, read under a 512 MiB address-space limit.
    path = tmp_path / "bomb.tar.gz"
    size = 600 << 20
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(tar_of(sample_members(), end=False))
        f.write(tar_header("sa_9.jpg", size))
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
        f.write(b"\0" * 1024)
    out = run(
        f"""
        import sa1b_rle
        reader = sa1b_rle.sa1b.iter_shard({str(path)!r}, on_error="collect")
        n = len(list(reader))
        assert n == 1, n
        assert any("max_image_bytes limit" in e for _, e in reader.errors), reader.errors
        """,
        limit=512 << 20,
        timeout=120,
    )
    assert out.kind == "ok", (out.kind, out.detail, out.stderr[-1000:])


def gz_shard() -> bytes:
    return gzip.compress(tar_of(sample_members()), mtime=0)


def test_corrupt_gzip_payload_is_reported(tmp_path: Any) -> None:
    data = bytearray(gz_shard())
    # A wrong CRC-32 in the trailer (the payload would decode the same).
    data[-8] ^= 0xFF
    path = tmp_path / "crc.tar.gz"
    path.write_bytes(bytes(data))
    reader = sa1b_rle.sa1b.iter_shard(path, on_error="collect")
    list(reader)
    assert any("corrupt gzip stream" in e and "CRC" in e for _, e in reader.errors), reader.errors
    # The same through a pipe-like stream.
    reader = sa1b_rle.sa1b.iter_shard(io.BufferedReader(Pipe(bytes(data))), on_error="collect")
    list(reader)
    assert any("corrupt gzip stream" in e for _, e in reader.errors), reader.errors


def test_truncated_gzip_trailer_is_reported(tmp_path: Any) -> None:
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(gz_shard()[:-4])
    reader = sa1b_rle.sa1b.iter_shard(path, on_error="collect")
    assert len(list(reader)) == 1
    assert any("corrupt gzip stream" in e for _, e in reader.errors), reader.errors
    from sa1b_rle import cli

    out = io.StringIO()
    assert cli.main(["validate", str(path)], out=out) == 1, out.getvalue()


def test_good_gzip_shard_has_no_errors(tmp_path: Any) -> None:
    path = tmp_path / "good.tar.gz"
    path.write_bytes(gz_shard())
    reader = sa1b_rle.sa1b.iter_shard(path, on_error="collect")
    assert len(list(reader)) == 1 and reader.errors == []
    reader = sa1b_rle.sa1b.iter_shard(io.BufferedReader(Pipe(gz_shard())), on_error="collect")
    assert len(list(reader)) == 1 and reader.errors == []


def test_member_caps_are_arguments() -> None:
    data = tar_of(sample_members())
    reader = sa1b_rle.sa1b.iter_shard(io.BytesIO(data), on_error="collect", max_json_bytes=10)
    assert list(reader) == []
    assert any("max_json_bytes limit of 10" in e for _, e in reader.errors), reader.errors
    with pytest.raises(ValueError, match="max_image_bytes must be at least 1"):
        sa1b_rle.sa1b.iter_shard(io.BytesIO(data), max_image_bytes=0)


# -- 5. the command line --------------------------------------------------------------------


def cli_run(*argv: str, timeout: float = 120) -> tuple[int, str, str]:
    """``sa1b-rle ARGV`` in a child process: (exit status, stdout, stderr)."""
    import subprocess
    import sys

    p = subprocess.run(
        [sys.executable, "-m", "sa1b_rle.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return p.returncode, p.stdout, p.stderr


def one_line_error(status: int, err: str, *needles: str) -> None:
    assert status == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def sample_doc() -> dict[str, Any]:
    doc: dict[str, Any] = sample_image().to_dict()
    return doc


@pytest.mark.parametrize("file_name", ["/dev/zero", "../secret.jpg", "a/b.jpg", "", ".."])
def test_file_name_must_be_a_bare_name(tmp_path: Any, file_name: str) -> None:
    doc = sample_doc()
    doc["image"]["file_name"] = file_name
    path = tmp_path / "sa_1.json"
    path.write_text(json.dumps(doc))
    report = sa1b_rle.sa1b.validate(path)
    assert [p.code for p in report] == ["file_name"], [str(p) for p in report]
    status, out, err = cli_run("validate", str(path))
    assert status == 1 and "image.file_name" in out
    status, _, err = cli_run("show", str(path), "--no-validate", "-o", str(tmp_path / "o.png"))
    one_line_error(status, err, "file_name", "--image")
    assert not (tmp_path / "o.png").exists()


def test_empty_directory_is_reported(tmp_path: Any) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for cmd in ("info", "validate", "stats", "show"):
        args = [cmd, str(empty)] + (["-o", str(tmp_path / "o.png")] if cmd == "show" else [])
        status, _, err = cli_run(*args)
        one_line_error(status, err, str(empty))


def huge_doc() -> dict[str, Any]:
    n = 65535
    counts = RleBatch.from_coco([{"size": [n, n], "counts": [0, n * n]}]).to_coco()[0]
    return {
        "image": {"image_id": 1, "width": n, "height": n, "file_name": "sa_1.jpg"},
        "annotations": [
            {
                "id": 1,
                "segmentation": counts,
                "bbox": [0.0, 0.0, float(n), float(n)],
                "area": n * n,
                "predicted_iou": 0.9,
                "stability_score": 0.9,
                "point_coords": [[1.0, 1.0]],
                "crop_box": [0.0, 0.0, float(n), float(n)],
            }
        ],
    }


def test_huge_valid_image_gives_no_traceback(tmp_path: Any) -> None:
    path = tmp_path / "sa_1.json"
    path.write_text(json.dumps(huge_doc()))
    status, out, err = cli_run("stats", str(path))
    assert status == 0 and "Traceback" not in err, err
    assert "1 image, 1 mask" in out
    status, _, err = cli_run("show", str(path), "--no-image", "-o", str(tmp_path / "o.png"))
    one_line_error(status, err, "65535x65535", "pixels")


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "--threads", str(2**70)],
        ["info", "--threads", "0"],
        ["info", "--threads", "abc"],
        ["show", "--alpha", "5", "-o", "x.png"],
        ["show", "--alpha", "-1", "-o", "x.png"],
        ["to-parquet", "--rows-per-file", "0", "-o", "x"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    status, _, err = cli_run(*argv)
    assert status == 2 and "Traceback" not in err, err
    assert "error: argument" in err


def test_non_utf8_member_name_is_named(tmp_path: Any) -> None:
    members = sample_members()
    raw = tar_of(members, end=False)
    info = tarfile.TarInfo("sa_\udcff.json")
    info.size = 2
    bad = info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
    path = tmp_path / "names.tar"
    path.write_bytes(raw + bad + b"{}" + b"\0" * 510 + b"\0" * 1024)
    status, out, err = cli_run("validate", str(path))
    assert status == 1 and "Traceback" not in err, err
    assert f"{path}:sa_\\xff.json: " in out


def test_corrupt_tar_is_reported_as_an_archive(tmp_path: Any) -> None:
    path = tmp_path / "broken.tar"
    path.write_bytes(b"\x07" * 4096)
    status, out, err = cli_run("validate", str(path))
    assert status == 1 and "not a readable tar archive" in out, (out, err)
    assert "invalid JSON" not in out


def test_info_and_stats_name_unreadable_files(tmp_path: Any) -> None:
    (tmp_path / "sa_1.json").write_text(json.dumps(sample_doc()))
    (tmp_path / "sa_2.json").write_text("{broken")
    for cmd in ("info", "stats"):
        # On stderr (stdout is the report), the file named once.
        status, out, err = cli_run(cmd, str(tmp_path))
        assert status == 1 and "sa_2" not in out, out
        bad = str(tmp_path / "sa_2.json")
        assert err.startswith(f"unreadable {bad}: ") and "invalid JSON" in err, err
        assert err.count(bad) == 1 and len(err.splitlines()) == 1, err


def test_from_masks_on_instance_maps_in_binary_mode(tmp_path: Any) -> None:
    from PIL import Image

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    (images / "sa_1.jpg").write_bytes(SAMPLE_JPG)
    h, w = sa1b_rle._core.image_size(SAMPLE_JPG)
    label = np.zeros((h, w), np.uint8)
    label[10:50, 10:50], label[100:200, 300:400] = 1, 2
    Image.fromarray(label).save(masks / "sa_1.png")
    out = tmp_path / "coco.json"
    status, text, err = cli_run("from-masks", str(images), str(masks), "-o", str(out))
    assert status == 1, (text, err)
    assert "--mode instances" in text
    status, text, err = cli_run(
        "from-masks", str(images), str(masks), "-o", str(out), "--mode", "instances"
    )
    assert status == 0 and "2 annotations" in text, (text, err)


def test_categories_errors_name_the_file(tmp_path: Any) -> None:
    cats = tmp_path / "cats.json"
    cats.write_text("{not json")
    d = tmp_path / "d"
    d.mkdir()
    status, _, err = cli_run(
        "from-masks", str(d), str(d), "-o", "x.json", "--categories", str(cats)
    )
    one_line_error(status, err, str(cats))


def test_to_parquet_checks_before_writing(tmp_path: Any) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    status, _, err = cli_run("to-parquet", str(tmp_path / "missing.json"), "-o", str(out))
    one_line_error(status, err, "missing.json")
    assert not out.exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{broken")
    status, _, err = cli_run("to-parquet", str(bad), "-o", str(out), "--strict")
    assert status == 1 and "Traceback" not in err, err
    assert not out.exists()
    assert cli_run("to-parquet", "-o", str(out))[0] == 0
    status, _, err = cli_run("to-parquet", "-o", str(out))
    one_line_error(status, err, "--overwrite")
    assert "overwrite=True" not in err


def test_help_reads_as_text() -> None:
    status, out, _ = cli_run("--help")
    assert status == 0 and "``" not in out
    for cmd in ("info", "validate", "stats", "convert", "from-masks", "to-parquet", "show"):
        status, out, _ = cli_run(cmd, "--help")
        assert status == 0 and "``" not in out
        usage_and_description = out.split("\n\n")
        assert len(usage_and_description) > 2 and usage_and_description[1].strip(), out
        if cmd not in ("from-masks", "show"):
            assert "PATH " in out and "@sample" in out
    status, out, _ = cli_run("validate")
    assert out.endswith("3 annotation files checked: no problems\n")


def test_no_traceback_on_junk_input(tmp_path: Any) -> None:
    junk = {
        "empty.json": b"",
        "nul.json": b"\0" * 100,
        "list.json": b"[1, 2, 3]",
        "deep.json": b"[" * 100000,
        "huge_number.json": b'{"image": {"image_id": 1e999}}',
        "gz.tar.gz": b"\x1f\x8b" + b"\x00" * 30,
        "short.tar": b"x" * 10,
    }
    for name, data in junk.items():
        path = tmp_path / name
        path.write_bytes(data)
        for cmd in ("info", "validate", "stats"):
            status, _, err = cli_run(cmd, str(path))
            assert status == 1 and "Traceback" not in err, (name, cmd, err)


# -- 6. remaining error and type items ------------------------------------------------------


def test_lone_surrogate_in_counts_names_the_annotation() -> None:
    good = {"size": [3, 3], "counts": "9"}
    with pytest.raises(RleError, match=r"^annotation 1: counts is not valid text"):
        sm.decode([good, {"size": [3, 3], "counts": "3\ud8006"}])
    with pytest.raises(RleError, match=r"annotation 0: counts is not valid text"):
        RleBatch.from_coco([{"size": [3, 3], "counts": "\udcff"}])


@pytest.mark.parametrize("size", [[2**200, 1], [1, 2**64], [-(2**200), 1]])
def test_huge_sizes_say_so(size: list[int]) -> None:
    with pytest.raises(RleError, match=r"annotation 0: (height|width) is (too large|negative)"):
        sm.decode({"size": size, "counts": b"0"})


def test_iou_with_no_ground_truth() -> None:
    b = RleBatch.from_masks(np.ones((2, 5, 7), bool))
    assert b.iou([]).shape == (2, 0)
    assert b.iou([], iscrowd=[]).shape == (2, 0)


def test_iou_iscrowd_must_match_the_ground_truth() -> None:
    b = RleBatch.from_masks(np.ones((2, 5, 7), bool))
    with pytest.raises(RleError, match="iscrowd has 0 entries"):
        b.iou(b, iscrowd=[])
    with pytest.raises(RleError, match="iscrowd has 3 entries"):
        b.iou(b, iscrowd=[0, 0, 1])
    assert b.iou(b, iscrowd=None).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError):
        sm.iou(b.to_coco(), b.to_coco(), [])


def test_annotations_from_masks_takes_arrays() -> None:
    m = np.zeros((2, 4, 5), np.uint8)
    m[0, 1:3, 1:4] = 1
    m[1, 0, 0] = 1
    from_array = sa1b_rle.coco.annotations_from_masks(m, image_id=1)
    from_batch = sa1b_rle.coco.annotations_from_masks(RleBatch.from_masks(m), image_id=1)
    assert from_array == from_batch
    assert len(sa1b_rle.coco.annotations_from_masks(m[0], image_id=1)) == 1
    with pytest.raises(TypeError, match="RleBatch"):
        sa1b_rle.coco.annotations_from_masks("masks", image_id=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shape", "error"),
    [
        ((2.7, 3.9), TypeError),
        (("3", "4"), TypeError),
        ((10**5, 10**5), ValueError),
        ((-1, 2), ValueError),
        ((1,), TypeError),
    ],
)
def test_kaggle_shapes(shape: Any, error: type[Exception]) -> None:
    for fn in (sa1b_rle.kaggle.decode, sa1b_rle.kaggle.to_coco):
        with pytest.raises(error):
            fn("", shape)
        with pytest.raises(error):
            fn("1 1", shape, order="C")


def test_kaggle_digits_are_ascii() -> None:
    with pytest.raises(ValueError, match="token 0"):
        sa1b_rle.kaggle.decode("\u0663 1", (2, 2))
    assert sa1b_rle.kaggle.decode("3 1", (2, 2)).tolist() == [[0, 0], [1, 0]]
    assert sa1b_rle.kaggle.decode("", (2, 2)).tolist() == [[0, 0], [0, 0]]


def test_an_allocation_failing_inside_an_iou_operand_is_a_memory_error() -> None:
    """The runs of a 400-million-run counts string (1.6 GB) cannot be allocated under the
    limit: a MemoryError naming the operand, not an RleError."""
    out = run(
        """
        from sa1b_rle import mask
        h = w = 20000
        n = h * w
        big = {"size": [h, w], "counts": b"11" + b"0" * (n - 2)}
        small = mask.frUncompressedRLE([{"size": [h, w], "counts": [n]}], h, w)[0]
        mask.iou([small], [big], [0])
        """,
        limit=3 << 29,
    )
    assert out.kind == "builtins.MemoryError", out
    assert "gt annotation 0" in out.detail


def test_negative_sizes_and_indices_name_the_argument() -> None:
    """Raw size and index arguments of the binding are range-checked into a ValueError
    naming them (a bare OverflowError before)."""
    from sa1b_rle import RleBatch, _core

    m = np.zeros((1, 2, 3), np.uint8)
    for call, name in (
        (lambda: _core.counts_to_runs(b"6", -2, 3), "h"),
        (lambda: _core.counts_to_runs(b"6", 2, -3), "w"),
        (lambda: _core.encode_masks(m, 2, 3, -1, column_major=False), "n"),
        (lambda: _core.batch_polygons(RleBatch.from_masks(m.astype(bool)), -1, 0.0), "index"),
    ):
        with pytest.raises(ValueError, match=f"^{name} must be in"):
            call()


def test_the_thread_environment_warning_is_one_line() -> None:
    """The command line's stderr gets one line for a bad SA1B_RLE_NUM_THREADS (not the
    importer's source line under it)."""
    import subprocess
    import sys

    env = dict(os.environ, SA1B_RLE_NUM_THREADS="abc")
    p = subprocess.run(
        [sys.executable, "-c", "import sa1b_rle"], env=env, capture_output=True, text=True
    )
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "SA1B_RLE_NUM_THREADS" in lines[0], p.stderr
