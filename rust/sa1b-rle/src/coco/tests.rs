use super::*;

#[test]
fn fields_and_kinds() {
    let doc = br#"{"info": {"x": [1, {"y": 2}]},
        "images": [{"id": 1, "height": 4, "width": 5}, {"id": 2, "height": 4.0, "width": 5}],
        "annotations": [
          {"id": 7, "image_id": 1, "category_id": 2, "area": 3, "iscrowd": 0,
           "bbox": [0, 0, 2.5, 2], "segmentation": [[0, 0, 2, 0, 2, 2], [1, 1, 3, 1, 3, 3]]},
          {"id": 8, "image_id": 1, "category_id": 2, "area": 20.5, "iscrowd": 1,
           "segmentation": {"size": [4, 5], "counts": [0, 20]}, "extra": null},
          {"id": 9, "image_id": 2, "category_id": 3, "area": 1, "iscrowd": true,
           "segmentation": {"counts": "0\\4", "size": [4, 5]}, "num_keypoints": 2,
           "keypoints": [1, 2, 2, 3.5, 4, 1]}
        ],
        "categories": [{"id": 2, "name": "a"}, {"id": 3, "name": 4}]}"#;
    let d = parse_dataset(doc).unwrap();
    let a = &d.annotations;
    assert_eq!(a.id, [7, 8, 9]);
    assert_eq!(a.image_id, [1, 1, 2]);
    assert_eq!(a.area, [3.0, 20.5, 1.0]);
    assert_eq!(a.bbox[0], [0.0, 0.0, 2.5, 2.0]);
    assert!(a.has(0, flag::BBOX) && !a.has(1, flag::BBOX_KEY));
    assert!(a.has(1, flag::CROWD_INT | flag::CROWD_TRUTHY));
    assert!(a.has(2, flag::CROWD_INT) && !a.has(0, flag::CROWD_TRUTHY));
    assert!(matches!(
        a.segmentation[0],
        Segmentation::PolygonText { .. }
    ));
    // RLEs are read when needed: runs, and counts with an escape.
    assert!(matches!(a.segmentation[1], Segmentation::RleText { .. }));
    let mut runs = Vec::new();
    let one = a.shape(1, None).unwrap();
    assert_eq!(one.runs_into(&mut runs).unwrap(), (4, 5));
    assert_eq!(runs, [0, 20]);
    let e = a.shape(2, None).unwrap().runs_into(&mut runs).unwrap_err();
    assert!(e.to_string().contains("sum"), "{e}");
    assert_eq!(a.keypoints_of(2), [1.0, 2.0, 2.0, 3.5, 4.0, 1.0]);
    assert_eq!(a.num_keypoints[2], 2.0);
    assert_eq!(d.categories.name, [Some("a".to_string()), None]);
    // A float height is not held exactly: the dataset is atypical.
    assert_eq!(d.images.size, [Some([4, 5]), None]);
    assert!(d.atypical.as_deref().unwrap().contains("image 1"));
    let shape = a.shape(0, Some([4, 5])).unwrap();
    assert_eq!(shape.runs_into(&mut Vec::new()).unwrap(), (4, 5));
    assert!(shape.to_rle().unwrap().area() > 0);
    assert!(a.shape(0, None).is_err());
}

#[test]
fn errors_name_the_place() {
    let e = parse_dataset(b"{\"annotations\": [{\"id\": 1, \"image_id\": 2},\n 5]}").unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("annotation 1 to be an object") && m.contains("line 2"),
        "{m}"
    );
    let e =
        parse_dataset(br#"{"images": [{"id": 1}], "annotations": [{"image_id": 1}]}"#).unwrap_err();
    assert!(e.to_string().contains("annotation 0 has no id"), "{e}");
    let e = parse_dataset(br#"{"images": {"id": 1}}"#).unwrap_err();
    assert!(e.to_string().contains("images to be a list"), "{e}");
    let e = parse_dataset(br#"{"images": [{"id": 1}"#).unwrap_err();
    assert!(e.to_string().contains("EOF"), "{e}");
    assert!(parse_results(br#"{"a": 1}"#).is_err());
    let e = parse_results(br#"[{"score": 1}]"#).unwrap_err();
    assert!(e.to_string().contains("has no image_id"), "{e}");
    // Duplicate top-level keys: the last wins, as in Python's json.
    let d = parse_dataset(br#"{"images": [{"id": 1}], "images": []}"#).unwrap();
    assert!(d.images.is_empty());
}

#[test]
fn odd_values_make_the_columns_atypical() {
    for ann in [
        r#"{"id": "x", "image_id": 1}"#,
        r#"{"id": 1, "image_id": 1.5}"#,
        r#"{"id": 1, "image_id": 1, "area": "big"}"#,
        r#"{"id": 1, "image_id": 1, "iscrowd": null}"#,
        r#"{"id": 1, "image_id": 1, "bbox": [1, 2, 3]}"#,
        r#"{"id": 1, "image_id": 1, "segmentation": 7}"#,
    ] {
        let doc = format!(r#"{{"annotations": [{ann}]}}"#);
        let d = parse_dataset(doc.as_bytes()).unwrap();
        assert!(!d.is_typical(), "{ann}");
    }
    // 1.0 is the key 1, as in a Python dict.
    let d = parse_dataset(br#"{"annotations": [{"id": 1.0, "image_id": true}]}"#).unwrap();
    assert!(d.is_typical());
    assert_eq!((d.annotations.id[0], d.annotations.image_id[0]), (1, 1));
}

#[test]
fn results_are_completed_as_load_res_does() {
    let mut r = parse_results(
        br#"[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4.5], "score": 0.5},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 0.25}]"#,
    )
    .unwrap();
    assert_eq!(r.derive_results(None).unwrap(), ResultKind::Boxes);
    assert_eq!(r.id, [1, 2]);
    assert_eq!(r.area, [13.5, 4.0]);
    let mut r = parse_results(
        br#"[{"image_id": 1, "category_id": 1, "segmentation": {"size": [3, 4], "counts": "42102"}, "score": 1}]"#,
    )
    .unwrap();
    assert_eq!(r.derive_results(Some(2)).unwrap(), ResultKind::Segmentation);
    assert_eq!(r.area, [4.0]);
    assert_eq!(r.bbox, [[1.0, 1.0, 2.0, 2.0]]);
    let mut bad = parse_results(
        br#"[{"image_id": 1, "segmentation": {"size": [3, 4], "counts": "42102"}},
             {"image_id": 1, "segmentation": {"size": [3, 4], "counts": "4!"}}]"#,
    )
    .unwrap();
    let e = bad.derive_results(None).unwrap_err();
    assert!(
        e.to_string().starts_with("result 1 (id 2): invalid byte"),
        "{e}"
    );
    let mut k =
        parse_results(br#"[{"image_id": 1, "keypoints": [1, 5, 2, 4, 2, 0, 3, 9, 1]}]"#).unwrap();
    assert_eq!(k.derive_results(None).unwrap(), ResultKind::Keypoints);
    assert_eq!(k.bbox, [[1.0, 2.0, 3.0, 7.0]]);
    assert_eq!(k.area, [21.0]);
}

#[test]
fn an_rle_of_another_shape_is_an_error_when_read() {
    let d = parse_dataset(
        br#"{"annotations": [{"id": 1, "image_id": 1, "segmentation": {"size": [1.5, 2], "counts": "0"}}]}"#,
    )
    .unwrap();
    let e = d.annotations.shape(0, None).unwrap().to_rle().unwrap_err();
    assert!(e.to_string().contains("neither polygons nor an RLE"), "{e}");
}

#[test]
fn polygon_text_is_parsed_when_rasterised() {
    let doc = br#"{"annotations": [
        {"id": 1, "image_id": 1, "segmentation": [ [0, 0, 4, 0.5e1, 4, 4] , [1, 1, 2, 1, 2, 2] ]},
        {"id": 2, "image_id": 1, "segmentation": [[1, 2, 3], "x"]},
        {"id": 3, "image_id": 1, "segmentation": []}]}"#;
    let d = parse_dataset(doc).unwrap();
    let a = &d.annotations;
    let shape = a.shape(0, Some([6, 6])).unwrap();
    let want = crate::polygon::coco_polygons(
        &[
            vec![0.0, 0.0, 4.0, 5.0, 4.0, 4.0],
            vec![1.0, 1.0, 2.0, 1.0, 2.0, 2.0],
        ],
        6,
        6,
    );
    assert_eq!(shape.to_rle().unwrap(), want.unwrap());
    let e = a.shape(1, Some([6, 6])).unwrap().to_rle().unwrap_err();
    assert!(e.to_string().contains("neither polygons"), "{e}");
    let e = a.shape(2, Some([6, 6])).unwrap().to_rle().unwrap_err();
    assert!(e.to_string().contains("empty list"), "{e}");
}

#[test]
fn the_parallel_parse_equals_the_one_pass_parse() {
    // A document over the parallel threshold: polygons, RLEs (escaped and not),
    // keypoints, an odd value; and the same with an error, reported as the one-pass
    // parse reports it.
    let mut anns = Vec::new();
    for i in 0..12_000 {
        let segm = match i % 6 {
            0..=3 => {
                // Polygons as COCO has them: many coordinates per annotation.
                let ring: Vec<String> =
                    (0..60).map(|k| format!("{}.25", (k * 7 + i) % 9)).collect();
                format!("[[{i}.5, 1, 4, 1e1, 7, 7], [{}]]", ring.join(", "))
            }
            4 => r#"{"size": [4, 5], "counts": "0\\4"}"#.to_string(),
            _ => r#"{"size": [4, 5], "counts": [20]}"#.to_string(),
        };
        anns.push(format!(
            r#"{{"id": {i}, "image_id": {}, "category_id": 1, "area": {i}.25, "iscrowd": 0,
               "bbox": [1, 2, 3, 4], "segmentation": {segm}, "keypoints": [1, 2, 2]}}"#,
            i % 7
        ));
    }
    let doc = format!(
        r#"{{"images": [{{"id": 1, "height": 9, "width": 9}}], "annotations": [{}],
            "categories": [{{"id": 1, "name": "a"}}]}}"#,
        anns.join(",\n")
    );
    assert!(doc.len() > 1 << 20);
    // The document is one the parallel parse takes.
    let split = super::json::parallel_split(doc.as_bytes(), Some(2));
    assert!(split.is_some());
    let one = parse_dataset_with(doc.clone().into_bytes(), Some(1)).unwrap();
    let two = parse_dataset_with(doc.clone().into_bytes(), Some(2)).unwrap();
    let (a, b) = (&one.annotations, &two.annotations);
    // (Serde's visitors in one, the fast path in blocks in the other: every column.)
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    for i in (0..a.len()).step_by(997) {
        let rle = |c: &AnnotationColumns| c.shape(i, Some([9, 9])).and_then(|s| s.to_rle());
        assert_eq!(format!("{:?}", rle(a)), format!("{:?}", rle(b)));
        assert_eq!(a.keypoints_of(i), b.keypoints_of(i));
    }
    assert_eq!(two.images.id, [1]);
    let bad = doc.replacen(r#""id": 5000,"#, r#""id": 5000, "x": tru,"#, 1);
    let e1 = parse_dataset_with(bad.clone().into_bytes(), Some(1)).unwrap_err();
    let e2 = parse_dataset_with(bad.into_bytes(), Some(2)).unwrap_err();
    assert_eq!(e1.to_string(), e2.to_string());
    let results = format!("[{}]", anns.join(","));
    let r1 = parse_results_with(results.clone().into_bytes(), Some(1)).unwrap();
    let r2 = parse_results_with(results.into_bytes(), Some(2)).unwrap();
    assert_eq!(format!("{r1:?}"), format!("{r2:?}"));
}

#[test]
fn results_in_guessed_blocks_equal_the_one_pass_parse() {
    // Guesses that fall inside strings and nested lists (`}, {` in a caption and in an
    // extra list of objects), RLE counts with escapes, values the fast path declines
    // (exponents, `\u` escapes) and an atypical id late in the list: every thread count
    // gives the one-pass parse's columns and note; a malformed document its error.
    let mut items = Vec::new();
    for i in 0..9_000 {
        let extra = match i % 5 {
            0 => r#", "caption": "a}, {b}, {c", "extra": [{"x": 1}, {"y": [{}, {}]}]"#,
            1 => r#", "score": 5e-1, "note": "\u00e9}, {""#,
            2 => r#", "extra": {"k": "}, {"}"#,
            _ => "",
        };
        let category = if i == 7_777 { "1.5" } else { "1" };
        items.push(format!(
            r#"{{"image_id": {}, "category_id": {category}, "bbox": [{i}.5, 2, 3, 4], "score": 0.{i},
               "segmentation": {{"size": [40, 50], "counts": "0\\4[]{i}"}}{extra}}}"#,
            i % 13
        ));
    }
    let doc = format!("[{}]", items.join(" ,\n "));
    assert!(doc.len() > 1 << 20);
    // (Some guesses are wrong: an element starts after "\n ", a string's `{` does not.)
    let d = doc.as_bytes();
    let wrong = |n| {
        super::split::guesses(d, 1, n)
            .iter()
            .filter(|&&g| &d[g - 2..g] != b"\n ")
            .count()
    };
    assert!(wrong(8) > 0 && wrong(32) > 0, "{} {}", wrong(8), wrong(32));
    let one = super::json::parse_results_one_pass(doc.clone().into_bytes()).unwrap();
    assert!(one
        .atypical
        .as_deref()
        .unwrap()
        .starts_with("annotation 7777:"));
    for threads in [1, 2, 3, 8] {
        // (Taken by the blocks, wrong guesses and all.)
        assert!(super::json::parse_list_blocks(doc.as_bytes(), 1, false, threads).is_some());
        let got = parse_results_with(doc.clone().into_bytes(), Some(threads)).unwrap();
        assert_eq!(format!("{one:?}"), format!("{got:?}"), "{threads} threads");
    }
    let bad = doc.replacen(r#""image_id": 5, "#, r#""image_id": 5, "x": nul, "#, 1);
    let want = super::json::parse_results_one_pass(bad.clone().into_bytes()).unwrap_err();
    let got = parse_results_with(bad.into_bytes(), Some(2)).unwrap_err();
    assert_eq!(want.to_string(), got.to_string());
}

mod blocks {
    use super::super::json::{parse_list_blocks, parse_results_one_pass};
    use proptest::prelude::*;

    /// A result object whose strings are made of the bytes that fool the guesses
    /// (`}`, `,`, `{`, quotes and backslashes, escaped as JSON needs), with nested
    /// lists of objects, RLE counts with escapes, and numbers the fast path declines.
    fn object() -> impl Strategy<Value = String> {
        let text = proptest::collection::vec(
            prop_oneof![
                Just("}, {"),
                Just("},{"),
                Just("\\\""),
                Just("\\\\"),
                Just("a"),
                Just(" "),
                Just("\\u00e9")
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat());
        let extra = prop_oneof![
            Just(String::new()),
            text.clone().prop_map(|t| format!(r#", "caption": "{t}""#)),
            text.prop_map(|t| format!(r#", "extra": [{{"t": "{t}"}}, {{"u": [{{}}, {{}}]}}]"#)),
            Just(r#", "score2": 1e-3"#.to_string()),
        ];
        (0u32..50, 0u32..5, extra, 0usize..3).prop_map(|(image, cat, extra, space)| {
            let ws = ["", " ", "\n  "][space];
            format!(
                r#"{{"image_id": {image},{ws}"category_id": {cat}, "score": 0.{image}5,
                   "segmentation": {{"size": [4, 5], "counts": "0\\4[]"}}{extra}}}"#
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Blocks from guessed starts, on any number of threads, give the one-pass
        /// parse's columns; a document the one-pass parse rejects they decline.
        #[test]
        fn guessed_blocks_equal_the_one_pass_parse(
            objects in proptest::collection::vec(object(), 1..40),
            sep in prop_oneof![Just(","), Just(", "), Just(" ,\n")],
            threads in 1usize..5,
            cut in proptest::option::of(0usize..4000),
        ) {
            let mut doc = format!("[{}]", objects.join(sep));
            if let Some(at) = cut {
                // A truncated document: both must refuse it.
                doc.truncate(at.min(doc.len()));
            }
            let one = parse_results_one_pass(doc.clone().into_bytes());
            let blocks = parse_list_blocks(doc.as_bytes(), 1, false, threads);
            match (one, blocks) {
                (Ok(one), Some((mut got, end))) => {
                    prop_assert_eq!(end, doc.len());
                    got.source = doc.into_bytes();
                    let mut one = one;
                    one.parsing = got.parsing;
                    prop_assert_eq!(format!("{one:?}"), format!("{got:?}"));
                }
                // A whole valid document is never declined (a value the fast path
                // declines goes to serde inside its block).
                (Ok(_), None) => prop_assert!(cut.is_some(), "a valid document declined"),
                (Err(_), Some(_)) => prop_assert!(false, "blocks accepted a bad document"),
                (Err(_), None) => {}
            }
        }
    }
}
