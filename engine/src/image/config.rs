//! The image config (the JSON whose sha256 is the image id), in the shape
//! Docker and the OCI image spec share: `config` (Cmd, Env, Entrypoint,
//! WorkingDir, User, ExposedPorts, Labels…), `rootfs.diff_ids`, `history`,
//! `created`, `architecture`, `os`.
//!
//! Configs read from elsewhere are kept as the bytes they came in (the id
//! depends on them); these types are for reading them and for writing new
//! ones. Top-level keys are declared in sorted order because Docker writes
//! them so (its image marshals through a map).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::error::{ImageError, Result};

/// An image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// CPU architecture, Go's names (`amd64`, `arm64`).
    #[serde(default)]
    pub architecture: String,
    /// Who made the image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// A comment (`import -m`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The defaults for containers run from the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// The container an image was committed from (Docker, legacy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    /// When the image was made, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Docker's version that made the image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    /// How each layer was made, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Operating system (`linux`).
    #[serde(default)]
    pub os: String,
    /// The layers, as diff ids, bottom first.
    pub rootfs: RootFs,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// `rootfs`: the layer diff ids, bottom first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The sha256 of each uncompressed layer tar.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        Self {
            kind: "layers".to_owned(),
            diff_ids: Vec::new(),
        }
    }
}

/// One step of an image's making.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// The command, e.g. `/bin/sh -c #(nop) CMD ["sh"]`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Whether the step made no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// Docker's container config as images carry it (`Config`), field for
/// field in Docker's order and with its JSON names, so that `inspect`
/// shows what Docker shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    /// Host name.
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// `user[:group]` commands run as.
    pub user: String,
    /// Attach standard input.
    pub attach_stdin: bool,
    /// Attach standard output.
    pub attach_stdout: bool,
    /// Attach standard error.
    pub attach_stderr: bool,
    /// Ports, `80/tcp` → `{}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// Allocate a terminal.
    pub tty: bool,
    /// Keep standard input open.
    pub open_stdin: bool,
    /// Close standard input after one attach.
    pub stdin_once: bool,
    /// `KEY=value` environment.
    pub env: Option<Vec<String>>,
    /// The default command.
    pub cmd: Option<Vec<String>>,
    /// The health check, kept as it came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    /// Windows only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub args_escaped: bool,
    /// The image name given when the container was made.
    pub image: String,
    /// Volume mount points.
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// The working directory.
    pub working_dir: String,
    /// The entry point.
    pub entrypoint: Option<Vec<String>>,
    /// No network.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network_disabled: bool,
    /// Legacy MAC address.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    /// ONBUILD triggers.
    pub on_build: Option<Vec<String>>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal that stops the container.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    /// Seconds to wait before killing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// The shell for shell forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// Go's `struct{}`: `{}` in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

impl ImageConfig {
    /// Parses a config blob; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(ImageError::json(what))
    }

    /// The config as JSON bytes (what a new image's id is the digest of).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(ImageError::json("image config"))
    }

    /// The labels of the container config.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }

    /// When the image was made; the Unix epoch when unknown.
    pub fn created_time(&self) -> DateTime<Utc> {
        self.created
            .as_deref()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
    }
}

/// A time as Go's `time.RFC3339Nano` writes it: up to nine fraction
/// digits, trailing zeros dropped, `Z` for UTC.
pub fn go_rfc3339_nano(time: &DateTime<Utc>) -> String {
    let text = time.to_rfc3339_opts(SecondsFormat::Nanos, true);
    match text.split_once('.') {
        Some((secs, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{secs}Z")
            } else {
                format!("{secs}.{digits}Z")
            }
        }
        None => text,
    }
}

/// Go's name of this machine's CPU architecture, as image configs use it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_CONFIG: &str = r#"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2024-09-26T21:31:42Z","history":[{"created":"2024-09-26T21:31:42Z","created_by":"BusyBox 1.37.0 (glibc), Debian 12"},{"created":"2024-09-26T21:31:42Z","created_by":"CMD [\"sh\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;

    #[test]
    fn a_docker_config_round_trips_byte_for_byte() {
        let config = ImageConfig::parse(DOCKER_CONFIG.as_bytes(), "test").unwrap();
        assert_eq!(
            config.config.as_ref().unwrap().cmd.as_deref(),
            Some(&["sh".to_owned()][..])
        );
        assert!(config.history[1].empty_layer);
        assert_eq!(config.rootfs.diff_ids.len(), 1);
        assert_eq!(
            String::from_utf8(config.to_bytes().unwrap()).unwrap(),
            DOCKER_CONFIG
        );
    }

    #[test]
    fn an_oci_config_with_few_fields_reads_with_defaults() {
        let oci = r#"{"created":"2024-01-02T03:04:05.5Z","architecture":"arm64","os":"linux","config":{"Env":["A=1"],"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config = ImageConfig::parse(oci.as_bytes(), "oci").unwrap();
        let c = config.config.as_ref().unwrap();
        assert_eq!(c.env.as_deref(), Some(&["A=1".to_owned()][..]));
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(c.cmd, None);
        assert_eq!(
            config.created_time().to_rfc3339(),
            "2024-01-02T03:04:05.500+00:00"
        );
        let err = ImageConfig::parse(b"{", "blob x").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid JSON in blob x: "),
            "{err}"
        );
    }

    #[test]
    fn times_print_as_go_rfc3339_nano() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.120Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(go_rfc3339_nano(&t), "2024-01-02T03:04:05.12Z");
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(go_rfc3339_nano(&t), "2024-01-02T03:04:05Z");
    }
}
