//! `ps`, `inspect`, `logs`, `stop`, `rm` and `exec`.

use super::network::print_inspect;
use super::open;
use crate::cli::{ExecArgs, InspectArgs, LogsArgs, RmArgs, StopArgs};
use crate::inspect;
use anyhow::{anyhow, Result};
use berth_core::engine::Engine;
use berth_runtime::pty::{self, Pty, RawModeGuard};
use berth_runtime::{ContainerIo, ExecSpec, PtyRelay, SignalForwarder};
use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

/// `berth inspect`: containers, or networks of that name.
pub fn inspect(root: Option<&Path>, a: InspectArgs) -> Result<i32> {
    let mut engine = open(root)?;
    let mut items = Vec::new();
    let mut code = 0;
    let want = a.kind.as_deref();
    for n in &a.names {
        // Only the container inspected is checked for a death nobody saw
        // (`ps` checks them all): inspect costs its own work whatever the
        // store holds (issue 13, goal 5).
        let as_container = if want != Some("network") {
            match engine.container(n) {
                // Read again only if the check changed or forgot it.
                Ok(c) => match engine.reap_dead_among(vec![c.clone()])?.is_empty() {
                    true => Some(c),
                    false => engine.container(n).ok(),
                },
                Err(_) => None,
            }
        } else {
            None
        };
        let item = match as_container {
            Some(c) => Some(inspect::container(&mut engine, &c)?),
            None if want != Some("container") => match engine.network(n) {
                Ok(net) => Some(inspect::network(&mut engine, &net)?),
                Err(_) => None,
            },
            None => None,
        };
        match item {
            Some(i) => items.push(i),
            None => {
                eprintln!("berth: no such object: {n} (see 'berth ps -a' and 'berth network ls')");
                code = 1;
            }
        }
    }
    print_inspect(&items, a.format.as_deref())?;
    Ok(code)
}

/// `berth logs [-f]`: the rotated files oldest first, then the current
/// one; `-f` follows it, across rotations, while the container runs.
pub fn logs(root: Option<&Path>, a: LogsArgs) -> Result<i32> {
    use std::os::unix::fs::MetadataExt;
    let mut engine = open(root)?;
    let c = engine.container(&a.container)?;
    let path = engine.paths.container_dir(&c.id).join("log");
    let mut out = std::io::stdout();
    let older = super::logfile::files(&path, c.config.log);
    for p in older.iter().filter(|p| **p != path) {
        if let Ok(mut f) = std::fs::File::open(p) {
            std::io::copy(&mut f, &mut out)?;
        }
    }
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(_) if !a.follow => return Ok(0),
        Err(e) => return Err(anyhow!("cannot read logs of {}: {e}", c.name)),
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf)?;
        out.write_all(&buf)?;
        out.flush()?;
        if !a.follow {
            return Ok(0);
        }
        if buf.is_empty() {
            let cur = engine.container(&c.id)?;
            if !Engine::is_running(&cur) {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(100));
            let pos = file.stream_position()?;
            match std::fs::metadata(&path) {
                // Rotated: the rest of the old file, then the new one
                // from its start.
                Ok(m) if m.ino() != file.metadata()?.ino() => {
                    std::io::copy(&mut file, &mut out)?;
                    file = std::fs::File::open(&path)?;
                }
                // Started over (max-file=1).
                Ok(m) if m.len() < pos => {
                    file.seek(std::io::SeekFrom::Start(0))?;
                }
                _ => {
                    file.seek(std::io::SeekFrom::Start(pos))?;
                }
            }
        }
    }
}

/// `berth stop`.
pub fn stop(root: Option<&Path>, a: StopArgs) -> Result<i32> {
    let mut engine = open(root)?;
    let mut code = 0;
    for n in &a.names {
        match engine.stop_container(n, Duration::from_secs(a.time)) {
            Ok(_) => println!("{n}"),
            Err(e) => {
                eprintln!("berth: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `berth rm [-f]`.
pub fn rm(root: Option<&Path>, a: RmArgs) -> Result<i32> {
    let mut engine = open(root)?;
    let mut code = 0;
    for n in &a.names {
        match engine.remove_container(n, a.force) {
            Ok(_) => println!("{n}"),
            Err(e) => {
                eprintln!("berth: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `berth exec`: runs a process inside a running container.
pub fn exec(root: Option<&Path>, a: ExecArgs) -> Result<i32> {
    let mut engine = open(root)?;
    let c = engine.container(&a.container)?;
    let Some(pid) = c.pid.filter(|_| Engine::is_running(&c)) else {
        return Err(anyhow!(
            "container {} is not running: start it with 'berth start {}'",
            c.name,
            c.name
        ));
    };
    let spec = ExecSpec {
        argv: a.command.clone(),
        env: super::run::environment(&c.config, &a.env),
        workdir: None,
        confinement: super::confine::confinement(&c.config.security, &[]),
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (master, io) = if a.tty {
        let p = Pty::open()?;
        if pty::is_terminal(stdin.as_fd()) {
            let _ = pty::copy_window_size(stdin.as_fd(), p.master.as_fd());
        }
        (Some(p.master), ContainerIo::Tty(p.slave))
    } else if a.interactive {
        (None, ContainerIo::inherit())
    } else {
        (None, ContainerIo::no_stdin())
    };
    let signals = SignalForwarder::install(if a.tty {
        &SignalForwarder::FOREGROUND_TTY
    } else {
        &SignalForwarder::FOREGROUND
    })?;
    let mut process = match berth_runtime::exec(pid, &spec, io) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("berth: {e}");
            return Ok(e.exit_code());
        }
    };
    let _raw = match (&master, pty::is_terminal(stdin.as_fd())) {
        (Some(_), true) => Some(RawModeGuard::enable(stdin.as_fd())?),
        _ => None,
    };
    let relay = master.as_ref().map(|m| PtyRelay {
        master: m.as_fd(),
        input: a.interactive.then(|| stdin.as_fd()),
        output: stdout.as_fd(),
        terminal: pty::is_terminal(stdin.as_fd()).then(|| stdin.as_fd()),
    });
    Ok(berth_runtime::wait_attached(&mut process, relay, Some(&signals))?.code())
}
