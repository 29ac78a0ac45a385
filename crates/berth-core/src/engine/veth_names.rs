//! Host veth names: `veth` + 7 hex digits of the endpoint id (Docker's
//! form), so 28 random bits. A new endpoint's id is drawn again until its
//! name is neither recorded for another endpoint nor a link of the host
//! (Docker names its veths the same way); the store's UNIQUE index on the
//! names is the last line of defence.

use crate::error::{Error, Result};
use crate::ids;
use crate::store::Tx;

/// How many ids are drawn before giving up (a clash is a 1 in 2^28 event
/// per existing veth: 32 clashes in a row mean something else is wrong).
const DRAWS: usize = 32;

/// A fresh endpoint id with a free host veth name.
pub(crate) fn endpoint_id(tx: &Tx) -> Result<String> {
    pick(ids::new_id, |name| {
        let on_host = std::path::Path::new("/sys/class/net").join(name).exists();
        Ok(on_host || tx.veth_in_use(name)?)
    })
}

/// The first id from `draw` whose veth name `taken` says is free.
fn pick(
    mut draw: impl FnMut() -> Result<String>,
    mut taken: impl FnMut(&str) -> Result<bool>,
) -> Result<String> {
    for _ in 0..DRAWS {
        let id = draw()?;
        if !taken(&ids::host_veth_name(&id))? {
            return Ok(id);
        }
    }
    Err(Error::internal(format!(
        "no free veth name in {DRAWS} draws: the host or the store has too many veths"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_is_drawn_again() {
        let mut ids = ["aaaaaaa1", "aaaaaaa2", "bbbbbbb0"].into_iter();
        let mut asked = Vec::new();
        let id = pick(
            || Ok(ids.next().unwrap().to_string()),
            |name| {
                asked.push(name.to_string());
                Ok(name == "vethaaaaaaa")
            },
        )
        .unwrap();
        assert_eq!(id, "bbbbbbb0");
        assert_eq!(asked, ["vethaaaaaaa", "vethaaaaaaa", "vethbbbbbbb"]);
        let e = pick(|| Ok("c".repeat(64)), |_| Ok(true)).unwrap_err();
        assert!(e.to_string().contains("no free veth name"), "{e}");
    }
}
