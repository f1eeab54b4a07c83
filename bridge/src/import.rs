//! Importing: every sample on PREFIX/NAME of an imported name is written
//! into the local segment NAME, in the sender's order, each source version
//! at most once (also across a kill: progress.rs). A late start, and any
//! sample whose `prev` is not the version written last (this bridge or the
//! sender was down, the link was cut), fetch the sender's kept history
//! with a query first. One thread does every write, so a name's writes
//! never race each other.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use shmiface::{ErrorKind, Options, Segment};
use zenoh::query::{ConsolidationMode, QueryTarget};
use zenoh::sample::Sample;
use zenoh::Wait;

use crate::attachment::{now_unix_ns, Attachment};
use crate::ctx::{log, Ctx};
use crate::glob::Pattern;
use crate::progress::Progress;
use crate::stats::add;

const POLL: Duration = Duration::from_millis(200);
/// How long a history fetch waits for the senders' replies.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Samples queued between Zenoh and the writer; a full queue holds Zenoh
/// back, and with it the sender (congestion control: block).
const QUEUE: usize = 4096;

struct Target {
    seg: Segment,
    owned: bool,
    progress: Arc<Progress>,
}

pub struct Importer {
    patterns: Vec<Pattern>,
    targets: HashMap<String, Target>,
    rx: Receiver<Sample>,
    /// Live samples taken off the queue during a fetch, to be written
    /// after it: the queue keeps moving, so Zenoh, whose replies arrive on
    /// the same link as the samples, is never held back by a full queue.
    held: VecDeque<Sample>,
}

/// Subscribes to every pattern's key expression and runs the writer
/// thread until the stop flag.
pub fn spawn(ctx: Arc<Ctx>, patterns: Vec<Pattern>) -> Result<std::thread::JoinHandle<()>, String> {
    let (tx, rx) = mpsc::sync_channel::<Sample>(QUEUE);
    let mut subscribers = Vec::new();
    for p in &patterns {
        let key = p.key_expr(&ctx.prefix);
        let tx: SyncSender<Sample> = tx.clone();
        let sub = ctx
            .session
            .declare_subscriber(key.clone())
            .callback(move |sample| {
                let _ = tx.send(sample);
            })
            .wait()
            .map_err(|e| format!("subscriber on {key}: {e}"))?;
        log(format_args!("importing {} from {key}", p.as_str()));
        subscribers.push(sub);
    }
    drop(tx);
    std::thread::Builder::new()
        .name("import".into())
        .spawn(move || {
            let mut importer = Importer {
                patterns,
                targets: HashMap::new(),
                rx,
                held: VecDeque::new(),
            };
            importer.run(&ctx);
            drop(subscribers);
            importer.close(&ctx);
        })
        .map_err(|e| format!("import thread: {e}"))
}

impl Importer {
    fn run(&mut self, ctx: &Ctx) {
        // Late join: what the senders keep, before the live samples queued
        // meanwhile (those already written are skipped as duplicates).
        let keys: Vec<String> = self
            .patterns
            .iter()
            .map(|p| {
                let key = p.key_expr(&ctx.prefix);
                // A restart asks an exact name's sender only for what is new.
                match ctx.progress.get(p.as_str()).filter(|_| !p.is_glob()) {
                    Some(done) => format!("{key}?after={};epoch={}", done.last(), done.epoch()),
                    None => key,
                }
            })
            .collect();
        for key in keys {
            self.fetch(ctx, &key, None);
        }
        while !ctx.stopping() {
            if let Some(sample) = self.held.pop_front() {
                self.take(ctx, &sample, true);
                continue;
            }
            match self.rx.recv_timeout(POLL) {
                Ok(sample) => self.take(ctx, &sample, true),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Asks the senders on `key` for their kept history and writes it, in
    /// version order, up to (not including) version `until` of `name`.
    fn fetch(&mut self, ctx: &Ctx, key: &str, until: Option<(&str, u64)>) {
        add(&ctx.stats.fetches, 1);
        let replies = match ctx
            .session
            .get(key)
            .target(QueryTarget::All)
            .consolidation(ConsolidationMode::None)
            .timeout(FETCH_TIMEOUT)
            .wait()
        {
            Ok(r) => r,
            Err(e) => {
                log(format_args!("fetching {key}: {e}"));
                return;
            }
        };
        let mut samples: Vec<(String, u64, Sample)> = Vec::new();
        loop {
            while let Ok(live) = self.rx.try_recv() {
                self.held.push_back(live);
            }
            let reply = match replies.recv_timeout(Duration::from_millis(5)) {
                Ok(Some(reply)) => reply,
                Ok(None) => continue,
                Err(_) => break, // every sender replied, or the timeout
            };
            let Ok(sample) = reply.result() else { continue };
            let Some(name) = ctx.name_of(sample.key_expr().as_str()) else {
                continue;
            };
            let version = Attachment::decode(sample.attachment().map(|a| a.to_bytes()).as_deref())
                .map(|a| a.version)
                .unwrap_or(0);
            if let Some((only, until)) = until {
                if name != only || version >= until {
                    continue;
                }
            }
            samples.push((name.to_owned(), version, sample.clone()));
        }
        samples.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (_, _, sample) in samples {
            self.take(ctx, &sample, false);
        }
    }

    /// Writes one sample if it is good and new. `live`: from the
    /// subscription (which may find a gap and fetch), not from a fetch.
    fn take(&mut self, ctx: &Ctx, sample: &Sample, live: bool) {
        let key = sample.key_expr().as_str();
        let Some(name) = ctx.name_of(key) else {
            return ctx.bad(format_args!("{key}: not a key under {}/", ctx.prefix));
        };
        if !self.patterns.iter().any(|p| p.matches(name)) {
            return ctx.bad(format_args!("{key}: {name:?} matches no --import"));
        }
        let att = match Attachment::decode(sample.attachment().map(|a| a.to_bytes()).as_deref()) {
            Ok(a) => a,
            Err(why) => return ctx.bad(format_args!("{key}: {why}")),
        };
        if att.sender == ctx.id {
            return;
        }
        let payload = sample.payload().to_bytes();
        let name = name.to_owned();
        let target = match self.target(ctx, &name, &att) {
            Ok(t) => t,
            Err(e) => return ctx.bad(format_args!("{key}: local segment {name}: {e}")),
        };
        let capacity = target.seg.capacity();
        let progress = target.progress.clone();
        if progress.epoch() != att.epoch {
            // Another source segment (a new one, or another sender): its
            // versions count from its own start.
            progress.restart(att.epoch);
        }
        if att.version <= progress.last() {
            add(&ctx.stats.dup, 1);
            return;
        }
        if payload.len() as u64 > capacity {
            // Dealt with, as far as the order goes: the next version follows
            // on from it, and a history fetch does not refuse it again.
            progress.skip(att.version);
            return ctx.bad(format_args!(
                "{key}: version {} is {} bytes, over {name}'s capacity of {capacity}",
                att.version,
                payload.len(),
            ));
        }
        if live && att.prev != progress.last() {
            let selector = format!("{key}?after={};epoch={}", progress.last(), progress.epoch());
            self.fetch(ctx, &selector, Some((&name, att.version)));
            if att.prev > progress.last() {
                add(&ctx.stats.lost_in, att.prev - progress.last());
            }
            if progress.epoch() != att.epoch {
                progress.restart(att.epoch);
            }
            if att.version <= progress.last() {
                add(&ctx.stats.dup, 1);
                return;
            }
        }
        let Some(target) = self.targets.get(&name) else {
            return;
        };
        if let Err(e) = write(&target.seg, &progress, att.version, &payload) {
            return ctx.bad(format_args!("{key}: writing {name}: {e}"));
        }
        add(&ctx.stats.inn, 1);
        add(&ctx.stats.in_bytes, payload.len() as u64);
        ctx.stats.last_latency_ns.store(
            now_unix_ns().saturating_sub(att.sent_unix_ns),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The local segment for `name`: attached if it exists (taken over if
    /// this bridge made it before and died), else created and owned.
    fn target(&mut self, ctx: &Ctx, name: &str, att: &Attachment) -> shmiface::Result<&Target> {
        if !self.targets.contains_key(name) {
            let target = open(ctx, name, att)?;
            self.targets.insert(name.to_owned(), target);
        }
        Ok(&self.targets[name])
    }

    /// Destroys the segments this bridge created (unless --persistent).
    fn close(self, ctx: &Ctx) {
        for (name, target) in self.targets {
            if target.owned && !ctx.persistent {
                if let Err(e) = target.seg.destroy() {
                    log(format_args!("destroying {name}: {e}"));
                }
                ctx.progress.forget(&name);
            }
        }
    }
}

fn open(ctx: &Ctx, name: &str, att: &Attachment) -> shmiface::Result<Target> {
    let progress_of = |seg: &Segment| -> shmiface::Result<Arc<Progress>> {
        let p = ctx
            .progress
            .open(name, seg.history())
            .map_err(|e| shmiface::Error::new(ErrorKind::Os, format!("progress file: {e}")))?;
        p.resolve(seg.peek()?.version);
        Ok(p)
    };
    let had_progress = ctx.progress.get(name).is_some();
    match Segment::attach(name) {
        Ok(seg) => {
            let info = seg.info()?;
            if !info.owner_alive && had_progress {
                // This bridge's own segment, left by a killed run: own it again.
                let options = Options {
                    capacity: seg.capacity(),
                    history: seg.history(),
                    mode: info.mode & 0o777,
                    persistent: info.persistent,
                };
                if let Ok(owned) = Segment::create(name, &options) {
                    let progress = progress_of(&owned)?;
                    log(format_args!("took {name} over again"));
                    return Ok(Target {
                        seg: owned,
                        owned: true,
                        progress,
                    });
                }
            }
            let progress = progress_of(&seg)?;
            log(format_args!("importing into {name} (attached)"));
            Ok(Target {
                seg,
                owned: false,
                progress,
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let options = Options {
                capacity: ctx.capacity.unwrap_or(att.capacity).max(1),
                history: ctx.history.unwrap_or(att.history).max(1),
                persistent: ctx.persistent,
                ..Options::default()
            };
            let seg = Segment::create(name, &options)?;
            // A fresh segment: any progress file is of an older one.
            ctx.progress.forget(name);
            let progress = progress_of(&seg)?;
            log(format_args!(
                "created {name} (capacity {}, history {})",
                options.capacity, options.history
            ));
            Ok(Target {
                seg,
                owned: true,
                progress,
            })
        }
        Err(e) => Err(e),
    }
}

/// Writes source `version` as the next local version, marked in the
/// progress file before it becomes visible.
fn write(seg: &Segment, progress: &Progress, version: u64, data: &[u8]) -> shmiface::Result<()> {
    loop {
        let current = seg.peek()?.version;
        progress.begin(version, current + 1);
        match seg.compare_and_set(current, data, true) {
            Ok(_) => {
                progress.commit(version);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::Conflict => progress.abort(current + 1),
            Err(e) => {
                progress.abort(current + 1);
                return Err(e);
            }
        }
    }
}
