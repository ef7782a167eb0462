//! Tells the tests which instruction sets the build machine has
//! (`cfg(host_avx2)`, `cfg(host_avx512)`), so that a twin test of a kernel
//! this CPU cannot run is reported as ignored with its reason instead of
//! passing silently. The library itself detects the CPU at run time and does
//! not use the cfg.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(host_avx2)");
    println!("cargo::rustc-check-cfg=cfg(host_avx512)");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        println!("cargo:rustc-cfg=host_avx2");
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        println!("cargo:rustc-cfg=host_avx512");
    }
}
