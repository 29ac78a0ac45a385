//! The UDP loop of one listen address.
//!
//! Local names are answered inline (no task, no allocation beyond the
//! message itself); forwarded queries run in their own task, bounded by a
//! semaphore so a dead upstream cannot exhaust file descriptors (queries
//! over the bound are dropped: the client retries).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::forward::{forward, ForwardJob};
use crate::request::{handle, Action, Transport};
use crate::server::Shared;

/// Largest query accepted over UDP; longer datagrams are cut and dropped
/// or answered FORMERR.
const MAX_QUERY: usize = 4096;

/// Serves queries arriving on `socket` (bound to `listen`) until aborted.
pub(crate) async fn serve(socket: Arc<UdpSocket>, listen: IpAddr, shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_QUERY];
    loop {
        let (len, src) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!(%listen, error = %e, "udp receive failed");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let resolver = shared.resolver.load();
        match handle(&resolver, listen, src.ip(), &buf[..len], Transport::Udp) {
            Action::Reply(reply) => send(&socket, &reply, src).await,
            Action::Forward(f) => {
                let Ok(permit) = shared.forwards.clone().try_acquire_owned() else {
                    tracing::debug!(%src, "too many queries in flight; dropped");
                    continue;
                };
                let job = ForwardJob {
                    upstreams: f.upstreams.to_vec(),
                    query: buf[..len].to_vec(),
                    request: f.request,
                    limit: f.limit,
                };
                let (socket, shared) = (socket.clone(), shared.clone());
                let timeout = shared.config.upstream_timeout;
                tokio::spawn(async move {
                    let reply = forward(&job, &shared.upstreams, timeout).await;
                    drop(permit);
                    send(&socket, &reply, src).await;
                });
            }
            Action::Drop => {}
        }
    }
}

/// Sends a reply, ignoring errors (the client is gone or unreachable).
async fn send(socket: &UdpSocket, reply: &[u8], to: SocketAddr) {
    if reply.is_empty() {
        return;
    }
    if let Err(e) = socket.send_to(reply, to).await {
        tracing::debug!(%to, error = %e, "udp send failed");
    }
}
