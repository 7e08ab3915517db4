//! Debian's `docker-registry`, started inside a test host on loopback
//! with a minimal configuration of the test's own (its storage in the
//! test's state directory, optionally htpasswd Basic auth), killed when
//! dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::TestHost;
use crate::netd::eventually;

/// A running registry.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its storage root.
    pub storage: PathBuf,
    /// Its log (the access log included).
    pub log: PathBuf,
}

impl Registry {
    /// Starts a registry on 127.0.0.1:`port`; with `htpasswd`, a file of
    /// users that Basic auth checks.
    pub fn start(host: &TestHost, port: u16, htpasswd: Option<&str>) -> Self {
        let dir = host.dir(&format!("registry-{port}"));
        let storage = dir.join("data");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some(users) = htpasswd {
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {users}\n"
            ));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).expect("registry config");
        let log = dir.join("registry.log");
        let log_file = std::fs::File::create(&log).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("starting docker-registry (apt-get install docker-registry)");
        let addr = format!("127.0.0.1:{port}");
        let url = format!("http://{addr}/v2/");
        let up = eventually(10, || {
            Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &url])
                .output()
                .is_ok_and(|o| matches!(&o.stdout[..], b"200" | b"401"))
        });
        assert!(
            up,
            "docker-registry did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Self {
            child,
            addr,
            storage,
            log,
        }
    }

    /// Where the registry keeps blob `digest` (`sha256:…`).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `curl` against the registry: `args` then the URL of `path`; its
    /// stdout (panics when curl fails).
    pub fn curl(&self, args: &[&str], path: &str) -> String {
        let url = format!("http://{}{path}", self.addr);
        let out = Command::new("curl")
            .args(["-sSf"])
            .args(args)
            .arg(&url)
            .output()
            .expect("running curl");
        assert!(
            out.status.success(),
            "curl {args:?} {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
