//! Letting nftables render a ruleset without touching the host: the text
//! is applied in a throwaway network namespace (created on a short-lived
//! thread, gone when the thread ends) and listed back as JSON, in exactly
//! the form the kernel and this nft version print for the live tables.
//! `berth doctor` compares the two to find what a firewall reload removed
//! or changed.

use crate::error::{Error, Result};
use crate::kernel::Nft;

/// Applies `text` in a fresh network namespace and returns the JSON
/// listing of each of `tables` (`"inet berth"`) there.
pub fn render(text: &str, tables: &[&str]) -> Result<Vec<String>> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                Error::kernel(format!("cannot create a scratch network namespace: {e}"))
            })?;
            let mut nft = Nft::new();
            nft.apply(text)?;
            tables
                .iter()
                .map(|t| nft.list_json(&format!("list table {t}")))
                .collect()
        })
        .join()
        .unwrap_or_else(|_| Err(Error::internal("scratch namespace thread panicked")))
    })
}
