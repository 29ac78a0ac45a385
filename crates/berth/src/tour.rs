//! `berth tour`: the experiments of the article berth started from, step by
//! step — first by hand with `ip` (namespaces, a veth pair, a bridge), then
//! with berth (the default bridge, a published web server, two containers
//! talking, a user-defined network) — each step printed with the commands it
//! runs, their output, and why.
//!
//! The tour re-executes itself inside a throwaway network + mount namespace
//! (a bare berth-lab lab) with its own state root, builds a pretend
//! "outside" world there on TEST-NET addresses, and leaves nothing behind:
//! it is safe on any machine.

use crate::cli::TourArgs;
use anyhow::{anyhow, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::Command;

/// One step: a title, why it matters, and shell commands (`$B` is berth).
struct Step {
    title: &'static str,
    why: &'static str,
    commands: &'static [&'static str],
}

const STEPS: &[Step] = &[
    Step {
        title: "Two network namespaces joined by a veth pair",
        why: "A network namespace is a separate copy of the network stack. A veth pair is a virtual cable: \
              move one end into each namespace, give both an address, bring them up, and they can talk.",
        commands: &[
            "ip netns add ns0 && ip netns add ns1",
            "ip link add vth0 type veth peer vth1",
            "ip link set vth0 netns ns0 && ip link set vth1 netns ns1",
            "ip -n ns0 addr add 192.0.2.2/24 dev vth0 && ip -n ns0 link set vth0 up",
            "ip -n ns1 addr add 192.0.2.3/24 dev vth1 && ip -n ns1 link set vth1 up",
            "ip -n ns0 -br addr",
            "ip netns exec ns0 busybox ping -c1 -W3 192.0.2.3",
        ],
    },
    Step {
        title: "Three namespaces on a bridge",
        why: "A Linux bridge is a virtual switch: plug the host ends of many veths into it and the namespaces \
              share one L2 segment. (On a host where Docker set FORWARD's policy to DROP, the article also needs \
              `iptables -A FORWARD -i br0 -j ACCEPT`; this throwaway namespace has no such policy.)",
        commands: &[
            "ip netns del ns0; ip netns del ns1; ip link add br0 type bridge && ip link set br0 up",
            "for i in 0 1 2; do ip netns add ns$i; ip link add veth$i type veth peer eth0 netns ns$i; \
             ip link set veth$i master br0 up; ip -n ns$i addr add 10.0.0.$((i+1))/24 dev eth0; ip -n ns$i link set eth0 up; done",
            "ip -br link show master br0",
            "ip netns exec ns0 busybox ping -c1 -W3 10.0.0.3",
            "for i in 0 1 2; do ip netns del ns$i; done; ip link del br0",
        ],
    },
    Step {
        title: "A pretend outside world",
        why: "berth's containers will reach 'the internet' and be reached from 'another host'. Here both are a \
              namespace called outside, on documentation addresses, linked to this namespace by a veth: \
              no packet leaves the machine.",
        commands: &[
            "ip netns add outside && ip link add uplink type veth peer eth0 netns outside",
            "ip addr add 198.51.100.2/24 dev uplink && ip link set uplink up && ip route add default via 198.51.100.1",
            "ip -n outside addr add 198.51.100.1/24 dev eth0 && ip -n outside link set eth0 up && ip -n outside addr add 203.0.113.1/32 dev lo && ip -n outside link set lo up",
        ],
    },
    Step {
        title: "berth's networks",
        why: "Like Docker, berth has three built-in networks: bridge (a Linux bridge, berth0, with a subnet from \
              Docker's pools that is not already routed here), host and none.",
        commands: &["$B network ls", "$B network inspect bridge -f '{{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}}{{end}}'", "ip -br addr show berth0"],
    },
    Step {
        title: "A published web server (docker run -d -p 8081:80 nginx)",
        why: "berth creates the container's namespace, a veth into berth0 and an address, starts the process, \
              and publishes port 8081 as one element of an nftables map: kernel DNAT, no proxy process, the \
              client's address preserved. The container sees a read-only view of the host's files without \
              berth's state: the web root is shared with -v, read-only.",
        commands: &[
            "mkdir -p $BERTH_ROOT/www && echo 'hello from a berth container' > $BERTH_ROOT/www/index.html",
            "$B run -d --name web -p 8081:80 -v $BERTH_ROOT/www:/tmp/www:ro busybox httpd -f -p 80 -h /tmp/www",
            "$B ps",
            "$B inspect -f '{{.NetworkSettings.IPAddress}} {{json .NetworkSettings.Ports}}' web",
            "sleep 0.2; curl -s localhost:8081",
            "ip netns exec outside curl -s 198.51.100.2:8081",
        ],
    },
    Step {
        title: "Two containers on the default bridge",
        why: "Containers on one bridge reach each other, and reach the outside through masquerade (the article \
              pinged 8.8.8.8; here the internet is 203.0.113.1 in the outside namespace).",
        commands: &[
            "$B run -d --name a1 busybox sleep 3600 && $B run -d --name a2 busybox sleep 3600",
            "$B exec a1 busybox ping -c1 -W3 $($B inspect -f '{{.NetworkSettings.IPAddress}}' a2)",
            "$B exec a1 busybox ping -c1 -W3 203.0.113.1",
            "$B network inspect bridge -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{println}}{{end}}'",
        ],
    },
    Step {
        title: "The veth pairs the article reads by hand",
        why: "Each container's eth0@ifN is one end of a veth; the other end (vethXXXXXXX@ifM, a port of berth0) \
              is in the host. Unlike Docker's, berth's container namespaces are in 'ip netns ls' by container \
              name, so the article's 'ip netns exec' works on them; 'berth topology' draws the whole picture.",
        commands: &[
            "ip -br link show master berth0",
            "$B exec a1 ip -br link show eth0",
            "ip netns ls",
            "ip netns exec a1 ip -br addr show eth0",
            "$B topology",
        ],
    },
    Step {
        title: "A user-defined network is isolated",
        why: "Containers on different networks cannot reach each other; the firewall decides it with set \
              elements, so the 1000th network or port costs what the first did.",
        commands: &[
            "$B network create --subnet 192.0.2.0/24 appnet",
            "$B run -d --name app --network appnet busybox sleep 3600",
            "$B exec app busybox ping -c1 -W1 $($B inspect -f '{{.NetworkSettings.IPAddress}}' a1) || echo 'app cannot reach a1: isolated'",
            "$B exec app busybox ping -c1 -W3 203.0.113.1",
            "nft list map inet berth ports4",
        ],
    },
    Step {
        title: "Clean up",
        why: "Removing a container frees its address and port and removes its namespace; nothing leaks.",
        commands: &["$B rm -f web a1 a2 app", "$B network rm appnet", "ip -br link show master berth0; $B ps -a"],
    },
];

/// Runs the tour (re-executing inside a throwaway namespace first).
pub fn run(_root: Option<&Path>, a: TourArgs) -> Result<i32> {
    if !a.inside {
        let exe = std::env::current_exe()?;
        let mut argv = vec![exe.display().to_string(), "tour".into(), "--inside".into()];
        if a.no_pause {
            argv.push("--no-pause".into());
        }
        println!("berth tour: running inside a throwaway network namespace; nothing on this host changes.\n");
        let status = berth_lab::run_in_bare_lab("berth-tour", &argv)
            .map_err(|e| anyhow!("cannot create the tour's namespace: {e}"))?;
        return Ok(status.code().unwrap_or(1));
    }
    berth_lab::assert_not_host_netns().map_err(|e| anyhow!("refusing to run the tour: {e}"))?;
    let exe = std::env::current_exe()?;
    let pause = !a.no_pause && std::io::stdin().is_terminal();
    for (i, step) in STEPS.iter().enumerate() {
        println!("\x1b[1m== {}. {}\x1b[0m", i + 1, step.title);
        println!("{}\n", textwrap(step.why));
        for c in step.commands {
            println!("\x1b[36m$ {}\x1b[0m", c.replace("$B", "berth"));
            std::io::stdout().flush()?;
            let status = Command::new("sh")
                .arg("-c")
                .arg(c)
                .env("B", &exe)
                .status()?;
            if !status.success() && !c.contains("||") {
                return Err(anyhow!("tour step {:?} failed at: {c}", step.title));
            }
        }
        println!();
        if pause {
            print!("(press Enter to continue) ");
            std::io::stdout().flush()?;
            let _ = std::io::stdin().lock().read_line(&mut String::new());
        }
    }
    println!(
        "The tour is over: the throwaway namespace and everything in it are gone when this exits."
    );
    Ok(0)
}

/// Wraps text at 78 columns.
fn textwrap(s: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for w in s.split_whitespace() {
        if col + w.len() + 1 > 78 && col > 0 {
            out.push('\n');
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(w);
        col += w.len();
    }
    out
}
