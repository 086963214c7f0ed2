"""Test sources that behave like a pipe: read only, not seekable."""

from __future__ import annotations

import io
from typing import Any


class Pipe(io.RawIOBase):
    """The bytes given, readable once from the start, like a pipe or a remote stream."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        return self._b.readinto(buf)
