"""Side-by-side benchmark of the batch engine (issue #3) against pycocotools and the peers.

Same SA-1B-like images as ``compare.py`` (1500x2250, ~90 masks, SLIC segments of
scikit-image photos at three scales). Every implementation is timed in this one process,
samples interleaved, median of ``--repeat``; ratios are pycocotools' time / theirs.
Implementations:

- ``pycocotools`` (the reference), ``ultrafast-pycocotools`` (UF), ``faster-coco-eval``
  (FCE) and ``rlemasklib`` (RML), each through its pycocotools-like API, single-threaded
  (none of them releases the GIL or runs threads);
- ``sa1b_rle.mask`` (the drop-in, single thread);
- the batch API (``RleBatch`` parsed once, and the module functions on dicts) with 1 and 2
  threads.

Every decode figure includes a full read of the output (``np.count_nonzero``), except
"decode into a reused out", which is compared with pycocotools' decode alone. A peer that
is not installed is skipped and named in the output.

    python benches/compare_batch.py [--images 2] [--repeat 7] [--markdown FILE] [--only TEXT]
"""

from __future__ import annotations

import argparse
import importlib
import platform
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as pm
from compare import compare, emit, sa1b_like_masks

import sa1b_rle
from sa1b_rle import RleBatch
from sa1b_rle import mask as sm

PEERS = {
    "UF": ("ultrafast-pycocotools", "ultrafast_pycocotools.mask"),
    "FCE": ("faster-coco-eval", "faster_coco_eval.core.mask"),
    "RML": ("rlemasklib", "rlemasklib"),
}


def load_peers() -> tuple[dict[str, Any], list[str]]:
    found, missing = {}, []
    for key, (dist, module) in PEERS.items():
        try:
            found[key] = (importlib.import_module(module), version(dist))
        except (ImportError, PackageNotFoundError) as e:
            missing.append(f"{dist} ({e})")
    return found, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--only", default="", help="only operations whose name contains this")
    args = ap.parse_args()

    peers, missing = load_peers()
    images = [sa1b_like_masks(i) for i in range(args.images)]
    c_order = [np.ascontiguousarray(m).view(np.uint8) for m in images]
    rles = [pm.encode(np.asfortranarray(c.transpose(1, 2, 0))) for c in c_order]
    a, b = rles[0], rles[1 % len(rles)]
    ba, bb = RleBatch.from_coco(a), RleBatch.from_coco(b)
    c0 = c_order[0]
    n, h, w = c0.shape
    out = np.zeros((n, h, w), np.uint8)
    za, zb = [0] * len(a), [0] * len(b)

    def read(x: Any) -> int:
        return int(np.count_nonzero(x))

    # name -> {implementation: callable}; pycocotools first (the reference).
    ops: dict[str, dict[str, Callable[[], Any]]] = {}

    def op(name: str, **impls: Callable[[], Any]) -> None:
        ops[name] = impls

    uf = peers.get("UF", (None,))[0]
    fce = peers.get("FCE", (None,))[0]
    rml = peers.get("RML", (None,))[0]

    dec: dict[str, Callable[[], Any]] = {"pycocotools": lambda: read(pm.decode(a))}
    if uf:
        dec["UF"] = lambda: read(uf.decode(a))
    if fce:
        dec["FCE"] = lambda: read(fce.decode(a))
    if rml:
        dec["RML"] = lambda: read(np.stack([rml.decode(r) for r in a]))
    dec["sa1b_rle.mask"] = lambda: read(sm.decode(a))
    dec["batch 1t"] = lambda: read(ba.decode(threads=1))
    dec["batch 2t"] = lambda: read(ba.decode(threads=2))
    dec["dicts 1t"] = lambda: read(sa1b_rle.decode(a, threads=1))
    op("decode an image's masks into a new array + full read", **dec)

    # The same with a memory-bound reader: `np.count_nonzero` of uint8 is compute-bound
    # (about 6.5 GB/s here, 43 ms for an image), `ndarray.max` runs at memory bandwidth
    # (23 ms); the reader's share of each figure differs, not what is read.
    def read_max(x: Any) -> int:
        return int(x.max())

    dec_max: dict[str, Callable[[], Any]] = {"pycocotools": lambda: read_max(pm.decode(a))}
    if uf:
        dec_max["UF"] = lambda: read_max(uf.decode(a))
    if fce:
        dec_max["FCE"] = lambda: read_max(fce.decode(a))
    dec_max["batch 1t"] = lambda: read_max(ba.decode(threads=1))
    dec_max["batch 2t"] = lambda: read_max(ba.decode(threads=2))
    op("decode an image's masks into a new array + full read (ndarray.max)", **dec_max)

    op(
        "decode into a reused out (vs pycocotools' decode)",
        pycocotools=lambda: pm.decode(a),
        **{
            "batch 1t": lambda: ba.decode(out=out, threads=1),
            "batch 2t": lambda: ba.decode(out=out, threads=2),
        },
    )

    enc: dict[str, Callable[[], Any]] = {
        "pycocotools": lambda: pm.encode(np.asfortranarray(c0.transpose(1, 2, 0)))
    }
    if uf:
        enc["UF"] = lambda: uf.encode(np.asfortranarray(c0.transpose(1, 2, 0)))
    if fce:
        enc["FCE"] = lambda: fce.encode(np.asfortranarray(c0.transpose(1, 2, 0)))
    if rml:
        enc["RML"] = lambda: rml.encode(c0, batch_first=True)
    enc["sa1b_rle.mask"] = lambda: sm.encode(c0.transpose(1, 2, 0))
    enc["batch 1t"] = lambda: sa1b_rle.encode(c0, threads=1)
    enc["batch 2t"] = lambda: sa1b_rle.encode(c0, threads=2)
    op("encode an (N,H,W) C-order uint8 array", **enc)

    for label, g, zg, bg in (("themselves", a, za, ba), ("another image's", b, zb, bb)):
        impls: dict[str, Callable[[], Any]] = {"pycocotools": lambda g=g, zg=zg: pm.iou(a, g, zg)}
        if uf:
            impls["UF"] = lambda g=g, zg=zg: uf.iou(a, g, zg)
        if fce:
            impls["FCE"] = lambda g=g, zg=zg: fce.iou(a, g, zg)
        impls["sa1b_rle.mask"] = lambda g=g, zg=zg: sm.iou(a, g, zg)
        impls["batch 1t"] = lambda bg=bg: ba.iou(bg, threads=1)
        impls["batch 2t"] = lambda bg=bg: ba.iou(bg, threads=2)
        impls["dicts 1t"] = lambda g=g: sa1b_rle.iou_matrix(a, g if g is not a else a, threads=1)
        op(f"iou matrix, an image's masks vs {label}", **impls)

    for name, ref, uff, fcf, rmf, smf, bat, dic in (
        ("area", pm.area, "area", "area", "area", sm.area, ba.area, sa1b_rle.area),
        ("bbox", pm.toBbox, "toBbox", "toBbox", "to_bbox", sm.toBbox, ba.bbox, sa1b_rle.bbox),
    ):
        impls = {"pycocotools": lambda ref=ref: ref(a)}
        for key, mod, fn in (("UF", uf, uff), ("FCE", fce, fcf), ("RML", rml, rmf)):
            if mod is not None:
                impls[key] = lambda mod=mod, fn=fn: getattr(mod, fn)(a)
        impls["sa1b_rle.mask"] = lambda smf=smf: smf(a)
        impls["batch 1t"] = lambda bat=bat: bat(threads=1)
        impls["dicts 1t"] = lambda dic=dic: dic(a, threads=1)
        op(f"{name} of an image's masks", **impls)

    mer: dict[str, Callable[[], Any]] = {"pycocotools": lambda: pm.merge(a)}
    if uf:
        mer["UF"] = lambda: uf.merge(a)
    if fce:
        mer["FCE"] = lambda: fce.merge(a)
    if rml:
        mer["RML"] = lambda: rml.union(a)
    mer["sa1b_rle.mask"] = lambda: sm.merge(a)
    mer["batch 1t"] = lambda: ba.merge()
    mer["dicts 1t"] = lambda: RleBatch.from_coco(a, threads=1).merge()
    op("merge (union) of an image's masks", **mer)

    columns = ["pycocotools", *peers, "sa1b_rle.mask", "batch 1t", "batch 2t", "dicts 1t"]
    lines = [
        f"sa1b_rle {sa1b_rle.__version__}; pycocotools {version('pycocotools')}; "
        + "; ".join(f"{k} = {PEERS[k][0]} {v}" for k, (_, v) in peers.items())
        + f"; numpy {np.__version__}; Python {platform.python_version()}; "
        f"{n} masks of {h}x{w} per image; median of {args.repeat}",
    ]
    if missing:
        lines.append("Not installed (skipped): " + ", ".join(missing))
    lines += [
        "",
        "| operation | pycocotools (ms) | " + " | ".join(columns[1:]) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, impls in ops.items():
        if args.only not in name:
            continue
        ref = impls["pycocotools"]
        cells = {}
        t_ref = None
        for col in columns[1:]:
            if col not in impls:
                cells[col] = "-"
                continue
            _, tr, to = compare(name, ref, impls[col], args.repeat)
            t_ref = tr if t_ref is None else min(t_ref, tr)
            cells[col] = f"{tr / to:.1f}x"
        ref_ms = f"{t_ref * 1e3:.2f}" if t_ref is not None else "-"
        lines.append(f"| {name} | {ref_ms} | " + " | ".join(cells[c] for c in columns[1:]) + " |")
        print(lines[-1], flush=True)
    emit(lines, args.markdown)


if __name__ == "__main__":
    main()
