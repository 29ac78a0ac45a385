//! Errors of the resolver library.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong loading snapshots, listening or talking to
/// the control socket.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The snapshot file exists but cannot be read.
    #[error("cannot read snapshot {0}: {1}")]
    SnapshotRead(PathBuf, #[source] io::Error),
    /// The snapshot is not valid JSON of the expected shape.
    #[error("invalid snapshot: {0}")]
    SnapshotParse(#[source] serde_json::Error),
    /// The snapshot cannot be written.
    #[error("cannot write snapshot {0}: {1}")]
    SnapshotWrite(PathBuf, #[source] io::Error),
    /// Some gateway addresses could not be listened on. The new snapshot is
    /// live for the others; the next reload tries these again.
    #[error("cannot listen on {}", list_failures(.0))]
    Listen(Vec<(SocketAddr, io::Error)>),
    /// The control socket cannot be created, reached or used.
    #[error("control socket {0}: {1}")]
    Control(PathBuf, #[source] io::Error),
    /// Another resolver answers on the control socket already.
    #[error("another resolver is already running on control socket {0}")]
    AlreadyRunning(PathBuf),
    /// The resolver is older than the snapshot format (an upgrade of berth
    /// while it ran): it must be restarted to serve the new snapshot.
    #[error("the resolver on {0} is older than berth's snapshot format ({1}): restart it")]
    OutdatedResolver(PathBuf, String),
    /// The resolver answered a control request with an error.
    #[error("resolver refused the request: {0}")]
    ControlReply(String),
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
}

/// `addr (error), addr (error)`.
fn list_failures(failures: &[(SocketAddr, io::Error)]) -> String {
    let parts: Vec<String> = failures.iter().map(|(a, e)| format!("{a} ({e})")).collect();
    parts.join(", ")
}
