//! The small world inside a lab: the `outside` namespace and its uplink,
//! extra hosts on the LAN, and a Docker-like firewall.
//!
//! Every address is from the documentation ranges: the LAN is
//! 198.51.100.0/24 and 2001:db8:1::/64, "the internet" is 203.0.113.1 and
//! 2001:db8:2::1 on the `lo` of `outside`.

use crate::lab::check_name;
use crate::{Lab, LabError};

/// The lab's address on the LAN (on `uplink`).
pub const LAB_V4: &str = "198.51.100.2";
/// The lab's IPv6 address on the LAN (on `uplink`).
pub const LAB_V6: &str = "2001:db8:1::2";
/// The `outside` namespace's LAN address: the lab's default gateway.
pub const OUTSIDE_V4: &str = "198.51.100.1";
/// The `outside` namespace's IPv6 LAN address: the lab's IPv6 gateway.
pub const OUTSIDE_V6: &str = "2001:db8:1::1";
/// An "internet" address, on the `lo` of `outside`.
pub const INTERNET_V4: &str = "203.0.113.1";
/// An "internet" IPv6 address, on the `lo` of `outside`.
pub const INTERNET_V6: &str = "2001:db8:2::1";
/// Name of the namespace playing the rest of the world.
pub const OUTSIDE: &str = "outside";

/// Shell lines that turn off IPv6 duplicate address detection for links
/// created from now on in the current network namespace.
const NO_DAD: &str = "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad";

/// Checks that every address looks like `ADDR/LEN` (hex digits, `.`, `:`),
/// which also keeps them harmless inside the generated shell scripts.
fn check_cidrs(addrs: &[&str]) -> Result<(), LabError> {
    for addr in addrs {
        let ok = addr.split_once('/').is_some_and(|(ip, len)| {
            !ip.is_empty()
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
                && !len.is_empty()
                && len.chars().all(|c| c.is_ascii_digit())
        });
        if !ok {
            return Err(LabError::InvalidAddress((*addr).to_string()));
        }
    }
    Ok(())
}

impl Lab {
    /// Builds `outside`, the uplink veth and the default routes.
    pub(crate) fn build_world(&self) -> Result<(), LabError> {
        let script = format!(
            "set -e
{NO_DAD}
ip netns add {OUTSIDE}
ip netns exec {OUTSIDE} sh -c '{NO_DAD}'
ip -n {OUTSIDE} link set lo up
ip link add uplink type veth peer name eth0 netns {OUTSIDE}
ip addr add {LAB_V4}/24 dev uplink
ip -6 addr add {LAB_V6}/64 dev uplink nodad
ip link set uplink up
ip -n {OUTSIDE} addr add {OUTSIDE_V4}/24 dev eth0
ip -n {OUTSIDE} -6 addr add {OUTSIDE_V6}/64 dev eth0 nodad
ip -n {OUTSIDE} link set eth0 up
ip -n {OUTSIDE} addr add {INTERNET_V4}/32 dev lo
ip -n {OUTSIDE} -6 addr add {INTERNET_V6}/128 dev lo nodad
ip route add default via {OUTSIDE_V4} dev uplink
ip -6 route add default via {OUTSIDE_V6} dev uplink
"
        );
        self.run_ok("build the lab's world", &script)?;
        Ok(())
    }

    /// Adds an empty named network namespace to the lab (`ip netns add` in
    /// the lab's `/run`), with `lo` up and IPv6 DAD off. Use it with
    /// [`Lab::in_ns`]. Names: up to 11 characters of `[A-Za-z0-9_-]`.
    pub fn add_netns(&self, name: &str) -> Result<(), LabError> {
        check_name(name, 11)?;
        let script = format!(
            "set -e
ip netns add {name}
ip netns exec {name} sh -c '{NO_DAD}'
ip -n {name} link set lo up"
        );
        self.run_ok("add a namespace", &script)?;
        Ok(())
    }

    /// On first use, turns the point-to-point uplink into a LAN: a bridge
    /// `lan` in `outside` carrying its addresses, with `eth0` as a port.
    fn ensure_lan(&self) -> Result<(), LabError> {
        let mut done = self
            .lan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *done {
            return Ok(());
        }
        let script = format!(
            "set -e
ip link add lan type bridge
ip link set lan up
ip addr flush dev eth0 scope global
ip link set eth0 master lan
ip addr add {OUTSIDE_V4}/24 dev lan
ip -6 addr add {OUTSIDE_V6}/64 dev lan nodad"
        );
        self.run_ns_ok(OUTSIDE, "create the LAN bridge", &script)?;
        *done = true;
        Ok(())
    }

    /// Adds a host `name` on the LAN shared with the lab and `outside`: a
    /// namespace whose `eth0` is plugged into the bridge `lan` in `outside`
    /// (created on first use; the port is `lan-NAME` there), with the given
    /// addresses (CIDR, IPv4 or IPv6, normally in 198.51.100.0/24 or
    /// 2001:db8:1::/64) and default routes via `outside` for each family
    /// used. Example: `lab.add_host("neighbour", &["198.51.100.3/24"])`.
    pub fn add_host(&self, name: &str, addrs: &[&str]) -> Result<(), LabError> {
        if !self.has_world() {
            return Err(LabError::Bare("add_host"));
        }
        check_cidrs(addrs)?;
        self.add_netns(name)?;
        self.ensure_lan()?;
        let port = format!("lan-{name}");
        let plug = format!(
            "set -e
ip -n {OUTSIDE} link add {port} type veth peer name eth0 netns {name}
ip -n {OUTSIDE} link set {port} master lan up
ip -n {name} link set eth0 up"
        );
        self.run_ok("plug a host into the LAN", &plug)?;
        let mut script = String::from("set -e\n");
        for addr in addrs {
            if addr.contains(':') {
                script.push_str(&format!("ip -6 addr add {addr} dev eth0 nodad\n"));
            } else {
                script.push_str(&format!("ip addr add {addr} dev eth0\n"));
            }
        }
        if addrs.iter().any(|a| !a.contains(':')) {
            script.push_str(&format!("ip route add default via {OUTSIDE_V4}\n"));
        }
        if addrs.iter().any(|a| a.contains(':')) {
            script.push_str(&format!("ip -6 route add default via {OUTSIDE_V6}\n"));
        }
        self.run_ns_ok(name, "address a host", &script)?;
        Ok(())
    }

    /// Recreates inside the lab what `dockerd` does to a host's firewall
    /// (iptables, nft backend): `filter` FORWARD policy DROP, chains
    /// DOCKER-USER (with a RETURN), DOCKER, DOCKER-ISOLATION-STAGE-1/2 and
    /// the FORWARD jumps to them, a bridge `docker0` 172.17.0.1/16 up with
    /// Docker's usual FORWARD rules, the `nat` DOCKER chain and MASQUERADE for
    /// 172.17.0.0/16; the same filter chains and FORWARD DROP in ip6tables;
    /// `ip_forward=1` and `bridge-nf-call-ip{,6}tables=1`.
    pub fn docker_like_firewall(&self) -> Result<(), LabError> {
        self.run_ok("set up a Docker-like firewall", DOCKER_FIREWALL)?;
        Ok(())
    }
}

/// The rules `dockerd` (20.x-26.x, default bridge, ip6tables on) installs.
const DOCKER_FIREWALL: &str = r#"set -e
ip link add docker0 type bridge
ip addr add 172.17.0.1/16 dev docker0
ip link set docker0 up
for ipt in iptables ip6tables; do
  $ipt -t filter -N DOCKER
  $ipt -t filter -N DOCKER-ISOLATION-STAGE-1
  $ipt -t filter -N DOCKER-ISOLATION-STAGE-2
  $ipt -t filter -N DOCKER-USER
  $ipt -t filter -P FORWARD DROP
  $ipt -t filter -A FORWARD -j DOCKER-USER
  $ipt -t filter -A FORWARD -j DOCKER-ISOLATION-STAGE-1
  $ipt -t filter -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  $ipt -t filter -A FORWARD -o docker0 -j DOCKER
  $ipt -t filter -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
  $ipt -t filter -A FORWARD -i docker0 -o docker0 -j ACCEPT
  $ipt -t filter -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
  $ipt -t filter -A DOCKER-ISOLATION-STAGE-1 -j RETURN
  $ipt -t filter -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
  $ipt -t filter -A DOCKER-ISOLATION-STAGE-2 -j RETURN
  $ipt -t filter -A DOCKER-USER -j RETURN
  $ipt -t nat -N DOCKER
  $ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
  $ipt -t nat -A DOCKER -i docker0 -j RETURN
done
iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
ip6tables -t nat -A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
echo 1 > /proc/sys/net/bridge/bridge-nf-call-ip6tables
"#;
