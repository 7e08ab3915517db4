//! Turning `create`/`run` options and an image into a container record,
//! as Docker merges them: the image's command, entrypoint, environment,
//! working directory, user and exposed ports unless the options override
//! them. Pure, so unit-tested as data.

use std::collections::BTreeMap;

use netd_api::portspec::{parse_port_specs, to_port_bindings};
use serde_json::Value;

use super::error::{ContainerError, Result};
use super::record::{Config, Container, HostConfig, NetworkRequest, State, ZERO_TIME};
use crate::image::config::ImageConfig;

/// What the command line asked for (values already checked by the
/// parsers of each flag).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `--name` (empty: generated).
    pub name: String,
    /// The image as given.
    pub image: String,
    /// The command after the image.
    pub cmd: Vec<String>,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    /// `-e` and `--env-file`, as `KEY=VALUE`.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: String,
    /// `-u`.
    pub user: String,
    /// `-h`.
    pub hostname: String,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// Foreground run: output attached.
    pub attach: bool,
    /// `--network` values; the first is the network mode.
    pub networks: Vec<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip: String,
    /// `--ip6`.
    pub ip6: String,
    /// `--mac-address`.
    pub mac: String,
    /// `-p`.
    pub publish: Vec<String>,
    /// `--expose`.
    pub expose: Vec<String>,
    /// `-l`.
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout`.
    pub stop_timeout: Option<i64>,
    /// How it runs: the options that go to `HostConfig` as they are
    /// (`NetworkMode` and `PortBindings` are worked out from `networks`
    /// and `publish`).
    pub host: HostConfig,
}

/// A fresh container record from `opts` and the image (`image_id` is
/// `sha256:…`), with its id, name, creation time, log path and layers
/// given.
pub struct Identity<'a> {
    /// 64-hex id.
    pub id: &'a str,
    /// Name (generated when the options have none).
    pub name: &'a str,
    /// Creation time.
    pub created: &'a str,
    /// json-file log path.
    pub log_path: &'a str,
    /// The image's layer directories, top first.
    pub lower_dirs: Vec<String>,
}

impl std::fmt::Debug for Identity<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Merges options and image into a container record.
pub fn plan(
    opts: &CreateOptions,
    image_id: &str,
    image: &ImageConfig,
    who: Identity<'_>,
) -> Result<Container> {
    let ic = image.config.clone().unwrap_or_default();
    let entrypoint: Vec<String> = match &opts.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => ic.entrypoint.clone().unwrap_or_default(),
    };
    // Docker: a new entrypoint drops the image's command.
    let cmd: Vec<String> = if !opts.cmd.is_empty() {
        opts.cmd.clone()
    } else if opts.entrypoint.is_some() {
        Vec::new()
    } else {
        ic.cmd.clone().unwrap_or_default()
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(ContainerError::NoCommand);
    }
    let mut env = ic.env.clone().unwrap_or_default();
    for e in &opts.env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        env.retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != key);
        env.push(e.clone());
    }
    let (exposed_from_p, mappings) =
        parse_port_specs(&opts.publish).map_err(ContainerError::Ports)?;
    let mut exposed = ic.exposed_ports.clone().map_or_else(BTreeMap::new, |m| {
        m.keys()
            .map(|k| (k.clone(), Value::Object(Default::default())))
            .collect()
    });
    let mut extra = netd_api::portspec::ExposedPorts::default();
    for e in &opts.expose {
        extra.add_expose(e).map_err(ContainerError::Ports)?;
    }
    for p in exposed_from_p.0.iter().chain(extra.0.iter()) {
        exposed.insert(p.to_string(), Value::Object(Default::default()));
    }
    let mut labels = ic.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let mode = opts
        .networks
        .first()
        .cloned()
        .unwrap_or_else(|| "default".into());
    let requests = network_requests(opts, &mode)?;
    let argv: Vec<String> = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    Ok(Container {
        id: who.id.to_owned(),
        created: who.created.to_owned(),
        path: argv.first().cloned().unwrap_or_default(),
        args: argv.iter().skip(1).cloned().collect(),
        state: State {
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            ..Default::default()
        },
        image: image_id.to_owned(),
        resolv_conf_path: String::new(),
        hostname_path: String::new(),
        hosts_path: String::new(),
        log_path: who.log_path.to_owned(),
        name: format!("/{}", who.name),
        restart_count: 0,
        driver: "overlay2".into(),
        platform: "linux".into(),
        host_config: HostConfig {
            network_mode: mode,
            port_bindings: to_port_bindings(&mappings),
            ..opts.host.clone()
        },
        config: Config {
            hostname: if opts.hostname.is_empty() {
                who.id[..12.min(who.id.len())].to_owned()
            } else {
                opts.hostname.clone()
            },
            domainname: String::new(),
            user: if opts.user.is_empty() {
                ic.user.clone()
            } else {
                opts.user.clone()
            },
            attach_stdin: opts.interactive && opts.attach,
            attach_stdout: opts.attach,
            attach_stderr: opts.attach,
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            tty: opts.tty,
            open_stdin: opts.interactive,
            stdin_once: opts.interactive && opts.attach,
            env,
            cmd,
            image: opts.image.clone(),
            working_dir: if opts.workdir.is_empty() {
                ic.working_dir.clone()
            } else {
                opts.workdir.clone()
            },
            entrypoint,
            labels,
            stop_signal: opts
                .stop_signal
                .clone()
                .or_else(|| (!ic.stop_signal.is_empty()).then(|| ic.stop_signal.clone())),
            stop_timeout: opts.stop_timeout.or(ic.stop_timeout),
        },
        network_requests: requests,
        network_settings: Default::default(),
        lower_dirs: who.lower_dirs,
    })
}

/// The networks to connect: each `--network` (Docker allows several
/// since API 1.44), the first with `--network-alias`, `--ip`, `--ip6` and
/// `--mac-address`; none for `host`, `none` and `container:` modes.
fn network_requests(opts: &CreateOptions, mode: &str) -> Result<Vec<NetworkRequest>> {
    let special = mode == "host" || mode == "none" || mode.starts_with("container:");
    if special {
        if opts.networks.len() > 1 {
            return Err(ContainerError::ConflictingNetworkModes);
        }
        if !opts.publish.is_empty() && mode != "none" {
            // Docker ignores -p with host networking (with a warning) and
            // refuses it with container: mode.
            if mode.starts_with("container:") {
                return Err(ContainerError::PublishWithContainerNetwork);
            }
        }
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, n) in opts.networks.iter().enumerate() {
        let first = i == 0;
        out.push(NetworkRequest {
            name: super::network::mode_network(n).to_owned(),
            aliases: if first {
                opts.aliases.clone()
            } else {
                Vec::new()
            },
            ipv4_address: if first {
                opts.ip.clone()
            } else {
                String::new()
            },
            ipv6_address: if first {
                opts.ip6.clone()
            } else {
                String::new()
            },
            mac_address: if first {
                opts.mac.clone()
            } else {
                String::new()
            },
        });
    }
    if out.is_empty() {
        out.push(NetworkRequest {
            name: "bridge".into(),
            aliases: opts.aliases.clone(),
            ipv4_address: opts.ip.clone(),
            ipv6_address: opts.ip6.clone(),
            mac_address: opts.mac.clone(),
        });
    }
    Ok(out)
}

/// A Docker-style random name: `adjective_surname`.
pub fn random_name(seed: &[u8]) -> String {
    const LEFT: [&str; 16] = [
        "agile", "bold", "calm", "deft", "eager", "fond", "keen", "lucid", "merry", "nimble",
        "proud", "quiet", "sharp", "tidy", "vivid", "witty",
    ];
    const RIGHT: [&str; 16] = [
        "babbage", "curie", "dijkstra", "euler", "fermi", "gauss", "hopper", "kepler", "lovelace",
        "noether", "pascal", "ritchie", "shannon", "turing", "volta", "wozniak",
    ];
    let a = seed.first().copied().unwrap_or(0) as usize % LEFT.len();
    let b = seed.get(1).copied().unwrap_or(0) as usize % RIGHT.len();
    format!("{}_{}", LEFT[a], RIGHT[b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::config::ContainerConfig;

    fn image(cmd: &[&str], entry: &[&str]) -> ImageConfig {
        ImageConfig {
            config: Some(ContainerConfig {
                cmd: (!cmd.is_empty()).then(|| cmd.iter().map(|s| (*s).to_owned()).collect()),
                entrypoint: (!entry.is_empty())
                    .then(|| entry.iter().map(|s| (*s).to_owned()).collect()),
                env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
                working_dir: "/srv".into(),
                user: "1000".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn who(id: &str) -> Identity<'_> {
        Identity {
            id,
            name: "web",
            created: "2026-11-28T00:00:00Z",
            log_path: "/log",
            lower_dirs: vec!["/l".into()],
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn options_override_the_image_as_docker_merges_them() {
        let opts = CreateOptions {
            cmd: vec!["echo".into(), "hi".into()],
            env: vec!["A=2".into(), "B=3".into()],
            publish: vec!["8080:80".into()],
            expose: vec!["9000".into()],
            ..Default::default()
        };
        let c = plan(&opts, "sha256:x", &image(&["sh"], &[]), who(ID)).unwrap();
        assert_eq!(c.argv(), vec!["echo", "hi"]);
        assert_eq!(c.path, "echo");
        assert_eq!(c.config.env, vec!["PATH=/bin", "A=2", "B=3"]);
        assert_eq!(c.config.working_dir, "/srv");
        assert_eq!(c.config.user, "1000");
        assert_eq!(c.config.hostname, "0123456789ab");
        assert_eq!(c.name, "/web");
        let exposed: Vec<&String> = c.config.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(exposed, vec!["80/tcp", "9000/tcp"]);
        assert_eq!(c.host_config.port_bindings["80/tcp"][0].host_port, "8080");
        assert_eq!(c.network_requests[0].name, "bridge");
        assert_eq!(c.host_config.network_mode, "default");
    }

    #[test]
    fn entrypoint_flag_replaces_the_images_and_drops_its_command() {
        let opts = CreateOptions {
            entrypoint: Some("/bin/true".into()),
            ..Default::default()
        };
        let c = plan(&opts, "sha256:x", &image(&["sh"], &["/init"]), who(ID)).unwrap();
        assert_eq!(c.argv(), vec!["/bin/true"]);
        let none = plan(
            &CreateOptions::default(),
            "sha256:x",
            &image(&[], &[]),
            who(ID),
        );
        assert!(
            none.unwrap_err()
                .to_string()
                .contains("no command specified")
        );
    }

    #[test]
    fn special_network_modes_connect_nothing_and_refuse_mixing() {
        let host = CreateOptions {
            networks: vec!["host".into()],
            cmd: vec!["x".into()],
            ..Default::default()
        };
        let c = plan(&host, "sha256:x", &image(&[], &[]), who(ID)).unwrap();
        assert!(c.network_requests.is_empty());
        let mixed = CreateOptions {
            networks: vec!["none".into(), "web".into()],
            cmd: vec!["x".into()],
            ..Default::default()
        };
        assert!(plan(&mixed, "sha256:x", &image(&[], &[]), who(ID)).is_err());
        let two = CreateOptions {
            networks: vec!["a1".into(), "b2".into()],
            aliases: vec!["db".into()],
            cmd: vec!["x".into()],
            ..Default::default()
        };
        let c = plan(&two, "sha256:x", &image(&[], &[]), who(ID)).unwrap();
        assert_eq!(c.network_requests.len(), 2);
        assert_eq!(c.network_requests[0].aliases, vec!["db"]);
        assert!(c.network_requests[1].aliases.is_empty());
    }
}
