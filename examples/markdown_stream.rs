//! How the browser's markdown keeps up with a long streaming reply (issue 18): streams a
//! 200 KB agent reply in 20-byte deltas through the old path (parse the whole text and
//! fingerprint every block on each delta) and the new one (`StreamParse`: re-parse only
//! from the start of the last open block) and prints the total and the worst delta of each.
//! Native code, the same Rust the WASM runs; the browser is slower by a constant factor.
//!
//! `cargo run --release --features ssr --example markdown_stream [bytes] [delta]`

use std::time::{Duration, Instant};
use switchboard::client::markdown::{fingerprint, parse};
use switchboard::client::markdown_stream::StreamParse;

/// One section of a coding agent's reply: a heading, prose with inline code and a link, a
/// list, a table, a fenced code block and a quote (about 1.6 KB).
fn section(n: usize) -> String {
    let mut text = format!(
        "## Step {n}: the parser\n\nI read `src/parser_{n}.rs` and found **two** problems; see \
         [the notes](https://example.com/notes/{n}) and *the tests* below.\n\n\
         - the tokenizer ~~panics~~ returns an error on `\\0`\n- the lexer is slow on long \
         lines\n  1. it copies each token\n  2. it rescans the line\n\n\
         | File | Lines | Status |\n|:-----|------:|:------:|\n| `src/parser_{n}.rs` | {n} | ok |\n\
         | tests/parser_{n}.rs | 7 | **new** |\n\n```rust\n"
    );
    for line in 0..20 {
        text.push_str(&format!(
            "    let token_{line} = lexer.next_token(&input[{line}..])?; // step {n}\n"
        ));
    }
    text.push_str("```\n\n> The change keeps the public API.\n\n");
    text
}

fn reply(bytes: usize) -> String {
    let mut text = String::new();
    let mut n = 0;
    while text.len() < bytes {
        text.push_str(&section(n));
        n += 1;
    }
    text
}

/// The ends of the deltas: every `delta` bytes, moved to the next char boundary.
fn cuts(text: &str, delta: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut end = 0;
    while end < text.len() {
        end = (end + delta).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(end);
    }
    out
}

/// Runs `step` on every prefix; returns the total and the worst single step.
fn run(text: &str, cuts: &[usize], mut step: impl FnMut(&str) -> usize) -> (Duration, Duration) {
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    let mut blocks = 0;
    for &end in cuts {
        let t = Instant::now();
        blocks = step(&text[..end]);
        worst = worst.max(t.elapsed());
    }
    let total = started.elapsed();
    std::hint::black_box(blocks);
    (total, worst)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bytes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let delta: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let text = reply(bytes);
    let cuts = cuts(&text, delta);
    println!(
        "a {} byte reply ({} blocks) in {} deltas of {delta} bytes",
        text.len(),
        parse(&text).len(),
        cuts.len()
    );

    let (old_total, old_worst) = run(&text, &cuts, |prefix| {
        let blocks: Vec<_> = parse(prefix)
            .into_iter()
            .map(|block| (fingerprint(&block), block))
            .collect();
        blocks.len()
    });
    let mut stream = StreamParse::new();
    let (new_total, new_worst) = run(&text, &cuts, |prefix| stream.update(prefix).len());
    let same = stream
        .update(&text)
        .into_iter()
        .map(|(_, block)| (*block).clone())
        .collect::<Vec<_>>()
        == parse(&text);

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("path                 total ms   worst delta ms   mean delta µs");
    for (name, total, worst) in [
        ("full re-parse (old)", old_total, old_worst),
        ("open block (new)", new_total, new_worst),
    ] {
        println!(
            "{name:<20} {:>9.1} {:>16.3} {:>15.1}",
            ms(total),
            ms(worst),
            ms(total) * 1000.0 / cuts.len() as f64
        );
    }
    println!(
        "speed-up {:.0}x; the incremental result equals a full parse: {same}",
        old_total.as_secs_f64() / new_total.as_secs_f64()
    );
}
