"""The README cannot drift: every Python block runs, every command example runs, and the
error output it shows is what users see.

Blocks run in a directory holding the files they name (``sa_1.json`` and its JPEG, shards
``sa_000020.tar`` ..., label and mask images: the sample shard's data), with the user's
data they take as given (``binary_mask``, ``rles``, ``anns``, ...) made from the same
sample. External places are mapped to local ones: ``s3://my-bucket/`` to a directory
given as a ``file://`` URI (the code path pyarrow.fs takes for ``s3://``), a Ray cluster
(``ray.init(address="auto")``) to a local two-CPU Ray. The PyTorch block runs where
torch is installed. The ``scripts/dev`` block is this test suite's own entry point: it is
checked to name the two commands, not run.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sa1b_rle
from sa1b_rle import cli, sa1b

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
#: The README and the docs it links: every block of each runs.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def blocks(lang: str) -> list[tuple[str, str]]:
    """``(page:line, text)`` of every fenced block of ``lang`` in the README and docs."""
    out = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() == f"```{lang}":
                j = i + 1
                while lines[j].strip() != "```":
                    j += 1
                out.append((f"{page.relative_to(ROOT)}:{i + 1}", "\n".join(lines[i + 1 : j])))
                i = j
            i += 1
    return out


SAMPLES = list(sa1b.iter_shard(cli.sample_path()))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    d = tmp_path_factory.mktemp("readme")
    _, jpg, image = SAMPLES[0]
    (d / "sa_1.json").write_text(json.dumps(image.to_dict()))
    (d / "sa_1.jpg").write_bytes(jpg)
    (d / "more_annotations").mkdir()
    more = SAMPLES[1][2].to_dict()
    more["image"]["image_id"] = 1000  # not one of the shards' images
    (d / "more_annotations" / "sa_1000.json").write_text(json.dumps(more))
    for name in ("sa_000000.tar", "sa_000020.tar", "sa_000021.tar"):
        shutil.copy(cli.sample_path(), d / name)
    bucket = d / "bucket" / "sa1b"
    bucket.mkdir(parents=True)
    for name in ("sa_000020.tar", "sa_000021.tar"):
        shutil.copy(cli.sample_path(), bucket / name)
    # Error examples.
    (d / "broken.tar").write_bytes(b"this is not a tar archive" * 100)
    escape = image.to_dict()
    escape["image"]["file_name"] = "../../etc/passwd"
    (d / "escape.json").write_text(json.dumps(escape))
    # Mask images: a label map with three instances, a binary JPEG mask.
    label = label_map(image.height, image.width)
    Image.fromarray(label).save(d / "ann.png")
    Image.fromarray((label == 1).astype(np.uint8) * 255).save(d / "mask.jpg", quality=95)
    # from-masks directories.
    for sub in ("images", "labels", "masks"):
        (d / sub).mkdir()
    for k, jpg_k, img in SAMPLES:
        (d / "images" / f"{k}.jpg").write_bytes(jpg_k)
        lab = label_map(img.height, img.width)
        Image.fromarray(lab).save(d / "labels" / f"{k}.png")
        Image.fromarray((lab > 0).astype(np.uint8) * 255).save(d / "masks" / f"{k}.png")
    (d / "map.json").write_text(json.dumps({"1": "car", "2": "tree", "3": "sky"}))
    # COCO evaluation: the COCO sample and its results (tests/data).
    data = Path(__file__).parent / "data"
    shutil.copy(data / "coco_instances_val2014_100.json", d / "instances_val.json")
    shutil.copy(data / "coco_instances_val2014_fakesegm100_results.json", d / "detections.json")
    # LVIS: a generated federated set and its results (as test_lvis makes them).
    from test_lvis import generated

    lvis_gt, lvis_results = generated(0)
    (d / "lvis_v1_val.json").write_text(json.dumps(lvis_gt))
    (d / "lvis_results.json").write_text(json.dumps(lvis_results))
    return d


def label_map(h: int, w: int) -> np.ndarray:
    label = np.zeros((h, w), np.uint8)
    label[h // 8 : h // 3, w // 8 : w // 3] = 1
    label[h // 2 : h - 10, w // 2 : w - 10] = 2
    label[10:40, w - 60 : w - 20] = 3
    return label


def user_data(workdir: Path) -> dict[str, Any]:
    """The names README blocks take as the user's own data."""
    import pycocotools.mask as pm

    _, jpg, image = SAMPLES[0]
    rles = image.masks.to_coco(counts="bytes")
    masks = image.decode()
    h, w = image.height, image.width
    other = SAMPLES[0][2].masks[::2]
    label = label_map(h, w)
    return {
        "pickle": pickle,
        "np": np,
        "sa1b_rle": sa1b_rle,
        "binary_mask": np.asfortranarray(masks[0]),
        "rles": rles,
        "dt_rles": rles[:10],
        "gt_rles": rles[5:20],
        "iscrowd": [0] * 15,
        "polygons": [[10.0, 10.0, 200.0, 15.0, 120.0, 300.0]],
        "h": h,
        "w": w,
        "good": rles[0],
        "anns": [{"segmentation": r} for r in image.masks.to_coco()],
        "other": other,
        "batch": image.masks,
        "crowd_flags": [False] * len(other),
        "buffer": np.empty((len(image), h, w), np.uint8),
        "areas": image.area,
        "scores": image.predicted_iou,
        "xyxy_boxes": image.bbox + np.hstack([np.zeros((len(image), 2)), image.bbox[:, :2]]),
        "rgb": sa1b_rle._core.read_image_rgb(jpg),
        "label": label,
        "array": (masks[1] * 0.8).astype(np.float32),
        "rle": rles[1],
        "masks": sa1b_rle.from_label_image(label)[1],
        "mask": masks[2],
        "text": "2 3 10 4",
        "images": [img for _, _, img in SAMPLES],
        "pm": pm,
    }


def local(code: str, workdir: Path) -> str:
    """The block with its external places mapped to local ones."""
    code = code.replace("s3://my-bucket/", (workdir / "bucket").as_uri() + "/")
    return code.replace(
        'ray.init(address="auto")',
        "ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)",
    )


def run_block(code: str, workdir: Path, ns: dict[str, Any], where: str) -> None:
    if code.lstrip().startswith(">>>"):
        run_session(code, ns, where)
        return
    exec(compile(local(code, workdir), where, "exec"), ns)


def run_session(code: str, ns: dict[str, Any], where: str) -> None:
    """A ``>>>`` block: each statement's exception must be shown as it is printed."""
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        assert lines[i].startswith(">>> "), lines[i]
        stmt = lines[i][4:]
        expected = []
        i += 1
        while i < len(lines) and not lines[i].startswith(">>> "):
            expected.append(lines[i])
            i += 1
        try:
            exec(compile(stmt, where, "exec"), ns)
        except Exception as e:
            shown = f"{type(e).__module__}.{type(e).__qualname__}: {e}"
            assert expected == [shown], (stmt, expected, shown)
        else:
            assert not expected, (stmt, "raised nothing", expected)


PYTHON_BLOCKS = blocks("python")


def test_the_readme_has_python_blocks() -> None:
    assert len(PYTHON_BLOCKS) >= 12
    assert sum(where.startswith("README") for where, _ in PYTHON_BLOCKS) >= 6


def test_the_readme_is_short_and_links_every_page() -> None:
    """At most ~300 lines; the detail is in docs/, every page linked, every relative
    link of every page pointing at a file that exists."""
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in text, page.name
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)


@pytest.mark.parametrize(("where", "code"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block_runs(
    where: str, code: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "sa1b_rle.torch" in code:
        pytest.importorskip("torch", reason="torch is not installed (CI does not install it)")
    if "import ray" in code or "sray." in code:
        pytest.importorskip("ray")
    for library in ("torchmetrics", "detectron2"):
        if f"from {library}" in code:
            pytest.importorskip(library, reason=f"{library} is not installed (CI does not)")
    monkeypatch.chdir(workdir)
    ns = user_data(workdir)
    # The shims replace modules of this process: put them back afterwards.
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("pycocotools", "lvis")}
    try:
        run_block(code, workdir, ns, where)
    finally:
        if "ray.init" in code:
            import ray

            ray.shutdown()
        for k in [k for k in sys.modules if k.split(".")[0] in ("pycocotools", "lvis")]:
            del sys.modules[k]
        sys.modules.update(saved)


def sh_commands() -> list[tuple[str, str]]:
    out = []
    for where, block in blocks("sh"):
        if block.startswith("scripts/dev"):
            continue
        page, line = where.rsplit(":", 1)
        for k, cmd in enumerate(block.splitlines()):
            cmd = re.sub(r"\s+#.*$", "", cmd).strip()
            if cmd:
                out.append((f"{page}:{int(line) + k + 1}", cmd))
    return out


def test_the_two_commands_block() -> None:
    (block,) = [b for _, b in blocks("sh") if b.startswith("scripts/dev demo")]
    assert [ln.split()[:2] for ln in block.splitlines() if ln.startswith("scripts/dev")] == [
        ["scripts/dev", "demo"],
        ["scripts/dev", "test"],
    ]
    assert "scripts/dev test" in (README.parent / ".ci" / "run").read_text()


CLI = shutil.which("sa1b-rle", path=os.path.dirname(sys.executable)) or "sa1b-rle"


@pytest.mark.parametrize(("where", "cmd"), sh_commands(), ids=[w for w, _ in sh_commands()])
def test_command_example_runs(where: str, cmd: str, workdir: Path) -> None:
    argv = cmd.split()
    assert argv[0] == "sa1b-rle", cmd
    p = subprocess.run(
        [CLI, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=300, check=False
    )
    assert p.returncode == 0, (cmd, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr


def console_sessions() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for _, block in blocks("console"):
        for ln in block.splitlines():
            if ln.startswith("$ "):
                out.append((ln[2:], []))
            else:
                out[-1][1].append(ln)
    return out


@pytest.mark.parametrize(("cmd", "shown"), console_sessions())
def test_error_output_is_what_users_see(cmd: str, shown: list[str], workdir: Path) -> None:
    argv = cmd.split()
    p = subprocess.run(
        [CLI, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=120, check=False
    )
    assert p.returncode == 1
    assert sorted((p.stdout + p.stderr).splitlines()) == sorted(shown), (p.stdout, p.stderr)


def test_sample_shard_is_a_tar() -> None:
    with tarfile.open(cli.sample_path()) as tf:
        assert len(tf.getnames()) == 6
