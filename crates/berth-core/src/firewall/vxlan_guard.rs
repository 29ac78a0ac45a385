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
//! hosts or this host's overlay networks change (the elements that went
//! away removed, the new ones added: O(members), and only on a change of
//! membership); a whole-ruleset render adds [`VxlanGuard::elements`].

use super::{Element, Field, Set};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

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

/// The guard's element for one VNI of this host's overlay networks.
pub fn vni_element(vni: u32) -> Element {
    Element::new(Set::VxlanVnis, vec![Field::Vni(vni)])
}

impl VxlanGuard {
    /// The elements of both sets.
    pub fn elements(&self) -> Vec<Element> {
        let mut e: Vec<Element> = self.vnis.iter().map(|v| vni_element(*v)).collect();
        e.extend(
            self.vteps
                .iter()
                .map(|v| Element::new(Set::VxlanVteps, vec![Field::Addr(IpAddr::V4(*v))])),
        );
        e
    }

    /// The change from `old` to this guard: (elements to remove, elements
    /// to add), for one transaction.
    pub fn change_from(&self, old: &VxlanGuard) -> (Vec<Element>, Vec<Element>) {
        let new = self.elements();
        let old = old.elements();
        let remove = old.iter().filter(|e| !new.contains(e)).cloned().collect();
        let add = new.into_iter().filter(|e| !old.contains(e)).collect();
        (remove, add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::render;

    fn guard(vnis: &[u32], vteps: &[&str]) -> VxlanGuard {
        VxlanGuard {
            vnis: vnis.iter().copied().collect(),
            vteps: vteps.iter().map(|v| v.parse().expect("ip")).collect(),
        }
    }

    #[test]
    fn elements_are_one_per_vni_and_member() {
        let g = guard(&[4097, 4098], &["192.0.2.11", "192.0.2.12"]);
        assert_eq!(
            render(&[], &g.elements()).text(),
            "add element inet berth vxlan_vnis { 4097 }\nadd element inet berth vxlan_vnis { 4098 }\n\
             add element inet berth vxlan_vteps { 192.0.2.11 }\nadd element inet berth vxlan_vteps { 192.0.2.12 }\n"
        );
        assert!(VxlanGuard::default().elements().is_empty());
    }

    #[test]
    fn a_change_touches_only_what_changed() {
        let old = guard(&[4097], &["192.0.2.11", "192.0.2.12"]);
        let new = guard(&[4097], &["192.0.2.12", "192.0.2.13"]);
        let (remove, add) = new.change_from(&old);
        assert_eq!(
            remove,
            vec![Element::new(
                Set::VxlanVteps,
                vec![Field::Addr("192.0.2.11".parse().expect("ip"))]
            )]
        );
        assert_eq!(
            add,
            vec![Element::new(
                Set::VxlanVteps,
                vec![Field::Addr("192.0.2.13".parse().expect("ip"))]
            )]
        );
        assert_eq!(new.change_from(&new), (vec![], vec![]));
    }
}
