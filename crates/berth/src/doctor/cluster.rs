//! The overlay cluster as `berth doctor` sees it: the last report of `berth
//! agent`'s synchronisation (`engine::overlay_report`): a plain-text cluster
//! store, records of the store that were skipped, addresses of this host's
//! containers that another host holds, and an agent that stopped
//! synchronising. Pure, on [`ClusterFacts`].

use super::Finding;
use berth_core::engine::overlay_report::ClusterReport;
use berth_core::store::etcd_config::StoreConfig;
use std::path::Path;

/// Seconds after which a report says the agent is not running.
const STALE: u64 = 60;

/// What the check looks at.
#[derive(Debug, Default, Clone)]
pub struct ClusterFacts {
    /// The cluster store configured for this command (`--store`), if any.
    pub store: Option<String>,
    /// Its configuration problem, or what is unsafe about it.
    pub warning: Option<String>,
    /// The agent's last report, if any.
    pub report: Option<ClusterReport>,
    /// Now (Unix seconds).
    pub now: u64,
}

/// Reads the facts (never fails: a missing report is a finding).
pub fn gather(root: Option<&Path>) -> ClusterFacts {
    let config = crate::config::engine(root).ok();
    let store = config.as_ref().and_then(|c| c.store.clone());
    let warning = config.as_ref().and_then(|c| {
        let url = c.store.as_deref()?;
        match StoreConfig::new(url, &c.store_credentials) {
            Ok(cfg) => cfg.warning(),
            Err(e) => Some(e.to_string()),
        }
    });
    let report = config
        .and_then(|c| berth_core::engine::Engine::open_store_only(&c).ok())
        .and_then(|e| e.cluster_report());
    ClusterFacts {
        store,
        warning,
        report,
        now: berth_core::store::cluster::unix_now(),
    }
}

/// The findings.
pub fn check(f: &ClusterFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(store) = f
        .store
        .clone()
        .or_else(|| f.report.as_ref().map(|r| r.store.clone()))
    else {
        return out;
    };
    let warning = f
        .warning
        .clone()
        .or_else(|| f.report.as_ref().and_then(|r| r.warning.clone()));
    match warning {
        Some(w) => out.push(Finding::warn("cluster-store", w, "berth --store etcds://... --store-ca CA --store-cert CERT --store-key KEY (docs/cluster.md)")),
        None => out.push(Finding::ok("cluster-store", format!("{store} (TLS)"))),
    }
    let Some(r) = &f.report else {
        out.push(Finding::warn(
            "cluster-agent",
            "berth agent has never synchronised this host with the cluster store",
            "run berth agent on this host (contrib/systemd/berth-agent.service)",
        ));
        return out;
    };
    if f.now > r.time + STALE {
        out.push(Finding::warn(
            "cluster-agent",
            format!(
                "berth agent's last synchronisation was {} s ago",
                f.now - r.time
            ),
            "check that berth agent runs and reaches the cluster store (journalctl -u berth-agent)",
        ));
    } else {
        out.push(Finding::ok(
            "cluster-agent",
            "synchronised with the cluster store",
        ));
    }
    if !r.rejected.is_empty() {
        let list: Vec<String> = r
            .rejected
            .iter()
            .map(|x| format!("{} ({})", x.key, x.why))
            .collect();
        out.push(Finding::warn(
            "cluster-records",
            format!("{} record(s) of the cluster store skipped, never applied: {}", list.len(), list.join("; ")),
            "find who wrote them (a host of another berth version, or someone with write access to etcd); delete them with etcdctl del KEY; allow only berth's hosts to write (etcds:// with client certificates, an etcd user per host)",
        ));
    }
    for c in &r.conflicts {
        out.push(Finding::fail(
            "cluster-address",
            format!(
                "address {} of container {} on network {} is held by host {} (this host was cut off from the cluster store longer than its lease): {} is cut off from the network",
                c.address, c.container, c.network, c.holder, c.container
            ),
            c.fix(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::engine::overlay_report::Conflict;

    fn report() -> ClusterReport {
        ClusterReport {
            time: 1000,
            store: "etcds://192.0.2.1:2379".into(),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_without_a_cluster() {
        assert!(check(&ClusterFacts::default()).is_empty());
    }

    #[test]
    fn plain_stores_stale_agents_records_and_conflicts() {
        let mut r = report();
        r.warning = Some("cluster store etcd://x is plain etcd://".into());
        r.rejected
            .push(berth_core::drivers::overlay_records::Rejected::new(
                "/berth/v1/hosts/x",
                "bad",
            ));
        r.conflicts.push(Conflict {
            network: "ov".into(),
            address: "198.18.0.5".parse().expect("ip"),
            container: "web".into(),
            veth: "veth1234567".into(),
            holder: "192.0.2.12".into(),
        });
        let f = ClusterFacts {
            report: Some(r),
            now: 1000 + STALE + 1,
            ..Default::default()
        };
        let got = check(&f);
        let by = |c: &str| got.iter().find(|x| x.check == c).expect(c);
        assert_eq!(by("cluster-store").status, super::super::Status::Warn);
        assert!(by("cluster-agent").found.contains("s ago"));
        assert!(by("cluster-records")
            .found
            .contains("/berth/v1/hosts/x (bad)"));
        let a = by("cluster-address");
        assert_eq!(a.status, super::super::Status::Fail);
        assert!(a
            .fix
            .as_deref()
            .is_some_and(|x| x.contains("berth rm -f web")));
    }

    #[test]
    fn a_healthy_cluster_is_ok() {
        let f = ClusterFacts {
            report: Some(report()),
            now: 1001,
            ..Default::default()
        };
        assert!(check(&f)
            .iter()
            .all(|x| x.status == super::super::Status::Ok));
    }
}
