//! Criterion benches of the core kernels on SA-1B-sized masks (1500x2250).
//!
//! Run with `cargo bench -p sa1b-rle` (add `-- <filter>` to pick one).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sa1b_rle::counts::{parse_counts, write_counts};
use sa1b_rle::{decode_into, encode, fr_poly, mask_iou, zeroed_buffer, Order, Rle};

const H: usize = 1500;
const W: usize = 2250;

/// A row-major mask of `n` overlapping ellipses with wobbly edges: a stand-in for a
/// segment of a photograph (two runs per column it crosses, ragged boundaries).
fn blob_mask(seed: u64, n: usize) -> Vec<u8> {
    let mut m = vec![0u8; H * W];
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..n {
        let (cy, cx) = (rnd() * H as f64, rnd() * W as f64);
        let (ry, rx) = (20.0 + rnd() * 300.0, 20.0 + rnd() * 400.0);
        let wobble = 0.05 + rnd() * 0.1;
        for y in 0..H {
            let dy = (y as f64 - cy) / ry;
            if dy.abs() >= 1.0 {
                continue;
            }
            let half = rx * (1.0 - dy * dy).sqrt() * (1.0 + wobble * (y as f64 * 0.3).sin());
            let x0 = (cx - half).max(0.0) as usize;
            let x1 = ((cx + half) as usize).min(W);
            if x0 < x1 {
                m[y * W + x0..y * W + x1].fill(1);
            }
        }
    }
    m
}

fn transpose(m: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; H * W];
    for y in 0..H {
        for x in 0..W {
            t[x * H + y] = m[y * W + x];
        }
    }
    t
}

fn masks(n: usize) -> Vec<Vec<u8>> {
    (0..n as u64)
        .map(|i| blob_mask(i, 1 + (i % 3) as usize))
        .collect()
}

fn bench_codec(c: &mut Criterion) {
    let rows = masks(8);
    let cols: Vec<Vec<u8>> = rows.iter().map(|m| transpose(m)).collect();
    let rles: Vec<Rle> = cols
        .iter()
        .map(|m| encode(m, H as u64, W as u64, Order::ColumnMajor).unwrap())
        .collect();
    let strings: Vec<Vec<u8>> = rles.iter().map(Rle::to_counts_string).collect();
    let chars: usize = strings.iter().map(Vec::len).sum();

    let mut g = c.benchmark_group("counts");
    g.throughput(Throughput::Bytes(chars as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(parse_counts(black_box(s)).unwrap());
            }
        });
    });
    g.bench_function("write", |b| {
        b.iter(|| {
            for r in &rles {
                black_box(write_counts(black_box(r.counts())));
            }
        });
    });
    g.finish();

    let mut g = c.benchmark_group("mask");
    g.throughput(Throughput::Bytes((H * W * rows.len()) as u64));
    g.sample_size(20);
    g.bench_function("encode_column_major", |b| {
        b.iter(|| {
            for m in &cols {
                black_box(encode(m, H as u64, W as u64, Order::ColumnMajor).unwrap());
            }
        });
    });
    g.bench_function("encode_row_major", |b| {
        b.iter(|| {
            for m in &rows {
                black_box(encode(m, H as u64, W as u64, Order::RowMajor).unwrap());
            }
        });
    });
    g.bench_function("decode_into_reused", |b| {
        let mut out = vec![0u8; H * W];
        b.iter(|| {
            for r in &rles {
                decode_into(r, &mut out, false).unwrap();
            }
            black_box(&out);
        });
    });
    g.bench_function("decode_fresh_zeroed_with_read", |b| {
        b.iter(|| {
            for r in &rles {
                let mut out = zeroed_buffer(H * W).unwrap();
                decode_into(r, &mut out, true).unwrap();
                black_box(out.iter().map(|&v| u32::from(v)).sum::<u32>());
            }
        });
    });
    g.finish();

    let mut g = c.benchmark_group("iou");
    g.sample_size(20);
    g.bench_function("8x8", |b| {
        b.iter(|| black_box(mask_iou(&rles, &rles, &[]).unwrap()));
    });
    g.finish();

    let poly: Vec<f64> = (0..200)
        .flat_map(|i| {
            let t = f64::from(i) / 200.0 * std::f64::consts::TAU;
            let r = 500.0 + 80.0 * (7.0 * t).sin();
            [1100.0 + r * t.cos(), 750.0 + r * 1.3 * t.sin()]
        })
        .collect();
    c.bench_function("fr_poly_200_points", |b| {
        b.iter(|| black_box(fr_poly(black_box(&poly), H as u64, W as u64).unwrap()));
    });
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
