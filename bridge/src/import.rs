//! Importing: every sample on PREFIX/NAME of an imported name is written
//! into the local segment NAME, in the sender's order, each source version
//! at most once (also across a kill: progress.rs). A late start, and any
//! sample whose `prev` is not the version written last (this bridge or the
//! sender was down, the link was cut), fetch the sender's kept history
//! with a query first. Writes are made under one lock, so a name's
//! writes never race each other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use zenoh::query::{ConsolidationMode, QueryTarget};
use zenoh::sample::{Locality, Sample, SampleKind};
use zenoh::Wait;

use crate::attachment::{now_unix_ns, Attachment};
use crate::ctx::{log, Ctx};
use crate::glob::Pattern;
use crate::local::{self, Target};
use crate::stats::add;

const POLL: Duration = Duration::from_millis(200);
/// How long a history fetch waits for the senders' replies.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// A history fetch to make: a selector, and for a gap, the name and the
/// version (of the held live sample) it is to stop short of.
struct Fetch {
    selector: String,
    until: Option<(String, u64)>,
}

/// How a sample reached `take`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Live, from the subscription: a gap before it asks for a fetch.
    Live,
    /// Live, held while the fetch for the gap before it was made: what the
    /// fetch did not bring is lost.
    AfterFetch,
    /// A reply to a fetch.
    Reply,
}

struct Importer {
    patterns: Vec<Pattern>,
    targets: HashMap<String, Target>,
    /// Fetches to make, in order; while there is one, live samples wait
    /// in `held` (the sender's order is kept).
    fetches: VecDeque<Fetch>,
    held: VecDeque<(Sample, Via)>,
}

struct Shared {
    importer: Mutex<Importer>,
    work: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Importer> {
        self.importer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Subscribes to every pattern's key expression. Samples are written in
/// Zenoh's callback, with no thread between the link and the segment; a
/// fetch (a query, whose replies arrive on that same link) is made by the
/// thread this returns, which runs until the stop flag.
pub fn spawn(ctx: Arc<Ctx>, patterns: Vec<Pattern>) -> Result<std::thread::JoinHandle<()>, String> {
    // Late join: what the senders keep comes first, then the live samples
    // held meanwhile (those already written are skipped as duplicates). A
    // restart asks an exact name's sender only for what is new.
    let fetches = patterns
        .iter()
        .map(|p| {
            let key = p.key_expr(&ctx.prefix);
            let selector = match ctx.progress.get(p.as_str()).filter(|_| !p.is_glob()) {
                Some(done) => format!("{key}?after={};epoch={}", done.last(), done.epoch()),
                None => key,
            };
            Fetch {
                selector,
                until: None,
            }
        })
        .collect();
    let shared = Arc::new(Shared {
        importer: Mutex::new(Importer {
            patterns: patterns.clone(),
            targets: HashMap::new(),
            fetches,
            held: VecDeque::new(),
        }),
        work: Condvar::new(),
    });
    let mut subscribers = Vec::new();
    for p in &patterns {
        let key = p.key_expr(&ctx.prefix);
        let (ctx, shared) = (ctx.clone(), shared.clone());
        let sub = ctx
            .clone()
            .session
            .declare_subscriber(key.clone())
            .allowed_origin(Locality::Remote)
            .callback(move |sample| {
                let mut importer = shared.lock();
                if importer.fetches.is_empty() {
                    importer.take(&ctx, sample, Via::Live);
                    if !importer.fetches.is_empty() {
                        shared.work.notify_one();
                    }
                } else {
                    importer.held.push_back((sample, Via::Live));
                }
            })
            .wait()
            .map_err(|e| format!("subscriber on {key}: {e}"))?;
        log(format_args!("importing {} from {key}", p.as_str()));
        subscribers.push(sub);
    }
    // An exporter appearing (started, or reachable again) may have sent
    // what no live sample will reveal missing: fetch its name.
    let mut tokens = Vec::new();
    for p in &patterns {
        let key = format!("{}/*", p.key_expr(&ctx.prefix));
        let (ctx, shared) = (ctx.clone(), shared.clone());
        let own = format!("{:016x}", ctx.id);
        let sub = ctx
            .clone()
            .session
            .liveliness()
            .declare_subscriber(key.clone())
            .history(true)
            .callback(move |token| {
                if token.kind() != SampleKind::Put {
                    return;
                }
                let Some((name_key, id)) = token.key_expr().as_str().rsplit_once('/') else {
                    return;
                };
                if id == own {
                    return;
                }
                let Some(name) = ctx.name_of(name_key) else {
                    return;
                };
                let mut importer = shared.lock();
                if importer.patterns.iter().any(|p| p.matches(name)) {
                    importer.ask(&ctx, name);
                    shared.work.notify_one();
                }
            })
            .wait()
            .map_err(|e| format!("liveliness subscriber on {key}: {e}"))?;
        tokens.push(sub);
    }
    std::thread::Builder::new()
        .name("import".into())
        .spawn(move || {
            fetcher(&ctx, &shared);
            // No callback runs once they are undeclared.
            for sub in tokens {
                let _ = sub.undeclare().wait();
            }
            for sub in subscribers {
                let _ = sub.undeclare().wait();
            }
            let mut importer = shared.lock();
            importer.close(&ctx);
        })
        .map_err(|e| format!("import thread: {e}"))
}

/// Makes each fetch asked for, writes its replies, then the live samples
/// held meanwhile, until the stop flag.
fn fetcher(ctx: &Ctx, shared: &Shared) {
    loop {
        let selector = {
            let mut importer = shared.lock();
            while importer.fetches.is_empty() && !ctx.stopping() {
                importer = shared
                    .work
                    .wait_timeout(importer, POLL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if ctx.stopping() {
                return;
            }
            importer.fetches[0].selector.clone()
        };
        // Not holding the lock: the callbacks go on (holding what arrives).
        let replies = query(ctx, &selector);
        let mut importer = shared.lock();
        let Some(fetch) = importer.fetches.pop_front() else {
            continue;
        };
        importer.apply(ctx, replies, fetch.until);
        while importer.fetches.is_empty() {
            let Some((sample, via)) = importer.held.pop_front() else {
                break;
            };
            importer.take(ctx, sample, via);
        }
    }
}

/// The replies to `selector`, with their names and versions.
fn query(ctx: &Ctx, selector: &str) -> Vec<(String, u64, Sample)> {
    add(&ctx.stats.fetches, 1);
    let replies = match ctx
        .session
        .get(selector)
        .target(QueryTarget::All)
        .consolidation(ConsolidationMode::None)
        // This bridge's own exports are not a source of its imports (and
        // its own queryable, answering in this very call, would fill the
        // reply channel before anyone reads it).
        .allowed_destination(Locality::Remote)
        .timeout(FETCH_TIMEOUT)
        .wait()
    {
        Ok(r) => r,
        Err(e) => {
            log(format_args!("fetching {selector}: {e}"));
            return Vec::new();
        }
    };
    let mut samples = Vec::new();
    while let Ok(reply) = replies.recv() {
        let Ok(sample) = reply.into_result() else {
            continue;
        };
        let Some(name) = ctx.name_of(sample.key_expr().as_str()) else {
            continue;
        };
        let version = Attachment::decode(sample.attachment().map(|a| a.to_bytes()).as_deref())
            .map(|a| a.version)
            .unwrap_or(0);
        samples.push((name.to_owned(), version, sample));
    }
    samples
}

impl Importer {
    /// Writes a fetch's replies in version order, up to (not including)
    /// version `until` of `name`.
    fn apply(
        &mut self,
        ctx: &Ctx,
        mut samples: Vec<(String, u64, Sample)>,
        until: Option<(String, u64)>,
    ) {
        if let Some((only, until)) = &until {
            samples.retain(|(name, version, _)| name == only && version < until);
        }
        samples.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (_, _, sample) in samples {
            self.take(ctx, sample, Via::Reply);
        }
    }

    /// Queues a fetch of what the senders of `name` keep beyond what is
    /// written already.
    fn ask(&mut self, ctx: &Ctx, name: &str) {
        let key = ctx.key(name);
        let progress = self
            .targets
            .get(name)
            .map(|t| t.progress.clone())
            .or_else(|| ctx.progress.get(name));
        let selector = match progress {
            Some(p) => format!("{key}?after={};epoch={}", p.last(), p.epoch()),
            None => key,
        };
        if !self.fetches.iter().any(|f| f.selector == selector) {
            self.fetches.push_back(Fetch {
                selector,
                until: None,
            });
        }
    }

    /// Writes one sample if it is good and new; a live one after a gap is
    /// held, and a fetch asked for, instead.
    fn take(&mut self, ctx: &Ctx, sample: Sample, via: Via) {
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
        let target = match self.target(ctx, name, &att) {
            Ok(t) => t,
            Err(e) => return ctx.bad(format_args!("{key}: local segment {name}: {e}")),
        };
        let progress = &target.progress;
        if progress.epoch() != att.epoch {
            // Another source segment (a new one, or another sender): its
            // versions count from its own start.
            progress.restart(att.epoch);
        }
        if att.version <= progress.last() {
            add(&ctx.stats.dup, 1);
            return;
        }
        let capacity = target.seg.capacity();
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
        if att.prev != progress.last() {
            match via {
                Via::Live => {
                    let selector =
                        format!("{key}?after={};epoch={}", progress.last(), progress.epoch());
                    self.fetches.push_back(Fetch {
                        selector,
                        until: Some((name.to_owned(), att.version)),
                    });
                    drop(payload);
                    self.held.push_front((sample, Via::AfterFetch));
                    return;
                }
                Via::AfterFetch if att.prev > progress.last() => {
                    add(&ctx.stats.lost_in, att.prev - progress.last());
                }
                _ => {}
            }
        }
        if let Err(e) = local::write(&target.seg, progress, att.version, &payload) {
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
            let target = local::open(ctx, name, att)?;
            self.targets.insert(name.to_owned(), target);
        }
        Ok(&self.targets[name])
    }

    /// Destroys the segments this bridge created (unless --persistent).
    fn close(&mut self, ctx: &Ctx) {
        for (name, target) in self.targets.drain() {
            if target.owned && !ctx.persistent {
                if let Err(e) = target.seg.destroy() {
                    log(format_args!("destroying {name}: {e}"));
                }
                ctx.progress.forget(&name);
            }
        }
    }
}
