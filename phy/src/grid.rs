//! The resource grid: ports × OFDM symbols × subcarriers (TS 38.211 §4.4.4).
//!
//! One contiguous buffer, port-major, then symbol, then subcarrier, so a
//! symbol of one port and all symbols of one port are plain slices (zero-copy
//! views). Subcarrier 0 is the lowest subcarrier of CRB 0 of the carrier.

use num_complex::Complex32;

/// ports × symbols × subcarriers of complex values.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGrid {
    ports: usize,
    symbols: usize,
    n_sc: usize,
    data: Vec<Complex32>,
}

impl ResourceGrid {
    /// A zeroed grid.
    pub fn new(ports: usize, symbols: usize, n_sc: usize) -> Self {
        ResourceGrid {
            ports,
            symbols,
            n_sc,
            data: vec![Complex32::new(0.0, 0.0); ports * symbols * n_sc],
        }
    }

    /// Number of ports (or antennas, on the receive side).
    pub fn ports(&self) -> usize {
        self.ports
    }

    /// OFDM symbols.
    pub fn symbols(&self) -> usize {
        self.symbols
    }

    /// Subcarriers per symbol.
    pub fn n_sc(&self) -> usize {
        self.n_sc
    }

    /// Sets every RE to zero.
    pub fn clear(&mut self) {
        self.data.fill(Complex32::new(0.0, 0.0));
    }

    /// Symbol `l` of port `p`.
    #[inline]
    pub fn symbol(&self, p: usize, l: usize) -> &[Complex32] {
        let o = (p * self.symbols + l) * self.n_sc;
        &self.data[o..o + self.n_sc]
    }

    /// Symbol `l` of port `p`, mutable.
    #[inline]
    pub fn symbol_mut(&mut self, p: usize, l: usize) -> &mut [Complex32] {
        let o = (p * self.symbols + l) * self.n_sc;
        &mut self.data[o..o + self.n_sc]
    }

    /// All symbols of port `p`, symbol-major.
    pub fn port(&self, p: usize) -> &[Complex32] {
        let n = self.symbols * self.n_sc;
        &self.data[p * n..(p + 1) * n]
    }

    /// All symbols of port `p`, mutable.
    pub fn port_mut(&mut self, p: usize) -> &mut [Complex32] {
        let n = self.symbols * self.n_sc;
        &mut self.data[p * n..(p + 1) * n]
    }

    /// Mutable views of every port at once (for per-antenna parallel work).
    pub fn ports_mut(&mut self) -> std::slice::ChunksExactMut<'_, Complex32> {
        let n = (self.symbols * self.n_sc).max(1);
        self.data.chunks_exact_mut(n)
    }

    /// RE (p, l, k).
    #[inline]
    pub fn get(&self, p: usize, l: usize, k: usize) -> Complex32 {
        self.data[(p * self.symbols + l) * self.n_sc + k]
    }

    /// Sets RE (p, l, k).
    #[inline]
    pub fn set(&mut self, p: usize, l: usize, k: usize, v: Complex32) {
        self.data[(p * self.symbols + l) * self.n_sc + k] = v;
    }

    /// The whole buffer, port-major.
    pub fn as_slice(&self) -> &[Complex32] {
        &self.data
    }

    /// The whole buffer, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [Complex32] {
        &mut self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_alias_the_same_storage() {
        let mut g = ResourceGrid::new(2, 14, 24);
        g.symbol_mut(1, 3)[5] = Complex32::new(1.0, 2.0);
        assert_eq!(g.get(1, 3, 5), Complex32::new(1.0, 2.0));
        assert_eq!(g.port(1)[3 * 24 + 5], Complex32::new(1.0, 2.0));
        assert_eq!(g.as_slice()[(14 + 3) * 24 + 5], Complex32::new(1.0, 2.0));
        assert_eq!(g.ports_mut().count(), 2);
        g.clear();
        assert!(g.as_slice().iter().all(|z| z.norm_sqr() == 0.0));
    }
}
