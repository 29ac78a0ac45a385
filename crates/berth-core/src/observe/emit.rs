//! Probe packets for `berth trace`: one real packet sent from a namespace
//! (a container's, or the host's), or injected on the ingress of a host
//! interface as if it came from the network.
//!
//! - [`probe_from`] runs on a short-lived thread that entered the source
//!   namespace (setns is per thread): a TCP connect (SYN) with a timeout,
//!   one UDP datagram, or an ICMP echo request, from a chosen source port
//!   (echo id) so the firewall can mark exactly this packet for tracing.
//!   Its [`Outcome`] is what the sender saw: an answer, a refusal, an
//!   ICMP error, or nothing.
//! - [`super::inject`] makes a packet arrive from the network instead.

use super::packet::{self, Payload};
use crate::error::{Error, Result};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the sender of a probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An answer: TCP connected, an echo reply, a UDP reply.
    Answered,
    /// Refused: a TCP reset or an ICMP port unreachable.
    Refused,
    /// An ICMP error (or a local route error) with this errno.
    Unreachable(i32),
    /// Nothing came back in time.
    NoAnswer,
}

/// Runs `f` on a thread inside the network namespace pinned at `ns`
/// (`None`: the caller's namespace).
pub fn in_netns<T: Send>(ns: Option<&Path>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let file = ns.map(crate::kernel::netns::open).transpose()?;
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(file) = &file {
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::kernel(format!("cannot enter network namespace: {e}")))?;
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(Error::internal("probe thread panicked")))
    })
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::from([0u16; 8])
    } else {
        IpAddr::from([0u8; 4])
    }
}

/// A socket address in the C layout, with its length.
struct RawAddr(libc::sockaddr_storage, libc::socklen_t);

impl RawAddr {
    fn new(a: SocketAddr) -> RawAddr {
        // SAFETY: an all-zero sockaddr_storage is valid.
        let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match a {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as u16,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin) };
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as u16,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: 0,
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: 0,
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin6) };
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr(st, len as libc::socklen_t)
    }

    fn ptr(&self) -> *const libc::sockaddr {
        (&self.0 as *const libc::sockaddr_storage).cast()
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A non-blocking socket of `kind`/`proto` for `dst`'s family.
fn socket(dst: &IpAddr, kind: i32, proto: i32) -> Result<OwnedFd> {
    let fam = if dst.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe { libc::socket(fam, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(Error::kernel(format!(
            "probe: cannot open a socket: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// connect(2); the errno on failure.
fn connect(fd: &OwnedFd, to: SocketAddr) -> std::result::Result<(), i32> {
    let a = RawAddr::new(to);
    // SAFETY: a valid address of the given length.
    match unsafe { libc::connect(fd.as_raw_fd(), a.ptr(), a.1) } {
        0 => Ok(()),
        _ => Err(last_errno()),
    }
}

/// getsockopt(SO_ERROR).
fn so_error(fd: &OwnedFd) -> i32 {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: err and len are valid for writing.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        err
    } else {
        last_errno()
    }
}

/// send(2) or sendto(2); the errno on failure.
fn send(fd: &OwnedFd, data: &[u8], to: Option<SocketAddr>) -> std::result::Result<(), i32> {
    let a = to.map(RawAddr::new);
    let (p, l) = a.as_ref().map_or((std::ptr::null(), 0), |a| (a.ptr(), a.1));
    // SAFETY: data and the optional address are valid for their lengths.
    let n = unsafe { libc::sendto(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0, p, l) };
    if n < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// recv(2): the length read, or the errno.
fn recv(fd: &OwnedFd, buf: &mut [u8]) -> std::result::Result<usize, i32> {
    // SAFETY: buf is valid for writing its length.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    usize::try_from(n).map_err(|_| last_errno())
}

/// Waits until `fd` is readable (`read`) or writable; false on timeout.
fn wait(fd: &OwnedFd, read: bool, until: Instant) -> bool {
    let left = until.saturating_duration_since(Instant::now());
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: if read { libc::POLLIN } else { libc::POLLOUT },
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as libc::c_int) };
    n > 0
}

fn classify(errno: i32) -> Outcome {
    match errno {
        0 => Outcome::Answered,
        libc::ECONNREFUSED => Outcome::Refused,
        libc::ETIMEDOUT | libc::EAGAIN | libc::EINPROGRESS => Outcome::NoAnswer,
        e => Outcome::Unreachable(e),
    }
}

/// A socket of `kind` bound to `sport` on every address.
fn bound(dst: &IpAddr, kind: i32, sport: u16) -> Result<OwnedFd> {
    let fd = socket(dst, kind, 0)?;
    let one: libc::c_int = 1;
    // SAFETY: a valid int option.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let a = RawAddr::new(SocketAddr::new(unspecified(dst.is_ipv6()), sport));
    // SAFETY: a valid address of the given length.
    if unsafe { libc::bind(fd.as_raw_fd(), a.ptr(), a.1) } != 0 {
        return Err(Error::kernel(format!(
            "probe: cannot bind port {sport}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(fd)
}

/// A TCP connect from `sport` to `dst:dport`, waiting up to `timeout`.
fn tcp(dst: IpAddr, dport: u16, sport: u16, timeout: Duration) -> Result<Outcome> {
    let fd = bound(&dst, libc::SOCK_STREAM, sport)?;
    let until = Instant::now() + timeout;
    match connect(&fd, SocketAddr::new(dst, dport)) {
        Ok(()) => return Ok(Outcome::Answered),
        Err(libc::EINPROGRESS) => {}
        Err(e) => return Ok(classify(e)),
    }
    if !wait(&fd, false, until) {
        return Ok(Outcome::NoAnswer);
    }
    Ok(classify(so_error(&fd)))
}

/// One UDP datagram from `sport`; an answer or an ICMP error counts.
fn udp(dst: IpAddr, dport: u16, sport: u16, timeout: Duration) -> Result<Outcome> {
    let fd = bound(&dst, libc::SOCK_DGRAM, sport)?;
    let until = Instant::now() + timeout;
    if let Err(e) = connect(&fd, SocketAddr::new(dst, dport)) {
        return Ok(classify(e));
    }
    if let Err(e) = send(&fd, b"berth trace", None) {
        return Ok(classify(e));
    }
    if !wait(&fd, true, until) {
        return Ok(Outcome::NoAnswer);
    }
    let mut buf = [0u8; 512];
    Ok(match recv(&fd, &mut buf) {
        Ok(_) => Outcome::Answered,
        Err(e) => classify(e),
    })
}

/// The ICMP message of a received raw-socket datagram (IPv4 raw sockets
/// deliver the IP header too).
fn icmp_part(buf: &[u8], v6: bool) -> &[u8] {
    if v6 {
        return buf;
    }
    let ihl = usize::from(buf.first().map_or(5, |b| b & 0x0f)) * 4;
    buf.get(ihl..).unwrap_or_default()
}

/// An ICMP echo request with `id`; waits for its reply or an error about it.
fn echo(dst: IpAddr, id: u16, timeout: Duration) -> Result<Outcome> {
    let v6 = dst.is_ipv6();
    let proto = if v6 {
        libc::IPPROTO_ICMPV6
    } else {
        libc::IPPROTO_ICMP
    };
    let fd = socket(&dst, libc::SOCK_RAW, proto)?;
    let (_, msg) = packet::transport(unspecified(v6), dst, Payload::Echo { id });
    if let Err(e) = send(&fd, &msg, Some(SocketAddr::new(dst, 0))) {
        return Ok(classify(e));
    }
    let (reply, unreach) = if v6 { (129, 1) } else { (0, 3) };
    let until = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    while wait(&fd, true, until) {
        let Ok(n) = recv(&fd, &mut buf) else {
            continue;
        };
        let icmp = icmp_part(&buf[..n], v6);
        let ty = icmp.first().copied().unwrap_or(255);
        let rid = icmp.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if ty == reply && rid == Some(id) {
            return Ok(Outcome::Answered);
        }
        // An error quotes our request: its IP header, then our ICMP header.
        let quoted = icmp_part(icmp.get(8..).unwrap_or_default(), v6);
        let quoted = if v6 {
            quoted.get(40..).unwrap_or_default()
        } else {
            quoted
        };
        let qid = quoted.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if ty == unreach && qid == Some(id) {
            return Ok(Outcome::Unreachable(libc::EHOSTUNREACH));
        }
    }
    Ok(Outcome::NoAnswer)
}

/// Sends one probe from the namespace pinned at `ns` (`None`: the
/// caller's) and reports what came back within `timeout`.
pub fn probe_from(
    ns: Option<&Path>,
    dst: IpAddr,
    payload: Payload,
    timeout: Duration,
) -> Result<Outcome> {
    in_netns(ns, move || match payload {
        Payload::TcpSyn { sport, dport } => tcp(dst, dport, sport, timeout),
        Payload::Udp { sport, dport } => udp(dst, dport, sport, timeout),
        Payload::Echo { id } => echo(dst, id, timeout),
    })
}
