//! `--export`/`--import` patterns: a segment name, or a glob of one
//! (`*` any run of characters, `?` any one), and the Zenoh key expression
//! that covers the names it matches.

use shmiface::name::Name;

#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        let is_glob = text.contains(['*', '?']);
        let plain = text.replace(['*', '?'], "x");
        // The rule of names holds for the fixed parts too, so that a pattern
        // can only match names a segment can have.
        if plain.is_empty() || (!is_glob && Name::new(text).is_err()) {
            return Err(format!("{text:?} is not a segment name or a glob of one"));
        }
        if let Some(bad) = plain
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!("{text:?}: {bad:?} is not one of [A-Za-z0-9._-*?]"));
        }
        Ok(Pattern { text: text.into() })
    }

    pub fn is_glob(&self) -> bool {
        self.text.contains(['*', '?'])
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.text.as_bytes(), name.as_bytes())
    }

    /// The key expression under `prefix` for the names this matches. `?`
    /// has no Zenoh equivalent: its chunk becomes `*` and `matches`
    /// filters what arrives.
    pub fn key_expr(&self, prefix: &str) -> String {
        let chunk = if self.text.contains('?') || self.text.chars().all(|c| c == '*') {
            "*".to_owned()
        } else {
            // `$*` is Zenoh's wildcard inside a chunk; `**$*` runs are one.
            let mut out = String::new();
            for c in self.text.chars() {
                if c == '*' {
                    if !out.ends_with("$*") {
                        out.push_str("$*");
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        format!("{prefix}/{chunk}")
    }
}

fn glob_match(p: &[u8], s: &[u8]) -> bool {
    // Iterative with one backtrack point: linear enough for 200-byte names.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        let p = Pattern::new("robot.*").unwrap();
        assert!(p.matches("robot.arm") && p.matches("robot."));
        assert!(!p.matches("robotarm") && !p.matches("xrobot.arm"));
        let q = Pattern::new("cam?.*.raw").unwrap();
        assert!(q.matches("cam1.left.raw") && !q.matches("cam12.left.raw"));
        assert!(Pattern::new("*").unwrap().matches("anything"));
        assert!(Pattern::new("exact").unwrap().matches("exact"));
        assert!(!Pattern::new("exact").unwrap().matches("exactly"));
    }

    #[test]
    fn key_expressions_cover_the_matches() {
        let k = |p: &str| Pattern::new(p).unwrap().key_expr("shmiface");
        assert_eq!(k("camera"), "shmiface/camera");
        assert_eq!(k("robot.*"), "shmiface/robot.$*");
        assert_eq!(k("a**b"), "shmiface/a$*b");
        assert_eq!(k("*"), "shmiface/*");
        assert_eq!(k("cam?"), "shmiface/*");
    }

    #[test]
    fn refuses_what_no_name_matches() {
        for bad in ["", "a/b", ".hidden", "sp ace", "a$b"] {
            assert!(Pattern::new(bad).is_err(), "{bad:?}");
        }
    }
}
