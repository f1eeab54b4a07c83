//! One end of a bench_bridge.py run, natively, so that the figures are the
//! bridge's and Zenoh's, not an interpreter's. The protocol is
//! bench_peer.py's (which runs the same ends in Python): each message
//! starts with its send time (CLOCK_MONOTONIC, ns) and its sequence number,
//! 8 bytes each, little-endian.
//!
//!   shm-write NAME COUNT SIZE INTERVAL_US HISTORY
//!   shm-read NAME COUNT TIMEOUT_S
//!   z-pub ENDPOINT KEY COUNT SIZE INTERVAL_US WARM
//!   z-sub ENDPOINT KEY COUNT TIMEOUT_S
//!
//! Writers first send WARM (for shm-write: HISTORY) messages of sequence
//! 0, the last one of sequence 2^64 - 1 (the reader says "first" when it
//! has come through), so that every page of the history is in memory on both hosts before
//! anything is measured: a first touch of a tmpfs page costs more than the
//! copy into it.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use shmiface::{ErrorKind, Options, Segment};
use zenoh::qos::CongestionControl;
use zenoh::{Config, Wait};

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The last warm-up message: once it has come through, nothing of the
/// warm-up is left in the way of what is measured.
const WARM_END: u64 = u64::MAX;

fn message(buf: &mut [u8], seq: u64) {
    buf[0..8].copy_from_slice(&now_ns().to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
}

fn say(word: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{word}");
    let _ = out.flush();
}

fn line() {
    let _ = std::io::stdin().lock().read_line(&mut String::new());
}

fn write_all(mut send: impl FnMut(&[u8]), count: u64, size: usize, interval_us: u64, warm: u64) {
    let mut buf = vec![0u8; size.max(16)];
    for i in 1..=warm.max(1) {
        message(&mut buf, if i == warm.max(1) { WARM_END } else { 0 });
        send(&buf);
    }
    say("ready");
    line();
    let start = now_ns();
    for i in 1..=count {
        if interval_us > 0 {
            let due = start + i * interval_us * 1000;
            let now = now_ns();
            if due > now {
                std::thread::sleep(Duration::from_nanos(due - now));
            }
        }
        message(&mut buf, i);
        send(&buf);
    }
    say("done");
    line();
}

struct Reader {
    count: u64,
    lat: Vec<u64>,
    first_ns: u64,
    last_ns: u64,
}

impl Reader {
    fn new(count: u64) -> Reader {
        Reader {
            count,
            lat: Vec::with_capacity(count as usize),
            first_ns: 0,
            last_ns: 0,
        }
    }

    /// True once the last message arrived.
    fn take(&mut self, data: &[u8]) -> bool {
        let now = now_ns();
        let sent = u64::from_le_bytes(data[0..8].try_into().expect("8 bytes"));
        let seq = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
        if seq == WARM_END {
            say("first");
            return false;
        }
        if seq == 0 {
            return false;
        }
        if self.first_ns == 0 {
            self.first_ns = now;
        }
        self.last_ns = now;
        self.lat.push(now.saturating_sub(sent));
        seq >= self.count
    }

    fn report(&self) {
        let lat: Vec<String> = self.lat.iter().map(u64::to_string).collect();
        say(&format!(
            "{{\"received\": {}, \"latencies\": [{}], \"first_ns\": {}, \"last_ns\": {}}}",
            self.lat.len(),
            lat.join(","),
            self.first_ns,
            self.last_ns
        ));
    }
}

fn session(endpoint: &str, listen: bool) -> zenoh::Session {
    let mut c = Config::default();
    let list = format!("[\"{endpoint}\"]");
    for (k, v) in [
        ("mode", "\"peer\""),
        ("scouting/multicast/enabled", "false"),
        ("listen/endpoints", if listen { &list } else { "[]" }),
        ("connect/endpoints", if listen { "[]" } else { &list }),
    ] {
        c.insert_json5(k, v).expect("a valid setting");
    }
    zenoh::open(c).wait().expect("a Zenoh session")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize| args[i].parse::<u64>().expect("a number");
    match args.first().map(String::as_str) {
        Some("shm-write") => {
            let options = Options {
                capacity: n(3),
                history: n(5) as u32,
                ..Options::default()
            };
            let seg = Segment::create(&args[1], &options).expect("the segment");
            write_all(
                |m| {
                    seg.write(m, true).expect("a write");
                },
                n(2),
                n(3) as usize,
                n(4),
                n(5),
            );
            seg.destroy().expect("destroyed");
        }
        Some("shm-read") => {
            let deadline = Instant::now() + Duration::from_secs(n(3));
            let seg = loop {
                match Segment::attach(&args[1]) {
                    Ok(s) => break s,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            let mut r = Reader::new(n(2));
            let mut buf = vec![0u8; seg.capacity() as usize];
            let mut after = 0;
            while Instant::now() < deadline {
                match seg.next_into(after, &mut buf, Some(Duration::from_millis(200))) {
                    Ok(s) => {
                        after = s.version;
                        if r.take(&buf[..s.len]) {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Timeout => {}
                    Err(e) => panic!("{e}"),
                }
            }
            r.report();
        }
        Some("z-pub") => {
            let s = session(&args[1], false);
            let publisher = s
                .declare_publisher(args[2].clone())
                .congestion_control(CongestionControl::Block)
                .wait()
                .expect("a publisher");
            std::thread::sleep(Duration::from_millis(500));
            write_all(
                |m| publisher.put(m.to_vec()).wait().expect("a put"),
                n(3),
                n(4) as usize,
                n(5),
                n(6),
            );
            drop(publisher);
            let _ = s.close().wait();
        }
        Some("z-sub") => {
            let s = session(&args[1], true);
            let sub = s
                .declare_subscriber(args[2].clone())
                .wait()
                .expect("a subscriber");
            say("subscribed");
            let deadline = Instant::now() + Duration::from_secs(n(4));
            let mut r = Reader::new(n(3));
            while Instant::now() < deadline {
                if let Ok(Some(sample)) = sub.recv_timeout(Duration::from_millis(200)) {
                    if r.take(&sample.payload().to_bytes()) {
                        break;
                    }
                }
            }
            r.report();
            let _ = s.close().wait();
        }
        _ => {
            eprintln!("usage: see the top of bridge/bench/peer.rs");
            std::process::exit(2);
        }
    }
}
