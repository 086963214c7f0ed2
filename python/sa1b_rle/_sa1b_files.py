"""SA-1B annotation files: :func:`load` and :func:`validate` and what they report
(part of :mod:`sa1b_rle.sa1b`, which documents and exports it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any, Union, overload

from sa1b_rle._core import Sa1bImage, sa1b_parse

#: What :func:`load` and :func:`validate` read: a path, the file's bytes, or a binary
#: file object.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an annotation file.

    ``code`` is the kind: ``json``, ``missing``, ``type`` (wrong type or shape), ``size``
    (mask size is not the image's), ``counts`` (invalid RLE), ``area`` / ``bbox`` (the
    stored value differs from the mask's), ``range`` (score outside [0, 1]), ``outside``
    (point or crop box outside the image), ``duplicate`` (annotation id) or
    ``file_name`` (the image's file name is not a bare name: a path, ``..``, empty).
    """

    file: str
    index: int | None
    """The annotation's position in ``annotations`` (None for the file or its image)."""
    id: int | None
    """The annotation's id, when it has a readable one."""
    field: str
    """The JSON path, e.g. ``annotations[3].bbox``."""
    code: str
    message: str

    def __str__(self) -> str:
        where = ""
        if self.index is not None:
            where = f"annotation {self.index}" + (
                f" (id {self.id}): " if self.id is not None else ": "
            )
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{self.file}: {where}{what}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


class Report(Sequence[Problem]):
    """The problems found in one or more files: a sequence (empty for good files)."""

    def __init__(self, problems: Sequence[Problem] = ()) -> None:
        self._problems = list(problems)

    @overload
    def __getitem__(self, i: int) -> Problem: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Problem]: ...
    def __getitem__(self, i: int | slice) -> Problem | Sequence[Problem]:
        return self._problems[i]

    def __len__(self) -> int:
        return len(self._problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self._problems)

    def __repr__(self) -> str:
        return f"Report({len(self)} problems)"

    def to_json(self) -> str:
        """``{"problems": [{file, index, id, field, code, message}, ...]}`` as JSON."""
        return json.dumps({"problems": [p.to_dict() for p in self._problems]})


class Sa1bValidationError(ValueError):
    """A file failed validation; ``.report`` holds every problem found in it."""

    def __init__(self, report: Report) -> None:
        self.report = report
        more = f" (and {len(report) - 1} more)" if len(report) > 1 else ""
        super().__init__(f"{report[0]}{more}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles (multiprocessing, Ray tasks) with its report.
        return type(self), (self.report,)


# Shown and pickled as sa1b_rle.Sa1bValidationError, where users catch it.
Sa1bValidationError.__module__ = "sa1b_rle"


def _read(source: Source) -> tuple[bytes, str]:
    """The bytes of a source and a name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return f.read(), os.fspath(source)
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            f"source must be a path, bytes or a binary file object, not {type(source).__name__}"
        )
    data = read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("the file object must be opened in binary mode ('rb')")
    return bytes(data), str(getattr(source, "name", "<file>"))


def _parse(source: Source, check: bool) -> tuple[Sa1bImage | None, Report]:
    data, name = _read(source)
    image, problems = sa1b_parse(data, name, check)
    return image, Report([Problem(*p) for p in problems])


def load(source: Source, *, validate: bool = True) -> Sa1bImage:
    """Parses an SA-1B annotation file into an :class:`Sa1bImage`.

    With ``validate`` (the default) every check of :func:`validate` runs and any problem
    raises :class:`Sa1bValidationError` (a ``ValueError``) carrying the report. Without
    it only what building the image needs is checked (JSON, keys and types, mask sizes
    and counts): the stored area, box, scores, point and crop box are taken as they are.

    Raises ``OSError`` when a path cannot be read, ``TypeError`` for a source of another
    kind.
    """
    image, report = _parse(source, validate)
    if image is None or (validate and report):
        raise Sa1bValidationError(report)
    return image


def validate(source: Source) -> Report:
    """Every problem of an SA-1B annotation file (an empty report for a good file).

    Checks: valid JSON; every key present with the right type; each mask's size equals
    the image's [height, width]; valid counts; stored area and bbox equal the mask's
    (pycocotools' area and toBbox); predicted_iou and stability_score in [0, 1];
    point_coords and crop_box inside the image; unique annotation ids. Never raises for
    bad content (``OSError`` for an unreadable path).
    """
    return _parse(source, True)[1]
