//! The project's loopback SoapySDR device (`driver=ranlab_loopback`, built
//! by `build.rs` from `sdr/soapy-loopback/loopback.cpp`): where it is and
//! how it is loaded into libSoapySDR.

use std::sync::OnceLock;

/// Path of the loopback device plugin built with this crate.
pub fn loopback_module_path() -> &'static str {
    env!("RANLAB_SOAPY_LOOPBACK")
}

/// Loads the project's loopback device (`driver=ranlab_loopback`) into
/// libSoapySDR, once per process. [`SoapyRadio::open`] and the probe call it,
/// so the device is available wherever this crate was built; the module can
/// also be installed by putting its directory on `SOAPY_SDR_PLUGIN_PATH`
/// (then this call finds it already registered and does nothing).
pub fn load_loopback_module() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = loopback_module_path();
            let dir = std::path::Path::new(path).parent();
            let on_plugin_path = std::env::var_os("SOAPY_SDR_PLUGIN_PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| Some(d.as_path()) == dir));
            if on_plugin_path {
                return Ok(());
            }
            if !std::path::Path::new(path).exists() {
                return Err(format!(
                    "loopback module {path} is missing (rebuild ranlab-sdr with the soapy feature)"
                ));
            }
            let c = std::ffi::CString::new(path).map_err(|e| e.to_string())?;
            // SAFETY: c outlives the call; the returned message is ours to free.
            let msg = unsafe {
                let p = soapysdr_sys::SoapySDR_loadModule(c.as_ptr());
                if p.is_null() {
                    String::new()
                } else {
                    let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
                    soapysdr_sys::SoapySDR_free(p as *mut std::ffi::c_void);
                    s
                }
            };
            if msg.is_empty() {
                Ok(())
            } else {
                Err(format!("loading {path}: {msg}"))
            }
        })
        .clone()
}
