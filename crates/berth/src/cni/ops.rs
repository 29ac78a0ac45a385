//! The commands: each opens the engine, calls it and renders the outcome.

use super::{cni_error, request, result, Trace};
use berth_cni::{code, CniError, Env, PluginConfig, Version};
use berth_core::engine::Engine;
use ipnet::IpNet;
use std::path::Path;

fn open(root: Option<&Path>, config: &PluginConfig) -> Result<Engine, CniError> {
    engine_config(root, config)
        .and_then(|c| Engine::open(&c))
        .map_err(|e| cni_error(e.into()))
}

/// The engine's settings: the environment's, with the cluster store the
/// configuration names (`store`, `storeCa`...) in place of the
/// environment's when given.
fn engine_config(
    root: Option<&Path>,
    config: &PluginConfig,
) -> Result<berth_core::Config, berth_core::Error> {
    let mut c = crate::config::engine(root)?;
    let s = &config.store;
    if let Some(url) = &s.url {
        c.store = Some(url.clone());
        c.store_credentials = berth_core::store::etcd_config::Credentials {
            ca: s.ca.clone(),
            cert: s.cert.clone(),
            key: s.key.clone(),
            auth: s.auth.clone(),
        };
    }
    Ok(c)
}

/// Ends the engine without closing it: the process exits right after,
/// and unloading libnftables and closing the store cost ~0.5 ms that a
/// runtime waits for (the kernel releases sockets and files at exit;
/// every change is already committed).
fn leave(engine: Engine) {
    std::mem::forget(engine);
}

/// ADD: the result to print.
pub fn add(
    env: &Env,
    config: &PluginConfig,
    root: Option<&Path>,
    trace: &mut Trace,
) -> Result<serde_json::Value, CniError> {
    let req = request::add(env, config)?;
    let mut engine = open(root, config)?;
    trace.phase("open");
    let added = engine.cni_add(&req).map_err(cni_error);
    leave(engine);
    let added = added?;
    trace.phase("add");
    let netns = env.netns.as_deref().unwrap_or_default();
    Ok(result::add_result(config, netns, &added).to_json(config.version))
}

/// DEL: idempotent, and fine without `CNI_NETNS` or `prevResult`.
pub fn del(
    env: &Env,
    config: &PluginConfig,
    root: Option<&Path>,
    trace: &mut Trace,
) -> Result<(), CniError> {
    let mut engine = open(root, config)?;
    trace.phase("open");
    let done = engine.cni_del(&config.name, &env.container_id, &env.ifname);
    leave(engine);
    done.map_err(cni_error)?;
    trace.phase("del");
    Ok(())
}

/// CHECK: compares the attachment with its record and `prevResult`.
pub fn check(env: &Env, config: &PluginConfig, root: Option<&Path>) -> Result<(), CniError> {
    config.version.require(Version::V0_4_0, "CHECK")?;
    let Some(prev) = &config.prev_result else {
        return Err(CniError::new(
            code::INVALID_CONFIG,
            "CHECK needs prevResult",
            "the runtime must pass the result of the ADD as prevResult",
        ));
    };
    let netns = env.netns.clone().unwrap_or_default();
    // The addresses prevResult puts on this attachment's interface.
    let expected: Vec<IpNet> = prev
        .ips
        .iter()
        .filter(|ip| {
            ip.interface
                .and_then(|i| prev.interfaces.get(i as usize))
                .is_some_and(|i| i.name == env.ifname && i.sandbox.as_deref() == Some(&netns))
        })
        .map(|ip| ip.address)
        .collect();
    let mut engine = open(root, config)?;
    let attachment = (
        config.name.as_str(),
        env.container_id.as_str(),
        env.ifname.as_str(),
    );
    engine
        .cni_check(attachment, Path::new(&netns), &expected)
        .map_err(cni_error)
}

/// GC: detaches every attachment of the network not listed as valid.
pub fn gc(config: &PluginConfig, root: Option<&Path>) -> Result<(), CniError> {
    config.version.require(Version::V1_1_0, "GC")?;
    let Some(valid) = &config.valid_attachments else {
        return Err(CniError::new(
            code::INVALID_CONFIG,
            "GC needs cni.dev/valid-attachments",
            "without the list of valid attachments berth would detach every container of the network; nothing was changed",
        ));
    };
    let valid: Vec<(String, String)> = valid
        .iter()
        .map(|a| (a.container_id.clone(), a.ifname.clone()))
        .collect();
    let mut engine = open(root, config)?;
    engine.cni_gc(&config.name, &valid).map_err(cni_error)?;
    Ok(())
}

/// STATUS: can berth serve ADD on this network?
pub fn status(config: &PluginConfig, root: Option<&Path>) -> Result<(), CniError> {
    config.version.require(Version::V1_1_0, "STATUS")?;
    let mut engine = engine_config(root, config)
        .and_then(|c| Engine::open_store_only(&c))
        .map_err(|e| {
            CniError::new(
                code::NOT_AVAILABLE,
                "plugin not available",
                format!("cannot open berth's state: {e}"),
            )
        })?;
    engine.cni_status(&config.name).map_err(cni_error)?;
    Ok(())
}
