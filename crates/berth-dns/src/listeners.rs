//! Listening sockets: one UDP socket and one TCP listener per gateway
//! address, kept in step with the snapshot.
//!
//! Sockets are bound with `IP_FREEBIND` so a gateway whose address is not
//! configured yet (a bridge still coming up, IPv6 duplicate address
//! detection) can be listened on anyway, and IPv6 sockets are v6-only.
//! Tests hand in [`Listener`]s they bound themselves (any port, no root).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::task::JoinHandle;

use crate::server::Shared;
use crate::{tcp, udp};

/// A UDP socket and a TCP listener bound to the same address and port.
#[derive(Debug)]
pub struct Listener {
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
}

impl Listener {
    /// Binds both sockets on `addr`. Port 0 picks a free port, the same
    /// for UDP and TCP.
    pub fn bind(addr: SocketAddr) -> io::Result<Listener> {
        if addr.port() != 0 {
            return Ok(Listener {
                udp: bind_udp(addr)?,
                tcp: bind_tcp(addr)?,
            });
        }
        let mut last = io::Error::from(io::ErrorKind::AddrInUse);
        for _ in 0..16 {
            let udp = bind_udp(addr)?;
            let port = udp.local_addr()?.port();
            match bind_tcp(SocketAddr::new(addr.ip(), port)) {
                Ok(tcp) => return Ok(Listener { udp, tcp }),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Wraps sockets bound elsewhere (they must share address and port).
    pub fn from_sockets(udp: std::net::UdpSocket, tcp: std::net::TcpListener) -> Listener {
        Listener { udp, tcp }
    }

    /// The address both sockets are bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// A new socket for `addr`: free-bind, v6-only for IPv6, non-blocking.
fn socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_freebind_v6(true)?;
    } else {
        socket.set_freebind_v4(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = socket(addr, Type::DGRAM, Protocol::UDP)?;
    // Absorb bursts; the kernel caps this at net.core.rmem_max.
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn bind_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = socket(addr, Type::STREAM, Protocol::TCP)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// The tasks serving one address; dropping this stops them.
#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The listeners currently served, by gateway address.
#[derive(Debug, Default)]
pub(crate) struct ListenerSet {
    running: HashMap<IpAddr, Running>,
    prebound: HashMap<IpAddr, Listener>,
}

impl ListenerSet {
    /// A set that will use `prebound` listeners for their addresses
    /// instead of binding.
    pub(crate) fn new(prebound: Vec<Listener>) -> io::Result<ListenerSet> {
        let mut set = ListenerSet::default();
        for l in prebound {
            set.prebound.insert(l.local_addr()?.ip(), l);
        }
        Ok(set)
    }

    /// Listens on exactly `wanted` (at `port`): stops listeners for
    /// addresses no longer wanted, starts the missing ones. Must run inside
    /// the tokio runtime. Returns the addresses that could not be bound.
    pub(crate) fn sync(
        &mut self,
        wanted: &[IpAddr],
        port: u16,
        shared: &Arc<Shared>,
    ) -> Vec<(SocketAddr, io::Error)> {
        self.running.retain(|ip, _| wanted.contains(ip));
        let mut failures = Vec::new();
        for &ip in wanted {
            if self.running.contains_key(&ip) {
                continue;
            }
            let addr = SocketAddr::new(ip, port);
            let started = match self.prebound.remove(&ip) {
                Some(l) => start(l, shared),
                None => Listener::bind(addr).and_then(|l| start(l, shared)),
            };
            match started {
                Ok(running) => {
                    tracing::debug!(addr = %running.addr, "listening");
                    self.running.insert(ip, running);
                }
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "cannot listen");
                    failures.push((addr, e));
                }
            }
        }
        failures
    }

    /// The addresses served now.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = self.running.values().map(|r| r.addr).collect();
        addrs.sort();
        addrs
    }

    /// Stops every listener.
    pub(crate) fn clear(&mut self) {
        self.running.clear();
    }
}

/// Starts the UDP workers and the TCP acceptor for `listener`.
fn start(listener: Listener, shared: &Arc<Shared>) -> io::Result<Running> {
    let addr = listener.local_addr()?;
    let udp = Arc::new(tokio::net::UdpSocket::from_std(listener.udp)?);
    let tcp = tokio::net::TcpListener::from_std(listener.tcp)?;
    let mut tasks = Vec::new();
    for _ in 0..shared.config.udp_workers.max(1) {
        tasks.push(tokio::spawn(udp::serve(
            udp.clone(),
            addr.ip(),
            shared.clone(),
        )));
    }
    tasks.push(tokio::spawn(tcp::serve(tcp, addr.ip(), shared.clone())));
    Ok(Running { addr, tasks })
}
