//! The Zenoh configuration: a file if given, the flags on top, and safe
//! defaults without a file (peer, loopback only, no multicast scouting).

use zenoh::Config;

use crate::args::{Args, Mode};

pub const DEFAULT_LISTEN: &str = "tcp/127.0.0.1:7447";

pub fn build(args: &Args) -> Result<Config, String> {
    for endpoint in &args.listen {
        if !args.expose && !is_loopback(endpoint) {
            return Err(format!(
                "--listen {endpoint} is not a loopback address: anyone who reaches it can read \
                 the exported segments and write the imported ones; add --expose to mean it"
            ));
        }
    }
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)
            .map_err(|e| format!("Zenoh configuration {}: {e}", path.display()))?,
        None => {
            let mut c = Config::default();
            set(&mut c, "scouting/multicast/enabled", "false")?;
            // Quick to find a restarted peer again (Zenoh's default waits up to 4 s).
            set(
                &mut c,
                "connect/retry",
                "{period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2}",
            )?;
            c
        }
    };
    let mode = args.mode.or(args.config.is_none().then_some(Mode::Peer));
    if let Some(mode) = mode {
        set(&mut config, "mode", &json(mode.as_str()))?;
    }
    let listen: Vec<String> = if !args.listen.is_empty() {
        args.listen.clone()
    } else if args.config.is_some() {
        Vec::new()
    } else if args.connect.is_empty() && mode != Some(Mode::Client) {
        vec![DEFAULT_LISTEN.to_owned()]
    } else {
        // Zenoh's own peer default listens on every interface: say none.
        set(&mut config, "listen/endpoints", "[]")?;
        Vec::new()
    };
    if !listen.is_empty() {
        set(&mut config, "listen/endpoints", &json_list(&listen))?;
    }
    if !args.connect.is_empty() {
        set(&mut config, "connect/endpoints", &json_list(&args.connect))?;
    }
    Ok(config)
}

fn set(config: &mut Config, key: &str, value: &str) -> Result<(), String> {
    config
        .insert_json5(key, value)
        .map_err(|e| format!("Zenoh configuration {key} = {value}: {e}"))
}

fn json(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn json_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| json(s)).collect();
    format!("[{}]", items.join(","))
}

/// Whether an endpoint such as tcp/127.0.0.1:7447 (or tcp/[::1]:0,
/// tcp/localhost:7447) can only be reached from this machine.
pub fn is_loopback(endpoint: &str) -> bool {
    let address = endpoint.split(['#', '?']).next().unwrap_or("");
    let Some((_, host_port)) = address.split_once('/') else {
        return false;
    };
    let host = match host_port.rsplit_once(':') {
        Some((host, _)) => host,
        None => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_counts_as_loopback() {
        for ok in [
            "tcp/127.0.0.1:7447",
            "tcp/127.3.2.1:0",
            "tcp/[::1]:7447",
            "tcp/localhost:1",
        ] {
            assert!(is_loopback(ok), "{ok}");
        }
        for no in [
            "tcp/0.0.0.0:7447",
            "tcp/[::]:7447",
            "tcp/10.0.0.2:7447",
            "tcp/host:1",
            "x",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
