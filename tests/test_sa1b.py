"""sa1b_rle.sa1b: SA-1B annotation files loaded into columns, and validated.

The files are built in SA-1B's format from real masks (the compressed RLEs of cocoapi's
fake segmentation results in tests/data), with boxes and areas from pycocotools; every
kind of problem is then introduced one at a time.
"""

from __future__ import annotations

import copy
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
import pytest
from _streams import Pipe
from hypothesis import given, settings
from hypothesis import strategies as st

import sa1b_rle
from sa1b_rle import sa1b

DATA = Path(__file__).parent / "data"


def sa1b_docs() -> list[dict[str, Any]]:
    """One SA-1B-format document per image of the real fake-segmentation results."""
    results = json.loads((DATA / "coco_instances_val2014_fakesegm100_results.json").read_text())
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_image[r["image_id"]].append(r)
    docs = []
    next_id = 1000
    for image_id, rs in sorted(by_image.items()):
        h, w = rs[0]["segmentation"]["size"]
        anns = []
        for k, r in enumerate(rs):
            rle = {"size": [h, w], "counts": r["segmentation"]["counts"].encode()}
            m = pm.decode(rle)
            ys, xs = np.nonzero(m)
            point = [float(xs[0]) + 0.5, float(ys[0]) + 0.5] if len(xs) else [0.0, 0.0]
            anns.append(
                {
                    "id": next_id,
                    "segmentation": {"size": [h, w], "counts": r["segmentation"]["counts"]},
                    "bbox": [float(x) for x in pm.toBbox(rle)],
                    "area": int(pm.area(rle)),
                    "predicted_iou": min(1.0, float(r["score"])),
                    "stability_score": (k % 10) / 10,
                    "point_coords": [point],
                    "crop_box": [0.0, 0.0, float(w), float(h)],
                }
            )
            next_id += 1
        docs.append(
            {
                "image": {
                    "image_id": image_id,
                    "width": w,
                    "height": h,
                    "file_name": f"sa_{image_id}.jpg",
                },
                "annotations": anns,
            }
        )
    return docs


DOCS = sa1b_docs()
# The image with the most annotations, for the single-file tests.
DOC = max(DOCS, key=lambda d: len(d["annotations"]))


def dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_real_masks_load_into_columns() -> None:
    assert len(DOCS) > 50 and len(DOC["annotations"]) > 5
    for doc in DOCS:
        img = sa1b.load(dump(doc))
        anns = doc["annotations"]
        assert len(img) == len(anns)
        assert (img.image_id, img.width, img.height, img.file_name) == tuple(
            doc["image"][k] for k in ("image_id", "width", "height", "file_name")
        )
        assert img.ids.dtype == np.int64 and img.ids.tolist() == [a["id"] for a in anns]
        assert img.area.dtype == np.int64 and img.area.tolist() == [a["area"] for a in anns]
        assert img.bbox.shape == (len(anns), 4) and img.bbox.dtype == np.float64
        np.testing.assert_array_equal(img.bbox, [a["bbox"] for a in anns])
        np.testing.assert_array_equal(img.predicted_iou, [a["predicted_iou"] for a in anns])
        np.testing.assert_array_equal(img.stability_score, [a["stability_score"] for a in anns])
        np.testing.assert_array_equal(img.point_coords, [a["point_coords"][0] for a in anns])
        np.testing.assert_array_equal(img.crop_box, [a["crop_box"] for a in anns])
        rles = [
            {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
            for a in anns
        ]
        want = pm.decode(rles).transpose(2, 0, 1)
        np.testing.assert_array_equal(img.decode(), want)
        np.testing.assert_array_equal(img.masks.decode(), want)
        assert img.to_dict() == doc
        assert len(sa1b.validate(dump(doc))) == 0


def test_sources(tmp_path: Path) -> None:
    path = tmp_path / "sa_1.json"
    path.write_bytes(dump(DOC))
    want = sa1b.load(dump(DOC)).to_dict()
    for source in (path, str(path), bytearray(dump(DOC)), memoryview(dump(DOC))):
        assert sa1b.load(source).to_dict() == want
    with open(path, "rb") as f:
        assert sa1b.load(f).to_dict() == want
    assert sa1b.load(io.BytesIO(dump(DOC))).to_dict() == want
    with open(path) as text, pytest.raises(TypeError, match="binary mode"):
        sa1b.load(text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path, bytes or a binary file"):
        sa1b.load(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        sa1b.load(tmp_path / "missing.json")
    # Problems name the file they came from.
    bad = copy.deepcopy(DOC)
    bad["annotations"][0]["area"] += 1
    path.write_bytes(dump(bad))
    assert str(sa1b.validate(path)[0]).startswith(f"{path}: annotation 0 (id ")


def mutated(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    change(doc)
    return doc


A0 = DOC["annotations"][0]
ID0 = A0["id"]
H, W = DOC["image"]["height"], DOC["image"]["width"]


def set_ann(key: str, value: Any, i: int = 0) -> Any:
    return lambda d: d["annotations"][i].__setitem__(key, value)


def del_ann(key: str) -> Any:
    return lambda d: d["annotations"][0].pop(key)


CONTENT = [
    # (change, code, field, message fragment)
    (
        set_ann("area", A0["area"] + 1),
        "area",
        "annotations[0].area",
        "differs from the mask's area",
    ),
    (
        set_ann("bbox", [0.0, 0.0, 1.0, 1.0]),
        "bbox",
        "annotations[0].bbox",
        "differs from the mask's box",
    ),
    (set_ann("predicted_iou", 1.5), "range", "annotations[0].predicted_iou", "outside [0, 1]"),
    (set_ann("stability_score", -0.1), "range", "annotations[0].stability_score", "outside [0, 1]"),
    (
        set_ann("point_coords", [[W + 1.0, 0.0]]),
        "outside",
        "annotations[0].point_coords",
        "outside",
    ),
    (set_ann("crop_box", [10.0, 0.0, W, H]), "outside", "annotations[0].crop_box", "not inside"),
    (set_ann("id", ID0, 1), "duplicate", "annotations[1].id", "duplicate id (also annotation 0)"),
]

STRUCTURAL = [
    (del_ann("bbox"), "missing", "annotations[0].bbox", "missing"),
    (del_ann("segmentation"), "missing", "annotations[0].segmentation", "missing"),
    (del_ann("point_coords"), "missing", "annotations[0].point_coords", "missing"),
    (set_ann("area", "12"), "type", "annotations[0].area", "expected an integer"),
    (set_ann("bbox", [1, 2, 3]), "type", "annotations[0].bbox", "expected a list of 4 numbers"),
    (
        set_ann("point_coords", [[1.0, 2.0], [3.0, 4.0]]),
        "type",
        "annotations[0].point_coords",
        "one [x, y]",
    ),
    (set_ann("predicted_iou", None), "type", "annotations[0].predicted_iou", "expected a number"),
    (
        set_ann("segmentation", {"size": [H + 1, W], "counts": A0["segmentation"]["counts"]}),
        "size",
        "annotations[0].segmentation.size",
        "is not the image's",
    ),
    (
        set_ann("segmentation", {"size": [H, W], "counts": "!" + A0["segmentation"]["counts"]}),
        "counts",
        "annotations[0].segmentation.counts",
        "",
    ),
    (
        set_ann("segmentation", {"size": [H, W], "counts": A0["segmentation"]["counts"][:-3]}),
        "counts",
        "annotations[0].segmentation.counts",
        "",
    ),
    (lambda d: d["image"].pop("width"), "missing", "image.width", "missing"),
    (lambda d: d["image"].__setitem__("height", -3), "type", "image.height", "negative"),
    (lambda d: d.__setitem__("annotations", {}), "type", "annotations", "expected a list"),
]


@pytest.mark.parametrize(("change", "code", "field", "fragment"), CONTENT)
def test_content_problems(change: Any, code: str, field: str, fragment: str) -> None:
    data = dump(mutated(change))
    report = sa1b.validate(data)
    assert [(p.code, p.field) for p in report] == [(code, field)], str(report)
    p = report[0]
    assert fragment in p.message
    if p.index is not None:
        assert p.id == DOC["annotations"][p.index]["id"] or code == "duplicate"
    assert p.file == "<bytes>" and str(p).startswith("<bytes>: annotation ")
    with pytest.raises(sa1b.Sa1bValidationError) as e:
        sa1b.load(data)
    assert isinstance(e.value, ValueError) and list(e.value.report) == list(report)
    # Without validation the stored values are taken as they are.
    assert len(sa1b.load(data, validate=False)) == len(DOC["annotations"])


@pytest.mark.parametrize(("change", "code", "field", "fragment"), STRUCTURAL)
def test_structural_problems(change: Any, code: str, field: str, fragment: str) -> None:
    data = dump(mutated(change))
    report = sa1b.validate(data)
    assert (code, field) in [(p.code, p.field) for p in report], str(report)
    assert fragment in next(p.message for p in report if p.field == field)
    for check in (True, False):
        with pytest.raises(ValueError, match="<bytes>"):
            sa1b.load(data, validate=check)


def test_every_problem_of_a_file_is_listed() -> None:
    def many(d: dict[str, Any]) -> None:
        d["annotations"][0]["area"] += 1
        d["annotations"][1]["predicted_iou"] = 2.0
        d["annotations"][2].pop("crop_box")

    report = sa1b.validate(dump(mutated(many)))
    assert [p.index for p in report] == [0, 1, 2]
    assert json.loads(report.to_json())["problems"][2] == {
        "file": "<bytes>",
        "index": 2,
        "id": DOC["annotations"][2]["id"],
        "field": "annotations[2].crop_box",
        "code": "missing",
        "message": "missing",
    }
    assert len(str(report).splitlines()) == 3


def test_invalid_json_names_the_byte_offset() -> None:
    data = dump(DOC)
    report = sa1b.validate(data[:1000])
    assert [p.code for p in report] == ["json"]
    assert report[0].message.startswith("invalid JSON at byte 1000:")
    bad = data[:500] + b"#" + data[501:]
    assert sa1b.validate(bad)[0].message.startswith("invalid JSON at byte 500:")
    assert sa1b.validate(b"[1, 2]")[0].message == "the file is not a JSON object"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=2, max_size=2),
    st.integers(1, 17),
    st.sampled_from(["repr", "fixed", "exp"]),
)
def test_floats_parse_exactly_as_python(scores: list[float], digits: int, form: str) -> None:
    # Scores written with any number of digits (SA-1B's files have 16-17) parse to the
    # same double as Python's json (correct rounding, not a fast approximation).
    def text(x: float) -> str:
        if form == "repr":
            return repr(x)
        if form == "fixed":
            return f"{x:.{digits}f}"
        return f"{x:.{digits}e}"

    doc = json.loads(json.dumps(DOC))
    doc["annotations"] = doc["annotations"][:1]
    raw = dump(doc)
    a = doc["annotations"][0]
    for key, x in zip(("predicted_iou", "stability_score"), scores, strict=True):
        raw = raw.replace(f'"{key}": {json.dumps(a[key])}'.encode(), f'"{key}": {text(x)}'.encode())
    want = json.loads(raw)["annotations"][0]
    img = sa1b.load(raw, validate=False)
    assert img.predicted_iou[0] == want["predicted_iou"]
    assert img.stability_score[0] == want["stability_score"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_files_never_crash(data: st.DataObject) -> None:
    raw = bytearray(dump(DOC))
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=4)
    )
    for at, b in flips:
        raw[at] = b
    raw = raw[:cut]
    report = sa1b.validate(bytes(raw))
    if len(report) == 0:
        img = sa1b.load(bytes(raw))
        assert len(img.masks) == len(img)
    else:
        with pytest.raises(ValueError):
            sa1b.load(bytes(raw))


def test_filter_and_select() -> None:
    img = sa1b.load(dump(DOC))
    area, piou, stab = img.area, img.predicted_iou, img.stability_score
    cases = [
        {},
        {"min_predicted_iou": float(np.median(piou))},
        {"min_stability_score": 0.5},
        {"min_area": int(np.median(area)), "max_area": int(area.max())},
        {"max_area": int(np.median(area)), "min_predicted_iou": 0.0},
    ]
    for kw in cases:
        keep = np.ones(len(img), bool)
        keep &= piou >= kw.get("min_predicted_iou", -np.inf)
        keep &= stab >= kw.get("min_stability_score", -np.inf)
        keep &= area >= kw.get("min_area", -np.inf)
        keep &= area <= kw.get("max_area", np.inf)
        got = img.filter(**kw)
        assert got.ids.tolist() == img.ids[keep].tolist(), kw
        np.testing.assert_array_equal(got.decode(), img.decode()[keep])
        np.testing.assert_array_equal(got.bbox, img.bbox[keep])
    sel = img.select([2, 0, -1])
    assert sel.ids.tolist() == [img.ids[2], img.ids[0], img.ids[-1]]
    np.testing.assert_array_equal(img.decode(indices=[2, 0]), img.decode()[[2, 0]])
    with pytest.raises(IndexError):
        img.select([len(img)])
    assert "annotations" in repr(img)


def test_module_examples() -> None:
    import doctest

    assert doctest.testmod(sa1b).failed == 0


# ---------------------------------------------------------------------------------------
# Shards: tar archives of sa_N.jpg + sa_N.json.


def fake_jpeg(key: str, size: int = 3000) -> bytes:
    """Image payload bytes (never decoded here), distinct per key."""
    return b"\xff\xd8" + (key.encode() * size)[:size] + b"\xff\xd9"


def make_shard(
    path: Path,
    members: list[tuple[str, bytes]],
    *,
    gz: bool = False,
) -> Path:
    import tarfile

    with tarfile.open(path, "w:gz" if gz else "w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def shard_members(
    docs: list[dict[str, Any]], *, json_first: bool = False
) -> list[tuple[str, bytes]]:
    out = []
    for d in docs:
        key = f"sa_{d['image']['image_id']}"
        pair = [(f"{key}.jpg", fake_jpeg(key)), (f"{key}.json", dump(d))]
        out += pair[::-1] if json_first else pair
    return out


SHARD_DOCS = DOCS[:6]


def check_samples(samples: list[Any], docs: list[dict[str, Any]], images: bool = True) -> None:
    assert [k for k, _, _ in samples] == [f"sa_{d['image']['image_id']}" for d in docs]
    for (key, jpg, img), d in zip(samples, docs, strict=True):
        assert jpg == (fake_jpeg(key) if images else None)
        assert img.to_dict() == d


@pytest.mark.parametrize("gz", [False, True])
def test_shard_samples(tmp_path: Path, gz: bool) -> None:
    # Named .tar either way: gzip is recognised by its magic bytes.
    path = make_shard(tmp_path / "sa_000000.tar", shard_members(SHARD_DOCS), gz=gz)
    reader = sa1b.iter_shard(path)
    check_samples(list(reader), SHARD_DOCS)
    assert reader.counts == (len(SHARD_DOCS), 0) and reader.errors == []
    with open(path, "rb") as f:
        check_samples(list(sa1b.iter_shard(f, images=False)), SHARD_DOCS, images=False)

    check_samples(list(sa1b.iter_shard(Pipe(path.read_bytes()))), SHARD_DOCS)


def test_shard_members_pair_in_any_order(tmp_path: Path) -> None:
    members = shard_members(SHARD_DOCS, json_first=True)
    # All annotation files first, then all images in reverse order.
    members = [m for m in members if m[0].endswith(".json")] + [
        m for m in members[::-1] if m[0].endswith(".jpg")
    ]
    path = make_shard(tmp_path / "s.tar", members)
    samples = sorted(sa1b.iter_shard(path), key=lambda s: s[0])
    docs = sorted(SHARD_DOCS, key=lambda d: f"sa_{d['image']['image_id']}")
    check_samples(samples, docs)


def test_images_false_skips_the_payloads(tmp_path: Path) -> None:
    big = [
        (n, fake_jpeg(n, 2_000_000) if n.endswith(".jpg") else b)
        for n, b in shard_members(SHARD_DOCS)
    ]
    path = make_shard(tmp_path / "s.tar", big)

    class Counting(io.FileIO):
        read_bytes = 0

        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

        def readinto(self, buf: Any) -> int:
            n = super().readinto(buf)
            Counting.read_bytes += n or 0
            return n

    with Counting(path) as f:
        samples = list(sa1b.iter_shard(f, images=False))
    assert len(samples) == len(SHARD_DOCS)
    json_bytes = sum(len(b) for n, b in big if n.endswith(".json"))
    assert Counting.read_bytes < json_bytes + 200_000 < path.stat().st_size // 10


def test_bad_members_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    good = SHARD_DOCS[:3]
    bad_doc = copy.deepcopy(SHARD_DOCS[3])
    bad_doc["annotations"][0]["area"] += 1
    members = shard_members(good)
    members += shard_members([bad_doc])  # an invalid annotation file (and its image)
    members.append(("sa_lonely.jpg", fake_jpeg("x")))  # an image without annotations
    members.append(("sa_orphan.json", dump(SHARD_DOCS[4])))  # annotations without image
    members.append(("README.txt", b"hello"))  # not an SA-1B member
    members.append(("sa_broken.json", b'{"image": '))  # invalid JSON
    members.append(("sa_broken.jpg", fake_jpeg("b")))
    path = make_shard(tmp_path / "s.tar", members)

    with pytest.raises(sa1b.Sa1bShardError) as e:
        list(sa1b.iter_shard(path))
    assert e.value.member == f"sa_{bad_doc['image']['image_id']}.json"
    assert "differs from the mask's area" in str(e.value) and str(path) in str(e.value)

    reader = sa1b.iter_shard(path, on_error="collect")
    check_samples(list(reader), good)
    bad = dict(reader.errors)
    key = f"sa_{bad_doc['image']['image_id']}"
    assert set(bad) == {
        f"{key}.json",
        f"{key}.jpg",
        "sa_lonely.jpg",
        "sa_orphan.json",
        "README.txt",
        "sa_broken.json",
        "sa_broken.jpg",
    }
    assert bad["sa_broken.json"].startswith("invalid annotation file: sa_broken.json: invalid JSON")
    assert bad["sa_lonely.jpg"] == "image without its annotation file"
    assert bad["sa_orphan.json"] == "annotation file without its image"
    # Nothing silently dropped: every member is in a sample or in the errors.
    assert 2 * reader.counts.samples + reader.counts.bad_members == len(members)
    with pytest.raises(ValueError, match="on_error"):
        sa1b.iter_shard(path, on_error="ignore")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_shards(tmp_path: Path, gz: bool) -> None:
    members = shard_members(SHARD_DOCS)
    full = make_shard(tmp_path / "full.tar", members, gz=gz).read_bytes()
    # Cut inside the fourth sample's image (uncompressed), or two thirds in (gzip).
    cut_at = (
        2 * len(full) // 3
        if gz
        else 512 * 2 * 3 + sum(512 + -(-len(b) // 512) * 512 for _, b in members[:6])
    )
    cut = tmp_path / "cut.tar"
    cut.write_bytes(full[:cut_at])
    with pytest.raises(sa1b.Sa1bShardError, match="truncated or corrupt"):
        list(sa1b.iter_shard(cut))
    reader = sa1b.iter_shard(cut, on_error="collect")
    samples = list(reader)
    # Every sample complete before the cut (plain: the first three; the gzip cut point
    # in the uncompressed stream is not known here).
    assert len(samples) == 3 if not gz else 1 <= len(samples) < len(SHARD_DOCS)
    check_samples(samples, SHARD_DOCS[: len(samples)])
    assert any("truncated or corrupt" in m for _, m in reader.errors)


# ---------------------------------------------------------------------------------------
# Conversion to one COCO instances file.


def test_to_coco_loads_in_pycocotools(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    files = tmp_path / "files"
    files.mkdir()
    for d in DOCS[:20]:
        (files / f"sa_{d['image']['image_id']}.json").write_bytes(dump(d))
    shard = make_shard(tmp_path / "sa_000001.tar", shard_members(DOCS[20:30]), gz=True)
    out = tmp_path / "coco.json"
    summary = sa1b.to_coco([files, shard], out)
    docs = DOCS[:30]
    n_anns = sum(len(d["annotations"]) for d in docs)
    assert summary == (30, n_anns, [])
    # A counts string holding a backslash (the one character JSON escapes) is among them.
    assert any("\\" in a["segmentation"]["counts"] for d in docs for a in d["annotations"])
    coco = COCO(str(out))
    assert sorted(coco.getImgIds()) == sorted(d["image"]["image_id"] for d in docs)
    assert coco.loadCats(coco.getCatIds()) == [
        {"id": 1, "name": "object", "supercategory": "object"}
    ]
    anns = coco.loadAnns(coco.getAnnIds())
    assert sorted(a["id"] for a in anns) == list(range(1, n_anns + 1))
    by_sa1b_id = {a["sa1b_id"]: a for a in anns}
    for d in docs:
        img = coco.loadImgs(d["image"]["image_id"])[0]
        assert (img["width"], img["height"], img["file_name"]) == (
            d["image"]["width"],
            d["image"]["height"],
            d["image"]["file_name"],
        )
        for a in d["annotations"]:
            c = by_sa1b_id[a["id"]]
            assert c["image_id"] == d["image"]["image_id"] and c["iscrowd"] == 0
            assert c["category_id"] == 1 and c["area"] == a["area"] and c["bbox"] == a["bbox"]
            for k in ("predicted_iou", "stability_score", "point_coords", "crop_box"):
                assert c[k] == a[k]
            want = pm.decode(
                {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
            )
            np.testing.assert_array_equal(coco.annToMask(c), want)
    assert not (tmp_path / "coco.json.images.tmp").exists()


def test_to_coco_filters_and_reports(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    for d in DOCS[:5]:
        (files / f"sa_{d['image']['image_id']}.json").write_bytes(dump(d))
    bad = copy.deepcopy(DOCS[5])
    bad["annotations"][0]["bbox"] = [0, 0, 1, 1]
    (files / "sa_bad.json").write_bytes(dump(bad))
    out = tmp_path / "coco.json"
    with pytest.raises(sa1b.Sa1bValidationError, match=r"sa_bad\.json"):
        sa1b.to_coco(files, out)
    assert not out.exists()
    summary = sa1b.to_coco(files, out, filter={"min_stability_score": 0.5}, on_error="collect")
    keep = [a for d in DOCS[:5] for a in d["annotations"] if a["stability_score"] >= 0.5]
    assert summary.images == 5 and summary.annotations == len(keep)
    assert [n for n, _ in summary.errors] == [str(files / "sa_bad.json")]
    written = json.loads(out.read_text())
    assert sorted(a["sa1b_id"] for a in written["annotations"]) == sorted(a["id"] for a in keep)
    summary = sa1b.to_coco(
        files / "sa_bad.json", out, filter=lambda im: im.select([]), on_error="collect"
    )
    assert summary.images == 0 and len(summary.errors) == 1
    assert json.loads(out.read_text())["annotations"] == []


def test_images_pickle() -> None:
    import pickle

    img = sa1b.load(dump(DOC)).filter(min_stability_score=0.3)
    back = pickle.loads(pickle.dumps(img))
    assert back.to_dict() == img.to_dict()
    assert np.array_equal(back.decode(), img.decode())
    assert back.masks == img.masks


def test_image_pickle_is_its_file_and_is_checked() -> None:
    import pickle

    img = sa1b.load(dump(DOC))
    back = pickle.loads(pickle.dumps(img))
    assert back.to_json() == img.to_json()
    assert json.loads(img.to_json()) == img.to_dict()
    assert back.masks == img.masks
    with pytest.raises(sa1b_rle.RleError, match="invalid JSON"):
        type(img)._from_json(img.to_json()[:-5])


def test_errors_pickle() -> None:
    # For multiprocessing and Ray tasks, which send exceptions back pickled.
    import pickle

    e = sa1b.Sa1bShardError("s.tar", "sa_1.json", "invalid annotation file")
    back = pickle.loads(pickle.dumps(e))
    assert (back.shard, back.member, back.message, str(back)) == (
        "s.tar",
        "sa_1.json",
        "invalid annotation file",
        str(e),
    )
    with pytest.raises(sa1b.Sa1bValidationError) as info:
        sa1b.load(b'{"image": 1}')
    back_v = pickle.loads(pickle.dumps(info.value))
    assert str(back_v) == str(info.value) and list(back_v.report) == list(info.value.report)


def test_statistics_and_validate_all_are_the_library_behind_the_commands() -> None:
    from sa1b_rle.cli import sample_path

    images = [img for _, _, img in sa1b.iter_shard(sample_path(), images=False)]
    seen: list[int] = []
    stats = sa1b.statistics(sample_path(), decode=False, on_image=lambda: seen.append(1))
    assert stats["images"] == len(images) == len(seen)
    assert stats["masks"] == sum(len(i) for i in images)
    assert stats["area"]["max"] == max(int(i.area.max()) for i in images)
    assert "decode" not in stats
    assert "decode" in sa1b.statistics(sample_path())
    checked, problems = sa1b.validate_all(sample_path())
    assert (checked, problems) == (len(images), [])


def test_index_shard_reads_members_by_offset(tmp_path: Path) -> None:
    """The random-access index (what ``sa1b_rle.torch`` reads by): every sample's
    members at offsets that hold their bytes, by key."""
    members = shard_members(SHARD_DOCS, json_first=True)
    path = make_shard(tmp_path / "s.tar", members)
    entries = sa1b.index_shard(path)
    keys = sorted(f"sa_{d['image']['image_id']}" for d in SHARD_DOCS)
    assert [e.key for e in entries] == keys
    data = path.read_bytes()
    by_name = dict(members)
    for e in entries:
        (a, n), image_at = e.json_at, e.image_at
        assert data[a : a + n] == by_name[f"{e.key}.json"]
        assert image_at is not None
        assert data[image_at[0] : image_at[0] + image_at[1]] == by_name[f"{e.key}.jpg"]


def test_index_shard_checks_members_as_the_reader_does(tmp_path: Path) -> None:
    """Bad members: the same messages as ``iter_shard``, raised or collected; the limits
    of the reader; gzip refused; an annotation file without its image kept."""
    docs = SHARD_DOCS[:4]
    members = shard_members(docs)
    # The largest annotation file is over the max_json_bytes below, the others are not.
    sizes = sorted((len(data), name) for name, data in members if name.endswith(".json"))
    (second, _), (largest, big_json) = sizes[-2], sizes[-1]
    assert second < largest and big_json != members[1][0]
    limit = largest - 1
    members += [
        ("notes.txt", b"x"),  # not a member
        (members[0][0], b"again"),  # a name given twice
        ("lonely.jpg", b"\xff\xd8"),  # an image without its annotation file
        ("solo.json", members[1][1]),  # an annotation file without its image
    ]
    path = make_shard(tmp_path / "s.tar", members)
    for source in (sa1b.index_shard, sa1b.iter_shard):
        errors: list[tuple[str, str]] = []
        if source is sa1b.index_shard:
            entries = sa1b.index_shard(
                path, on_error="collect", errors=errors, max_json_bytes=limit
            )
            got = {e.key: e.image_at is not None for e in entries}
            want_keys = {f"sa_{d['image']['image_id']}" for d in docs} - {big_json[:-5]}
            assert got == {**dict.fromkeys(want_keys, True), "solo": False}
        else:
            reader = sa1b.iter_shard(path, on_error="collect", max_json_bytes=limit)
            list(reader)
            errors = reader.errors
        messages = dict(errors)
        assert "not an SA-1B member" in messages["notes.txt"]
        assert messages[members[0][0]] == "a second member with this name"
        assert messages[big_json].endswith(f"more than the max_json_bytes limit of {limit}")
        assert messages[big_json[:-5] + ".jpg"] == "its annotation file is invalid"
        assert messages["lonely.jpg"] == "image without its annotation file"
    with pytest.raises(sa1b.Sa1bShardError, match=r"notes\.txt"):
        sa1b.index_shard(path)
    with pytest.raises(ValueError, match="on_error"):
        sa1b.index_shard(path, on_error="skip")
    with pytest.raises(ValueError, match="max_image_bytes"):
        sa1b.index_shard(path, max_image_bytes=0)
    gz = make_shard(tmp_path / "g.tar", shard_members(docs), gz=True)
    with pytest.raises(ValueError, match="gzip-compressed"):
        sa1b.index_shard(gz)
    # A cut archive: the member that runs past its end is reported, and what came
    # before it is kept.
    cut = tmp_path / "cut.tar"
    whole = make_shard(tmp_path / "w.tar", shard_members(docs)).read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    errors = []
    entries = sa1b.index_shard(cut, on_error="collect", errors=errors)
    assert errors and "truncated" in errors[-1][1]
    assert 0 < len(entries) < len(docs)
