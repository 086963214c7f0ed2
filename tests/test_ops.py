"""Mask operations on runs against numpy on the dense masks (issue "Mask operations on
runs"): set operations with broadcasting, flips, transpose, rot90, crop, pad, shift,
centroid; sizes from 1x1, empty and full masks, noise and borders."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sa1b_rle
from sa1b_rle import RleBatch


@st.composite
def stacks(draw: Any, n: int | None = None) -> np.ndarray:
    n = draw(st.integers(1, 4)) if n is None else n
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = (rng.random((n, h, w)) < draw(st.floats(0.0, 1.0))).astype(np.uint8)
    for m in out:
        kind = draw(st.sampled_from(["as is", "empty", "full", "border"]))
        if kind == "empty":
            m[...] = 0
        elif kind == "full":
            m[...] = 1
        elif kind == "border":
            m[0, :] = m[-1, :] = 1
            m[:, 0] = m[:, -1] = 1
    return out


def same(b: RleBatch, want: np.ndarray) -> None:
    assert b.shape == want.shape
    assert b == RleBatch.from_masks(want.astype(np.uint8))  # canonical runs, byte for byte
    np.testing.assert_array_equal(b.decode(), want)


@settings(max_examples=150, deadline=None)
@given(stacks(), st.data())
def test_set_operations_broadcast(m: np.ndarray, data: st.DataObject) -> None:
    n = len(m)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    other_n = data.draw(st.sampled_from([n, 1]))
    o = (rng.random((other_n, *m.shape[1:])) < 0.5).astype(np.uint8)
    a, b = RleBatch.from_masks(m), RleBatch.from_masks(o)
    ma, mb = m.astype(bool), o.astype(bool)
    same(a | b, ma | mb)
    same(a & b, ma & mb)
    same(a ^ b, ma ^ mb)
    same(a - b, ma & ~mb)
    same(b - a, mb & ~ma)  # (the one-mask side on the left broadcasts too)
    same(~a, ~ma)


@settings(max_examples=150, deadline=None)
@given(stacks(), st.integers(-6, 6), st.data())
def test_geometry_equals_numpy(m: np.ndarray, k: int, data: st.DataObject) -> None:
    b = RleBatch.from_masks(m)
    _, h, w = m.shape
    same(b.flipud(), m[:, ::-1, :])
    same(b.fliplr(), m[:, :, ::-1])
    same(b.transpose(), m.transpose(0, 2, 1))
    same(b.rot90(k), np.rot90(m, k, axes=(1, 2)))
    x, y = data.draw(st.integers(0, w)), data.draw(st.integers(0, h))
    cw, ch = data.draw(st.integers(0, w - x)), data.draw(st.integers(0, h - y))
    same(b.crop(x, y, cw, ch), m[:, y : y + ch, x : x + cw])
    t, bo, le, r = (data.draw(st.integers(0, 4)) for _ in range(4))
    same(b.pad(t, bo, le, r), np.pad(m, ((0, 0), (t, bo), (le, r))))
    dy, dx = data.draw(st.integers(-h - 2, h + 2)), data.draw(st.integers(-w - 2, w + 2))
    shifted = np.zeros_like(m)
    for yy in range(h):
        for xx in range(w):
            if 0 <= yy - dy < h and 0 <= xx - dx < w:
                shifted[:, yy, xx] = m[:, yy - dy, xx - dx]
    same(b.shift(dy, dx), shifted)
    for threads in (1, 2):
        assert b.rot90(1, threads=threads) == b.rot90()


@settings(max_examples=100, deadline=None)
@given(stacks(), st.integers(1, 40), st.integers(1, 40))
def test_resize_equals_the_index_formulas(m: np.ndarray, oh: int, ow: int) -> None:
    """torch's nearest / nearest-exact source indices, in exact integer arithmetic."""
    _, h, w = m.shape
    b = RleBatch.from_masks(m)
    for mode, src in (
        ("nearest", lambda i, n, o: i * n // o),
        ("nearest-exact", lambda i, n, o: (2 * i + 1) * n // (2 * o)),
    ):
        rows = np.minimum([src(i, h, oh) for i in range(oh)], h - 1)
        cols = np.minimum([src(j, w, ow) for j in range(ow)], w - 1)
        same(b.resize(oh, ow, mode), m[:, rows][:, :, cols])


@settings(max_examples=100, deadline=None)
@given(stacks())
def test_centroid(m: np.ndarray) -> None:
    got = RleBatch.from_masks(m).centroid()
    assert got.dtype == np.float64 and got.shape == (len(m), 2)
    for c, mask in zip(got, m, strict=True):
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            assert np.isnan(c).all()
        else:
            np.testing.assert_allclose(c, [xs.mean(), ys.mean()], rtol=1e-12)


def test_bad_arguments() -> None:
    b = RleBatch.from_masks(np.ones((3, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="do not broadcast"):
        _ = b | RleBatch.from_masks(np.ones((2, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="size"):
        _ = b & RleBatch.from_masks(np.ones((3, 5, 4), np.uint8))
    with pytest.raises(TypeError):
        _ = b | 1  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"crop box .* is not inside the 5x4 \(WxH\) image"):
        b.crop(2, 0, 4, 1)
    with pytest.raises(ValueError, match=r"^x must be in 0..=4294967295, not -1$"):
        b.crop(-1, 0, 1, 1)
    with pytest.raises(ValueError, match="top must be in"):
        b.pad(top=-1)
    with pytest.raises(ValueError, match=r"too large|2\*\*32"):
        b.pad(top=70000, left=70000)
    with pytest.raises(TypeError):
        b.rot90(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^h must be in 1\.\.=4294967295, not 0$"):
        b.resize(0, 3)
    with pytest.raises(ValueError, match=r"^mode must be \"nearest\" or \"nearest-exact\""):
        b.resize(3, 3, "bilinear")


@settings(max_examples=120, deadline=None)
@given(stacks(), st.integers(0, 5), st.sampled_from(["square", "cross", "disk"]))
def test_morphology_equals_opencv(m: np.ndarray, r: int, shape: str) -> None:
    """cv2 with getStructuringElement((2r+1, 2r+1)) and BORDER_CONSTANT 0 at every step."""
    import cv2

    kinds = {"square": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS, "disk": cv2.MORPH_ELLIPSE}
    k = cv2.getStructuringElement(kinds[shape], (2 * r + 1, 2 * r + 1))
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}
    b = RleBatch.from_masks(m)

    def each(f: Any) -> np.ndarray:
        return np.stack([f(x) for x in m])

    dil = each(lambda x: cv2.dilate(x, k, **border))
    ero = each(lambda x: cv2.erode(x, k, **border))
    same(b.dilate(r, shape), dil)
    same(b.erode(r, shape), ero)
    same(b.opening(r, shape), each(lambda x: cv2.morphologyEx(x, cv2.MORPH_OPEN, k, **border)))
    same(b.closing(r, shape), each(lambda x: cv2.morphologyEx(x, cv2.MORPH_CLOSE, k, **border)))
    assert b.dilate(r, shape, threads=2) == b.dilate(r, shape)


def test_morphology_arguments() -> None:
    b = RleBatch.from_masks(np.ones((2, 4, 5), np.uint8))
    with pytest.raises(ValueError, match=r"^radius must be in 0\.\.=4294967295, not -1$"):
        b.dilate(-1)
    with pytest.raises(ValueError, match=r"^shape must be \"square\", \"cross\" or \"disk\""):
        b.erode(1, "diamond")
    # A radius past the image: everything (dilation of a non-empty mask) or nothing.
    assert b.dilate(10**6).area().tolist() == [20, 20]
    assert b.erode(10**6).area().tolist() == [0, 0]


@st.composite
def salted(draw: Any) -> np.ndarray:
    """Masks with many components: salt noise, blobs with holes, diagonal touches."""
    m = draw(stacks())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    for x in m:
        if draw(st.booleans()):
            x[...] = rng.random(x.shape) < 0.3  # salt: many small components
        if x.shape[0] > 4 and x.shape[1] > 4 and draw(st.booleans()):
            x[1:-1, 1:-1] = 1
            x[2:-2, 2:-2] = 0  # a ring with a hole
            x[x.shape[0] // 2, x.shape[1] // 2] = 1  # an island inside
        if draw(st.booleans()):
            # Foreground in a band of columns only (holes are looked for near it).
            lo, hi = sorted(draw(st.lists(st.integers(0, x.shape[1]), min_size=2, max_size=2)))
            x[:, :lo] = 0
            x[:, hi:] = 0
    return m


@settings(max_examples=150, deadline=None)
@given(salted(), st.sampled_from([4, 8]))
def test_components_equal_opencv(m: np.ndarray, connectivity: int) -> None:
    import cv2

    b = RleBatch.from_masks(m)
    comps, owners = b.components(connectivity)
    assert owners.dtype == np.int64 and len(owners) == len(comps)
    want, want_owners = [], []
    largest = []
    for i, x in enumerate(m):
        n, labels = cv2.connectedComponents(x, connectivity=connectivity)
        want += [labels == k for k in range(1, n)]
        want_owners += [i] * (n - 1)
        sizes = [np.count_nonzero(labels == k) for k in range(1, n)]
        largest.append(labels == int(np.argmax(sizes)) + 1 if sizes else np.zeros_like(x, bool))
    assert owners.tolist() == want_owners
    if want:
        same(comps, np.stack(want))
    same(b.largest_component(connectivity), np.stack(largest))


@settings(max_examples=150, deadline=None)
@given(salted(), st.sampled_from([1, 2, 3, 5, 10.5, 100]), st.sampled_from(["islands", "holes"]))
def test_remove_small_regions_equals_sam(m: np.ndarray, thresh: float, mode: str) -> None:
    from _sam_reference import remove_small_regions

    got, changed = RleBatch.from_masks(m).remove_small_regions(thresh, mode)
    assert changed.dtype == np.bool_ and changed.shape == (len(m),)
    for g, c, x in zip(got.decode(), changed, m, strict=True):
        want, want_changed = remove_small_regions(x.astype(bool), thresh, mode)
        np.testing.assert_array_equal(g, want)
        assert c == want_changed


def test_notches_open_to_the_side_are_not_holes() -> None:
    """Background pixels in the first and last columns of the foreground, open to the
    empty columns beside them: part of the outer background, not holes (holes are
    looked for in the foreground's columns only)."""
    from _sam_reference import remove_small_regions
    from scipy.ndimage import binary_fill_holes

    m = np.zeros((1, 10, 8), np.uint8)
    m[0, :, 2:6] = 1
    m[0, 5, 2] = 0  # a notch open to the left
    m[0, 3:5, 5] = 0  # and one open to the right
    m[0, 7, 3] = 0  # a real hole
    got, changed = RleBatch.from_masks(m).remove_small_regions(5, "holes")
    want, want_changed = remove_small_regions(m[0].astype(bool), 5, "holes")
    np.testing.assert_array_equal(got.decode()[0], want)
    assert changed[0] == want_changed
    assert want[5, 2] == 0 and want[3, 5] == 0 and want[7, 3] == 1
    same(RleBatch.from_masks(m).fill_holes(), binary_fill_holes(m[0])[None])


@settings(max_examples=150, deadline=None)
@given(salted())
def test_fill_holes_equals_scipy(m: np.ndarray) -> None:
    from scipy.ndimage import binary_fill_holes

    same(RleBatch.from_masks(m).fill_holes(), np.stack([binary_fill_holes(x) for x in m]))


def test_component_arguments() -> None:
    b = RleBatch.from_masks(np.ones((2, 4, 5), np.uint8))
    for bad in (0, 6, 9):
        with pytest.raises(ValueError, match=f"^connectivity must be 4 or 8, not {bad}$"):
            b.components(bad)
    with pytest.raises(ValueError, match=r"^mode must be \"islands\" or \"holes\""):
        b.remove_small_regions(3, "both")
    with pytest.raises(ValueError, match="NaN"):
        b.remove_small_regions(float("nan"))
    empty = RleBatch.from_masks(np.zeros((2, 4, 5), np.uint8))
    comps, owners = empty.components()
    assert len(comps) == 0 and comps.shape == (0, 4, 5) and owners.shape == (0,)
    assert empty.largest_component() == empty


@pytest.mark.parametrize("connectivity", [4, 8])
def test_thousands_of_components(connectivity: int) -> None:
    """Salt noise on an SA-1B-sized mask: thousands of components in OpenCV's order (its
    8-connected labels follow a scan of 2x2 blocks, not of pixels)."""
    import cv2

    rng = np.random.default_rng(11)
    m = (rng.random((1, 300, 450)) < 0.25).astype(np.uint8)
    n, labels = cv2.connectedComponents(m[0], connectivity=connectivity)
    assert n > 3000
    comps, owners = RleBatch.from_masks(m).components(connectivity, threads=2)
    assert len(comps) == n - 1 and (owners == 0).all()
    got = comps.decode()
    for k in (0, 1, 2, n // 2, n - 2):
        np.testing.assert_array_equal(got[k], labels == k + 1)
    np.testing.assert_array_equal(comps.area(), np.bincount(labels.ravel())[1:])


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["float16", "float32", "float64"]),
    st.integers(1, 3),
    st.integers(1, 20),
    st.integers(1, 20),
    st.sampled_from([0.0, 0.5, -1.0, 0.1, 1e-3]),
    st.integers(0, 2**32 - 1),
)
def test_logits(dtype: str, n: int, h: int, w: int, threshold: float, seed: int) -> None:
    """from_logits = from_masks(logits > threshold); stability_score = SAM's."""
    from _sam_reference import calculate_stability_score

    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, h, w)).astype(dtype)
    logits[0, 0, 0] = np.nan
    logits.flat[-1] = threshold  # (equal to the threshold: not above it)
    same(RleBatch.from_logits(logits, threshold), logits > threshold)
    same(RleBatch.from_logits(logits[0], threshold), (logits[0] > threshold)[None])
    same(RleBatch.from_logits(np.asfortranarray(logits), threshold), logits > threshold)
    got = sa1b_rle.stability_score(logits, threshold, 1.0)
    want = calculate_stability_score(logits, threshold, 1.0)
    assert got.dtype == np.float32 and got.shape == (n,)
    np.testing.assert_array_equal(got, want)


def test_logits_arguments() -> None:
    with pytest.raises(TypeError, match=r"^logits must be float16, float32 or float64, not int64$"):
        RleBatch.from_logits(np.zeros((2, 3, 3), np.int64))
    with pytest.raises(ValueError, match=r"^logits must have shape \(N, H, W\) or \(H, W\)"):
        sa1b_rle.stability_score(np.zeros(5, np.float32))
    empty = np.zeros((0, 4, 4), np.float32)
    assert RleBatch.from_logits(empty).shape == (0, 4, 4)
    assert sa1b_rle.stability_score(empty).shape == (0,)
    assert np.isnan(sa1b_rle.stability_score(np.full((1, 2, 2), -5.0, np.float32))).all()
