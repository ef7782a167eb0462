//! The uplink PHY as the MAC sees it: a slot's samples and PUSCH PDUs go in
//! with [`UplinkPhy::submit`] (or [`UplinkPhy::submit_with`], which lets the
//! radio write the samples in place), and [`CrcIndication`]s keyed by RNTI
//! and HARQ process come out of [`UplinkPhy::poll`], slot by slot in the
//! order the slots were submitted (so a run does not depend on the number
//! of workers). The pool, the queue and the workers stay behind this edge.

use super::uplink::{UplinkJob, UplinkSlot};
use super::{Pipeline, PipelineConfig, PipelineMetrics, SlotJob, SubmitError};
use crate::numerology::Numerology;
use crate::ofdm::OfdmOptions;
use crate::pdu::PuschPdu;
use crate::pusch::{PuschError, PuschResult, PuschRxConfig};
use num_complex::Complex32;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The outcome of one PUSCH (TS 38.321 §5.4.2: the HARQ entity's input),
/// borrowed from the pipeline slot until the next poll.
#[derive(Debug, Clone, Copy)]
pub struct CrcIndication<'a> {
    /// C-RNTI of the UE.
    pub rnti: u16,
    /// HARQ process id.
    pub harq_id: u8,
    /// The NDI of the grant it answers.
    pub ndi: bool,
    /// Slot number within the frame.
    pub slot: u16,
    /// Transport-block CRC passed (false when the PUSCH could not be processed).
    pub crc_ok: bool,
    /// Mean post-equalisation SINR, dB, when measured and finite.
    pub sinr_db: Option<f32>,
    /// The decoded transport block (A bits; empty unless the CRC passed).
    pub tb: &'a [u8],
    /// Receiver measurements, or why the PUSCH could not be processed.
    pub result: Result<&'a PuschResult, &'a PuschError>,
}

/// Settings of an [`UplinkPhy`].
#[derive(Debug, Clone)]
pub struct UplinkPhyConfig {
    /// The carrier.
    pub num: Numerology,
    /// PUSCH receiver settings (antennas, layers, decoder, HARQ buffers).
    pub rx: PuschRxConfig,
    /// OFDM demodulator options.
    pub ofdm: OfdmOptions,
    /// PUSCH receivers (see [`UplinkJob::with_receivers`]).
    pub receivers: usize,
    /// Slots that may be in flight at once (the pool).
    pub pool: usize,
    /// Most PUSCHs per slot.
    pub max_pdus: usize,
    /// Workers, pinning, cores and deadline.
    pub pipeline: PipelineConfig,
}

/// The gNB uplink PHY of one carrier.
pub struct UplinkPhy {
    pipe: Pipeline<UplinkJob>,
    /// Pool indices of the submitted slots, oldest first.
    started: VecDeque<usize>,
    max_pdus: usize,
}

impl UplinkPhy {
    /// Builds the receivers, the pool and the workers.
    pub fn new(cfg: UplinkPhyConfig) -> Result<Self, PuschError> {
        let job = Arc::new(UplinkJob::with_receivers(
            cfg.num,
            cfg.rx,
            cfg.ofdm,
            cfg.pipeline.workers,
            cfg.receivers,
        )?);
        let pool = cfg.pool.max(1);
        let slots = (0..pool).map(|_| job.new_slot(cfg.max_pdus)).collect();
        Ok(UplinkPhy {
            pipe: Pipeline::new(job, slots, cfg.pipeline),
            started: VecDeque::with_capacity(pool),
            max_pdus: cfg.max_pdus,
        })
    }

    /// Submits slot `slot` (within the frame) with its PUSCHs; `fill`
    /// writes the received samples into the pooled buffers (one per
    /// antenna, at least the slot's length) in place. When no pooled slot
    /// is free the slot is dropped ([`SubmitError::Dropped`]) and `fill` is
    /// not called.
    pub fn submit_with<E: From<SubmitError>>(
        &mut self,
        slot: u32,
        pdus: &[PuschPdu],
        fill: impl FnOnce(&mut [Vec<Complex32>]) -> Result<(), E>,
    ) -> Result<(), E> {
        if pdus.len() > self.max_pdus {
            return Err(SubmitError::TooManyPdus {
                pdus: pdus.len(),
                max: self.max_pdus,
            }
            .into());
        }
        let i = self.pipe.acquire().map_err(SubmitError::Dropped)?;
        let s = self.pipe.slot(i);
        let filled = {
            let mut rx = s.rx.write().unwrap_or_else(|e| e.into_inner());
            fill(&mut rx)
        };
        if let Err(e) =
            filled.and_then(|()| s.set_pdus(self.pipe.job(), slot, pdus).map_err(E::from))
        {
            self.pipe.release(i);
            return Err(e);
        }
        self.started.push_back(i);
        self.pipe.start(i, Instant::now());
        Ok(())
    }

    /// Submits slot `slot` with its samples (copied; one slice per antenna,
    /// each the slot's length) and PUSCHs.
    pub fn submit(
        &mut self,
        slot: u32,
        samples: &[&[Complex32]],
        pdus: &[PuschPdu],
    ) -> Result<(), SubmitError> {
        let n_rx = self.pipe.job().n_rx();
        let slot_len = self.pipe.job().numerology().slot_len(slot);
        let len = samples.first().map_or(0, |s| s.len());
        if samples.len() != n_rx || samples.iter().any(|s| s.len() != slot_len) {
            return Err(SubmitError::Samples {
                antennas: samples.len(),
                len,
                n_rx,
                slot_len,
            });
        }
        self.submit_with(slot, pdus, |rx: &mut [Vec<Complex32>]| {
            for (b, x) in rx.iter_mut().zip(samples) {
                b[..x.len()].copy_from_slice(x);
            }
            Ok::<_, SubmitError>(())
        })
    }

    /// Hands the indications of the oldest submitted slot to `on`, one per
    /// PUSCH in PDU order, and frees the slot. With `wait`, waits up to that
    /// long for it to complete; without, takes it only if it has. Returns
    /// whether a slot was taken.
    pub fn poll(&mut self, wait: Option<Duration>, mut on: impl FnMut(CrcIndication<'_>)) -> bool {
        let Some(&i) = self.started.front() else {
            return false;
        };
        let done = match wait {
            Some(t) => self.pipe.wait_completed(i, t),
            None => self.pipe.take_completed(i),
        };
        if !done {
            return false;
        }
        self.started.pop_front();
        let s: &UplinkSlot = self.pipe.slot(i);
        for k in 0..s.n_pdus() {
            let ind = s.indications[k].lock().unwrap_or_else(|e| e.into_inner());
            let Some(pdu) = ind.pdu else {
                continue;
            };
            let (crc_ok, sinr_db, result) = match &ind.result {
                Ok(r) => (r.crc_ok, Some(r.sinr_db).filter(|s| s.is_finite()), Ok(r)),
                Err(e) => (false, None, Err(e)),
            };
            on(CrcIndication {
                rnti: pdu.rnti,
                harq_id: pdu.harq_id,
                ndi: pdu.ndi,
                slot: pdu.slot,
                crc_ok,
                sinr_db,
                tb: if crc_ok { &ind.tb } else { &[] },
                result,
            });
        }
        self.pipe.release(i);
        true
    }

    /// Slots submitted and not yet polled.
    pub fn in_flight(&self) -> usize {
        self.started.len()
    }

    /// Latency, deadline and stage counters.
    pub fn metrics(&self) -> &PipelineMetrics {
        self.pipe.metrics()
    }

    /// Stage names, in the order of [`PipelineMetrics`]' per-stage figures.
    pub fn stages(&self) -> &'static [&'static str] {
        self.pipe.job().stages()
    }

    /// The carrier.
    pub fn numerology(&self) -> &Numerology {
        self.pipe.job().numerology()
    }
}
