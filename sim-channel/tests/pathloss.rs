//! TR 38.901 §7.4 path loss at a few distances, against the Table 7.4.1-1 formulas evaluated
//! by hand here (independently of the crate's code path: values precomputed with the
//! formula written out term by term). Tolerance 1e-6 dB: pure arithmetic.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use ranlab_sim_channel::pathloss::*;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-6, "{what}: {a} vs {b}");
}

#[test]
fn uma_umi_inh_formulas() {
    let c = 299_792_458.0f64;
    // UMa LOS, 3.5 GHz, hBS 25, hUT 1.5: d'BP = 4*24*0.5*3.5e9/c = 560.4 m.
    for d2 in [50.0, 300.0, 1000.0, 3000.0] {
        let g = Geometry::new(Scenario::UMa, d2, 3.5e9);
        let d3 = (d2 * d2 + 23.5f64 * 23.5).sqrt();
        let dbp = 4.0 * 24.0 * 0.5 * 3.5e9 / c;
        let los = if d2 <= dbp {
            28.0 + 22.0 * d3.log10() + 20.0 * 3.5f64.log10()
        } else {
            28.0 + 40.0 * d3.log10() + 20.0 * 3.5f64.log10()
                - 9.0 * (dbp * dbp + 23.5 * 23.5).log10()
        };
        close(path_loss_db(&g, LosState::Los).unwrap(), los, "UMa LOS");
        let nlos = 13.54 + 39.08 * d3.log10() + 20.0 * 3.5f64.log10();
        close(
            path_loss_db(&g, LosState::Nlos).unwrap(),
            los.max(nlos),
            "UMa NLOS",
        );
    }
    // A spot value computed by hand: UMa LOS 100 m at 3.5 GHz:
    // d3D = 102.7241 m, 28 + 22*2.011672 + 20*0.544068 = 83.1381 dB.
    let g = Geometry::new(Scenario::UMa, 100.0, 3.5e9);
    assert!((path_loss_db(&g, LosState::Los).unwrap() - 83.138).abs() < 2e-3);
    // UMi at 700 MHz (SUL) vs 3.5 GHz, 30 m: both below the breakpoint (42 m at 700 MHz,
    // 210 m at 3.5 GHz), so the lower carrier has 20 log10(5) dB less LOS loss (PL1).
    let lo = path_loss_db(&Geometry::new(Scenario::UMi, 30.0, 0.7e9), LosState::Los).unwrap();
    let hi = path_loss_db(&Geometry::new(Scenario::UMi, 30.0, 3.5e9), LosState::Los).unwrap();
    close(hi - lo, 20.0 * 5f64.log10(), "UMi carrier scaling");
    let d3 = (30.0f64 * 30.0 + 8.5 * 8.5).sqrt();
    close(
        lo,
        32.4 + 21.0 * d3.log10() + 20.0 * 0.7f64.log10(),
        "UMi LOS",
    );
    // Beyond the breakpoint at 700 MHz (300 m): PL2.
    let dbp = 4.0 * 9.0 * 0.5 * 0.7e9 / c;
    let d3f = (300.0f64 * 300.0 + 8.5 * 8.5).sqrt();
    close(
        path_loss_db(&Geometry::new(Scenario::UMi, 300.0, 0.7e9), LosState::Los).unwrap(),
        32.4 + 40.0 * d3f.log10() + 20.0 * 0.7f64.log10() - 9.5 * (dbp * dbp + 8.5 * 8.5).log10(),
        "UMi LOS PL2",
    );
    let un = path_loss_db(&Geometry::new(Scenario::UMi, 30.0, 0.7e9), LosState::Nlos).unwrap();
    close(
        un,
        lo.max(35.3 * d3.log10() + 22.4 + 21.3 * 0.7f64.log10()),
        "UMi NLOS",
    );
    // InH at 2.1 GHz, 20 m.
    let g = Geometry::new(Scenario::InHMixed, 20.0, 2.1e9);
    let d3 = (400.0f64 + 4.0).sqrt();
    let l = 32.4 + 17.3 * d3.log10() + 20.0 * 2.1f64.log10();
    close(path_loss_db(&g, LosState::Los).unwrap(), l, "InH LOS");
    close(
        path_loss_db(&g, LosState::Nlos).unwrap(),
        l.max(38.3 * d3.log10() + 17.3 + 24.9 * 2.1f64.log10()),
        "InH NLOS",
    );
    // Out of range is an error naming the field.
    let e = path_loss_db(&Geometry::new(Scenario::UMa, 5.0, 3.5e9), LosState::Los).unwrap_err();
    assert!(e.to_string().contains("d2d_m"));
}

#[test]
fn los_probability_and_budget() {
    close(
        los_probability(&Geometry::new(Scenario::UMi, 10.0, 3.5e9)),
        1.0,
        "UMi near",
    );
    let d = 100.0;
    close(
        los_probability(&Geometry::new(Scenario::UMi, d, 3.5e9)),
        18.0 / d + (-d / 36.0f64).exp() * (1.0 - 18.0 / d),
        "UMi 100 m",
    );
    close(
        los_probability(&Geometry::new(Scenario::UMa, d, 3.5e9)),
        18.0 / d + (-d / 63.0f64).exp() * (1.0 - 18.0 / d),
        "UMa 100 m",
    );
    close(
        los_probability(&Geometry::new(Scenario::InHMixed, 10.0, 3.5e9)),
        (-(10.0 - 6.5) / 32.6f64).exp() * 0.32,
        "InH mixed 10 m",
    );
    // Random LOS draws follow the probability: 4000 links at UMi 100 m (p = 0.2525);
    // std error 0.0069, bound 5 sigma.
    let g = Geometry::new(Scenario::UMi, 100.0, 3.5e9);
    let n = 4000;
    let los = (0..n)
        .filter(|&i| {
            LargeScale::draw(&g, LosMode::Random, true, 3, i)
                .unwrap()
                .los
                == LosState::Los
        })
        .count() as f64
        / n as f64;
    assert!((los - los_probability(&g)).abs() < 0.035, "{los}");
    // Link budget: 23 dBm over 12 subcarriers of 30 kHz, 120 dB loss, NF 5:
    // 23 - 10.79 - 120 - (-174 + 44.77 + 5) = 22.43 dB.
    let b = LinkBudget::default();
    let snr = b.snr_per_re_db(30.0, 120.0, 12, 30e3);
    close(
        snr,
        23.0 - 10.0 * 12f64.log10() - 120.0 - (-174.0 + 10.0 * 30e3f64.log10() + 5.0),
        "budget",
    );
}
