use super::*;
use std::os::unix::fs::PermissionsExt;

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "berth-etcd-config-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn file(d: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = d.join(name);
    std::fs::write(&p, text).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

#[test]
fn members_of_urls() {
    assert_eq!(
        parse_members("etcd://192.0.2.1:2379,192.0.2.2:2379"),
        Some((
            false,
            vec!["192.0.2.1:2379".into(), "192.0.2.2:2379".into()]
        ))
    );
    assert_eq!(
        parse_members("etcds://etcd-1.example:2379"),
        Some((true, vec!["etcd-1.example:2379".into()]))
    );
    assert_eq!(
        parse_members("etcds://[2001:db8::1]:2379"),
        Some((true, vec!["[2001:db8::1]:2379".into()]))
    );
    for bad in [
        "http://x:2379",
        "etcd://",
        "etcd://noport",
        "etcd://x:0",
        "etcd://x:99999",
        "etcd://a b:2379",
        "etcd://x/y:2379",
    ] {
        assert_eq!(parse_members(bad), None, "{bad}");
    }
}

#[test]
fn plain_stores_warn_and_refuse_tls_files() {
    let c = StoreConfig::new("etcd://192.0.2.1:2379", &Credentials::default()).expect("plain");
    assert_eq!(c.endpoints, vec!["http://192.0.2.1:2379".to_string()]);
    assert!(c.warning().is_some_and(|w| w.contains("etcds://")));
    let d = dir();
    let creds = Credentials {
        ca: Some(file(&d, "ca.pem", PEM, 0o644)),
        ..Default::default()
    };
    let e = StoreConfig::new("etcd://192.0.2.1:2379", &creds).expect_err("ca on plain");
    assert!(e.to_string().contains("etcds://"), "{e}");
}

#[test]
fn tls_needs_a_ca_and_both_halves_of_the_identity() {
    let d = dir();
    let e = StoreConfig::new("etcds://192.0.2.1:2379", &Credentials::default()).expect_err("no ca");
    assert!(e.to_string().contains("--store-ca"), "{e}");
    let ca = file(&d, "ca.pem", PEM, 0o644);
    let cert = file(&d, "c.pem", PEM, 0o644);
    let e = StoreConfig::new(
        "etcds://192.0.2.1:2379",
        &Credentials {
            ca: Some(ca.clone()),
            cert: Some(cert.clone()),
            ..Default::default()
        },
    )
    .expect_err("cert without key");
    assert!(e.to_string().contains("go together"), "{e}");
    let open_key = file(&d, "open.key", PEM, 0o644);
    let e = StoreConfig::new(
        "etcds://192.0.2.1:2379",
        &Credentials {
            ca: Some(ca.clone()),
            cert: Some(cert.clone()),
            key: Some(open_key),
            ..Default::default()
        },
    )
    .expect_err("world-readable key");
    assert!(e.to_string().contains("chmod 600"), "{e}");
    let key = file(&d, "k.pem", PEM, 0o600);
    let notpem = file(&d, "x.txt", "hello", 0o644);
    let e = StoreConfig::new(
        "etcds://192.0.2.1:2379",
        &Credentials {
            ca: Some(notpem),
            ..Default::default()
        },
    )
    .expect_err("not pem");
    assert!(e.to_string().contains("not a PEM file"), "{e}");
    let c = StoreConfig::new(
        "etcds://192.0.2.1:2379,192.0.2.2:2379",
        &Credentials {
            ca: Some(ca),
            cert: Some(cert),
            key: Some(key),
            ..Default::default()
        },
    )
    .expect("tls");
    assert_eq!(c.endpoints[1], "https://192.0.2.2:2379");
    assert!(c.tls.as_ref().is_some_and(|t| t.identity.is_some()));
    assert_eq!(c.warning(), None);
}

#[test]
fn auth_files_are_private_and_well_formed() {
    let d = dir();
    let ok = file(&d, "auth", "berth:s3cret\n", 0o600);
    let c = StoreConfig::new(
        "etcd://192.0.2.1:2379",
        &Credentials {
            auth: Some(ok),
            ..Default::default()
        },
    )
    .expect("auth");
    assert_eq!(c.auth, Some(("berth".into(), "s3cret".into())));
    assert!(!format!("{c:?}").contains("s3cret"));
    assert!(c.warning().is_some_and(|w| w.contains("password in clear")));
    for (text, mode, want) in [
        ("berth:s3cret", 0o644, "chmod 600"),
        ("berth", 0o600, "USER:PASSWORD"),
        (":x", 0o600, "USER:PASSWORD"),
    ] {
        let p = file(&d, "bad", text, mode);
        let e = StoreConfig::new(
            "etcd://192.0.2.1:2379",
            &Credentials {
                auth: Some(p),
                ..Default::default()
            },
        )
        .expect_err(text);
        assert!(e.to_string().contains(want), "{text}: {e}");
    }
}
