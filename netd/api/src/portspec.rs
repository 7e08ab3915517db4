//! Docker's port publishing syntax, parsed once for netd's API and for the
//! berth CLI (`-p`/`--publish`, `-P`/`--publish-all`, `--expose`). Pure logic.
//!
//! Behaviour and error texts follow Docker 28: `docker/go-connections` v0.5.0
//! `nat` (`ParsePortSpec`, `ParsePortSpecs`, `SplitProtoPort`,
//! `ParsePortRange`, `splitParts`) and `docker/cli`'s
//! `cli/command/container/opts.go` (`convertToStandardNotation`, the
//! `--expose` loop in `parse`). Where netd deliberately differs, the item says.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::InvalidProtocol;
pub use crate::protocol::Protocol;

/// A refused spec; its text is Docker's message for the same input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortSpecError(pub String);

impl From<InvalidProtocol> for PortSpecError {
    fn from(e: InvalidProtocol) -> Self {
        Self(e.to_string())
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, PortSpecError> {
    Err(PortSpecError(message.into()))
}

/// Go's `strconv.ParseUint(s, 10, 16)`: ASCII digits only (no sign, no
/// spaces), leading zeros allowed, with Go's error texts.
fn parse_u16(s: &str) -> Result<u16, String> {
    let syntax = || format!("strconv.ParseUint: parsing {s:?}: invalid syntax");
    if s.is_empty() {
        return Err(syntax());
    }
    let mut n: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(syntax());
        }
        n = n * 10 + u32::from(b - b'0');
        if n > u32::from(u16::MAX) {
            return Err(format!(
                "strconv.ParseUint: parsing {s:?}: value out of range"
            ));
        }
    }
    u16::try_from(n).map_err(|_| syntax())
}

/// An inclusive range of ports; `start == end` for a single port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// The range holding only `port`.
    pub const fn single(port: u16) -> Self {
        Self {
            start: port,
            end: port,
        }
    }

    /// Whether the range holds one port.
    pub const fn is_single(&self) -> bool {
        self.start == self.end
    }

    /// Whether `port` is in the range.
    pub const fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }
}

/// Mirrors `nat.ParsePortRange`: `80` or `8000-8010`; port 0 is accepted (as
/// in Docker 28), a reversed range is not. Like Docker it reads only the first
/// two `-`-separated fields, so `1-2-3` is `1-2`.
impl FromStr for PortRange {
    type Err = PortSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return err("empty string specified for ports");
        }
        let mut parts = s.split('-');
        let start = parse_u16(parts.next().unwrap_or_default()).map_err(PortSpecError)?;
        let Some(end) = parts.next() else {
            return Ok(Self::single(start));
        };
        let end = parse_u16(end).map_err(PortSpecError)?;
        if end < start {
            return err(format!("invalid range specified for port: {s}"));
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// A container port and protocol, Docker's `nat.Port` key (`80/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContainerPort {
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: Protocol,
}

/// Parses a `PortBindings`/`ExposedPorts` key: `80/tcp`, or `80` for TCP.
/// Errors use `ParsePortSpec`'s texts for the same faults.
impl FromStr for ContainerPort {
    type Err = PortSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (proto, port) = split_proto_port(s);
        if port.is_empty() {
            return err(format!("no port specified: {s}<empty>"));
        }
        let port = parse_u16(port).or_else(|_| err(format!("invalid containerPort: {port}")))?;
        Ok(Self {
            port,
            protocol: proto.parse()?,
        })
    }
}

impl fmt::Display for ContainerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// Mirrors `nat.SplitProtoPort` (v0.5.0): `(proto, port)`, `tcp` by default,
/// both empty when no port is given; fields after a second `/` are ignored.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or_default();
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        Some(proto) if !proto.is_empty() => (proto, port),
        _ => ("tcp", port),
    }
}

/// Mirrors `splitParts`: `(ip, hostPort, containerPort)`. With more than two
/// colons everything before the last two is the IP, so `::1:80:80` is
/// `::1`, 80, 80 (as in go-connections' own tests).
fn split_parts(raw: &str) -> (&str, &str, &str) {
    let mut parts = raw.rsplitn(3, ':');
    let container = parts.next().unwrap_or_default();
    let host = parts.next().unwrap_or_default();
    (parts.next().unwrap_or_default(), host, container)
}

/// Strips `[...]` as `net.SplitHostPort(ip + ":")` does in `ParsePortSpec`,
/// reproducing Go's error texts.
fn strip_brackets(ip: &str) -> Result<&str, PortSpecError> {
    let hostport = format!("{ip}:");
    let fail = |why: &str| {
        err(format!(
            "invalid IP address {ip}: address {hostport}: {why}"
        ))
    };
    let Some(end) = hostport.find(']') else {
        return fail("missing ']' in address");
    };
    if end + 1 != ip.len() {
        return match hostport.as_bytes().get(end + 1) {
            Some(b':') => fail("too many colons in address"),
            _ => fail("missing port in address"),
        };
    }
    if hostport[1..].contains('[') {
        return fail("unexpected '[' in address");
    }
    Ok(&ip[1..end])
}

/// One parsed `-p` item, before expansion into [`PortMapping`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// Host address to bind; `None` for all addresses.
    pub host_ip: Option<IpAddr>,
    /// Host ports; `None` picks a random port. For a container range this has
    /// the same length (1:1); for a single container port a wider range means
    /// "the first free port in it".
    pub host_ports: Option<PortRange>,
    /// Container ports.
    pub container_ports: PortRange,
    /// Protocol.
    pub protocol: Protocol,
}

impl PortSpec {
    /// Parses the short syntax `[ip:][hostPort:]containerPort[/proto]`,
    /// mirroring `nat.ParsePortSpec` (v0.5.0) step by step and in its order:
    /// IP, empty container port, container port, host port, range lengths,
    /// protocol.
    pub fn parse(raw: &str) -> Result<Self, PortSpecError> {
        let (mut ip, host, container) = split_parts(raw);
        let (proto, container) = split_proto_port(container);
        if ip.starts_with('[') {
            ip = strip_brackets(ip)?;
        }
        let host_ip = match ip {
            "" => None,
            _ => Some(
                ip.parse()
                    .or_else(|_| err(format!("invalid IP address: {ip}")))?,
            ),
        };
        if container.is_empty() {
            return err(format!("no port specified: {raw}<empty>"));
        }
        let container_ports: PortRange = container
            .parse()
            .or_else(|_| err(format!("invalid containerPort: {container}")))?;
        let host_ports = match host {
            "" => None,
            _ => Some(
                host.parse::<PortRange>()
                    .or_else(|_| err(format!("invalid hostPort: {host}")))?,
            ),
        };
        if let Some(h) = host_ports
            && h.end - h.start != container_ports.end - container_ports.start
            && !container_ports.is_single()
        {
            return err(format!(
                "invalid ranges specified for container and host Ports: {container} and {host}"
            ));
        }
        Ok(Self {
            host_ip,
            host_ports,
            container_ports,
            protocol: proto.parse()?,
        })
    }

    /// Parses one `--publish` value: the short syntax, or `docker run`'s long
    /// syntax `target=80,published=8080,protocol=udp`, which Docker rewrites
    /// to `published:target/protocol` (`convertToStandardNotation`) before
    /// parsing, so errors quote the rewritten text. Unknown keys (`mode`, …)
    /// are ignored as `docker run` ignores them. Deliberate difference:
    /// `host_ip=` is honoured (Docker 28's `docker run` silently drops it and
    /// binds every address).
    pub fn parse_publish(spec: &str) -> Result<Self, PortSpecError> {
        if !spec.contains('=') {
            return Self::parse(spec);
        }
        let (mut published, mut target, mut protocol, mut host_ip) = ("", "", "tcp", "");
        for param in spec.split(',') {
            let Some((key, value)) = param.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return err(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                ));
            };
            match key {
                "published" => published = value,
                "target" => target = value,
                "protocol" => protocol = value,
                "host_ip" => host_ip = value,
                _ => {}
            }
        }
        let ip = match host_ip {
            "" => String::new(),
            v6 if v6.contains(':') && !v6.starts_with('[') => format!("[{v6}]:"),
            ip => format!("{ip}:"),
        };
        Self::parse(&format!("{ip}{published}:{target}/{protocol}"))
    }

    /// Expands to one mapping per container port, as `ParsePortSpec` does.
    pub fn mappings(&self) -> Vec<PortMapping> {
        let c = self.container_ports;
        (c.start..=c.end)
            .map(|port| PortMapping {
                host_ip: self.host_ip,
                host_ports: self.host_ports.map(|h| {
                    if c.is_single() {
                        h
                    } else {
                        PortRange::single(h.start.saturating_add(port - c.start))
                    }
                }),
                container_port: port,
                protocol: self.protocol,
            })
            .collect()
    }
}

/// Mirrors `nat.ParsePortSpec`: the mappings of one short-syntax spec.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, PortSpecError> {
    Ok(PortSpec::parse(raw)?.mappings())
}

/// Mirrors `docker run`'s handling of every `-p`/`--publish` value
/// (`convertToStandardNotation` then `nat.ParsePortSpecs`): the container
/// ports they expose and their mappings, in order. Stops at the first error.
pub fn parse_port_specs<S: AsRef<str>>(
    specs: &[S],
) -> Result<(ExposedPorts, Vec<PortMapping>), PortSpecError> {
    let mut exposed = ExposedPorts::default();
    let mut mappings = Vec::new();
    for spec in specs {
        let parsed = PortSpec::parse_publish(spec.as_ref())?.mappings();
        exposed.0.extend(parsed.iter().map(PortMapping::key));
        mappings.extend(parsed);
    }
    Ok((exposed, mappings))
}

/// One container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Host address; `None` for all addresses (`HostIp: ""`).
    pub host_ip: Option<IpAddr>,
    /// `None`: a random port. A single port: exactly that port. A wider
    /// range: the first free port in it.
    pub host_ports: Option<PortRange>,
    /// Container port.
    pub container_port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

impl PortMapping {
    /// The `PortBindings` key, `80/tcp`.
    pub fn key(&self) -> ContainerPort {
        ContainerPort {
            port: self.container_port,
            protocol: self.protocol,
        }
    }

    /// The `PortBinding` that `docker run -p` sends for this mapping.
    pub fn binding(&self) -> PortBinding {
        PortBinding {
            host_ip: self.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            host_port: self.host_ports.map(|h| h.to_string()).unwrap_or_default(),
        }
    }
}

/// `docker port` style, `80/tcp -> 0.0.0.0:8080` or `80/tcp -> [::]:8080`:
/// Go's `net.JoinHostPort(HostIp, HostPort)`, so an unset address or port
/// prints empty (`80/tcp -> :8080`, `80/tcp -> 0.0.0.0:`).
impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.binding();
        if b.host_ip.contains(':') {
            write!(f, "{} -> [{}]:{}", self.key(), b.host_ip, b.host_port)
        } else {
            write!(f, "{} -> {}:{}", self.key(), b.host_ip, b.host_port)
        }
    }
}

/// One entry of Docker's `HostConfig.PortBindings` (`nat.PortBinding`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortBinding {
    /// Host address, `""` for all.
    #[serde(rename = "HostIp")]
    pub host_ip: String,
    /// `"8080"`, `"8000-8010"`, or `""` for a random port.
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// Docker's `HostConfig.PortBindings`: `"80/tcp"` to its bindings.
pub type PortBindings = BTreeMap<String, Vec<PortBinding>>;

/// Mappings to `PortBindings`, as `nat.ParsePortSpecs` builds them for
/// `docker run -p`: bindings of one key keep their order.
pub fn to_port_bindings(mappings: &[PortMapping]) -> PortBindings {
    let mut out = PortBindings::new();
    for m in mappings {
        out.entry(m.key().to_string())
            .or_default()
            .push(m.binding());
    }
    out
}

/// `PortBindings` to mappings, sorted by container port then protocol (stable
/// within a key). Keys must be single ports (`80/tcp`); a key with no
/// bindings publishes nothing. Errors use `ParsePortSpec`'s texts (Docker's
/// daemon says `invalid port specification: "…"` and ignores a bad `HostIp`).
pub fn from_port_bindings(bindings: &PortBindings) -> Result<Vec<PortMapping>, PortSpecError> {
    let mut out = Vec::new();
    for (key, list) in bindings {
        let cp: ContainerPort = key.parse()?;
        for b in list {
            let host_ip = match b.host_ip.as_str() {
                "" => None,
                ip => Some(
                    ip.parse()
                        .or_else(|_| err(format!("invalid IP address: {ip}")))?,
                ),
            };
            let host_ports = match b.host_port.as_str() {
                "" => None,
                hp => Some(
                    hp.parse()
                        .or_else(|_| err(format!("invalid hostPort: {hp}")))?,
                ),
            };
            out.push(PortMapping {
                host_ip,
                host_ports,
                container_port: cp.port,
                protocol: cp.protocol,
            });
        }
    }
    out.sort_by_key(PortMapping::key);
    Ok(out)
}

/// The `{}` value of Docker's `ExposedPorts` map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyObject {}

/// Docker's `Config.ExposedPorts`, JSON `{"80/tcp": {}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, EmptyObject>",
    into = "BTreeMap<String, EmptyObject>"
)]
pub struct ExposedPorts(pub BTreeSet<ContainerPort>);

impl TryFrom<BTreeMap<String, EmptyObject>> for ExposedPorts {
    type Error = PortSpecError;
    fn try_from(map: BTreeMap<String, EmptyObject>) -> Result<Self, Self::Error> {
        map.keys()
            .map(|k| k.parse())
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl From<ExposedPorts> for BTreeMap<String, EmptyObject> {
    fn from(ports: ExposedPorts) -> Self {
        ports
            .0
            .iter()
            .map(|p| (p.to_string(), EmptyObject {}))
            .collect()
    }
}

impl ExposedPorts {
    /// Adds one `--expose` value (`80`, `80/udp`, `8000-8010/tcp`), mirroring
    /// the loop in docker/cli's `parse`. Deliberate difference: Docker's CLI
    /// passes the protocol on unchecked; netd lowercases and checks it
    /// (`invalid proto: …`).
    pub fn add_expose(&mut self, spec: &str) -> Result<(), PortSpecError> {
        if spec.contains(':') {
            return err(format!("invalid port format for --expose: {spec}"));
        }
        let (proto, port) = split_proto_port(spec);
        let range: PortRange = port.parse().map_err(|e: PortSpecError| {
            PortSpecError(format!(
                "invalid range format for --expose: {spec}, error: {e}"
            ))
        })?;
        let protocol: Protocol = proto.parse()?;
        self.0
            .extend((range.start..=range.end).map(|port| ContainerPort { port, protocol }));
        Ok(())
    }

    /// Parses every `--expose` value.
    pub fn parse_expose<S: AsRef<str>>(specs: &[S]) -> Result<Self, PortSpecError> {
        let mut out = Self::default();
        for s in specs {
            out.add_expose(s.as_ref())?;
        }
        Ok(out)
    }

    /// `-P`: `published` plus a random-host-port mapping on all addresses for
    /// each exposed port that has no mapping, as Docker's daemon does for
    /// `PublishAllPorts` (a port with bindings keeps only those).
    pub fn publish_all(&self, published: &[PortMapping]) -> Vec<PortMapping> {
        let bound: BTreeSet<ContainerPort> = published.iter().map(PortMapping::key).collect();
        let extra = self
            .0
            .iter()
            .filter(|p| !bound.contains(p))
            .map(|p| PortMapping {
                host_ip: None,
                host_ports: None,
                container_port: p.port,
                protocol: p.protocol,
            });
        published.iter().cloned().chain(extra).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mappings of a spec in `docker port` style, joined by `, `; an
    /// unset address or host port shows as empty, so the text is exact.
    fn show(result: Result<Vec<PortMapping>, PortSpecError>) -> String {
        let m = result.unwrap();
        m.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn accepted_short_forms() {
        for (spec, want) in [
            ("127.0.0.1:8080:80", "80/tcp -> 127.0.0.1:8080"),
            ("0.0.0.0:8080:80", "80/tcp -> 0.0.0.0:8080"),
            ("192.168.1.100::80", "80/tcp -> 192.168.1.100:"),
            ("8080:80", "80/tcp -> :8080"),
            ("80", "80/tcp -> :"),
            ("0080/", "80/tcp -> :"),
            ("53:53/udp", "53/udp -> :53"),
            ("9000/sctp", "9000/sctp -> :"),
            ("80/UDP", "80/udp -> :"),
            ("80/Sctp", "80/sctp -> :"),
            ("80/udp/x", "80/udp -> :"), // v0.5.0 SplitProtoPort ignores a 3rd field
            (
                "0.0.0.0:1234-1235:3333-3334/tcp",
                "3333/tcp -> 0.0.0.0:1234, 3334/tcp -> 0.0.0.0:1235",
            ),
            ("8000-8010:80", "80/tcp -> :8000-8010"),
            ("8000-8010:80-80/udp", "80/udp -> :8000-8010"),
            (
                "1234-1236/udp",
                "1234/udp -> :, 1235/udp -> :, 1236/udp -> :",
            ),
            ("[::1]:80:80", "80/tcp -> [::1]:80"),
            ("[::]:8080:80", "80/tcp -> [::]:8080"),
            (
                "[2001:4860:0:2001::68]::333",
                "333/tcp -> [2001:4860:0:2001::68]:",
            ),
            ("::1:80:80", "80/tcp -> [::1]:80"), // all but the last two fields are the IP
            ("::::80", "80/tcp -> [::]:"),
            ("[1.2.3.4]:80:80", "80/tcp -> 1.2.3.4:80"),
            ("0", "0/tcp -> :"), // port 0 passes Docker 28's parser
            ("0:80", "80/tcp -> :0"),
            ("65535:65535", "65535/tcp -> :65535"),
        ] {
            assert_eq!(show(parse_port_spec(spec)), want, "{spec}");
        }
    }

    #[test]
    fn refused_short_forms() {
        for (spec, want) in [
            ("", "no port specified: <empty>"),
            ("8080:", "no port specified: 8080:<empty>"),
            ("/udp", "no port specified: /udp<empty>"),
            ("bad::", "invalid IP address: bad"), // the IP is checked first
            ("x", "invalid containerPort: x"),
            ("-1", "invalid containerPort: -1"),
            ("+80", "invalid containerPort: +80"),
            (" 80", "invalid containerPort:  80"),
            ("65536", "invalid containerPort: 65536"),
            ("192.168.1.100:-1:-1", "invalid containerPort: -1"),
            ("192.168.1.100", "invalid containerPort: 192.168.1.100"),
            ("80:80-d", "invalid containerPort: 80-d"),
            ("x/foo", "invalid containerPort: x"),
            ("81-80", "invalid containerPort: 81-80"),
            ("x:80", "invalid hostPort: x"),
            ("65536:80", "invalid hostPort: 65536"),
            ("8010-8000:80", "invalid hostPort: 8010-8000"),
            (
                "8000-8010:80-81",
                "invalid ranges specified for container and host Ports: 80-81 and 8000-8010",
            ),
            (
                "8080:80-81",
                "invalid ranges specified for container and host Ports: 80-81 and 8080",
            ),
            ("80/foo", "invalid proto: foo"),
            ("8080:80/FOO", "invalid proto: FOO"),
            ("localhost:8080:80", "invalid IP address: localhost"),
            ("1.2.3.256::80", "invalid IP address: 1.2.3.256"),
            ("01.2.3.4::80", "invalid IP address: 01.2.3.4"),
            ("fe80::1%eth0::80", "invalid IP address: fe80::1%eth0"),
            ("::1:80", "invalid IP address: :"), // bare IPv6: ip ":", host 1
            ("fe80::1:80", "invalid IP address: fe80:"),
            (
                "[::1:80:80",
                "invalid IP address [::1: address [::1:: missing ']' in address",
            ),
            (
                "[::1]:5:80:80",
                "invalid IP address [::1]:5: address [::1]:5:: too many colons in address",
            ),
            (
                "[::1]x:80:80",
                "invalid IP address [::1]x: address [::1]x:: missing port in address",
            ),
        ] {
            assert_eq!(PortSpec::parse(spec).unwrap_err().0, want, "{spec}");
        }
    }

    #[test]
    fn spec_fields() {
        let spec = PortSpec::parse("127.0.0.1:8000-8010:80/udp").unwrap();
        assert_eq!(spec.host_ip, Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(spec.host_ports, "8000-8010".parse().ok());
        assert_eq!(
            (spec.container_ports, spec.protocol),
            (PortRange::single(80), Protocol::Udp)
        );
        assert_eq!(spec.mappings()[0].binding().host_port, "8000-8010");
    }

    #[test]
    fn long_publish_syntax() {
        let p = |s: &str| PortSpec::parse_publish(s).map(|s| s.mappings());
        for (spec, want) in [
            (
                "target=80,published=8080,protocol=udp,mode=host",
                "80/udp -> :8080",
            ),
            ("target=80", "80/tcp -> :"),
            (
                "published=8080,target=80,host_ip=127.0.0.1",
                "80/tcp -> 127.0.0.1:8080",
            ),
            ("target=80,host_ip=::1", "80/tcp -> [::1]:"),
            ("8080:80", "80/tcp -> :8080"),
        ] {
            assert_eq!(show(p(spec)), want, "{spec}");
        }
        for (spec, want) in [
            (
                "target=80,bogus",
                "invalid publish opts format (should be name=value but got 'bogus')",
            ),
            (
                "=80",
                "invalid publish opts format (should be name=value but got '=80')",
            ),
            ("published=8080", "no port specified: 8080:/tcp<empty>"),
            ("target=x", "invalid containerPort: x"),
        ] {
            assert_eq!(p(spec).unwrap_err().0, want, "{spec}");
        }
    }

    #[test]
    fn many_specs_expose_their_ports() {
        let (exposed, m) = parse_port_specs(&["8080:80", "53/udp", "1.2.3.4:443:443"]).unwrap();
        assert_eq!(
            serde_json::to_string(&exposed).unwrap(),
            r#"{"443/tcp":{},"53/udp":{},"80/tcp":{}}"#
        );
        assert_eq!(m.len(), 3);
        assert_eq!(
            parse_port_specs(&["80", "x"]).unwrap_err().0,
            "invalid containerPort: x"
        );
    }

    #[test]
    fn expose_forms_and_errors() {
        let e = ExposedPorts::parse_expose(&["80", "80/udp", "8000-8002/tcp", "53/UDP"]).unwrap();
        let keys: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "53/udp", "80/tcp", "80/udp", "8000/tcp", "8001/tcp", "8002/tcp"
            ]
        );
        let pre = "invalid range format for --expose:";
        for (spec, want) in [
            (
                "80:80",
                "invalid port format for --expose: 80:80".to_owned(),
            ),
            (
                "x",
                format!(r#"{pre} x, error: strconv.ParseUint: parsing "x": invalid syntax"#),
            ),
            (
                "70000",
                format!(
                    r#"{pre} 70000, error: strconv.ParseUint: parsing "70000": value out of range"#
                ),
            ),
            (
                "90-80/udp",
                format!("{pre} 90-80/udp, error: invalid range specified for port: 90-80"),
            ),
            (
                "/udp",
                format!("{pre} /udp, error: empty string specified for ports"),
            ),
            ("80/foo", "invalid proto: foo".to_owned()),
        ] {
            assert_eq!(
                ExposedPorts::parse_expose(&[spec]).unwrap_err().0,
                want,
                "{spec}"
            );
        }
    }

    #[test]
    fn publish_all_adds_random_ports_for_unbound_exposed() {
        let exposed = ExposedPorts::parse_expose(&["80", "443", "53/udp"]).unwrap();
        let all = exposed.publish_all(&parse_port_spec("8080:80").unwrap());
        assert_eq!(show(Ok(all)), "80/tcp -> :8080, 53/udp -> :, 443/tcp -> :");
        assert!(ExposedPorts::default().publish_all(&[]).is_empty());
    }

    #[test]
    fn exposed_ports_json() {
        let json = r#"{"53/udp":{},"80/tcp":{}}"#;
        let e: ExposedPorts = serde_json::from_str(json).unwrap();
        assert_eq!(e, ExposedPorts::parse_expose(&["80", "53/udp"]).unwrap());
        assert_eq!(serde_json::to_string(&e).unwrap(), json);
        assert!(serde_json::from_str::<ExposedPorts>(r#"{"80/foo":{}}"#).is_err());
    }

    #[test]
    fn to_port_bindings_json_shape() {
        let specs = [
            "127.0.0.1:8080:80",
            "[::1]:8081:80",
            "8000-8010:90",
            "53/udp",
        ];
        let (_, m) = parse_port_specs(&specs).unwrap();
        let json = serde_json::to_string(&to_port_bindings(&m)).unwrap();
        let want = concat!(
            r#"{"53/udp":[{"HostIp":"","HostPort":""}],"#,
            r#""80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"},{"HostIp":"::1","HostPort":"8081"}],"#,
            r#""90/tcp":[{"HostIp":"","HostPort":"8000-8010"}]}"#
        );
        assert_eq!(json, want);
    }

    #[test]
    fn port_bindings_round_trip() {
        let (_, m) =
            parse_port_specs(&["8000-8001:80-81", "1.2.3.4::443", "9000-9009:9/sctp"]).unwrap();
        let json = serde_json::to_string(&to_port_bindings(&m)).unwrap();
        let back: PortBindings = serde_json::from_str(&json).unwrap();
        let mut sorted = m.clone();
        sorted.sort_by_key(PortMapping::key);
        assert_eq!(from_port_bindings(&back).unwrap(), sorted);
        assert_eq!(to_port_bindings(&sorted), back);
        // Docker clients may omit fields; a key with no bindings publishes nothing.
        let json = r#"{"80/tcp":[{"HostPort":"8080"}],"81":[{}],"82/udp":[]}"#;
        let m = from_port_bindings(&serde_json::from_str(json).unwrap());
        assert_eq!(show(m), "80/tcp -> :8080, 81/tcp -> :");
    }

    #[test]
    fn port_bindings_errors() {
        for (key, ip, port, want) in [
            ("x/tcp", "", "", "invalid containerPort: x"),
            ("80-81/tcp", "", "", "invalid containerPort: 80-81"),
            ("80/foo", "", "", "invalid proto: foo"),
            ("/tcp", "", "", "no port specified: /tcp<empty>"),
            ("80/tcp", "", "x", "invalid hostPort: x"),
            ("80/tcp", "", "90-80", "invalid hostPort: 90-80"),
            ("80/tcp", "nope", "80", "invalid IP address: nope"),
        ] {
            let b = PortBinding {
                host_ip: ip.into(),
                host_port: port.into(),
            };
            let map = PortBindings::from([(key.to_owned(), vec![b])]);
            assert_eq!(from_port_bindings(&map).unwrap_err().0, want, "{key}");
        }
    }

    #[test]
    fn range_text() {
        let r: PortRange = "8000-8010".parse().unwrap();
        assert_eq!(
            (r.start, r.end, r.to_string()),
            (8000, 8010, "8000-8010".to_owned())
        );
        assert!(r.contains(8005) && !r.contains(7999));
        assert_eq!("80".parse::<PortRange>().unwrap().to_string(), "80");
        assert_eq!(
            "1-2-3".parse::<PortRange>().unwrap(),
            PortRange { start: 1, end: 2 }
        );
        let e = "8000-".parse::<PortRange>().unwrap_err().0;
        assert_eq!(e, r#"strconv.ParseUint: parsing "": invalid syntax"#);
    }
}
