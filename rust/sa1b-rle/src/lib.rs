//! COCO run-length-encoded masks, bit-exact with pycocotools.
//!
//! The pure core of `sa1b_rle`: the compressed counts codec, mask encode and decode,
//! area and bounding boxes, polygon and box rasterisation, IoU and merge. It takes slices
//! and returns `Result`s; every input is validated, so a bad counts string or polygon is
//! an [`Error`] naming what is wrong and where, never a panic or garbage.
//!
//! ```
//! use sa1b_rle::{decode_into, encode, Order, Rle};
//!
//! // A 3x4 mask, row-major, with a 2x2 block at rows 1-2, columns 1-2.
//! let mask = [0, 0, 0, 0,
//!             0, 1, 1, 0,
//!             0, 1, 1, 0];
//! let rle = encode(&mask, 3, 4, Order::RowMajor).unwrap();
//! assert_eq!(rle.counts(), &[4, 2, 1, 2, 3]);
//! assert_eq!(rle.to_counts_string(), b"42102");
//! assert_eq!(rle.area(), 4);
//! assert_eq!(rle.bbox(), [1.0, 1.0, 2.0, 2.0]);
//!
//! let parsed = Rle::from_counts_str(3, 4, b"42102").unwrap();
//! let mut column_major = vec![0u8; 12];
//! decode_into(&parsed, &mut column_major, true).unwrap();
//! assert_eq!(column_major, [0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0]);
//! ```

pub mod alloc;
mod arch;
mod batch;
pub mod boundary;
pub mod coco;
mod column_iou;
pub mod contours;
pub mod counts;
mod decode;
mod encode;
mod error;
pub mod eval;
#[cfg(feature = "images")]
pub mod images;
pub mod input;
mod iou;
pub mod kaggle;
pub mod labels;
pub mod merge;
mod nms;
pub mod ops;
pub mod overlay;
pub mod pixels;
pub mod polygon;
pub mod pool;
mod rle;
pub mod sa1b;
#[cfg(test)]
mod test_support;

pub use batch::{
    coco_iou, mask_iou, merge_coco, resolve_index, CountsBuffers, Geometry, Morphology, RleBatch,
};
pub use decode::{decode_into, zeroed_buffer};
pub use encode::{encode, Order};
pub use error::{Error, Result};
pub use iou::{bbox_iou, IouMask};
pub use merge::merge;
pub use nms::{box_nms, box_nms_checked};
pub use polygon::{fr_bbox, fr_poly};
pub use rle::{
    area_of_counts_str, bbox_of_counts_str, common_size, common_size_of, pixel_count, Rle,
};
