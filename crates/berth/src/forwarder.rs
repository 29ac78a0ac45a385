//! The userland port forwarder of a container's supervisor: TCP ports
//! published on `[::1]`, or on an IPv6 host address to a container without
//! IPv6, which kernel DNAT cannot serve (see berth-core's
//! `engine::userland`). Bound before the container's process starts (a
//! port that cannot be bound fails the start), served by a thread per
//! port, closed when the supervisor ends with the container.
//!
//! Written with std's sockets: `std::io::copy` between two `TcpStream`s
//! uses `splice(2)` on Linux, so the bytes do not cross into user space;
//! an async runtime would add a dependency for a few threads per port.

use anyhow::{anyhow, Result};
use berth_core::engine::UserlandForward;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections open at once through one supervisor; more are closed as
/// they come (a client on the LAN must not exhaust the host's threads).
const MAX_CONNECTIONS: usize = 512;

/// Listening sockets of a container's userland ports.
pub struct Bound(Vec<(TcpListener, SocketAddr)>);

/// Binds every forward's host address and port.
pub fn bind(forwards: &[UserlandForward]) -> Result<Bound> {
    let mut v = Vec::new();
    for f in forwards {
        let l = TcpListener::bind(f.listen).map_err(|e| {
            anyhow!(
                "cannot listen on {} for the published port (userland forwarder): {e}",
                f.listen
            )
        })?;
        v.push((l, f.target));
    }
    Ok(Bound(v))
}

impl Bound {
    /// Serves every port in a thread of its own until [`Serving::close`].
    pub fn serve(self) -> Serving {
        let open = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut fds = Vec::new();
        let mut threads = Vec::new();
        for (listener, target) in self.0 {
            fds.push(listener.as_raw_fd());
            let (open, stop) = (open.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                accept_loop(&listener, target, &open, &stop)
            }));
        }
        Serving { stop, fds, threads }
    }
}

/// The ports being served.
pub struct Serving {
    stop: Arc<AtomicBool>,
    fds: Vec<RawFd>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Serving {
    /// Stops listening (before the container's exit is recorded, so that
    /// `stop` returns with the ports closed); connections already open
    /// end with the process.
    pub fn close(self) {
        self.stop.store(true, Ordering::SeqCst);
        for fd in &self.fds {
            // Wakes the thread blocked in accept(2); it then drops (closes)
            // its listener. The fd stays valid until then.
            // SAFETY: shutdown(2) on a socket this process owns.
            unsafe { libc::shutdown(*fd, libc::SHUT_RDWR) };
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    target: SocketAddr,
    open: &Arc<AtomicUsize>,
    stop: &AtomicBool,
) {
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else {
            continue;
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let open = open.clone();
        std::thread::spawn(move || {
            relay(client, target);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Copies both ways between `client` and a new connection to `target`
/// until both sides are done.
fn relay(client: TcpStream, target: SocketAddr) {
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
        return;
    };
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let mut c = client;
        let mut s = server;
        let _ = std::io::copy(&mut c, &mut s);
        let _ = s.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut s2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
}
