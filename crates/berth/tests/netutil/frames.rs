//! Hand-made Ethernet frames for the network-defence tests (what a
//! container with CAP_NET_RAW can put on its interface) and the scripts
//! that send and watch them: a raw-socket sender run inside a container
//! (`berth exec C python3 …`; containers get the scripts with the flags
//! [`tools`] returns), a sniffer counting router advertisements, and a UDP
//! listener printing what it receives.
#![allow(dead_code)]

use crate::common::B;
use berth_core::observe::packet::checksum;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The broadcast MAC address.
pub const BROADCAST: [u8; 6] = [0xff; 6];
/// The all-nodes IPv6 multicast MAC (33:33:00:00:00:01).
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A broadcast gratuitous ARP reply from `src_mac` saying "`claimed` is at
/// `src_mac`" (target = sender, so Linux updates an existing entry at once,
/// whatever its lock time): what poisons neighbour caches.
pub fn arp_reply(src_mac: [u8; 6], claimed: Ipv4Addr) -> Vec<u8> {
    let mut a = vec![0, 1, 0x08, 0, 6, 4, 0, 2];
    a.extend_from_slice(&src_mac);
    a.extend_from_slice(&claimed.octets());
    a.extend_from_slice(&src_mac);
    a.extend_from_slice(&claimed.octets());
    eth(BROADCAST, src_mac, 0x0806, &a)
}

/// A UDP datagram `src:4242 -> dst:port` carrying `payload`, in an IPv4
/// packet (UDP checksum 0: none, allowed over IPv4).
pub fn udp4(
    macs: ([u8; 6], [u8; 6]),
    src: Ipv4Addr,
    dst: Ipv4Addr,
    port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let (dst_mac, src_mac) = macs;
    let udp_len = 8 + payload.len() as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(20 + udp_len).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let c = checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(&4242u16.to_be_bytes());
    p.extend_from_slice(&port.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    eth(dst_mac, src_mac, 0x0800, &p)
}

/// An ICMPv6 message in an IPv6 packet (hop limit 255, as NDP requires),
/// checksummed.
fn icmp6(macs: ([u8; 6], [u8; 6]), src: Ipv6Addr, dst: Ipv6Addr, mut msg: Vec<u8>) -> Vec<u8> {
    let (dst_mac, src_mac) = macs;
    let mut pseudo = src.octets().to_vec();
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&msg);
    let c = checksum(&pseudo);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    p.extend_from_slice(&[58, 255]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&msg);
    eth(dst_mac, src_mac, 0x86dd, &p)
}

/// A router advertisement to all nodes from `src` (a link-local address):
/// "I am your default router (lifetime 1800 s); configure an address in
/// `prefix`/64 (autonomous, on-link)".
pub fn router_advert(src_mac: [u8; 6], src: Ipv6Addr, prefix: Ipv6Addr) -> Vec<u8> {
    let mut m = vec![134, 0, 0, 0, 64, 0];
    m.extend_from_slice(&1800u16.to_be_bytes()); // router lifetime
    m.extend_from_slice(&[0; 8]); // reachable time, retrans timer
    m.extend_from_slice(&[1, 1]); // source link-layer address option
    m.extend_from_slice(&src_mac);
    m.extend_from_slice(&[3, 4, 64, 0xc0]); // prefix information: on-link, autonomous
    m.extend_from_slice(&86400u32.to_be_bytes());
    m.extend_from_slice(&14400u32.to_be_bytes());
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(&prefix.octets());
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    icmp6((ALL_NODES_MAC, src_mac), src, all_nodes, m)
}

/// An unsolicited neighbour advertisement to all nodes from `src`: "`target`
/// is at `src_mac`" (override flag set).
pub fn neighbour_advert(src_mac: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let mut m = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    m.extend_from_slice(&[2, 1]); // target link-layer address option
    m.extend_from_slice(&src_mac);
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    icmp6((ALL_NODES_MAC, src_mac), src, all_nodes, m)
}

/// Sends raw frames on `IFNAME` (hex arguments) through an AF_PACKET
/// socket: needs CAP_NET_RAW, as a container has by default.
const SEND: &str = r#"
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for hexframe in sys.argv[2:]:
    s.send(bytes.fromhex(hexframe))
"#;

/// Counts router advertisements (ICMPv6 type 134 right after the IPv6
/// header) arriving on `IFNAME` for `SECONDS`; prints the count. Prints
/// `ready` first (to stderr), once the socket listens.
const SNIFF_RA: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
print("ready", file=sys.stderr, flush=True)
end, n = time.time() + float(sys.argv[2]), 0
while time.time() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    if len(f) > 54 and f[20] == 58 and f[54] == 134:
        n += 1
print(n)
"#;

/// Prints the payload of every UDP datagram arriving on ADDR:PORT for
/// SECONDS, one per line (`ready` first, to stderr).
const LISTEN_UDP: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
print("ready", file=sys.stderr, flush=True)
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        data, _ = s.recvfrom(2048)
        print(data.decode(errors="replace"), flush=True)
    except socket.timeout:
        pass
"#;

/// The directory of the scripts in the lab's temp dir.
fn dir(b: &B) -> std::path::PathBuf {
    b.lab.root().join("frames")
}

/// Writes the scripts; returns the `run` flags that show them to a
/// container at the same path (containers see no host `/tmp` of their own).
pub fn tools(b: &B) -> String {
    let d = dir(b);
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in [
        ("send-frames.py", SEND),
        ("sniff-ra.py", SNIFF_RA),
        ("listen-udp.py", LISTEN_UDP),
    ] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let d = d.display();
    format!("-v {d}:{d}:ro")
}

/// The path of script `name` (written by [`tools`]).
fn script(b: &B, name: &str) -> String {
    let path = dir(b).join(name);
    assert!(path.exists(), "call frames::tools first");
    path.display().to_string()
}

fn hex(frame: &[u8]) -> String {
    frame.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `frames` from inside container `name` on its `ifname`; panics if
/// the sender could not (no raw socket: no CAP_NET_RAW).
pub fn send_from(b: &B, name: &str, ifname: &str, frames: &[Vec<u8>]) {
    let py = script(b, "send-frames.py");
    let args: Vec<String> = frames.iter().map(|f| hex(f)).collect();
    b.ok(&format!(
        "exec {name} python3 {py} {ifname} {}",
        args.join(" ")
    ));
}

/// Sends `frames` on interface `ifname` of lab namespace `ns`.
pub fn send_in_ns(b: &B, ns: &str, ifname: &str, frames: &[Vec<u8>]) {
    let py = script(b, "send-frames.py");
    let args: Vec<String> = frames.iter().map(|f| hex(f)).collect();
    b.lab
        .in_ns_ok(ns, &format!("python3 {py} {ifname} {}", args.join(" ")));
}

/// Runs `watch` (a script that prints `ready` to stderr, then watches)
/// inside container `name` while `act` runs once it is ready; returns what
/// the watcher printed.
fn while_watching(b: &B, cmd: String, act: impl FnOnce()) -> String {
    use std::io::{BufRead, BufReader, Read};
    let mut child = b
        .lab
        .command("sh")
        .arg("-c")
        .arg(cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the watcher did not start");
    act();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success(), "the watcher failed");
    out
}

/// How many router advertisements container `name` received on `ifname`
/// while `act` ran (watching for `secs` seconds).
pub fn ras_seen_by(b: &B, name: &str, ifname: &str, secs: u32, act: impl FnOnce()) -> u32 {
    let py = script(b, "sniff-ra.py");
    let cmd = format!(
        "{} exec {name} python3 {py} {ifname} {secs}",
        crate::common::BERTH
    );
    while_watching(b, cmd, act).trim().parse().unwrap()
}

/// The payloads of the UDP datagrams the lab (the host) received on
/// `addr:port` while `act` ran (watching for `secs` seconds).
pub fn udp_received(b: &B, addr: &str, port: u16, secs: u32, act: impl FnOnce()) -> Vec<String> {
    let py = script(b, "listen-udp.py");
    let cmd = format!("python3 {py} {addr} {port} {secs}");
    while_watching(b, cmd, act)
        .lines()
        .map(String::from)
        .collect()
}
