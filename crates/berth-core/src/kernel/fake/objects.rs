//! The fake kernel's model of the objects berth makes, and what each plan
//! step does to it — with the real kernel's refusals (a name that exists,
//! a bridge or namespace that does not) and its idempotent deletes, so
//! that a rollback or recovery that would leak or fail for real leaks or
//! fails here too.

use crate::error::{Error, Result};
use crate::firewall::Element;
use crate::plan::{veth_alias, DriverStep, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A link, in the host or in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its kind: bridge, veth, macvlan, vlan, vxlan, ifb...
    pub kind: String,
    /// The bridge it is a port of.
    pub master: Option<String>,
    /// Its alias (veths berth makes carry their endpoint's).
    pub alias: Option<String>,
    /// A veth's other end ([`Objects::links`] key).
    pub peer: Option<String>,
}

/// Everything the fake kernel holds. Links are keyed by name in the host
/// and `PIN:NAME` inside the namespace pinned at `PIN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    /// Links.
    pub links: BTreeMap<String, Link>,
    /// Pinned namespaces (berth's pins, and runtimes' namespaces given to
    /// the fake).
    pub netns: BTreeSet<PathBuf>,
    /// `/run/netns` entries: entry → (berth instance root, pin).
    pub names: BTreeMap<PathBuf, (String, PathBuf)>,
    /// nftables tables that exist (`inet berth`, `bridge berth`).
    pub tables: BTreeSet<String>,
    /// Set and map elements.
    pub elements: BTreeSet<Element>,
    /// Sysctls of the host that were written.
    pub sysctls: BTreeMap<String, String>,
    /// Routes (`NS DEV DESTINATION via GATEWAY`), fdb and neighbour
    /// entries.
    pub routes: BTreeSet<String>,
    /// Host links set down ([`DriverStep::LinkState`], a retired veth).
    pub down: BTreeSet<String>,
    /// Host ends of retired veths, waiting for the reaper
    /// ([`Step::RetireVeth`]).
    pub retired: BTreeSet<String>,
}

/// The key of link `name` in namespace `ns` (`None`: the host).
pub fn link_key(ns: Option<&Path>, name: &str) -> String {
    match ns {
        Some(p) => format!("{}:{name}", p.display()),
        None => name.to_string(),
    }
}

fn exists(what: &str) -> Error {
    Error::kernel(format!("{what}: File exists (os error 17)"))
}

fn missing(what: &str) -> Error {
    Error::kernel(format!("{what}: No such device (os error 19)"))
}

impl Objects {
    fn add_link(&mut self, key: String, link: Link) -> Result<()> {
        if self.links.contains_key(&key) {
            return Err(exists(&key));
        }
        self.links.insert(key, link);
        Ok(())
    }

    fn need(&self, key: &str, what: &str) -> Result<()> {
        match self.links.contains_key(key) {
            true => Ok(()),
            false => Err(missing(&format!("{what} {key}"))),
        }
    }

    fn need_ns(&self, ns: &Path) -> Result<()> {
        match self.netns.contains(ns) {
            true => Ok(()),
            false => Err(Error::kernel(format!(
                "cannot open network namespace {}: No such file or directory",
                ns.display()
            ))),
        }
    }

    /// Deletes a link and a veth's other end; ports of a deleted bridge
    /// are released.
    pub(super) fn delete_link(&mut self, key: &str) {
        self.down.remove(key);
        self.retired.remove(key);
        if let Some(l) = self.links.remove(key) {
            // The interface's own sysctls go with it.
            let own = format!(".{key}.");
            self.sysctls.retain(|k, _| !k.contains(&own));
            if let Some(peer) = l.peer {
                self.links.remove(&peer);
            }
            for port in self.links.values_mut() {
                if port.master.as_deref() == Some(key) {
                    port.master = None;
                }
            }
        }
    }

    /// Applies one step as the kernel would.
    pub fn apply(&mut self, step: &Step) -> Result<()> {
        match step {
            Step::CreateBridge { name, .. } => self.add_link(name.clone(), kind("bridge")),
            Step::Sysctl { key, value } => {
                self.sysctls.insert(key.clone(), value.clone());
                Ok(())
            }
            Step::CreateNetns { path } => match self.netns.insert(path.clone()) {
                true => Ok(()),
                false => Err(exists(&path.display().to_string())),
            },
            Step::CreateVeth { .. } => self.create_veth(step),
            Step::Elements { remove, add } => self.elements(remove, add),
            Step::Nft { apply, .. } => self.nft(apply),
            Step::DeleteLink { name } => {
                self.delete_link(name);
                Ok(())
            }
            Step::DeleteVeth { name, owner, netns } => self.delete_veth(name, owner, netns),
            Step::RetireVeth {
                name,
                owner,
                netns,
                keep_peer,
            } => self.retire_veth(name, owner, netns, *keep_peer),
            Step::RemoveNetns { path } => {
                self.netns.remove(path);
                let inside = format!("{}:", path.display());
                let gone: Vec<String> = self
                    .links
                    .keys()
                    .filter(|k| k.starts_with(&inside))
                    .cloned()
                    .collect();
                gone.iter().for_each(|k| self.delete_link(k));
                Ok(())
            }
            Step::UnpinNetns { path } => {
                // Its interfaces live on with the processes sharing it.
                self.netns.remove(path);
                Ok(())
            }
            Step::NetnsSysctls { netns, settings } => {
                self.need_ns(netns)?;
                for (k, v) in settings {
                    self.sysctls
                        .insert(format!("{}:{k}", netns.display()), v.clone());
                }
                Ok(())
            }
            Step::AttachPort { host, bridge } => {
                self.need(bridge, "bridge")?;
                let l = self.links.get_mut(host).ok_or_else(|| missing(host))?;
                l.master = Some(bridge.clone());
                Ok(())
            }
            Step::NameNetns { pin, link, owner } => {
                let entry = (owner.root.clone(), pin.clone());
                self.names.entry(link.clone()).or_insert(entry);
                Ok(())
            }
            Step::UnnameNetns { link, owner } => {
                if self
                    .names
                    .get(link)
                    .is_some_and(|(root, _)| *root == owner.root)
                {
                    self.names.remove(link);
                }
                Ok(())
            }
            Step::DefaultRoutes {
                netns,
                ifname,
                gateways,
            } => {
                self.need(&link_key(Some(netns), ifname), "interface")?;
                for gw in gateways {
                    let r = format!("{} {ifname} default via {gw}", netns.display());
                    self.routes.insert(r);
                }
                Ok(())
            }
            Step::Routes {
                netns,
                ifname,
                routes,
                ..
            } => {
                self.need(&link_key(Some(netns), ifname), "interface")?;
                for (dst, gw) in routes {
                    let r = format!("{} {ifname} {dst} via {gw}", netns.display());
                    self.routes.insert(r);
                }
                Ok(())
            }
            Step::LoopbackUp { netns } => {
                self.need_ns(netns)?;
                self.routes.insert(format!("{} lo up", netns.display()));
                Ok(())
            }
            Step::Shape { host, shaping } => {
                self.need(host, "link")?;
                if shaping.egress.0 > 0 {
                    self.add_link(crate::kernel::tc::ifb_name(host), kind("ifb"))?;
                }
                Ok(())
            }
            Step::Driver(d) => self.driver(d),
        }
    }

    fn create_veth(&mut self, step: &Step) -> Result<()> {
        let Step::CreateVeth {
            host,
            peer,
            netns,
            bridge,
            owner,
            ..
        } = step
        else {
            return Ok(());
        };
        self.need(bridge, "bridge")?;
        self.need_ns(netns)?;
        let alias = (!owner.is_empty()).then(|| veth_alias(owner));
        // A leftover of this very endpoint is replaced, like the real one.
        if alias.is_some() && self.links.get(host).is_some_and(|l| l.alias == alias) {
            self.delete_link(host);
        }
        let inside = link_key(Some(netns), peer);
        self.free_retired_name(&inside, netns);
        if self.links.contains_key(&inside) {
            return Err(exists(&inside));
        }
        self.add_link(
            host.clone(),
            Link {
                kind: "veth".into(),
                master: Some(bridge.clone()),
                alias,
                peer: Some(inside.clone()),
            },
        )?;
        let end = Link {
            peer: Some(host.clone()),
            ..kind("veth")
        };
        self.add_link(inside, end)
    }

    fn delete_veth(&mut self, name: &str, owner: &str, netns: &Path) -> Result<()> {
        if self.owns(name, owner, netns)? {
            self.delete_link(name);
        }
        Ok(())
    }

    fn driver(&mut self, d: &DriverStep) -> Result<()> {
        match d {
            DriverStep::CreateSubLink {
                kind: k,
                parent,
                name,
                netns,
                ..
            } => {
                self.need(parent, "parent link")?;
                if let Some(ns) = netns {
                    self.need_ns(ns)?;
                }
                self.add_link(link_key(netns.as_deref(), name), kind(k))
            }
            DriverStep::DeleteSubLink { name, netns } => {
                self.delete_link(&link_key(netns.as_deref(), name));
                Ok(())
            }
            DriverStep::CreateVlan { parent, name, .. } => {
                self.need(parent, "parent link")?;
                self.add_link(name.clone(), kind("vlan"))
            }
            DriverStep::AddRoute { dst, dev, .. } => {
                self.need(dev, "link")?;
                self.routes.insert(format!("host {dev} {dst}"));
                Ok(())
            }
            DriverStep::DeleteRoute { dst, dev } => {
                self.routes.remove(&format!("host {dev} {dst}"));
                Ok(())
            }
            DriverStep::CreateVxlan {
                name,
                underlay,
                bridge,
                ..
            } => {
                self.need(underlay, "underlay link")?;
                self.need(bridge, "bridge")?;
                let l = Link {
                    master: Some(bridge.clone()),
                    ..kind("vxlan")
                };
                self.add_link(name.clone(), l)
            }
            DriverStep::Remote {
                dev,
                ip,
                mac,
                vtep,
                add,
            } => {
                let entry = format!("fdb {dev} {mac} {ip} via {vtep}");
                if *add {
                    self.need(dev, "VXLAN device")?;
                    self.routes.insert(entry);
                } else {
                    self.routes.remove(&entry);
                }
                Ok(())
            }
            DriverStep::LinkState { name, up } => {
                if self.links.contains_key(name) && !up {
                    self.down.insert(name.clone());
                } else {
                    self.down.remove(name);
                }
                Ok(())
            }
        }
    }

    /// Removes `remove` (whether there or not) and adds `add` in one
    /// transaction; fails, changing nothing, when a table is missing — as
    /// nftables does.
    fn elements(&mut self, remove: &[Element], add: &[Element]) -> Result<()> {
        for e in remove.iter().chain(add) {
            let table = format!("{} berth", e.set.family().as_str());
            if !self.tables.contains(&table) {
                return Err(Error::kernel(format!(
                    "{}: No such file or directory (no table {table})",
                    e.command(true)
                )));
            }
        }
        for e in remove {
            self.elements
                .retain(|have| have.set != e.set || have.key != e.key);
        }
        for e in add {
            let there = self
                .elements
                .iter()
                .any(|h| h.set == e.set && h.key == e.key);
            if !there {
                self.elements.insert(e.clone());
            }
        }
        Ok(())
    }

    /// Applies an nftables transaction in `nft -f` text: only the deletion
    /// of berth's tables is modelled (rules in other tools' chains are not,
    /// nor elements written as text).
    pub fn nft(&mut self, text: &str) -> Result<()> {
        for line in text.lines().map(str::trim) {
            if let Some(table) = line.strip_prefix("delete table ") {
                let family = table.split_whitespace().next().unwrap_or_default();
                self.tables.remove(&format!("{family} berth"));
                self.elements.retain(|e| e.set.family().as_str() != family);
            }
        }
        Ok(())
    }
}

fn kind(k: &str) -> Link {
    Link {
        kind: k.to_string(),
        master: None,
        alias: None,
        peer: None,
    }
}
