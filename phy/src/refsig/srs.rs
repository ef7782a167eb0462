//! Sounding reference signal, TS 38.211 §6.4.1.4, and the low-PAPR base
//! sequences of §5.2.2 it is built from.
//!
//! - Sequence (§6.4.1.4.2): r^(p_i)(n, l') = r_{u,v}^{(α_i, δ)}(n) = e^{jα_i n}·r̄_{u,v}(n),
//!   n = 0..M−1, M = m_SRS·12/K_TC, δ = log2 K_TC, α_i = 2π·n_cs^i/n_cs^max,
//!   n_cs^i = (n_cs + n_cs^max·i/N_ap) mod n_cs^max, n_cs^max = 8, 12, 6 for
//!   K_TC = 2, 4, 8.
//! - Base sequence r̄ (§5.2.2.2): for M ≥ 36 the cyclically extended Zadoff–Chu
//!   x_q(m) = e^{−jπqm(m+1)/N_ZC}, N_ZC the largest prime below M,
//!   q = ⌊q̄+½⌋ + v(−1)^⌊2q̄⌋, q̄ = N_ZC(u+1)/31; for M = 30
//!   e^{−jπ(u+1)(n+1)(n+2)/31}; for M = 6, 12, 18, 24 e^{jφ(n)π/4} with φ of
//!   Tables 5.2.2.2-1..4.
//! - Group and sequence hopping (§6.4.1.4.2): u = (f_gh + n_ID) mod 30, with
//!   f_gh = Σ_{m<8} c(8(n_s·N_symb + l0 + l') + m)·2^m mod 30 for group
//!   hopping, and v = c(n_s·N_symb + l0 + l') for sequence hopping when
//!   M ≥ 72; c is the Gold sequence with c_init = n_ID.
//! - Mapping (§6.4.1.4.3): a(K_TC·k' + k0^(p_i), l' + l0) = β·r(k', l')/√N_ap,
//!   k0 = 12·(first PRB) + k_TC^(p_i), with k_TC^(p_i) = (k̄_TC + K_TC/2) mod K_TC
//!   for ports 1001 and 1003 of a 4-port SRS whose n_cs ≥ n_cs^max/2, else k̄_TC.
//!
//! Not modelled: the C_SRS/B_SRS bandwidth tree and frequency hopping (the
//! sounded PRBs are given directly as `prb_start`, `m_srs`), and k_offset
//! (Rel-17 partial-band); the transmit comb is the same on every symbol.

use super::gold::GoldSequence;
use super::low_papr_tables::{PHI_12, PHI_18, PHI_24, PHI_6};
use crate::grid::ResourceGrid;
use num_complex::Complex32;

/// Group or sequence hopping (`groupOrSequenceHopping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrsHopping {
    /// Neither: u = n_ID mod 30, v = 0.
    Neither,
    /// Group hopping.
    Group,
    /// Sequence hopping.
    Sequence,
}

/// One SRS resource.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrsConfig {
    /// Antenna ports N_ap: 1, 2 or 4.
    pub n_ports: u8,
    /// Transmission comb K_TC: 2, 4 or 8.
    pub comb: u8,
    /// Comb offset k̄_TC, 0..K_TC−1.
    pub comb_offset: u8,
    /// Cyclic shift n_cs^SRS, 0..n_cs^max−1.
    pub cyclic_shift: u8,
    /// First symbol l0 in the slot.
    pub start_symbol: u8,
    /// Symbols N_symb^SRS: 1, 2, 4 (8, 10, 12, 14 in Rel-17).
    pub n_symbols: u8,
    /// First sounded PRB (from CRB 0).
    pub prb_start: u16,
    /// Sounded PRBs m_SRS (a multiple of 4).
    pub m_srs: u16,
    /// n_ID^SRS, 0..=1023.
    pub sequence_id: u16,
    /// Hopping mode.
    pub hopping: SrsHopping,
    /// Amplitude β_SRS.
    pub beta: f32,
}

/// Why an SRS configuration is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrsError {
    /// A field out of range.
    #[error("srs.{field}: {value} (allowed: {allowed})")]
    Field {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
        /// Allowed values.
        allowed: &'static str,
    },
}

impl SrsConfig {
    /// n_cs^max for the comb.
    pub fn n_cs_max(&self) -> u8 {
        match self.comb {
            2 => 8,
            4 => 12,
            _ => 6,
        }
    }

    /// Sequence length M = m_SRS·12/K_TC.
    pub fn seq_len(&self) -> usize {
        self.m_srs as usize * 12 / self.comb.max(1) as usize
    }

    /// Checks the fields against a carrier of `carrier_prbs` PRBs and `symbols` symbols per slot.
    pub fn validate(&self, carrier_prbs: u16, symbols: u8) -> Result<(), SrsError> {
        let f = |field, value: u32, ok: bool, allowed| {
            if ok {
                Ok(())
            } else {
                Err(SrsError::Field {
                    field,
                    value,
                    allowed,
                })
            }
        };
        f(
            "n_ports",
            self.n_ports as u32,
            matches!(self.n_ports, 1 | 2 | 4),
            "1, 2, 4",
        )?;
        f(
            "comb",
            self.comb as u32,
            matches!(self.comb, 2 | 4 | 8),
            "2, 4, 8",
        )?;
        f(
            "comb_offset",
            self.comb_offset as u32,
            self.comb_offset < self.comb,
            "0..comb",
        )?;
        f(
            "cyclic_shift",
            self.cyclic_shift as u32,
            self.cyclic_shift < self.n_cs_max(),
            "0..n_cs_max (8, 12, 6)",
        )?;
        f(
            "n_symbols",
            self.n_symbols as u32,
            self.n_symbols >= 1,
            "1, 2, 4, ...",
        )?;
        f(
            "start_symbol",
            self.start_symbol as u32,
            self.start_symbol as u32 + self.n_symbols as u32 <= symbols as u32,
            "start_symbol + n_symbols within the slot",
        )?;
        f(
            "m_srs",
            self.m_srs as u32,
            self.m_srs >= 4 && self.m_srs.is_multiple_of(4),
            "multiples of 4",
        )?;
        f(
            "prb_start",
            self.prb_start as u32,
            self.prb_start as u32 + self.m_srs as u32 <= carrier_prbs as u32,
            "prb_start + m_srs within the carrier",
        )?;
        f(
            "sequence_id",
            self.sequence_id as u32,
            self.sequence_id <= 1023,
            "0..=1023",
        )?;
        Ok(())
    }

    /// n_cs^i of port index i (0-based, port 1000+i).
    pub fn port_cyclic_shift(&self, i: u8) -> u8 {
        let max = self.n_cs_max() as u32;
        ((self.cyclic_shift as u32 + max * i as u32 / self.n_ports as u32) % max) as u8
    }

    /// k_TC^(p_i) of port index i.
    pub fn port_comb_offset(&self, i: u8) -> u8 {
        let max = self.n_cs_max();
        if self.n_ports == 4 && (i == 1 || i == 3) && self.cyclic_shift >= max / 2 {
            (self.comb_offset + self.comb / 2) % self.comb
        } else {
            self.comb_offset
        }
    }

    /// (u, v) for symbol l' of slot `slot` (`symbols_per_slot` = N_symb^slot).
    pub fn group_and_sequence(&self, slot: u32, lp: usize, symbols_per_slot: usize) -> (u8, u8) {
        let idx = slot as usize * symbols_per_slot + self.start_symbol as usize + lp;
        match self.hopping {
            SrsHopping::Neither => ((self.sequence_id % 30) as u8, 0),
            SrsHopping::Group => {
                let mut g = GoldSequence::new(self.sequence_id as u32);
                g.skip(8 * idx);
                let w = g.next_word() & 0xff;
                (((w + self.sequence_id as u32) % 30) as u8, 0)
            }
            SrsHopping::Sequence => {
                let v = if self.seq_len() >= 72 {
                    let mut g = GoldSequence::new(self.sequence_id as u32);
                    g.skip(idx);
                    (g.next_word() & 1) as u8
                } else {
                    0
                };
                ((self.sequence_id % 30) as u8, v)
            }
        }
    }
}

fn largest_prime_below(m: usize) -> usize {
    let is_prime = |n: usize| {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    };
    (2..m).rev().find(|&n| is_prime(n)).unwrap_or(2)
}

/// The base sequence r̄_{u,v}(n), n = 0..out.len(), of §5.2.2.2 (lengths
/// 6, 12, 18, 24, 30 or ≥ 36). Other short lengths are not defined; they get
/// the Zadoff–Chu form, which the callers here never request.
pub fn low_papr_base(u: u8, v: u8, out: &mut [Complex32]) {
    let m = out.len();
    let u = (u % 30) as usize;
    let mut table = |phi: &[i8]| {
        for (o, &p) in out.iter_mut().zip(phi) {
            let a = p as f64 * std::f64::consts::FRAC_PI_4;
            *o = Complex32::new(a.cos() as f32, a.sin() as f32);
        }
    };
    match m {
        6 => table(&PHI_6[u]),
        12 => table(&PHI_12[u]),
        18 => table(&PHI_18[u]),
        24 => table(&PHI_24[u]),
        30 => {
            for (n, o) in out.iter_mut().enumerate() {
                let e = ((u + 1) * (n + 1) * (n + 2)) % 62;
                let a = -std::f64::consts::PI * e as f64 / 31.0;
                *o = Complex32::new(a.cos() as f32, a.sin() as f32);
            }
        }
        _ => {
            let nzc = largest_prime_below(m);
            let qbar = nzc as f64 * (u + 1) as f64 / 31.0;
            let sign = if ((2.0 * qbar).floor() as i64) % 2 == 0 {
                1
            } else {
                -1
            };
            let q = ((qbar + 0.5).floor() as i64 + v as i64 * sign).rem_euclid(nzc as i64) as u64;
            for (n, o) in out.iter_mut().enumerate() {
                let mm = (n % nzc) as u64;
                // Exact phase: q·m(m+1) mod 2N_ZC in integers.
                let e = (q * (mm * (mm + 1) % (2 * nzc as u64))) % (2 * nzc as u64);
                let a = -std::f64::consts::PI * e as f64 / nzc as f64;
                *o = Complex32::new(a.cos() as f32, a.sin() as f32);
            }
        }
    }
}

/// r^(p_i)(n, l') of port index `port` for symbol l' of slot `slot` into `out` (M values).
pub fn srs_sequence(
    cfg: &SrsConfig,
    port: u8,
    slot: u32,
    lp: usize,
    symbols_per_slot: usize,
    out: &mut [Complex32],
) {
    let (u, v) = cfg.group_and_sequence(slot, lp, symbols_per_slot);
    low_papr_base(u, v, out);
    let alpha = std::f64::consts::TAU * cfg.port_cyclic_shift(port) as f64 / cfg.n_cs_max() as f64;
    let n_max = cfg.n_cs_max() as usize;
    for (n, o) in out.iter_mut().enumerate() {
        let a = alpha * (n % n_max) as f64;
        *o *= Complex32::new(a.cos() as f32, a.sin() as f32);
    }
}

/// Maps the SRS of every port into `grid` (ports = SRS ports, whole-carrier
/// symbols) for slot `slot`. `seq` is scratch of `cfg.seq_len()` values.
pub fn map_srs(cfg: &SrsConfig, slot: u32, grid: &mut ResourceGrid, seq: &mut [Complex32]) {
    let m = cfg.seq_len();
    let seq = &mut seq[..m];
    let spl = grid.symbols();
    let amp = cfg.beta / (cfg.n_ports as f32).sqrt();
    for port in 0..cfg.n_ports {
        let k0 = 12 * cfg.prb_start as usize + cfg.port_comb_offset(port) as usize;
        for lp in 0..cfg.n_symbols as usize {
            srs_sequence(cfg, port, slot, lp, spl, seq);
            let sym = grid.symbol_mut(port as usize, cfg.start_symbol as usize + lp);
            for (n, v) in seq.iter().enumerate() {
                sym[k0 + cfg.comb as usize * n] = v * amp;
            }
        }
    }
}

/// Least-squares SRS channel estimate per receive antenna and SRS port,
/// averaged over the SRS symbols and over blocks of n_cs^max consecutive comb
/// REs, within which the cyclic shifts of the ports sharing a comb are
/// orthogonal (Σ e^{j(α_i−α_j)n} = 0). `out[(rx·N_ap + port)·n_blocks + b]`
/// with n_blocks = ⌈M / n_cs^max⌉ (block b covers comb REs b·n_cs^max..);
/// a trailing partial block is estimated from the REs it has. `seq` is
/// scratch of `cfg.seq_len()` values. Returns n_blocks.
pub fn estimate_srs(
    cfg: &SrsConfig,
    slot: u32,
    rx: &ResourceGrid,
    seq: &mut [Complex32],
    out: &mut [Complex32],
) -> usize {
    let m = cfg.seq_len();
    let nb = cfg.n_cs_max() as usize;
    let n_blocks = m.div_ceil(nb);
    let seq = &mut seq[..m];
    let amp = cfg.beta / (cfg.n_ports as f32).sqrt();
    let n_ap = cfg.n_ports as usize;
    out[..rx.ports() * n_ap * n_blocks].fill(Complex32::default());
    for port in 0..cfg.n_ports {
        let k0 = 12 * cfg.prb_start as usize + cfg.port_comb_offset(port) as usize;
        for lp in 0..cfg.n_symbols as usize {
            srs_sequence(cfg, port, slot, lp, rx.symbols(), seq);
            for a in 0..rx.ports() {
                let y = rx.symbol(a, cfg.start_symbol as usize + lp);
                let o = (a * n_ap + port as usize) * n_blocks;
                for (b, chunk) in seq.chunks(nb).enumerate() {
                    let mut acc = Complex32::default();
                    for (j, r) in chunk.iter().enumerate() {
                        acc += y[k0 + cfg.comb as usize * (b * nb + j)] * r.conj();
                    }
                    out[o + b] += acc / (amp * chunk.len() as f32 * cfg.n_symbols as f32);
                }
            }
        }
    }
    n_blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SrsConfig {
        SrsConfig {
            n_ports: 4,
            comb: 4,
            comb_offset: 1,
            cyclic_shift: 7,
            start_symbol: 10,
            n_symbols: 2,
            prb_start: 8,
            m_srs: 16,
            sequence_id: 345,
            hopping: SrsHopping::Neither,
            beta: 1.0,
        }
    }

    #[test]
    fn base_sequences_have_unit_modulus_and_zc_follows_the_formula() {
        for m in [6usize, 12, 18, 24, 30, 36, 48, 96, 1632] {
            for u in [0u8, 13, 29] {
                let mut r = vec![Complex32::default(); m];
                low_papr_base(u, 0, &mut r);
                assert!(r.iter().all(|z| (z.norm() - 1.0).abs() < 1e-5), "M {m}");
            }
        }
        // M = 48: N_ZC = 47, u = 3: q̄ = 47·4/31 = 6.06, q = 6.
        let mut r = vec![Complex32::default(); 48];
        low_papr_base(3, 0, &mut r);
        for (n, z) in r.iter().enumerate() {
            let m = (n % 47) as f64;
            let a = -std::f64::consts::PI * 6.0 * m * (m + 1.0) / 47.0;
            assert!(
                (z - Complex32::new(a.cos() as f32, a.sin() as f32)).norm() < 1e-4,
                "n {n}"
            );
        }
        // v = 1: q̄ = 6.06, ⌊2q̄⌋ = 12 even, so q = 7.
        low_papr_base(3, 1, &mut r);
        let a = -std::f64::consts::PI * 7.0 * 2.0 / 47.0;
        assert!((r[1] - Complex32::new(a.cos() as f32, a.sin() as f32)).norm() < 1e-5);
        // Table 5.2.2.2-2, u = 0 starts −3, 1: e^{−j3π/4}, e^{jπ/4}.
        let mut r = vec![Complex32::default(); 12];
        low_papr_base(0, 0, &mut r);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (r[0] - Complex32::new(-s, -s)).norm() < 1e-6
                && (r[1] - Complex32::new(s, s)).norm() < 1e-6
        );
    }

    #[test]
    fn ports_follow_the_cyclic_shift_and_comb_rules() {
        let c = cfg();
        c.validate(52, 14).unwrap();
        assert_eq!(c.n_cs_max(), 12);
        assert_eq!(
            (0..4).map(|i| c.port_cyclic_shift(i)).collect::<Vec<_>>(),
            [7, 10, 1, 4]
        );
        // n_cs = 7 ≥ 6: ports 1001 and 1003 move by K_TC/2.
        assert_eq!(
            (0..4).map(|i| c.port_comb_offset(i)).collect::<Vec<_>>(),
            [1, 3, 1, 3]
        );
        assert!(SrsConfig {
            cyclic_shift: 12,
            ..c
        }
        .validate(52, 14)
        .is_err());
        assert!(SrsConfig { m_srs: 6, ..c }.validate(52, 14).is_err());
        assert!(SrsConfig { prb_start: 40, ..c }.validate(52, 14).is_err());
        // Group hopping draws u from c(8·(n_s·14 + l0 + l') ..).
        let g = SrsConfig {
            hopping: SrsHopping::Group,
            ..c
        };
        let bits = crate::refsig::gold::gold_bits(345, 8 * (3 * 14 + 11) + 8);
        let f: u32 = (0..8)
            .map(|m| (bits[8 * (3 * 14 + 11) + m] as u32) << m)
            .sum();
        assert_eq!(g.group_and_sequence(3, 1, 14), (((f + 345) % 30) as u8, 0));
    }

    #[test]
    fn four_ports_are_mapped_and_separated() {
        let c = cfg();
        let mut tx = ResourceGrid::new(4, 14, 12 * 52);
        let mut seq = vec![Complex32::default(); c.seq_len()];
        map_srs(&c, 5, &mut tx, &mut seq);
        // Power: each symbol carries M REs of power β²/N_ap per port.
        let p: f32 = tx.symbol(2, 11).iter().map(|z| z.norm_sqr()).sum();
        assert!((p - c.seq_len() as f32 / 4.0).abs() < 1e-3);
        assert!(tx.symbol(0, 9).iter().all(|z| z.norm() == 0.0));
        // Receive on 2 antennas through a flat channel g[a][p]: every port is recovered.
        let g = |a: usize, p: usize| {
            Complex32::from_polar(0.5 + 0.1 * (a + p) as f32, (a * 4 + p) as f32 * 0.7)
        };
        let mut rx = ResourceGrid::new(2, 14, 12 * 52);
        for a in 0..2 {
            for l in 0..14 {
                for k in 0..12 * 52 {
                    let v: Complex32 = (0..4).map(|p| g(a, p) * tx.get(p, l, k)).sum();
                    rx.set(a, l, k, v);
                }
            }
        }
        let mut est = vec![Complex32::default(); 2 * 4 * 16];
        let nb = estimate_srs(&c, 5, &rx, &mut seq, &mut est);
        assert_eq!(nb, 4);
        for a in 0..2 {
            for p in 0..4 {
                for b in 0..nb {
                    let e = est[(a * 4 + p) * nb + b];
                    assert!(
                        (e - g(a, p)).norm() < 1e-4,
                        "a {a} p {p} b {b}: {e} vs {}",
                        g(a, p)
                    );
                }
            }
        }
    }
}
