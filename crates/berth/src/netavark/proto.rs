//! netavark's JSON (pure): the network options Podman writes on stdin for
//! `setup` and `teardown`, the status blocks `setup` prints, and the error
//! object. Field names and shapes follow netavark 1.4's
//! `src/network/types.rs` and Podman 4's `libnetwork/types`; fields berth
//! does not need (`created`, `labels`, ...) are ignored, as netavark does.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What `setup` and `teardown` read on stdin. Maps are ordered by network
/// name (Go writes map keys sorted too), so "the first network" is stable.
#[derive(Debug, Clone, Deserialize)]
pub struct NetworkOptions {
    /// Podman's container id.
    pub container_id: String,
    /// The container's name: a DNS name on networks with DNS.
    pub container_name: String,
    /// Published ports (absent when there are none).
    #[serde(default)]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// Per network: the container's interface, addresses, MAC, aliases.
    pub networks: BTreeMap<String, PerNetworkOptions>,
    /// Per network: the network's definition (Podman's network file).
    pub network_info: BTreeMap<String, Network>,
    /// The container's own DNS servers (`--dns`, newer Podman).
    #[serde(default)]
    pub dns_servers: Option<Vec<IpAddr>>,
}

/// A Podman network (`ipv6_enabled` is not read: an IPv6 subnet says it).
#[derive(Debug, Clone, Deserialize)]
pub struct Network {
    /// Name.
    pub name: String,
    /// Podman's id.
    pub id: String,
    /// `bridge`, `macvlan`, `ipvlan`.
    pub driver: String,
    /// The bridge's name on the host (`podman0`, `podman1`, ...).
    #[serde(default)]
    pub network_interface: Option<String>,
    /// Subnets with their gateways and lease ranges.
    #[serde(default)]
    pub subnets: Option<Vec<Subnet>>,
    /// No route out.
    #[serde(default)]
    pub internal: bool,
    /// Names are served on the gateways.
    #[serde(default)]
    pub dns_enabled: bool,
    /// Driver options (`mtu`, `isolate`, ...).
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// IPAM options (`driver`: `host-local`, `none`, `dhcp`).
    #[serde(default)]
    pub ipam_options: Option<BTreeMap<String, String>>,
    /// Upstream resolvers of the network's DNS (newer Podman).
    #[serde(default)]
    pub network_dns_servers: Option<Vec<IpAddr>>,
}

/// One subnet of a network.
#[derive(Debug, Clone, Deserialize)]
pub struct Subnet {
    /// The subnet.
    pub subnet: IpNet,
    /// Its gateway (the bridge's address).
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Where Podman hands out addresses.
    #[serde(default)]
    pub lease_range: Option<LeaseRange>,
}

/// `--ip-range` of a subnet.
#[derive(Debug, Clone, Deserialize)]
pub struct LeaseRange {
    /// First address.
    #[serde(default)]
    pub start_ip: Option<IpAddr>,
    /// Last address.
    #[serde(default)]
    pub end_ip: Option<IpAddr>,
}

/// The container's settings on one network.
#[derive(Debug, Clone, Deserialize)]
pub struct PerNetworkOptions {
    /// The interface inside the container (`eth0`).
    pub interface_name: String,
    /// Its addresses, one per subnet (Podman allocates them).
    #[serde(default)]
    pub static_ips: Option<Vec<IpAddr>>,
    /// Its MAC address.
    #[serde(default)]
    pub static_mac: Option<String>,
    /// More DNS names of the container on this network.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
}

/// A published port range.
#[derive(Debug, Clone, Deserialize)]
pub struct PortMapping {
    /// Host address; empty = every address.
    #[serde(default)]
    pub host_ip: String,
    /// First container port.
    pub container_port: u16,
    /// First host port.
    pub host_port: u16,
    /// How many ports (0 and 1 both mean one).
    #[serde(default)]
    pub range: u16,
    /// `tcp`, `udp`, `sctp`, or several joined by commas; empty = tcp.
    #[serde(default)]
    pub protocol: String,
}

/// What `setup` prints per network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusBlock {
    /// Search domains for the container's resolv.conf.
    pub dns_search_domains: Vec<String>,
    /// Name servers for the container's resolv.conf.
    pub dns_server_ips: Vec<IpAddr>,
    /// The container's interfaces on the network, by name.
    pub interfaces: BTreeMap<String, NetInterface>,
}

/// One interface of a status block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetInterface {
    /// Its MAC address.
    pub mac_address: String,
    /// Its addresses with their gateways.
    pub subnets: Vec<NetAddress>,
}

/// An address of an interface: the address with its subnet's prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetAddress {
    /// The gateway, absent on internal networks without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// The address and prefix length.
    pub ipnet: IpNet,
}

/// Parses the options on stdin; the message says what is wrong.
pub fn parse(stdin: &[u8]) -> Result<NetworkOptions, String> {
    serde_json::from_slice(stdin).map_err(|e| {
        format!("cannot read the network options on stdin (netavark's JSON from Podman): {e}")
    })
}

/// The error object Podman reads from stdout when netavark fails.
pub fn error_json(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}

/// `netavark version`'s answer; `version` is netavark's, so Podman's
/// checks pass, and berth says who it is.
pub fn version_json(berth: &str) -> String {
    let v = serde_json::json!({
        "version": "1.4.0",
        "commit": format!("berth {berth}"),
        "build_time": "",
        "target": "berth",
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What Podman 4.3 wrote for `podman run -d --name web --network appnet
    /// --network-alias www -p 8080:80 -p 9000-9001:9000-9001/udp`.
    pub(crate) const PODMAN_43: &str = r#"{"container_id":"24299c8ec85645be4ce488b5a754397ff1e567ef72e80bf37553023e93caf65c","container_name":"web","port_mappings":[{"host_ip":"","container_port":80,"host_port":8080,"range":1,"protocol":"tcp"},{"host_ip":"","container_port":9000,"host_port":9000,"range":2,"protocol":"udp"}],"networks":{"appnet":{"static_ips":["192.0.2.65"],"aliases":["www","24299c8ec856"],"interface_name":"eth0"}},"network_info":{"appnet":{"name":"appnet","id":"0e9c90f73c53a5995ac8c2ac297cdd65313ec8b01bab26260c579002cb68f44f","driver":"bridge","network_interface":"podman1","created":"2026-12-04T19:50:57.184443213Z","subnets":[{"subnet":"192.0.2.0/24","gateway":"192.0.2.1","lease_range":{"start_ip":"192.0.2.65","end_ip":"192.0.2.127"}}],"ipv6_enabled":false,"internal":false,"dns_enabled":true,"ipam_options":{"driver":"host-local"}}}}"#;

    /// netavark 1.4's test/testfiles/isolate1.json.
    pub(crate) const ISOLATE1: &str = r#"{
        "container_id": "01f0b94d5f4c1",
        "container_name": "isolatedcontainer1",
        "networks": {"isolate1": {"interface_name": "eth1", "static_ips": ["10.89.0.2", "fd90::2"]}},
        "network_info": {"isolate1": {
            "dns_enabled": false, "driver": "bridge",
            "id": "f3ac3c903b76f20e8a122b1eb2ba393ab2519ba516626be5b490b66dc96b54b7",
            "internal": false, "ipv6_enabled": false, "name": "isolate1", "network_interface": "isolate1",
            "subnets": [{"gateway": "10.89.0.1", "subnet": "10.89.0.0/24"}, {"subnet": "fd90::/64", "gateway": "fd90::1"}],
            "options": {"isolate": "true"}}}
    }"#;

    #[test]
    fn reads_what_podman_writes() {
        let o = parse(PODMAN_43.as_bytes()).unwrap();
        assert_eq!(o.container_name, "web");
        let ports = o.port_mappings.unwrap();
        assert_eq!((ports[1].host_port, ports[1].range), (9000, 2));
        assert_eq!(ports[0].host_ip, "");
        let n = &o.network_info["appnet"];
        assert_eq!(n.network_interface.as_deref(), Some("podman1"));
        let s = &n.subnets.as_ref().unwrap()[0];
        assert_eq!(
            s.lease_range.as_ref().unwrap().end_ip,
            Some("192.0.2.127".parse().unwrap())
        );
        assert_eq!(
            o.networks["appnet"].aliases.as_deref(),
            Some(&["www".to_string(), "24299c8ec856".to_string()][..])
        );
    }

    #[test]
    fn reads_netavark_test_files() {
        let o = parse(ISOLATE1.as_bytes()).unwrap();
        let n = &o.network_info["isolate1"];
        assert_eq!(n.options.as_ref().unwrap()["isolate"], "true");
        assert_eq!(n.subnets.as_ref().unwrap().len(), 2);
        assert!(o.port_mappings.is_none());
    }

    #[test]
    fn bad_json_is_named() {
        let e = parse(br#"{"container_id": 5}"#).unwrap_err();
        assert!(
            e.contains("container_id") || e.contains("invalid type"),
            "{e}"
        );
        assert!(parse(b"").unwrap_err().contains("stdin"));
    }

    #[test]
    fn status_block_is_netavarks_shape() {
        let mut b = StatusBlock {
            dns_server_ips: vec!["192.0.2.1".parse().unwrap()],
            ..Default::default()
        };
        b.interfaces.insert(
            "eth0".into(),
            NetInterface {
                mac_address: "b6:01:56:3e:c4:b4".into(),
                subnets: vec![NetAddress {
                    gateway: Some("192.0.2.1".parse().unwrap()),
                    ipnet: "192.0.2.65/24".parse().unwrap(),
                }],
            },
        );
        let out = BTreeMap::from([("appnet".to_string(), b)]);
        // The shape netavark 1.4 printed for the same container.
        let want: serde_json::Value = serde_json::from_str(r#"{"appnet":{"dns_search_domains":[],"dns_server_ips":["192.0.2.1"],"interfaces":{"eth0":{"mac_address":"b6:01:56:3e:c4:b4","subnets":[{"gateway":"192.0.2.1","ipnet":"192.0.2.65/24"}]}}}}"#).unwrap();
        assert_eq!(serde_json::to_value(&out).unwrap(), want);
        assert_eq!(error_json("no \"x\""), r#"{"error":"no \"x\""}"#);
    }
}
