//! The macvlan and ipvlan drivers (pure planning).
//!
//! A container on such a network gets, instead of a veth on a bridge, a
//! macvlan (or ipvlan) sub-interface of a *parent* link of the host, created
//! directly inside its namespace: it sits on the parent's LAN with an
//! address of that LAN, reachable from the other machines there with no NAT
//! and no published ports. `-o parent=IFACE.VLAN` makes berth create (and
//! later remove) the 802.1Q sub-interface.
//!
//! The host cannot reach its own macvlan containers: the kernel delivers
//! frames from a macvlan to the parent's other macvlans and to the wire,
//! never to the parent itself. `-o host_shim=true` (with `--ip-range`)
//! adds a macvlan of the host on the same parent, `bsh-<id>`, with an
//! address of its own, and routes the container range through it.

use super::opts;
use crate::error::{Error, Result};
use crate::ids;
use crate::kernel::caps::LinkKinds;
use crate::kernel::HostFacts;
use crate::model::network::{parse_bool_opt, parse_kv, parse_mtu};
use crate::model::{Driver, Endpoint, IpamConfig, Network, NetworkCreate};
use crate::plan::{DriverStep, Step};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;

/// Name of the aux address that holds the host shim's address.
pub const SHIM_AUX: &str = "host_shim";

/// The host shim link of network `id`.
pub fn shim_name(id: &str) -> String {
    format!("bsh-{}", &id[..10.min(id.len())])
}

/// The options each driver accepts.
fn allowed(driver: Driver) -> &'static [&'static str] {
    match driver {
        Driver::Ipvlan => &[
            opts::PARENT,
            opts::IPVLAN_MODE,
            "ipvlan_flag",
            opts::MTU,
            crate::model::network::opt::IFACE_PREFIX,
        ],
        _ => &[
            opts::PARENT,
            opts::MACVLAN_MODE,
            opts::HOST_SHIM,
            opts::MTU,
            crate::model::network::opt::IFACE_PREFIX,
        ],
    }
}

/// Refuses an option the macvlan or ipvlan `driver` does not know.
pub fn check_options(driver: Driver, o: &std::collections::BTreeMap<String, String>) -> Result<()> {
    let name = driver.as_str();
    if let Some(p) = o.get(crate::model::network::opt::IFACE_PREFIX) {
        crate::model::network::check_iface_prefix(p)?;
    }
    match o.keys().find(|k| !allowed(driver).contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!(
            "unknown option {k:?}: berth's {name} driver understands {}",
            allowed(driver).join(", ")
        ))),
        None => Ok(()),
    }
}

/// The macvlan driver (ipvlan's is in `ipvlan.rs`, on the same planning).
pub struct Macvlan;

impl super::Driver for Macvlan {
    fn validate(&self, options: &std::collections::BTreeMap<String, String>) -> Result<()> {
        check_options(Driver::Macvlan, options)
    }

    fn network_plan(&self, net: &Network) -> crate::plan::Plan {
        crate::plan::Plan {
            steps: network_steps(net),
        }
    }

    fn join_step(&self, ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Step {
        join_step(ns, e, net, gateways.to_vec())
    }

    fn leave_step(&self, ns: &Path, e: &Endpoint) -> Step {
        leave_step(ns, e)
    }
}

/// Removes endpoint `e`'s interface from namespace `ns` (disconnect).
pub fn leave_step(ns: &Path, e: &Endpoint) -> Step {
    Step::Driver(DriverStep::DeleteSubLink {
        name: e.ifname.clone(),
        netns: Some(ns.to_path_buf()),
    })
}

/// Plans a macvlan or ipvlan network (pure): checks the options, the parent
/// link and the kernel's support, and the subnets against other berth
/// networks (not against the host's routes: a subnet of the parent's LAN
/// is routed on the host, and is the point).
pub fn plan_network(
    req: &NetworkCreate,
    driver: Driver,
    id: &str,
    ipam: Vec<IpamConfig>,
    existing: &[Network],
    facts: &HostFacts,
    kinds: LinkKinds,
) -> Result<Network> {
    let mut o = parse_kv(&req.options, "-o/--opt", true)?;
    check_options(driver, &o)?;
    if driver == Driver::Ipvlan && !kinds.ipvlan {
        return Err(missing("the ipvlan driver", "ipvlan", "CONFIG_IPVLAN"));
    }
    let parent = check_parent(&o, driver, existing, facts, kinds)?;
    if !facts.links.contains(&parent) {
        o.insert(opts::VLAN_CREATED.into(), "true".into());
    }
    let (mode_key, mode) = check_mode(&o, driver)?;
    o.insert(mode_key.into(), mode);
    let mut ipam = ipam;
    if o.get(opts::HOST_SHIM)
        .map(|v| parse_bool_opt(opts::HOST_SHIM, v))
        .transpose()?
        == Some(true)
    {
        plan_shim(&mut ipam)?;
    }
    Ok(Network {
        id: id.to_string(),
        name: req.name.clone(),
        driver,
        created: crate::model::now_rfc3339(),
        ipv6: ipam.iter().any(|c| c.subnet.addr().is_ipv6()),
        internal: req.internal,
        ipam,
        mtu: o
            .get(opts::MTU)
            .map(|m| parse_mtu(m))
            .transpose()?
            .unwrap_or(1500),
        options: o,
        labels: parse_kv(&req.labels, "--label", false)?,
        bridge: None,
        icc: true,
        masquerade: false,
        host_binding_ipv4: None,
        builtin: false,
        owner: None,
        docker: None,
    })
}

/// The links planning a macvlan or ipvlan network from `req` looks at
/// (pure): the parent, and the base of a VLAN parent (`eth0` of
/// `eth0.10`); none when the options do not name a parent.
pub fn links_to_check(req: &NetworkCreate) -> Vec<String> {
    let Some(parent) = parse_kv(&req.options, "-o/--opt", true)
        .ok()
        .and_then(|o| o.get(opts::PARENT).cloned())
    else {
        return Vec::new();
    };
    let base = vlan_parts(&parent).ok().map(|(b, _)| b);
    std::iter::once(parent).chain(base).collect()
}

/// The parent link: given, free, and existing or creatable as a VLAN
/// sub-interface of an existing link on a kernel with 802.1Q.
fn check_parent(
    o: &std::collections::BTreeMap<String, String>,
    driver: Driver,
    existing: &[Network],
    facts: &HostFacts,
    kinds: LinkKinds,
) -> Result<String> {
    let parent = o.get(opts::PARENT).cloned().ok_or_else(|| {
        Error::invalid(format!(
            "the {} driver needs a parent link: add -o parent=IFACE (e.g. -o parent=eth0, or -o parent=eth0.10 for VLAN 10)",
            driver.as_str()
        ))
    })?;
    ids::validate_ifname(&parent)?;
    if let Some(n) = existing
        .iter()
        .find(|n| n.options.get(opts::PARENT) == Some(&parent))
    {
        return Err(Error::conflict(format!(
            "network {} already uses parent link {parent}: use another parent (or a VLAN sub-interface like {parent}.10)",
            n.name
        )));
    }
    if facts.links.contains(&parent) {
        return Ok(parent);
    }
    let (base, _) = vlan_parts(&parent)?;
    if !kinds.vlan {
        return Err(missing(
            &format!("creating the VLAN sub-interface {parent}"),
            "802.1Q VLAN",
            "CONFIG_VLAN_8021Q",
        ));
    }
    if !facts.links.contains(&base) {
        return Err(Error::not_found(format!(
            "parent link {base} of {parent} does not exist on this host: see 'ip link'"
        )));
    }
    Ok(parent)
}

/// The mode option of `driver` and its (checked, defaulted) value.
fn check_mode(
    o: &std::collections::BTreeMap<String, String>,
    driver: Driver,
) -> Result<(&'static str, String)> {
    let ipvlan = driver == Driver::Ipvlan;
    let key = if ipvlan {
        opts::IPVLAN_MODE
    } else {
        opts::MACVLAN_MODE
    };
    let default = if ipvlan { "l2" } else { "bridge" };
    let mode = o.get(key).cloned().unwrap_or_else(|| default.to_string());
    let valid = if ipvlan {
        crate::kernel::linkmsg::ipvlan_mode(&mode).is_some()
    } else {
        crate::kernel::linkmsg::macvlan_mode(&mode).is_some()
    };
    if !valid {
        let choices = if ipvlan {
            "l2, l3 or l3s"
        } else {
            "bridge, private, vepa or passthru"
        };
        return Err(Error::invalid(format!(
            "invalid {key} {mode:?}: use {choices}"
        )));
    }
    Ok((key, mode))
}

fn missing(what: &str, kind: &str, config: &str) -> Error {
    Error::invalid(format!(
        "{what} needs the kernel's {kind} support ({config}), which this kernel lacks (it answered 'operation not supported' to a test link); nothing was created: use -d macvlan on a parent without a VLAN, or a kernel with {config}"
    ))
}

/// Splits `eth0.10` into (`eth0`, 10).
fn vlan_parts(parent: &str) -> Result<(String, u16)> {
    let bad = || {
        Error::not_found(format!(
            "parent link {parent} does not exist on this host: give an existing link, or IFACE.VLAN (VLAN 1-4094) to create a VLAN sub-interface"
        ))
    };
    let (base, vid) = parent.rsplit_once('.').ok_or_else(bad)?;
    match vid.parse::<u16>() {
        Ok(v) if (1..=4094).contains(&v) && !base.is_empty() => Ok((base.to_string(), v)),
        _ => Err(bad()),
    }
}

/// Reserves the shim's address (aux `host_shim`, given or the subnet's last
/// usable address) in the IPv4 subnet, which needs an `--ip-range`.
fn plan_shim(ipam: &mut [IpamConfig]) -> Result<()> {
    let cfg = ipam
        .iter_mut()
        .find(|c| c.subnet.addr().is_ipv4())
        .ok_or_else(|| Error::invalid("-o host_shim=true needs an IPv4 --subnet"))?;
    let range = cfg.ip_range.ok_or_else(|| {
        Error::invalid(
            "-o host_shim=true needs --ip-range: the host reaches the containers of that range through the shim (e.g. --ip-range 192.168.1.64/27)",
        )
    })?;
    if let Some(ip) = cfg.aux.get(SHIM_AUX) {
        if range.contains(ip) {
            return Err(Error::invalid(format!(
                "--aux-address {SHIM_AUX}={ip} is inside --ip-range {range}: give the shim an address outside it"
            )));
        }
        return Ok(());
    }
    let IpNet::V4(n) = cfg.subnet else {
        return Ok(());
    };
    let last = IpAddr::V4(std::net::Ipv4Addr::from(
        u32::from(n.broadcast()).wrapping_sub(1),
    ));
    if range.contains(&last) || last == cfg.gateway || cfg.aux.values().any(|a| *a == last) {
        return Err(Error::invalid(format!(
            "no address left for the host shim: add --aux-address {SHIM_AUX}=IP (inside {}, outside --ip-range {range})",
            cfg.subnet
        )));
    }
    cfg.aux.insert(SHIM_AUX.into(), last);
    Ok(())
}

/// The host-side objects of a macvlan/ipvlan network: the VLAN
/// sub-interface berth creates, the host shim and its route.
pub fn network_steps(net: &Network) -> Vec<Step> {
    let mut steps = Vec::new();
    let Some(parent) = net.options.get(opts::PARENT) else {
        return steps;
    };
    if net.options.contains_key(opts::VLAN_CREATED) {
        if let Ok((base, id)) = vlan_parts(parent) {
            steps.push(Step::Driver(DriverStep::CreateVlan {
                parent: base,
                name: parent.clone(),
                id,
            }));
        }
    }
    let shim = net.ipam.iter().find_map(|c| {
        Some((*c.aux.get(SHIM_AUX)?, c.ip_range?)).filter(|_| c.subnet.addr().is_ipv4())
    });
    if let Some((addr, range)) = shim {
        let name = shim_name(&net.id);
        steps.push(Step::Driver(DriverStep::CreateSubLink {
            kind: "macvlan".into(),
            mode: "bridge".into(),
            parent: parent.clone(),
            name: name.clone(),
            netns: None,
            mtu: None,
            mac: None,
            addrs: IpNet::new(addr, 32).into_iter().collect(),
            gateways: Vec::new(),
        }));
        steps.push(Step::Driver(DriverStep::AddRoute {
            dst: range,
            dev: name,
            src: Some(addr),
        }));
    }
    steps
}

/// The interface of endpoint `e` in the container's namespace `ns`.
pub fn join_step(ns: &Path, e: &Endpoint, net: &Network, gateways: Vec<IpAddr>) -> Step {
    let ipvlan = net.driver == Driver::Ipvlan;
    let mode_key = if ipvlan {
        opts::IPVLAN_MODE
    } else {
        opts::MACVLAN_MODE
    };
    Step::Driver(DriverStep::CreateSubLink {
        kind: net.driver.as_str().into(),
        mode: net.options.get(mode_key).cloned().unwrap_or_default(),
        parent: net.options.get(opts::PARENT).cloned().unwrap_or_default(),
        name: e.ifname.clone(),
        netns: Some(ns.to_path_buf()),
        mtu: net.options.contains_key(opts::MTU).then_some(net.mtu),
        mac: (!ipvlan).then(|| e.mac.clone()),
        addrs: [e.ipv4, e.ipv6].into_iter().flatten().collect(),
        gateways: if net.internal { Vec::new() } else { gateways },
    })
}

#[cfg(test)]
#[path = "macvlan_tests.rs"]
mod tests;
