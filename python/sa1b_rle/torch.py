"""PyTorch datasets over SA-1B (optional: needs ``torch``).

:class:`Sa1bDataset` is a map-style dataset over directories of ``sa_N.json`` files (with
``sa_N.jpg`` beside them) and uncompressed ``.tar`` shards (indexed once, read by offset).
Each item is an image with a sampled subset of its masks, decoded, and their boxes::

    from torch.utils.data import DataLoader
    from sa1b_rle.torch import Sa1bDataset, collate

    ds = Sa1bDataset(["sa_000000.tar"], max_masks=32, min_predicted_iou=0.88, seed=0)
    loader = DataLoader(ds, batch_size=4, num_workers=4, collate_fn=collate)

It is fork-safe: files are opened lazily in each worker process, and decoding runs on
one thread per worker unless configured (``sa1b_rle.set_num_threads`` in
``worker_init_fn``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset
except ImportError as e:  # pragma: no cover - exercised where torch is missing
    raise ImportError(
        "sa1b_rle.torch needs PyTorch (pip install torch); the rest of sa1b_rle does not"
    ) from e

from sa1b_rle import sa1b
from sa1b_rle import sources as _sources

__all__ = ["Sa1bDataset", "collate"]


@dataclass(frozen=True)
class _Item:
    key: str
    # A file path (directory sources) or a shard path with member offsets and sizes.
    json_path: str
    image_path: str | None
    shard: str | None = None
    json_at: tuple[int, int] = (0, 0)
    image_at: tuple[int, int] | None = None


class Sa1bDataset(Dataset[dict[str, Any]]):
    """SA-1B images with a sampled subset of their masks.

    ``sources``: directories (``*.json`` with the ``.jpg`` of the same name beside
    them, and ``*.tar`` shards), uncompressed ``.tar`` shards, or single ``.json``
    files, found as everywhere in the package (:mod:`sa1b_rle.sources`); a
    gzip-compressed shard is an error (random access needs an uncompressed tar). A
    shard's members are checked and limited as :func:`sa1b_rle.sa1b.index_shard` does
    (a bad member raises :class:`~sa1b_rle.sa1b.Sa1bShardError`). Items are ordered by
    source, then by name.

    An item is a dict: ``image`` (uint8 ``(H, W, 3)`` tensor, or None with
    ``images=False`` or when the image is missing), ``masks`` (uint8 ``(K, H, W)``),
    ``boxes`` (float32 ``(K, 4)``, SA-1B's ``[x, y, w, h]``), ``ids`` (int64 ``(K,)``),
    ``predicted_iou`` and ``stability_score`` (float32 ``(K,)``), ``image_id``, ``key``.

    The masks are those passing the quality filters; with ``max_masks`` a random subset
    of at most that many (without replacement, in file order). With ``seed`` the subset of
    item ``i`` is the same in every process and epoch; without, it is drawn afresh.
    """

    def __init__(
        self,
        sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        max_masks: int | None = None,
        min_predicted_iou: float | None = None,
        min_stability_score: float | None = None,
        min_area: int | None = None,
        max_area: int | None = None,
        images: bool = True,
        validate: bool = True,
        seed: int | None = None,
    ) -> None:
        if max_masks is not None and max_masks < 0:
            raise ValueError(f"max_masks must not be negative, not {max_masks}")
        items: list[_Item] = []
        for src in _sources.find(sources):
            if src.shard:
                items += [
                    _Item(e.key, "", None, shard=src.path, json_at=e.json_at, image_at=e.image_at)
                    for e in sa1b.index_shard(src.path)
                ]
            else:
                key = os.path.splitext(os.path.basename(src.path))[0]
                items.append(_Item(key, src.path, _sources.image_beside(src.path)))
        self.items = items
        self.max_masks = max_masks
        self.filters: dict[str, Any] = {
            k: v
            for k, v in (
                ("min_predicted_iou", min_predicted_iou),
                ("min_stability_score", min_stability_score),
                ("min_area", min_area),
                ("max_area", max_area),
            )
            if v is not None
        }
        self.images = images
        self.validate = validate
        self.seed = seed
        # Open shard files, per process (a forked worker opens its own).
        self._files: dict[str, Any] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.items)

    def _read(self, shard: str, at: tuple[int, int]) -> bytes:
        if self._pid != os.getpid():
            self._files, self._pid = {}, os.getpid()
        f = self._files.get(shard)
        if f is None:
            f = self._files[shard] = open(shard, "rb")
        f.seek(at[0])
        data: bytes = f.read(at[1])
        if len(data) != at[1]:
            raise ValueError(f"{shard}: member at byte {at[0]} is truncated")
        return data

    def _bytes(self, item: _Item, image: bool) -> bytes | None:
        if item.shard is not None:
            if image:
                return None if item.image_at is None else self._read(item.shard, item.image_at)
            return self._read(item.shard, item.json_at)
        path = item.image_path if image else item.json_path
        if path is None:
            return None
        cap = sa1b.MAX_IMAGE_BYTES if image else sa1b.MAX_JSON_BYTES
        with open(path, "rb") as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise ValueError(f"{path}: more than the {cap} bytes read of such a file")
        return data

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.items[i]
        data = self._bytes(item, image=False)
        assert data is not None
        name = f"{item.shard}:{item.key}.json" if item.shard else item.json_path
        try:
            ann = sa1b.load(data, validate=self.validate)
        except sa1b.Sa1bValidationError as e:
            raise ValueError(f"{name}: {e}") from e
        if self.filters:
            ann = ann.filter(**self.filters)
        keep = np.arange(len(ann))
        if self.max_masks is not None and len(ann) > self.max_masks:
            rng = np.random.default_rng(None if self.seed is None else [self.seed, i])
            keep = np.sort(rng.choice(len(ann), self.max_masks, replace=False))
        picked = ann.select(keep.tolist())
        rgb = None
        if self.images:
            jpg = self._bytes(item, image=True)
            if jpg is not None:
                rgb = torch.from_numpy(sa1b.read_image(jpg))
        return {
            "key": item.key,
            "image_id": ann.image_id,
            "image": rgb,
            "masks": torch.from_numpy(picked.decode()),
            "boxes": torch.from_numpy(picked.bbox.astype(np.float32)),
            "ids": torch.from_numpy(picked.ids),
            "predicted_iou": torch.from_numpy(picked.predicted_iou.astype(np.float32)),
            "stability_score": torch.from_numpy(picked.stability_score.astype(np.float32)),
        }

    def __getstate__(self) -> dict[str, Any]:
        # Open files do not travel to spawned workers; each opens its own.
        state = self.__dict__.copy()
        state["_files"] = {}
        return state


def collate(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batches items of different sizes and mask counts: ``image``, ``masks``, ``boxes``,
    ``ids``, ``predicted_iou``, ``stability_score`` and ``key`` as lists (one entry per
    item), ``image_id`` and ``num_masks`` as int64 tensors."""
    out: dict[str, Any] = {
        k: [b[k] for b in batch]
        for k in ("key", "image", "masks", "boxes", "ids", "predicted_iou", "stability_score")
    }
    out["image_id"] = torch.tensor([b["image_id"] for b in batch], dtype=torch.int64)
    out["num_masks"] = torch.tensor([len(b["masks"]) for b in batch], dtype=torch.int64)
    return out
