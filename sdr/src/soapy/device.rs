//! A thin safe wrapper over `soapysdr-sys` for the streaming device.
//!
//! The `soapysdr` crate hides its device and stream handles and drops the RX
//! flags of `readStream` (has-time, end-of-burst), and it cannot set the
//! master clock rate. A PHY needs both, so the radio opens its device here;
//! the crate still supplies argument parsing ([`soapysdr::Args`]) and serves
//! discovery and probing. Every unsafe call is wrapped once, with the buffer
//! lengths checked before it.

use crate::validate::SettingRange;
use soapysdr::Args;
use soapysdr_sys as sys;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt;
use std::sync::Arc;

/// Transmit or receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Transmit.
    Tx,
    /// Receive.
    Rx,
}

impl Dir {
    fn raw(self) -> c_int {
        match self {
            Dir::Tx => sys::SOAPY_SDR_TX as c_int,
            Dir::Rx => sys::SOAPY_SDR_RX as c_int,
        }
    }

    /// `"rx"` or `"tx"`, for setting names.
    pub fn name(self) -> &'static str {
        match self {
            Dir::Tx => "tx",
            Dir::Rx => "rx",
        }
    }
}

/// A SoapySDR error: the status code (`SOAPY_SDR_*`, 0 when none) and message.
#[derive(Debug, Clone)]
pub struct SoapyError {
    /// Status code.
    pub code: i32,
    /// The driver's message.
    pub message: String,
}

impl fmt::Display for SoapyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", code_name(self.code))
        } else {
            write!(f, "{} ({})", self.message, code_name(self.code))
        }
    }
}

/// The name of a SoapySDR status code.
pub fn code_name(code: i32) -> &'static str {
    match code {
        0 => "ok",
        sys::SOAPY_SDR_TIMEOUT => "timeout",
        sys::SOAPY_SDR_STREAM_ERROR => "stream error",
        sys::SOAPY_SDR_CORRUPTION => "corruption",
        sys::SOAPY_SDR_OVERFLOW => "overflow",
        sys::SOAPY_SDR_NOT_SUPPORTED => "not supported",
        sys::SOAPY_SDR_TIME_ERROR => "time error",
        sys::SOAPY_SDR_UNDERFLOW => "underflow",
        _ => "error",
    }
}

/// Status codes the stream calls return.
pub mod code {
    pub use soapysdr_sys::{
        SOAPY_SDR_CORRUPTION as CORRUPTION, SOAPY_SDR_NOT_SUPPORTED as NOT_SUPPORTED,
        SOAPY_SDR_OVERFLOW as OVERFLOW, SOAPY_SDR_STREAM_ERROR as STREAM_ERROR,
        SOAPY_SDR_TIMEOUT as TIMEOUT, SOAPY_SDR_TIME_ERROR as TIME_ERROR,
        SOAPY_SDR_UNDERFLOW as UNDERFLOW,
    };
}

/// Stream flags (`SOAPY_SDR_HAS_TIME`, `SOAPY_SDR_END_BURST`).
pub mod flag {
    /// The time field is valid.
    pub const HAS_TIME: i32 = soapysdr_sys::SOAPY_SDR_HAS_TIME as i32;
    /// The block ends a burst.
    pub const END_BURST: i32 = soapysdr_sys::SOAPY_SDR_END_BURST as i32;
}

fn last_error(code: i32) -> SoapyError {
    // SAFETY: lastError returns a thread-local, NUL-terminated string owned by the library.
    let message = unsafe {
        let p = sys::SoapySDRDevice_lastError();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    SoapyError { code, message }
}

/// For calls without a status return: the C bindings record a thrown exception in lastStatus.
fn checked<T>(value: T) -> Result<T, SoapyError> {
    // SAFETY: plain read of the thread-local status.
    let status = unsafe { sys::SoapySDRDevice_lastStatus() };
    if status == 0 {
        Ok(value)
    } else {
        Err(last_error(status))
    }
}

fn status(ret: c_int) -> Result<(), SoapyError> {
    if ret == 0 {
        Ok(())
    } else {
        Err(last_error(ret))
    }
}

fn cstring(s: &str) -> Result<CString, SoapyError> {
    CString::new(s).map_err(|_| SoapyError {
        code: 0,
        message: format!("{s:?} contains a NUL byte"),
    })
}

/// Takes ownership of a library-allocated C string.
///
/// # Safety
/// `p` is null or a string allocated by SoapySDR, not used afterwards.
unsafe fn take_string(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per the contract above.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        sys::SoapySDR_free(p as *mut c_void);
        s
    }
}

/// Takes ownership of a library-allocated string list.
///
/// # Safety
/// `p` is null or a list of `len` strings allocated by SoapySDR, not used afterwards.
unsafe fn take_strings(mut p: *mut *mut c_char, len: usize) -> Vec<String> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract above.
    unsafe {
        let v = std::slice::from_raw_parts(p, len)
            .iter()
            .map(|&s| CStr::from_ptr(s).to_string_lossy().into_owned())
            .collect();
        sys::SoapySDRStrings_clear(&mut p, len);
        v
    }
}

/// Takes ownership of a library-allocated range list.
///
/// # Safety
/// `p` is null or an array of `len` ranges allocated by SoapySDR, not used afterwards.
unsafe fn take_ranges(p: *mut sys::SoapySDRRange, len: usize) -> Vec<SettingRange> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract above.
    unsafe {
        let v = std::slice::from_raw_parts(p, len)
            .iter()
            .map(|r| SettingRange {
                min: r.minimum,
                max: r.maximum,
                step: r.step,
            })
            .collect();
        sys::SoapySDR_free(p as *mut c_void);
        v
    }
}

/// An open SoapySDR device. Closed when dropped; streams hold an `Arc` of it.
pub struct Device {
    ptr: *mut sys::SoapySDRDevice,
}

// SAFETY: SoapySDR requires device methods to be thread safe; streams (which
// are not) are separate objects that borrow the device.
unsafe impl Send for Device {}
unsafe impl Sync for Device {}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: ptr came from make and every stream borrowing it is gone.
        unsafe {
            sys::SoapySDRDevice_unmake(self.ptr);
        }
    }
}

macro_rules! list_fn {
    ($(#[$m:meta])* $name:ident, $ffi:ident) => {
        $(#[$m])*
        pub fn $name(&self) -> Result<Vec<String>, SoapyError> {
            let mut len = 0usize;
            // SAFETY: valid device; the returned list is freed by take_strings.
            let p = unsafe { sys::$ffi(self.ptr, &mut len) };
            let p = checked(p)?;
            Ok(unsafe { take_strings(p, len) })
        }
    };
}

macro_rules! chan_ranges_fn {
    ($(#[$m:meta])* $name:ident, $ffi:ident) => {
        $(#[$m])*
        pub fn $name(&self, dir: Dir, ch: usize) -> Result<Vec<SettingRange>, SoapyError> {
            let mut len = 0usize;
            // SAFETY: valid device; the returned array is freed by take_ranges.
            let p = unsafe { sys::$ffi(self.ptr, dir.raw(), ch, &mut len) };
            let p = checked(p)?;
            Ok(unsafe { take_ranges(p, len) })
        }
    };
}

macro_rules! chan_set_fn {
    ($(#[$m:meta])* $name:ident, $ffi:ident) => {
        $(#[$m])*
        pub fn $name(&self, dir: Dir, ch: usize, value: f64) -> Result<(), SoapyError> {
            // SAFETY: valid device, plain values.
            status(unsafe { sys::$ffi(self.ptr, dir.raw(), ch, value) })
        }
    };
}

impl Device {
    /// Opens the device matching SoapySDR args (`driver=uhd,serial=...`).
    pub fn open(args: &str) -> Result<Device, SoapyError> {
        let kwargs = Args::from(args);
        // SAFETY: kwargs outlives the call; make copies what it keeps.
        let ptr = unsafe { sys::SoapySDRDevice_make(kwargs.as_raw_const()) };
        if ptr.is_null() {
            return Err(last_error(0));
        }
        Ok(Device { ptr })
    }

    /// Driver key (`uhd`, `lime`, ...).
    pub fn driver_key(&self) -> Result<String, SoapyError> {
        // SAFETY: valid device; the string is freed by take_string.
        let p = checked(unsafe { sys::SoapySDRDevice_getDriverKey(self.ptr) })?;
        Ok(unsafe { take_string(p) })
    }

    /// Hardware key (`B210`, `LimeSDR-USB`, ...).
    pub fn hardware_key(&self) -> Result<String, SoapyError> {
        // SAFETY: as driver_key.
        let p = checked(unsafe { sys::SoapySDRDevice_getHardwareKey(self.ptr) })?;
        Ok(unsafe { take_string(p) })
    }

    /// Channels in a direction.
    pub fn num_channels(&self, dir: Dir) -> Result<usize, SoapyError> {
        // SAFETY: valid device.
        checked(unsafe { sys::SoapySDRDevice_getNumChannels(self.ptr, dir.raw()) })
    }

    chan_ranges_fn!(
        /// Supported sample rates.
        sample_rate_ranges,
        SoapySDRDevice_getSampleRateRange
    );
    chan_ranges_fn!(
        /// Supported RF frequencies.
        frequency_ranges,
        SoapySDRDevice_getFrequencyRange
    );
    chan_ranges_fn!(
        /// Supported baseband filter widths.
        bandwidth_ranges,
        SoapySDRDevice_getBandwidthRange
    );
    chan_set_fn!(
        /// Sets the sample rate.
        set_sample_rate,
        SoapySDRDevice_setSampleRate
    );
    chan_set_fn!(
        /// Sets the overall gain, distributed by the driver.
        set_gain,
        SoapySDRDevice_setGain
    );
    chan_set_fn!(
        /// Sets the baseband filter width.
        set_bandwidth,
        SoapySDRDevice_setBandwidth
    );

    /// The sample rate in use.
    pub fn sample_rate(&self, dir: Dir, ch: usize) -> Result<f64, SoapyError> {
        // SAFETY: valid device.
        checked(unsafe { sys::SoapySDRDevice_getSampleRate(self.ptr, dir.raw(), ch) })
    }

    /// Overall gain range.
    pub fn gain_range(&self, dir: Dir, ch: usize) -> Result<SettingRange, SoapyError> {
        // SAFETY: valid device; the range is returned by value.
        let r = checked(unsafe { sys::SoapySDRDevice_getGainRange(self.ptr, dir.raw(), ch) })?;
        Ok(SettingRange {
            min: r.minimum,
            max: r.maximum,
            step: r.step,
        })
    }

    /// Tunes the channel's RF frequency.
    pub fn set_frequency(&self, dir: Dir, ch: usize, hz: f64) -> Result<(), SoapyError> {
        let none = Args::new();
        // SAFETY: valid device; the empty kwargs outlive the call.
        status(unsafe {
            sys::SoapySDRDevice_setFrequency(self.ptr, dir.raw(), ch, hz, none.as_raw_const())
        })
    }

    /// Antenna names of a channel.
    pub fn antennas(&self, dir: Dir, ch: usize) -> Result<Vec<String>, SoapyError> {
        let mut len = 0usize;
        // SAFETY: valid device; the list is freed by take_strings.
        let p = checked(unsafe {
            sys::SoapySDRDevice_listAntennas(self.ptr, dir.raw(), ch, &mut len)
        })?;
        Ok(unsafe { take_strings(p, len) })
    }

    /// Selects an antenna.
    pub fn set_antenna(&self, dir: Dir, ch: usize, name: &str) -> Result<(), SoapyError> {
        let c = cstring(name)?;
        // SAFETY: valid device; c outlives the call.
        status(unsafe { sys::SoapySDRDevice_setAntenna(self.ptr, dir.raw(), ch, c.as_ptr()) })
    }

    /// Supported master clock rates.
    pub fn master_clock_ranges(&self) -> Result<Vec<SettingRange>, SoapyError> {
        let mut len = 0usize;
        // SAFETY: valid device; the array is freed by take_ranges.
        let p = checked(unsafe { sys::SoapySDRDevice_getMasterClockRates(self.ptr, &mut len) })?;
        Ok(unsafe { take_ranges(p, len) })
    }

    /// Sets the master clock rate.
    pub fn set_master_clock_rate(&self, hz: f64) -> Result<(), SoapyError> {
        // SAFETY: valid device.
        status(unsafe { sys::SoapySDRDevice_setMasterClockRate(self.ptr, hz) })
    }

    /// The master clock rate in use.
    pub fn master_clock_rate(&self) -> Result<f64, SoapyError> {
        // SAFETY: valid device.
        checked(unsafe { sys::SoapySDRDevice_getMasterClockRate(self.ptr) })
    }

    list_fn!(
        /// Reference clock sources.
        clock_sources,
        SoapySDRDevice_listClockSources
    );
    list_fn!(
        /// Time sources.
        time_sources,
        SoapySDRDevice_listTimeSources
    );
    list_fn!(
        /// Global sensors.
        sensors,
        SoapySDRDevice_listSensors
    );

    /// Selects the reference clock source.
    pub fn set_clock_source(&self, src: &str) -> Result<(), SoapyError> {
        let c = cstring(src)?;
        // SAFETY: valid device; c outlives the call.
        status(unsafe { sys::SoapySDRDevice_setClockSource(self.ptr, c.as_ptr()) })
    }

    /// Selects the time source.
    pub fn set_time_source(&self, src: &str) -> Result<(), SoapyError> {
        let c = cstring(src)?;
        // SAFETY: valid device; c outlives the call.
        status(unsafe { sys::SoapySDRDevice_setTimeSource(self.ptr, c.as_ptr()) })
    }

    /// Reads a global sensor as a string (`"true"`, `"false"`, a number ...).
    pub fn read_sensor(&self, key: &str) -> Result<String, SoapyError> {
        let c = cstring(key)?;
        // SAFETY: valid device; c outlives the call; the result is freed by take_string.
        let p = checked(unsafe { sys::SoapySDRDevice_readSensor(self.ptr, c.as_ptr()) })?;
        Ok(unsafe { take_string(p) })
    }

    /// Whether the device keeps hardware time (`what` empty: the default clock).
    pub fn has_hardware_time(&self, what: &str) -> bool {
        let Ok(c) = cstring(what) else { return false };
        // SAFETY: valid device; c outlives the call.
        checked(unsafe { sys::SoapySDRDevice_hasHardwareTime(self.ptr, c.as_ptr()) })
            .unwrap_or(false)
    }

    /// Device time, nanoseconds.
    pub fn hardware_time_ns(&self) -> Result<i64, SoapyError> {
        let c = CString::default();
        // SAFETY: valid device; c outlives the call.
        checked(unsafe { sys::SoapySDRDevice_getHardwareTime(self.ptr, c.as_ptr()) })
    }

    /// Sets device time now (`what` empty) or at the next PPS edge (`"PPS"`, UHD).
    pub fn set_hardware_time_ns(&self, ns: i64, what: &str) -> Result<(), SoapyError> {
        let c = cstring(what)?;
        // SAFETY: valid device; c outlives the call.
        status(unsafe { sys::SoapySDRDevice_setHardwareTime(self.ptr, ns, c.as_ptr()) })
    }

    /// Sets a driver setting (`writeSetting`).
    pub fn write_setting(&self, key: &str, value: &str) -> Result<(), SoapyError> {
        let (k, v) = (cstring(key)?, cstring(value)?);
        // SAFETY: valid device; k and v outlive the call.
        status(unsafe { sys::SoapySDRDevice_writeSetting(self.ptr, k.as_ptr(), v.as_ptr()) })
    }

    /// Opens a CS16 stream over `channels`.
    pub fn stream_cs16(
        self: &Arc<Self>,
        dir: Dir,
        channels: &[usize],
    ) -> Result<Stream, SoapyError> {
        let fmt = cstring("CS16")?;
        let none = Args::new();
        // SAFETY: valid device; every pointer outlives the call.
        let handle = unsafe {
            sys::SoapySDRDevice_setupStream(
                self.ptr,
                dir.raw(),
                fmt.as_ptr(),
                channels.as_ptr(),
                channels.len(),
                none.as_raw_const(),
            )
        };
        if handle.is_null() {
            return Err(last_error(0));
        }
        Ok(Stream {
            dev: Arc::clone(self),
            handle,
            channels: channels.len(),
            active: false,
        })
    }
}

/// What one read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadResult {
    /// Samples read per channel.
    pub samples: usize,
    /// `flag::*` bits.
    pub flags: i32,
    /// Device time of the first sample, ns (valid with `flag::HAS_TIME`).
    pub time_ns: i64,
}

/// One asynchronous TX event from `readStreamStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStatus {
    /// Status code (`code::*`, 0 for a plain acknowledgement).
    pub code: i32,
    /// `flag::*` bits (END_BURST acknowledges a burst end).
    pub flags: i32,
    /// Device time of the event, ns (valid with `flag::HAS_TIME`).
    pub time_ns: i64,
}

/// A CS16 stream of a device. Used from one thread at a time (SoapySDR streams
/// are not thread safe), so its calls take `&mut self`.
pub struct Stream {
    dev: Arc<Device>,
    handle: *mut sys::SoapySDRStream,
    channels: usize,
    active: bool,
}

// SAFETY: a stream may move between threads; `&mut self` keeps it to one at a time.
unsafe impl Send for Stream {}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the handle belongs to this device and is closed once.
        unsafe {
            if self.active {
                sys::SoapySDRDevice_deactivateStream(self.dev.ptr, self.handle, 0, 0);
            }
            sys::SoapySDRDevice_closeStream(self.dev.ptr, self.handle);
        }
    }
}

impl Stream {
    /// Largest number of samples per channel one call moves efficiently.
    pub fn mtu(&self) -> usize {
        // SAFETY: valid device and stream.
        unsafe { sys::SoapySDRDevice_getStreamMTU(self.dev.ptr, self.handle) }
    }

    /// Starts the stream (now, or at `time_ns`).
    pub fn activate(&mut self, time_ns: Option<i64>) -> Result<(), SoapyError> {
        let flags = if time_ns.is_some() { flag::HAS_TIME } else { 0 };
        // SAFETY: valid device and stream.
        status(unsafe {
            sys::SoapySDRDevice_activateStream(
                self.dev.ptr,
                self.handle,
                flags,
                time_ns.unwrap_or(0),
                0,
            )
        })?;
        self.active = true;
        Ok(())
    }

    /// Stops the stream.
    pub fn deactivate(&mut self) -> Result<(), SoapyError> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        // SAFETY: valid device and stream.
        status(unsafe { sys::SoapySDRDevice_deactivateStream(self.dev.ptr, self.handle, 0, 0) })
    }

    fn check_buffers(&self, lens: impl Iterator<Item = usize>) -> Result<usize, SoapyError> {
        let lens: Vec<usize> = lens.collect();
        if lens.len() != self.channels || lens.windows(2).any(|w| w[0] != w[1]) {
            return Err(SoapyError {
                code: 0,
                message: format!(
                    "{} buffers of lengths {lens:?} for a {}-channel stream",
                    lens.len(),
                    self.channels
                ),
            });
        }
        let n = lens.first().copied().unwrap_or(0);
        if n % 2 != 0 {
            return Err(SoapyError {
                code: 0,
                message: "CS16 buffers hold I/Q pairs: odd length".into(),
            });
        }
        Ok(n / 2)
    }

    /// Reads up to `buffers[c].len() / 2` CS16 samples into each channel buffer.
    /// A negative status (overflow, timeout ...) comes back as `Err` with its
    /// code; after an overflow, flags and time of the error are in the error's
    /// position of the next read.
    pub fn read(
        &mut self,
        buffers: &mut [&mut [i16]],
        timeout_us: i64,
    ) -> Result<ReadResult, (SoapyError, ReadResult)> {
        let n = self
            .check_buffers(buffers.iter().map(|b| b.len()))
            .map_err(|e| {
                (
                    e,
                    ReadResult {
                        samples: 0,
                        flags: 0,
                        time_ns: 0,
                    },
                )
            })?;
        let mut ptrs: Vec<*mut c_void> = buffers
            .iter_mut()
            .map(|b| b.as_mut_ptr() as *mut c_void)
            .collect();
        let mut flags: c_int = 0;
        let mut time_ns: std::ffi::c_longlong = 0;
        // SAFETY: one buffer per stream channel, each holding n CS16 samples.
        let ret = unsafe {
            sys::SoapySDRDevice_readStream(
                self.dev.ptr,
                self.handle,
                ptrs.as_mut_ptr() as *const *mut c_void,
                n,
                &mut flags,
                &mut time_ns,
                timeout_us as std::ffi::c_long,
            )
        };
        let r = ReadResult {
            samples: ret.max(0) as usize,
            flags,
            time_ns,
        };
        if ret < 0 {
            Err((last_error_for_stream(ret), r))
        } else {
            Ok(r)
        }
    }

    /// Writes CS16 samples, at `time_ns` when given; `end_burst` closes the burst.
    /// Returns the samples accepted per channel.
    pub fn write(
        &mut self,
        buffers: &[&[i16]],
        time_ns: Option<i64>,
        end_burst: bool,
        timeout_us: i64,
    ) -> Result<usize, SoapyError> {
        let n = self.check_buffers(buffers.iter().map(|b| b.len()))?;
        let ptrs: Vec<*const c_void> = buffers
            .iter()
            .map(|b| b.as_ptr() as *const c_void)
            .collect();
        let mut flags: c_int = 0;
        if time_ns.is_some() {
            flags |= flag::HAS_TIME;
        }
        if end_burst {
            flags |= flag::END_BURST;
        }
        // SAFETY: one buffer per stream channel, each holding n CS16 samples.
        let ret = unsafe {
            sys::SoapySDRDevice_writeStream(
                self.dev.ptr,
                self.handle,
                ptrs.as_ptr(),
                n,
                &mut flags,
                time_ns.unwrap_or(0),
                timeout_us as std::ffi::c_long,
            )
        };
        if ret < 0 {
            Err(last_error_for_stream(ret))
        } else {
            Ok(ret as usize)
        }
    }

    /// The next asynchronous status event, if one comes within `timeout_us`.
    /// `None` on timeout or when the driver does not report status.
    pub fn read_status(&mut self, timeout_us: i64) -> Option<StreamStatus> {
        let mut mask = 0usize;
        let mut flags: c_int = 0;
        let mut time_ns: std::ffi::c_longlong = 0;
        // SAFETY: valid device and stream; out-parameters are locals.
        let ret = unsafe {
            sys::SoapySDRDevice_readStreamStatus(
                self.dev.ptr,
                self.handle,
                &mut mask,
                &mut flags,
                &mut time_ns,
                timeout_us as std::ffi::c_long,
            )
        };
        if ret == code::TIMEOUT || ret == code::NOT_SUPPORTED {
            None
        } else {
            Some(StreamStatus {
                code: ret,
                flags,
                time_ns,
            })
        }
    }
}

/// Stream calls return their status directly; lastError may be stale.
fn last_error_for_stream(code: i32) -> SoapyError {
    SoapyError {
        code,
        message: String::new(),
    }
}
