//! Crash points for test builds (`--features failpoints`): named steps of
//! the protocols where a test makes this process sleep (a preemption) or
//! SIGKILL itself (a crash), so a race that random kills almost never hit
//! is put at its exact step. Without the feature, `fail_point!` expands to
//! nothing and this module holds only the list of names.
//!
//! The points are read once, when the library is loaded, from
//! `SHMIFACE_FAILPOINTS="point=action;..."`: action `sleep(MS)` or `kill`,
//! optionally prefixed `N*` to fire on the first N hits only. An unknown
//! point or a malformed item makes every call of the library fail with
//! `INVALID_ARGUMENT`, so a misspelt test fails loudly.
//!
//! Our own few dozen lines rather than the `fail` crate: the contract's
//! grammar has `kill`, which `fail` lacks, and must reject unknown names,
//! which `fail` accepts silently (its points are registered on first hit).

/// Every point, in protocol order (the contract's stable names).
pub const POINTS: &[&str] = &[
    "write.copying",
    "write.copied",
    "write.published",
    "read.picked",
    "notify.counted",
    "create.reserved",
    "takeover.stale",
    "takeover.owned",
    "destroy.marked",
    // Beyond the contract's list: a mapping's last handle is gone and its
    // descriptor is about to be closed (another thread may be mapping the
    // same object again).
    "release.closing",
];

/// Marks a crash point. Compiles to nothing without the `failpoints` feature.
macro_rules! fail_point {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        $crate::failpoints::hit($name);
    };
}
pub(crate) use fail_point;

#[cfg(feature = "failpoints")]
pub use armed::{check, hit};

#[cfg(feature = "failpoints")]
mod armed {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Duration;

    use super::POINTS;
    use crate::error::{Error, ErrorKind, Result};

    #[derive(Debug, PartialEq)]
    enum Action {
        Sleep(u64),
        Kill,
    }

    #[derive(Debug)]
    struct Rule {
        point: &'static str,
        action: Action,
        /// Hits left to fire on; None: every hit.
        left: Option<AtomicU64>,
    }

    static RULES: OnceLock<std::result::Result<Vec<Rule>, String>> = OnceLock::new();

    // Read at load, as the contract says: a test that changes the
    // environment after loading the library changes nothing.
    #[used]
    #[link_section = ".init_array"]
    static LOAD: extern "C" fn() = load;

    extern "C" fn load() {
        rules();
    }

    fn rules() -> &'static std::result::Result<Vec<Rule>, String> {
        RULES.get_or_init(|| parse(&std::env::var("SHMIFACE_FAILPOINTS").unwrap_or_default()))
    }

    fn parse(spec: &str) -> std::result::Result<Vec<Rule>, String> {
        let mut rules = Vec::new();
        for item in spec.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = |why: &str| format!("SHMIFACE_FAILPOINTS item {item:?}: {why}");
            let (point, action) = item
                .split_once('=')
                .ok_or_else(|| bad("expected point=action"))?;
            let point = POINTS
                .iter()
                .copied()
                .find(|p| *p == point.trim())
                .ok_or_else(|| bad(&format!("unknown point (known: {})", POINTS.join(", "))))?;
            let action = action.trim();
            let (left, action) = match action.split_once('*') {
                Some((n, rest)) => (
                    Some(AtomicU64::new(
                        n.trim()
                            .parse()
                            .map_err(|_| bad("N in N* is not a number"))?,
                    )),
                    rest.trim(),
                ),
                None => (None, action),
            };
            let action = if action == "kill" {
                Action::Kill
            } else if let Some(ms) = action
                .strip_prefix("sleep(")
                .and_then(|a| a.strip_suffix(')'))
            {
                Action::Sleep(
                    ms.trim()
                        .parse()
                        .map_err(|_| bad("sleep(MS) needs a number"))?,
                )
            } else {
                return Err(bad("the action is sleep(MS) or kill"));
            };
            rules.push(Rule {
                point,
                action,
                left,
            });
        }
        Ok(rules)
    }

    /// Every call of the library fails while the configuration is malformed.
    pub fn check() -> Result<()> {
        match rules() {
            Ok(_) => Ok(()),
            Err(why) => Err(Error::new(ErrorKind::InvalidArgument, why.clone())),
        }
    }

    /// The point `name` is reached: do what the configuration says.
    pub fn hit(name: &'static str) {
        debug_assert!(POINTS.contains(&name), "unlisted crash point {name}");
        let Ok(rules) = rules() else { return };
        for rule in rules.iter().filter(|r| r.point == name) {
            if let Some(left) = &rule.left {
                let fire = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if !fire {
                    continue;
                }
            }
            match rule.action {
                Action::Sleep(ms) => std::thread::sleep(Duration::from_millis(ms)),
                Action::Kill => loop {
                    // SAFETY: signalling our own process; SIGKILL does not return.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                },
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_the_contract_grammar() {
            let rules = parse("write.copied=kill; read.picked=2*sleep(500);").unwrap();
            assert_eq!(rules.len(), 2);
            assert_eq!(rules[0].action, Action::Kill);
            assert!(rules[0].left.is_none());
            assert_eq!(rules[1].action, Action::Sleep(500));
            assert_eq!(rules[1].left.as_ref().unwrap().load(Ordering::SeqCst), 2);
            assert!(parse("").unwrap().is_empty());
        }

        #[test]
        fn refuses_unknown_points_and_malformed_items() {
            for bad in [
                "write.copyed=kill",
                "write.copied",
                "write.copied=sleep(x)",
                "write.copied=x*kill",
                "write.copied=panic",
            ] {
                let why = parse(bad).unwrap_err();
                assert!(why.contains(bad.split(';').next().unwrap()), "{why}");
            }
        }
    }
}
