//! Tag positioning from the RSSI each reader site measures on a tag's D2R
//! transmission: trilateration (least squares on a path-loss model),
//! fingerprinting (k nearest neighbours over a site survey), and their fusion.
//!
//! Model for trilateration: RSSI_j = c + m(x, y) − PL(d_j(x, y)), where PL is
//! the deterministic path-loss model (e.g. TR 38.901 InH-LOS) of the 3D
//! distance from site j, m(x, y) an optional known term common to all sites
//! (for backscatter: the tag's incident power predicted by the same model),
//! and c a constant (the tag's reflection loss and calibration), either
//! known or estimated. With c estimated, the best c for a given (x, y) is the
//! mean of RSSI_j − m + PL_j; note that with c unknown the position is only
//! defined up to the intersections of RSSI-ratio loci, which can be two
//! points for symmetric layouts. The search runs over (x, y): a coarse grid
//! over the hall, the best few grid points refined by pattern search down to
//! 10 µm. At least three sites are needed.
//!
//! Fingerprinting: a survey records the RSSI vector at known points; a tag is
//! placed at the inverse-distance-weighted mean of the k survey points
//! nearest in RSSI space (dB, over the sites both have).
//!
//! Fusion: a weighted mean of the two estimates, weights inversely
//! proportional to each method's mean squared error measured by
//! leave-one-out over the survey itself; when the two disagree by more than
//! the fingerprint's RMS error, trilateration is taken to have hit a
//! shadowed or NLOS link and the fingerprint alone is used (a gate against
//! its heavy error tail).

/// A 2D point, m.
pub type Point = (f64, f64);

fn dist(a: Point, b: Point) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Trilateration against a path-loss model.
pub struct Trilateration<'a> {
    sites: &'a [Point],
    /// Height difference reader − tag, m.
    dh: f64,
    /// Path loss (dB) as a function of the 3D distance (m).
    pl: &'a dyn Fn(f64) -> f64,
    /// The search area [0, w] × [0, h].
    area: Point,
    /// Known common term m(x, y), dB.
    common: Option<&'a dyn Fn(Point) -> f64>,
    /// Known constant c, dB (None: estimated).
    offset: Option<f64>,
}

impl std::fmt::Debug for Trilateration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trilateration")
            .field("sites", &self.sites)
            .finish()
    }
}

impl<'a> Trilateration<'a> {
    /// A solver for `sites` over the area `[0, w] × [0, h]`.
    pub fn new(sites: &'a [Point], dh: f64, pl: &'a dyn Fn(f64) -> f64, area: Point) -> Self {
        Trilateration {
            sites,
            dh,
            pl,
            area,
            common: None,
            offset: None,
        }
    }

    /// Uses a known common term m(x, y) and, if `Some`, a known constant c.
    pub fn with_model(mut self, common: &'a dyn Fn(Point) -> f64, offset: Option<f64>) -> Self {
        self.common = Some(common);
        self.offset = offset;
        self
    }

    /// Sum of squared residuals at `p` (c known, or eliminated).
    fn cost(&self, p: Point, rssi: &[Option<f64>]) -> f64 {
        let mut v = [0.0f64; 64];
        let mut n = 0;
        let mut mean = 0.0;
        let m = self.common.map_or(0.0, |f| f(p));
        for (s, r) in self.sites.iter().zip(rssi) {
            if let Some(r) = r {
                let d3 = dist(*s, p).hypot(self.dh);
                let x = r - m + (self.pl)(d3);
                if n < v.len() {
                    v[n] = x;
                    n += 1;
                    mean += x;
                }
            }
        }
        mean /= n.max(1) as f64;
        if let Some(c) = self.offset {
            mean = c;
        }
        v[..n].iter().map(|x| (x - mean).powi(2)).sum()
    }

    /// The least-squares position from per-site RSSI (dBm, `None` where a site
    /// did not hear the tag), or `None` with fewer than three sites.
    pub fn locate(&self, rssi: &[Option<f64>]) -> Option<Point> {
        if rssi.iter().filter(|r| r.is_some()).count() < 3 {
            return None;
        }
        let (w, h) = self.area;
        let step = (w.max(h) / 40.0).max(0.25);
        let (nx, ny) = ((w / step).ceil() as usize, (h / step).ceil() as usize);
        // Keep the best few grid points: the cost surface can have a second,
        // shallower valley, and a local search from one start may end there.
        let mut starts: Vec<(f64, Point)> = Vec::with_capacity((nx + 1) * (ny + 1));
        for i in 0..=nx {
            for j in 0..=ny {
                let p = ((i as f64 * step).min(w), (j as f64 * step).min(h));
                starts.push((self.cost(p, rssi), p));
            }
        }
        let keep = 6.min(starts.len());
        starts.select_nth_unstable_by(keep - 1, |a, b| a.0.total_cmp(&b.0));
        let mut best = (f64::MAX, (w / 2.0, h / 2.0));
        for &(c0, p0) in &starts[..keep] {
            // Pattern search (compass and diagonal moves, halving the step).
            let (mut c, mut p) = (c0, p0);
            let mut s = step;
            while s > 1e-5 {
                let mut moved = false;
                for (dx, dy) in [
                    (s, 0.0),
                    (-s, 0.0),
                    (0.0, s),
                    (0.0, -s),
                    (s, s),
                    (-s, -s),
                    (s, -s),
                    (-s, s),
                ] {
                    let q = ((p.0 + dx).clamp(0.0, w), (p.1 + dy).clamp(0.0, h));
                    let cq = self.cost(q, rssi);
                    if cq < c {
                        (c, p) = (cq, q);
                        moved = true;
                    }
                }
                if !moved {
                    s *= 0.5;
                }
            }
            if c < best.0 {
                best = (c, p);
            }
        }
        let p = best.1;
        Some(p)
    }
}

/// A site survey for fingerprinting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fingerprint {
    /// Survey points.
    pub points: Vec<Point>,
    /// RSSI per point and site, dBm (`None`: not heard).
    pub rssi: Vec<Vec<Option<f64>>>,
}

impl Fingerprint {
    /// RSSI-space distance, over the sites both vectors have (∞ if none).
    fn rdist(a: &[Option<f64>], b: &[Option<f64>]) -> f64 {
        let (mut s, mut n) = (0.0, 0);
        for (x, y) in a.iter().zip(b) {
            if let (Some(x), Some(y)) = (x, y) {
                s += (x - y).powi(2);
                n += 1;
            }
        }
        if n == 0 {
            f64::INFINITY
        } else {
            (s / n as f64).sqrt()
        }
    }

    /// Weighted k-NN position; `skip` excludes one survey point (leave-one-out).
    pub fn locate_skip(
        &self,
        rssi: &[Option<f64>],
        k: usize,
        skip: Option<usize>,
    ) -> Option<Point> {
        let mut near: Vec<(f64, usize)> = self
            .rssi
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(i, r)| (Self::rdist(rssi, r), i))
            .filter(|(d, _)| d.is_finite())
            .collect();
        if near.is_empty() || k == 0 {
            return None;
        }
        let k = k.min(near.len());
        near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        let (mut sw, mut x, mut y) = (0.0, 0.0, 0.0);
        for &(d, i) in &near[..k] {
            let w = 1.0 / (d + 0.1);
            sw += w;
            x += w * self.points[i].0;
            y += w * self.points[i].1;
        }
        Some((x / sw, y / sw))
    }

    /// Weighted k-NN position.
    pub fn locate(&self, rssi: &[Option<f64>], k: usize) -> Option<Point> {
        self.locate_skip(rssi, k, None)
    }
}

/// Fusion weights of trilateration and fingerprinting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// Weight of the trilateration estimate (the fingerprint gets 1 − w).
    pub w_tri: f64,
    /// Leave-one-out RMS error of trilateration over the survey, m.
    pub rms_tri: f64,
    /// Leave-one-out RMS error of fingerprinting over the survey, m.
    pub rms_fp: f64,
}

impl Fusion {
    /// Calibrates the weights by leave-one-out over the survey.
    pub fn calibrate(tri: &Trilateration<'_>, fp: &Fingerprint, k: usize) -> Fusion {
        let (mut et, mut ef, mut n) = (0.0, 0.0, 0usize);
        for (i, (p, r)) in fp.points.iter().zip(&fp.rssi).enumerate() {
            if let (Some(a), Some(b)) = (tri.locate(r), fp.locate_skip(r, k, Some(i))) {
                et += dist(a, *p).powi(2);
                ef += dist(b, *p).powi(2);
                n += 1;
            }
        }
        if n == 0 {
            return Fusion {
                w_tri: 0.5,
                rms_tri: f64::NAN,
                rms_fp: f64::NAN,
            };
        }
        let (mt, mf) = (et / n as f64, ef / n as f64);
        let w_tri = if mt + mf > 0.0 { mf / (mt + mf) } else { 0.5 };
        Fusion {
            w_tri,
            rms_tri: mt.sqrt(),
            rms_fp: mf.sqrt(),
        }
    }

    /// The fused position (falls back to whichever estimate exists).
    pub fn fuse(&self, tri: Option<Point>, fp: Option<Point>) -> Option<Point> {
        match (tri, fp) {
            (Some(a), Some(b)) if self.rms_fp.is_finite() && dist(a, b) > self.rms_fp => Some(b),
            (Some(a), Some(b)) => Some((
                self.w_tri * a.0 + (1.0 - self.w_tri) * b.0,
                self.w_tri * a.1 + (1.0 - self.w_tri) * b.1,
            )),
            (a, b) => a.or(b),
        }
    }
}

/// The p-th percentile (0..=100) of `v` by nearest rank; NaN when empty.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inh_los(d3: f64) -> f64 {
        32.4 + 17.3 * d3.max(1.0).log10() + 20.0 * 0.9f64.log10()
    }

    const SITES: [Point; 4] = [(12.5, 12.5), (37.5, 12.5), (12.5, 37.5), (37.5, 37.5)];

    fn rssi_at(p: Point, c: f64) -> Vec<Option<f64>> {
        SITES
            .iter()
            .map(|s| Some(c - inh_los(dist(*s, p).hypot(2.0))))
            .collect()
    }

    /// The tag's incident power from all four sites at 30 dBm each.
    fn incident(p: Point) -> f64 {
        let mw: f64 = SITES
            .iter()
            .map(|s| 10f64.powf((30.0 - inh_los(dist(*s, p).hypot(2.0))) / 10.0))
            .sum();
        10.0 * mw.log10()
    }

    fn backscatter_rssi(p: Point) -> Vec<Option<f64>> {
        SITES
            .iter()
            .map(|s| Some(incident(p) - 6.0 - inh_los(dist(*s, p).hypot(2.0))))
            .collect()
    }

    #[test]
    fn trilateration_is_exact_with_noiseless_rssi() {
        let tri = Trilateration::new(&SITES, 2.0, &inh_los, (50.0, 50.0))
            .with_model(&incident, Some(-6.0));
        let free = Trilateration::new(&SITES, 2.0, &inh_los, (50.0, 50.0));
        let mut x = 0x9e37_79b9u32;
        for _ in 0..100 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let p = (
                (x % 5000) as f64 / 100.0,
                ((x / 5000) % 5000) as f64 / 100.0,
            );
            let est = tri.locate(&backscatter_rssi(p)).unwrap();
            assert!(dist(est, p) < 1e-3, "{p:?} -> {est:?}");
            // With c unknown the answer still explains the RSSI exactly (it
            // may be the other intersection of the ratio loci).
            let c = -40.0 + (x % 37) as f64;
            let r = rssi_at(p, c);
            let e2 = free.locate(&r).unwrap();
            assert!(free.cost(e2, &r) < 1e-6, "{p:?} -> {e2:?}");
        }
        // Three sites suffice, two do not.
        let mut r = backscatter_rssi((20.0, 30.0));
        r[3] = None;
        assert!(dist(tri.locate(&r).unwrap(), (20.0, 30.0)) < 1e-3);
        r[2] = None;
        assert!(tri.locate(&r).is_none());
    }

    #[test]
    fn fingerprint_and_fusion_on_a_noiseless_survey() {
        let tri = Trilateration::new(&SITES, 2.0, &inh_los, (50.0, 50.0));
        let mut fp = Fingerprint::default();
        for i in 0..=20 {
            for j in 0..=20 {
                let p = (i as f64 * 2.5, j as f64 * 2.5);
                fp.points.push(p);
                fp.rssi.push(rssi_at(p, -60.0));
            }
        }
        // A survey point is found exactly with k = 1.
        let p = fp.locate(&rssi_at((25.0, 10.0), -60.0), 1).unwrap();
        assert!(dist(p, (25.0, 10.0)) < 1e-9);
        // Between survey points, k-NN is within a grid step.
        let q = fp.locate(&rssi_at((26.1, 11.3), -60.0), 4).unwrap();
        assert!(dist(q, (26.1, 11.3)) < 2.5, "{q:?}");
        let f = Fusion::calibrate(&tri, &fp, 4);
        assert!(f.rms_tri < 1e-3 && f.w_tri > 0.99, "{f:?}");
        assert_eq!(f.fuse(None, Some((1.0, 2.0))), Some((1.0, 2.0)));
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        assert_eq!(percentile(&v, 50.0), 5.0);
        assert_eq!(percentile(&v, 90.0), 9.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
