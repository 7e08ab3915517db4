//! The `hosts` and `resolv.conf` of a container with no network
//! (`--network none`): its OCI runtime makes the loopback-only namespace,
//! so no netd sandbox is needed, and the engine writes these two files.
//! They are rendered by the same code as netd's own sandboxes, so that a
//! container reads the same files either way. Pure: the caller writes them.

use std::net::IpAddr;

use super::{self as files, ResolvConf};

/// The two files, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateFiles {
    /// `/etc/hosts`: Docker's localhost lines and the `--add-host` entries.
    pub hosts: String,
    /// `/etc/resolv.conf`: the host's (`host_resolv_conf`) without its
    /// loopback nameservers, or the `--dns` options, as for any sandbox
    /// that does not use the embedded DNS server.
    pub resolv_conf: String,
}

/// Renders the files of a sandbox with no endpoint. Fails, with netd's
/// message, on a `--dns` that is not an address and on an `--add-host`
/// netd would refuse; `host-gateway` has no address here (it names the
/// default bridge's gateway, which only netd knows).
pub fn private_sandbox_files(
    host_resolv_conf: &str,
    extra_hosts: &[String],
    dns: &[String],
    dns_search: &[String],
    dns_options: &[String],
) -> Result<PrivateFiles, String> {
    let dns = dns
        .iter()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| format!("{s} is not an IP address (--dns)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let extra = extra_hosts
        .iter()
        .map(|h| files::parse_extra_host(h, None))
        .collect::<Result<Vec<_>, _>>()?;
    let host = ResolvConf::parse(host_resolv_conf);
    Ok(PrivateFiles {
        hosts: files::render_hosts(&extra, &[], "", ""),
        resolv_conf: files::sandbox_resolv_conf(&host, &dns, dns_search, dns_options, false)
            .render(),
    })
}

/// Whether an `--add-host` value names `host-gateway`, which needs netd.
pub fn names_host_gateway(extra_host: &str) -> bool {
    extra_host
        .split_once(['=', ':'])
        .is_some_and(|(_, addr)| addr.trim_matches(['[', ']']) == "host-gateway")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn hosts_has_localhost_and_added_hosts_only() {
        let f =
            private_sandbox_files("", &strings(&["db:10.0.0.5"]), &[], &[], &[]).expect("renders");
        assert!(f.hosts.starts_with("127.0.0.1\tlocalhost\n"), "{}", f.hosts);
        assert!(f.hosts.ends_with("10.0.0.5\tdb\n"), "{}", f.hosts);
    }

    #[test]
    fn resolv_conf_drops_loopback_nameservers_of_the_host() {
        let f = private_sandbox_files(
            "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\n",
            &[],
            &[],
            &[],
            &[],
        )
        .expect("renders");
        assert!(
            f.resolv_conf.contains("nameserver 10.0.0.2"),
            "{}",
            f.resolv_conf
        );
        assert!(!f.resolv_conf.contains("127.0.0.53"), "{}", f.resolv_conf);
        assert!(f.resolv_conf.contains("search lan"), "{}", f.resolv_conf);
        let own = private_sandbox_files(
            "nameserver 10.0.0.2\n",
            &[],
            &strings(&["9.9.9.9"]),
            &strings(&["corp"]),
            &strings(&["ndots:2"]),
        )
        .expect("renders");
        assert!(
            own.resolv_conf.contains("nameserver 9.9.9.9"),
            "{}",
            own.resolv_conf
        );
        assert!(!own.resolv_conf.contains("10.0.0.2"), "{}", own.resolv_conf);
        assert!(
            own.resolv_conf.contains("search corp"),
            "{}",
            own.resolv_conf
        );
        assert!(
            own.resolv_conf.contains("options ndots:2"),
            "{}",
            own.resolv_conf
        );
    }

    #[test]
    fn bad_dns_and_add_host_values_are_refused_with_netds_words() {
        let e = private_sandbox_files("", &[], &strings(&["nope"]), &[], &[]).unwrap_err();
        assert_eq!(e, "nope is not an IP address (--dns)");
        let e = private_sandbox_files("", &strings(&["db"]), &[], &[], &[]).unwrap_err();
        assert!(e.contains("bad format for add-host"), "{e}");
    }

    #[test]
    fn host_gateway_is_recognised_in_every_spelling() {
        assert!(names_host_gateway("h:host-gateway"));
        assert!(names_host_gateway("h=host-gateway"));
        assert!(names_host_gateway("h:[host-gateway]"));
        assert!(!names_host_gateway("h:10.0.0.1"));
    }
}
