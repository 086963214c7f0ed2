"""The COCO loader on columns: pycocotools' dicts built on first access and equal to its
own, attribute by attribute; the id methods answered from the columns; mutation through
the dicts honoured by evaluation; errors naming the file and the annotation."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _coco import DATA, GT, RESULTS, generated, people
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

from sa1b_rle import mask as mask_utils
from sa1b_rle.coco import COCO
from sa1b_rle.cocoeval import COCOeval

GT_PATH = DATA / "coco_instances_val2014_100.json"
RES_PATH = DATA / "coco_instances_val2014_fakesegm100_results.json"


def pycocotools(gt: Any, res: Any = None) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        g = PyCOCO(str(gt))
        return g if res is None else (g, g.loadRes(str(res)))


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and np.array_equal(a, b)
    return type(a) is type(b) and bool(a == b)


VIEWS = ("dataset", "anns", "imgs", "cats", "imgToAnns", "catToImgs")


@pytest.mark.parametrize("source", ["path", "bytes"])
def test_views_equal_pycocotools(source: str) -> None:
    want = pycocotools(GT_PATH)
    got = COCO(GT_PATH if source == "path" else GT_PATH.read_bytes())
    assert got._columns is not None  # nothing built yet
    for name in VIEWS:
        mine, theirs = getattr(got, name), getattr(want, name)
        assert list(mine) == list(theirs), name  # the same keys, in the same order
        assert same_value(dict(mine), dict(theirs)), name
    # One set of objects, as in pycocotools.
    first = got.dataset["annotations"][0]
    assert got.anns[first["id"]] is first and got.imgToAnns[first["image_id"]][0] is first


@pytest.mark.parametrize("kind", ["segm", "bbox", "keypoints"])
def test_results_views_equal_pycocotools(kind: str, tmp_path: Path) -> None:
    if kind == "keypoints":
        gt_doc, res_doc = people(3)
    else:
        gt_doc, res_doc = GT, copy.deepcopy(RESULTS)
        if kind == "bbox":  # box results: loadRes' box branch
            for r in res_doc:
                r["bbox"] = [10.5, 20, 30, 40.25]
    gt, res = tmp_path / "gt.json", tmp_path / "res.json"
    gt.write_text(json.dumps(gt_doc))
    res.write_text(json.dumps(res_doc))
    _, want = pycocotools(gt, res)
    mine_gt = COCO(gt)
    for source in (str(res), copy.deepcopy(res_doc)):
        mine = mine_gt.loadRes(source)
        assert mine.getAnnIds() == want.getAnnIds()
        assert mine.getImgIds() == want.getImgIds()
        for name in VIEWS:
            assert list(getattr(mine, name)) == list(getattr(want, name)), name
            assert same_value(dict(getattr(mine, name)), dict(getattr(want, name))), name


def test_id_methods_answer_from_the_columns() -> None:
    want, got = pycocotools(GT_PATH), COCO(GT_PATH)
    img_ids, cat_ids = want.getImgIds(), want.getCatIds()
    assert got.getImgIds() == img_ids and got.getCatIds() == cat_ids
    for kw in (
        {},
        {"imgIds": img_ids[:7]},
        {"imgIds": img_ids[5]},
        {"imgIds": [img_ids[3], img_ids[3], -1]},
        {"catIds": cat_ids[:4]},
        {"catIds": np.array(cat_ids[:4])},
        {"imgIds": np.array(img_ids[:30]), "catIds": [1]},
        {"areaRng": [100, 5000]},
        {"iscrowd": 1},
        {"iscrowd": 0.0},
        {"imgIds": img_ids[:20], "iscrowd": False},
    ):
        assert got.getAnnIds(**kw) == want.getAnnIds(**kw), kw
    assert sorted(got.getImgIds(catIds=cat_ids[:2])) == sorted(want.getImgIds(catIds=cat_ids[:2]))
    assert got.getImgIds(imgIds=img_ids[:9], catIds=[1]) == want.getImgIds(
        imgIds=img_ids[:9], catIds=[1]
    )
    assert got._columns is not None  # still no dict built
    assert got.getCatIds(catNms=["person", "dog"]) == want.getCatIds(catNms=["person", "dog"])


def evaluate(evaluator: Any, g: Any, d: Any, iou_type: str) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        e = evaluator(g, d, iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_edits_through_the_dicts_are_honoured(iou_type: str) -> None:
    # Once the dicts are built, evaluation reads them: edits count, as in pycocotools.
    want_gt, want_dt = pycocotools(GT_PATH, RES_PATH)
    got_gt = COCO(GT_PATH)
    got_dt = got_gt.loadRes(str(RES_PATH))
    for g in (want_gt, got_gt):
        ids = g.getAnnIds(iscrowd=0)
        for i in ids[::3]:
            g.anns[i]["iscrowd"] = 1
        g.anns[ids[1]]["category_id"] = 3
        g.anns[ids[2]]["area"] = 1.0
    for d in (want_dt, got_dt):
        d.anns[5]["score"] = 0.0
    assert got_gt._columns is None and got_dt._columns is None
    want = evaluate(PyCOCOeval, want_gt, want_dt, iou_type)
    got = evaluate(COCOeval, got_gt, got_dt, iou_type)
    assert np.array_equal(got.stats, want.stats)
    assert np.array_equal(got.eval["precision"], want.eval["precision"])


def test_ids_that_are_not_integers_are_evaluated_as_pycocotools_does(tmp_path: Path) -> None:
    # String image ids and float category ids: the columns cannot key them; the dicts do.
    gt, res = generated(2)
    for img in gt["images"]:
        img["id"] = f"img-{img['id']}"
    for a in [*gt["annotations"], *res]:
        a["image_id"] = f"img-{a['image_id']}"
        a["category_id"] = float(a["category_id"]) + 0.5
    for c in gt["categories"]:
        c["id"] = float(c["id"]) + 0.5
    path, res_path = tmp_path / "gt.json", tmp_path / "res.json"
    path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(res))
    want = evaluate(PyCOCOeval, *pycocotools(path, res_path), "segm")
    got_gt = COCO(path)
    got = evaluate(COCOeval, got_gt, got_gt.loadRes(str(res_path)), "segm")
    assert np.array_equal(got.stats, want.stats)
    assert np.array_equal(got.eval["precision"], want.eval["precision"])
    n = next(i for i, x in enumerate(want.evalImgs) if x is not None)
    for key in ("image_id", "category_id", "dtIds", "gtIds"):
        assert got.evalImgs[n][key] == want.evalImgs[n][key]


def test_underscore_gts_and_dts_are_built_when_read() -> None:
    want_gt, want_dt = pycocotools(GT_PATH, RES_PATH)
    got_gt = COCO(GT_PATH)
    want = evaluate(PyCOCOeval, want_gt, want_dt, "segm")
    got = evaluate(COCOeval, got_gt, got_gt.loadRes(str(RES_PATH)), "segm")
    assert got_gt._columns is not None  # evaluation built no dict
    assert list(got._gts) == list(want._gts) and list(got._dts) == list(want._dts)
    for key, anns in want._gts.items():
        assert same_value(got._gts[key], anns)


def test_load_errors_name_the_file_and_the_annotation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 1, "score": 1}]')
    with pytest.raises(ValueError, match=r"bad.json: the document is a list"):
        COCO(bad)
    bad.write_text('{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1},\n')
    with pytest.raises(ValueError, match=r"bad.json: EOF .*line 2.*byte offset"):
        COCO(bad)
    bad.write_text('{"annotations": [{"id": 1, "image_id": 1}, {"image_id": 2}]}')
    with pytest.raises(ValueError, match=r"bad\.json: annotation 1 has no id"):
        COCO(bad)
    g = COCO(GT_PATH)
    res = copy.deepcopy(RESULTS)
    res[3]["segmentation"]["counts"] = "0!"
    bad.write_text(json.dumps(res))
    with pytest.raises(ValueError, match=r"bad.json: result 3 \(id 4\): invalid byte '!'"):
        g.loadRes(str(bad))
    with pytest.raises(ValueError, match=r"result 3 \(id 4\): invalid byte '!'"):
        g.loadRes(res)
    with pytest.raises(ValueError, match="image_id 7 is not one of its images"):
        g.loadRes([{**RESULTS[0], "image_id": 7}])
    with pytest.raises(ValueError, match="no results"):
        g.loadRes([])


def test_ann_to_rle_of_an_empty_polygon_list_is_an_error() -> None:
    g = COCO(GT_PATH)
    ann = {**g.dataset["annotations"][0], "segmentation": []}
    with pytest.raises(ValueError, match="empty list"):
        g.annToRLE(ann)


def test_pickle_builds_the_dicts() -> None:
    import pickle

    g = COCO(GT_PATH)
    back = pickle.loads(pickle.dumps(g))
    assert back.getAnnIds() == g.getAnnIds() and len(back.anns) == len(GT["annotations"])


@pytest.mark.parametrize("iou_type", ["segm", "bbox", "keypoints"])
def test_get_results_names_stats_and_per_class_ap(iou_type: str, tmp_path: Path) -> None:
    if iou_type == "keypoints":
        gt_doc, res_doc = people(2)
        gt, res = tmp_path / "gt.json", tmp_path / "res.json"
        gt.write_text(json.dumps(gt_doc))
        res.write_text(json.dumps(res_doc))
    else:
        gt, res = GT_PATH, RES_PATH
    g = COCO(gt)
    e = evaluate(COCOeval, g, g.loadRes(str(res)), iou_type)
    got = e.get_results()
    assert list(got.values()) == e.stats.tolist()
    if iou_type == "keypoints":
        assert list(got) == ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    else:
        assert list(got) == [
            *("AP", "AP50", "AP75", "APs", "APm", "APl"),
            *("AR1", "AR10", "AR100", "ARs", "ARm", "ARl"),
        ]
    per = e.get_results(per_class=True)
    names = [c["name"] for c in pycocotools(gt).loadCats(e.params.catIds)]
    assert list(per)[len(got) :] == [f"AP/{n}" for n in names]
    # detectron2's per-category AP, computed from the precision array directly.
    precision = e.eval["precision"]
    for k, name in enumerate(names):
        p = precision[:, :, k, 0, -1]
        want = float(np.mean(p[p > -1])) if (p > -1).any() else float("nan")
        assert per[f"AP/{name}"] == want or (np.isnan(want) and np.isnan(per[f"AP/{name}"]))


def test_the_eval_command_answers_bad_input_in_one_line(tmp_path: Path) -> None:
    from sa1b_rle.cli import main

    def run(*args: str) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["eval", *args], io.StringIO())
        return code, err.getvalue()

    res = str(RES_PATH)
    cases: list[tuple[str, Any, str]] = [
        ("no_images.json", {"annotations": [], "categories": []}, "no 'images'"),
        ("no_anns.json", {"images": [], "categories": []}, "no 'annotations'"),
        ("list.json", RESULTS, "the document is a list"),
        ("truncated.json", '{"images": [{"id": 1}', "EOF"),
        ("invalid.json", '{"images": [}', "byte offset"),
    ]
    for name, doc, message in cases:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        code, err = run(str(path), res)
        assert code == 1 and err.count("\n") == 1, (name, err)
        assert str(path) in err and message in err and "internal error" not in err, err
    code, err = run(str(tmp_path / "missing.json"), res)
    assert code == 1 and "missing.json" in err and "internal error" not in err
    # Results without scores; segm on a ground truth without segmentations.
    no_score = tmp_path / "no_score.json"
    no_score.write_text(json.dumps([{k: v for k, v in r.items() if k != "score"} for r in RESULTS]))
    code, err = run(str(GT_PATH), str(no_score))
    assert code == 1 and "no_score.json: detection id" in err and "no score" in err, err
    bare = copy.deepcopy(GT)
    for a in bare["annotations"]:
        del a["segmentation"]
    bare_path = tmp_path / "bare.json"
    bare_path.write_text(json.dumps(bare))
    code, err = run(str(bare_path), res)
    assert code == 1 and "bare.json: ground truth id" in err and "no segmentation" in err, err
    # --per-class prints each category's AP after the summary.
    out = io.StringIO()
    assert main(["eval", str(GT_PATH), res, "--per-class"], out) == 0
    assert " AP/person" in out.getvalue()


def test_a_ground_truth_mask_of_another_size_than_its_image_is_named() -> None:
    gt = copy.deepcopy(GT)
    crowd = next(a for a in gt["annotations"] if a["iscrowd"])
    img = next(i for i in gt["images"] if i["id"] == crowd["image_id"])
    h, w = img["height"], img["width"]
    crowd["segmentation"] = {"size": [h + 1, w], "counts": [(h + 1) * w]}
    res = [
        {
            "image_id": crowd["image_id"],
            "category_id": crowd["category_id"],
            "segmentation": {"size": [h, w], "counts": f"{h * w}"},
            "score": 1.0,
        }
    ]
    res[0]["segmentation"] = mask_utils.encode(np.zeros((h, w), np.uint8, order="F"))
    res[0]["segmentation"]["counts"] = res[0]["segmentation"]["counts"].decode()
    g = COCO(copy.deepcopy(gt))
    e = COCOeval(g, g.loadRes(res), "segm")
    with pytest.raises(ValueError, match=rf"ground truth id {crowd['id']}: the image is {h}x{w}"):
        e.evaluate()
