//! Segment names: the rule of the ABI, and the paths a valid name maps to.

use std::ffi::CString;
use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};

pub const MAX_NAME_LEN: usize = 200;

/// Where POSIX shared-memory objects live on Linux (glibc's `shm_open`).
pub const SHM_DIR: &str = "/dev/shm";

/// A checked segment name: 1..=200 bytes of `[A-Za-z0-9._-]`, not starting
/// with `.`. The rule keeps every name inside `/dev/shm` (no `/`, no `..`)
/// and leaves names starting with `.` free for nobody.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub fn new(name: &str) -> Result<Name> {
        let invalid = |why: &str| {
            Err(Error::new(
                ErrorKind::InvalidName,
                format!("invalid segment name {name:?}: {why}"),
            ))
        };
        if name.is_empty() {
            return invalid("it is empty");
        }
        if name.len() > MAX_NAME_LEN {
            return invalid("it is longer than 200 bytes");
        }
        if name.starts_with('.') {
            return invalid("it starts with '.'");
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return invalid(&format!("{bad:?} is not one of [A-Za-z0-9._-]"));
        }
        Ok(Name(name.to_owned()))
    }

    /// Checks raw bytes (from C): they must be UTF-8 and follow the rule.
    pub fn from_bytes(bytes: &[u8]) -> Result<Name> {
        match std::str::from_utf8(bytes) {
            Ok(name) => Name::new(name),
            Err(_) => Err(Error::new(
                ErrorKind::InvalidName,
                "invalid segment name: it is not UTF-8",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as `shm_open` takes it: `/<name>`.
    pub fn shm_name(&self) -> CString {
        CString::new(format!("/{}", self.0)).expect("a checked name holds no NUL")
    }

    /// The file behind the object, for `stat` without opening it.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(SHM_DIR).join(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "camera", "A-z_0.9", "x.", &"n".repeat(200)] {
            assert!(Name::new(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            ".hidden",
            "..",
            "a/b",
            "/abs",
            "sp ace",
            "é",
            "a\nb",
            &"n".repeat(201),
        ] {
            let err = Name::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidName, "{bad:?}");
            assert!(!err.detail().is_empty());
        }
        assert_eq!(
            Name::from_bytes(b"\xff").unwrap_err().kind(),
            ErrorKind::InvalidName
        );
    }

    #[test]
    fn maps_to_dev_shm() {
        let n = Name::new("cam").unwrap();
        assert_eq!(n.shm_name().to_str().unwrap(), "/cam");
        assert_eq!(n.path(), PathBuf::from("/dev/shm/cam"));
    }
}
