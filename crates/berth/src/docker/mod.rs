//! `berth docker-plugin`: berth as Docker's network and IPAM driver (a
//! libnetwork remote driver). The one berth process that stays up, as
//! Docker's plugin model requires: an HTTP/1.1 server on a Unix socket
//! (`/run/docker/plugins/berth.sock`, where dockerd looks for plugins, or
//! a socket systemd passes in: `LISTEN_FDS`), answering dockerd's JSON
//! POSTs in turn, each one engine call under the engine's locks, through
//! the same store as every berth command.
//!
//! Served with `tiny_http` (as `berth ui`): synchronous, no async runtime,
//! Unix sockets built in. One thread answers requests one after the other:
//! each is a short engine operation, and dockerd waits for each answer.
//! The protocol itself is pure (`protocol.rs`); `answer.rs` maps each call
//! to the engine.

mod answer;
mod protocol;

use anyhow::{anyhow, Context, Result};
use berth_core::engine::Engine;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Where dockerd looks for the plugin named `berth`.
pub const DEFAULT_SOCKET: &str = "/run/docker/plugins/berth.sock";

/// Requests are small JSON objects; anything larger is refused.
const MAX_BODY: u64 = 1 << 20;

/// The media type of the plugin protocol's answers.
const CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";

/// `berth docker-plugin [--socket PATH]`: serves until killed.
pub fn run(root: Option<&Path>, socket: Option<&Path>) -> Result<i32> {
    berth_core::engine::require_root()?;
    let mut engine = crate::config::open(root)?;
    let (listener, where_) = listen(socket)?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| anyhow!("cannot serve on {where_}: {e}"))?;
    eprintln!("berth: Docker network and IPAM driver 'berth' listening on {where_}");
    for req in server.incoming_requests() {
        serve(&mut engine, req);
    }
    Ok(0)
}

/// The listening socket: the one systemd passed (socket activation), or
/// `socket` (default [`DEFAULT_SOCKET`]) bound now.
fn listen(socket: Option<&Path>) -> Result<(UnixListener, String)> {
    let mut fds = listenfd::ListenFd::from_env();
    if socket.is_none() {
        if let Some(l) = fds
            .take_unix_listener(0)
            .context("the socket passed by systemd (LISTEN_FDS) is not a listening Unix socket")?
        {
            return Ok((l, "the socket passed by systemd".into()));
        }
    }
    let path = socket.map_or_else(|| PathBuf::from(DEFAULT_SOCKET), Path::to_path_buf);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    clear_stale(&path)?;
    let l = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    // The socket configures the host's network: root only (dockerd is root).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok((l, path.display().to_string()))
}

/// Removes a socket left by a plugin that died; refuses when a plugin
/// still answers there, or when the path is not a socket.
fn clear_stale(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(anyhow!(
            "{} exists and is not a socket: berth leaves it alone; choose another --socket",
            path.display()
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(anyhow!(
            "another plugin is listening on {} already: stop it first, or choose another --socket",
            path.display()
        ));
    }
    std::fs::remove_file(path)
        .with_context(|| format!("cannot remove the stale socket {}", path.display()))
}

/// Answers one request.
fn serve(engine: &mut Engine, mut req: tiny_http::Request) {
    let start = std::time::Instant::now();
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let (status, body) = if *req.method() != tiny_http::Method::Post {
        (
            405,
            serde_json::json!({"Err": "the plugin protocol uses POST"}),
        )
    } else {
        let mut body = Vec::new();
        match req.as_reader().take(MAX_BODY).read_to_end(&mut body) {
            Ok(_) => handle(engine, &path, &body),
            Err(e) => (
                400,
                serde_json::json!({"Err": format!("cannot read the request: {e}")}),
            ),
        }
    };
    if status != 200 {
        eprintln!("berth: docker-plugin: {path}: {status} {}", body["Err"]);
    }
    let mut resp = tiny_http::Response::from_string(body.to_string()).with_status_code(status);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE) {
        resp.add_header(h);
    }
    if let Err(e) = req.respond(resp) {
        eprintln!("berth: docker-plugin: {path}: cannot answer: {e}");
    }
    if std::env::var_os("BERTH_TRACE_STEPS").is_some() {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        eprintln!("berth: docker-plugin: {path} {status} answered in {ms:.3}ms");
    }
}

/// Status and JSON body for a request to `path` with `body`: 404 for a
/// path berth does not serve (Docker then knows the method is not
/// implemented), 400 for a body that does not decode, 500 with the
/// protocol's `{"Err": ...}` when the engine refuses or fails (an unknown
/// network or endpoint included: a stale request).
pub fn handle(engine: &mut Engine, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
    match protocol::parse(path, body) {
        Err(protocol::Refusal::UnknownPath(p)) => (
            404,
            serde_json::json!({"Err": format!("berth does not serve {p}")}),
        ),
        Err(protocol::Refusal::BadRequest(why)) => (400, serde_json::json!({"Err": why})),
        Ok(call) => match answer::answer(engine, call) {
            Ok(v) => (200, v),
            Err(e) => (500, serde_json::json!({"Err": e.to_string()})),
        },
    }
}
