//! The ADD result: parsed from a `prevResult` of any supported version and
//! rendered in the version the runtime asked for. 0.3.x and 0.4.0 results
//! carry `ips[].version` and an `interface` index; 1.1.0 adds interface
//! `mtu`/`socketPath`/`pciID` and route `mtu`/`advmss`/`priority`/`table`/
//! `scope`, which older versions do not have.

use crate::error::CniError;
use crate::json::{parse_ip, parse_net, wrong_type, Fields};
use crate::version::Version;
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// An interface created by the attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address.
    pub mac: Option<String>,
    /// Its MTU (1.1.0).
    pub mtu: Option<u64>,
    /// The netns path for interfaces inside the container, `None` on the host.
    pub sandbox: Option<String>,
    /// `socketPath` (1.1.0), passed through.
    pub socket_path: Option<String>,
    /// `pciID` (1.1.0), passed through.
    pub pci_id: Option<String>,
}

/// An address given to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// Address with prefix length.
    pub address: IpNet,
    /// The subnet's gateway.
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    pub interface: Option<u64>,
}

/// A route made by the attachment (`gw` absent = the address's gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRoute {
    /// Destination.
    pub dst: IpNet,
    /// Next hop.
    pub gw: Option<IpAddr>,
    /// 1.1.0 extras (`mtu`, `advmss`, `priority`, `table`, `scope`), passed through.
    pub extra: Map<String, Value>,
}

/// DNS settings (`nameservers`, `domain`, `search`, `options`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    /// Name servers, in priority order.
    pub nameservers: Vec<String>,
    /// Local domain.
    pub domain: Option<String>,
    /// Search domains.
    pub search: Vec<String>,
    /// Resolver options.
    pub options: Vec<String>,
}

impl Dns {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_none()
            && self.search.is_empty()
            && self.options.is_empty()
    }

    /// Reads the result-format `dns` object at `path`.
    pub fn from_json(v: &Value, path: &str) -> Result<Dns, CniError> {
        let mut f = Fields::of(v, path)?;
        let dns = Dns {
            nameservers: strings(&mut f, "nameservers")?,
            domain: f.str("domain")?.map(String::from),
            search: strings(&mut f, "search")?,
            options: strings(&mut f, "options")?,
        };
        f.finish(|_| true)?;
        Ok(dns)
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.nameservers.is_empty() {
            m.insert("nameservers".into(), json!(self.nameservers));
        }
        if let Some(d) = &self.domain {
            m.insert("domain".into(), json!(d));
        }
        if !self.search.is_empty() {
            m.insert("search".into(), json!(self.search));
        }
        if !self.options.is_empty() {
            m.insert("options".into(), json!(self.options));
        }
        Value::Object(m)
    }
}

fn strings(f: &mut Fields, key: &str) -> Result<Vec<String>, CniError> {
    Ok(f.strings(key)?.into_iter().map(String::from).collect())
}

/// A whole ADD result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniResult {
    /// Interfaces, host and container ones.
    pub interfaces: Vec<Interface>,
    /// Addresses.
    pub ips: Vec<IpConfig>,
    /// Routes.
    pub routes: Vec<ResultRoute>,
    /// DNS settings.
    pub dns: Dns,
}

const ROUTE_EXTRAS: [&str; 5] = ["mtu", "advmss", "priority", "table", "scope"];

impl CniResult {
    /// Parses a result (a `prevResult`) of any supported version. Unknown
    /// keys are tolerated: a result is another plugin's output.
    pub fn from_json(v: &Value) -> Result<CniResult, CniError> {
        let mut f = Fields::of(v, "prevResult")?;
        let interfaces = f
            .array("interfaces")?
            .iter()
            .map(interface)
            .collect::<Result<_, _>>()?;
        let ips = f
            .array("ips")?
            .iter()
            .map(ip_config)
            .collect::<Result<_, _>>()?;
        let routes = f
            .array("routes")?
            .iter()
            .map(route)
            .collect::<Result<_, _>>()?;
        let dns = match f.get("dns") {
            Some(d) => Dns::from_json(d, "prevResult.dns")?,
            None => Dns::default(),
        };
        Ok(CniResult {
            interfaces,
            ips,
            routes,
            dns,
        })
    }

    /// The result in version `v`.
    pub fn to_json(&self, v: Version) -> Value {
        let new = v >= Version::V1_1_0;
        let interfaces: Vec<Value> = self
            .interfaces
            .iter()
            .map(|i| {
                let mut m = Map::new();
                m.insert("name".into(), json!(i.name));
                if let Some(mac) = &i.mac {
                    m.insert("mac".into(), json!(mac));
                }
                if let (true, Some(mtu)) = (new, i.mtu) {
                    m.insert("mtu".into(), json!(mtu));
                }
                if let Some(s) = &i.sandbox {
                    m.insert("sandbox".into(), json!(s));
                }
                if let (true, Some(p)) = (new, &i.socket_path) {
                    m.insert("socketPath".into(), json!(p));
                }
                if let (true, Some(p)) = (new, &i.pci_id) {
                    m.insert("pciID".into(), json!(p));
                }
                Value::Object(m)
            })
            .collect();
        let ips: Vec<Value> = self.ips.iter().map(|ip| ip_json(ip, v)).collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                let mut m = if new { r.extra.clone() } else { Map::new() };
                m.insert("dst".into(), json!(r.dst.to_string()));
                if let Some(gw) = r.gw {
                    m.insert("gw".into(), json!(gw.to_string()));
                }
                Value::Object(m)
            })
            .collect();
        let mut out = json!({"cniVersion": v.as_str()});
        if !interfaces.is_empty() {
            out["interfaces"] = json!(interfaces);
        }
        if !ips.is_empty() {
            out["ips"] = json!(ips);
        }
        if !routes.is_empty() {
            out["routes"] = json!(routes);
        }
        out["dns"] = self.dns.to_json();
        out
    }
}

fn ip_json(ip: &IpConfig, v: Version) -> Value {
    let mut m = Map::new();
    if v < Version::V1_0_0 {
        let family = if ip.address.addr().is_ipv4() {
            "4"
        } else {
            "6"
        };
        m.insert("version".into(), json!(family));
    }
    m.insert("address".into(), json!(ip.address.to_string()));
    if let Some(gw) = ip.gateway {
        m.insert("gateway".into(), json!(gw.to_string()));
    }
    if let Some(i) = ip.interface {
        m.insert("interface".into(), json!(i));
    }
    Value::Object(m)
}

fn interface(v: &Value) -> Result<Interface, CniError> {
    let mut f = Fields::of(v, "prevResult.interfaces[]")?;
    let name = f
        .str("name")?
        .ok_or_else(|| wrong_type("prevResult.interfaces[].name", "a string", &Value::Null))?;
    Ok(Interface {
        name: name.to_string(),
        mac: f.str("mac")?.map(String::from),
        mtu: f.u64("mtu")?,
        sandbox: f
            .str("sandbox")?
            .filter(|s| !s.is_empty())
            .map(String::from),
        socket_path: f.str("socketPath")?.map(String::from),
        pci_id: f.str("pciID")?.map(String::from),
    })
}

fn ip_config(v: &Value) -> Result<IpConfig, CniError> {
    let mut f = Fields::of(v, "prevResult.ips[]")?;
    let address = f
        .str("address")?
        .ok_or_else(|| wrong_type("prevResult.ips[].address", "a string", &Value::Null))?;
    Ok(IpConfig {
        address: parse_net(address, "prevResult.ips[].address")?,
        gateway: f.ip("gateway")?,
        interface: f.u64("interface")?,
    })
}

fn route(v: &Value) -> Result<ResultRoute, CniError> {
    let mut f = Fields::of(v, "prevResult.routes[]")?;
    let dst = f
        .str("dst")?
        .ok_or_else(|| wrong_type("prevResult.routes[].dst", "a string", &Value::Null))?;
    let gw = match f.str("gw")? {
        None | Some("") => None,
        Some(g) => Some(parse_ip(g, "prevResult.routes[].gw")?),
    };
    let mut extra = Map::new();
    for k in ROUTE_EXTRAS {
        if let Some(x) = f.get(k) {
            extra.insert(k.to_string(), x.clone());
        }
    }
    Ok(ResultRoute {
        dst: parse_net(dst, "prevResult.routes[].dst")?,
        gw,
        extra,
    })
}

#[cfg(test)]
mod tests;
