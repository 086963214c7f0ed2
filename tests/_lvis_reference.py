"""lvis-api 0.5.3 as the LVIS tests' reference: installed without its dependencies
(``scripts/dev test``), imported without its drawing module (``lvis.vis`` needs
matplotlib and OpenCV's GUI build), and given back ``np.float`` (removed in numpy 1.24,
used by its ``accumulate``) in its own module only."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

import numpy as np


def load() -> tuple[Any, Any, Any]:
    """lvis-api's ``(LVIS, LVISResults, LVISEval)``."""
    if "lvis.eval" not in sys.modules:
        spec = importlib.util.find_spec("lvis")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("lvis-api is not installed (scripts/dev test installs it)")
        package = types.ModuleType("lvis")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["lvis"] = package
        evaluation = importlib.import_module("lvis.eval")
        numpy_with_float = types.ModuleType("numpy")
        numpy_with_float.__dict__.update(np.__dict__)
        numpy_with_float.float = float  # type: ignore[attr-defined]
        evaluation.np = numpy_with_float  # type: ignore[attr-defined]
    lvis = sys.modules["lvis.lvis"]
    results = sys.modules["lvis.results"]
    return lvis.LVIS, results.LVISResults, sys.modules["lvis.eval"].LVISEval
