//! Running commands to completion without hanging the test suite: a
//! timeout that kills the command's whole process group, and output
//! collection that does not wait forever for daemons which inherited the
//! output pipes (`busybox httpd &` in a script, for instance).

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::LabError;

/// How long output readers may keep going after the command exited (a
/// daemon started in the background may hold the pipes open).
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Exit status used for commands that could not be started (like a shell's 127).
fn not_started() -> ExitStatus {
    ExitStatus::from_raw(127 << 8)
}

/// A pipe reader on its own thread, collecting into a shared buffer so
/// that whatever was read can be taken even if the pipe never closes.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Collector {
    fn start(mut pipe: impl Read + Send + 'static) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = Arc::clone(&buf);
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = sink.lock() {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
            let _ = tx.send(());
        });
        Collector { buf, done }
    }

    /// Waits up to `grace` for end of file, then takes what was read.
    fn finish(self, grace: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(grace);
        self.buf.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// Runs `cmd` (stdin from /dev/null, stdout and stderr captured) in its own
/// process group; after `timeout` the whole group is killed with SIGKILL and
/// a note is appended to stderr. Never panics: a command that cannot be
/// started yields status 127 and the reason on stderr.
pub fn output_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Output {
                status: not_started(),
                stdout: Vec::new(),
                stderr: format!("berth-lab: could not start {}: {e}\n", describe(&cmd)).into(),
            }
        }
    };
    let out = child.stdout.take().map(Collector::start);
    let err = child.stderr.take().map(Collector::start);
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let (status, timed_out) = match rx.recv_timeout(timeout) {
        Ok(status) => (status, false),
        Err(_) => {
            kill_group(pid);
            (rx.recv().unwrap_or_else(|_| Ok(not_started())), true)
        }
    };
    let stdout = out.map(|c| c.finish(DRAIN_GRACE)).unwrap_or_default();
    let mut stderr = err.map(|c| c.finish(DRAIN_GRACE)).unwrap_or_default();
    if timed_out {
        let note = format!("\nberth-lab: killed after a timeout of {timeout:?}\n");
        stderr.extend_from_slice(note.as_bytes());
    }
    let status = status.unwrap_or_else(|e| {
        stderr.extend_from_slice(format!("berth-lab: wait failed: {e}\n").as_bytes());
        not_started()
    });
    Output {
        status,
        stdout,
        stderr,
    }
}

/// SIGKILLs the process group led by `pid` (the command was made a group
/// leader by [`output_with_timeout`]).
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// A readable one-line rendering of a command: program and arguments.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Turns an unsuccessful [`Output`] into [`LabError::Command`].
pub fn check_output(what: impl Into<String>, output: Output) -> Result<Output, LabError> {
    if output.status.success() {
        return Ok(output);
    }
    Err(LabError::Command {
        what: what.into(),
        status: output.status.to_string(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
