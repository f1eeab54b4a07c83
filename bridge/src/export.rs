//! Exporting: one thread per local segment follows it with `next` and puts
//! every version it reads on PREFIX/NAME (none is lost while it keeps up
//! with a history segment; what was overwritten before it could read it is
//! counted as lost_out); a queryable on the same key answers late joiners
//! with the kept history, and a liveliness token PREFIX/NAME/ID tells
//! importers when this exporter appears (connects, reconnects). Local versions written by this bridge's imports
//! are never sent (no echo).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use shmiface::{ErrorKind, Segment};
use zenoh::qos::CongestionControl;
use zenoh::query::Query;
use zenoh::Wait;

use crate::attachment::{now_unix_ns, Attachment};
use crate::ctx::{log, Ctx};
use crate::glob::Pattern;
use crate::progress::Progress;
use crate::stats::add;

/// How often a waiting exporter looks at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// The exporters running, and the scan of /dev/shm that starts them.
pub struct Exports {
    patterns: Vec<Pattern>,
    running: HashMap<String, JoinHandle<()>>,
    /// Names whose failure to attach was logged already.
    told: HashSet<String>,
}

impl Exports {
    pub fn new(patterns: Vec<Pattern>) -> Exports {
        Exports {
            patterns,
            running: HashMap::new(),
            told: HashSet::new(),
        }
    }

    /// Starts an exporter for each matching segment that has none.
    pub fn scan(&mut self, ctx: &Arc<Ctx>) {
        if self.patterns.is_empty() {
            return;
        }
        self.running.retain(|_, h| !h.is_finished());
        let mut names: Vec<String> = Vec::new();
        if self.patterns.iter().any(Pattern::is_glob) {
            if let Ok(dir) = std::fs::read_dir(shmiface::SHM_DIR) {
                for entry in dir.flatten() {
                    if let Some(name) = entry.file_name().to_str() {
                        if !name.starts_with('.') && self.patterns.iter().any(|p| p.matches(name)) {
                            names.push(name.to_owned());
                        }
                    }
                }
            }
        }
        for p in self.patterns.iter().filter(|p| !p.is_glob()) {
            if std::path::Path::new(shmiface::SHM_DIR)
                .join(p.as_str())
                .exists()
            {
                names.push(p.as_str().to_owned());
            }
        }
        for name in names {
            if self.running.contains_key(&name) {
                continue;
            }
            match Segment::attach(&name) {
                Ok(seg) => {
                    self.told.remove(&name);
                    let ctx = ctx.clone();
                    let thread_name = name.clone();
                    let spawned = std::thread::Builder::new()
                        .name(format!("export {name}"))
                        .spawn(move || run(&ctx, seg, &thread_name));
                    match spawned {
                        Ok(handle) => {
                            self.running.insert(name, handle);
                        }
                        Err(e) => log(format_args!("export {name}: no thread: {e}")),
                    }
                }
                Err(e) => {
                    if self.told.insert(name.clone()) {
                        log(format_args!("export {name}: {e} (trying again)"));
                    }
                }
            }
        }
    }

    pub fn join(self) {
        for (_, handle) in self.running {
            let _ = handle.join();
        }
    }
}

/// What a sample says about the segment it comes from.
struct Source {
    sender: u64,
    epoch: u64,
    capacity: u64,
    history: u32,
}

impl Source {
    fn attachment(&self, version: u64, prev: u64) -> Attachment {
        Attachment {
            version,
            prev,
            sender: self.sender,
            epoch: self.epoch,
            capacity: self.capacity,
            history: self.history,
            sent_unix_ns: now_unix_ns(),
        }
    }
}

fn run(ctx: &Arc<Ctx>, seg: Segment, name: &str) {
    if let Err(e) = follow(ctx, Arc::new(seg), name) {
        log(format_args!("export {name}: {e}"));
    }
}

fn follow(ctx: &Arc<Ctx>, seg: Arc<Segment>, name: &str) -> Result<(), String> {
    let info = seg.info().map_err(|e| e.to_string())?;
    let source = Arc::new(Source {
        sender: ctx.id,
        epoch: info.created_unix_ns,
        capacity: seg.capacity(),
        history: seg.history(),
    });
    let key = ctx.key(name);
    let publisher = ctx
        .session
        .declare_publisher(key.clone())
        .congestion_control(CongestionControl::Block)
        .wait()
        .map_err(|e| format!("publisher on {key}: {e}"))?;
    let _queryable = {
        let (ctx, seg, source, name) = (ctx.clone(), seg.clone(), source.clone(), name.to_owned());
        ctx.clone()
            .session
            .declare_queryable(key.clone())
            .callback(move |query| answer(&ctx, &seg, &source, &name, &query))
            .wait()
            .map_err(|e| format!("queryable on {key}: {e}"))?
    };
    // Importers fetch when it appears: a put made before they were
    // connected (or while the link was down) would otherwise wait for the
    // next one to be noticed.
    let token = format!("{key}/{:016x}", ctx.id);
    let _token = ctx
        .session
        .liveliness()
        .declare_token(token.clone())
        .wait()
        .map_err(|e| format!("liveliness token {token}: {e}"))?;
    log(format_args!(
        "exporting {name} on {key} (capacity {}, history {})",
        source.capacity, source.history
    ));
    // The current value first, so a peer that missed versions (this bridge
    // was down) sees the gap and fetches the kept history.
    let mut after = info.version.saturating_sub(1);
    let mut prev = 0;
    let mut buf = vec![0u8; seg.capacity() as usize];
    let mut own = Own::default();
    // Gaps seen, for a log that stays readable when a writer runs far ahead.
    let mut skipped: u64 = 0;
    while !ctx.stopping() {
        let snap = match seg.next_into(after, &mut buf, Some(POLL)) {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::Timeout => continue,
            Err(e) if e.kind() == ErrorKind::Destroyed => {
                log(format_args!("export {name}: the segment was destroyed"));
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        let version = snap.version;
        let own = own.of(ctx, name);
        let is_own = |v: u64| own.is_some_and(|p| p.wrote(v));
        if version > after + 1 && prev != 0 {
            let gap = version - after - 1;
            let lost = if gap <= u64::from(source.history) {
                (after + 1..version).filter(|&v| !is_own(v)).count() as u64
            } else {
                gap
            };
            add(&ctx.stats.lost_out, lost);
            skipped += 1;
            if lost > 0 && (skipped <= 10 || skipped % 1000 == 0) {
                log(format_args!(
                    "export {name}: {lost} version(s) between {after} and {version} were \
                     overwritten before they could be sent (lost_out)"
                ));
            }
        }
        after = version;
        if is_own(version) {
            continue;
        }
        let data = &buf[..snap.len];
        let attachment = source.attachment(version, prev);
        publisher
            .put(data.to_vec())
            .attachment(attachment.encode().to_vec())
            .wait()
            .map_err(|e| format!("put on {key}: {e}"))?;
        prev = version;
        add(&ctx.stats.out, 1);
        add(&ctx.stats.out_bytes, data.len() as u64);
    }
    Ok(())
}

/// This name's import marks, looked up again only when the registry changed.
#[derive(Default)]
struct Own {
    generation: Option<u64>,
    progress: Option<Arc<Progress>>,
}

impl Own {
    fn of(&mut self, ctx: &Ctx, name: &str) -> Option<&Progress> {
        let now = ctx.progress.generation();
        if self.generation != Some(now) {
            self.progress = ctx.progress.get(name);
            self.generation = Some(now);
        }
        self.progress.as_deref()
    }
}

/// Replies with every kept version, oldest first, each with its attachment.
fn answer(ctx: &Ctx, seg: &Segment, source: &Source, name: &str, query: &Query) {
    add(&ctx.stats.queries, 1);
    let Ok(info) = seg.info() else { return };
    let key = ctx.key(name);
    let own = ctx.progress.get(name);
    let mut buf = vec![0u8; seg.capacity() as usize];
    let mut after = info.oldest_version.saturating_sub(1);
    // `?after=V;epoch=E`: the asker has every version up to V of this
    // segment already (any other epoch is another segment: all of it).
    let params = query.parameters();
    let number = |k: &str| params.get(k).and_then(|v| v.parse::<u64>().ok());
    if let (Some(known), Some(epoch)) = (number("after"), number("epoch")) {
        if epoch == source.epoch {
            after = after.max(known);
        }
    }
    let mut prev = 0;
    while after < info.version {
        let Ok(snap) = seg.next_into(after, &mut buf, Some(Duration::ZERO)) else {
            break;
        };
        after = snap.version;
        if own.as_ref().is_some_and(|p| p.wrote(snap.version)) {
            continue;
        }
        let attachment = source.attachment(snap.version, prev);
        prev = snap.version;
        if let Err(e) = query
            .reply(key.clone(), buf[..snap.len].to_vec())
            .attachment(attachment.encode().to_vec())
            .wait()
        {
            log(format_args!("export {name}: reply to a query: {e}"));
            return;
        }
    }
}
