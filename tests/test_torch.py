"""sa1b_rle.torch: the SA-1B dataset and its collate function (needs PyTorch).

PyPI's torch is a multi-GB CUDA build, so CI does not install it and these tests skip
there; they were run where torch is installed (see the README's testing section).
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (PyPI's build is multi-GB; CI does not install it)"
)

from sa1b_rle import cli, sa1b  # noqa: E402
from sa1b_rle._core import read_image_rgb  # noqa: E402
from sa1b_rle.torch import Sa1bDataset, collate  # noqa: E402

_KEY, _JPG, _IMG = next(iter(sa1b.iter_shard(cli.sample_path())))
DOC = _IMG.to_dict()
JPG = _JPG


def variant(k: int) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["image"]["image_id"] = k
    doc["image"]["file_name"] = f"sa_{k}.jpg"
    doc["annotations"] = doc["annotations"][k % 5 :: 2]
    return doc


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    d = tmp_path / "dir"
    d.mkdir()
    for k in (1, 2):
        (d / f"sa_{k}.json").write_text(json.dumps(variant(k)))
        (d / f"sa_{k}.jpg").write_bytes(JPG)
    shard = tmp_path / "sa_000001.tar"
    with tarfile.open(shard, "w") as tf:
        for k in (3, 4, 5):
            for name, data in ((f"sa_{k}.jpg", JPG), (f"sa_{k}.json", json.dumps(variant(k)))):
                raw = data if isinstance(data, bytes) else data.encode()
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                tf.addfile(info, io.BytesIO(raw))
    return [d, shard]


def test_items_are_the_filtered_masks(sources: list[Path]) -> None:
    ds = Sa1bDataset(sources, min_predicted_iou=0.8, min_area=3000)
    assert len(ds) == 5
    rgb = read_image_rgb(JPG)
    for i in range(5):
        item = ds[i]
        k = i + 1
        want = sa1b.load(json.dumps(variant(k)).encode()).filter(
            min_predicted_iou=0.8, min_area=3000
        )
        assert item["image_id"] == k and item["key"] == f"sa_{k}"
        assert np.array_equal(item["image"].numpy(), rgb)
        assert item["masks"].dtype == torch.uint8
        assert np.array_equal(item["masks"].numpy(), want.decode())
        assert np.array_equal(item["boxes"].numpy(), want.bbox.astype(np.float32))
        assert item["ids"].tolist() == want.ids.tolist()


def test_sampling_is_seeded(sources: list[Path]) -> None:
    a = Sa1bDataset(sources, max_masks=5, seed=7, images=False)
    b = Sa1bDataset(sources, max_masks=5, seed=7, images=False)
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert x["image"] is None and len(x["masks"]) == 5
        assert x["ids"].tolist() == y["ids"].tolist()
        full = sa1b.load(json.dumps(variant(i + 1)).encode())
        pos = [full.ids.tolist().index(j) for j in x["ids"].tolist()]
        assert pos == sorted(pos)
        assert np.array_equal(x["masks"].numpy(), full.decode(indices=pos))
    assert Sa1bDataset(sources, max_masks=0, images=False)[0]["masks"].shape == (0, 1200, 1800)


def test_dataloader_workers_match_one_process(sources: list[Path]) -> None:
    from torch.utils.data import DataLoader

    ds = Sa1bDataset(sources, max_masks=6, seed=1)
    want = [ds[i] for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)
    got = [b for batch in loader for b in _unbatch(batch)]
    assert [g["key"] for g in got] == [w["key"] for w in want]
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g["masks"], w["masks"]) and torch.equal(g["image"], w["image"])
        assert torch.equal(g["boxes"], w["boxes"])


def _unbatch(batch: dict[str, Any]) -> list[dict[str, Any]]:
    n = len(batch["key"])
    assert batch["num_masks"].tolist() == [len(m) for m in batch["masks"]]
    return [{k: batch[k][i] for k in ("key", "image", "masks", "boxes")} for i in range(n)]


def test_bad_sources(tmp_path: Path, sources: list[Path]) -> None:
    gz = tmp_path / "sa_2.tar"
    with open(sources[1], "rb") as f, open(gz, "wb") as g:
        import gzip

        g.write(gzip.compress(f.read()))
    with pytest.raises(ValueError, match="gzip-compressed"):
        Sa1bDataset([gz])
    with pytest.raises(FileNotFoundError):
        Sa1bDataset([tmp_path / "missing"])
    bad = tmp_path / "bad"
    shutil.copytree(sources[0], bad)
    doc = variant(1)
    doc["annotations"][0]["area"] += 1
    (bad / "sa_1.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"sa_1\.json"):
        Sa1bDataset([bad])[0]
    assert len(Sa1bDataset([bad], validate=False)[0]["masks"]) == len(doc["annotations"])
