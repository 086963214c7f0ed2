"""The pycocotools.mask contract: names, return types, shapes, memory order, and the
superset behaviour documented in the README."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as pm
from hypothesis import given
from hypothesis import strategies as st

import sa1b_rle
from sa1b_rle import mask as sm


def column_major_runs(m: np.ndarray) -> list[int]:
    """Uncompressed COCO counts of a 0/1 mask (naive reference)."""
    flat = m.ravel(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(np.r_[0, flat]))
    return [int(v) for v in np.diff(np.r_[0, edges, flat.size])]


def test_names_match_pycocotools() -> None:
    for name in ("encode", "decode", "area", "toBbox", "iou", "merge", "frPyObjects"):
        assert callable(getattr(sm, name))
    for name in ("frPoly", "frBbox", "frUncompressedRLE"):
        assert callable(getattr(sm, name))
    assert set(sm.__all__) >= {"encode", "decode", "iou", "merge", "frPyObjects"}
    assert sa1b_rle.mask is sm


def test_return_types() -> None:
    m = np.zeros((4, 5), np.uint8, order="F")
    m[1:3, 2:4] = 1
    r = sm.encode(m)
    assert r == pm.encode(m)
    assert isinstance(r["counts"], bytes) and r["size"] == [4, 5]
    assert all(type(v) is int for v in r["size"])
    d = sm.decode(r)
    assert d.dtype == np.uint8 and d.shape == (4, 5) and d.flags.f_contiguous
    ds = sm.decode([r, r])
    assert ds.shape == (4, 5, 2) and ds.flags.f_contiguous
    a = sm.area(r)
    assert isinstance(a, np.uint32) and a == 4
    assert sm.area([r]).dtype == np.uint32
    assert sm.toBbox(r).shape == (4,) and sm.toBbox([r, r]).shape == (2, 4)
    assert sm.toBbox([]).shape == (0, 4)
    assert sm.area([]).shape == (0,)
    o = sm.iou([r], [r, r], [0, 1])
    assert o.dtype == np.float64 and o.shape == (1, 2) and o.flags.f_contiguous
    assert sm.iou([], [r], [0]) == [] and sm.iou([r], [], []) == []
    assert sm.merge([]) == pm.merge([]) == {"size": [0, 0], "counts": b""}


def test_encode_of_zero_pixel_masks() -> None:
    for shape in ((0, 0), (0, 5), (5, 0)):
        assert sm.encode(np.zeros(shape, np.uint8)) == {"size": list(shape), "counts": b"0"}
    assert sm.encode(np.zeros((3, 3, 0), np.uint8)) == []


@given(st.integers(1, 12), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_self_iou_uses_symmetry_bit_exactly(n: int, side: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    masks = np.asfortranarray((rng.random((side, side + 3, n)) < 0.3).astype(np.uint8))
    rles = pm.encode(masks)
    ref = pm.iou(rles, rles, [0] * n)
    for crowd in ([0] * n, None, [False] * n):
        got = sm.iou(rles, rles, crowd)
        assert got.shape == ref.shape and got.flags.f_contiguous
        np.testing.assert_array_equal(got, ref)
    # with crowd flags the general path runs
    crowd = [i % 2 for i in range(n)]
    np.testing.assert_array_equal(sm.iou(rles, rles, crowd), pm.iou(rles, rles, crowd))


def test_superset_inputs() -> None:
    h, w = 10, 12
    box = [1.0, 2.0, 3.0, 4.0]
    ref = pm.frPyObjects(np.array([box]), h, w)
    # pycocotools raises TypeError for a list of boxes, and cannot take a single box
    assert sm.frPyObjects([box], h, w) == ref
    assert sm.frPyObjects(box, h, w) == ref[0]
    assert sm.frPyObjects(np.array(box), h, w) == ref[0]
    poly = [1.0, 1.0, 8.0, 1.0, 8.0, 7.0, 1.0, 7.0]
    assert sm.frPyObjects(poly, h, w) == pm.frPyObjects([poly], h, w)[0]
    assert sm.frPyObjects(np.array([poly]).tolist(), h, w) == pm.frPyObjects([poly], h, w)
    assert sm.frPoly([np.array(poly)], h, w) == pm.frPyObjects([poly], h, w)
    assert sm.frPyObjects([], h, w) == []
    # counts as str, and uncompressed counts, everywhere an RLE is taken
    r = pm.frPyObjects([poly], h, w)[0]
    as_str = {"size": r["size"], "counts": r["counts"].decode()}
    as_list = {"size": r["size"], "counts": column_major_runs(pm.decode(r))}
    for form in (as_str, as_list):
        np.testing.assert_array_equal(sm.decode(form), pm.decode(r))
        assert sm.merge([form]) == pm.merge([r])
    # C-ordered, non-contiguous, bool and non-binary masks
    m = pm.decode(r)
    for variant in (
        np.ascontiguousarray(m),
        m.astype(bool),
        m * 200,
        m.astype(np.float32),
        m[:, :],
    ):
        assert sm.encode(variant) == r
    # iscrowd=None means no crowd
    np.testing.assert_array_equal(sm.iou([r], [r], None), pm.iou([r], [r], [0]))
    # 1-D box array
    np.testing.assert_array_equal(
        sm.iou(np.array(box), np.array([box]), [0]), pm.iou(np.array([box]), np.array([box]), [0])
    )


def test_merge_intersect_truthiness() -> None:
    a = sm.frPyObjects([[0, 0, 6, 0, 6, 6, 0, 6]], 8, 8)[0]
    b = sm.frPyObjects([[3, 3, 8, 3, 8, 8, 3, 8]], 8, 8)[0]
    for flag in (1, True, 2):
        assert sm.merge([a, b], flag) == pm.merge([a, b], flag)
    for flag in (0, False):
        assert sm.merge([a, b], flag) == pm.merge([a, b], flag)


def test_optional_dependencies_stay_optional() -> None:
    # With pyarrow, Ray and torch unimportable, the package and its CLI still work, and
    # the modules that need them say what to install.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        for name in ("pyarrow", "ray", "torch"):
            sys.modules[name] = None  # import raises ImportError
        import io
        import sa1b_rle
        from sa1b_rle import cli, mask, sa1b
        images = [img for _, _, img in sa1b.iter_shard(cli.sample_path(), images=False)]
        assert sum(len(i) for i in images) == 299
        assert cli.main(["stats", "--no-progress"], out=io.StringIO()) == 0
        for module, extra in (("arrow", "pyarrow"), ("ray", "sa1b_rle[ray]"), ("torch", "torch")):
            try:
                __import__("sa1b_rle." + module)
            except ImportError as e:
                assert extra in str(e), str(e)
            else:
                raise AssertionError(module + " imported without its dependency")
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
