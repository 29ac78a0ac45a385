//! Set and map elements over nftables netlink, without libnftables.
//!
//! Publishing or unpublishing a port is one element of one of berth's maps.
//! Through libnftables that costs ~1.5 ms per process (loading the library
//! and its dependencies, building its cache with four dump requests,
//! parsing the text); here it is one batch of `NEWSETELEM`/`DELSETELEM`
//! messages in one `sendmsg`, ~0.1 ms. The elements of berth's port maps
//! and its per-container bridge sets (`no_icc_ports`, `port_mac`,
//! `port_ip4`, `port_ip6`, `port_nd`) are encoded from their typed form
//! ([`encode`] returns `None` for any other set, and [`super::Nft`] renders
//! those as text for libnftables); the batch is atomic like an `nft -f`
//! transaction. [`dump`] reads a set's elements back, decoded to the same
//! typed form (topology, doctor).
//!
//! The messages are written by hand. netlink-packet-netfilter 0.4 (on the
//! netlink-packet-core 0.9 berth uses) has the set element messages, but
//! berth's own work — the register layout of concatenated keys, the
//! interval ends, the typed decoding — stays the same with it; what it
//! would replace is the framing below (~60 lines, tested byte for byte
//! against `nft --debug=netlink`), at the price of derive_more and its
//! proc-macro stack in every build and an untyped `KEY_END`. Left for a
//! benchmark-backed change (see issue 12's notes).
//!
//! Encoding (as `nft --debug=netlink` shows it): every field of a
//! concatenation sits in 4-byte aligned registers (`inet_proto` 1 byte and
//! `inet_service` 2 bytes big-endian, zero-padded); interval maps with a
//! concatenated key (pipapo) take the lower bounds as the key and the upper
//! bounds as `KEY_END`; values of `addr . port` maps are concatenated the
//! same way. An `ether_addr` takes 6 bytes padded to 8.

use crate::error::{Error, Result};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

mod decode;
mod encode;
pub use decode::dump;
pub(crate) use encode::proto_number;
pub use encode::{encode, ops, ElementOp};

const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
/// `NFPROTO_INET`.
pub(crate) const NFPROTO_INET: u8 = 1;
/// `NFPROTO_BRIDGE`.
pub(crate) const NFPROTO_BRIDGE: u8 = 7;

fn push_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    out.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len().div_ceil(4) * 4, 0);
}

fn data_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let mut inner = Vec::new();
    push_attr(&mut inner, NFTA_DATA_VALUE, value);
    push_attr(out, kind | NLA_F_NESTED, &inner);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One netlink message: header, nfgenmsg (family, version 0, res_id) and
/// attributes.
fn message(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16, attrs: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(20 + attrs.len());
    m.extend_from_slice(&((20 + attrs.len()) as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.push(family);
    m.push(0);
    m.extend_from_slice(&res_id.to_be_bytes());
    m.extend_from_slice(attrs);
    m
}

/// The whole batch (begin, one message per operation, end), pure.
pub fn batch(ops: &[ElementOp]) -> Vec<u8> {
    let mut out = message(NFNL_MSG_BATCH_BEGIN, 0, 0, 0, NFNL_SUBSYS_NFTABLES, &[]);
    for (i, op) in ops.iter().enumerate() {
        let mut elem = Vec::new();
        data_attr(&mut elem, NFTA_SET_ELEM_KEY, &op.key);
        if let Some(end) = &op.key_end {
            data_attr(&mut elem, NFTA_SET_ELEM_KEY_END, end);
        }
        if let Some(data) = &op.data {
            data_attr(&mut elem, NFTA_SET_ELEM_DATA, data);
        }
        let mut list = Vec::new();
        push_attr(&mut list, NFTA_LIST_ELEM | NLA_F_NESTED, &elem);
        let mut attrs = Vec::new();
        push_attr(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, &cstr(&op.table));
        push_attr(&mut attrs, NFTA_SET_ELEM_LIST_SET, &cstr(&op.set));
        push_attr(
            &mut attrs,
            NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED,
            &list,
        );
        let (kind, flags) = if op.add {
            (NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK)
        } else {
            (NFT_MSG_DELSETELEM, NLM_F_ACK)
        };
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        out.extend(message(kind, flags, i as u32 + 1, op.family, 0, &attrs));
    }
    let end = message(
        NFNL_MSG_BATCH_END,
        0,
        ops.len() as u32 + 1,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    out.extend(end);
    out
}

/// A netfilter netlink socket for element transactions.
///
/// Keep it for the life of the process: closing a netfilter netlink socket
/// makes the kernel wait for the RCU grace period of the last transaction
/// that deleted something (`nft_rcv_nl_event` flushes nf_tables' destroy
/// work, ~10-20 ms here). Closed at exit, after the rest of a teardown
/// (deleting a veth waits for grace periods too), the wait is usually over
/// by then; closed right after the transaction, it is on the critical path
/// and serialises with link deletion (which takes nf_tables' commit mutex).
pub struct Conn {
    sock: Socket,
    /// The receive buffer asked for so far (0: the kernel's default).
    rcvbuf: usize,
}

/// Room per acknowledgement in the receive buffer: each is a datagram of
/// its own, charged at its buffer's true size (well under 1 KiB).
const ACK_ROOM: usize = 1024;

/// Batches of up to this many operations fit the default receive buffer
/// (~200 KiB) with their acknowledgements.
const DEFAULT_ACKS: usize = 128;

impl Conn {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> Result<Conn> {
        let fail =
            |what: &str, e: std::io::Error| Error::kernel(format!("nftables netlink {what}: {e}"));
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| fail("socket", e))?;
        sock.bind_auto().map_err(|e| fail("bind", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| fail("connect", e))?;
        set_timeout(&sock)?;
        Ok(Conn { sock, rcvbuf: 0 })
    }

    /// The socket, to look at.
    pub fn sock_ref(&self) -> &Socket {
        &self.sock
    }

    /// The socket (ctnetlink requests can share it).
    pub fn socket(&mut self) -> &mut Socket {
        &mut self.sock
    }

    /// Applies `ops` as one atomic nftables transaction. `text` (the
    /// commands as nft would read them) is for error messages.
    pub fn apply(&mut self, ops: &[ElementOp], text: impl FnOnce() -> String) -> Result<()> {
        let fail =
            |what: &str, e: std::io::Error| Error::kernel(format!("nftables netlink {what}: {e}"));
        self.room_for(ops.len());
        self.sock
            .send(&batch(ops), 0)
            .map_err(|e| fail("send", e))?;
        let mut pending = ops.len();
        let mut first_error = None;
        let mut buf = vec![0u8; 65536];
        while pending > 0 {
            let n = self
                .sock
                .recv(&mut &mut buf[..], 0)
                .map_err(|e| fail("receive", e))?;
            for code in acks(&buf[..n]) {
                pending = pending.saturating_sub(1);
                if code != 0 && first_error.is_none() {
                    first_error = Some(-code);
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some(errno) => {
                let text = text();
                let cmd = text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                Err(Error::kernel(format!(
                    "nftables refused the transaction ({}); first command: {cmd}",
                    std::io::Error::from_raw_os_error(errno)
                )))
            }
        }
    }
}

impl Conn {
    /// Makes the receive buffer large enough for the acknowledgements of
    /// `ops` operations, which the kernel queues all at once: beyond the
    /// default buffer's room it drops them and the receive fails with
    /// ENOBUFS (a batch reap of dead CNI attachments deletes thousands of
    /// elements in one transaction). Best effort: SO_RCVBUFFORCE (berth
    /// runs as root), else SO_RCVBUF up to the host's limit.
    fn room_for(&mut self, ops: usize) {
        let want = ops.saturating_mul(ACK_ROOM).min(64 << 20);
        if ops <= DEFAULT_ACKS || want <= self.rcvbuf {
            return;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.sock);
        let size = want as libc::c_int;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: setsockopt with a valid fd and a c_int of the right size.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    std::ptr::addr_of!(size).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc == 0 {
                self.rcvbuf = want;
                return;
            }
        }
    }
}

/// The error codes of the acknowledgements in one datagram (0 = success).
fn acks(buf: &[u8]) -> Vec<i32> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 20 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        if len < 16 || off + len > buf.len() {
            break;
        }
        if kind == NLMSG_ERROR {
            out.push(i32::from_ne_bytes([
                buf[off + 16],
                buf[off + 17],
                buf[off + 18],
                buf[off + 19],
            ]));
        }
        off += len.div_ceil(4) * 4;
    }
    out
}

/// A receive timeout, so that an unexpected kernel answer cannot hang berth.
fn set_timeout(sock: &Socket) -> Result<()> {
    receive_timeout(sock, std::time::Duration::from_secs(5))
        .map_err(|e| Error::kernel(format!("nftables netlink timeout: {e}")))
}

/// Sets `SO_RCVTIMEO` on a netlink socket (at least 1 ms: zero would mean
/// "wait for ever"). Shared by the batch socket and the events socket.
pub(crate) fn receive_timeout(
    sock: &Socket,
    t: std::time::Duration,
) -> std::result::Result<(), nix::Error> {
    use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout};
    let t = t.max(std::time::Duration::from_millis(1));
    setsockopt(
        sock,
        ReceiveTimeout,
        &nix::sys::time::TimeVal::from(libc::timeval {
            tv_sec: t.as_secs() as libc::time_t,
            tv_usec: libc::suseconds_t::from(t.subsec_micros()),
        }),
    )
}

#[cfg(test)]
mod tests;
