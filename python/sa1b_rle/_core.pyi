import os
from collections.abc import Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "CocoColumns",
    "CocoEvaluation",
    "RleBatch",
    "RleError",
    "Sa1bImage",
    "__version__",
    "area",
    "batch_from_counts_buffers",
    "batch_polygons",
    "box_nms",
    "coco_columns_from_dicts",
    "coco_evaluate",
    "coco_keys",
    "coco_parse_dataset",
    "coco_parse_results",
    "coco_read_dataset",
    "coco_read_results",
    "counts_buffers",
    "counts_to_runs",
    "decode",
    "default_max_pixels",
    "draw_masks",
    "encode_masks",
    "encode_png",
    "file_name_problem",
    "filter_keep",
    "fr_bbox",
    "fr_poly",
    "fr_uncompressed",
    "get_num_threads",
    "image_size",
    "iou_bbox",
    "iou_rle",
    "kaggle_decode",
    "kaggle_encode",
    "kaggle_to_batch",
    "labels_from_array",
    "labels_from_png",
    "labels_from_rgb",
    "mask_from_binary_array",
    "mask_from_image_bytes",
    "max_threads",
    "merge",
    "png_label_values",
    "read_image_rgb",
    "rgb_to_luma",
    "sa1b_columns",
    "sa1b_parse",
    "set_num_threads",
    "stability_score",
    "threads_env_problem",
    "to_bbox",
]

__version__: str

class RleError(ValueError): ...

def encode_masks(
    masks: npt.NDArray[np.uint8], height: int, width: int, n: int, *, column_major: bool
) -> list[dict[str, Any]]: ...
def decode(rles: Any) -> npt.NDArray[np.uint8]: ...
def area(rles: Any) -> npt.NDArray[np.uint32]: ...
def to_bbox(rles: Any) -> npt.NDArray[np.float64]: ...
def merge(rles: Any, *, intersect: bool) -> dict[str, Any]: ...
def iou_rle(dt: Any, gt: Any, iscrowd: list[bool]) -> npt.NDArray[np.float64]: ...
def iou_bbox(
    dt: npt.ArrayLike, gt: npt.ArrayLike, iscrowd: list[bool]
) -> npt.NDArray[np.float64]: ...
def fr_bbox(bb: npt.ArrayLike, h: int, w: int) -> list[dict[str, Any]]: ...
def fr_poly(polys: Sequence[Sequence[float]], h: int, w: int) -> list[dict[str, Any]]: ...
def fr_uncompressed(rles: Any) -> list[dict[str, Any]]: ...

@final
class RleBatch:
    """N masks of one size (H, W), parsed once and held in Rust (runs in one buffer).

    Every constructor validates its input; errors name the index of the bad mask.
    Operations run with the GIL released on a process-local thread pool; results are
    bit-identical to pycocotools and do not depend on the thread count.
    """

    @staticmethod
    def from_coco(rles: Sequence[dict[str, Any]], *, threads: int | None = None) -> RleBatch:
        """COCO RLE dicts of one size (``counts`` as str, bytes or a run list)."""
    @staticmethod
    def from_arrow(counts: Any, h: int, w: int, *, threads: int | None = None) -> RleBatch:
        """A batch from a pyarrow array of compressed counts (binary or string, chunked or
        not, no nulls), all of size (height, width)."""
    @staticmethod
    def from_strings(
        counts: Sequence[str | bytes], h: int, w: int, *, threads: int | None = None
    ) -> RleBatch:
        """Compressed counts strings, all of size (h, w)."""
    @staticmethod
    def from_masks(masks: npt.ArrayLike, *, threads: int | None = None) -> RleBatch:
        """An (N, H, W) or (H, W) array of any numeric or bool dtype in any memory order
        (nonzero is foreground, as in ``mask.encode``), encoded in parallel."""
    @staticmethod
    def from_polygons(
        polys: Sequence[Sequence[Sequence[float]]], h: int, w: int, *, threads: int | None = None
    ) -> RleBatch:
        """One mask per entry: a list of flat polygons ``[x0, y0, x1, y1, ...]`` whose
        rasterisations are merged (union) as COCO's annToRLE does."""
    @staticmethod
    def from_boxes(boxes: npt.ArrayLike, h: int, w: int, *, threads: int | None = None) -> RleBatch:
        """One mask per box ``[x, y, w, h]`` of an (N, 4) array-like (pycocotools frBbox)."""
    @staticmethod
    def _from_pickle(h: int, w: int, offsets: bytes, data: bytes) -> RleBatch: ...
    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, H, W)."""
    def __len__(self) -> int: ...
    def __getitem__(
        self, key: int | slice | Sequence[int] | Sequence[bool] | npt.NDArray[Any], /
    ) -> RleBatch:
        """An int gives a one-mask batch; a slice, integer sequence/array or boolean
        mask of length N gives a batch of the selected masks, in order."""
    def __eq__(self, value: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def area(self, *, threads: int | None = None) -> npt.NDArray[np.int64]:
        """Foreground pixels per mask, int64 (N,)."""
    def bbox(self, *, threads: int | None = None) -> npt.NDArray[np.float64]:
        """pycocotools toBbox ``[x, y, w, h]`` per mask, float64 (N, 4)."""
    def decode(
        self,
        *,
        out: npt.NDArray[np.uint8] | None = None,
        indices: Sequence[int] | npt.NDArray[Any] | None = None,
        threads: int | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Masks as an (n, H, W) uint8 C-contiguous array (1 = foreground): a new array,
        or ``out`` (validated: shape, dtype, C-contiguous, writeable). ``indices``
        decodes only those masks, in that order."""
    def iou(
        self,
        other: RleBatch | Sequence[dict[str, Any]],
        *,
        iscrowd: Sequence[bool] | Sequence[int] | npt.NDArray[Any] | None = None,
        threads: int | None = None,
    ) -> npt.NDArray[np.float64]:
        """IoU of each mask of self (detections) with each of other (ground truth, a
        batch or COCO RLE dicts), float64 (N, M) C-contiguous, as pycocotools'
        iou(dt, gt, iscrowd)."""
    def nms(
        self,
        scores: npt.ArrayLike,
        iou_threshold: float,
        *,
        max_keep: int | None = None,
        threads: int | None = None,
    ) -> npt.NDArray[np.int64]:
        """Greedy mask NMS: indices kept, highest score first (ties: lower index first);
        a mask is dropped when its IoU with one kept is above ``iou_threshold``."""
    def merge(self, *, intersect: bool = False) -> RleBatch:
        """Union (or intersection) of all masks as pycocotools' merge, one-mask batch."""
    def __or__(self, other: RleBatch, /) -> RleBatch:
        """Union, mask by mask (a one-mask batch broadcasts); masks of one size."""
    def __and__(self, other: RleBatch, /) -> RleBatch:
        """Intersection, mask by mask."""
    def __xor__(self, other: RleBatch, /) -> RleBatch:
        """Symmetric difference, mask by mask."""
    def __sub__(self, other: RleBatch, /) -> RleBatch:
        """In ``self`` and not in ``other``, mask by mask."""
    def __invert__(self) -> RleBatch:
        """Each mask's complement."""
    # (Reflected forms: PyO3 defines them; they give NotImplemented.)
    def __ror__(self, other: RleBatch, /) -> RleBatch: ...
    def __rand__(self, other: RleBatch, /) -> RleBatch: ...
    def __rxor__(self, other: RleBatch, /) -> RleBatch: ...
    def __rsub__(self, other: RleBatch, /) -> RleBatch: ...
    def flipud(self, *, threads: int | None = None) -> RleBatch:
        """Rows reversed (numpy's ``flipud`` of each mask)."""
    def fliplr(self, *, threads: int | None = None) -> RleBatch:
        """Columns reversed (numpy's ``fliplr`` of each mask)."""
    def transpose(self, *, threads: int | None = None) -> RleBatch:
        """Rows and columns exchanged: ``(N, W, H)``."""
    def rot90(self, k: int | None = None, *, threads: int | None = None) -> RleBatch:
        """numpy's ``rot90(masks, k, axes=(1, 2))`` (``k`` quarter turns, 1 by default)."""
    def crop(self, x: int, y: int, w: int, h: int, *, threads: int | None = None) -> RleBatch:
        """The box at column ``x``, row ``y``, ``w`` by ``h`` (inside the image):
        ``(N, h, w)``."""
    def pad(
        self,
        top: int | None = None,
        bottom: int | None = None,
        left: int | None = None,
        right: int | None = None,
        *,
        threads: int | None = None,
    ) -> RleBatch:
        """Background rows and columns added around each mask."""
    def shift(self, dy: int, dx: int, *, threads: int | None = None) -> RleBatch:
        """Content moved ``dy`` rows down and ``dx`` columns right (negative: up, left);
        background enters, nothing wraps."""
    def resize(
        self, h: int, w: int, mode: str = "nearest", *, threads: int | None = None
    ) -> RleBatch:
        """Each mask resized to ``(h, w)`` by nearest neighbour: ``mode="nearest"`` takes
        source index ``floor(i * in / out)``, ``"nearest-exact"`` ``floor((i + 0.5) * in /
        out)`` (torch's modes, in exact integer arithmetic)."""
    def dilate(self, radius: int, shape: str = "square", *, threads: int | None = None) -> RleBatch:
        """Each mask dilated by OpenCV's ``getStructuringElement(MORPH_RECT | MORPH_CROSS |
        MORPH_ELLIPSE, (2r+1, 2r+1))`` (``shape`` ``"square"``, ``"cross"``, ``"disk"``),
        pixels outside the image counting as background (``BORDER_CONSTANT``, 0)."""
    def erode(self, radius: int, shape: str = "square", *, threads: int | None = None) -> RleBatch:
        """Each mask eroded (see ``dilate``)."""
    def opening(
        self, radius: int, shape: str = "square", *, threads: int | None = None
    ) -> RleBatch:
        """Each mask eroded, then dilated."""
    def closing(
        self, radius: int, shape: str = "square", *, threads: int | None = None
    ) -> RleBatch:
        """Each mask dilated, then eroded."""
    def components(
        self, connectivity: int | None = None, *, threads: int | None = None
    ) -> tuple[RleBatch, npt.NDArray[np.int64]]:
        """Every connected component of every mask (``connectivity`` 8, the default, or
        4): ``(RleBatch of the K components, owners int64 (K,))``, each mask's components
        in OpenCV's label order (by first pixel in a row-major scan)."""
    def largest_component(
        self, connectivity: int | None = None, *, threads: int | None = None
    ) -> RleBatch:
        """Each mask's largest connected component (ties: the first in OpenCV's label
        order; an empty mask stays empty)."""
    def remove_small_regions(
        self, area_thresh: float, mode: str = "islands", *, threads: int | None = None
    ) -> tuple[RleBatch, npt.NDArray[np.bool_]]:
        """segment-anything's ``amg.remove_small_regions`` mask by mask (8-connectivity;
        ``mode`` ``"islands"`` or ``"holes"``): ``(RleBatch, changed bool (N,))``."""
    def fill_holes(self, *, threads: int | None = None) -> RleBatch:
        """Each mask with its holes filled (``scipy.ndimage.binary_fill_holes``)."""
    @staticmethod
    def from_logits(
        logits: npt.ArrayLike, threshold: float = 0.0, *, threads: int | None = None
    ) -> RleBatch:
        """One mask per ``(H, W)`` of ``logits`` (``(N, H, W)`` or ``(H, W)``; float16,
        float32 or float64; numpy arrays or CPU torch tensors): ``from_masks(logits >
        threshold)`` without the boolean array (the threshold cast to the logits' dtype,
        as numpy compares)."""
    def centroid(self, *, threads: int | None = None) -> npt.NDArray[np.float64]:
        """Each mask's centroid ``[x, y]``, float64 ``(N, 2)`` (NaN for an empty mask)."""
    def boundary(self, dilation_ratio: float = 0.02, *, threads: int | None = None) -> RleBatch:
        """Each mask's inner boundary band (Boundary IoU): the mask minus its erosion by a
        3x3 square repeated ``d = max(1, round(dilation_ratio * sqrt(H**2 + W**2)))``
        times, pixels outside the image counting as background; equal to
        boundary-iou-api's ``mask_to_boundary``. Computed on the runs (no dense mask),
        at a cost that does not grow with ``d``."""
    def to_coco(self, *, counts: str = "str", threads: int | None = None) -> list[dict[str, Any]]:
        """JSON-ready ``{"size": [H, W], "counts": str}`` dicts (``counts="bytes"``
        gives pycocotools' bytes)."""

def set_num_threads(n: int) -> None:
    """Default thread count of batch operations in this process (0: the default)."""

def get_num_threads() -> int:
    """The thread count a batch operation without ``threads=`` uses."""

def file_name_problem(name: str) -> str | None:
    """What is wrong with an SA-1B image ``file_name`` (not a bare name), if anything."""

def default_max_pixels() -> int:
    """The pixel limit of image decoding without ``max_pixels=``."""

def max_threads() -> int:
    """The most threads one call may use."""

def threads_env_problem() -> str | None:
    """What is wrong with ``SA1B_RLE_NUM_THREADS`` (then ignored), if anything."""

@final
class Sa1bImage:
    """The annotations of one SA-1B image, held in Rust as one array per field."""

    @property
    def image_id(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def file_name(self) -> str: ...
    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """Annotation ids, int64 (n,)."""
    @property
    def masks(self) -> RleBatch:
        """The masks, an RleBatch of (n, height, width)."""
    @property
    def bbox(self) -> npt.NDArray[np.float64]:
        """Stored boxes [x, y, w, h], float64 (n, 4)."""
    @property
    def area(self) -> npt.NDArray[np.int64]:
        """Stored areas, int64 (n,)."""
    @property
    def predicted_iou(self) -> npt.NDArray[np.float64]: ...
    @property
    def stability_score(self) -> npt.NDArray[np.float64]: ...
    @property
    def point_coords(self) -> npt.NDArray[np.float64]:
        """Each annotation's point [x, y], float64 (n, 2)."""
    @property
    def crop_box(self) -> npt.NDArray[np.float64]:
        """Crop boxes [x, y, w, h], float64 (n, 4)."""
    def __len__(self) -> int: ...
    def filter(
        self,
        *,
        min_predicted_iou: float | None = None,
        min_stability_score: float | None = None,
        min_area: int | None = None,
        max_area: int | None = None,
    ) -> Sa1bImage:
        """The annotations passing every given threshold (inclusive), as a new image."""
    def select(self, indices: Sequence[int]) -> Sa1bImage:
        """The annotations at ``indices`` (negative from the end), as a new image."""
    def decode(
        self,
        *,
        indices: Sequence[int] | npt.NDArray[Any] | None = None,
        out: npt.NDArray[np.uint8] | None = None,
        threads: int | None = None,
    ) -> npt.NDArray[np.uint8]:
        """The masks as (n, height, width) uint8, C-contiguous (as RleBatch.decode)."""
    def to_json(self) -> bytes:
        """The image as an SA-1B annotation file, counts as pycocotools' canonical strings."""
    def to_dict(self) -> dict[str, Any]:
        """The file's JSON structure, counts as str (``json.loads(self.to_json())``)."""
    def __reduce__(self) -> tuple[Any, ...]: ...
    @staticmethod
    def _from_json(data: bytes) -> Sa1bImage: ...
    def _coco_annotations_json(self, first_id: int, category_id: int) -> bytes:
        """COCO instance annotations, comma-separated JSON objects, ids from first_id."""

def sa1b_parse(
    data: bytes, file: str, check: bool
) -> tuple[Sa1bImage | None, list[tuple[str, int | None, int | None, str, str, str]]]:
    """Parse an SA-1B annotation file: (image or None, problems as tuples)."""

def filter_keep(
    predicted_iou: npt.NDArray[np.float64] | None,
    stability_score: npt.NDArray[np.float64] | None,
    area: npt.NDArray[np.int64] | None,
    *,
    min_predicted_iou: float | None = None,
    min_stability_score: float | None = None,
    min_area: int | None = None,
    max_area: int | None = None,
) -> npt.NDArray[np.bool_]: ...
def read_image_rgb(data: bytes, *, max_pixels: int | None = None) -> npt.NDArray[np.uint8]:
    """Decode a JPEG or PNG to an (H, W, 3) uint8 RGB array."""

def encode_png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """Encode an (H, W, 3) uint8 array as PNG bytes."""

def draw_masks(rgb: npt.NDArray[np.uint8], masks: RleBatch, alpha: float) -> None:
    """Draw the masks over an (H, W, 3) uint8 C-contiguous RGB array, in place."""

def labels_from_array(
    arr: npt.NDArray[Any], background: int
) -> tuple[npt.NDArray[np.int64], RleBatch]:
    """One mask per value of a 2-D integer label array: (values, masks)."""

def labels_from_rgb(
    rgb: npt.NDArray[np.uint8], background: int
) -> tuple[npt.NDArray[np.int64], RleBatch]:
    """One mask per colour code of an (H, W, 3) uint8 C-contiguous array."""

def labels_from_png(
    data: bytes, background: int, *, max_pixels: int | None = None
) -> tuple[npt.NDArray[np.int64], RleBatch]:
    """One mask per value of a PNG label image (grey, palette indices, RGB codes)."""

def png_label_values(data: bytes, *, max_pixels: int | None = None) -> npt.NDArray[np.int64]:
    """The pixel values of a PNG label image, (H, W) int64 (at most ``max_pixels``, else
    ``SA1B_RLE_MAX_IMAGE_PIXELS``, pixels)."""

def counts_to_runs(counts: bytes, h: int, w: int) -> list[int]:
    """The run lengths of a compressed counts string of an h x w mask (validated)."""

def mask_from_image_bytes(
    data: bytes,
    threshold: int,
    invert: bool,
    min_component_area: int,
    *,
    max_pixels: int | None = None,
) -> RleBatch:
    """One-mask batch of a PNG/JPEG: grey > threshold (<= with invert), specks dropped."""

def mask_from_binary_array(mask: npt.NDArray[np.uint8], min_component_area: int) -> RleBatch:
    """One-mask batch of a 2-D uint8 binary array, specks dropped."""

def rgb_to_luma(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Grey levels of an (H, W, 3) uint8 array, as Pillow's convert("L")."""

def image_size(data: bytes) -> tuple[int, int]:
    """(height, width) of a JPEG or PNG from its header."""

def batch_polygons(batch: RleBatch, index: int, tolerance: float) -> list[list[float]]:
    """COCO polygons of mask ``index`` of a batch, traced in the mask's box."""

def counts_buffers(
    batch: RleBatch, threads: int | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The counts strings of a batch as (offsets (n + 1,) int64, data uint8)."""

def sa1b_columns(
    images: Sequence[Sa1bImage], threads: int | None = None
) -> dict[str, npt.NDArray[Any]]:
    """The rows of the images (one per mask) as one array per column; counts as Arrow
    buffers ``counts_offsets`` (int64, rows + 1) and ``counts`` (uint8)."""

def batch_from_counts_buffers(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    h: int,
    w: int,
    threads: int | None = None,
) -> RleBatch:
    """A batch from (offsets, data) counts buffers, every string validated."""

def kaggle_to_batch(
    text: str, h: int, w: int, *, column_major: bool, one_indexed: bool
) -> RleBatch:
    """A one-mask batch of a Kaggle string of an h x w mask."""

def kaggle_decode(
    text: str, h: int, w: int, *, column_major: bool, one_indexed: bool
) -> npt.NDArray[np.uint8]:
    """The (h, w) uint8 C-contiguous mask of a Kaggle string."""

def kaggle_encode(batch: RleBatch, *, column_major: bool, one_indexed: bool) -> str:
    """The Kaggle string of the one mask of ``batch``."""

def stability_score(
    logits: npt.ArrayLike,
    mask_threshold: float = 0.0,
    offset: float = 1.0,
    *,
    threads: int | None = None,
) -> npt.NDArray[np.float32]:
    """segment-anything's ``calculate_stability_score``: per mask, the pixels above
    ``mask_threshold + offset`` over those above ``mask_threshold - offset`` (float32
    ``(N,)``; NaN where none is above the lower one), counted in one pass."""

def box_nms(
    boxes: npt.ArrayLike,
    scores: npt.ArrayLike,
    iou_threshold: float,
    *,
    max_keep: int | None = None,
) -> npt.NDArray[np.int64]:
    """Greedy NMS of [x0, y0, x1, y1] boxes with torchvision's IoU: int64 indices kept,
    highest score first. Kept boxes are looked up by position (a pair suppresses only
    when the boxes overlap), and Ctrl-C interrupts it (KeyboardInterrupt). A NaN
    coordinate is ignored by the IoU's min/max (the other box's is taken), where
    torchvision's kernel takes one by argument order: such boxes can differ from it."""

@final
class CocoColumns:
    """A COCO dataset or results as columns (sa1b_rle::coco), parsed from JSON or read
    from annotation dicts."""

    @property
    def n_annotations(self) -> int: ...
    @property
    def n_images(self) -> int: ...
    @property
    def atypical(self) -> str | None:
        """Why the columns do not hold every value exactly (None: they do)."""
    @property
    def tables(self) -> tuple[bool, bool, bool]:
        """Whether the document has (images, annotations, categories)."""
    @property
    def result_kind(self) -> str | None:
        """loadRes' branch for results (None for a dataset)."""
    def source(self) -> bytes:
        """The JSON document the columns were parsed from."""
    def image_ids(self) -> npt.NDArray[np.int64]: ...
    def category_ids(self) -> npt.NDArray[np.int64]: ...
    def category_names(self) -> list[str | None]: ...
    def unknown_image_id(self, dataset: CocoColumns) -> int | None: ...
    def annotation_arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """(id, image_id, category_id, area, score, bbox (N, 4))."""
    def ann_ids(
        self,
        *,
        img_ids: list[int] | None,
        cat_ids: list[int] | None,
        area_rng: tuple[float, float] | None,
        iscrowd: float | None,
    ) -> npt.NDArray[np.int64]:
        """pycocotools' getAnnIds on the columns."""
    def images_of_category(self, cat: int) -> npt.NDArray[np.int64]: ...
    def category_frequencies(self) -> list[str | None]:
        """The categories' LVIS ``frequency`` (None where absent or not a string)."""
    def image_category_lists(
        self, which: int
    ) -> (
        tuple[
            npt.NDArray[np.float64],
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
            npt.NDArray[np.bool_],
        ]
        | None
    ):
        """An LVIS list of each image (0: neg_category_ids, 1:
        not_exhaustive_category_ids): (values, starts, ends, present); None when no
        image has it."""
    def derived(
        self,
    ) -> tuple[list[int], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

def coco_parse_dataset(data: bytes) -> CocoColumns:
    """A COCO dataset (JSON bytes) as columns."""

def coco_parse_results(data: bytes, *, threads: int | None = None) -> CocoColumns:
    """A results file (JSON bytes) as columns, completed as loadRes does."""

def coco_read_dataset(path: str | os.PathLike[str], *, threads: int | None = None) -> CocoColumns:
    """A COCO dataset file, read and parsed in Rust (the columns keep its bytes)."""

def coco_read_results(path: str | os.PathLike[str], *, threads: int | None = None) -> CocoColumns:
    """A results file, read and parsed in Rust, completed as loadRes does."""

def coco_columns_from_dicts(
    anns: list[dict[str, Any]],
    images: list[dict[str, Any]] | None,
    *,
    keys: dict[Any, int],
    results: bool = False,
    threads: int | None = None,
) -> CocoColumns:
    """Annotation (and image) dicts as columns; ids that are not integers are keyed
    through keys."""

def coco_keys(values: Any, keys: dict[Any, int]) -> list[int]:
    """Integer keys of ids (see coco_columns_from_dicts)."""

@final
class CocoEvaluation:
    """COCOeval.evaluate()'s result as accumulate() reads it, held in Rust: per
    detection its score and one byte per (area range, IoU threshold)."""

    @property
    def nbytes(self) -> int:
        """Bytes held."""
    @property
    def n_groups(self) -> int: ...
    def members(self, gt: bool) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """A side's (order, offsets)."""
    def group(
        self, k: int
    ) -> tuple[list[int], npt.NDArray[np.float64], list[tuple[Any, ...]]] | None:
        """Group k's detections by score, IoU matrix and evalImgs entry per area range
        (None for an empty group)."""
    def accumulate(
        self,
        *,
        k_list: list[int],
        a_list: list[int],
        m_list: list[int],
        i_list: list[int],
        n_images: int,
        n_area_ranges: int,
        n_categories: int,
        dims: list[int],
        rec_thrs: list[float],
        threads: int | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

def coco_evaluate(
    gt: CocoColumns,
    dt: CocoColumns,
    *,
    img_ids: list[int],
    cat_ids: list[int],
    use_cats: bool,
    iou_type: str,
    iou_thrs: list[float],
    area_rng: list[list[float]],
    max_det: int,
    kpt_oks_sigmas: list[float],
    dilation_ratio: float = 0.02,
    gt_members: list[int] | None = None,
    dt_members: list[int] | None = None,
    not_exhaustive: list[bool] | None = None,
    threads: int | None = None,
) -> CocoEvaluation:
    """pycocotools' evaluate() on columns (see sa1b_rle.cocoeval)."""
