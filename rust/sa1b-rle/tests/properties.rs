//! Property tests: the fast kernels against naive reference implementations.

use proptest::prelude::*;
use sa1b_rle::counts::{parse_counts, write_counts};
use sa1b_rle::{
    area_of_counts_str, bbox_iou, bbox_of_counts_str, decode_into, encode, fr_bbox, fr_poly,
    mask_iou, merge, Error, Order, Rle,
};

/// Naive run lengths of a column-major 0/1 buffer.
fn naive_runs(col_major: &[u8]) -> Vec<u32> {
    let mut counts = vec![];
    let (mut prev, mut run) = (false, 0u32);
    for &v in col_major {
        if (v != 0) != prev {
            counts.push(run);
            run = 0;
            prev = v != 0;
        }
        run += 1;
    }
    counts.push(run);
    counts
}

fn dense(r: &Rle) -> Vec<u8> {
    let mut out = vec![0u8; (r.height() * r.width()) as usize];
    decode_into(r, &mut out, false).unwrap();
    out
}

fn transpose(row_major: &[u8], h: usize, w: usize) -> Vec<u8> {
    let mut t = vec![0u8; h * w];
    for y in 0..h {
        for x in 0..w {
            t[x * h + y] = row_major[y * w + x];
        }
    }
    t
}

/// (h, w, row-major mask) with blobs, noise or nothing.
fn mask_strategy() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    (0usize..24, 0usize..24).prop_flat_map(|(h, w)| {
        let n = h * w;
        (
            Just(h),
            Just(w),
            prop_oneof![
                prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(255u8)], n),
                prop::collection::vec(Just(0u8), n),
                // sparse runs: mostly zeros with a few ones
                prop::collection::vec(prop::bool::weighted(0.1).prop_map(u8::from), n),
            ],
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn counts_string_round_trips(runs in prop::collection::vec(any::<u32>(), 0..40)) {
        let s = write_counts(&runs);
        prop_assert!(s.iter().all(|b| (48..=111).contains(b)));
        prop_assert_eq!(parse_counts(&s).unwrap(), runs);
    }

    #[test]
    fn counts_string_round_trips_small(runs in prop::collection::vec(0u32..5000, 0..60)) {
        prop_assert_eq!(parse_counts(&write_counts(&runs)).unwrap(), runs);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(runs) = parse_counts(&bytes) {
            // whatever parses re-serialises to a string with the same values
            prop_assert_eq!(parse_counts(&write_counts(&runs)).unwrap(), runs);
        }
    }

    #[test]
    fn parse_never_panics_on_valid_alphabet(bytes in prop::collection::vec(48u8..=111, 0..40)) {
        let _ = parse_counts(&bytes);
    }

    #[test]
    fn encode_matches_naive_in_both_orders((h, w, m) in mask_strategy()) {
        let col = transpose(&m, h, w);
        let want = naive_runs(&col);
        let a = encode(&m, h as u64, w as u64, Order::RowMajor).unwrap();
        let b = encode(&col, h as u64, w as u64, Order::ColumnMajor).unwrap();
        prop_assert_eq!(a.counts(), &want[..]);
        prop_assert_eq!(b.counts(), &want[..]);
        // decode inverts encode (as 0/1)
        let bin: Vec<u8> = col.iter().map(|&v| u8::from(v != 0)).collect();
        prop_assert_eq!(dense(&a), bin);
        // area and bbox against the dense mask
        prop_assert_eq!(a.area(), col.iter().filter(|&&v| v != 0).count() as u64);
        let fg: Vec<(usize, usize)> = (0..h).flat_map(|y| (0..w).map(move |x| (y, x)))
            .filter(|&(y, x)| m[y * w + x] != 0).collect();
        let bb = a.bbox();
        if fg.is_empty() {
            prop_assert_eq!(bb, [0.0; 4]);
        } else {
            let x0 = fg.iter().map(|p| p.1).min().unwrap();
            let x1 = fg.iter().map(|p| p.1).max().unwrap();
            prop_assert_eq!(bb[0], x0 as f64);
            prop_assert_eq!(bb[2], (x1 - x0 + 1) as f64);
            // pycocotools widens to full height when a run crosses columns, so the box
            // contains every foreground row.
            let y0 = fg.iter().map(|p| p.0).min().unwrap();
            let y1 = fg.iter().map(|p| p.0).max().unwrap();
            prop_assert!(bb[1] <= y0 as f64 && bb[1] + bb[3] >= (y1 + 1) as f64);
        }
    }

    #[test]
    fn summary_matches_parsed_rle(
        runs in prop::collection::vec(0u32..50, 0..30),
        extra in 0u64..3,
        h in 1u64..8,
    ) {
        let s = write_counts(&runs);
        let total: u64 = runs.iter().map(|&c| u64::from(c)).sum();
        // the right size when h divides the total, otherwise a wrong one on purpose
        let w = total / h + extra * u64::from(total.is_multiple_of(h));
        let full = Rle::from_counts_str(h, w, &s);
        let area = area_of_counts_str(h, w, &s);
        let bbox = bbox_of_counts_str(h, w, &s);
        match (full, area, bbox) {
            (Ok(r), Ok(a), Ok(b)) => {
                prop_assert_eq!(a, r.area());
                prop_assert_eq!(b, r.bbox());
            }
            (Err(e), Err(a), Err(b)) => {
                prop_assert_eq!(&e, &a);
                prop_assert_eq!(&e, &b);
            }
            (f, a, b) => prop_assert!(false, "{:?} vs {:?} vs {:?}", f, a, b),
        }
    }

    #[test]
    fn merge_is_pixelwise_or_and((h, w, a) in mask_strategy(), seed in any::<u64>()) {
        let b: Vec<u8> = a.iter().enumerate()
            .map(|(i, _)| u8::from((seed.rotate_left(i as u32 % 64) ^ i as u64).is_multiple_of(3)))
            .collect();
        let ra = encode(&a, h as u64, w as u64, Order::RowMajor).unwrap();
        let rb = encode(&b, h as u64, w as u64, Order::RowMajor).unwrap();
        let (da, db) = (dense(&ra), dense(&rb));
        let or: Vec<u8> = da.iter().zip(&db).map(|(x, y)| x | y).collect();
        let and: Vec<u8> = da.iter().zip(&db).map(|(x, y)| x & y).collect();
        prop_assert_eq!(dense(&merge(&[ra.clone(), rb.clone()], false).unwrap()), or);
        prop_assert_eq!(dense(&merge(&[ra, rb], true).unwrap()), and);
    }

    #[test]
    fn iou_matches_dense_reference(
        (h, w, a) in mask_strategy(),
        seed in any::<u64>(),
        crowd in any::<bool>(),
    ) {
        let b: Vec<u8> = (0..a.len())
            .map(|i| u8::from((seed >> (i % 61)) % 4 == 0))
            .collect();
        let ra = encode(&a, h as u64, w as u64, Order::RowMajor).unwrap();
        let rb = encode(&b, h as u64, w as u64, Order::RowMajor).unwrap();
        let (da, db) = (dense(&ra), dense(&rb));
        let i = da.iter().zip(&db).filter(|(x, y)| **x & **y != 0).count() as u64;
        let u = da.iter().zip(&db).filter(|(x, y)| **x | **y != 0).count() as u64;
        let box_overlap = bbox_iou(&[ra.bbox()], &[rb.bbox()], &[crowd]).unwrap()[0] > 0.0;
        let want = if !box_overlap || i == 0 {
            0.0
        } else if crowd {
            i as f64 / ra.area() as f64
        } else {
            i as f64 / u as f64
        };
        let got = mask_iou(&[ra], &[rb], &[crowd]).unwrap()[0];
        prop_assert_eq!(got.to_bits(), want.to_bits());
    }

    #[test]
    fn polygons_give_valid_rles(
        pts in prop::collection::vec(-1e4f64..1e4, 6..24),
        h in 0u64..60,
        w in 0u64..60,
    ) {
        let pts = if pts.len() % 2 == 1 { &pts[..pts.len() - 1] } else { &pts[..] };
        let r = fr_poly(pts, h, w).unwrap();
        let sum: u64 = r.counts().iter().map(|&c| u64::from(c)).sum();
        prop_assert_eq!(sum, h * w);
        let b = fr_bbox([pts[0], pts[1], pts[2], pts[3]], h, w).unwrap();
        prop_assert_eq!(b.counts().iter().map(|&c| u64::from(c)).sum::<u64>(), h * w);
    }
}

#[test]
fn polygon_errors() {
    assert_eq!(
        fr_poly(&[0.0, 0.0, 1.0], 4, 4),
        Err(Error::PolygonOddLength { len: 3 })
    );
    assert_eq!(
        fr_poly(&[0.0, 0.0, 1.0, 1.0], 4, 4),
        Err(Error::PolygonTooFewPoints { points: 2 })
    );
    assert!(matches!(
        fr_poly(&[0.0, 0.0, 1.0, f64::NAN, 2.0, 2.0], 4, 4),
        Err(Error::NonFiniteCoordinate { index: 3, .. })
    ));
    assert!(matches!(
        fr_poly(&[0.0, 0.0, 1e9, 0.0, 2.0, 2.0], 4, 4),
        Err(Error::CoordinateOutOfRange { index: 2, .. })
    ));
}

#[test]
fn far_vertices_are_clipped_not_walked() {
    // Vertices 10^8 pixels away: cocoapi would walk ~10^9 points (and allocate 8 GB);
    // here the walk is clipped to the image, so this returns at once.
    let r = fr_poly(&[-1e8, -1e8, 1e8, 5.0, 3.0, 1e8], 100, 100).unwrap();
    assert!(r.area() > 0);
    assert_eq!(
        r.counts().iter().map(|&c| u64::from(c)).sum::<u64>(),
        100 * 100
    );
}

/// A small valid SA-1B document (two masks of a 4x5 image).
fn sa1b_doc() -> Vec<u8> {
    br#"{"image": {"image_id": 7, "width": 5, "height": 4, "file_name": "sa_7.jpg"},
  "annotations": [
    {"id": 1, "segmentation": {"size": [4, 5], "counts": "52="}, "bbox": [1.0, 1.0, 1.0, 2.0],
     "area": 2, "predicted_iou": 0.9, "stability_score": 0.95,
     "point_coords": [[1.5, 1.5]], "crop_box": [0.0, 0.0, 5.0, 4.0]},
    {"id": 2, "segmentation": {"size": [4, 5], "counts": "0d0"}, "bbox": [0.0, 0.0, 5.0, 4.0],
     "area": 20, "predicted_iou": 0.5, "stability_score": 0.5,
     "point_coords": [[0.5, 0.5]], "crop_box": [0.0, 0.0, 5.0, 4.0]}]}"#
        .to_vec()
}

/// `data` with up to a few bytes set, inserted or deleted at `edits` (position, byte).
fn edited(data: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut d = data.to_vec();
    for &(at, byte, op) in edits {
        if d.is_empty() {
            d.push(byte);
            continue;
        }
        let at = at % d.len();
        match op % 3 {
            0 => d[at] = byte,
            1 => d.insert(at, byte),
            _ => {
                d.remove(at);
            }
        }
    }
    d
}

/// A PNG of `h x w` grey pixels.
#[cfg(feature = "images")]
fn png_of(h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut writer = e.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
    writer.finish().unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sa1b_parse_never_panics_and_agrees(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..6)) {
        let data = edited(&sa1b_doc(), &edits);
        for check in [true, false] {
            let (image, problems) = sa1b_rle::sa1b::parse(&data, "f.json", check);
            // No image comes back without the problems that stopped it being named.
            prop_assert!(image.is_some() || !problems.is_empty());
            for p in &problems {
                prop_assert!(!p.to_string().is_empty());
            }
        }
    }

    #[test]
    fn file_names_with_separators_are_problems(name in "[a-z./\\\\]{0,12}") {
        let bad = name.is_empty() || name.contains(['/', '\\']) || name == "." || name == "..";
        prop_assert_eq!(sa1b_rle::sa1b::file_name_problem(&name).is_some(), bad);
    }
}

#[test]
fn the_fuzz_seed_document_is_valid() {
    let (image, problems) = sa1b_rle::sa1b::parse(&sa1b_doc(), "f.json", true);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(image.unwrap().len(), 2);
}

#[cfg(feature = "images")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn image_decode_never_panics(
        (h, w) in (1u32..12, 1u32..12),
        seed in any::<u8>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        let pixels: Vec<u8> = (0..h * w).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let png = png_of(h, w, &pixels);
        let data = edited(&png, &edits);
        match sa1b_rle::images::decode(&data, 10_000) {
            Ok(d) => {
                // Whatever decodes has the size its header says.
                let bytes = d.layout.channels() * d.layout.sample_bytes();
                prop_assert_eq!(d.data.len() as u64, d.height * d.width * bytes as u64);
                if edits.is_empty() {
                    prop_assert_eq!(d.into_luma(), pixels);
                }
            }
            Err(e) => {
                let expected = matches!(e, Error::Image { .. } | Error::LimitExceeded { .. });
                prop_assert!(expected, "{}", e);
            }
        }
        let _ = sa1b_rle::labels::read_png_labels(&data, 10_000);
    }
}
