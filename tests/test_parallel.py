"""The engine's process and thread behaviour: fork safety, the GIL, thread counts, leaks.

These check behaviour, not speed (speed is measured in benches/): a forked child must
decode correctly without hanging, the GIL must be free while Rust works, results must not
depend on the thread count, and repeated calls must not grow memory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pycocotools.mask as pm
import pytest

import sa1b_rle
from sa1b_rle import RleBatch

FORK = "fork" in mp.get_all_start_methods()


def blobs(n: int, h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((n, h, w), bool)
    for i in range(n):
        cy, cx, r = rng.random(3) * [h, w, min(h, w) / 2]
        out[i] = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    return out


MASKS = blobs(12, 120, 90, 0)
RLES = pm.encode(np.asfortranarray(MASKS.transpose(1, 2, 0).astype(np.uint8)))


def child_work(threads: int | None) -> tuple[int, bool, bool]:
    """Run in a forked child: decode and IoU of a multi-mask batch."""
    b = RleBatch.from_coco(RLES, threads=threads)
    ok_decode = bool(np.array_equal(b.decode(threads=threads), MASKS))
    ok_iou = bool(np.array_equal(b.iou(b, threads=threads), pm.iou(RLES, RLES, [0] * len(RLES))))
    return sa1b_rle.get_num_threads(), ok_decode, ok_iou


@pytest.mark.skipif(not FORK, reason="the fork start method is not available on this platform")
def test_forked_children_decode_after_the_parent_used_the_pool() -> None:
    # The parent uses its pool with several threads first (so its worker threads exist
    # and are not copied into the children).
    b = RleBatch.from_coco(RLES)
    assert np.array_equal(b.decode(threads=2), MASKS)
    assert b.iou(b, threads=2).shape == (12, 12)
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        default = pool.map_async(child_work, [None, None]).get(timeout=120)
        explicit = pool.map_async(child_work, [2, 2]).get(timeout=120)
    # A forked child defaults to one thread; asking for more works too.
    assert default == [(1, True, True), (1, True, True)]
    assert [r[1:] for r in explicit] == [(True, True), (True, True)]
    # The parent's pool still works afterwards.
    assert np.array_equal(b.decode(threads=2), MASKS)


def test_thread_count_precedence_in_a_fresh_process() -> None:
    code = (
        "import sa1b_rle as s; print(s.get_num_threads()); "
        "s.set_num_threads(4); print(s.get_num_threads())"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}

    def run(extra: dict[str, str]) -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        return [int(x) for x in out.split()]

    assert run({"SA1B_RLE_NUM_THREADS": "3", "RAYON_NUM_THREADS": "5"}) == [3, 4]
    assert run({"RAYON_NUM_THREADS": "5"}) == [5, 4]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert run({})[1] == 4
    assert run({})[0] in {cpus, os.cpu_count()}


def test_results_do_not_depend_on_the_thread_count() -> None:
    m = blobs(40, 64, 48, 1)
    rles = pm.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))
    crowd = [i % 4 == 0 for i in range(40)]
    base = RleBatch.from_masks(m, threads=1)
    for t in (2, 3, 7):
        b = RleBatch.from_masks(m, threads=t)
        assert b == base
        assert RleBatch.from_coco(rles, threads=t) == base
        np.testing.assert_array_equal(b.decode(threads=t), base.decode(threads=1))
        np.testing.assert_array_equal(
            b.iou(base, iscrowd=crowd, threads=t), base.iou(base, iscrowd=crowd, threads=1)
        )
        np.testing.assert_array_equal(b.iou(b, threads=t), base.iou(base, threads=1))
        np.testing.assert_array_equal(b.bbox(threads=t), base.bbox(threads=1))
        assert b.to_coco(threads=t) == base.to_coco(threads=1)


def test_parallel_paths_equal_pycocotools_on_large_batches() -> None:
    # Enough runs (speckled blobs: ~10^5 per batch) that the calls really split across
    # threads (small calls stay on one), including the IoU walk shared by two threads.
    rng = np.random.default_rng(7)
    m = blobs(16, 300, 240, 3) & (rng.random((16, 300, 240)) < 0.6)
    g = blobs(14, 300, 240, 4) & (rng.random((14, 300, 240)) < 0.6)
    rm = pm.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))
    rg = pm.encode(np.asfortranarray(g.transpose(1, 2, 0).astype(np.uint8)))
    bm, bg = RleBatch.from_coco(rm), RleBatch.from_coco(rg)
    crowd = [i % 3 == 0 for i in range(len(rg))]
    want = pm.iou(rm, rg, crowd)
    want_self = pm.iou(rm, rm, [0] * len(rm))
    for t in (1, 2, 3):
        np.testing.assert_array_equal(bm.iou(bg, iscrowd=crowd, threads=t), want)
        np.testing.assert_array_equal(bm.iou(bm, threads=t), want_self)
        np.testing.assert_array_equal(bm.decode(threads=t), m)
        np.testing.assert_array_equal(bm.bbox(threads=t), pm.toBbox(rm))


def test_the_gil_is_free_while_rust_decodes() -> None:
    # One big decode in a thread; the main thread counts how often it runs Python code
    # while that call is in progress. With the GIL held it could not run at all.
    big = RleBatch.from_masks(blobs(8, 1500, 2250, 2))
    in_call = threading.Event()
    done = threading.Event()

    def worker() -> None:
        for _ in range(3):
            in_call.set()
            big.decode(threads=1)
            in_call.clear()
        done.set()

    t = threading.Thread(target=worker)
    ticks = 0
    t.start()
    while not done.is_set():
        if in_call.is_set():
            ticks += 1
    t.join()
    assert ticks > 1000, ticks


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_no_leak_over_20000_calls() -> None:
    b = RleBatch.from_coco(RLES[:6])
    out = np.empty((6, 120, 90), np.uint8)

    def calls(k: int) -> None:
        for i in range(k):
            if i % 2:
                b.decode(out=out)
            else:
                b.iou(b)
            sa1b_rle.decode(RLES[:2])

    calls(2000)  # warm up allocator pools
    before = rss_bytes()
    calls(20000)
    grown = rss_bytes() - before
    assert grown < 5 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"


def loader_sample(i: int) -> np.ndarray:
    return RleBatch.from_coco(RLES).decode(indices=[i % 12, (i + 1) % 12])


def test_torch_dataloader_with_workers() -> None:
    torch = pytest.importorskip(
        "torch",
        reason="torch is not installed (PyPI's build is multi-GB; CI does not install it)",
    )

    class Masks(torch.utils.data.Dataset):  # type: ignore[misc,name-defined]
        def __len__(self) -> int:
            return 24

        def __getitem__(self, i: int) -> np.ndarray:
            return loader_sample(i)

    # The parent uses the pool first, as training code would.
    assert RleBatch.from_coco(RLES).decode(threads=2).shape == (12, 120, 90)
    loader = torch.utils.data.DataLoader(
        Masks(), batch_size=4, num_workers=2, multiprocessing_context="fork", timeout=120
    )
    got = torch.cat([x for x in loader]).numpy()
    want = np.stack([loader_sample(i) for i in range(24)])
    np.testing.assert_array_equal(got, want)
