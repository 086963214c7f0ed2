"""The one source-discovery module: every entry point finds the same files."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from sa1b_rle import sa1b, sources
from sa1b_rle.cli import sample_path


def test_directories_files_and_sniffing(tmp_path: Path) -> None:
    shutil.copy(sample_path(), tmp_path / "b.tar")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "c.tar.gz").write_bytes(gzip.compress(b"x"))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.json").write_text("{}")  # not recursive
    found = sources.find(tmp_path)
    assert [(os.path.basename(s.path), s.shard) for s in found] == [
        ("a.json", False),
        ("b.tar", True),
        ("c.tar.gz", True),
    ]
    assert all(s.size == os.path.getsize(s.path) for s in found)
    # A file named directly is sniffed: a tar without the suffix is a shard.
    shutil.copy(sample_path(), tmp_path / "shard.bin")
    assert sources.find(str(tmp_path / "shard.bin"))[0].shard
    assert not sources.find(tmp_path / "notes.txt")[0].shard
    assert sa1b.expand_sources([tmp_path]) == [(s.path, s.shard) for s in found]
    with pytest.raises(FileNotFoundError, match="nope"):
        sources.find([tmp_path, tmp_path / "nope"])


def test_remote_paths_follow_the_same_rules(tmp_path: Path) -> None:
    pafs = pytest.importorskip("pyarrow.fs")
    shutil.copy(sample_path(), tmp_path / "b.tar")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("ignored")
    found = sources.find(f"file://{tmp_path}")
    assert [(os.path.basename(s.path), s.shard) for s in found] == [
        ("a.json", False),
        ("b.tar", True),
    ]
    assert isinstance(found[0].fs, pafs.LocalFileSystem)
    with found[1].open() as f:
        assert f.read(1)
    with pytest.raises(FileNotFoundError):
        sources.find(f"file://{tmp_path}/nope")


def test_the_image_beside_a_json_is_found_by_one_rule(tmp_path: Path) -> None:
    """torch (``image_beside``) and Ray find the same image beside ``sa_N.json``: the
    first of ``.jpg``, ``.jpeg``, ``.JPG``, ``.JPEG`` that exists."""
    js = tmp_path / "sa_1.json"
    js.write_text("{}")
    assert sources.image_beside(str(js)) is None
    for suffix in reversed(sources.IMAGE_SUFFIXES):
        (tmp_path / f"sa_1{suffix}").write_bytes(b"x")
        assert sources.image_beside(str(js)) == str(tmp_path / f"sa_1{suffix}")
