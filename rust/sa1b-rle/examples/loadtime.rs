fn main() {
    let path = std::env::args().nth(1).unwrap();
    let threads: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let results = std::env::args().nth(3).is_some();
    let n: usize = std::env::var("N").map(|v| v.parse().unwrap()).unwrap_or(30);
    let data = std::fs::read(&path).unwrap();
    let mut v = Vec::new();
    for _ in 0..n {
        let d = data.clone();
        let t = std::time::Instant::now();
        if results {
            sa1b_rle::coco::parse_results_with(d, Some(threads)).unwrap();
        } else {
            sa1b_rle::coco::parse_dataset_with(d, Some(threads)).unwrap();
        }
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    println!("{path} threads={threads} median {:.2} ms", v[v.len() / 2]);
}
