"""Where SA-1B data comes from: the one place that turns the paths a user gives into
annotation files and shards, for :mod:`sa1b_rle.sa1b`, :mod:`sa1b_rle.torch`,
:mod:`sa1b_rle.ray` and the CLI.

The rules, everywhere: a directory contributes its ``*.json`` annotation files and its
``*.tar``, ``*.tar.gz`` and ``*.tgz`` shards (not recursively, in name order); a local
file named directly is a shard when its bytes say tar or gzip, else an annotation file;
a remote file (a URI such as ``s3://...``, or a path on a given pyarrow filesystem) is an
annotation file when named ``*.json``, else a shard. A path that does not exist is a
``FileNotFoundError``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IMAGE_SUFFIXES",
    "SHARD_SUFFIXES",
    "Source",
    "check_on_error",
    "find",
    "image_beside",
    "is_shard",
]

#: Shard file names recognised inside a directory (a file given by name is sniffed).
SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")

#: Read-ahead of one sequential stream from object storage.
STREAM_BUFFER = 8 << 20

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def check_on_error(on_error: str) -> None:
    """The one check of every ``on_error=`` argument: ``"raise"`` or ``"collect"``."""
    if on_error not in ("raise", "collect"):
        raise ValueError(f'on_error must be "raise" or "collect", not {on_error!r}')


@dataclass(frozen=True)
class Source:
    """An SA-1B annotation file or shard: ``fs`` is the pyarrow filesystem it lives on
    (None: local), ``size`` its size in bytes."""

    path: str
    shard: bool
    size: int
    fs: Any = None

    @property
    def name(self) -> str:
        return self.path

    def open(self) -> Any:
        """A binary file object: local files allow random access (a reader can seek past
        image payloads); remote ones are one buffered sequential stream (seeking would
        cost a request per member)."""
        if self.fs is None:
            return open(self.path, "rb")
        return self.fs.open_input_stream(self.path, buffer_size=STREAM_BUFFER)


def is_shard(path: str) -> bool:
    """Whether a local file is a tar archive (named .tar/.tar.gz/.tgz, or with gzip magic
    or "ustar" at byte 257) rather than a JSON file: a corrupt archive is still reported
    as an archive."""
    if path.lower().endswith(SHARD_SUFFIXES):
        return True
    with open(path, "rb") as f:
        head = f.read(262)
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"


def _kind(name: str) -> bool | None:
    """True for a shard's name, False for an annotation file's, None for anything else."""
    low = name.lower()
    if low.endswith(".json"):
        return False
    if low.endswith(SHARD_SUFFIXES):
        return True
    return None


def _local(path: str) -> list[Source]:
    if os.path.isdir(path):
        out = []
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            kind = _kind(name)
            if kind is not None and os.path.isfile(full):
                out.append(Source(full, kind, os.path.getsize(full)))
        return out
    if os.path.exists(path):
        return [Source(path, is_shard(path), os.path.getsize(path))]
    raise FileNotFoundError(f"no such file or directory: {path}")


def _remote(fs: Any, path: str, given: str) -> list[Source]:
    import pyarrow.fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"no such file or directory: {given}")
    if info.type != pafs.FileType.Directory:
        return [Source(path, not path.lower().endswith(".json"), info.size or 0, fs)]
    out = []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    for i in sorted(infos, key=lambda i: i.path):
        kind = _kind(i.base_name)
        if kind is not None and i.type == pafs.FileType.File:
            out.append(Source(i.path, kind, i.size or 0, fs))
    return out


def find(paths: Paths, *, filesystem: Any = None) -> list[Source]:
    """Every annotation file and shard that ``paths`` name (files, directories, URIs),
    in the order given (directories in name order). ``filesystem``: a pyarrow
    filesystem the paths are on (default: local, or the one a URI names)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Source] = []
    for p in paths:
        path = os.fspath(p)
        fs = filesystem
        if fs is None and "://" in path:
            import pyarrow.fs as pafs

            fs, path = pafs.FileSystem.from_uri(path)
        out += _local(path) if fs is None else _remote(fs, path, os.fspath(p))
    return out


#: The image beside an annotation file ``sa_N.json`` is ``sa_N`` with the first of these
#: that exists (the one rule for torch, Ray and the command line).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".JPG", ".JPEG")


def image_beside(json_path: str) -> str | None:
    """The image of the same name beside a local annotation file (``IMAGE_SUFFIXES``, in
    order), if there is one."""
    stem = os.path.splitext(json_path)[0]
    for suffix in IMAGE_SUFFIXES:
        if os.path.exists(stem + suffix):
            return stem + suffix
    return None
