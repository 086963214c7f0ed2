"""``init_as_pycocotools()`` and ``init_as_lvis()`` in fresh interpreters, with the real
package importable or hidden, imported before the call or not."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Hides a package from the import system (as if it were not installed).
HIDE = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name == {name!r} or name.startswith({name!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)")
        return None
sys.meta_path.insert(0, _Hide())
"""


def run(code: str, hide: str | None = None, before: str = "") -> None:
    prelude = (HIDE.format(name=hide) if hide else "") + before
    got = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr


@pytest.mark.parametrize("mode", ["hidden", "installed", "imported before"])
def test_init_as_pycocotools(mode: str) -> None:
    before = "import pycocotools.mask, pycocotools.coco\n" if mode == "imported before" else ""
    run(
        """
        import importlib.util
        import numpy as np
        import sa1b_rle
        sa1b_rle.init_as_pycocotools()
        import pycocotools
        import pycocotools.mask as mask_utils
        from pycocotools import mask
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        import pycocotools._mask as _mask
        assert mask_utils is mask is _mask is sa1b_rle.mask
        assert COCO is sa1b_rle.coco.COCO and COCOeval is sa1b_rle.cocoeval.COCOeval
        assert pycocotools.cocoeval is sa1b_rle.cocoeval
        # How libraries test for it (torchmetrics, lightning's module_available).
        assert importlib.util.find_spec("pycocotools") is not None
        assert importlib.util.find_spec("pycocotools.mask") is not None
        # A detector's usual calls, by pycocotools' names.
        m = np.zeros((6, 7), np.uint8); m[1:4, 2:5] = 1
        rle = mask_utils.encode(np.asfortranarray(m))
        gt = COCO()
        gt.dataset = {"images": [{"id": 1, "height": 6, "width": 7}],
                      "categories": [{"id": 1, "name": "a"}],
                      "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                                       "segmentation": rle, "area": 9.0, "bbox": [2, 1, 3, 3]}]}
        gt.createIndex()
        dt = gt.loadRes([{"image_id": 1, "category_id": 1, "segmentation": rle, "score": 0.9}])
        e = COCOeval(gt, dt, "segm"); e.evaluate(); e.accumulate(); e.summarize()
        assert abs(e.stats[0] - 1.0) < 1e-9  # (tp / (tp + fp + eps))
        """,
        hide="pycocotools" if mode == "hidden" else None,
        before=before,
    )


@pytest.mark.parametrize("mode", ["hidden", "installed"])
def test_init_as_lvis(mode: str) -> None:
    run(
        """
        import sa1b_rle
        sa1b_rle.init_as_lvis()
        import lvis
        from lvis import LVIS, LVISEval, LVISResults
        from lvis.eval import LVISEval as E
        from lvis.lvis import LVIS as L
        from lvis.results import LVISResults as R
        assert LVIS is L is sa1b_rle.lvis.LVIS
        assert LVISEval is E is sa1b_rle.lvis.LVISEval
        assert LVISResults is R is sa1b_rle.lvis.LVISResults
        """,
        hide="lvis" if mode == "hidden" else None,
    )
