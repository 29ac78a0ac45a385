//! The UDP loop of one listen address.
//!
//! Queries are read in batches (`recvmmsg`) and local answers sent in
//! batches (`sendmmsg`): on loopback and veth the per-packet kernel work
//! dominates, and batching halves the system calls and wake-ups under
//! load. Local names are answered inline (no task per query); forwarded
//! queries run in their own task, bounded per container, per network and
//! in all (see [`crate::budget`]) so a dead upstream or a flooding
//! container cannot exhaust memory or starve other containers' DNS
//! (queries over a bound are dropped: the client retries).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::budget::Kind;
use crate::forward::{forward, ForwardJob};
use crate::request::{handle, Action, Transport};
use crate::server::Shared;

/// Largest query accepted over UDP; longer datagrams are cut (then
/// answered FORMERR or dropped).
const MAX_QUERY: usize = 4096;
/// Datagrams read (and replies sent) per system call at most.
const BATCH: usize = 32;

/// Buffers reused across batches.
struct Batch {
    bufs: Vec<[u8; MAX_QUERY]>,
    /// (buffer index, length, source) of the datagrams just read.
    received: Vec<(usize, usize, SocketAddr)>,
    replies: Vec<(Vec<u8>, SocketAddr)>,
}

/// Serves queries arriving on `socket` (bound to `listen`) until aborted.
pub(crate) async fn serve(socket: Arc<UdpSocket>, listen: IpAddr, shared: Arc<Shared>) {
    let mut batch = Batch {
        bufs: vec![[0u8; MAX_QUERY]; BATCH],
        received: Vec::with_capacity(BATCH),
        replies: Vec::with_capacity(BATCH),
    };
    let fd = socket.as_raw_fd();
    loop {
        batch.received.clear();
        if let Err(e) = socket.readable().await {
            tracing::debug!(%listen, error = %e, "udp socket failed");
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        match socket.try_io(Interest::READABLE, || recv_batch(fd, &mut batch)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::debug!(%listen, error = %e, "udp receive failed");
                continue;
            }
        }
        answer_batch(&socket, listen, &shared, &mut batch);
        send_batch(&socket, fd, &mut batch).await;
    }
}

/// Reads up to [`BATCH`] datagrams without blocking. (nix's headers hold
/// raw pointers, so they are not kept across awaits but made per call.)
fn recv_batch(fd: RawFd, batch: &mut Batch) -> io::Result<()> {
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut slices: Vec<[IoSliceMut<'_>; 1]> = batch
        .bufs
        .iter_mut()
        .map(|b| [IoSliceMut::new(&mut b[..])])
        .collect();
    let results = recvmmsg(
        fd,
        &mut headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )?;
    for (i, msg) in results.enumerate() {
        if let Some(src) = msg.address.as_ref().and_then(std_addr) {
            batch.received.push((i, msg.bytes, src));
        }
    }
    Ok(())
}

/// Handles every datagram read: local replies are queued for
/// [`send_batch`], forwarded queries spawned.
fn answer_batch(socket: &Arc<UdpSocket>, listen: IpAddr, shared: &Arc<Shared>, batch: &mut Batch) {
    let resolver = shared.resolver();
    let caps = shared.config.forward_caps();
    for &(i, len, src) in &batch.received {
        let packet = &batch.bufs[i][..len];
        match handle(&resolver, listen, src.ip(), packet, Transport::Udp) {
            Action::Reply(reply) if !reply.is_empty() => batch.replies.push((reply, src)),
            Action::Reply(_) | Action::Drop => {}
            Action::Forward(f) => {
                let Some(permit) = f.charge.take(Kind::Forward, caps, &shared.total) else {
                    tracing::debug!(%src, "too many queries in flight; dropped");
                    continue;
                };
                let job = ForwardJob {
                    upstreams: f.upstreams.to_vec(),
                    query: packet.to_vec(),
                    request: f.request,
                    limit: f.limit,
                };
                let (socket, shared) = (socket.clone(), shared.clone());
                tokio::spawn(async move {
                    let timeout = shared.config.upstream_timeout;
                    let reply = forward(&job, &shared.upstreams, timeout).await;
                    drop(permit);
                    send(&socket, &reply, src).await;
                });
            }
        }
    }
}

/// Sends the queued replies, in one system call when the socket allows,
/// one by one otherwise.
async fn send_batch(socket: &UdpSocket, fd: RawFd, batch: &mut Batch) {
    if batch.replies.is_empty() {
        return;
    }
    let sent = socket
        .try_io(Interest::WRITABLE, || send_mmsg(fd, batch))
        .unwrap_or(0);
    let replies = std::mem::take(&mut batch.replies);
    for (reply, to) in replies.iter().skip(sent) {
        send(socket, reply, *to).await;
    }
    batch.replies = replies;
    batch.replies.clear();
}

/// `sendmmsg` of the queued replies; returns how many were sent.
fn send_mmsg(fd: RawFd, batch: &mut Batch) -> io::Result<usize> {
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(batch.replies.len(), None);
    let slices: Vec<[IoSlice<'_>; 1]> = batch
        .replies
        .iter()
        .map(|(reply, _)| [IoSlice::new(reply)])
        .collect();
    let addrs: Vec<Option<SockaddrStorage>> = batch
        .replies
        .iter()
        .map(|&(_, to)| Some(SockaddrStorage::from(to)))
        .collect();
    let no_cmsgs: [ControlMessage<'_>; 0] = [];
    let results = sendmmsg(
        fd,
        &mut headers,
        slices.iter(),
        &addrs,
        no_cmsgs,
        MsgFlags::MSG_DONTWAIT,
    )?;
    Ok(results.count())
}

/// A std socket address from nix's.
fn std_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
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
