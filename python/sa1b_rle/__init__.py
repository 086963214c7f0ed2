"""sa1b_rle: fast, validated COCO / SA-1B run-length-encoded masks.

``sa1b_rle.mask`` is a drop-in replacement for ``pycocotools.mask`` with bit-identical
results; bad input raises :class:`RleError` (a ``ValueError``) instead of crashing.
"""

from sa1b_rle import mask
from sa1b_rle._core import RleError, __version__

__all__ = ["RleError", "__version__", "mask"]
