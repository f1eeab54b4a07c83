//! `shmiface bridge ARGS`: runs `shmiface-bridge ARGS` in this process's
//! place, as git runs its subcommands. The bridge is a program of its own
//! (bridge/, built on Zenoh) so that this command keeps its few
//! dependencies; it is looked for next to this executable first (a build
//! tree's target/release, or an install's bin/), then on PATH.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::commands::{Failure, Outcome};

pub const BRIDGE: &str = "shmiface-bridge";

pub fn bridge(args: &[OsString]) -> Outcome {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(BRIDGE));
    let program = beside
        .clone()
        .filter(|p| is_executable(p))
        .or_else(|| on_path(BRIDGE))
        .ok_or_else(|| {
            let looked = beside
                .map(|p| format!("{} and ", p.display()))
                .unwrap_or_default();
            Failure::new(
                "bridge",
                format!(
                    "{BRIDGE} is not built or not installed (looked at {looked}every directory \
                     of PATH); `make bridge` builds it, `make install` installs it beside shmiface"
                ),
            )
        })?;
    // exec only returns on failure.
    let error = Command::new(&program).args(args).exec();
    Err(Failure::new(
        "bridge",
        format!("running {}: {error}", program.display()),
    ))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
