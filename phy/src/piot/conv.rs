//! The D2R convolutional code and its soft Viterbi decoder.
//!
//! TR 38.769 §6.1.2.3.1 studies a convolutional code for D2R; we use the
//! constraint-length-7, rate-1/3 code with generators 133, 171, 165 (octal),
//! the LTE code of TS 36.212 §5.1.3.1, here zero-tailed (six tail zeros) rather
//! than tail-biting so a low-complexity tag needs no look-ahead. Puncturing to
//! rate 1/2 drops the third (165) output, which leaves the classic 133/171 code
//! (free distance 10; the mother code has 15).
//!
//! Soft input: LLRs, positive = bit 0, punctured positions 0. The decoder keeps
//! one 64-bit decision word per trellis step (one bit per state) and traces
//! back from state 0.

use thiserror::Error;

/// Constraint length.
pub const K: usize = 7;
/// Number of trellis states.
pub const STATES: usize = 1 << (K - 1);
/// Tail bits appended by the encoder.
pub const TAIL: usize = K - 1;
/// Generator polynomials (octal 133, 171, 165); bit 6 is the tap on the current input.
pub const GENERATORS: [u32; 3] = [0o133, 0o171, 0o165];

/// The code rate after puncturing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeRate {
    /// The mother code: every output kept.
    R1_3,
    /// The third output is punctured.
    R1_2,
}

impl CodeRate {
    /// Outputs kept per input bit.
    pub const fn outputs(self) -> usize {
        match self {
            CodeRate::R1_3 => 3,
            CodeRate::R1_2 => 2,
        }
    }

    /// Length of the coded (punctured) block for `info` information bits.
    pub const fn coded_len(self, info: usize) -> usize {
        (info + TAIL) * self.outputs()
    }
}

/// Errors of the decoder.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConvError {
    /// More information bits than the decoder was planned for.
    #[error("block of {got} information bits exceeds the planned maximum {max}")]
    TooLong {
        /// Requested.
        got: usize,
        /// Planned.
        max: usize,
    },
    /// The LLR or output buffer does not match the block.
    #[error("buffer length {got}, expected {expected}")]
    Length {
        /// Given.
        got: usize,
        /// Expected.
        expected: usize,
    },
}

#[inline]
fn parity(x: u32) -> u8 {
    (x.count_ones() & 1) as u8
}

/// The three mother-code outputs for shift register `reg` (bit 6 = input, bit 0 = oldest).
#[inline]
fn outputs(reg: u32) -> [u8; 3] {
    [
        parity(reg & GENERATORS[0]),
        parity(reg & GENERATORS[1]),
        parity(reg & GENERATORS[2]),
    ]
}

/// Encodes `info` (plus the zero tail) into `coded` (length `rate.coded_len(info.len())`).
pub fn encode_into(info: &[u8], rate: CodeRate, coded: &mut [u8]) {
    assert_eq!(coded.len(), rate.coded_len(info.len()), "coded length");
    let mut state = 0u32;
    let n = rate.outputs();
    for (i, out) in coded.chunks_exact_mut(n).enumerate() {
        let u = if i < info.len() {
            (info[i] & 1) as u32
        } else {
            0
        };
        let reg = (u << 6) | state;
        out.copy_from_slice(&outputs(reg)[..n]);
        state = reg >> 1;
    }
}

/// Encodes into a new vector.
pub fn encode(info: &[u8], rate: CodeRate) -> Vec<u8> {
    let mut v = vec![0; rate.coded_len(info.len())];
    encode_into(info, rate, &mut v);
    v
}

/// A soft-decision Viterbi decoder, planned for blocks of up to `max_info` bits.
#[derive(Debug, Clone)]
pub struct Viterbi {
    max_info: usize,
    decisions: Vec<u64>,
    /// Branch outputs (as ±1 signs packed in 3 bits) per (state, input): index `reg`.
    branch: [u8; 2 * STATES],
}

impl Viterbi {
    /// Plans a decoder; allocation happens here only.
    pub fn new(max_info: usize) -> Self {
        let mut branch = [0u8; 2 * STATES];
        for (reg, b) in branch.iter_mut().enumerate() {
            let o = outputs(reg as u32);
            *b = o[0] | (o[1] << 1) | (o[2] << 2);
        }
        Viterbi {
            max_info,
            decisions: vec![0; max_info + TAIL],
            branch,
        }
    }

    /// Decodes `llr` (the punctured block, `rate.coded_len(out.len())` values)
    /// into `out`. Returns the winning path metric (sum of ±LLR agreements), so
    /// callers can compare decoders. All-zero LLRs decode to all zeros.
    pub fn decode(
        &mut self,
        llr: &[f32],
        rate: CodeRate,
        out: &mut [u8],
    ) -> Result<f32, ConvError> {
        let info = out.len();
        if info > self.max_info {
            return Err(ConvError::TooLong {
                got: info,
                max: self.max_info,
            });
        }
        let expected = rate.coded_len(info);
        if llr.len() != expected {
            return Err(ConvError::Length {
                got: llr.len(),
                expected,
            });
        }
        let n = rate.outputs();
        let steps = info + TAIL;
        const NEG: f32 = -1.0e30;
        let mut pm = [NEG; STATES];
        pm[0] = 0.0;
        let mut next = [NEG; STATES];
        for t in 0..steps {
            let l = &llr[t * n..t * n + n];
            // Metric of each of the 8 output patterns: Σ ±l (bit 0 → +l).
            let mut pat = [0.0f32; 8];
            for (p, m) in pat.iter_mut().enumerate() {
                let mut s = 0.0;
                for (j, &lj) in l.iter().enumerate() {
                    s += if (p >> j) & 1 == 0 { lj } else { -lj };
                }
                *m = s;
            }
            let mut dec = 0u64;
            let tail = t >= info;
            for (ns, nm) in next.iter_mut().enumerate() {
                let u = ns >> 5;
                if tail && u == 1 {
                    *nm = NEG;
                    continue;
                }
                let s0 = (ns << 1) & (STATES - 1);
                let s1 = s0 | 1;
                let m0 = pm[s0] + pat[self.branch[(u << 6) | s0] as usize];
                let m1 = pm[s1] + pat[self.branch[(u << 6) | s1] as usize];
                if m1 > m0 {
                    *nm = m1;
                    dec |= 1 << ns;
                } else {
                    *nm = m0;
                }
            }
            self.decisions[t] = dec;
            std::mem::swap(&mut pm, &mut next);
        }
        let best = pm[0];
        // Trace back from state 0.
        let mut state = 0usize;
        for t in (0..steps).rev() {
            let u = (state >> 5) as u8;
            if t < info {
                out[t] = u;
            }
            let b = ((self.decisions[t] >> state) & 1) as usize;
            state = ((state << 1) & (STATES - 1)) | b;
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Register-exchange hard-decision Viterbi on Hamming distance: the slow,
    /// obvious reference. Returns the decoded bits.
    fn hard_reference(rx: &[u8], rate: CodeRate, info: usize) -> Vec<u8> {
        let n = rate.outputs();
        let mut paths: Vec<Option<(u32, Vec<u8>)>> = vec![None; STATES];
        paths[0] = Some((0, Vec::new()));
        for t in 0..info + TAIL {
            let mut next: Vec<Option<(u32, Vec<u8>)>> = vec![None; STATES];
            for (s, p) in paths.iter().enumerate() {
                let Some((m, bits)) = p else { continue };
                for u in 0..2u32 {
                    if t >= info && u == 1 {
                        continue;
                    }
                    let reg = (u << 6) | s as u32;
                    let o = outputs(reg);
                    let d: u32 = (0..n).map(|j| (o[j] != rx[t * n + j]) as u32).sum();
                    let ns = (reg >> 1) as usize;
                    let cand = m + d;
                    if next[ns].as_ref().is_none_or(|(bm, _)| cand < *bm) {
                        let mut b = bits.clone();
                        b.push(u as u8);
                        next[ns] = Some((cand, b));
                    }
                }
            }
            paths = next;
        }
        let mut b = paths[0].take().unwrap().1;
        b.truncate(info);
        b
    }

    fn hamming(a: &[u8], b: &[u8]) -> usize {
        a.iter().zip(b).filter(|(x, y)| x != y).count()
    }

    /// Free distance by a shortest-path search over the trellis (leave state 0
    /// with a 1, come back to state 0).
    fn free_distance(rate: CodeRate) -> usize {
        let n = rate.outputs();
        let w = |reg: u32| outputs(reg)[..n].iter().map(|&b| b as usize).sum::<usize>();
        let mut dist = [usize::MAX; STATES];
        let first = 1u32 << 6;
        dist[(first >> 1) as usize] = w(first);
        // Bellman-Ford style relaxation; weights are non-negative and small.
        let mut best = usize::MAX;
        for _ in 0..64 {
            let mut nd = dist;
            for s in 0..STATES {
                if dist[s] == usize::MAX {
                    continue;
                }
                for u in 0..2u32 {
                    let reg = (u << 6) | s as u32;
                    let ns = (reg >> 1) as usize;
                    let d = dist[s] + w(reg);
                    if ns == 0 {
                        best = best.min(d);
                    } else if d < nd[ns] {
                        nd[ns] = d;
                    }
                }
            }
            dist = nd;
        }
        best
    }

    #[test]
    fn free_distances_are_the_known_ones() {
        assert_eq!(free_distance(CodeRate::R1_3), 15);
        assert_eq!(free_distance(CodeRate::R1_2), 10);
    }

    #[test]
    fn corrects_every_pattern_the_free_distance_allows() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut dec = Viterbi::new(200);
        for rate in [CodeRate::R1_3, CodeRate::R1_2] {
            let t = (free_distance(rate) - 1) / 2;
            for trial in 0..300 {
                let info: Vec<u8> = (0..120).map(|_| rng.gen_range(0..2)).collect();
                let mut rx = encode(&info, rate);
                // t errors anywhere; also clustered inside a short window half the time.
                let span = if trial % 2 == 0 {
                    rx.len()
                } else {
                    3 * K * rate.outputs()
                };
                let start = rng.gen_range(0..=rx.len() - span);
                let mut pos: Vec<usize> = Vec::new();
                while pos.len() < t {
                    let p = start + rng.gen_range(0..span);
                    if !pos.contains(&p) {
                        pos.push(p);
                    }
                }
                for &p in &pos {
                    rx[p] ^= 1;
                }
                let llr: Vec<f32> = rx
                    .iter()
                    .map(|&b| if b == 0 { 1.0 } else { -1.0 })
                    .collect();
                let mut out = vec![0; info.len()];
                dec.decode(&llr, rate, &mut out).unwrap();
                assert_eq!(out, info, "{rate:?} with {t} errors at {pos:?}");
                assert_eq!(hard_reference(&rx, rate, info.len()), info);
            }
        }
    }

    #[test]
    fn soft_decoder_on_hard_input_is_ml_like_the_hard_reference() {
        // Beyond the guaranteed radius the two may break ties differently, so
        // compare the Hamming distance of each decision's codeword to the input.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(10);
        let mut dec = Viterbi::new(64);
        for rate in [CodeRate::R1_3, CodeRate::R1_2] {
            for _ in 0..200 {
                let info: Vec<u8> = (0..48).map(|_| rng.gen_range(0..2)).collect();
                let mut rx = encode(&info, rate);
                for b in rx.iter_mut() {
                    if rng.gen_bool(0.12) {
                        *b ^= 1;
                    }
                }
                let llr: Vec<f32> = rx
                    .iter()
                    .map(|&b| if b == 0 { 1.0 } else { -1.0 })
                    .collect();
                let mut out = vec![0; info.len()];
                let metric = dec.decode(&llr, rate, &mut out).unwrap();
                let r = hard_reference(&rx, rate, info.len());
                let d_soft = hamming(&encode(&out, rate), &rx);
                let d_ref = hamming(&encode(&r, rate), &rx);
                assert_eq!(d_soft, d_ref);
                // metric = (#agree − #disagree) = len − 2·d
                assert_eq!(metric as i64, rx.len() as i64 - 2 * d_soft as i64);
            }
        }
    }

    #[test]
    fn soft_information_beats_hard_decisions() {
        // At Es/N0 = -1 dB (rate 1/3) soft decoding must make clearly fewer bit errors.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let mut dec = Viterbi::new(100);
        let sigma = (0.5f64 / 10f64.powf(-1.0 / 10.0)).sqrt();
        let (mut soft_err, mut hard_err) = (0, 0);
        for _ in 0..300 {
            let info: Vec<u8> = (0..100).map(|_| rng.gen_range(0..2)).collect();
            let c = encode(&info, CodeRate::R1_3);
            let y: Vec<f64> = c
                .iter()
                .map(|&b| {
                    let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
                    let g = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    (1.0 - 2.0 * b as f64) + sigma * g
                })
                .collect();
            let soft: Vec<f32> = y
                .iter()
                .map(|&v| (2.0 * v / (sigma * sigma)) as f32)
                .collect();
            let hard: Vec<f32> = y.iter().map(|&v| v.signum() as f32).collect();
            let mut o = vec![0; 100];
            dec.decode(&soft, CodeRate::R1_3, &mut o).unwrap();
            soft_err += hamming(&o, &info);
            dec.decode(&hard, CodeRate::R1_3, &mut o).unwrap();
            hard_err += hamming(&o, &info);
        }
        assert!(
            soft_err * 3 < hard_err,
            "soft {soft_err} vs hard {hard_err}"
        );
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut dec = Viterbi::new(10);
        let mut out = vec![0; 11];
        assert!(matches!(
            dec.decode(&[0.0; 51], CodeRate::R1_3, &mut out),
            Err(ConvError::TooLong { .. })
        ));
        let mut out = vec![0; 4];
        assert_eq!(
            dec.decode(&[0.0; 5], CodeRate::R1_3, &mut out),
            Err(ConvError::Length {
                got: 5,
                expected: 30
            })
        );
        assert_eq!(dec.decode(&[0.0; 30], CodeRate::R1_3, &mut out), Ok(0.0));
        assert_eq!(out, vec![0; 4]);
    }
}
