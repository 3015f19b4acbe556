//! criterion benches of the harness's own per-token work: what runs between two `infer()`
//! calls must stay far below the inference itself, or bakeoff measures itself; and of the
//! paired analysis an A/B run repeats after every round and `bakeoff power` thousands of
//! times. Each bench says the figure it guards. Run with `make bench` (`cargo bench --bench
//! hot_paths`).
//!
//! The tokenizer benches read the baked fixtures' tokenizer.json (`make setup`).

use bakeoff::pipelines::window::{fill_window, Padding};
use bakeoff::pipelines::{top2, Step, StopReason, Transcript};
use bakeoff::results::summary::summarize;
use bakeoff::results::{CellRecord, CellStatus, SampleRecord};
use bakeoff::text::stream::{ReasoningPolicy, SpecialTokens, StreamFilter};
use bakeoff::text::tokenizer::Tokenizer;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;

/// Deterministic pseudo-random logits (no rand dependency in the measured loop).
fn logits(n: usize) -> Vec<f32> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 20_000) as f32 / 1000.0 - 10.0
        })
        .collect()
}

/// Guards: argmax + margin over one logits row is < 1% of a decode step. SmolLM2's row
/// (49,152) should take well under 50 us against ~8 ms per token; Qwen3's (151,936) under
/// 150 us.
fn argmax(c: &mut Criterion) {
    for n in [49_152, 151_936] {
        let row = logits(n);
        c.bench_function(&format!("top2 over {n} logits"), |b| b.iter(|| top2(black_box(&row))));
    }
}

/// Guards: building the static [1,128] window (ids, mask, positions) is negligible next to
/// a static128 step (~50 ms): it should take well under 1 us.
fn window(c: &mut Criterion) {
    let context: Vec<i64> = (0..100).collect();
    let (mut ids, mut mask, mut pos) = (vec![0i64; 128], vec![0i64; 128], vec![0i64; 128]);
    c.bench_function("fill_window 100 tokens into 128", |b| {
        b.iter(|| fill_window(black_box(&context), 2, Padding::Left, &mut ids, &mut mask, &mut pos))
    });
}

fn tokenizer(model: &str) -> Option<Tokenizer> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(model).join("tokenizer.json");
    Tokenizer::from_file(&path).ok()
}

/// Guards: the streaming filter with incremental detokenization costs well under 10 us per
/// token (a kvcache step is ~8 ms on SmolLM2, ~1 ms on the tiny Qwen3), fed one token at a
/// time as `generate --stream` does, on a long stream with reasoning and control tokens.
fn filter(c: &mut Criterion) {
    for model in ["smollm2-135m", "qwen3-tiny"] {
        let Some(tok) = tokenizer(model) else {
            eprintln!("skipping the {model} filter bench: run `make setup` to bake it");
            continue;
        };
        let specials = SpecialTokens::from_tokenizer(&tok);
        let text = "<think>\nLet me think about the café and 中文 😀.\n</think>\n\nThe answer is 42, \
                    written out in a long sentence that keeps going for a while.<|im_end|>"
            .repeat(8);
        let ids = tok.encode(&text).unwrap();
        c.bench_function(&format!("stream filter {model}, {} tokens one at a time", ids.len()), |b| {
            b.iter(|| {
                let mut f = StreamFilter::new(&tok, &specials, ReasoningPolicy::Split, false);
                let mut n = 0;
                for id in &ids {
                    n += f.push(std::slice::from_ref(id)).unwrap().len();
                }
                n + f.finish().unwrap().len()
            })
        });
        c.bench_function(&format!("decode {model}, {} tokens at once", ids.len()), |b| {
            let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
            b.iter(|| tok.decode_raw(black_box(&ids)).unwrap())
        });
    }
}

fn transcript(tokens: usize) -> Transcript {
    let steps: Vec<Step> = (0..tokens)
        .map(|i| Step { id: i as i64, margin: 0.5, step_ms: 8.0 + (i % 7) as f64 * 0.1, infer_ms: 7.9 })
        .collect();
    Transcript {
        prompt_ids: (0..40).collect(),
        output_ids: steps.iter().map(|s| s.id).collect(),
        steps,
        stop_reason: StopReason::MaxNewTokens,
        truncated: false,
    }
}

/// Guards: recording a sample (metrics from the transcript, one JSON line) costs well under
/// 1 ms for 64 tokens, and summarizing a cell of 100 samples (hdrhistogram percentiles)
/// well under 10 ms: neither ever shows in a run's wall time.
fn metrics(c: &mut Criterion) {
    let key: bakeoff::plan::CellKey = serde_json::from_value(serde_json::json!({
        "model": "m", "pipeline": "kvcache", "device": "CPU", "profile": "balanced", "cache": "warm"
    }))
    .unwrap();
    let t = transcript(64);
    c.bench_function("record one 64-token sample as a JSON line", |b| {
        b.iter(|| {
            let s = SampleRecord::from_transcript(&key, "p", 0, false, black_box(&t));
            serde_json::to_vec(&s).unwrap()
        })
    });
    let samples: Vec<SampleRecord> = (0..100).map(|i| SampleRecord::from_transcript(&key, "p", i, false, &t)).collect();
    let refs: Vec<&SampleRecord> = samples.iter().collect();
    let cell = CellRecord::new(&key, CellStatus::Completed);
    c.bench_function("summarize a cell of 100 x 64-token samples", |b| b.iter(|| summarize(&cell, black_box(&refs))));
}

/// One metric's paired change with its bootstrap interval (2000 resamples of rounds): an A/B
/// run computes it for each metric after every round, and `bakeoff power` for every round of
/// every replayed trial. 120 pairs in 12 rounds: 7.8 ms (33 ms when each resample's Walsh
/// averages were built and their median selected; 2-vCPU AMD EPYC with AVX-512).
fn paired(c: &mut Criterion) {
    use bakeoff::stats::paired::paired_ratio_change;
    let n = 120;
    let baseline: Vec<f64> = (0..n).map(|i| 20.0 + ((i * 37) % 11) as f64 * 0.1).collect();
    let candidate: Vec<f64> =
        baseline.iter().enumerate().map(|(i, b)| b * (1.01 + ((i * 13) % 7) as f64 * 0.002)).collect();
    let rounds: Vec<usize> = (0..n).map(|i| i / 10).collect();
    c.bench_function("paired change of 120 pairs in 12 rounds, 2000 resamples", |b| {
        b.iter(|| paired_ratio_change(black_box(&baseline), black_box(&candidate), &rounds))
    });
}

criterion_group!(benches, argmax, window, filter, metrics, paired);
criterion_main!(benches);
