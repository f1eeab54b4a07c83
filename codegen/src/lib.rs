//! The text transforms build.rs applies to cbindgen's output. They live in
//! their own crate, rather than in build.rs, so that `cargo test -p
//! shmiface-codegen` can check them on headers the library does not have
//! yet (the functions and constants of a later ABI).
//!
//! - [`typedef_names`]: prototypes and fields name `shmiface_info`, not
//!   `struct shmiface_info`, while the definitions keep their tags.
//! - [`ffi_decls`]: the header as bare C declarations, with no
//!   preprocessor line, for FFIs that parse C (cffi, LuaJIT, koffi).

pub mod ffi_decls;
pub mod typedef_names;

pub use ffi_decls::ffi_declarations;
pub use typedef_names::use_typedef_names;
