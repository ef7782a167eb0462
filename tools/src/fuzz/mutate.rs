//! Input generation: biased random numbers (mostly in range, sometimes at
//! and beyond the edges) and text mutations of a valid seed document.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator of one input (seeded from the run seed and input index).
pub type Gen = Xoshiro256PlusPlus;

/// An integer in `lo..=hi` most of the time, else an edge (0, lo - 1,
/// hi + 1, a power of two, u32/u64 extremes), saturated into `u64`.
pub fn int(g: &mut Gen, lo: u64, hi: u64) -> u64 {
    match g.gen_range(0..16) {
        0 => 0,
        1 => hi.saturating_add(1),
        2 => lo.saturating_sub(1),
        3 => 1u64 << g.gen_range(0..64),
        4 => [u32::MAX as u64, u64::MAX, u16::MAX as u64 + 7][g.gen_range(0..3)],
        _ => g.gen_range(lo..=hi.max(lo)),
    }
}

/// A float: mostly normal, sometimes 0, negative, huge, NaN or infinite.
pub fn float(g: &mut Gen, scale: f32) -> f32 {
    match g.gen_range(0..24) {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => 0.0,
        4 => f32::MAX,
        5 => -scale,
        6 => f32::MIN_POSITIVE,
        _ => (g.gen::<f32>() * 2.0 - 1.0) * scale,
    }
}

/// Tokens that break parsers and range checks.
const TOKENS: &[&str] = &[
    "-1",
    "0",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "18446744073709551616",
    "4294967300",
    "65542",
    "\"\"",
    "[]",
    "{}",
    "null",
    "true",
    "\"x\"",
    "1000000000",
    "[[",
    "\u{0}",
    "é",
    "=",
    "\n[[",
];

/// Applies 1-4 random edits to `base`: a byte flipped, a range deleted or
/// duplicated, a token inserted, or a number replaced by a token.
pub fn text(g: &mut Gen, base: &str) -> String {
    let mut b: Vec<u8> = base.as_bytes().to_vec();
    for _ in 0..g.gen_range(1..=4) {
        if b.is_empty() {
            b.extend_from_slice(TOKENS[g.gen_range(0..TOKENS.len())].as_bytes());
            continue;
        }
        let i = g.gen_range(0..b.len());
        match g.gen_range(0..6) {
            0 => b[i] ^= 1 << g.gen_range(0..8),
            1 => {
                let j = (i + g.gen_range(1..64)).min(b.len());
                b.drain(i..j);
            }
            2 => {
                let j = (i + g.gen_range(1..64)).min(b.len());
                let dup = b[i..j].to_vec();
                b.splice(i..i, dup);
            }
            3 => {
                let t = TOKENS[g.gen_range(0..TOKENS.len())];
                b.splice(i..i, t.bytes());
            }
            _ => {
                // The number at or after i replaced by a token.
                if let Some(s) = (i..b.len()).find(|&k| b[k].is_ascii_digit()) {
                    let e = (s..b.len())
                        .find(|&k| !(b[k].is_ascii_digit() || b[k] == b'.'))
                        .unwrap_or(b.len());
                    let t = TOKENS[g.gen_range(0..TOKENS.len())];
                    b.splice(s..e, t.bytes());
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}
