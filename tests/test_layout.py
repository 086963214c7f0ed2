"""The core crate's modules import in one direction (no cycles), as docs/layout.md's
section shows; a test so that a new `crate::` reference cannot bring a cycle back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "rust" / "sa1b-rle" / "src"


def root_items() -> dict[str, str]:
    """Items re-exported at the crate root (``pub use module::{...}`` in lib.rs), by the
    module that defines them: read from lib.rs, so that none is missed."""
    text = (SRC / "lib.rs").read_text()
    out = {}
    for module, names in re.findall(r"^pub use (\w+)::\{?([^;]*?)\}?;", text, re.M | re.S):
        for name in re.split(r"[\s,]+", names):
            if name:
                out[name] = module
    return out


def imports() -> dict[str, set[str]]:
    """Module -> the modules its non-test code names through ``crate::``."""
    if not SRC.is_dir():
        pytest.skip("the Rust sources are not beside the tests")
    # A directory module (arch/) counts as one module: its files together.
    files = {p.stem: [p] for p in SRC.glob("*.rs") if p.stem != "lib"}
    files |= {d.name: sorted(d.glob("*.rs")) for d in SRC.iterdir() if d.is_dir()}
    mods = set(files)
    roots = root_items()
    graph: dict[str, set[str]] = {}
    for m in mods:
        text = "".join(p.read_text().split("#[cfg(test)]\nmod tests")[0] for p in files[m])
        names = {roots.get(t, t) for t in re.findall(r"crate::(\w+)", text)}
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


def test_root_items_are_read_from_lib_rs() -> None:
    if not SRC.is_dir():
        pytest.skip("the Rust sources are not beside the tests")
    roots = root_items()
    assert roots["box_nms"] == "nms" and roots["RleBatch"] == "batch"
    assert roots["Rle"] == "rle" and roots["Error"] == "error"


def long_files() -> list[Path]:
    """The binding's and the Python package's files over 400 lines."""
    binding = SRC.parent.parent / "sa1b-rle-py" / "src"
    package = Path(__file__).parent.parent / "python" / "sa1b_rle"
    files = [*binding.glob("*.rs"), *package.glob("*.py")]
    return [p for p in files if len(p.read_text().splitlines()) > 400]


def test_long_files_say_why() -> None:
    """No binding or package file over ~400 lines without the reason at its top."""
    if not SRC.is_dir():
        pytest.skip("the Rust sources are not beside the tests")
    for p in long_files():
        head = "\n".join(p.read_text().splitlines()[:15])
        assert "Over 400 lines" in head, f"{p.name}: over 400 lines without a reason at its top"
