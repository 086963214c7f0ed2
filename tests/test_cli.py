"""The sa1b-rle command line, on the bundled sample and on generated good and bad data."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sa1b_rle import _core, cli, sa1b

SAMPLES = list(sa1b.iter_shard(cli.sample_path()))
SAMPLE_DOC = SAMPLES[0][2].to_dict()  # sa_1: the truck, 1200x1800
SAMPLE_JPG = SAMPLES[0][1]
N_MASKS = sum(len(img) for _, _, img in SAMPLES)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_console_script_is_installed() -> None:
    exe = shutil.which("sa1b-rle", path=os.path.dirname(sys.executable))
    assert exe is not None
    r = subprocess.run([exe, "info"], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert f"3 images, {N_MASKS} masks" in r.stdout


def test_the_sample_shard() -> None:
    # Three SAM demo photographs, every member valid, in SA-1B's exact format.
    assert [k for k, _, _ in SAMPLES] == ["sa_1", "sa_2", "sa_3"]
    for _, jpg, img in SAMPLES:
        assert _core.read_image_rgb(jpg).shape == (img.height, img.width, 3)
        assert len(img) > 50 and len(set(img.ids.tolist())) == len(img)
        doc = img.to_dict()
        assert set(doc["image"]) == {"image_id", "width", "height", "file_name"}
        assert set(doc["annotations"][0]) == {
            "id",
            "segmentation",
            "bbox",
            "area",
            "predicted_iou",
            "stability_score",
            "point_coords",
            "crop_box",
        }
    assert run("info", "@sample") == run("info")


def test_info_and_stats_on_the_sample() -> None:
    code, text = run("info")
    assert code == 0 and "sa_1.json: image 1 (sa_1.jpg), 1800x1200 (WxH), 144 masks" in text
    code, text = run("info", "--json", "@sample")
    assert [r["masks"] for r in json.loads(text)["images"]] == [len(i) for _, _, i in SAMPLES]
    code, text = run("stats", "--json", "--threads", "1")
    stats = json.loads(text)
    assert code == 0 and stats["masks"] == N_MASKS and stats["threads"] == 1
    areas = [a for _, _, img in SAMPLES for a in img.area.tolist()]
    assert stats["area"]["max"] == max(areas) and stats["area"]["min"] == min(areas)
    assert stats["decode"]["masks_per_second"] > 0
    code, text = run("stats", "@sample")
    assert "predicted_iou" in text and "Mpixel/s" in text


def bad_copy(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    doc = copy.deepcopy(SAMPLE_DOC)
    doc["annotations"][4]["area"] += 3
    doc["annotations"][9]["stability_score"] = 1.2
    d = tmp_path / "anns"
    d.mkdir()
    (d / "sa_1.json").write_text(json.dumps(SAMPLE_DOC))
    (d / "sa_2.json").write_text(json.dumps(doc))
    return d, doc


def test_validate(tmp_path: Path) -> None:
    assert run("validate") == (0, "3 annotation files checked: no problems\n")
    d, doc = bad_copy(tmp_path)
    code, text = run("validate", str(d))
    assert code == 1
    lines = text.splitlines()
    id4, id9 = doc["annotations"][4]["id"], doc["annotations"][9]["id"]
    assert lines[0].startswith(f"{d / 'sa_2.json'}: annotation 4 (id {id4}): annotations[4].area")
    assert f"annotation 9 (id {id9}): annotations[9].stability_score: 1.2" in lines[1]
    assert lines[-1] == "2 annotation files checked: 2 problems"
    code, text = run("validate", "--json", str(d))
    report = json.loads(text)
    assert code == 1 and report["checked"] == 2
    assert [p["id"] for p in report["problems"]] == [id4, id9]


def test_validate_shards(tmp_path: Path) -> None:
    import tarfile

    shard = tmp_path / "sa_000000.tar"
    with tarfile.open(shard, "w:gz") as tf:
        for name, data in (
            ("sa_1.json", json.dumps(SAMPLE_DOC).encode()),
            ("sa_1.jpg", b"\xff\xd8 image"),
            ("sa_2.json", b"{broken"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    code, text = run("validate", str(shard))
    assert code == 1
    assert f"{shard}:sa_2.json: invalid annotation file" in text
    assert text.endswith("1 annotation file checked: 1 problem\n")


def test_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pycocotools.coco import COCO

    out = tmp_path / "coco.json"
    code, text = run("convert", "-o", str(out), "--min-predicted-iou", "0.9")
    keep = [p for _, _, img in SAMPLES for p in img.predicted_iou.tolist() if p >= 0.9]
    assert code == 0 and text == f"wrote {out}: 3 images, {len(keep)} annotations\n"
    coco = COCO(str(out))
    assert len(coco.getAnnIds()) == len(keep)
    d, _ = bad_copy(tmp_path)
    code, text = run("convert", str(d), "-o", str(out))
    assert code == 1 and not out.exists()
    capsys.readouterr()
    code, text = run("convert", str(d), "-o", str(out), "--keep-going")
    # (What was skipped on stderr, named once; the summary on stdout.)
    err = capsys.readouterr().err
    assert code == 1 and f"skipped {d / 'sa_2.json'}: " in err and out.exists()
    assert err.count(str(d / "sa_2.json")) == 1 and "skipped" not in text.split(",")[0]


def test_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "show.png"
    code, text = run("show", "-o", str(out), "--min-area", "10000")
    img = SAMPLES[0][2].filter(min_area=10000)
    assert code == 0 and text == f"wrote {out}: {len(img)} masks over 1800x1200 (WxH)\n"
    png = _core.read_image_rgb(out.read_bytes())
    jpg = _core.read_image_rgb(SAMPLE_JPG)
    assert png.shape == jpg.shape == (1200, 1800, 3)
    assert np.array_equal(png, sa1b.render(img, jpg))
    # Pixels outside every mask keep the image's colour; inside they change.
    covered = img.decode().any(axis=0)
    assert np.array_equal(png[~covered], jpg[~covered])
    assert (png[covered] != jpg[covered]).any(axis=1).mean() > 0.9
    code, text = run("show", "@sample", "--key", "sa_3", "-o", str(out))
    assert code == 0 and text.endswith(f"{len(SAMPLES[2][2])} masks over 800x534 (WxH)\n")

    # An annotation file: the image is its file_name beside it, or --image.
    ann = tmp_path / "sa_1.json"
    ann.write_text(json.dumps(SAMPLE_DOC))
    assert run("show", str(ann), "-o", str(out))[0] == 1
    assert "no image at" in capsys.readouterr().err
    assert run("show", str(ann), "--no-image", "-o", str(out))[0] == 0
    grey = _core.read_image_rgb(out.read_bytes())
    assert (grey[~SAMPLES[0][2].decode().any(axis=0)] == 128).all()
    (tmp_path / "sa_1.jpg").write_bytes(SAMPLE_JPG)
    assert run("show", str(ann), "-o", str(out)) == run("show", "-o", str(out))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    code = cli.main(["show", str(ann), "--image", str(bad), "-o", str(out)], out=io.StringIO())
    assert code == 1
    # (A file that is no image is named, once.)
    err = capsys.readouterr().err
    assert err.startswith(f"sa1b-rle show: {bad}: image: ") and err.count(str(bad)) == 1
    (tmp_path / "dog.jpg").write_bytes(SAMPLES[1][1])
    assert run("show", str(ann), "--image", str(tmp_path / "dog.jpg"), "-o", str(out))[0] == 1
    assert "the image is 800x534 (WxH)" in capsys.readouterr().err


def test_show_names_what_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann, out = tmp_path / "sa_1.json", tmp_path / "o.png"
    ann.write_text(json.dumps(SAMPLE_DOC))
    # An explicit --image that is missing: that path, not "the file_name beside it".
    missing = tmp_path / "missing.jpg"
    assert run("show", str(ann), "--image", str(missing), "-o", str(out))[0] == 1
    err = capsys.readouterr().err
    assert f"no image at {missing};" in err and "beside" not in err, err
    # The image beside the JSON that is no image: that file, once.
    (tmp_path / "sa_1.jpg").write_text("hello")
    assert run("show", str(ann), "-o", str(out))[0] == 1
    err = capsys.readouterr().err
    beside = tmp_path / "sa_1.jpg"
    assert err.startswith(f"sa1b-rle show: {beside}: ") and err.count(str(beside)) == 1, err
    # --key picks a shard's sample: on an annotation file it is bad input, not ignored.
    assert run("show", str(ann), "--key", "sa_9", "--no-image", "-o", str(out))[0] == 1
    assert "--key picks a sample of a shard" in capsys.readouterr().err
    # The overlay is a PNG: another name is a usage error and nothing is written.
    for name in ("o.jpg", "o.png.jpeg", "o"):
        with pytest.raises(SystemExit) as e:
            cli.main(["show", "--no-image", str(ann), "-o", str(tmp_path / name)])
        assert e.value.code == 2 and not (tmp_path / name).exists()
        assert "name a .png file" in capsys.readouterr().err
    assert run("show", "--no-image", str(ann), "-o", str(tmp_path / "O.PNG"))[0] == 0


def test_image_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The public image helpers the command line is built on."""
    jpg = tmp_path / "a.jpg"
    jpg.write_bytes(SAMPLE_JPG)
    rgb = sa1b.read_image(jpg)
    assert rgb.shape == (1200, 1800, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb, sa1b.read_image(SAMPLE_JPG))
    png = tmp_path / "a.png"
    sa1b.write_png(png, rgb[:5, :7])
    assert np.array_equal(sa1b.read_image(str(png)), rgb[:5, :7])
    with pytest.raises(FileNotFoundError):
        sa1b.read_image(tmp_path / "nope.jpg")
    (tmp_path / "t.txt").write_text("not an image")
    with pytest.raises(ValueError, match="^" + re.escape(f"{tmp_path / 't.txt'}: ")):
        sa1b.read_image(tmp_path / "t.txt")
    with pytest.raises(ValueError, match="pixels") as info:
        sa1b.read_image(jpg, max_pixels=1000)
    # How to raise the limit, in Python's terms (added by the binding, not the core).
    assert str(info.value).endswith(
        "(pass max_pixels= or set SA1B_RLE_MAX_IMAGE_PIXELS to decode larger images)"
    )
    image = SAMPLES[0][2]
    assert sa1b.image_path(tmp_path / "sa_1.json", image) == str(tmp_path / image.file_name)
    doc = copy.deepcopy(SAMPLE_DOC)
    doc["image"]["file_name"] = "../x.jpg"
    other = sa1b.load(json.dumps(doc).encode(), validate=False)
    with pytest.raises(ValueError, match=r"^d/sa_1\.json: image\.file_name"):
        sa1b.image_path("d/sa_1.json", other)
    assert sa1b.max_image_pixels() == 178_956_970
    monkeypatch.setenv("SA1B_RLE_MAX_IMAGE_PIXELS", "1000")
    assert sa1b.max_image_pixels() == 1000
    with pytest.raises(ValueError, match="pixels"):
        sa1b.read_image(jpg)


def test_the_command_line_uses_the_public_api() -> None:
    import inspect

    assert "_core" not in inspect.getsource(cli)


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Bad input: one line, exit 1; usage errors: exit 2 (argparse).
    assert run("info", str(tmp_path / "nope.json"))[0] == 1
    assert "no such file or directory" in capsys.readouterr().err
    out = str(tmp_path / "out")
    for argv in (
        ["stats", "--threads", "0", "@sample"],
        ["frobnicate"],
        # Out-of-range options are usage errors too.
        ["convert", "--min-predicted-iou", "5", "-o", out, "@sample"],
        ["show", "--min-stability-score", "-0.1", "-o", out, "@sample"],
        ["from-masks", str(tmp_path), str(tmp_path), "-o", out, "--tolerance", "-3"],
        ["from-masks", str(tmp_path), str(tmp_path), "-o", out, "--tolerance", "nan"],
        ["from-masks", str(tmp_path), str(tmp_path), "-o", out, "--threshold", "nan"],
        ["from-masks", str(tmp_path), str(tmp_path), "-o", out, "--threshold=-inf"],
        ["convert", "--min-area", "10", "--max-area", "5", "-o", out, "@sample"],
        ["show", "--min-area", "10", "--max-area", "9", "-o", out + ".png", "@sample"],
    ):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2, argv
        err = capsys.readouterr().err
        assert "must be" in err or "is below --min-area" in err or argv == ["frobnicate"], err
        assert f"sa1b-rle {argv[0]}: error:" in err or argv == ["frobnicate"], err
    assert not os.path.exists(out)
    # A file that cannot be written or read: its name and the reason, once.
    bad = str(tmp_path / "no-dir" / "x.json")
    assert run("convert", "-o", bad, "@sample")[0] == 1
    assert capsys.readouterr().err == f"sa1b-rle convert: {bad}: No such file or directory\n"
    (tmp_path / "i").mkdir()
    cats = str(tmp_path / "cats.json")
    argv = ["from-masks", str(tmp_path / "i"), str(tmp_path), "-o", out, "--categories", cats]
    assert run(*argv)[0] == 1
    assert capsys.readouterr().err == f"sa1b-rle from-masks: {cats}: No such file or directory\n"


def make_mask_dirs(tmp_path: Path) -> tuple[Path, Path, Path, list[Any]]:
    """Images (the sample's photographs), instance label maps and binary masks."""
    from PIL import Image

    images, labels, binary = tmp_path / "images", tmp_path / "labels", tmp_path / "binary"
    for d in (images, labels, binary):
        d.mkdir()
    truth = []
    for key, jpg, img in SAMPLES:
        (images / f"{key}.jpg").write_bytes(jpg)
        masks = img.decode()
        order = np.argsort(-img.area)[2:12]  # ten masks, larger painted first
        label = np.zeros((img.height, img.width), np.uint8)
        for v, k in enumerate(order, start=1):
            label[masks[k].astype(bool)] = v
        Image.fromarray(label).save(labels / f"{key}.png")
        (binary / key).mkdir()
        for v in (1, 2):
            Image.fromarray((label == v).astype(np.uint8) * 255).save(binary / key / f"part{v}.png")
        truth.append(label)
    return images, labels, binary, truth


def test_from_masks(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    images, labels, binary, truth = make_mask_dirs(tmp_path)
    out = tmp_path / "coco.json"
    cats = tmp_path / "cats.json"
    cats.write_text(json.dumps({"1": "truck", "part2": "thing"}))
    for fmt in ("rle", "polygon"):
        code, text = run(
            "from-masks", str(images), str(labels), "-o", str(out), "--mode", "instances",
            "--format", fmt, "--categories", str(cats), "--threads", "2",
        )  # fmt: skip
        assert code == 0, text
        coco = COCO(str(out))
        assert len(coco.getImgIds()) == 3
        names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        for img_id, label in zip(sorted(coco.getImgIds()), truth, strict=True):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            values = [v for v in np.unique(label) if v]
            assert len(anns) == len(values)
            for a, v in zip(anns, values, strict=True):
                assert np.array_equal(coco.annToMask(a), (label == v).astype(np.uint8)), fmt
                assert names[a["category_id"]] == ("truck" if v == 1 else "object")
                assert a["area"] == int((label == v).sum())
    code, text = run(
        "from-masks", str(images), str(binary), "-o", str(out), "--categories", str(cats)
    )
    assert code == 0, text
    coco = COCO(str(out))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 6
    assert {coco.loadCats(a["category_id"])[0]["name"] for a in anns} == {"object", "thing"}


def test_from_masks_reports_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    images, labels, _, _ = make_mask_dirs(tmp_path)
    (labels / "sa_2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(labels / "sa_3.png")
    (images / "sa_4.jpg").write_bytes(SAMPLE_JPG)  # no mask for it
    out = tmp_path / "coco.json"
    code, text = run("from-masks", str(images), str(labels), "-o", str(out), "--mode", "instances")
    assert code == 1
    # The bad label map is named beside the image it belongs to (on stderr).
    err = capsys.readouterr().err
    assert f"skipped {images / 'sa_2.jpg'}: {labels / 'sa_2.png'}: image: PNG:" in err
    assert f"skipped {images / 'sa_3.jpg'}: the masks are 5x5, the image 534x800" in err
    assert f"skipped {images / 'sa_4.jpg'}: no label map" in err
    assert text.endswith("wrote " + str(out) + ": 1 image, 10 annotations, 1 category, 3 skipped\n")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert (
        run("from-masks", str(images), str(labels), "-o", str(out), "--categories", str(bad))[0]
        == 1
    )
    assert run("from-masks", str(tmp_path / "nope"), str(labels), "-o", str(out))[0] == 1


def test_progress_line() -> None:
    p = cli.Progress(40, "images", enabled=False)
    p.done = 10
    assert p.line(p.start + 2.0) == "[#######.......................] 10/40 images (5/s)"
    q = cli.Progress(None, "images", enabled=False)
    q.done = 7
    assert q.line(q.start + 1.0) == "7 images (7/s)"


def test_dataset_from_masks_is_the_library_behind_the_command(tmp_path: Path) -> None:
    from sa1b_rle.coco import dataset_from_masks

    images, labels, binary, truth = make_mask_dirs(tmp_path)
    out = tmp_path / "coco.json"
    assert run("from-masks", str(images), str(binary), "-o", str(out))[0] == 0
    seen = []
    for threads in (1, 3):
        doc, skipped = dataset_from_masks(
            str(images), str(binary), threads=threads, on_image=lambda: seen.append(1)
        )
        assert skipped == [] and doc == json.loads(out.read_text())
    assert len(seen) == 2 * len(truth)
    (images / "broken.png").write_bytes(b"\x89PNG not really")
    doc, skipped = dataset_from_masks(str(images), str(labels), mode="instances")
    assert [p for p, _ in skipped] == [str(images / "broken.png")]
    assert len(doc["images"]) == len(truth)
    with pytest.raises(ValueError, match="mode"):
        dataset_from_masks(str(images), str(labels), mode="semantic")


def test_from_masks_of_an_empty_directory_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to convert exits 1 with one line, as info does on a directory without
    annotation files, and writes nothing."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    out = tmp_path / "coco.json"
    code, _ = run("from-masks", str(tmp_path / "images"), str(tmp_path / "masks"), "-o", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "no images" in err[0], err
    assert not out.exists()
