//! Traffic models: what arrives in a UE's uplink buffer, and when.
//!
//! - full buffer: the buffer never runs dry (topped up each slot);
//! - periodic IoT: a small report every period, random phase;
//! - AI uplink: camera frames at a frame rate, each a burst of packets of
//!   about `rate / fps` bytes (+-20 % uniform), all arriving at the frame time;
//! - video streaming: frames at a frame rate with log-normal sizes around
//!   `rate / fps` (sigma 0.3), so bursts are uneven;
//! - Poisson: packets of a fixed size at exponential intervals.
//!
//! Packets are cut at `mtu` bytes.

use crate::buffer::{Micros, TxBuffer};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Packet size packets are cut at, bytes.
pub const MTU: u32 = 1500;

/// A traffic model by name, as configuration files give it
/// (`full-buffer`, `periodic-iot`, `ai-uplink`, `video`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Traffic {
    /// Always has data.
    FullBuffer,
    /// Small periodic reports.
    PeriodicIot,
    /// Bursty AI uplink (camera frames).
    AiUplink,
    /// Video streaming.
    Video,
}

impl TrafficModel {
    /// The model of `t` with the cell's standard parameters: 2 MB kept
    /// waiting, 200 bytes every 100 ms, AI frames at 25 Mbit/s and 30 fps
    /// (the white paper's > 20 Mbit/s AI uplink), video at 8 Mbit/s and 30 fps.
    pub fn standard(t: Traffic) -> Self {
        match t {
            Traffic::FullBuffer => TrafficModel::FullBuffer {
                backlog_bytes: 2_000_000,
            },
            Traffic::PeriodicIot => TrafficModel::PeriodicIot {
                period_ms: 100.0,
                bytes: 200,
            },
            Traffic::AiUplink => TrafficModel::AiUplink {
                rate_mbps: 25.0,
                fps: 30.0,
            },
            Traffic::Video => TrafficModel::Video {
                rate_mbps: 8.0,
                fps: 30.0,
            },
        }
    }
}

/// A traffic model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrafficModel {
    /// Always data waiting: the buffer is topped up to `backlog_bytes`.
    FullBuffer {
        /// Bytes kept waiting.
        backlog_bytes: u32,
    },
    /// `bytes` every `period_ms`.
    PeriodicIot {
        /// Period, ms.
        period_ms: f64,
        /// Report size, bytes.
        bytes: u32,
    },
    /// Camera frames for remote inference.
    AiUplink {
        /// Mean rate, Mbit/s.
        rate_mbps: f64,
        /// Frames per second.
        fps: f64,
    },
    /// Video streaming.
    Video {
        /// Mean rate, Mbit/s.
        rate_mbps: f64,
        /// Frames per second.
        fps: f64,
    },
    /// Poisson arrivals of fixed-size packets.
    Poisson {
        /// Mean rate, Mbit/s.
        rate_mbps: f64,
        /// Packet size, bytes.
        packet_bytes: u32,
    },
}

/// A running traffic source.
#[derive(Debug, Clone)]
pub struct TrafficSource {
    model: TrafficModel,
    next_us: f64,
    rng: Xoshiro256PlusPlus,
}

impl TrafficSource {
    /// A source of `model` with its own random stream `seed`; the first
    /// arrival has a random phase within one period.
    pub fn new(model: TrafficModel, seed: u64) -> TrafficSource {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let period = match model {
            TrafficModel::FullBuffer { .. } => 0.0,
            TrafficModel::PeriodicIot { period_ms, .. } => period_ms * 1e3,
            TrafficModel::AiUplink { fps, .. } | TrafficModel::Video { fps, .. } => 1e6 / fps,
            TrafficModel::Poisson {
                rate_mbps,
                packet_bytes,
            } => packet_bytes as f64 * 8.0 / rate_mbps,
        };
        let next_us = rng.gen::<f64>() * period;
        TrafficSource {
            model,
            next_us,
            rng,
        }
    }

    /// The model.
    pub fn model(&self) -> TrafficModel {
        self.model
    }

    /// Mean offered rate, Mbit/s (infinite for full buffer).
    pub fn offered_mbps(&self) -> f64 {
        match self.model {
            TrafficModel::FullBuffer { .. } => f64::INFINITY,
            TrafficModel::PeriodicIot { period_ms, bytes } => bytes as f64 * 8.0 / period_ms / 1e3,
            TrafficModel::AiUplink { rate_mbps, .. }
            | TrafficModel::Video { rate_mbps, .. }
            | TrafficModel::Poisson { rate_mbps, .. } => rate_mbps,
        }
    }

    /// Puts every arrival up to `now` into `buf`.
    pub fn generate(&mut self, now: Micros, buf: &mut TxBuffer) {
        let push_burst = |buf: &mut TxBuffer, t: Micros, mut bytes: u32| {
            while bytes > 0 {
                let n = bytes.min(MTU);
                buf.push(t, n);
                bytes -= n;
            }
        };
        match self.model {
            TrafficModel::FullBuffer { backlog_bytes } => {
                while buf.unsent_bytes() < backlog_bytes as u64 {
                    buf.push(now, MTU);
                }
            }
            TrafficModel::PeriodicIot { period_ms, bytes } => {
                while self.next_us <= now as f64 {
                    push_burst(buf, self.next_us as Micros, bytes);
                    self.next_us += period_ms * 1e3;
                }
            }
            TrafficModel::AiUplink { rate_mbps, fps } => {
                while self.next_us <= now as f64 {
                    let mean = rate_mbps * 1e6 / 8.0 / fps;
                    let bytes = mean * self.rng.gen_range(0.8..1.2);
                    push_burst(buf, self.next_us as Micros, bytes.round() as u32);
                    self.next_us += 1e6 / fps;
                }
            }
            TrafficModel::Video { rate_mbps, fps } => {
                while self.next_us <= now as f64 {
                    let mean = rate_mbps * 1e6 / 8.0 / fps;
                    // Log-normal with unit mean: exp(sigma z - sigma^2 / 2).
                    let z: f64 = gaussian(&mut self.rng);
                    let bytes = mean * (0.3 * z - 0.045).exp();
                    push_burst(buf, self.next_us as Micros, bytes.round() as u32);
                    self.next_us += 1e6 / fps;
                }
            }
            TrafficModel::Poisson {
                rate_mbps,
                packet_bytes,
            } => {
                let mean_gap = packet_bytes as f64 * 8.0 / rate_mbps;
                while self.next_us <= now as f64 {
                    push_burst(buf, self.next_us as Micros, packet_bytes);
                    let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
                    self.next_us += -u.ln() * mean_gap;
                }
            }
        }
    }
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rates_match_the_models() {
        let models = [
            TrafficModel::AiUplink {
                rate_mbps: 24.0,
                fps: 30.0,
            },
            TrafficModel::Video {
                rate_mbps: 8.0,
                fps: 30.0,
            },
            TrafficModel::Poisson {
                rate_mbps: 2.0,
                packet_bytes: 500,
            },
            TrafficModel::PeriodicIot {
                period_ms: 100.0,
                bytes: 50,
            },
        ];
        for m in models {
            let mut s = TrafficSource::new(m, 3);
            let mut b = TxBuffer::new(1, f64::INFINITY);
            let secs = 20.0;
            for slot in 0..(secs * 2000.0) as u64 {
                s.generate(slot * 500, &mut b);
            }
            let mbps = b.counters().bytes_in as f64 * 8.0 / secs / 1e6;
            let want = s.offered_mbps();
            assert!((mbps - want).abs() / want < 0.05, "{m:?}: {mbps} vs {want}");
        }
        let mut s = TrafficSource::new(
            TrafficModel::FullBuffer {
                backlog_bytes: 10_000,
            },
            1,
        );
        let mut b = TxBuffer::new(1, f64::INFINITY);
        s.generate(0, &mut b);
        assert!(b.unsent_bytes() >= 10_000);
    }
}
