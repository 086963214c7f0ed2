"""SA-1B shards (tar archives of images and annotation files): streamed by
:func:`iter_shard`, indexed for random access by :func:`index_shard`, with one set of
member rules and limits (part of :mod:`sa1b_rle.sa1b`, which documents and exports it).

Over 400 lines: the reader's one loop over members and the index share their rules
and limits (``_member_problem``), which belong in one file."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import IO, Any, NamedTuple, cast

from sa1b_rle import sources as _sources
from sa1b_rle._core import Sa1bImage, sa1b_parse
from sa1b_rle._sa1b_files import Problem, Report


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


def _limits(max_json_bytes: int, max_image_bytes: int) -> dict[str, int]:
    """The member size limits, checked: ``{".json": ..., "image": ...}``."""
    for arg, value in (("max_json_bytes", max_json_bytes), ("max_image_bytes", max_image_bytes)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{arg} must be an int, not {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{arg} must be at least 1, not {value}")
    return {".json": max_json_bytes, "image": max_image_bytes}


def _members(
    tf: tarfile.TarFile, bad: Callable[[str, str], None]
) -> Iterator[tuple[tarfile.TarInfo, str, str, str]]:
    """The members of ``tf`` but directories, as ``(info, name fit for messages, key,
    lower-case extension)``; a truncated or corrupt archive is reported through ``bad``
    (after the last member read) and ends them."""
    last = "<start of the archive>"
    while True:
        try:
            m = tf.next()
        except _ERRORS as e:
            bad(f"after {last}", f"truncated or corrupt archive: {e}")
            return
        if m is None:
            return
        # The reader keeps every header it has seen; a shard has ~22,000.
        cast(Any, tf).members.clear()
        if m.isdir():
            continue
        last = name = _printable(m.name)
        key, ext = os.path.splitext(name)
        yield m, name, key, ext.lower()


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
        self._caps = _limits(max_json_bytes, max_image_bytes)
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
            for m, name, key, ext in _members(tf, self._bad):
                last = name
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
    caps = _limits(max_json_bytes, max_image_bytes)
    name = os.fspath(path)

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
        try:
            tf = tarfile.open(fileobj=f, mode="r:")
        except _ERRORS as e:
            bad("<start of the archive>", f"not a readable tar archive: {e}")
            return []
        with tf:
            for m, member, key, ext in _members(tf, bad):
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
