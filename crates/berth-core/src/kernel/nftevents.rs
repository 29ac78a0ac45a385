//! nftables change notifications (netlink group `NFNLGRP_NFTABLES`): what
//! `berth agent` listens to so that berth's tables come back after `nft
//! flush ruleset`, `systemctl restart nftables` or a firewalld reload.
//!
//! Only deletions in a table named `berth` matter (its table, chains,
//! rules or sets: `DELTABLE`, `DELCHAIN`, `DELRULE`, `DELSET`); element
//! deletions are berth's daily work and are ignored. A notification
//! overflow (`ENOBUFS`: the kernel dropped some) counts as a deletion, so
//! the caller checks rather than misses one.
//!
//! The messages are read by hand, like [`super::nftnl`]'s: the header and
//! one attribute (the table name is attribute 1 of all four messages).

use crate::error::{Error, Result};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use std::time::Duration;

/// `NFNLGRP_NFTABLES`.
const NFNLGRP_NFTABLES: u32 = 7;
/// `NFNL_SUBSYS_NFTABLES`.
const SUBSYS_NFTABLES: u16 = 10;
/// `NFT_MSG_DELTABLE`, `DELCHAIN`, `DELRULE`, `DELSET`.
const DELETIONS: [u16; 4] = [2, 5, 8, 11];
/// The table berth owns (in families inet and bridge).
const TABLE: &[u8] = b"berth";

/// A socket subscribed to nftables' change notifications in the calling
/// thread's network namespace.
pub struct NftEvents {
    sock: Socket,
    buf: Vec<u8>,
}

impl NftEvents {
    /// Subscribes (needs CAP_NET_ADMIN).
    pub fn open() -> Result<NftEvents> {
        let fail =
            |what: &str, e: std::io::Error| Error::kernel(format!("nftables events {what}: {e}"));
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| fail("socket", e))?;
        sock.bind(&SocketAddr::new(0, 0))
            .map_err(|e| fail("bind", e))?;
        sock.add_membership(NFNLGRP_NFTABLES)
            .map_err(|e| fail("subscribe", e))?;
        Ok(NftEvents {
            sock,
            buf: vec![0u8; 1 << 16],
        })
    }

    /// Waits up to `timeout` for notifications; true when one of them
    /// deleted something of berth's tables (or some were lost).
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        self.set_timeout(timeout)?;
        match self.sock.recv(&mut &mut self.buf[..], 0) {
            Ok(n) => Ok(touches_berth(&self.buf[..n])),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::kernel(format!("nftables events receive: {e}"))),
        }
    }

    /// Reads what is pending for up to `quiet` after the last
    /// notification (a flush is a burst of them); true when any deleted
    /// something of berth's.
    pub fn drain(&mut self, quiet: Duration) -> Result<bool> {
        let mut any = false;
        loop {
            self.set_timeout(quiet)?;
            match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => any |= touches_berth(&self.buf[..n]),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => any = true,
                Err(_) => return Ok(any),
            }
        }
    }

    fn set_timeout(&self, t: Duration) -> Result<()> {
        super::nftnl::receive_timeout(&self.sock, t)
            .map_err(|e| Error::kernel(format!("nftables events timeout: {e}")))
    }
}

/// Whether a datagram of notifications deletes part of a `berth` table.
pub fn touches_berth(buf: &[u8]) -> bool {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        if len < 16 || off + len > buf.len() {
            break;
        }
        let msg = &buf[off..off + len];
        if kind >> 8 == SUBSYS_NFTABLES
            && DELETIONS.contains(&(kind & 0xff))
            && table_name(msg) == Some(TABLE)
        {
            return true;
        }
        off += len.div_ceil(4) * 4;
    }
    false
}

/// Attribute 1 (the table's name, NUL-terminated) of an nftables message:
/// after the netlink header (16 bytes) and `nfgenmsg` (4).
fn table_name(msg: &[u8]) -> Option<&[u8]> {
    let mut off = 20;
    while off + 4 <= msg.len() {
        let len = u16::from_ne_bytes([msg[off], msg[off + 1]]) as usize;
        let kind = u16::from_ne_bytes([msg[off + 2], msg[off + 3]]) & 0x3fff;
        if len < 4 || off + len > msg.len() {
            return None;
        }
        if kind == 1 {
            let v = &msg[off + 4..off + len];
            return Some(v.split(|b| *b == 0).next().unwrap_or(v));
        }
        off += len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One notification: header, nfgenmsg, the table name attribute.
    fn msg(kind: u16, table: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        let name = [table.as_bytes(), &[0]].concat();
        attr.extend(((4 + name.len()) as u16).to_ne_bytes());
        attr.extend(1u16.to_ne_bytes());
        attr.extend(&name);
        attr.resize(attr.len().div_ceil(4) * 4, 0);
        let len = 16 + 4 + attr.len();
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(((SUBSYS_NFTABLES << 8) | kind).to_ne_bytes());
        m.extend([0u8; 10]);
        m.extend([1u8, 0, 0, 0]);
        m.extend(attr);
        m
    }

    #[test]
    fn only_deletions_in_berth_s_tables_count() {
        assert!(touches_berth(&msg(2, "berth")));
        assert!(touches_berth(&msg(8, "berth")));
        assert!(touches_berth(&[msg(0, "filter"), msg(5, "berth")].concat()));
        // Element deletions (berth's own work), other tables, new objects.
        assert!(!touches_berth(&msg(14, "berth")));
        assert!(!touches_berth(&msg(2, "filter")));
        assert!(!touches_berth(&msg(2, "berthx")));
        assert!(!touches_berth(&msg(0, "berth")));
        // Truncated input is ignored, never read past.
        let m = msg(2, "berth");
        assert!(!touches_berth(&m[..m.len() - 3]));
        assert!(!touches_berth(&[]));
    }
}
