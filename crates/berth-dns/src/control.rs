//! The control socket: how berth's commands tell the resolver to reload.
//!
//! A Unix stream socket (mode 0600). One request per line, one answer per
//! line:
//!
//! | request  | answer                                                         |
//! |----------|----------------------------------------------------------------|
//! | `reload` | `ok <generation>` once the new snapshot is live and listened on, or `err <reason>` |
//! | `reload <version>` | the same, for a snapshot of that format version; `err outdated …` if it is newer than this resolver reads |
//! | `ping`   | `ok <generation>` of the live snapshot                          |
//! | `names`  | `ok <endpoints>`: how many endpoints the live snapshot has (0: nobody to serve) |
//! | other    | `err unknown request`                                           |
//!
//! [`reload`] and [`ping`] are the client side, for the engine. [`reload`]
//! sends `reload <SNAPSHOT_VERSION>`: a resolver older than the snapshot
//! format (version 1 knew only `reload`) answers an error, which
//! [`reload`] reports as [`Error::OutdatedResolver`] so the engine replaces
//! that process (after an upgrade of berth under running containers).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

use crate::server::ServerHandle;
use crate::snapshot::SNAPSHOT_VERSION;
use crate::Error;

/// Longest request line accepted.
const MAX_LINE: u64 = 256;

/// Binds the control socket at `path`, replacing a stale one; refuses if a
/// live resolver answers there.
pub(crate) async fn bind(path: &Path) -> Result<UnixListener, Error> {
    let err = |e| Error::Control(path.to_path_buf(), e);
    if path.exists() {
        if StdUnixStream::connect(path).is_ok() {
            return Err(Error::AlreadyRunning(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

/// Answers control requests forever.
pub(crate) async fn serve(listener: UnixListener, handle: ServerHandle) {
    let mut clients = JoinSet::new();
    loop {
        while clients.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                clients.spawn(client(stream, handle.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "control accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves one control connection, request by request.
async fn client(stream: UnixStream, handle: ServerHandle) {
    let (read, mut write) = stream.into_split();
    let mut read = AsyncBufReader::new(read);
    loop {
        let mut line = String::new();
        match AsyncReadExt::take(&mut read, MAX_LINE)
            .read_line(&mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = match line.trim().split_once(' ').unwrap_or((line.trim(), "")) {
            ("reload", version) => match reload_version(version) {
                Some(v) if v > SNAPSHOT_VERSION => format!(
                    "err outdated: this resolver reads snapshots up to version \
                     {SNAPSHOT_VERSION}, not {v}\n"
                ),
                Some(_) => match handle.reload().await {
                    Ok(generation) => format!("ok {generation}\n"),
                    Err(e) => format!("err {}\n", e.to_string().replace('\n', " ")),
                },
                None => "err unknown request\n".to_string(),
            },
            ("ping", "") => format!("ok {}\n", handle.generation()),
            ("names", "") => format!("ok {}\n", handle.names().await),
            _ => "err unknown request\n".to_string(),
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The snapshot version of a `reload` request: none means version 1.
fn reload_version(arg: &str) -> Option<u32> {
    if arg.is_empty() {
        return Some(1);
    }
    arg.parse().ok()
}

/// Asks the resolver behind `path` to reload its snapshot (of version
/// [`SNAPSHOT_VERSION`]); returns the generation now live. Blocking; waits
/// at most `timeout` per step. A resolver too old for the snapshot gives
/// [`Error::OutdatedResolver`].
pub fn reload(path: &Path, timeout: Duration) -> Result<u64, Error> {
    match request(path, &format!("reload {SNAPSHOT_VERSION}"), timeout) {
        Err(Error::ControlReply(reason))
            if reason == "unknown request" || reason.starts_with("outdated") =>
        {
            Err(Error::OutdatedResolver(path.to_path_buf(), reason))
        }
        other => other,
    }
}

/// Asks the resolver behind `path` for the generation it serves.
pub fn ping(path: &Path, timeout: Duration) -> Result<u64, Error> {
    request(path, "ping", timeout)
}

/// Asks the resolver behind `path` how many endpoints it serves (a
/// resolver older than this request answers an error).
pub fn names(path: &Path, timeout: Duration) -> Result<u64, Error> {
    request(path, "names", timeout)
}

/// Sends one request line and parses `ok <generation>`.
fn request(path: &Path, request: &str, timeout: Duration) -> Result<u64, Error> {
    let err = |e| Error::Control(path.to_path_buf(), e);
    let mut stream = StdUnixStream::connect(path).map_err(err)?;
    stream.set_read_timeout(Some(timeout)).map_err(err)?;
    stream.set_write_timeout(Some(timeout)).map_err(err)?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(err)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(err)?;
    let answer = answer.trim_end();
    if let Some(generation) = answer.strip_prefix("ok ") {
        return generation.parse().map_err(|_| {
            err(io::Error::new(
                io::ErrorKind::InvalidData,
                answer.to_string(),
            ))
        });
    }
    Err(Error::ControlReply(
        answer.strip_prefix("err ").unwrap_or(answer).to_string(),
    ))
}
