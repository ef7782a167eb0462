//! Cellular passive IoT above the PHY: inventory (paging, access occasions,
//! framed slotted ALOHA with the EPC Gen2 Q-algorithm, the 3GPP-style
//! Msg1/Msg2/Msg3 exchange), the placement of reader occasions in NR uplink
//! slots alongside PUSCH, and tag positioning from per-site RSSI.
//!
//! These are pure functions and small state machines; the air interface is a
//! trait ([`inventory::InventoryAir`]) so the same inventory runs over an ideal
//! channel (tests) or the waveform-level PHY and channel (`ranlab tags`).

pub mod inventory;
pub mod occasions;
pub mod positioning;
