//! berth's listings, filters and templates next to Docker's for the same
//! input: one scenario (networks with labels, containers on several
//! networks, a stopped one) and the same commands, run once by a real
//! Docker to record what it prints (`golden/docker/cli.txt`, by the
//! ignored test `record_docker`) and by berth on every run, which must
//! print the same after ids and times are masked.
//!
//! Re-record (needs Debian's docker.io; a Docker 28 client in
//! /usr/local/bin is used when present, against the 20.10 daemon):
//! `cargo test -p berth --test docker_shapes -- --ignored record_docker`.

mod common;
mod dockerutil;

use std::path::PathBuf;
use std::process::Output;

/// The recording of Docker's output.
fn recording() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/docker/cli.txt")
}

/// The sections of a transcript file by command (comment lines dropped).
fn sections(path: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("# "))
        .map(|l| format!("{l}\n"))
        .collect();
    text.split("### ")
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (case, out) = s.split_once('\n').unwrap_or((s, ""));
            (case.to_string(), out.to_string())
        })
        .collect()
}

/// What Docker prints for each case: the recording, with Docker 28's
/// output where the recorded 20.10 daemon differs (`cli-28.txt`).
fn docker_expected() -> String {
    let newer = sections(&recording().with_file_name("cli-28.txt"));
    sections(&recording())
        .into_iter()
        .map(|(case, out)| {
            let out = newer
                .iter()
                .find(|(c, _)| *c == case)
                .map_or(out, |(_, o)| o.clone());
            format!("### {case}\n{out}")
        })
        .collect()
}

/// Builds the scenario; `img` is what `run` takes before the command
/// (Docker's image; nothing for berth).
fn setup(run: &dyn Fn(&str) -> Output, img: &str) {
    for args in [
        "network create --subnet 192.0.2.0/24 --label env=prod --label tier=web front".to_string(),
        "network create --subnet 10.91.0.0/24 --internal --label env=dev back".into(),
        "network create --subnet 10.92.0.0/24 --label keep=no spare".into(),
        "network create --subnet 10.210.0.0/24 net10".into(),
        "network create --subnet 10.202.0.0/24 net2".into(),
        format!("run -d --name web --network front --label app=web --label tier=front {img} busybox sleep 3600"),
        "network connect back web".into(),
        format!("run -d --name db --network back --label app=db {img} busybox sleep 3600"),
        format!("run --name done --label app=batch {img} busybox true"),
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The compared commands, in order (the last ones remove networks).
const CASES: &[&str] = &[
    "network ls",
    "network ls --filter driver=bridge",
    "network ls -f name=e",
    "network ls -f name=^n",
    "network ls -f label=env",
    "network ls -f label=env=prod",
    "network ls -f type=custom",
    "network ls -f type=builtin",
    "network ls -f dangling=true",
    "network ls -f dangling=false",
    "network ls -f driver=bridge -f driver=null",
    "network ls -f driver=bridge -f label=env",
    "network ls -q -f name=front",
    "network ls -f id=zzz",
    "network ls --format table -f type=builtin",
    // Not front's two labels: the Docker 28.2 client prints a network's
    // labels in Go's random map order (later clients sort them, as berth).
    "network ls -f 'name=^[^f]' --format '{{.Name}} {{.Driver}} {{.Labels}} [{{.Label \"env\"}}]'",
    "network ls -f 'name=^[^f]' --format 'table {{.Name}}\\t{{.Driver}}\\t{{.Internal}}\\t{{.Labels}}'",
    "network ls --format 'table {{.Name}}\\t{{.Label \"env\"}}'",
    "network ls --format 'table {{upper .Name}}\\t{{pad .Scope 1 1}}\\t{{truncate .Driver 3}}'",
    "network ls -f name=front --format json",
    "network ls -f bogus=1",
    "network ls -f type=other",
    "network ls -f dangling=maybe",
    "network ls -f nonsense",
    "ps --format '{{.Names}}'",
    "ps -a --format '{{.Names}} {{.State}}'",
    "ps -a -f status=exited --format '{{.Names}}'",
    "ps -f status=running --format '{{.Names}}'",
    "ps -f status=created --format '{{.Names}}'",
    "ps -f name=w --format '{{.Names}}'",
    "ps -a -f name=^/d --format '{{.Names}}'",
    "ps -a -f network=back --format '{{.Names}}'",
    "ps -a -f label=app --format '{{.Names}}'",
    "ps -a -f label=app=web --format '{{.Names}}'",
    "ps -a -f label=app -f label=tier --format '{{.Names}}'",
    "ps -a -f name=db -f name=done --format '{{.Names}}'",
    "ps -a -f id=zzz --format '{{.Names}}'",
    "ps -a --format 'table {{.Names}}\\t{{.Labels}}\\t{{.Label \"app\"}}\\t{{.State}}'",
    "ps -f name=db --format 'table {{.Names}}\\t{{.Networks}}\\t{{.Command}}\\t{{.Ports}}'",
    "ps -a --format '{{.Names}}|{{.Status}}|{{.RunningFor}}|{{.CreatedAt}}'",
    "ps -f name=db --format json",
    "ps -f status=bogus",
    "ps -f colour=red",
    "inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' web",
    "inspect -f '{{json .Config.Labels}} {{.Config.Labels}}' web",
    "inspect -f '{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}} {{index .Config.Labels \"app\"}}' web",
    "inspect -f '{{.Path}} {{join .Args \",\"}} {{len .NetworkSettings.Networks}}' web",
    "inspect -f '{{upper .Name}} {{title .Name}} {{lower .Name}} {{split .Name \"e\"}} [{{pad .Name 1 2}}] {{truncate .Name 3}}' web",
    "network inspect -f '{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}} {{json .Labels}}' front",
    "network inspect -f '{{.Name}} {{.Internal}} {{(index .IPAM.Config 0).Subnet}}' back",
    "network inspect nope",
    "inspect --format json nope",
    "network prune -f --filter label=env=none",
    "network prune -f --filter until=2000-01-01",
    "network prune -f --filter label=keep",
    "network prune -f --filter dangling=true",
    "network rm net2",
    "network prune -f --filter label!=env",
    "network prune -f",
];

/// Masks what differs between two runs: ids, times and durations.
fn mask(text: &str) -> String {
    let mut t = text.to_string();
    for (re, with) in [
        (r"\b[0-9a-f]{64}\b", "x".repeat(64)),
        (r"\b[0-9a-f]{12}\b", "x".repeat(12)),
        (
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \w+",
            "TIME".into(),
        ),
        (
            r"(Less than a second|About a minute|\d+ seconds?|\d+ minutes)",
            "DURATION".into(),
        ),
    ] {
        t = regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, with.as_str())
            .into_owned();
    }
    t
}

/// Runs every case; the transcript: each command, its masked stdout and
/// its exit status (0, 1 or 125: Docker's own errors against bad input).
fn transcript(run: &dyn Fn(&str) -> Output) -> String {
    let mut out = String::new();
    for case in CASES {
        let o = run(case);
        // `--format json`: the field names (values differ by nature).
        let stdout = if case.ends_with("--format json") {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
                    let keys: Vec<&String> = v
                        .as_object()
                        .map(|o| o.keys().collect())
                        .unwrap_or_default();
                    format!("{keys:?}\n")
                })
                .collect::<String>()
        } else {
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let code = match o.status.code() {
            Some(0) => 0,
            Some(125) => 125,
            _ => 1,
        };
        if code != 0 {
            // Shown only when the test fails: why a case failed.
            eprintln!("{case}: stderr: {}", String::from_utf8_lossy(&o.stderr));
        }
        out.push_str(&format!("### {case}\n{}exit {code}\n", mask(&stdout)));
    }
    out
}

#[test]
fn berth_prints_what_docker_prints() {
    let b = common::B::new("docker-shapes");
    let run = |args: &str| b.berth(args);
    setup(&run, "");
    let want = docker_expected();
    let got = transcript(&run);
    for (w, g) in want.split("### ").zip(got.split("### ")) {
        assert_eq!(
            g, w,
            "berth differs from Docker (left: berth, right: Docker)"
        );
    }
    assert_eq!(got, want);
    inspect_is_docker_28s(&b);
}

/// `inspect`'s per-network settings have Docker 28's fields and values
/// (`IPAMConfig`, `Links`, `Aliases`, `DNSNames`; 20.10 lacks some, so the
/// expected shape comes from Docker 28's API types: see the file).
fn inspect_is_docker_28s(b: &common::B) {
    b.ok("run -d --name api --network front --ip 192.0.2.10 --network-alias www --hostname apihost busybox sleep 3600");
    let got = b.ok("inspect -f '{{json .NetworkSettings.Networks}}' api");
    let got = regex::Regex::new(r"\b[0-9a-f]{64}\b")
        .unwrap()
        .replace_all(&got, "ID64");
    let got = regex::Regex::new(r"\b[0-9a-f]{12}\b")
        .unwrap()
        .replace_all(&got, "ID12");
    let got = regex::Regex::new(r"\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b")
        .unwrap()
        .replace_all(&got, "MAC");
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    let path = recording().with_file_name("inspect-28.json");
    let mut want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    want.as_object_mut().unwrap().remove("__source");
    assert_eq!(got, want);
    // The default bridge has no DNS: no DNSNames, and no aliases asked.
    let bridge = b.ok("inspect -f '{{json .NetworkSettings.Networks.bridge.DNSNames}} {{json .NetworkSettings.Networks.bridge.Aliases}} {{json .NetworkSettings.Networks.bridge.IPAMConfig}}' done");
    assert_eq!(bridge.trim(), "null null null");
}

/// Records Docker's output (see the module's documentation).
#[test]
#[ignore]
fn record_docker() {
    if !dockerutil::available() {
        return;
    }
    let d = dockerutil::Docker::start("docker-shapes-rec", "");
    // A Docker 28 client where there is one: its formatting is the newer.
    let client = if std::path::Path::new("/usr/local/bin/docker").exists() {
        d.docker_cmd()
            .replace(dockerutil::DOCKER, "/usr/local/bin/docker")
    } else {
        d.docker_cmd()
    };
    let run = |args: &str| d.b.lab.sh(&format!("{client} {args}"));
    let version = d.b.sh(&format!("{client} version --format 'client {{{{.Client.Version}}}}, daemon {{{{.Server.Version}}}}'"));
    setup(&run, "bb");
    let text = format!("# Docker {}", version.trim()) + "\n" + &transcript(&run);
    std::fs::create_dir_all(recording().parent().unwrap()).unwrap();
    std::fs::write(recording(), text).unwrap();
}
