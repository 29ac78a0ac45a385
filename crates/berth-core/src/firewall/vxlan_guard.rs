//! Who may send VXLAN into berth's overlay networks (pure): a frame for
//! one of this host's overlay VNIs is accepted only from a tunnel endpoint
//! the cluster store lists, so a machine of the underlay that is not a
//! member cannot inject frames into an overlay (VXLAN has no
//! authentication of its own). The VNI is matched in the VXLAN header
//! itself (`@th,96,24`: after the 8-byte UDP header, 8 bits of flags and
//! 24 reserved), so another tool's VXLAN on port 4789 is never touched,
//! and nothing is dropped on a host without overlay networks.
//!
//! `berth agent` refills both sets in one transaction when the cluster's
//! hosts or this host's overlay networks change ([`VxlanGuard::replace`]):
//! O(members), and only on a change of membership.

use super::elements::render;
use super::{Batch, TABLE};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The UDP port of berth's VXLAN devices.
pub const VXLAN_PORT: u16 = 4789;

/// The `inet berth` block: two sets and one rule on the input hook.
pub(super) const INET_VXLAN_GUARD: &str = r#"
table inet berth {
	set vxlan_vnis {
		typeof @th,96,24
		comment "VNIs of this host's overlay networks"
	}
	set vxlan_vteps {
		type ipv4_addr
		comment "tunnel endpoints of the hosts the cluster store lists"
	}
	chain vxlan_guard {
		type filter hook input priority filter - 5; policy accept;
		udp dport 4789 @th,96,24 @vxlan_vnis ip saddr != @vxlan_vteps drop comment "VXLAN for a berth overlay from a host that is not a member"
	}
}
"#;

/// The elements of the two sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VxlanGuard {
    /// VNIs of this host's overlay networks.
    pub vnis: BTreeSet<u32>,
    /// The members' tunnel endpoints.
    pub vteps: BTreeSet<Ipv4Addr>,
}

impl VxlanGuard {
    fn elements(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut e: Vec<_> = self
            .vnis
            .iter()
            .map(|v| ("inet", "vxlan_vnis", v.to_string()))
            .collect();
        e.extend(
            self.vteps
                .iter()
                .map(|v| ("inet", "vxlan_vteps", v.to_string())),
        );
        e
    }

    /// The commands adding the elements (to a freshly rendered table).
    pub fn add(&self) -> Batch {
        render(&self.elements(), false)
    }

    /// One transaction emptying both sets and filling them again.
    pub fn replace(&self) -> Batch {
        let mut b = Batch::new();
        b.push(format!("flush set inet {TABLE} vxlan_vnis"));
        b.push(format!("flush set inet {TABLE} vxlan_vteps"));
        b.extend(self.add());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_is_one_flush_and_one_element_per_member() {
        let g = VxlanGuard {
            vnis: [4097, 4098].into(),
            vteps: [
                "192.0.2.11".parse().expect("ip"),
                "192.0.2.12".parse().expect("ip"),
            ]
            .into(),
        };
        let text = g.replace().text();
        assert_eq!(
            text,
            "flush set inet berth vxlan_vnis\nflush set inet berth vxlan_vteps\n\
             add element inet berth vxlan_vnis { 4097 }\nadd element inet berth vxlan_vnis { 4098 }\n\
             add element inet berth vxlan_vteps { 192.0.2.11 }\nadd element inet berth vxlan_vteps { 192.0.2.12 }\n"
        );
        assert!(VxlanGuard::default().add().is_empty());
    }
}
