//! Docker's credentials file, `config.json` in `$DOCKER_CONFIG` or
//! `~/.docker`: `auths` maps a registry to base64 `user:password`;
//! `credHelpers` (per registry) and `credsStore` (for all) name a
//! `docker-credential-*` program that keeps them instead. berth reads all
//! three and writes `auths`, leaving the rest of the file as it was, so
//! that logins work both ways between berth and the docker CLI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::auth::Credentials;
use super::error::{RegistryError, Result};
use crate::image::reference::DEFAULT_DOMAIN;

/// The key Docker Hub's credentials are stored under.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The credentials file: `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json`.
pub fn config_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("config.json");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".docker/config.json")
}

/// The key of registry `domain` in `auths` (Docker Hub's is a URL).
pub fn server_key(domain: &str) -> String {
    if domain == DEFAULT_DOMAIN || domain == "index.docker.io" || domain == "registry-1.docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        domain.to_owned()
    }
}

/// The domain a `login`/`logout` argument names (`https://host/v2/` is
/// `host`).
pub fn domain_of_server(server: &str) -> String {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or(server);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "" => DEFAULT_DOMAIN.to_owned(),
        h => h.to_owned(),
    }
}

/// Reads the file at `path` as a JSON object (empty when missing).
fn read_object(path: &Path) -> Result<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) | Err(_) => Err(RegistryError::Invalid {
                what: path.display().to_string(),
                reason: "not a JSON object".to_owned(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(RegistryError::io("read", path)(e)),
    }
}

/// The stored credentials for registry `domain` from the file at `path`.
pub fn lookup(path: &Path, domain: &str) -> Result<Option<Credentials>> {
    let config = read_object(path)?;
    let key = server_key(domain);
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.get(&key).or_else(|| h.get(domain)))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str);
    if let Some(helper) = helper {
        return Ok(from_helper(helper, &key));
    }
    let entry = config
        .get("auths")
        .and_then(|a| a.get(&key).or_else(|| a.get(domain)));
    Ok(entry.and_then(decode_entry))
}

/// An `auths` entry's credentials: `auth` (base64 `user:password`) or
/// `identitytoken`.
fn decode_entry(entry: &Value) -> Option<Credentials> {
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let decoded = String::from_utf8(STANDARD.decode(auth).ok()?).ok()?;
        let (username, password) = decoded.split_once(':')?;
        return Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    None
}

/// Asks `docker-credential-HELPER get` for `key`'s credentials.
fn from_helper(helper: &str, key: &str) -> Option<Credentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(key.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    let value: Value = serde_json::from_slice(&output.stdout).ok()?;
    Some(Credentials {
        username: value.get("Username")?.as_str()?.to_owned(),
        password: value.get("Secret")?.as_str()?.to_owned(),
    })
}

/// Stores `credentials` for `domain` in `auths` of the file at `path`
/// (mode 0600), keeping everything else in it.
pub fn store(path: &Path, domain: &str, credentials: &Credentials) -> Result<()> {
    let mut config = read_object(path)?;
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let auth = STANDARD.encode(format!("{}:{}", credentials.username, credentials.password));
    if let Value::Object(auths) = auths {
        auths.insert(server_key(domain), serde_json::json!({ "auth": auth }));
    }
    write(path, &config)
}

/// Removes `domain`'s credentials; whether there were any.
pub fn remove(path: &Path, domain: &str) -> Result<bool> {
    let mut config = read_object(path)?;
    let removed = config
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(&server_key(domain)))
        .is_some();
    if removed {
        write(path, &config)?;
    }
    Ok(removed)
}

fn write(path: &Path, config: &Map<String, Value>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(RegistryError::io("create directory", dir))?;
    }
    let mut bytes = serde_json::to_vec_pretty(config).map_err(|e| RegistryError::Invalid {
        what: path.display().to_string(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    crate::atomic::write(path, &bytes).map_err(|e| RegistryError::Store(e.into()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(RegistryError::io("set the mode of", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> Credentials {
        Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        }
    }

    #[test]
    fn stored_credentials_read_back_and_keep_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"psFormat":"table {{.ID}}","auths":{"other:1":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        store(&path, "127.0.0.1:5000", &creds("me", "pa:ss")).unwrap();
        store(&path, "docker.io", &creds("hub", "h")).unwrap();
        let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["psFormat"], "table {{.ID}}");
        assert_eq!(json["auths"]["127.0.0.1:5000"]["auth"], "bWU6cGE6c3M=");
        assert!(json["auths"][DOCKER_HUB_KEY].is_object());
        assert_eq!(
            lookup(&path, "127.0.0.1:5000").unwrap(),
            Some(creds("me", "pa:ss"))
        );
        assert_eq!(lookup(&path, "other:1").unwrap(), Some(creds("x", "y")));
        assert_eq!(lookup(&path, "docker.io").unwrap(), Some(creds("hub", "h")));
        assert_eq!(lookup(&path, "nowhere:1").unwrap(), None);
        assert!(remove(&path, "127.0.0.1:5000").unwrap());
        assert!(!remove(&path, "127.0.0.1:5000").unwrap());
        assert_eq!(lookup(&path, "127.0.0.1:5000").unwrap(), None);
    }

    #[test]
    fn a_missing_file_has_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(&dir.path().join("none.json"), "x").unwrap(), None);
    }

    #[test]
    fn login_servers_name_their_registry() {
        assert_eq!(domain_of_server("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(domain_of_server("localhost:5000"), "localhost:5000");
        assert_eq!(
            domain_of_server("http://127.0.0.1:5000/v2/"),
            "127.0.0.1:5000"
        );
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
    }
}
