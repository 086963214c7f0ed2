"""The examples in the Python modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from sa1b_rle import _images, coco, kaggle, sa1b


@pytest.mark.parametrize("module", [sa1b, kaggle, coco, _images], ids=lambda m: m.__name__)
def test_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
