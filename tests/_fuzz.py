"""Seeded mutation fuzzing of every parser, each case in a child process under an
address-space limit.

A target is a set of valid seed inputs, a mutator and a function that feeds one input to
the library. Cases are numbered: case ``k`` of target ``t`` with seed ``s`` is always
the same input, so a finding is reproduced by its three numbers (``scripts/fuzz --target
t --seed s --case k``). A child runs a range of cases in order, printing each number
before running it: a signal, a hang or an exception outside the target's documented
types is pinned to that case.

Used by ``tests/test_fuzz.py`` (a bounded smoke run in CI) and ``scripts/fuzz`` (longer
campaigns).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).parent

#: Address-space limit of a fuzz child (bytes).
ADDRESS_SPACE = 4 << 30
#: The image pixel limit inside fuzz children: mutated headers may declare anything up to
#: it, so it bounds the time a case can take (the limit itself is tested elsewhere).
MAX_IMAGE_PIXELS = 4_000_000


# -- mutation -----------------------------------------------------------------------------

INTERESTING = [
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"0",
    b"9",
    b"o",
    b"p",
    b"-1",
    b"4294967295",
    b"4294967296",
    b"18446744073709551616",
    b"1e999",
    b"NaN",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\x7f\xff\xff\xff",
    b"\xc3\xa9",
    b"\xed\xa0\x80",
]


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """A few random edits of ``data``: bit flips, byte sets, inserts, deletes,
    duplicated ranges, truncation, interesting values spliced in."""
    b = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(b)
        at = rng.randrange(n + 1) if n else 0
        if op == 0 and n:
            b[at % n] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            b[at % n] = rng.randrange(256)
        elif op == 2:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and n:
            del b[at : at + rng.randint(1, max(1, n // 8))]
        elif op == 4 and n:
            start = rng.randrange(n)
            b[at:at] = b[start : start + rng.randint(1, 64)]
        elif op == 5 and n:
            del b[rng.randrange(n) :]
        elif op == 6:
            v = rng.choice(INTERESTING)
            b[at : at + len(v)] = v
        else:
            # Numbers in text changed to edge values.
            digits = [i for i, c in enumerate(b) if 48 <= c <= 57]
            if digits:
                i = rng.choice(digits)
                b[i : i + 1] = rng.choice([b"0", b"-", b"99999999999", b"4294967295", b".5"])
    return bytes(b)


# -- seed inputs ----------------------------------------------------------------------------


def _sample_members() -> list[tuple[str, bytes]]:
    from sa1b_rle import cli

    with tarfile.open(cli.sample_path()) as tf:
        out = []
        for m in tf.getmembers():
            f = tf.extractfile(m)
            assert f is not None
            out.append((m.name, f.read()))
    return out


def _small_doc() -> dict[str, Any]:
    """A small SA-1B document: the sample's first image, cut to a few masks."""
    import json as _json

    for name, data in _sample_members():
        if name.endswith(".json"):
            doc: dict[str, Any] = _json.loads(data)
            doc["annotations"] = doc["annotations"][:3]
            return doc
    raise AssertionError("no annotation file in the sample")


def _coco_seeds() -> tuple[bytes, bytes]:
    """A small COCO dataset (three images of the sample: polygons and a crowd RLE, with
    keypoints added) and RLE + box + keypoint results on it."""
    gt = json.loads((TESTS / "data" / "coco_instances_val2014_100.json").read_text())
    res = json.loads(
        (TESTS / "data" / "coco_instances_val2014_fakesegm100_results.json").read_text()
    )
    keep = {img["id"] for img in gt["images"][:3]}
    crowd = next(a for a in gt["annotations"] if a["iscrowd"])
    keep.add(crowd["image_id"])
    gt["images"] = [i for i in gt["images"] if i["id"] in keep]
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in keep]
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        a["keypoints"] = [v for j in range(17) for v in (x + w * j / 17, y + h / 2, 2)]
        a["num_keypoints"] = 17
    res = [r for r in res if r["image_id"] in keep][:12]
    for r in res:
        r["bbox"] = [10.0, 20.0, 30.0, 40.0]
        r["keypoints"] = [v for j in range(17) for v in (20.0 + j, 30.0, 1)]
    return json.dumps(gt).encode(), json.dumps(res).encode()


def _counts_seeds() -> list[tuple[bytes, int, int]]:
    path = TESTS / "data" / "coco_instances_val2014_fakesegm100_results.json"
    results = json.loads(path.read_text())
    out = []
    for r in results[:40]:
        h, w = r["segmentation"]["size"]
        out.append((r["segmentation"]["counts"].encode(), h, w))
    return out


def _png(rng: random.Random, mode: str) -> bytes:
    import numpy as np
    from PIL import Image

    h, w = rng.randint(1, 24), rng.randint(1, 24)
    a = np.random.default_rng(rng.randrange(2**32)).integers(0, 4, (h, w)).astype(np.uint8)
    img = Image.fromarray(a * 60)
    if mode == "P":
        img = Image.fromarray(a).convert("P")
    elif mode in ("RGB", "RGBA", "I;16", "1"):
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _jpeg(rng: random.Random) -> bytes:
    import numpy as np
    from PIL import Image

    h, w = rng.randint(8, 40), rng.randint(8, 40)
    a = (np.random.default_rng(rng.randrange(2**32)).random((h, w, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    progressive = rng.random() < 0.3
    Image.fromarray(a).save(buf, "JPEG", quality=rng.choice([50, 90]), progressive=progressive)
    return buf.getvalue()


def _fix_png_crcs(data: bytes) -> bytes:
    """Recomputes every chunk CRC (so mutations reach the decoder past the checks)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, i = bytearray(data[:8]), 8
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i : i + 4])[0]
        body = data[i + 4 : i + 8 + n]
        if len(body) < n + 4:
            out += data[i:]
            break
        out += data[i : i + 4] + body + struct.pack(">I", zlib.crc32(body))
        i += 12 + n
    return bytes(out)


# -- targets --------------------------------------------------------------------------------


@dataclass
class Target:
    """Cases of one parser: ``make(rng)`` builds an input, ``feed(x)`` hands it over;
    ``allowed`` are the exception types its documentation promises."""

    make: Callable[[random.Random], Any]
    feed: Callable[[Any], object]
    allowed: tuple[type[BaseException], ...]


def _targets() -> dict[str, Target]:
    import numpy as np

    import sa1b_rle
    from sa1b_rle import RleBatch, kaggle, sa1b
    from sa1b_rle import mask as sm

    counts_seeds = _counts_seeds()
    doc = _small_doc()
    doc_bytes = json.dumps(doc).encode()
    members = _sample_members()
    small_members = [(n, d if n.endswith(".json") else d[:2000]) for n, d in members]
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tf:
        for name, data in small_members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    plain = tar_bytes.getvalue()
    gz = gzip.compress(plain, mtime=0)

    def counts_case(rng: random.Random) -> tuple[bytes, int, int]:
        s, h, w = rng.choice(counts_seeds)
        if rng.random() < 0.2:
            h, w = rng.choice([(h, w + 1), (h - 1, w), (0, w), (h * w, 1), (2**16, 2**16)])
        return mutate(s, rng), h, w

    def counts_feed(x: tuple[bytes, int, int]) -> None:
        s, h, w = x
        r = {"size": [h, w], "counts": s}
        for fn in (sm.area, sm.toBbox):
            try:
                fn([r])
            except ValueError:
                pass
        b = RleBatch.from_strings([s], h, w)
        b.area()
        b.bbox()
        b.iou(b)
        if h * w <= 1 << 20:
            b.decode()
        sa1b_rle.to_polygons(b) if h * w <= 1 << 16 else None

    def doc_case(rng: random.Random) -> bytes:
        if rng.random() < 0.3:
            d = json.loads(doc_bytes)
            k = rng.choice(["image", "annotations"])
            if k == "image":
                d["image"][rng.choice(list(d["image"]))] = rng.choice(
                    [None, -1, 2**64, "x", [], 1.5, "../x"]
                )
            elif d["annotations"]:
                a = rng.choice(d["annotations"])
                a[rng.choice(list(a))] = rng.choice([None, -1, 2**70, "x", [], {}, 1e308])
            return json.dumps(d).encode()
        return mutate(doc_bytes, rng)

    def doc_feed(x: bytes) -> None:
        sa1b.validate(x)
        try:
            img = sa1b.load(x)
        except sa1b.Sa1bValidationError:
            return
        img.to_dict()
        if img.height * img.width <= 1 << 22:
            img.decode()

    def shard_case(rng: random.Random) -> tuple[bytes, bool]:
        base = gz if rng.random() < 0.4 else plain
        return mutate(base, rng, rng.randint(1, 3)), rng.random() < 0.5

    def shard_feed(x: tuple[bytes, bool]) -> None:
        data, pipe = x
        src: Any = io.BytesIO(data)
        if pipe:

            class Pipe(io.RawIOBase):
                def readable(self) -> bool:
                    return True

                def readinto(self, b: Any) -> int:
                    return src.readinto(b)

            source: Any = Pipe()
        else:
            source = src
        reader = sa1b.iter_shard(source, on_error="collect")
        for _ in reader:
            pass
        assert reader.counts.bad_members == len(reader.errors)

    def image_case(rng: random.Random) -> tuple[bytes, str]:
        kind = rng.choice(["L", "P", "RGB", "RGBA", "I;16", "1", "jpeg"])
        data = _jpeg(rng) if kind == "jpeg" else _png(rng, kind)
        data = mutate(data, rng)
        if kind != "jpeg" and rng.random() < 0.6:
            data = _fix_png_crcs(data)
        return data, kind

    def image_feed(x: tuple[bytes, str]) -> None:
        data, _ = x
        try:
            sa1b_rle.from_mask_image(data, min_component_area=2)
        finally:
            if data.startswith(b"\x89PNG"):
                sa1b_rle._core.labels_from_png(data, 0)

    def kaggle_case(rng: random.Random) -> tuple[str, Any, str]:
        h, w = rng.randint(0, 30), rng.randint(0, 30)
        m = np.random.default_rng(rng.randrange(2**32)).random((h, w)) < 0.4
        order = rng.choice(["C", "F"])
        text = kaggle.encode(m, order=order).encode()
        text = mutate(text, rng)
        shape: Any = (h, w)
        if rng.random() < 0.2:
            shape = rng.choice([(h, w, 1), (h,), ("3", 4), (2.5, 3), (-1, 3), (2**40, 2**40)])
        return text.decode("utf-8", "replace"), shape, order

    def kaggle_feed(x: tuple[str, Any, str]) -> None:
        text, shape, order = x
        kaggle.decode(text, shape, order=order)
        kaggle.to_coco(text, shape, order=order)

    def arrow_case(rng: random.Random) -> tuple[list[Any], int, int, str]:
        s, h, w = rng.choice(counts_seeds)
        items: list[Any] = [mutate(s, rng) if rng.random() < 0.7 else s for _ in range(3)]
        if rng.random() < 0.1:
            items[rng.randrange(3)] = None
        typ = rng.choice(["binary", "large_binary", "string", "large_string"])
        return items, h, w, typ

    def arrow_feed(x: tuple[list[Any], int, int, str]) -> None:
        import pyarrow as pa

        items, h, w, typ = x
        if "string" in typ:
            items = [None if i is None else i.decode("utf-8", "replace") for i in items]
        arr = pa.array(items, getattr(pa, typ)())
        b = RleBatch.from_arrow(arr, h, w)
        b.area()
        RleBatch.from_arrow(pa.chunked_array([arr[:1], arr[1:]]), h, w)

    def polygon_case(rng: random.Random) -> tuple[list[list[float]], Any, Any]:
        n = rng.randint(0, 9)
        vals = [
            rng.choice([rng.uniform(-50, 150), float("nan"), float("inf"), 1e12, -0.5, 2.5])
            if rng.random() < 0.1
            else rng.uniform(-20, 120)
            for _ in range(n)
        ]
        h, w = rng.choice([(100, 100), (1, 2**31), (0, 5), (2**16, 2**16), (7.9, 5)])
        return [vals], h, w

    def polygon_feed(x: tuple[list[list[float]], Any, Any]) -> None:
        polys, h, w = x
        sm.merge(sm.frPyObjects(polys, h, w))

    size = counts_seeds[0][1:]
    batch_state = RleBatch.from_strings([s for s, h, w in counts_seeds if (h, w) == size], *size)
    _, state = batch_state.__reduce__()
    image_state = sa1b.load(doc_bytes).to_json()

    def pickle_case(rng: random.Random) -> tuple[str, Any]:
        # The states a pickle stream hands to the constructors, mutated.
        if rng.random() < 0.5:
            h, w, offsets, data = state
            if rng.random() < 0.5:
                offsets = mutate(offsets, rng)
            else:
                data = mutate(data, rng)
            return "batch", (h, w, offsets, data)
        return "image", mutate(image_state, rng)

    def pickle_feed(x: tuple[str, Any]) -> None:
        kind, st = x
        if kind == "batch":
            b = RleBatch._from_pickle(*st)
            b.area()
            b.iou(b)
        else:
            img = type(sa1b.load(doc_bytes))._from_json(st)
            img.masks.area()
            img.to_dict()

    coco_gt, coco_res = _coco_seeds()

    def coco_case(rng: random.Random) -> tuple[bytes, bytes, str]:
        iou = rng.choice(["segm", "bbox", "keypoints"])
        gt, res = json.loads(coco_gt), json.loads(coco_res)
        if rng.random() < 0.4:
            # A value of another kind where the format has one.
            table = rng.choice([gt["images"], gt["annotations"], gt["categories"], res])
            if table:
                entry = rng.choice(table)
                entry[rng.choice([*entry, "iscrowd", "bbox"])] = rng.choice(
                    [None, -1, 0, 2**70, "x", [], {}, 1e308, 1.5, [[1, 2]], [1, 2, 3, 4], True]
                )
            return json.dumps(gt).encode(), json.dumps(res).encode(), iou
        gt_bytes, res_bytes = json.dumps(gt).encode(), json.dumps(res).encode()
        if rng.random() < 0.5:
            return mutate(gt_bytes, rng), res_bytes, iou
        return gt_bytes, mutate(res_bytes, rng), iou

    def coco_feed(x: tuple[bytes, bytes, str]) -> None:
        import contextlib

        from sa1b_rle import _core
        from sa1b_rle.coco import COCO
        from sa1b_rle.cocoeval import COCOeval

        gt_bytes, res_bytes, iou = x
        with contextlib.suppress(ValueError):
            _core.coco_parse_results(res_bytes)
        g = COCO(gt_bytes)
        try:
            results = json.loads(res_bytes)
        except ValueError:
            return
        d = g.loadRes(results)
        e = COCOeval(g, d, iou)
        with contextlib.redirect_stdout(io.StringIO()):
            e.evaluate()
            e.accumulate()
            e.summarize()
        e.get_results(per_class=True)
        e.evalImgs[:20]
        len(g.anns)

    def selftest_feed(k: int) -> None:
        # The harness's own check: case 3 aborts, case 5 raises what is not allowed.
        if k == 3:
            os.abort()
        if k == 5:
            raise KeyError("not allowed")

    errors = (ValueError, TypeError, MemoryError)
    return {
        "_selftest": Target(lambda rng: rng.randrange(8), selftest_feed, errors),
        "counts": Target(counts_case, counts_feed, errors),
        "sa1b_json": Target(doc_case, doc_feed, errors),
        "shard": Target(shard_case, shard_feed, errors),
        "image": Target(image_case, image_feed, errors),
        "kaggle": Target(kaggle_case, kaggle_feed, errors),
        "arrow": Target(arrow_case, arrow_feed, (*errors, KeyError)),
        "polygon": Target(polygon_case, polygon_feed, errors),
        "pickle": Target(pickle_case, pickle_feed, errors),
        # KeyError: pycocotools' COCO API raises it for a table or id that is missing.
        "coco_json": Target(coco_case, coco_feed, (*errors, KeyError)),
    }


TARGETS = [
    "counts",
    "sa1b_json",
    "shard",
    "image",
    "kaggle",
    "arrow",
    "polygon",
    "pickle",
    "coco_json",
]


def case_input(target: str, seed: int, k: int) -> Any:
    """The input of case ``k`` (deterministic)."""
    return _targets()[target].make(random.Random(f"{target}:{seed}:{k}"))


# -- the child ------------------------------------------------------------------------------


def child(target: str, seed: int, start: int, stop: int) -> None:
    """Runs cases ``start..stop``: prints ``CASE k`` before each and ``BAD k ...`` for an
    exception outside the documented types."""
    t = _targets()[target]
    for k in range(start, stop):
        x = t.make(random.Random(f"{target}:{seed}:{k}"))
        print(f"CASE {k}", flush=True)
        try:
            t.feed(x)
        except t.allowed:
            pass
        except BaseException as e:  # what is not allowed is the finding
            name = f"{type(e).__module__}.{type(e).__qualname__}"
            print(f"BAD {k} {name}: {str(e)[:300]!r}", flush=True)
    print("DONE", flush=True)


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@dataclass
class Finding:
    target: str
    seed: int
    case: int
    what: str

    def __str__(self) -> str:
        return (
            f"{self.target} seed {self.seed} case {self.case}: {self.what} "
            f"(reproduce: scripts/fuzz --target {self.target} --seed {self.seed} "
            f"--case {self.case})"
        )


def run(
    target: str, seed: int, start: int, stop: int, *, timeout: float = 120.0
) -> Iterator[Finding]:
    """Runs cases ``start..stop`` in child processes; yields what went wrong. After a
    crash or hang the child is restarted after the case that caused it."""
    while start < stop:
        code = (
            f"import sys; sys.path.insert(0, {str(TESTS)!r}); import _fuzz; "
            f"_fuzz.child({target!r}, {seed}, {start}, {stop})"
        )
        env = dict(os.environ)
        env.update(SA1B_RLE_NUM_THREADS="1", SA1B_RLE_MAX_IMAGE_PIXELS=str(MAX_IMAGE_PIXELS))
        try:
            p = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                preexec_fn=_limit,
                check=False,
            )
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err, rc = "timeout", None
        last = start - 1
        for line in out.splitlines():
            if line.startswith("CASE "):
                last = int(line.split()[1])
            elif line.startswith("BAD "):
                _, k, what = line.split(" ", 2)
                yield Finding(target, seed, int(k), what)
        if "DONE" in out.splitlines():
            return
        what = "hang (timeout)" if rc is None else f"exit status {rc} ({err.strip()[-300:]!r})"
        if last < start:
            yield Finding(target, seed, start, f"the child failed before any case: {what}")
            return
        yield Finding(target, seed, last, what)
        start = last + 1
