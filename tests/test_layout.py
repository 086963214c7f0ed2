"""The core crate's modules import in one direction (no cycles), as the README's Layout
section shows; a test so that a new `crate::` reference cannot bring a cycle back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "rust" / "sa1b-rle" / "src"

#: Items re-exported at the crate root, by the module that defines them.
ROOT_ITEMS = {
    "RleBatch": "batch",
    "CountsBuffers": "batch",
    "merge_coco": "batch",
    "mask_iou": "batch",
    "Rle": "rle",
    "pixel_count": "rle",
    "common_size": "rle",
    "common_size_of": "rle",
    "area_of_counts_str": "rle",
    "bbox_of_counts_str": "rle",
    "Error": "error",
    "Result": "error",
    "encode": "encode",
    "Order": "encode",
    "merge": "merge",
    "fr_poly": "polygon",
    "fr_bbox": "polygon",
    "decode_into": "decode",
    "zeroed_buffer": "decode",
    "bbox_iou": "iou",
    "IouMask": "iou",
}


def imports() -> dict[str, set[str]]:
    """Module -> the modules its non-test code names through ``crate::``."""
    if not SRC.is_dir():
        pytest.skip("the Rust sources are not beside the tests")
    # A directory module (arch/) counts as one module: its files together.
    files = {p.stem: [p] for p in SRC.glob("*.rs") if p.stem != "lib"}
    files |= {d.name: sorted(d.glob("*.rs")) for d in SRC.iterdir() if d.is_dir()}
    mods = set(files)
    graph: dict[str, set[str]] = {}
    for m in mods:
        text = "".join(p.read_text().split("#[cfg(test)]\nmod tests")[0] for p in files[m])
        names = {ROOT_ITEMS.get(t, t) for t in re.findall(r"crate::(\w+)", text)}
        graph[m] = {t for t in names if t in mods and t != m}
    return graph


def test_core_modules_have_no_import_cycles() -> None:
    graph = imports()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = [*path[path.index(t) :], t]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_error_knows_no_domain_module() -> None:
    assert imports()["error"] == set()


def test_simd_kernels_are_a_leaf() -> None:
    # arch/ holds the kernels by instruction set; the modules dispatch to it, never the
    # other way round.
    graph = imports()
    assert graph["arch"] == set()
    assert {"counts", "rle", "column_iou"} <= {m for m, t in graph.items() if "arch" in t}


def test_binding_does_not_import_the_package() -> None:
    # The binding is below the Python package: `sa1b_rle` imports `_core`, never the
    # other way round (the package adds Python-only methods, e.g. RleBatch.from_arrow).
    binding = SRC.parent.parent / "sa1b-rle-py" / "src"
    for p in binding.glob("*.rs"):
        assert not re.search(r'import\("sa1b_rle', p.read_text()), p.name
