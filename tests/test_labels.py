"""from_label_image: instance label maps to one RLE per value, against pycocotools.

Each mask must equal ``pycocotools.mask.encode(np.asfortranarray(label == v))``, for every
supported dtype and memory order, on random maps and on real ones (segmentations of the
SAM notebook photographs in the bundled sample); PNG decoding must give Pillow's pixel
values exactly.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import sa1b_rle
from sa1b_rle import _core, cli, sa1b

DTYPES = [np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.int64, np.uint64]


def expected(label: np.ndarray, background: int = 0) -> tuple[list[int], list[dict[str, Any]]]:
    values = [int(v) for v in np.unique(label) if v != background]
    return values, [pm.encode(np.asfortranarray((label == v).astype(np.uint8))) for v in values]


def check(label: np.ndarray, got: tuple[Any, Any], background: int = 0) -> None:
    values, masks = got
    want_values, want = expected(label, background)
    assert values.dtype == np.int64 and values.tolist() == want_values
    assert masks.shape == (len(want_values), *label.shape[:2])
    assert masks.to_coco(counts="bytes") == want


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(DTYPES),
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    st.integers(1, 300),
    st.sampled_from(["C", "F", "strided"]),
    st.integers(0, 2**32 - 1),
)
def test_random_label_maps(
    dtype: Any, shape: tuple[int, int], k: int, order: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    hi = min(k, np.iinfo(dtype).max)
    # Blocky maps (instances span several pixels and columns) and noisy ones.
    small = rng.integers(0, hi + 1, size=(max(1, shape[0] // 3), max(1, shape[1] // 3)))
    label = np.kron(small, np.ones((3, 3), np.int64))[: shape[0], : shape[1]]
    if label.shape != shape:
        label = rng.integers(0, hi + 1, size=shape)
    label = label.astype(dtype)
    if order == "F":
        label = np.asfortranarray(label)
    elif order == "strided":
        label = np.repeat(label, 2, axis=1)[:, ::2]
    check(label, sa1b_rle.from_label_image(label))
    if np.issubdtype(dtype, np.signedinteger):
        check(label, sa1b_rle.from_label_image(label, background=-1), background=-1)
    check(label, sa1b_rle.from_label_image(label, background=1), background=1)


def real_label_maps() -> list[np.ndarray]:
    """Instance maps of the sample's photographs: each pixel labelled with the smallest
    mask covering it (larger ones painted first), ids as stored; the largest masks are
    left out so that some background remains."""
    maps = []
    for _, _, img in sa1b.iter_shard(cli.sample_path()):
        label = np.zeros((img.height, img.width), np.uint16)
        masks = img.decode()
        for k in np.argsort(-img.area)[3:]:
            label[masks[k].astype(bool)] = img.ids[k]
        maps.append(label)
    return maps


def test_real_label_maps_every_dtype_and_order(tmp_path: Path) -> None:
    for label in real_label_maps():
        assert len(np.unique(label)) > 40
        for dtype in (np.uint16, np.int32, np.uint32, np.int64):
            a = label.astype(dtype)
            check(a, sa1b_rle.from_label_image(a))
            check(a, sa1b_rle.from_label_image(np.asfortranarray(a)))
        # As a 16-bit grey PNG, decoded in Rust.
        path = tmp_path / "label.png"
        Image.fromarray(label).save(path)
        check(label, sa1b_rle.from_label_image(path))
        # And colour-coded as RGB (id 0 is black, the background).
        rgb = np.stack([(label >> 8) & 255, label & 255, (label * 7) & 255], -1).astype(np.uint8)
        code = rgb[..., 0].astype(np.int64) << 16 | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2]
        check(code, sa1b_rle.from_label_image(rgb))
        Image.fromarray(rgb).save(path)
        check(code, sa1b_rle.from_label_image(path))


@pytest.mark.parametrize("mode", ["1", "L", "P", "I;16", "RGB", "RGBA"])
def test_png_values_equal_pillows(mode: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    h, w = 37, 53
    if mode in ("1", "L", "P"):
        hi = {"1": 2, "L": 256, "P": 40}[mode]
        a = rng.integers(0, hi, (h, w)).astype(np.uint8)
        im = (
            Image.fromarray(a * 255 if mode == "1" else a, "L").convert(mode)
            if mode == "1"
            else Image.fromarray(a, "L")
        )
        if mode == "P":
            im = im.convert("P")
            im.putpalette(list(rng.integers(0, 256, 768).astype(np.uint8)))
    elif mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (h, w)).astype(np.uint16))
    else:
        im = Image.fromarray(rng.integers(0, 4, (h, w, len(mode))).astype(np.uint8) * 60, mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    data = buf.getvalue()
    ours = _core.png_label_values(data)
    back = np.asarray(Image.open(io.BytesIO(data)))
    if mode in ("RGB", "RGBA"):
        back = (
            back[..., 0].astype(np.int64) << 16 | back[..., 1].astype(np.int64) << 8 | back[..., 2]
        )
    assert np.array_equal(ours, back.astype(np.int64)), mode
    path = tmp_path / "x.png"
    path.write_bytes(data)
    check(back.astype(np.int64), sa1b_rle.from_label_image(path))


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="integer dtype"):
        sa1b_rle.from_label_image(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        sa1b_rle.from_label_image(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        sa1b_rle.from_label_image(np.zeros((3, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="below 2\\*\\*63"):
        sa1b_rle.from_label_image(np.full((2, 2), 2**63, np.uint64))
    jpg = tmp_path / "x.jpg"
    jpg.write_bytes(b"\xff\xd8\xff\xe0 not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        sa1b_rle.from_label_image(jpg)
    png = tmp_path / "x.png"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, "PNG")
    png.write_bytes(buf.getvalue()[:-20])
    with pytest.raises(ValueError, match="image"):
        sa1b_rle.from_label_image(png)
    la = tmp_path / "la.png"
    Image.fromarray(np.zeros((4, 4, 2), np.uint8), "LA").save(la)
    with pytest.raises(ValueError, match="not label images"):
        sa1b_rle.from_label_image(la)
    with pytest.raises(FileNotFoundError):
        sa1b_rle.from_label_image(tmp_path / "missing.png")
    # Empty and all-background images give no masks of the right size.
    values, masks = sa1b_rle.from_label_image(np.zeros((5, 6), np.uint8))
    assert values.tolist() == [] and masks.shape == (0, 5, 6)


# ---------------------------------------------------------------------------------------
# Binary mask images.


def pillow_mask(data: bytes, threshold: int = 127) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L")) > threshold


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1"])
def test_png_masks_equal_pillows(mode: str) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(100, 160, (41, 29, 3)).astype(np.uint8)  # levels around 127
    im = Image.fromarray(a, "RGB").convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    data = buf.getvalue()
    for t in (0, 120, 127, 140):
        want = pillow_mask(data, t)
        got = sa1b_rle.from_mask_image(data, threshold=t)
        assert got.shape == (1, 41, 29)
        assert np.array_equal(got.decode()[0], want), (mode, t)
        inv = sa1b_rle.from_mask_image(data, threshold=t, invert=True)
        assert np.array_equal(inv.decode()[0], ~want)


def test_jpeg_masks_agree_with_pillow(tmp_path: Path) -> None:
    for _, jpg, _ in sa1b.iter_shard(cli.sample_path()):
        want = pillow_mask(jpg)
        path = tmp_path / "x.jpg"
        path.write_bytes(jpg)
        got = sa1b_rle.from_mask_image(path).decode()[0].astype(bool)
        assert got.shape == want.shape
        assert (got == want).mean() >= 0.999
        # And as the RLE pycocotools would make of Pillow's mask, nearly.
        assert abs(int(got.sum()) - int(want.sum())) <= 0.001 * want.size


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False),
        st.integers(-(2**70), 2**70),
        st.sampled_from([-1.0, -0.5, -1e-300, 0.0, 0.5, 126.9, 127.0, 254.5, 255.0, 255.5]),
    ),
    st.booleans(),
)
def test_image_files_threshold_as_their_arrays(threshold: float, invert: bool) -> None:
    """A file's grey levels take any real threshold as the same levels in an array do
    (-0.5 keeps level 0 as foreground; int() once made it 0; huge ones clamp)."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (9, 13)).astype(np.uint8)
    a[0, :3] = [0, 255, 127]
    buf = io.BytesIO()
    Image.fromarray(a, "L").save(buf, "PNG")
    got = sa1b_rle.from_mask_image(buf.getvalue(), threshold=threshold, invert=invert)
    want = sa1b_rle.from_mask_image(a, threshold=threshold, invert=invert)
    assert got == want


def test_threshold_is_a_number() -> None:
    a = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match=r"^threshold must be a number, not NaN$"):
        sa1b_rle.from_mask_image(b"", threshold=float("nan"))
    with pytest.raises(TypeError, match=r"^threshold must be a real number, not str$"):
        sa1b_rle.from_mask_image(a, threshold="1")  # type: ignore[arg-type]


def components_oracle(m: np.ndarray, min_area: int) -> np.ndarray:
    """8-connected components smaller than min_area cleared, by a plain flood fill."""
    out = m.copy()
    seen = np.zeros_like(m, bool)
    h, w = m.shape
    for y0 in range(h):
        for x0 in range(w):
            if not m[y0, x0] or seen[y0, x0]:
                continue
            comp, stack = [], [(y0, x0)]
            seen[y0, x0] = True
            while stack:
                y, x = stack.pop()
                comp.append((y, x))
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        ny, nx = y + dy, x + dx
                        if 0 <= ny < h and 0 <= nx < w and m[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
            if len(comp) < min_area:
                for y, x in comp:
                    out[y, x] = False
    return out


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=25)),
    st.integers(0, 12),
)
def test_min_component_area(m: np.ndarray, min_area: int) -> None:
    got = sa1b_rle.from_mask_image(m, threshold=0, min_component_area=min_area).decode()[0]
    assert np.array_equal(got.astype(bool), components_oracle(m, min_area))
    f = sa1b_rle.from_mask_image(np.asfortranarray(m), threshold=0, min_component_area=min_area)
    assert np.array_equal(f.decode()[0], got)


def test_mask_arrays_and_bad_inputs(tmp_path: Path) -> None:
    a = np.array([[0.1, 0.9], [0.6, 0.2]])
    assert sa1b_rle.from_mask_image(a, threshold=0.5).decode()[0].tolist() == [[0, 1], [1, 0]]
    rgb = np.array([[[255, 255, 255], [0, 0, 0]]], np.uint8)
    assert sa1b_rle.from_mask_image(rgb).decode()[0].tolist() == [[1, 0]]
    m = sa1b_rle.from_mask_image(rgb)
    assert m.to_coco(counts="bytes") == [pm.encode(np.asfortranarray(np.array([[1, 0]], np.uint8)))]
    with pytest.raises(TypeError):
        sa1b_rle.from_mask_image(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        sa1b_rle.from_mask_image(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="min_component_area"):
        sa1b_rle.from_mask_image(a, min_component_area=-1)
    with pytest.raises(ValueError, match="image"):
        sa1b_rle.from_mask_image(b"not an image at all")
    _, jpg, _ = next(iter(sa1b.iter_shard(cli.sample_path())))
    with pytest.raises(ValueError, match="image"):
        sa1b_rle.from_mask_image(jpg[: len(jpg) // 3])


def test_png_label_values_honour_the_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The label reader's pixel limit is the one every image decode reads: the argument,
    else SA1B_RLE_MAX_IMAGE_PIXELS, else the default."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((10, 20), np.uint8), "L").save(buf, "PNG")
    data = buf.getvalue()
    assert _core.png_label_values(data).shape == (10, 20)
    monkeypatch.setenv("SA1B_RLE_MAX_IMAGE_PIXELS", "199")
    with pytest.raises(ValueError, match="200"):
        _core.png_label_values(data)
    assert _core.png_label_values(data, max_pixels=200).shape == (10, 20)
    with pytest.raises(ValueError, match="max_pixels"):
        _core.png_label_values(data, max_pixels=0)
