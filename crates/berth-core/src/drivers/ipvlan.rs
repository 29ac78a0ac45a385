//! The ipvlan driver: containers share the parent link's MAC address and
//! have their own IP addresses on its LAN (L2 or L3 mode). It plans like
//! macvlan (a sub-interface of the parent in each container, the parent's
//! VLAN sub-interface made when asked for): `macvlan.rs` has the planning
//! both share.

use super::macvlan;
use super::Driver;
use crate::error::Result;
use crate::model::{Endpoint, Network};
use crate::plan::{Plan, Step};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// The ipvlan driver.
pub struct Ipvlan;

impl Driver for Ipvlan {
    fn validate(&self, options: &BTreeMap<String, String>) -> Result<()> {
        macvlan::check_options(crate::model::Driver::Ipvlan, options)
    }

    fn network_plan(&self, net: &Network) -> Plan {
        Plan {
            steps: macvlan::network_steps(net),
        }
    }

    fn join_step(&self, ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Step {
        macvlan::join_step(ns, e, net, gateways.to_vec())
    }

    fn leave_step(&self, ns: &Path, e: &Endpoint) -> Step {
        macvlan::leave_step(ns, e)
    }
}
