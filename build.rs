//! Generates the C headers from the Rust source, and makes the SONAME link.
//!
//! cbindgen's header, with prototypes spelt by typedef name
//! (`shmiface_codegen::use_typedef_names`), becomes include/shmiface.h;
//! the same declarations without any preprocessor line
//! (`shmiface_codegen::ffi_declarations`) become include/shmiface_ffi.h.
//! Both are made in OUT_DIR. With SHMIFACE_UPDATE_HEADER=1 they also
//! replace the committed files; with SHMIFACE_CHECK_HEADER=1 the build fails
//! when either committed file differs from what is generated. The
//! declarations also go to <target dir>/header.h, where maturin's cffi mode
//! looks for them (bindings/python/pyproject.toml).

use std::path::{Path, PathBuf};

/// The generated files: (name in include/ and in OUT_DIR).
const HEADERS: [&str; 2] = ["shmiface.h", "shmiface_ffi.h"];

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for path in ["src/ffi", "cbindgen.toml"] {
        println!("cargo:rerun-if-changed={path}");
    }
    for name in HEADERS {
        println!("cargo:rerun-if-changed=include/{name}");
    }
    println!("cargo:rerun-if-env-changed=SHMIFACE_UPDATE_HEADER");
    println!("cargo:rerun-if-env-changed=SHMIFACE_CHECK_HEADER");
    // The SONAME that -lshmiface programs record and load at run time.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libshmiface.so.1");
    soname_link(&out_dir);

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let mut raw = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/types.rs"))
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut raw);
    let header = shmiface_codegen::use_typedef_names(&String::from_utf8(raw).unwrap());
    let ffi = shmiface_codegen::ffi_declarations(&header)
        .unwrap_or_else(|why| panic!("include/shmiface_ffi.h cannot be generated: {why}"));

    maturin_header(&out_dir, &ffi);
    for (name, fresh) in HEADERS.into_iter().zip([header, ffi]) {
        let generated = out_dir.join(name);
        std::fs::write(&generated, &fresh).expect("OUT_DIR is writable");
        compare(
            &crate_dir.join("include").join(name),
            &generated,
            fresh.as_bytes(),
        );
    }
}

/// Updates, checks or warns about one committed header (see the top).
fn compare(committed: &Path, generated: &Path, fresh: &[u8]) {
    if std::fs::read(committed).unwrap_or_default() == fresh {
        return;
    }
    let shown = committed
        .strip_prefix(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .unwrap_or(committed)
        .display();
    if std::env::var_os("SHMIFACE_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(committed, fresh).unwrap_or_else(|e| panic!("writing {shown}: {e}"));
    } else if std::env::var_os("SHMIFACE_CHECK_HEADER").is_some_and(|v| v == "1") {
        panic!(
            "{shown} is stale: it differs from what build.rs generates ({}). \
             Run `make header` and commit the result.",
            generated.display()
        );
    } else {
        println!("cargo:warning={shown} is stale; run `make header`");
    }
}

/// `libshmiface.so.1 -> libshmiface.so` beside the library cargo is about
/// to link, so that a plain `cargo build` leaves a tree that `-lshmiface`
/// programs run against (they load the SONAME, libshmiface.so.1).
///
/// A build script runs before its own crate is compiled, so the link is
/// made dangling and comes alive when cargo puts libshmiface.so in place.
/// OUT_DIR is <profile dir>/build/<package>-<hash>/out, and the profile dir
/// (target/release, or target/<triple>/release) is where cargo puts it.
fn soname_link(out_dir: &Path) {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let Some(profile_dir) = out_dir.ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join("libshmiface.so.1");
    match std::fs::read_link(&link) {
        Ok(target) if target == Path::new("libshmiface.so") => return,
        Ok(_) => std::fs::remove_file(&link).expect("removing a stale libshmiface.so.1 link"),
        // A real file there is someone's own copy: leave it.
        Err(_) if link.symlink_metadata().is_ok() => return,
        Err(_) => {}
    }
    std::os::unix::fs::symlink("libshmiface.so", &link)
        .unwrap_or_else(|e| panic!("linking {}: {e}", link.display()));
}

/// maturin's cffi mode (bindings/python/pyproject.toml) reads the
/// declarations from <target dir>/header.h when that file exists, and
/// otherwise runs cbindgen over the whole crate, which finds constants that
/// are not the ABI's. The declarations file is what it needs. The target
/// dir is the ancestor of OUT_DIR that cargo marks with CACHEDIR.TAG.
fn maturin_header(out_dir: &Path, ffi: &str) {
    let Some(target_dir) = out_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
    else {
        return;
    };
    let header = target_dir.join("header.h");
    if std::fs::read_to_string(&header).ok().as_deref() != Some(ffi) {
        // Best effort: a read-only target dir only stops a Python build.
        let _ = std::fs::write(&header, ffi);
    }
}
