//! Compiles the C half of the library: the variadic entry points Rust cannot define
//! (`sasl_seterror`, and the `log`/`seterror` entries of `sasl_utils_t`), in `c/`. They go
//! into the Rust library itself, so every artifact that links it (`libsasl2.so.2` through
//! `build.sh`, the Rust test binaries, the fuzz targets) has them.

fn main() {
    println!("cargo::rerun-if-changed=c/seterror.c");
    println!("cargo::rerun-if-changed=c/utils.c");
    cc::Build::new()
        .file("c/seterror.c")
        .file("c/utils.c")
        .warnings(true)
        .extra_warnings(true)
        .compile("puresasl_varargs");
}
