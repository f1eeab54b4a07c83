//! The attachment every sample carries: which version of which segment it
//! is, who sent it, and how big the segment is, so that an importer can
//! create its copy, keep the sender's order and see what it missed.
//!
//! 64 bytes, little-endian, so that any Zenoh client can build one with a
//! struct packer (docs/scale.md shows Python's):
//!
//! | offset | size | field                                                  |
//! | ------ | ---- | ------------------------------------------------------ |
//! | 0      | 4    | magic `shmb`                                           |
//! | 4      | 4    | format, 1                                              |
//! | 8      | 8    | version of this value in the sender's segment (>= 1)   |
//! | 16     | 8    | version the sender sent before this one on this key, 0 |
//! | 24     | 8    | sender id (a bridge's random id)                       |
//! | 32     | 8    | epoch: the sender segment's creation time, ns          |
//! | 40     | 8    | sender segment's capacity                              |
//! | 48     | 4    | sender segment's history                               |
//! | 52     | 4    | reserved, 0                                            |
//! | 56     | 8    | when it was sent, ns since the Unix epoch              |

use std::time::{SystemTime, UNIX_EPOCH};

pub const MAGIC: [u8; 4] = *b"shmb";
pub const FORMAT: u32 = 1;
pub const LEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub version: u64,
    pub prev: u64,
    pub sender: u64,
    pub epoch: u64,
    pub capacity: u64,
    pub history: u32,
    pub sent_unix_ns: u64,
}

impl Attachment {
    pub fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&FORMAT.to_le_bytes());
        out[8..16].copy_from_slice(&self.version.to_le_bytes());
        out[16..24].copy_from_slice(&self.prev.to_le_bytes());
        out[24..32].copy_from_slice(&self.sender.to_le_bytes());
        out[32..40].copy_from_slice(&self.epoch.to_le_bytes());
        out[40..48].copy_from_slice(&self.capacity.to_le_bytes());
        out[48..52].copy_from_slice(&self.history.to_le_bytes());
        out[56..64].copy_from_slice(&self.sent_unix_ns.to_le_bytes());
        out
    }

    /// The attachment in `bytes`, or why it is not one a bridge accepts.
    pub fn decode(bytes: Option<&[u8]>) -> Result<Attachment, String> {
        let b = bytes.ok_or("no attachment")?;
        if b.len() != LEN {
            return Err(format!("attachment is {} bytes, not {LEN}", b.len()));
        }
        if b[0..4] != MAGIC {
            return Err("attachment does not start with \"shmb\"".into());
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        if u32_at(4) != FORMAT {
            return Err(format!("attachment format {} is not {FORMAT}", u32_at(4)));
        }
        let a = Attachment {
            version: u64_at(8),
            prev: u64_at(16),
            sender: u64_at(24),
            epoch: u64_at(32),
            capacity: u64_at(40),
            history: u32_at(48),
            sent_unix_ns: u64_at(56),
        };
        if a.version == 0 {
            return Err("attachment names version 0".into());
        }
        if a.prev >= a.version {
            return Err(format!(
                "attachment's previous version {} is not below its version {}",
                a.prev, a.version
            ));
        }
        Ok(a)
    }
}

pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Attachment {
        Attachment {
            version: 7,
            prev: 5,
            sender: 0xabcdef,
            epoch: 123,
            capacity: 4096,
            history: 64,
            sent_unix_ns: 99,
        }
    }

    #[test]
    fn round_trips() {
        let a = sample();
        assert_eq!(Attachment::decode(Some(&a.encode())), Ok(a));
    }

    #[test]
    fn refuses_what_is_not_one() {
        let good = sample().encode();
        assert!(Attachment::decode(None).is_err());
        assert!(Attachment::decode(Some(&good[..63])).is_err());
        let mut bad = good;
        bad[0] = b'x';
        assert!(Attachment::decode(Some(&bad)).is_err());
        let mut bad = good;
        bad[4] = 2;
        assert!(Attachment::decode(Some(&bad)).is_err());
        let mut bad = good;
        bad[16] = 9; // prev 9 > version 7
        assert!(Attachment::decode(Some(&bad)).is_err());
        let mut bad = good;
        bad[8] = 0; // version 0
        assert!(Attachment::decode(Some(&bad)).is_err());
    }
}
