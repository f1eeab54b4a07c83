//! Generates the C header from the Rust source with cbindgen.
//!
//! The generated header goes to OUT_DIR. With SHMIFACE_UPDATE_HEADER=1 it
//! also replaces include/shmiface.h; with SHMIFACE_CHECK_HEADER=1 the build
//! fails when the committed include/shmiface.h differs from it.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for path in ["src/ffi", "cbindgen.toml"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-changed=include/shmiface.h");
    println!("cargo:rerun-if-env-changed=SHMIFACE_UPDATE_HEADER");
    println!("cargo:rerun-if-env-changed=SHMIFACE_CHECK_HEADER");
    // The SONAME that -lshmiface programs record and load at run time.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libshmiface.so.1");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let generated = out_dir.join("shmiface.h");
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/types.rs"))
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write_to_file(&generated);

    let committed = crate_dir.join("include/shmiface.h");
    let fresh = std::fs::read(&generated).unwrap();
    let on_disk = std::fs::read(&committed).unwrap_or_default();
    if fresh == on_disk {
        return;
    }
    if std::env::var_os("SHMIFACE_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&committed, &fresh).expect("include/shmiface.h is writable");
    } else if std::env::var_os("SHMIFACE_CHECK_HEADER").is_some_and(|v| v == "1") {
        panic!(
            "include/shmiface.h is stale: it differs from what cbindgen generates ({}). \
             Run `make header` and commit the result.",
            generated.display()
        );
    } else {
        println!("cargo:warning=include/shmiface.h is stale; run `make header`");
    }
}
