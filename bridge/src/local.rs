//! The local segment an import writes: attached if it exists (taken over
//! if this bridge made it and was killed), else created and owned; and the
//! write itself, marked in the progress file before it becomes visible.

use std::sync::Arc;

use shmiface::{ErrorKind, Options, Segment};

use crate::attachment::Attachment;
use crate::ctx::{log, Ctx};
use crate::progress::Progress;

pub struct Target {
    pub seg: Segment,
    pub owned: bool,
    pub progress: Arc<Progress>,
}

pub fn open(ctx: &Ctx, name: &str, att: &Attachment) -> shmiface::Result<Target> {
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
                capacity: ctx
                    .capacity
                    .unwrap_or(att.capacity)
                    .clamp(1, shmiface::layout::MAX_CAPACITY),
                history: ctx
                    .history
                    .unwrap_or(att.history)
                    .clamp(1, shmiface::layout::MAX_HISTORY),
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
pub fn write(
    seg: &Segment,
    progress: &Progress,
    version: u64,
    data: &[u8],
) -> shmiface::Result<()> {
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
