//! How results look: aligned tables and key/value lists for people, JSON
//! for scripts, one-line errors, and colours only on a terminal with
//! NO_COLOR unset (https://no-color.org).

use std::io::{self, IsTerminal, Write};

use serde_json::{json, Value};
use shmiface::Info;

use crate::scan::Entry;

/// ANSI colours, or nothing.
#[derive(Clone, Copy)]
pub struct Palette {
    on: bool,
}

#[derive(Clone, Copy)]
pub enum Tone {
    Plain,
    Bold,
    Good,
    Bad,
    Dim,
}

impl Palette {
    fn wanted(terminal: bool) -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Palette {
            on: terminal && !no_color,
        }
    }

    pub fn stdout() -> Palette {
        Palette::wanted(io::stdout().is_terminal())
    }

    pub fn stderr() -> Palette {
        Palette::wanted(io::stderr().is_terminal())
    }

    pub fn paint(self, tone: Tone, text: &str) -> String {
        let code = match tone {
            Tone::Plain => return text.to_owned(),
            Tone::Bold => "1",
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Dim => "2",
        };
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Collapses a detail to one line, whatever it contains.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `SUBJECT: ` before a detail, or nothing when there is no subject to
/// name (`get ''`): the detail then says what was wrong with it.
fn subject_prefix(subject: &str) -> String {
    if subject.is_empty() {
        String::new()
    } else {
        format!("{subject}: ")
    }
}

/// `shmiface: SUBJECT: DETAIL` on standard error: the one line of an error.
pub fn error_line(subject: &str, detail: &str) {
    let p = Palette::stderr();
    let _ = writeln!(
        io::stderr().lock(),
        "{} {}{}",
        p.paint(Tone::Bad, "shmiface:"),
        subject_prefix(subject),
        one_line(detail)
    );
}

/// `shmiface: SUBJECT: TEXT` on standard error, for what is not an error
/// but explains one (a timeout) or a wait (a dead owner).
pub fn note(subject: &str, text: &str) {
    let _ = writeln!(
        io::stderr().lock(),
        "shmiface: {}{}",
        subject_prefix(subject),
        one_line(text)
    );
}

/// Permission bits as people write them: 0640.
pub fn mode(bits: u32) -> String {
    format!("{bits:04o}")
}

/// A time in nanoseconds since the Unix epoch as RFC 3339 UTC, to the
/// millisecond: 2026-01-31T12:34:56.789Z.
pub fn utc(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let millis = (unix_ns % 1_000_000_000) / 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Everything `info` shows, in the order it shows it.
pub fn info_fields(name: &str, info: &Info) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(name)),
        ("capacity", json!(info.capacity)),
        ("length", json!(info.length)),
        ("version", json!(info.version)),
        ("notify_count", json!(info.notify_count)),
        ("waiters", json!(info.waiters)),
        ("mode", json!(mode(info.mode))),
        ("owner_pid", json!(info.owner_pid)),
        ("owner_alive", json!(info.owner_alive)),
        ("is_owner", json!(info.is_owner)),
        ("destroyed", json!(info.destroyed)),
        ("persistent", json!(info.persistent)),
        ("read_only", json!(info.read_only)),
        ("layout_version", json!(info.layout_version)),
        ("created", json!(utc(info.created_unix_ns))),
        ("created_unix_ns", json!(info.created_unix_ns)),
        ("mapping_size", json!(info.mapping_size)),
        ("lock_recoveries", json!(info.lock_recoveries)),
        ("history", json!(info.history)),
        ("oldest_version", json!(info.oldest_version)),
    ]
}

pub fn info_json(name: &str, info: &Info) -> String {
    let map: serde_json::Map<String, Value> = info_fields(name, info)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    pretty(&Value::Object(map))
}

/// `key  value` lines, the keys aligned.
pub fn info_text(name: &str, info: &Info) -> String {
    let p = Palette::stdout();
    let fields = info_fields(name, info);
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in fields {
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let tone = match (key, &value) {
            ("owner_alive", Value::Bool(true)) => Tone::Good,
            ("owner_alive", Value::Bool(false)) | ("destroyed", Value::Bool(true)) => Tone::Bad,
            _ => Tone::Plain,
        };
        let label = format!("{key:<width$}");
        out.push_str(&format!(
            "{}  {}\n",
            p.paint(Tone::Bold, &label),
            p.paint(tone, &shown)
        ));
    }
    out
}

/// One element of `ls --json`.
pub fn entry_json(entry: &Entry) -> Value {
    match entry {
        Entry::Segment { name, info } => json!({
            "name": name,
            "kind": "segment",
            "capacity": info.capacity,
            "length": info.length,
            "version": info.version,
            "notify_count": info.notify_count,
            "waiters": info.waiters,
            "mode": mode(info.mode),
            "owner_pid": info.owner_pid,
            "owner_alive": info.owner_alive,
            "persistent": info.persistent,
            "destroyed": info.destroyed,
        }),
        Entry::Other { name, kind, detail } => json!({
            "name": name,
            "kind": kind.label(),
            "detail": detail,
        }),
    }
}

pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    text
}

const HEADINGS: [&str; 9] = [
    "NAME", "CAPACITY", "LENGTH", "VERSION", "OWNER", "STATE", "WAITERS", "MODE", "NOTE",
];
/// Columns aligned to the right (numbers).
const RIGHT: [bool; 9] = [false, true, true, true, true, false, true, false, false];

/// The `ls` table: one row per entry, the last column free text.
pub fn table(entries: &[Entry]) -> String {
    let p = Palette::stdout();
    let rows: Vec<Vec<(String, Tone)>> = entries.iter().map(row).collect();
    let mut widths = HEADINGS.map(str::len);
    for row in &rows {
        for (w, (cell, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<(String, Tone)>| {
        let last = cells.len() - 1;
        let mut out = String::new();
        for (i, (cell, tone)) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let padded = if i == last {
                cell
            } else if RIGHT[i] {
                format!("{}{cell}", " ".repeat(pad))
            } else {
                format!("{cell}{}", " ".repeat(pad))
            };
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(&p.paint(tone, &padded));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(
        HEADINGS
            .iter()
            .map(|h| (h.to_string(), Tone::Bold))
            .collect(),
    );
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

fn row(entry: &Entry) -> Vec<(String, Tone)> {
    let plain = |s: String| (s, Tone::Plain);
    match entry {
        Entry::Segment { name, info } => {
            let (state, tone) = if info.destroyed {
                ("destroyed", Tone::Bad)
            } else if info.owner_alive {
                ("alive", Tone::Good)
            } else {
                ("dead", Tone::Bad)
            };
            let mut notes = Vec::new();
            if info.persistent {
                notes.push("persistent");
            }
            if info.read_only {
                notes.push("read-only");
            }
            vec![
                plain(name.clone()),
                plain(info.capacity.to_string()),
                plain(info.length.to_string()),
                plain(info.version.to_string()),
                plain(info.owner_pid.to_string()),
                (state.to_owned(), tone),
                plain(info.waiters.to_string()),
                plain(mode(info.mode)),
                plain(notes.join(", ")),
            ]
        }
        Entry::Other { name, kind, detail } => {
            let mut cells = vec![plain(name.clone())];
            cells.extend((0..4).map(|_| ("-".to_owned(), Tone::Dim)));
            cells.push((kind.label().to_owned(), Tone::Dim));
            cells.extend((0..2).map(|_| ("-".to_owned(), Tone::Dim)));
            cells.push((one_line(detail), Tone::Dim));
            cells
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day) 12:34:56.789
        assert_eq!(utc(951_827_696_789_000_000), "2000-02-29T12:34:56.789Z");
        assert_eq!(utc(1_767_225_599_000_000_000), "2025-12-31T23:59:59.000Z");
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(mode(0o600), "0600");
        assert_eq!(mode(0o4755), "4755");
    }

    #[test]
    fn details_become_one_line() {
        assert_eq!(one_line("a\nb\t c "), "a b c");
    }

    #[test]
    fn an_empty_subject_is_not_shown() {
        assert_eq!(subject_prefix(""), "");
        assert_eq!(subject_prefix("camera"), "camera: ");
    }
}
