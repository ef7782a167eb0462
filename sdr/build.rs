//! With the `soapy` feature, builds the project's loopback SoapySDR device
//! (soapy-loopback/loopback.cpp) as a plugin module and tells the crate
//! where it is (`RANLAB_SOAPY_LOOPBACK`), so tests and the `ranlab` binary
//! can load it into libSoapySDR without installing anything.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "soapy")]
    soapy::build_loopback_plugin();
}

#[cfg(feature = "soapy")]
mod soapy {
    use std::path::PathBuf;
    use std::process::Command;

    pub fn build_loopback_plugin() {
        let src = "soapy-loopback/loopback.cpp";
        println!("cargo:rerun-if-changed={src}");
        let out =
            PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("soapy-modules");
        std::fs::create_dir_all(&out).expect("create plugin directory");
        let lib = out.join("libranlabLoopback.so");

        let soapy = pkg_config::Config::new()
            .atleast_version("0.8")
            .cargo_metadata(false)
            .probe("SoapySDR")
            .unwrap_or_else(|e| {
                panic!("the soapy feature needs libSoapySDR (libsoapysdr-dev): {e}")
            });

        // cc finds the C++ compiler and its flags for the target; a SoapySDR
        // module is a shared library, which cc's archive step does not make,
        // so the compiler is run once here with -shared.
        let compiler = cc::Build::new()
            .cpp(true)
            .opt_level(2)
            .pic(true)
            .warnings(true)
            .get_compiler();
        let mut cmd: Command = compiler.to_command();
        cmd.args(["-std=c++14", "-shared", "-o"]).arg(&lib).arg(src);
        for inc in &soapy.include_paths {
            cmd.arg("-I").arg(inc);
        }
        for dir in &soapy.link_paths {
            cmd.arg("-L").arg(dir);
        }
        for l in &soapy.libs {
            cmd.arg(format!("-l{l}"));
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("running the C++ compiler: {e}"));
        assert!(status.success(), "building {src} failed ({status})");
        println!("cargo:rustc-env=RANLAB_SOAPY_LOOPBACK={}", lib.display());
    }
}
