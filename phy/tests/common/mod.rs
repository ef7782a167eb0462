//! Helpers shared by the integration tests: a counting global allocator for
//! the steady-state allocation tests, a one-layer PUSCH PDU and a PDSCH PDU.
#![allow(dead_code)] // each test binary uses a part

use ranlab_phy::pdsch::PdschPdu;
use ranlab_phy::pdu::{DmrsConfig, DmrsPorts, DmrsType, PuschPdu};
use ranlab_phy::refsig::dmrs::MappingType;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counts allocations and reallocations while [`count_allocations`] runs.
/// A test binary installs it with
/// `#[global_allocator] static GLOBAL: common::Counting = common::Counting;`.
pub struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

/// Runs `f` and returns how many allocations (any thread) it made.
pub fn count_allocations(f: impl FnOnce()) -> u64 {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::SeqCst)
}

/// A one-layer, 14-symbol PUSCH (MCS table 1, DM-RS type 1 on port 0 with one
/// additional position, TS 38.211 §6.4.1.1), new data at rv 0.
pub fn one_layer_pusch(
    rnti: u16,
    n_id: u16,
    slot: u16,
    prb_start: u16,
    n_prb: u16,
    mcs: u8,
    harq_id: u8,
) -> PuschPdu {
    PuschPdu {
        rnti,
        n_id,
        slot,
        prb_start,
        n_prb,
        start_symbol: 0,
        n_symbols: 14,
        mcs_table: 1,
        mcs_index: mcs,
        num_layers: 1,
        dmrs: DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 1,
            length: 1,
            ports: DmrsPorts::from([0]),
            cdm_groups_without_data: 2,
            scrambling_id: n_id,
            n_scid: 0,
        },
        rv: 0,
        harq_id,
        new_data: true,
        ndi: false,
        ..Default::default()
    }
}

/// A PDSCH of mapping type A on symbols 2..13 (DM-RS type 1 at symbol 2 with
/// one additional position, TS 38.211 §7.4.1.1; the 256QAM MCS table) with
/// `layers` layers on DM-RS ports 0.., new data at rv 0.
pub fn pdsch(
    rnti: u16,
    slot: u16,
    prb_start: u16,
    n_prb: u16,
    mcs: u8,
    layers: u8,
    harq_id: u8,
) -> PdschPdu {
    PdschPdu {
        rnti,
        n_id: 11,
        slot,
        prb_start,
        n_prb,
        start_symbol: 2,
        n_symbols: 12,
        mapping_type: MappingType::A,
        mcs_table: 2,
        mcs_index: mcs,
        num_layers: layers,
        dmrs: DmrsConfig {
            config_type: DmrsType::Type1,
            type_a_position: 2,
            additional_position: 1,
            length: 1,
            ports: DmrsPorts::consecutive(0, layers).expect("at most 8 layers"),
            cdm_groups_without_data: 2,
            scrambling_id: 11,
            n_scid: 0,
        },
        rv: 0,
        harq_id,
        new_data: true,
        ndi: false,
        ..Default::default()
    }
}
