"""SA-1B per-image annotation files: load them into columns, validate them.

An SA-1B file (``sa_N.json``) is ``{"image": {"image_id", "width", "height",
"file_name"}, "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
"bbox": [x, y, w, h], "area", "predicted_iou", "stability_score", "point_coords":
[[x, y]], "crop_box": [x, y, w, h]}, ...]}``.

:func:`load` parses one in Rust straight into an :class:`Sa1bImage` (one numpy array per
field, the masks as an :class:`~sa1b_rle.RleBatch`; no Python object per annotation).
:func:`validate` lists every :class:`Problem` of a file without raising.

>>> import json
>>> from sa1b_rle import sa1b
>>> doc = {"image": {"image_id": 7, "width": 3, "height": 2, "file_name": "sa_7.jpg"},
...        "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "213"},
...                         "bbox": [1, 0, 1, 1], "area": 1, "predicted_iou": 0.9,
...                         "stability_score": 0.95, "point_coords": [[1.5, 0.5]],
...                         "crop_box": [0, 0, 3, 2]}]}
>>> image = sa1b.load(json.dumps(doc).encode())
>>> len(image), image.area.tolist(), image.masks.decode()[0].tolist()
(1, [1], [[0, 1, 0], [0, 0, 0]])
>>> doc["annotations"][0]["area"] = 5
>>> report = sa1b.validate(json.dumps(doc).encode())
>>> print(report)
<bytes>: annotation 0 (id 1): annotations[0].area: 5 differs from the mask's area 1
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any, NamedTuple, Union, cast, overload

import numpy as np
import numpy.typing as npt

from sa1b_rle import sources as _sources
from sa1b_rle._core import (
    Sa1bImage,
    default_max_pixels,
    draw_masks,
    encode_png,
    file_name_problem,
    read_image_rgb,
    sa1b_parse,
)

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_JSON_BYTES",
    "CocoSummary",
    "ParquetSummary",
    "Problem",
    "Report",
    "Sa1bImage",
    "Sa1bShardError",
    "Sa1bValidationError",
    "ShardCounts",
    "ShardEntry",
    "ShardReader",
    "Source",
    "expand_sources",
    "image_path",
    "index_shard",
    "iter_images",
    "iter_shard",
    "load",
    "max_image_pixels",
    "parquet_parts",
    "read_image",
    "render",
    "statistics",
    "to_coco",
    "to_parquet",
    "validate",
    "validate_all",
    "write_png",
]

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


class Sa1bShardError(ValueError):
    """A shard member could not be used (``on_error="raise"``); the message names it."""

    def __init__(self, shard: str, member: str, message: str) -> None:
        self.shard, self.member, self.message = shard, member, message
        super().__init__(f"{shard}: {member}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles (multiprocessing, Ray tasks) with its three parts.
        return type(self), (self.shard, self.member, self.message)


Sa1bShardError.__module__ = "sa1b_rle"


class ShardCounts(NamedTuple):
    """What a shard reader has seen so far."""

    samples: int
    """Samples yielded (an image and its annotation file, both good)."""
    bad_members: int
    """Members recorded in ``errors``."""


#: Member extensions of an SA-1B shard.
_IMAGE_EXTS = (".jpg", ".jpeg")
_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)

#: The largest annotation file a shard member may declare (bytes): SA-1B's are a few MB.
MAX_JSON_BYTES = 64 << 20
#: The largest image a shard member may declare (bytes): SA-1B's JPEGs are about 1 MB.
MAX_IMAGE_BYTES = 256 << 20


class _StrictEnd(io.RawIOBase):
    """A non-seekable stream that answers "end" a few times, then raises ``EOFError``:
    tarfile's stream mode skips a member by reading its declared size block by block,
    and would spin on empty reads for as long as a lying header says (a 1 TiB member
    is 2**26 of them)."""

    #: Empty reads answered before the stream counts as read past its end (gzip and
    #: tarfile look for more a few times at a normal end).
    PATIENCE = 1000

    def __init__(self, raw: Any) -> None:
        self._raw, self._ended = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        if not data:
            self._ended += 1
            if self._ended > self.PATIENCE:
                raise EOFError("the stream ended before the data its headers declare")
            return 0
        n = len(data)
        b[:n] = data
        return n


def _open_shard(
    source: str | os.PathLike[str] | IO[bytes],
) -> tuple[tarfile.TarFile, str, Any, Any, int | None]:
    """The tar reader of a shard (gzip recognised by its magic bytes, whatever the name),
    its name for messages, the file to close (None when the caller owns it), the gzip
    stream to read to its end when the archive is done (None when not compressed), and
    the size of an uncompressed seekable archive (None when unknown)."""
    own = None
    f: Any
    if isinstance(source, (str, os.PathLike)):
        own = f = open(source, "rb")
        name = os.fspath(source)
    elif hasattr(source, "read"):
        f = source
        name = str(getattr(source, "name", "<shard>"))
    else:
        raise TypeError(
            f"source must be a path or a binary file object, not {type(source).__name__}"
        )
    gz: gzip.GzipFile | None = None
    size: int | None = None
    try:
        try:
            seekable = bool(f.seekable())
        except (AttributeError, OSError):
            seekable = False
        if seekable:
            start = f.tell()
            magic = f.read(2)
            size = f.seek(0, io.SEEK_END) - start
            f.seek(start)
        else:
            f = io.BufferedReader(_StrictEnd(f))
            magic = f.peek(2)[:2]
        if magic == b"\x1f\x8b":
            # GzipFile checks the CRC and length of each gzip member when it reaches the
            # member's end (tarfile's own gzip stream never does): the reader reads on to
            # the end of the stream once the archive is done.
            gz = gzip.GzipFile(fileobj=f, mode="rb")
            size = None
            f = gz
        tf = tarfile.open(fileobj=f, mode="r:" if seekable else "r|")
    except _ERRORS as e:
        if own is not None:
            own.close()
        raise _UnreadableShard(name, f"not a readable tar archive: {e}") from e
    return tf, name, own, gz, size


def _printable(name: str) -> str:
    """A member name fit for messages: bytes that are not UTF-8 (kept by tarfile as
    surrogate escapes) shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _UnreadableShard(Exception):
    """The archive could not be opened (not tar, empty, first block unreadable)."""

    def __init__(self, name: str, message: str) -> None:
        self.name, self.message = name, message
        super().__init__(message)


def _no_samples() -> Generator[tuple[str, bytes | None, Sa1bImage], None, None]:
    yield from ()


def _member_problem(
    m: tarfile.TarInfo,
    key: str,
    ext: str,
    seen: set[tuple[str, bool]],
    size: int | None,
    caps: dict[str, int],
) -> tuple[str, str] | None:
    """What is wrong with shard member ``m`` (``key`` and lower-case ``ext`` its name's
    parts; ``seen`` the (key, is JSON) pairs before it, updated; ``size`` the archive's
    size when known), and what the reader does: ``"skip"`` the member, ``"drop"`` its
    sample too (an annotation file not read), or ``"stop"`` (a truncated archive)."""
    if not m.isfile() or ext not in (".json", *_IMAGE_EXTS):
        return "not an SA-1B member (a .jpg image or a .json file)", "skip"
    if (key, ext == ".json") in seen:
        return "a second member with this name", "skip"
    seen.add((key, ext == ".json"))
    if size is not None and m.offset_data + m.size > size:
        return (
            f"truncated or corrupt archive: the member declares {m.size} bytes "
            f"from byte {m.offset_data}, the archive ends at byte {size}"
        ), "stop"
    kind = ".json" if ext == ".json" else "image"
    if m.size > caps[kind]:
        arg = "max_json_bytes" if kind == ".json" else "max_image_bytes"
        message = f"the member declares {m.size} bytes, more than the {arg} limit of {caps[kind]}"
        return message, "drop" if kind == ".json" else "skip"
    return None


class ShardReader(Iterator[tuple[str, "bytes | None", Sa1bImage]]):
    """Iterates over the samples of an SA-1B shard (see :func:`iter_shard`)."""

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        *,
        images: bool = True,
        on_error: str = "raise",
        max_json_bytes: int = MAX_JSON_BYTES,
        max_image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        _sources.check_on_error(on_error)
        for arg, value in (
            ("max_json_bytes", max_json_bytes),
            ("max_image_bytes", max_image_bytes),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{arg} must be an int, not {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{arg} must be at least 1, not {value}")
        self._caps = {".json": max_json_bytes, "image": max_image_bytes}
        self._raise = on_error == "raise"
        self._images = images
        self.errors: list[tuple[str, str]] = []
        """Each bad member as ``(member name, what is wrong)``."""
        self._samples = 0
        try:
            self._tar, self.name, self._own, self._gz, self._size = _open_shard(source)
        except _UnreadableShard as e:
            self.name = e.name
            self._gen = _no_samples()
            self._bad("<start of the archive>", e.message)
            return
        self._gen = self._run()

    @property
    def counts(self) -> ShardCounts:
        """Samples yielded and members recorded as bad so far."""
        return ShardCounts(self._samples, len(self.errors))

    def __iter__(self) -> ShardReader:
        return self

    def __next__(self) -> tuple[str, bytes | None, Sa1bImage]:
        return next(self._gen)

    def close(self) -> None:
        """Stops reading and closes the shard (if it was opened from a path)."""
        self._gen.close()

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bad(self, member: str, message: str) -> None:
        if self._raise:
            raise Sa1bShardError(self.name, member, message)
        self.errors.append((member, message))

    def _run(self) -> Generator[tuple[str, bytes | None, Sa1bImage], None, None]:
        tf = self._tar
        # Members waiting for their partner, by key (the name without its extension).
        jsons: dict[str, tuple[str, Sa1bImage]] = {}
        images: dict[str, tuple[str, bytes | None]] = {}
        dropped: set[str] = set()  # keys whose annotation file was bad
        seen: set[tuple[str, bool]] = set()  # (key, is the annotation file)
        last = "<start of the archive>"
        try:
            while True:
                try:
                    m = tf.next()
                except _ERRORS as e:
                    self._bad(f"after {last}", f"truncated or corrupt archive: {e}")
                    break
                if m is None:
                    break
                # The reader keeps every header it has seen; a shard has ~22,000.
                cast(Any, tf).members.clear()
                if m.isdir():
                    continue
                last = name = _printable(m.name)
                key, ext = os.path.splitext(name)
                ext = ext.lower()
                problem = _member_problem(m, key, ext, seen, self._size, self._caps)
                if problem is not None:
                    # A member over its limit is not read (memory stays bounded whatever
                    # the compression ratio); skipping it reads on through the stream,
                    # which ends the iteration if the member is cut short.
                    self._bad(name, problem[0])
                    if problem[1] == "stop":
                        break
                    if problem[1] == "drop":
                        # (As an invalid annotation file: its image is reported too.)
                        if key in images:
                            self._bad(images.pop(key)[0], "its annotation file is invalid")
                        else:
                            dropped.add(key)
                    continue
                data: bytes | None = None
                if ext == ".json" or self._images:
                    try:
                        member = tf.extractfile(m)
                        data = member.read() if member is not None else b""
                    except _ERRORS as e:
                        self._bad(name, f"truncated or corrupt member: {e}")
                        break
                    if len(data) != m.size:
                        self._bad(
                            name,
                            f"truncated member: {len(data)} of its {m.size} bytes",
                        )
                        break
                if ext == ".json":
                    assert data is not None
                    image, report = sa1b_parse(data, name, True)
                    if image is None or report:
                        problems = Report([Problem(*p) for p in report])
                        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                        self._bad(name, f"invalid annotation file: {problems[0]}{more}")
                        if key in images:
                            self._bad(images.pop(key)[0], "its annotation file is invalid")
                        else:
                            dropped.add(key)
                        continue
                    if key in images:
                        self._samples += 1
                        yield key, images.pop(key)[1], image
                    else:
                        jsons[key] = (name, image)
                else:
                    if key in dropped:
                        dropped.discard(key)
                        self._bad(name, "its annotation file is invalid")
                    elif key in jsons:
                        self._samples += 1
                        yield key, data, jsons.pop(key)[1]
                    else:
                        images[key] = (name, data)
            if self._gz is not None:
                # The archive's end: read the gzip stream to its end, which checks its
                # CRC and length (a corrupt or cut-off stream is reported).
                try:
                    while self._gz.read(1 << 20):
                        pass
                except _ERRORS as e:
                    self._bad(f"after {last}", f"corrupt gzip stream: {e}")
            for json_name, _ in jsons.values():
                self._bad(json_name, "annotation file without its image")
            for image_name, _ in images.values():
                self._bad(image_name, "image without its annotation file")
        finally:
            tf.close()
            if self._own is not None:
                self._own.close()


def iter_shard(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    images: bool = True,
    on_error: str = "raise",
    max_json_bytes: int = MAX_JSON_BYTES,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> ShardReader:
    """Streams ``(key, image_bytes_or_None, Sa1bImage)`` out of an SA-1B shard.

    ``source`` is a path or a binary file object of a tar archive (gzip-compressed or
    not, recognised by its magic bytes whatever the name). Members are paired by key
    (the name without its extension) in any order. With ``images=False`` the image
    payloads are not read (on a seekable source they are skipped, not decompressed
    into memory) and ``None`` takes their place.

    A truncated or corrupt member, an annotation file without its image (or the
    reverse), an invalid annotation file (every check of :func:`validate`) or a member
    that is neither: with ``on_error="raise"`` a :class:`Sa1bShardError` naming the
    member; with ``"collect"`` the reader carries on and records ``(member, message)``
    in its ``.errors``. ``.counts`` gives the samples yielded and the members recorded:
    every member seen is in a yielded sample or in ``.errors``. A truncated archive
    ends the iteration (nothing after the cut can be read).

    Limits: a member declaring more than ``max_json_bytes`` (annotation files, default
    64 MiB) or ``max_image_bytes`` (images, default 256 MiB) is reported and not read,
    so memory stays bounded whatever the compression ratio; a member declaring more
    bytes than an uncompressed archive holds is reported as a truncated archive. A
    non-seekable stream is never read past its end. A gzip stream's CRC and length are
    checked when the archive ends: a corrupt or cut-off stream is reported as a bad
    member after the samples already yielded (which came from the corrupt stream).
    """
    return ShardReader(
        source,
        images=images,
        on_error=on_error,
        max_json_bytes=max_json_bytes,
        max_image_bytes=max_image_bytes,
    )


class ShardEntry(NamedTuple):
    """A sample of an uncompressed shard, as :func:`index_shard` finds it: where its
    members' bytes lie, as ``(offset, size)``."""

    key: str
    """The members' name without the extension."""
    json_at: tuple[int, int]
    image_at: tuple[int, int] | None
    """None when the shard has no image for it."""


def index_shard(
    path: str | os.PathLike[str],
    *,
    on_error: str = "raise",
    errors: list[tuple[str, str]] | None = None,
    max_json_bytes: int = MAX_JSON_BYTES,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> list[ShardEntry]:
    """The samples of an uncompressed tar shard, by key, for reading members by offset
    (random access, as a map-style dataset does); nothing is decompressed or parsed.

    The members are checked as :func:`iter_shard` checks them (a member that is not a
    .json or .jpg file, a name given twice, a member over ``max_json_bytes`` or
    ``max_image_bytes``, one declaring more bytes than the archive holds, an image
    without its annotation file); an annotation file without its image is a sample with
    ``image_at=None``. With ``on_error="raise"`` the first problem is a
    :class:`Sa1bShardError`; with ``"collect"`` it is appended to ``errors`` as
    ``(member, message)`` and the member left out. A gzip-compressed shard is a
    ``ValueError`` (it has no offsets to read at: decompress it, or stream it with
    :func:`iter_shard`)."""
    _sources.check_on_error(on_error)
    for arg, value in (("max_json_bytes", max_json_bytes), ("max_image_bytes", max_image_bytes)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{arg} must be an int, not {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{arg} must be at least 1, not {value}")
    name = os.fspath(path)
    caps = {".json": max_json_bytes, "image": max_image_bytes}

    def bad(member: str, message: str) -> None:
        if on_error == "raise":
            raise Sa1bShardError(name, member, message)
        if errors is not None:
            errors.append((member, message))

    with open(name, "rb") as f:
        if f.read(2) == b"\x1f\x8b":
            raise ValueError(
                f"{name} is gzip-compressed: random access needs an uncompressed tar "
                "(decompress it, or stream it with sa1b_rle.sa1b.iter_shard)"
            )
        size = f.seek(0, io.SEEK_END)
        f.seek(0)
        jsons: dict[str, tuple[int, int]] = {}
        images: dict[str, tuple[str, tuple[int, int]]] = {}
        seen: set[tuple[str, bool]] = set()
        dropped: set[str] = set()  # keys whose annotation file was bad
        last = "<start of the archive>"
        try:
            tf = tarfile.open(fileobj=f, mode="r:")
        except _ERRORS as e:
            bad(last, f"not a readable tar archive: {e}")
            return []
        with tf:
            while True:
                try:
                    m = tf.next()
                except _ERRORS as e:
                    bad(f"after {last}", f"truncated or corrupt archive: {e}")
                    break
                if m is None:
                    break
                cast(Any, tf).members.clear()
                if m.isdir():
                    continue
                last = member = _printable(m.name)
                key, ext = os.path.splitext(member)
                ext = ext.lower()
                problem = _member_problem(m, key, ext, seen, size, caps)
                if problem is not None:
                    bad(member, problem[0])
                    if problem[1] == "stop":
                        break
                    if problem[1] == "drop":
                        dropped.add(key)
                    continue
                if ext == ".json":
                    jsons[key] = (m.offset_data, m.size)
                else:
                    images[key] = (member, (m.offset_data, m.size))
    for key, (member, _) in images.items():
        if key in dropped:
            bad(member, "its annotation file is invalid")
        elif key not in jsons:
            bad(member, "image without its annotation file")
    return [
        ShardEntry(key, jsons[key], images[key][1] if key in images else None)
        for key in sorted(jsons)
    ]


def expand_sources(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[tuple[str, bool]]:
    """``(path, is_shard)`` for every SA-1B file or shard given: a file as it is (a shard
    when its bytes say tar or gzip), a directory's ``*.json`` files and ``*.tar``,
    ``*.tar.gz`` and ``*.tgz`` shards (not recursive), in name order (see
    :mod:`sa1b_rle.sources`)."""
    return [(s.path, s.shard) for s in _sources.find(sources)]


def iter_images(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_error: str = "raise",
    errors: list[tuple[str, str]] | None = None,
) -> Iterator[tuple[str, Sa1bImage]]:
    """``(name, Sa1bImage)`` for every annotation file in ``sources`` (files, directories,
    shards; see :func:`expand_sources`), validated. A shard's samples are named
    ``shard:member``. With ``on_error="collect"`` bad files and members are appended to
    ``errors`` as ``(name, message)`` and skipped; with ``"raise"`` the first raises."""
    _sources.check_on_error(on_error)
    sink = errors if errors is not None else []
    for path, shard in expand_sources(sources):
        if shard:
            reader = iter_shard(path, images=False, on_error=on_error)
            for key, _, image in reader:
                yield f"{path}:{key}.json", image
            sink.extend((f"{path}:{m}", msg) for m, msg in reader.errors)
            continue
        try:
            image = load(path)
        except (Sa1bValidationError, OSError) as e:
            if on_error == "raise":
                raise
            sink.append((path, str(e)))
            continue
        yield path, image


def validate_all(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    on_file: Any = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Validates every annotation file and shard member of ``sources`` (see
    :func:`expand_sources`): ``(files checked, problems)``, each problem a dict
    (:meth:`Problem.to_dict`, or ``{"file": "shard:member", "message"}`` for a member
    that cannot be read). ``on_file()`` is called after each file."""
    problems: list[dict[str, Any]] = []
    checked = 0
    for path, shard in expand_sources(sources):
        if shard:
            reader = iter_shard(path, images=False, on_error="collect")
            for _ in reader:
                checked += 1
                if on_file is not None:
                    on_file()
            problems.extend({"file": f"{path}:{m}", "message": msg} for m, msg in reader.errors)
            continue
        report = validate(path)
        checked += 1
        if on_file is not None:
            on_file()
        problems.extend(p.to_dict() for p in report)
    return checked, problems


def _quantiles(x: npt.NDArray[Any]) -> dict[str, float]:
    if len(x) == 0:
        return {}
    q = np.quantile(x, [0.0, 0.05, 0.5, 0.95, 1.0])
    names = ("min", "p5", "median", "p95", "max")
    return {k: float(v) for k, v in zip(names, q, strict=True)} | {"mean": float(np.mean(x))}


#: The most decoded mask bytes :func:`statistics` holds at once for its decode timing.
_DECODE_BYTES = 256 << 20


def statistics(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    decode: bool = True,
    errors: list[tuple[str, str]] | None = None,
    on_image: Any = None,
) -> dict[str, Any]:
    """Statistics of the SA-1B images in ``sources``: counts, quantiles (min, p5, median,
    p95, max, mean) of masks per image, ``predicted_iou``, ``stability_score``, area and
    area as a fraction of the image, and (with ``decode``) the decode rate on this
    machine. Unreadable files are skipped and listed in ``errors``; ``on_image()`` is
    called after each image."""
    from sa1b_rle._batch import get_num_threads

    sink = errors if errors is not None else []
    per_image: list[int] = []
    piou, stab, area, rel_area = [], [], [], []
    decode_s, decoded_px, decoded_masks = 0.0, 0, 0
    for _, img in iter_images(sources, on_error="collect", errors=sink):
        if on_image is not None:
            on_image()
        per_image.append(len(img))
        piou.append(img.predicted_iou)
        stab.append(img.stability_score)
        area.append(img.area)
        rel_area.append(img.area / max(1, img.height * img.width))
        if len(img) and decode:
            # Timed in chunks of at most _DECODE_BYTES of output; masks larger than
            # that on their own are not timed.
            per_mask = img.height * img.width
            step = _DECODE_BYTES // per_mask if per_mask else len(img)
            for start in range(0, len(img) if step else 0, step or 1):
                idx = np.arange(start, min(start + step, len(img)))
                t = time.perf_counter()
                img.decode(indices=idx)
                decode_s += time.perf_counter() - t
                decoded_px += len(idx) * per_mask
                decoded_masks += len(idx)

    def cat(xs: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        return np.concatenate(xs) if xs else np.zeros(0)

    stats: dict[str, Any] = {
        "images": len(per_image),
        "masks": int(sum(per_image)),
        "masks_per_image": _quantiles(np.array(per_image, float)),
        "predicted_iou": _quantiles(cat(piou)),
        "stability_score": _quantiles(cat(stab)),
        "area": _quantiles(cat(area)),
        "area_fraction_of_image": _quantiles(cat(rel_area)),
        "unreadable": len(sink),
        "threads": get_num_threads(),
    }
    if decode_s > 0:
        stats["decode"] = {
            "masks_per_second": decoded_masks / decode_s,
            "megapixels_per_second": decoded_px / decode_s / 1e6,
        }
    return stats


class CocoSummary(NamedTuple):
    """What :func:`to_coco` wrote."""

    images: int
    annotations: int
    errors: list[tuple[str, str]]
    """Files or shard members skipped (``on_error="collect"``), as ``(name, message)``."""


def to_coco(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    filter: Any = None,
    category: str = "object",
    on_error: str = "raise",
) -> CocoSummary:
    """Writes SA-1B annotation files, directories or shards as one COCO instances JSON.

    One category (id 1, ``category``), one image entry per file (``id`` is SA-1B's
    ``image_id``), annotations with ``iscrowd`` 0, the RLE segmentation (counts as str),
    SA-1B's area and bbox, sequential unique ids from 1 (SA-1B's own id kept as
    ``sa1b_id``) and SA-1B's quality fields as they are. Written streaming: memory does
    not grow with the number of images (the image entries are spooled to a temporary
    file beside the output and appended at the end).

    ``filter``: a dict of :meth:`Sa1bImage.filter` thresholds (e.g.
    ``{"min_predicted_iou": 0.88}``) or a function from an ``Sa1bImage`` to the
    ``Sa1bImage`` to keep. ``on_error``: ``"raise"`` (the first bad file or member) or
    ``"collect"`` (skip it, listed in the returned summary). Image ids must be unique.
    """
    if filter is None:
        keep = None
    elif callable(filter):
        keep = filter
    elif isinstance(filter, dict):
        keep = lambda image: image.filter(**filter)  # noqa: E731
    else:
        raise TypeError("filter must be a dict of Sa1bImage.filter thresholds or a function")
    out_path = os.fspath(out_path)
    errors: list[tuple[str, str]] = []
    n_images = n_anns = 0
    seen_ids: set[int] = set()
    spool_path = out_path + ".images.tmp"
    try:
        with open(out_path, "wb") as out, open(spool_path, "w+b") as spool:
            out.write(b'{"info": {"description": "SA-1B annotations converted by sa1b_rle"}, ')
            cat = json.dumps([{"id": 1, "name": category, "supercategory": category}])
            out.write(b'"categories": ' + cat.encode() + b', "annotations": [')
            for name, image in iter_images(sources, on_error=on_error, errors=errors):
                if image.image_id in seen_ids:
                    message = f"image_id {image.image_id} appears twice"
                    if on_error == "raise":
                        raise ValueError(f"{name}: {message}")
                    errors.append((name, message))
                    continue
                seen_ids.add(image.image_id)
                if keep is not None:
                    image = keep(image)
                entry = {
                    "id": image.image_id,
                    "width": image.width,
                    "height": image.height,
                    "file_name": image.file_name,
                }
                spool.write((b"," if n_images else b"") + json.dumps(entry).encode())
                n_images += 1
                if len(image):
                    if n_anns:
                        out.write(b",")
                    out.write(image._coco_annotations_json(n_anns + 1, 1))
                    n_anns += len(image)
            out.write(b'], "images": [')
            spool.seek(0)
            while chunk := spool.read(1 << 20):
                out.write(chunk)
            out.write(b"]}")
    except BaseException:
        if os.path.exists(out_path):
            os.remove(out_path)
        raise
    finally:
        if os.path.exists(spool_path):
            os.remove(spool_path)
    return CocoSummary(n_images, n_anns, errors)


def render(
    image: Sa1bImage, rgb: npt.ArrayLike | None = None, alpha: float = 0.45
) -> npt.NDArray[np.uint8]:
    """The masks of ``image`` drawn over ``rgb`` ((H, W, 3) uint8 RGB; a grey canvas when
    None): each mask blended in its own colour with weight ``alpha``, its outline in the
    solid colour, later masks over earlier ones. Returns a new (H, W, 3) uint8 array."""
    if rgb is None:
        canvas = np.full((image.height, image.width, 3), 128, np.uint8)
    else:
        canvas = np.array(rgb, dtype=np.uint8, order="C", copy=True)
    draw_masks(canvas, image.masks, alpha)
    return canvas


def max_image_pixels() -> int:
    """The most pixels an image may have to be decoded or drawn: the environment's
    ``SA1B_RLE_MAX_IMAGE_PIXELS``, else 178,956,970 (where Pillow refuses an image as a
    decompression bomb)."""
    return default_max_pixels()


def read_image(
    source: str | os.PathLike[str] | bytes, *, max_pixels: int | None = None
) -> npt.NDArray[np.uint8]:
    """A JPEG or PNG (a path, or the file's bytes) as an (H, W, 3) uint8 RGB array.

    An image of more than ``max_pixels`` pixels (default :func:`max_image_pixels`) or a
    file over :data:`MAX_IMAGE_BYTES` is refused before it is decoded. Raises
    ``OSError`` (``FileNotFoundError``, ...) for a file that cannot be read and
    ``ValueError`` naming the file for one that is not a readable JPEG or PNG."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return read_image_rgb(bytes(source), max_pixels=max_pixels)
    path = os.fspath(source)
    with open(path, "rb") as f:
        data = f.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{path}: the file is over the {MAX_IMAGE_BYTES} bytes read as an image")
    try:
        return read_image_rgb(data, max_pixels=max_pixels)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def write_png(path: str | os.PathLike[str], rgb: npt.ArrayLike) -> None:
    """Writes an (H, W, 3) uint8 RGB array (such as :func:`render`'s) as a PNG file."""
    data = encode_png(np.ascontiguousarray(rgb, dtype=np.uint8))
    with open(path, "wb") as f:
        f.write(data)


def image_path(annotation: str | os.PathLike[str], image: Sa1bImage) -> str:
    """The image an annotation file names: its ``image.file_name`` in the file's
    directory. ``ValueError`` naming the file when ``file_name`` is not a bare file name
    (a path, ``..`` or an absolute name must not make a file from elsewhere read
    others)."""
    path = os.fspath(annotation)
    problem = file_name_problem(image.file_name)
    if problem is not None:
        raise ValueError(f"{path}: image.file_name {problem}")
    return os.path.join(os.path.dirname(path), image.file_name)


class ParquetSummary(NamedTuple):
    """What :func:`to_parquet` wrote."""

    files: list[str]
    rows: int
    images: int
    errors: list[tuple[str, str]]
    """Files or shard members skipped, as ``(name, message)``."""


def to_parquet(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    rows_per_file: int = 1_000_000,
    on_error: str = "collect",
    overwrite: bool = False,
    progress: Callable[[Sa1bImage], object] | None = None,
) -> ParquetSummary:
    """Writes SA-1B files, directories or shards as a Parquet dataset: one row per mask
    (:data:`sa1b_rle.arrow.SCHEMA`), files ``part-00000.parquet``, ... of about
    ``rows_per_file`` rows (split between images), written as the input streams in
    (memory holds one file's rows). Needs pyarrow.

    ``on_error="collect"`` (the default) skips bad files and shard members and lists
    them in the summary (nothing is dropped silently); ``"raise"`` stops at the first.
    A directory already holding ``part-*.parquet`` files is refused
    (``FileExistsError``) unless ``overwrite``, which deletes those files first.
    ``progress`` is called with each image once its rows are queued for writing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sa1b_rle import arrow

    if rows_per_file < 1:
        raise ValueError(f"rows_per_file must be at least 1, not {rows_per_file}")
    out = os.fspath(out_dir)
    old = parquet_parts(out)
    if old and not overwrite:
        raise FileExistsError(f"{out} already holds {old[0]} (and maybe more): pass overwrite=True")
    # Missing inputs fail here, before anything is written or deleted.
    sources = [p for p, _ in expand_sources(sources)]
    for n in old:
        os.remove(os.path.join(out, n))
    errors: list[tuple[str, str]] = []
    files: list[str] = []
    pending: list[Any] = []
    rows = images = pending_rows = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending:
            return
        # Created with the first part file: input that fails first leaves nothing behind.
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, f"part-{len(files):05d}.parquet")
        pq.write_table(pa.concat_tables(pending), path)
        files.append(path)
        pending, pending_rows = [], 0

    for _, image in iter_images(sources, on_error=on_error, errors=errors):
        table = arrow.to_table([image])
        pending.append(table)
        pending_rows += table.num_rows
        rows += table.num_rows
        images += 1
        if progress is not None:
            progress(image)
        if pending_rows >= rows_per_file:
            flush()
    flush()
    return ParquetSummary(files, rows, images, errors)


def parquet_parts(out_dir: str | os.PathLike[str]) -> list[str]:
    """The ``part-*.parquet`` files already in ``out_dir`` (none if it does not exist)."""
    out = os.fspath(out_dir)
    if not os.path.isdir(out):
        return []
    return sorted(n for n in os.listdir(out) if n.startswith("part-") and n.endswith(".parquet"))
