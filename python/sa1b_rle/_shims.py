"""``init_as_pycocotools()`` and ``init_as_lvis()``: this package under the names other
libraries import (torchmetrics, detectron2, mmdetection and ultralytics import
``pycocotools`` themselves)."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types

from sa1b_rle._core import __version__

# What each shim's modules are: the package and its submodules.
_PYCOCOTOOLS = {
    "mask": "sa1b_rle.mask",
    "_mask": "sa1b_rle.mask",
    "coco": "sa1b_rle.coco",
    "cocoeval": "sa1b_rle.cocoeval",
}
_LVIS = {
    "lvis": "sa1b_rle.lvis",
    "results": "sa1b_rle.lvis",
    "eval": "sa1b_rle.lvis",
}


def _install(name: str, submodules: dict[str, str], top: dict[str, str]) -> types.ModuleType:
    """Puts a package ``name`` into ``sys.modules`` whose submodules are this package's
    modules (replacing what an earlier import put there), and returns it."""
    package = types.ModuleType(name, f"sa1b_rle standing in for {name} (see sa1b_rle._shims).")
    # A spec, so that importlib.util.find_spec (how libraries test for a package) finds it.
    package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    package.__path__ = []  # a package: other submodules are not found
    package.__version__ = __version__  # type: ignore[attr-defined]
    package.__sa1b_rle_shim__ = True  # type: ignore[attr-defined]
    for stem in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[stem]
    sys.modules[name] = package
    for sub, target in submodules.items():
        module = importlib.import_module(target)
        setattr(package, sub, module)
        sys.modules[f"{name}.{sub}"] = module
    for attr, where in top.items():
        module_name, _, member = where.rpartition(".")
        setattr(package, attr, getattr(importlib.import_module(module_name), member))
    return package


def init_as_pycocotools() -> None:
    """Makes ``import pycocotools``, ``pycocotools.mask``, ``pycocotools.coco`` and
    ``pycocotools.cocoeval`` (and ``pycocotools._mask``) give this package's modules,
    whether or not pycocotools is installed, and also after it was imported (names
    imported from it before the call keep pointing at pycocotools)::

        import sa1b_rle
        sa1b_rle.init_as_pycocotools()
        from pycocotools.cocoeval import COCOeval   # sa1b_rle.cocoeval.COCOeval
    """
    _install("pycocotools", _PYCOCOTOOLS, {})


def init_as_lvis() -> None:
    """Makes ``import lvis`` (and ``lvis.lvis``, ``lvis.results``, ``lvis.eval``) give
    :mod:`sa1b_rle.lvis`: ``from lvis import LVIS, LVISResults, LVISEval`` then gives this
    package's classes."""
    top = {n: f"sa1b_rle.lvis.{n}" for n in ("LVIS", "LVISResults", "LVISEval")}
    _install("lvis", _LVIS, top)
