//! `sa1b_rle._core`: the thin `PyO3` binding of the `sa1b-rle` core crate.
//!
//! Every function converts its Python input into owned core values, runs the core with
//! the interpreter detached, and wraps the result; the logic lives in `sa1b-rle`.

// #[pyfunction] arguments must be owned extractable types (arrays, Vecs).
#![allow(clippy::needless_pass_by_value)]

mod batch;
mod coco;
mod convert;
mod errors;
mod eval;
mod images;
mod kaggle;
mod logits;
mod mask;
mod ops;
mod sa1b;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("RleError", m.py().get_type::<errors::RleError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    sa1b_rle::pool::note_process_start();
    m.add_class::<batch::PyRleBatch>()?;
    m.add_class::<sa1b::PySa1bImage>()?;
    m.add_function(wrap_pyfunction!(sa1b::sa1b_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sa1b::filter_keep, m)?)?;
    m.add_function(wrap_pyfunction!(images::read_image_rgb, m)?)?;
    m.add_function(wrap_pyfunction!(images::encode_png, m)?)?;
    m.add_function(wrap_pyfunction!(images::draw_masks, m)?)?;
    m.add_function(wrap_pyfunction!(images::labels_from_array, m)?)?;
    m.add_function(wrap_pyfunction!(images::labels_from_rgb, m)?)?;
    m.add_function(wrap_pyfunction!(images::labels_from_png, m)?)?;
    m.add_function(wrap_pyfunction!(images::png_label_values, m)?)?;
    m.add_function(wrap_pyfunction!(batch::counts_to_runs, m)?)?;
    m.add_function(wrap_pyfunction!(images::mask_from_image_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(images::mask_from_binary_array, m)?)?;
    m.add_function(wrap_pyfunction!(images::rgb_to_luma, m)?)?;
    m.add_function(wrap_pyfunction!(images::batch_polygons, m)?)?;
    m.add_function(wrap_pyfunction!(images::image_size, m)?)?;
    m.add_function(wrap_pyfunction!(sa1b::file_name_problem, m)?)?;
    m.add_function(wrap_pyfunction!(images::default_max_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(batch::counts_buffers, m)?)?;
    m.add_function(wrap_pyfunction!(sa1b::sa1b_columns, m)?)?;
    m.add_function(wrap_pyfunction!(batch::batch_from_counts_buffers, m)?)?;
    m.add_function(wrap_pyfunction!(batch::box_nms, m)?)?;
    m.add_function(wrap_pyfunction!(logits::stability_score, m)?)?;
    m.add_function(wrap_pyfunction!(eval::coco_evaluate, m)?)?;
    m.add_class::<coco::PyCocoColumns>()?;
    m.add_function(wrap_pyfunction!(coco::coco_parse_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(coco::coco_parse_results, m)?)?;
    m.add_function(wrap_pyfunction!(coco::coco_read_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(coco::coco_read_results, m)?)?;
    m.add_function(wrap_pyfunction!(coco::coco_columns_from_dicts, m)?)?;
    m.add_function(wrap_pyfunction!(coco::coco_keys, m)?)?;
    m.add_class::<eval::PyCocoEvaluation>()?;
    m.add_function(wrap_pyfunction!(batch::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(batch::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(batch::threads_env_problem, m)?)?;
    m.add_function(wrap_pyfunction!(batch::max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(kaggle::kaggle_to_batch, m)?)?;
    m.add_function(wrap_pyfunction!(kaggle::kaggle_decode, m)?)?;
    m.add_function(wrap_pyfunction!(kaggle::kaggle_encode, m)?)?;
    m.add_function(wrap_pyfunction!(mask::encode_masks, m)?)?;
    m.add_function(wrap_pyfunction!(mask::decode, m)?)?;
    m.add_function(wrap_pyfunction!(mask::area, m)?)?;
    m.add_function(wrap_pyfunction!(mask::to_bbox, m)?)?;
    m.add_function(wrap_pyfunction!(mask::merge, m)?)?;
    m.add_function(wrap_pyfunction!(mask::iou_rle, m)?)?;
    m.add_function(wrap_pyfunction!(mask::iou_bbox, m)?)?;
    m.add_function(wrap_pyfunction!(mask::fr_bbox, m)?)?;
    m.add_function(wrap_pyfunction!(mask::fr_poly, m)?)?;
    m.add_function(wrap_pyfunction!(mask::fr_uncompressed, m)?)?;
    Ok(())
}
