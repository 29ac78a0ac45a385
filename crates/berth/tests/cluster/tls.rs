//! A secured cluster store for the tests: a throwaway CA, a server
//! certificate for the members' addresses and a client certificate, made
//! with the openssl CLI in the underlay lab's temp dir when the test runs
//! (no key is ever committed), and an etcd user `berth` allowed under
//! `/berth/` only, its `USER:PASSWORD` in a file readable by its owner.

use super::Cluster;
use berth_lab::Lab;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// The files of a secured store, and whether etcd's auth is on yet.
pub struct Tls {
    /// The directory holding them.
    pub dir: PathBuf,
    auth_on: AtomicBool,
}

/// The root user's password (etcdctl only).
const ROOT: &str = "root:test-root-pw";

impl Tls {
    /// Makes the CA and the certificates for `members` members.
    pub fn make(under: &Lab, members: usize) -> Tls {
        let dir = under.root().join("pki");
        std::fs::create_dir_all(&dir).expect("pki dir");
        let sans: Vec<String> = (0..members)
            .map(|i| format!("IP:{}", super::etcd::member_ip(i)))
            .collect();
        under.sh_ok(&format!(
            r#"set -e
cd {d}
key() {{ openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out $1 2>/dev/null; chmod 600 $1; }}
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=berth-test-ca 2>/dev/null
sign() {{ key $1.key; openssl req -new -key $1.key -out $1.csr -subj /CN=$2 2>/dev/null
  printf '%s\n' "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $1.pem -days 2 -extfile $1.ext 2>/dev/null; }}
sign server etcd "subjectAltName={sans}
extendedKeyUsage=serverAuth,clientAuth"
sign client berth-host "extendedKeyUsage=clientAuth"
printf 'berth:test-berth-pw\n' > auth; chmod 600 auth
printf 'berth:wrong-pw\n' > wrong-auth; chmod 600 wrong-auth
key other-ca.key
openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null"#,
            d = dir.display(),
            sans = sans.join(",")
        ));
        Tls {
            dir,
            auth_on: AtomicBool::new(false),
        }
    }

    fn f(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// etcd's flags for member `i`: TLS on the client port, client
    /// certificates required.
    pub fn server_args(&self, _i: usize) -> Vec<String> {
        vec![
            "--cert-file".into(),
            self.f("server.pem"),
            "--key-file".into(),
            self.f("server.key"),
            "--trusted-ca-file".into(),
            self.f("ca.pem"),
            "--client-cert-auth".into(),
        ]
    }

    /// berth's flags for a host.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--store-ca".into(),
            self.f("ca.pem"),
            "--store-cert".into(),
            self.f("client.pem"),
            "--store-key".into(),
            self.f("client.key"),
            "--store-auth".into(),
            self.f("auth"),
        ]
    }

    /// etcdctl's flags (the root user once auth is on).
    pub fn etcdctl_args(&self) -> String {
        let user = if self.auth_on.load(Ordering::Relaxed) {
            format!("--user {ROOT}")
        } else {
            String::new()
        };
        format!(
            "--cacert {} --cert {} --key {} {user}",
            self.f("ca.pem"),
            self.f("client.pem"),
            self.f("client.key")
        )
    }

    /// Creates the users and turns etcd's authentication on.
    pub fn enable_auth(&self, c: &Cluster) {
        for cmd in [
            &format!("user add {ROOT}") as &str,
            "user add berth:test-berth-pw",
            "role add berth",
            "role grant-permission berth --prefix=true readwrite /berth/",
            "user grant-role berth berth",
            "auth enable",
        ] {
            c.etcdctl(cmd);
        }
        self.auth_on.store(true, Ordering::Relaxed);
    }
}
