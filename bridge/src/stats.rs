//! What the bridge did, counted as it goes, and the one line that says it
//! (`--stats`, and once more at shutdown).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Stats {
    /// Samples put on Zenoh, and their payload bytes.
    pub out: AtomicU64,
    pub out_bytes: AtomicU64,
    /// Samples written into local segments, and their payload bytes.
    pub inn: AtomicU64,
    pub in_bytes: AtomicU64,
    /// Versions an exporter never saw: overwritten in the local history
    /// before it read them.
    pub lost_out: AtomicU64,
    /// Versions an importer never got: neither live nor from the sender's
    /// kept history.
    pub lost_in: AtomicU64,
    /// Samples refused: no or a wrong attachment, too large for the local
    /// segment, or a name no `--import` covers.
    pub bad: AtomicU64,
    /// Samples already written (a late joiner's query overlapping the live
    /// ones, a restarted peer resending its latest).
    pub dup: AtomicU64,
    /// Queries answered, and history fetches this bridge made.
    pub queries: AtomicU64,
    pub fetches: AtomicU64,
    /// Send to write, ns, of the last sample written (same clock on both
    /// sides only if the hosts' clocks agree).
    pub last_latency_ns: AtomicU64,
}

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = |c: &AtomicU64| c.load(Relaxed);
        write!(
            f,
            "stats out={} out_bytes={} in={} in_bytes={} lost_out={} lost_in={} bad={} dup={} \
             queries={} fetches={} latency_us={:.1}",
            g(&self.out),
            g(&self.out_bytes),
            g(&self.inn),
            g(&self.in_bytes),
            g(&self.lost_out),
            g(&self.lost_in),
            g(&self.bad),
            g(&self.dup),
            g(&self.queries),
            g(&self.fetches),
            g(&self.last_latency_ns) as f64 / 1000.0
        )
    }
}
