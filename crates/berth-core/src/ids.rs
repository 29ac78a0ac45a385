//! Identifiers and names: 64-hex ids like Docker's, name validation,
//! prefix lookup helpers and kernel interface names derived from ids.

use crate::error::{Error, Result};

/// A fresh random 64-hex-character id.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("cannot read random bytes for an id: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A MAC address as text, `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The 12-character short form of an id, as Docker prints it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Checks a container or network name against Docker's rule
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok_first || !ok_rest || name.len() > 128 {
        return Err(Error::invalid(format!(
            "invalid {what} name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 128 characters)"
        )));
    }
    Ok(())
}

/// Characters an interface name may not have besides whitespace and
/// control characters: Linux refuses `/` and `:`; berth also refuses what
/// would change meaning in nftables text (`"` ends the quoted name, `\\`
/// and `'` quote, a trailing `*` is a wildcard) and `%`, which the kernel
/// replaces by a number (`br%d` becomes `br0`, not the name recorded).
const IFNAME_FORBIDDEN: &str = "/:\"'\\*%";

/// True when `name` is an interface name berth accepts (see
/// [`validate_ifname`]). The CNI crate (`berth_cni::env::validate_ifname`)
/// applies the same rule with the protocol's error code.
pub fn ifname_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !IFNAME_FORBIDDEN.contains(c))
}

/// Checks a Linux interface name: 1 to 15 printable ASCII characters, not
/// `.` or `..`, none of `/ : " ' \ * %` (see [`IFNAME_FORBIDDEN`]).
pub fn validate_ifname(name: &str) -> Result<()> {
    if !ifname_ok(name) {
        return Err(Error::invalid(format!(
            "invalid interface name {name:?}: an interface name is 1 to 15 characters (printable ones) without spaces, '/', ':', quotes, '\\', '*' or '%', and is not . or ..; choose a shorter or plainer name"
        )));
    }
    Ok(())
}

/// Host-side veth name for an endpoint: `veth` + 7 hex of the endpoint id,
/// like Docker's `veth1a2b3c4`.
pub fn host_veth_name(endpoint_id: &str) -> String {
    format!("veth{}", &endpoint_id[..7.min(endpoint_id.len())])
}

/// Bridge name of a user-defined bridge network: `br-` + 12 hex of its id.
pub fn bridge_name(network_id: &str) -> String {
    format!("br-{}", short(network_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(short(&a).len(), 12);
    }

    #[test]
    fn names() {
        assert!(validate_name("container", "web-1.a_b").is_ok());
        assert!(validate_name("container", "-bad").is_err());
        assert!(validate_name("container", "").is_err());
        assert!(validate_name("container", "a b").is_err());
        assert!(validate_ifname("br-0123456789ab").is_ok());
        assert!(validate_ifname("averyveryverylongname").is_err());
        for bad in [
            "", ".", "..", "a b", "a/b", "a:b", "br\"x", "br'x", "br\\x", "br*", "br%d", "br\n",
            "bré",
        ] {
            let e = validate_ifname(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
        for ok in [
            "eth0",
            "br-lan",
            "virbr0",
            "docker_gwbridge",
            "eth0.100",
            "a@b",
        ] {
            assert!(validate_ifname(ok).is_ok(), "{ok}");
        }
        assert_eq!(bridge_name(&"ab".repeat(32)), "br-abababababab");
        assert_eq!(host_veth_name("0123456789"), "veth0123456");
    }
}
