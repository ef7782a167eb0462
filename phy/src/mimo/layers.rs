//! Layer mapping (TS 38.211 §7.3.1.3 PDSCH, §6.3.1.3 PUSCH) and precoding
//! of the layers onto antenna ports (§7.3.1.4/§7.3.1.5 with a
//! non-codebook precoder per PRB group).
//!
//! Layer mapping: with `υ` layers and one codeword, layer `v` carries
//! codeword symbol `υ i + v`. With 5-8 layers (two codewords, Table
//! 7.3.1.3-1) codeword 0 feeds the first `⌊υ/2⌋` layers and codeword 1 the
//! remaining `⌈υ/2⌉`, each interleaved the same way. The functions are
//! generic so receivers can demap symbols, noise variances or LLR blocks.

use super::detect::{check_len, MimoError};
use super::lanes;
use crate::simd::SimdLevel;
use num_complex::Complex32;

/// How many layers each codeword takes for `n_layers` (1..=8).
pub fn codeword_layers(n_layers: usize) -> Option<(usize, usize)> {
    match n_layers {
        1..=4 => Some((n_layers, 0)),
        5..=8 => Some((n_layers / 2, n_layers - n_layers / 2)),
        _ => None,
    }
}

fn split(n_layers: usize, cw0: usize, cw1: usize) -> Result<(usize, usize, usize), MimoError> {
    let (l0, l1) = codeword_layers(n_layers).ok_or(MimoError::Size {
        n_rx: n_layers,
        n_layers,
    })?;
    if !cw0.is_multiple_of(l0) {
        return Err(MimoError::Length {
            name: "cw0",
            got: cw0,
            expected: cw0.next_multiple_of(l0),
        });
    }
    let m = cw0 / l0;
    check_len("cw1", cw1, m * l1)?;
    Ok((l0, l1, m))
}

/// Maps codeword symbols to layers: `out[v * m + i]` with
/// `m = cw0.len() / l0` symbols per layer. `cw1` is empty for 1-4 layers.
pub fn layer_map<T: Copy>(
    cw0: &[T],
    cw1: &[T],
    n_layers: usize,
    out: &mut [T],
) -> Result<(), MimoError> {
    let (l0, l1, m) = split(n_layers, cw0.len(), cw1.len())?;
    check_len("out", out.len(), n_layers * m)?;
    for (cw, base, nl) in [(cw0, 0, l0), (cw1, l0, l1)] {
        for v in 0..nl {
            let dst = &mut out[(base + v) * m..(base + v + 1) * m];
            for (i, d) in dst.iter_mut().enumerate() {
                *d = cw[nl * i + v];
            }
        }
    }
    Ok(())
}

/// The inverse of [`layer_map`]: gathers layer planes back into codewords.
pub fn layer_demap<T: Copy>(
    layers: &[T],
    n_layers: usize,
    cw0: &mut [T],
    cw1: &mut [T],
) -> Result<(), MimoError> {
    let (l0, l1, m) = split(n_layers, cw0.len(), cw1.len())?;
    check_len("layers", layers.len(), n_layers * m)?;
    for (cw, base, nl) in [(cw0, 0, l0), (cw1, l0, l1)] {
        for v in 0..nl {
            let src = &layers[(base + v) * m..(base + v + 1) * m];
            for (i, s) in src.iter().enumerate() {
                cw[nl * i + v] = *s;
            }
        }
    }
    Ok(())
}

/// Precodes layers onto antenna ports with one precoder per PRB group:
/// `out[port * n + re] = Σ_l w[(port * n_layers + l) * n_groups + g] x[l * n + re]`,
/// where RE `re` belongs to group `g = re / re_per_group` (REs in
/// subcarrier order from a group boundary; the last group may be short).
/// `w` is the [`Precoder`](super::precode::Precoder) output layout.
pub fn precode_layers(
    level: SimdLevel,
    x: &[Complex32],
    n_layers: usize,
    w: &[Complex32],
    n_ports: usize,
    re_per_group: usize,
    out: &mut [Complex32],
) -> Result<(), MimoError> {
    if n_layers == 0 || n_ports == 0 || n_layers > 16 || n_ports > 64 {
        return Err(MimoError::Size {
            n_rx: n_ports,
            n_layers,
        });
    }
    if re_per_group == 0 {
        return Err(MimoError::ZeroGroup("re_per_group"));
    }
    if !x.len().is_multiple_of(n_layers) {
        return Err(MimoError::Length {
            name: "x",
            got: x.len(),
            expected: x.len().next_multiple_of(n_layers),
        });
    }
    let n = x.len() / n_layers;
    let ng = n.div_ceil(re_per_group);
    check_len("w", w.len(), n_ports * n_layers * ng)?;
    check_len("out", out.len(), n_ports * n)?;
    let level = level.clamp_to(SimdLevel::detect());
    let (xp, wp, op) = (x.as_ptr(), w.as_ptr(), out.as_mut_ptr());
    for g in 0..ng {
        let r0 = g * re_per_group;
        let r1 = (r0 + re_per_group).min(n);
        let mut mid = r0;
        #[cfg(target_arch = "x86_64")]
        match level {
            SimdLevel::Avx512 => {
                mid = r0 + (r1 - r0) / 16 * 16;
                // SAFETY: supported level; indices inside the checked planes.
                unsafe {
                    crate::mimo::lanes::entry::avx512::apply_precoder(
                        n_ports, n_layers, n, wp, ng, g, xp, op, r0, mid,
                    )
                };
            }
            SimdLevel::Avx2 => {
                mid = r0 + (r1 - r0) / 8 * 8;
                // SAFETY: as above.
                unsafe {
                    crate::mimo::lanes::entry::avx2::apply_precoder(
                        n_ports, n_layers, n, wp, ng, g, xp, op, r0, mid,
                    )
                };
            }
            SimdLevel::Scalar => {}
        }
        // SAFETY: as above.
        unsafe {
            lanes::precode::apply_precoder::<f32>(n_ports, n_layers, n, wp, ng, g, xp, op, mid, r1)
        };
    }
    Ok(())
}

/// Adds precoded layers to antenna planes with one precoder per PRB group
/// (TS 38.211 §7.3.1.5, the PDSCH's precoding per PRG of TS 38.214
/// §5.1.2.3): for every span `(g, res)`,
/// `out[p][re] += Σ_l w[(p * n_layers + l) * n_groups + g] x[l][re]` for
/// `re` in `res`, with `n_layers = x.len()` and `n_ports = out.len()`. All
/// planes have one length; `w` is the [`Precoder`](super::precode::Precoder)
/// output layout. Adding (not writing) lets co-scheduled (MU-MIMO) PDSCHs
/// on the same REs sum on the antennas. A span outside the planes or a
/// group beyond `n_groups` is an error before anything is written.
pub fn precode_add(
    level: SimdLevel,
    x: &[&[Complex32]],
    w: &[Complex32],
    n_groups: usize,
    spans: impl IntoIterator<Item = (usize, std::ops::Range<usize>)> + Clone,
    out: &mut [&mut [Complex32]],
) -> Result<(), MimoError> {
    let (n_layers, n_ports) = (x.len(), out.len());
    if n_layers == 0 || n_ports == 0 || n_layers > 16 || n_ports > 64 {
        return Err(MimoError::Size {
            n_rx: n_ports,
            n_layers,
        });
    }
    let n = out[0].len();
    for p in x {
        check_len("x plane", p.len(), n)?;
    }
    for p in out.iter() {
        check_len("out plane", p.len(), n)?;
    }
    check_len("w", w.len(), n_ports * n_layers * n_groups)?;
    for (g, res) in spans.clone() {
        if g >= n_groups {
            return Err(MimoError::Length {
                name: "span group",
                got: g,
                expected: n_groups.saturating_sub(1),
            });
        }
        if res.start > res.end || res.end > n {
            return Err(MimoError::Length {
                name: "span end",
                got: res.end,
                expected: n,
            });
        }
    }
    let level = level.clamp_to(SimdLevel::detect());
    let mut xp = [std::ptr::null::<Complex32>(); 16];
    for (d, s) in xp.iter_mut().zip(x) {
        *d = s.as_ptr();
    }
    let mut op = [std::ptr::null_mut::<Complex32>(); 64];
    for (d, s) in op.iter_mut().zip(out.iter_mut()) {
        *d = s.as_mut_ptr();
    }
    let (xp, op, wp) = (xp.as_ptr(), op.as_ptr(), w.as_ptr());
    for (g, res) in spans {
        let (r0, r1) = (res.start, res.end);
        let mut mid = r0;
        #[cfg(target_arch = "x86_64")]
        match level {
            SimdLevel::Avx512 => {
                mid = r0 + (r1 - r0) / 8 * 8;
                // SAFETY: supported level; every span checked inside the planes.
                unsafe {
                    crate::mimo::lanes::entry::avx512::apply_precoder_add(
                        n_ports, n_layers, wp, n_groups, g, xp, op, r0, mid,
                    )
                };
            }
            SimdLevel::Avx2 => {
                mid = r0 + (r1 - r0) / 4 * 4;
                // SAFETY: as above.
                unsafe {
                    crate::mimo::lanes::entry::avx2::apply_precoder_add(
                        n_ports, n_layers, wp, n_groups, g, xp, op, r0, mid,
                    )
                };
            }
            SimdLevel::Scalar => {}
        }
        // SAFETY: as above.
        unsafe {
            lanes::precode::apply_precoder_add::<f32>(
                n_ports, n_layers, wp, n_groups, g, xp, op, mid, r1,
            )
        };
    }
    Ok(())
}
