//! `netd`: the network daemon. Flags follow dockerd's.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use netd::config::{Config, Paths};
use netd::daemon::{self, Options};

/// berth's network daemon: Docker's network model and API on a unix socket.
#[derive(Debug, Parser)]
#[command(name = "netd", version)]
struct Cli {
    /// Socket to listen on.
    #[arg(short = 'H', long = "host", env = "NETD_HOST", default_value = netd_api::client::DEFAULT_HOST)]
    host: String,
    /// Persistent state directory.
    #[arg(long, env = "NETD_DATA_ROOT", default_value = "/var/lib/netd")]
    data_root: PathBuf,
    /// Runtime state directory (namespace files under EXEC_ROOT/netns).
    #[arg(long, env = "NETD_EXEC_ROOT", default_value = "/run/netd")]
    exec_root: PathBuf,
    /// Configuration file.
    #[arg(long, env = "NETD_CONFIG_FILE", default_value = "/etc/netd/netd.toml")]
    config_file: PathBuf,
    /// Log level: error, warn, info, debug, trace (overrides the file's).
    #[arg(short = 'l', long)]
    log_level: Option<String>,
    /// Group given access to the socket.
    #[arg(short = 'G', long)]
    group: Option<String>,
    /// Socket of Docker's network and IPAM plugin protocols (`none`: off).
    #[arg(long, env = "NETD_PLUGIN_SOCKET", default_value = netd::DEFAULT_PLUGIN_SOCKET)]
    plugin_socket: String,
    /// Cgroup (v2) whose processes reach published TCP ports through
    /// connect-time translation instead of DNAT: `auto` (the whole
    /// hierarchy), a cgroup directory, or `none`.
    #[arg(long, env = "NETD_CONNECT_NAT_CGROUP", default_value = "auto")]
    connect_nat_cgroup: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.config_file)?;
    let level = cli
        .log_level
        .clone()
        .or_else(|| config.log_level.clone())
        .unwrap_or_else(|| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&level)
                .with_context(|| format!("invalid log level {level}"))?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Thousands of sandboxes mean thousands of sockets (DNS listeners,
    // reserved ports): use the whole descriptor allowance.
    match drivers::fds::raise_limit() {
        Ok(n) => tracing::debug!(limit = n, "open file limit raised"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    let opts = Options {
        socket: daemon::socket_path(&cli.host)?,
        paths: Paths {
            data_root: cli.data_root,
            exec_root: cli.exec_root,
        },
        config,
        group: cli.group,
        plugin_socket: (cli.plugin_socket != "none").then(|| PathBuf::from(&cli.plugin_socket)),
        connect_nat_cgroup: daemon::connect_nat_cgroup(&cli.connect_nat_cgroup),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(daemon::run(opts))
}
