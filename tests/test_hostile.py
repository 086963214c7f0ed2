"""Hostile input (issue "Hostile input"): no input may abort the interpreter, hang it, take
unbounded memory or pass as good. Every reproducer of the issue is a test here; the ones
that could take the process down run in a child under a 4 GiB address-space limit
(tests/_sandbox.py) and must end in a clean exception or a result, never a signal.
"""

from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import numpy as np
import pytest
from _sandbox import run

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
        with pytest.raises(ValueError, match=r"height must be in"):
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
