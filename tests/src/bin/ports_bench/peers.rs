//! The peers netd's published ports are measured against, set up inside the
//! throwaway host exactly as their engines set them up for one published
//! port:
//!
//! - Docker 20.10's userland proxy, `docker-proxy`, started with dockerd's
//!   flags and readiness pipe (fd 3: `0\n` when listening, `1\n<error>`
//!   otherwise);
//! - netavark (Podman's network tool, iptables DNAT), given a container
//!   namespace and a port mapping through its `setup` command, with the
//!   network options JSON Podman sends on stdin (DNS off: no aardvark-dns).
//!
//! Both are killed or torn down by the benchmark; the throwaway host takes
//! whatever is left (netavark's iptables tables live in its network
//! namespace only).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Where Debian's docker.io package installs Docker's userland proxy.
pub(crate) const DOCKER_PROXY: &str = "/usr/sbin/docker-proxy";
/// Where Debian's netavark package installs netavark.
pub(crate) const NETAVARK: &str = "/usr/lib/podman/netavark";

/// The version of an installed Debian package, upstream part only
/// (`20.10.24` for `20.10.24+dfsg1-1+deb12u1+b6`), if dpkg knows it.
pub(crate) fn package_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    let upstream = v.split(['+', '-', '~']).next()?.trim();
    (out.status.success() && !upstream.is_empty()).then(|| upstream.to_owned())
}

/// A running `docker-proxy`, killed (by its PID) when dropped.
#[derive(Debug)]
pub(crate) struct DockerProxy {
    child: Child,
}

impl DockerProxy {
    /// Starts the proxy for `0.0.0.0:host_port/tcp` to
    /// `container_ip:container_port`, as dockerd does for `-p
    /// host_port:container_port`, and waits until it says it listens.
    pub(crate) fn start(
        container_ip: &str,
        container_port: u16,
        host_port: u16,
    ) -> anyhow::Result<Self> {
        let (hp, cp) = (host_port.to_string(), container_port.to_string());
        // dockerd hands the proxy a pipe as fd 3 and reads its verdict
        // there; the shell gives it ours (then execs, so the child's PID is
        // the proxy's own).
        let mut child = Command::new("/bin/sh")
            .args([
                "-c",
                r#"exec "$0" "$@" 3>&1 >/dev/null"#,
                DOCKER_PROXY,
                "-proto",
                "tcp",
                "-host-ip",
                "0.0.0.0",
                "-host-port",
                &hp,
                "-container-ip",
                container_ip,
                "-container-port",
                &cp,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {DOCKER_PROXY}"))?;
        let mut verdict = String::new();
        let read = child
            .stdout
            .take()
            .context("the proxy's signal pipe")?
            .read_to_string(&mut verdict);
        let proxy = Self { child };
        read.context("reading docker-proxy's signal pipe")?;
        anyhow::ensure!(
            verdict == "0\n",
            "docker-proxy did not start: {:?}",
            verdict.trim()
        );
        Ok(proxy)
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A container namespace that netavark wired to a bridge network with one
/// published TCP port; torn down by [`Netavark::teardown`] (or when
/// dropped).
#[derive(Debug)]
pub(crate) struct Netavark {
    /// The container's namespace (`/run/netns/...`).
    pub(crate) netns: String,
    /// The container's address.
    pub(crate) ip: &'static str,
    config: String,
    options: String,
    up: bool,
}

impl Netavark {
    /// Network name, bridge, subnet, gateway and address, in a subnet netd
    /// does not use (netd's default pools are in 172.16.0.0/12).
    const NETWORK: &'static str = "bench";
    const BRIDGE: &'static str = "podman9";
    pub(crate) const SUBNET: &'static str = "10.88.0.0/24";
    const GATEWAY: &'static str = "10.88.0.1";
    const IP: &'static str = "10.88.0.2";

    /// The network options JSON netavark 1.4's `setup` and `teardown` read
    /// on stdin, as Podman 4.3 sends it for `podman run -p
    /// host_port:container_port` on a bridge network without DNS.
    pub(crate) fn options(container_port: u16, host_port: u16) -> serde_json::Value {
        serde_json::json!({
            "container_id": "b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2",
            "container_name": "iperf-netavark",
            "port_mappings": [{
                "host_ip": "",
                "container_port": container_port,
                "host_port": host_port,
                "range": 1,
                "protocol": "tcp"
            }],
            "networks": {
                Self::NETWORK: {
                    "static_ips": [Self::IP],
                    "interface_name": "eth0"
                }
            },
            "network_info": {
                Self::NETWORK: {
                    "name": Self::NETWORK,
                    "id": "6e6574617661726b62656e636800000000000000000000000000000000000001",
                    "driver": "bridge",
                    "network_interface": Self::BRIDGE,
                    "subnets": [{"subnet": Self::SUBNET, "gateway": Self::GATEWAY}],
                    "ipv6_enabled": false,
                    "internal": false,
                    "dns_enabled": false,
                    "ipam_options": {"driver": "host-local"}
                }
            }
        })
    }

    /// Creates the container namespace `name` and has netavark set it up
    /// with `0.0.0.0:host_port` published to its `container_port`.
    pub(crate) fn setup(name: &str, container_port: u16, host_port: u16) -> anyhow::Result<Self> {
        let out = Command::new("ip").args(["netns", "add", name]).output()?;
        anyhow::ensure!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let config = format!("/run/testhost/state/netavark-{name}");
        std::fs::create_dir_all(&config)?;
        let mut nv = Self {
            netns: format!("/run/netns/{name}"),
            ip: Self::IP,
            config,
            options: Self::options(container_port, host_port).to_string(),
            up: false,
        };
        nv.run("setup")?;
        nv.up = true;
        Ok(nv)
    }

    /// `netavark teardown`: removes the container's interface and its
    /// port-forwarding rules.
    pub(crate) fn teardown(mut self) -> anyhow::Result<()> {
        self.up = false;
        self.run("teardown")
    }

    fn run(&self, verb: &str) -> anyhow::Result<()> {
        let mut child = Command::new(NETAVARK)
            // Podman's choice on a host without firewalld (there is no
            // D-Bus in the throwaway host anyway).
            .env("NETAVARK_FW", "iptables")
            .args(["--config", &self.config, verb, &self.netns])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {NETAVARK}"))?;
        child
            .stdin
            .take()
            .context("netavark's stdin")?
            .write_all(self.options.as_bytes())?;
        let out = child.wait_with_output()?;
        anyhow::ensure!(
            out.status.success(),
            "netavark {verb} ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }
}

impl Drop for Netavark {
    fn drop(&mut self) {
        if self.up {
            let _ = self.run("teardown");
        }
    }
}
