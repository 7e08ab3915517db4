//! `berth run` and `berth create`: the options Docker's `run` takes, the
//! container record they make, and a foreground run attached to the
//! container's shim.

use clap::Args;

use crate::cli::attach_client::{self, Input, SignalProxy, detach_keys};
use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::Engine;
use crate::container::create::{CreateOptions, Identity, plan, random_name};
use crate::container::record::{Container, HostConfig, MountPoint, RestartPolicy};

/// The options of `run` and `create`.
#[derive(Debug, Args, Clone, Default)]
pub struct CreateArgs {
    /// Print usage (`-h` is `--hostname`, as in Docker)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long = "hostname", value_name = "string")]
    pub hostname: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "string")]
    pub mac_address: Option<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_host: Vec<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string", default_value = "no")]
    pub restart: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// `--pull`, `--platform`.
    #[command(flatten)]
    pub pulling: crate::cli::image::pull::PullFlags,
    /// The image, then the command and its arguments
    #[arg(value_name = "IMAGE", trailing_var_arg = true, required = true)]
    pub image_and_command: Vec<String>,
}

/// `berth run`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// The options shared with `create`.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// `-e KEY` takes KEY from berth's own environment, as Docker does.
fn env_entry(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_owned())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

/// `-v`, `--mount` and `--tmpfs` as mounts with host paths; volumes are
/// made when missing (anonymous ones get a random name).
fn mounts(a: &CreateArgs, root: &std::path::Path) -> Result<Vec<MountPoint>, Failure> {
    use crate::spec::flags::{MountType, parse_mount, parse_tmpfs, parse_volume};
    let bad = |m: String| Failure::new(125, format!("berth: {m}.\nSee 'berth run --help'."));
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let mut specs = Vec::new();
    for v in &a.volume {
        let spec = parse_volume(v, &cwd).map_err(|e| bad(e.to_string()))?;
        // Docker makes a missing host directory of a -v bind.
        if spec.kind == MountType::Bind && !std::path::Path::new(&spec.source).exists() {
            std::fs::create_dir_all(&spec.source)
                .map_err(|e| bad(format!("creating {}: {e}", spec.source)))?;
        }
        specs.push(spec);
    }
    for m in &a.mount {
        specs.push(parse_mount(m, &cwd, |p| p.exists()).map_err(|e| bad(e.to_string()))?);
    }
    for t in &a.tmpfs {
        specs.push(parse_tmpfs(t).map_err(|e| bad(e.to_string()))?);
    }
    let mut out = Vec::new();
    for spec in specs {
        let (kind, name, dir) = match spec.kind {
            MountType::Volume => {
                let name = if spec.source.is_empty() {
                    netd_api::new_id()
                } else {
                    spec.source.clone()
                };
                let dir = crate::volume::for_mount(root, &name, &spec).map_err(|e| {
                    Failure::new(
                        125,
                        format!("berth: Error response from daemon: {e}.\nSee 'berth run --help'."),
                    )
                })?;
                ("volume", name, Some(dir))
            }
            MountType::Bind => ("bind", String::new(), None),
            MountType::Tmpfs => ("tmpfs", String::new(), None),
        };
        let input = spec
            .to_input(dir.as_deref())
            .map_err(|e| bad(e.to_string()))?;
        out.push(MountPoint {
            kind: kind.into(),
            name,
            source: input.source.display().to_string(),
            destination: input.destination,
            options: input.options,
            rw: !input.read_only,
        });
    }
    Ok(out)
}

/// The options as the engine takes them (125 for bad values, as Docker).
pub fn create_options(
    a: &CreateArgs,
    attach: bool,
    root: &std::path::Path,
) -> Result<CreateOptions, Failure> {
    use crate::spec::flags::{parse_cpus, parse_memory, parse_memory_swap, parse_signal};
    let bad = |m: String| Failure::new(125, format!("berth: {m}.\nSee 'berth run --help'."));
    let memory = a
        .memory
        .as_deref()
        .map(parse_memory)
        .transpose()
        .map_err(|e| {
            bad(format!(
                "invalid argument {:?} for \"-m, --memory\" flag: {e}",
                a.memory.clone().unwrap_or_default()
            ))
        })?
        .unwrap_or(0);
    let memory_swap = a
        .memory_swap
        .as_deref()
        .map(parse_memory_swap)
        .transpose()
        .map_err(|e| {
            bad(format!(
                "invalid argument {:?} for \"--memory-swap\" flag: {e}",
                a.memory_swap.clone().unwrap_or_default()
            ))
        })?
        .unwrap_or(0);
    let nano_cpus = a
        .cpus
        .as_deref()
        .map(parse_cpus)
        .transpose()
        .map_err(|e| {
            bad(format!(
                "invalid argument {:?} for \"--cpus\" flag: {e}",
                a.cpus.clone().unwrap_or_default()
            ))
        })?
        .unwrap_or(0);
    if let Some(sig) = &a.stop_signal {
        parse_signal(sig).map_err(|e| bad(e.to_string()))?;
    }
    let mut env: Vec<String> = Vec::new();
    for file in &a.env_file {
        let text = std::fs::read_to_string(file).map_err(|e| bad(format!("open {file}: {e}")))?;
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            env.extend(env_entry(line));
        }
    }
    env.extend(a.env.iter().filter_map(|e| env_entry(e)));
    let mut labels = std::collections::BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_owned(), v.to_owned());
    }
    let policy = crate::spec::flags::parse_restart(&a.restart).map_err(|e| bad(e.to_string()))?;
    crate::spec::flags::check_restart_with_rm(policy, a.rm).map_err(|e| bad(e.to_string()))?;
    let restart = RestartPolicy {
        name: policy.name().to_owned(),
        maximum_retry_count: i64::try_from(policy.max_retries()).unwrap_or(i64::MAX),
    };
    let (image, cmd) = a
        .image_and_command
        .split_first()
        .map(|(i, c)| (i.clone(), c.to_vec()))
        .unwrap_or_default();
    Ok(CreateOptions {
        name: a.name.clone().unwrap_or_default(),
        image,
        cmd,
        entrypoint: a.entrypoint.clone(),
        env,
        workdir: a.workdir.clone().unwrap_or_default(),
        user: a.user.clone().unwrap_or_default(),
        hostname: a.hostname.clone().unwrap_or_default(),
        tty: a.tty,
        interactive: a.interactive,
        attach,
        networks: a.network.clone(),
        aliases: a.network_alias.clone(),
        ip: a.ip.clone().unwrap_or_default(),
        ip6: a.ip6.clone().unwrap_or_default(),
        mac: a.mac_address.clone().unwrap_or_default(),
        publish: a.publish.clone(),
        expose: a.expose.clone(),
        labels,
        stop_signal: a.stop_signal.clone(),
        stop_timeout: a.stop_timeout,
        host: HostConfig {
            binds: a.volume.clone(),
            restart_policy: restart,
            auto_remove: a.rm,
            cap_add: a.cap_add.clone(),
            cap_drop: a.cap_drop.clone(),
            dns: a.dns.clone(),
            dns_options: a.dns_option.clone(),
            dns_search: a.dns_search.clone(),
            extra_hosts: a.add_host.clone(),
            privileged: a.privileged,
            publish_all_ports: a.publish_all,
            readonly_rootfs: a.read_only,
            security_opt: a.security_opt.clone(),
            init: a.init,
            memory,
            memory_swap,
            nano_cpus,
            cpu_shares: a.cpu_shares.unwrap_or(0),
            pids_limit: a.pids_limit.unwrap_or(0),
            mounts: mounts(a, root)?,
            ..HostConfig::default()
        },
    })
}

/// Makes the container: resolves the image, plans the record, stores it.
pub fn create(engine: &Engine, g: &Globals, opts: &CreateOptions) -> Result<Container, Failure> {
    let c = plan_new(engine, g, opts, "create")?;
    store_new(engine, &c, false)?;
    Ok(c)
}

/// Stores container `c` made by [`plan_new`]; `started` when its shim is
/// preparing it meanwhile (see [`Engine::start_new`]).
fn store_new(engine: &Engine, c: &Container, started: bool) -> Result<(), Failure> {
    let stored = if started {
        engine.containers.create_started(c)
    } else {
        engine.containers.create(c)
    };
    // As docker's: the daemon's refusal, then where to find help.
    let command = if started { "run" } else { "create" };
    stored.map_err(|e| {
        Failure::new(
            125,
            format!(
                "berth: {}.\nSee 'berth {command} --help'.",
                Failure::daemon(&e).message.trim_end_matches('.')
            ),
        )
    })
}

/// The container `opts` describe, not stored yet; `command` (`run` or
/// `create`) for the help hint of a refusal.
fn plan_new(
    engine: &Engine,
    g: &Globals,
    opts: &CreateOptions,
    command: &str,
) -> Result<Container, Failure> {
    let store = crate::image::Store::open(&g.root).map_err(|e| Failure::new(125, e.to_string()))?;
    let state = store
        .state()
        .map_err(|e| Failure::new(125, e.to_string()))?;
    let reference = crate::image::Reference::parse(&opts.image)
        .map_err(|e| Failure::new(125, format!("berth: {e}.\nSee 'berth run --help'.")))?;
    let image_id = state.resolve(&opts.image).map_err(|_| {
        // As Docker words it: the name as the user writes it, tagged.
        let shown = reference.clone().with_default_tag().familiar();
        Failure::new(
            125,
            format!(
                "Unable to find image '{shown}' locally\nberth: Error response from daemon: No such image: {shown}.\nSee 'berth run --help'."
            ),
        )
    })?;
    let (config, _) = store
        .config(&image_id)
        .map_err(|e| Failure::new(125, e.to_string()))?;
    let lower =
        crate::image::lower_dirs(&store, &config).map_err(|e| Failure::new(125, e.to_string()))?;
    let id = netd_api::new_id();
    let name = if opts.name.is_empty() {
        random_name(&hex_bytes(&id))
    } else {
        opts.name.clone()
    };
    let log_path = engine.containers.dir_of(&id).join(format!("{id}-json.log"));
    let created = crate::container::logs::now();
    let c = plan(
        opts,
        &format!("sha256:{}", image_id.hex()),
        &config,
        Identity {
            id: &id,
            name: &name,
            created: &created,
            log_path: &log_path.display().to_string(),
            lower_dirs: lower.iter().map(|p| p.display().to_string()).collect(),
        },
    )
    .map_err(|e| Failure::new(125, format!("berth: {}", Failure::daemon(&e).message)))?;
    // As Docker's daemon: capabilities that this kernel does not know, or
    // that the engine does not hold (so neither would the container), are
    // refused before anything is made.
    crate::spec::build::check_requested(
        &c.host_config.cap_add,
        &c.host_config.cap_drop,
        &crate::container::bundle::host_capabilities(),
    )
    .map_err(|e| {
        Failure::new(
            125,
            format!("berth: Error response from daemon: {e}.\nSee 'berth {command} --help'."),
        )
    })?;
    let mut c = c;
    // The runtime is the container's for good, as Docker's HostConfig.Runtime.
    c.host_config.runtime = engine.runtime.binary.display().to_string();
    Ok(c)
}

fn hex_bytes(id: &str) -> Vec<u8> {
    (0..id.len() / 2)
        .filter_map(|i| u8::from_str_radix(id.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

/// Runs `berth run`.
pub fn run(args: &RunArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let keys = detach_keys::from_flag(args.detach_keys.as_deref())?;
    let engine = g.engine()?;
    let opts = create_options(&args.create, !args.detach, &g.root)?;
    let pulling = &args.create.pulling;
    let c = crate::cli::image::pull::with_image(&g.root, &opts.image, pulling, "run", io, || {
        plan_new(&engine, g, &opts, "run")
    })?;
    // The shim prepares the run while the container is stored.
    let starting = engine.start_new(&c, !args.detach).map_err(Failure::start)?;
    if let Err(f) = store_new(&engine, &c, true) {
        starting.call_off();
        return Err(f);
    }
    let started = starting.go().map_err(Failure::start)?;
    if args.detach {
        writeln!(io.stdout, "{}", c.id)?;
        return Ok(());
    }
    let stream =
        started.ok_or_else(|| Failure::new(125, "berth: the container was already running"))?;
    // With a terminal, ^C is a byte for the container's terminal; without
    // one, berth forwards the signals it gets, as docker's sig-proxy.
    let proxy = if c.config.tty {
        None
    } else {
        // Without one, signals act on berth itself, as before it.
        SignalProxy::new(engine.runtime_of(&c), &c.id).ok()
    };
    let input = Input {
        forward: c.config.open_stdin,
        close_at_end: true,
        detach_keys: Some(&keys),
    };
    let code = attach_client::attached(stream, input, c.config.tty, proxy, io)?;
    // An --rm container is gone by now: the shim reports the exit code
    // after removing it.
    if code == 0 {
        Ok(())
    } else {
        Err(Failure::new(code, String::new()))
    }
}

/// Runs `berth create`: prints the new container's id.
pub fn create_only(args: &CreateArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    let opts = create_options(args, false, &g.root)?;
    let c = crate::cli::image::pull::with_image(
        &g.root,
        &opts.image,
        &args.pulling,
        "create",
        io,
        || create(&engine, g, &opts),
    )?;
    writeln!(io.stdout, "{}", c.id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_image_is_pulled_first_and_a_failed_pull_is_a_run_error() {
        // Nothing listens on loopback port 1: the pull fails at once.
        let (code, _, err) = crate::cli::tests::berth(&["run", "127.0.0.1:1/app"], "");
        assert_eq!(code, 125);
        assert!(
            err.starts_with("Unable to find image '127.0.0.1:1/app:latest' locally\nlatest: Pulling from app\nberth: Error response from daemon: Get \"http://127.0.0.1:1/v2/app/manifests/latest\": "),
            "{err}"
        );
        assert!(err.ends_with("See 'berth run --help'.\n"), "{err}");
    }

    #[test]
    fn an_unknown_pull_policy_is_refused() {
        let (code, _, err) = crate::cli::tests::berth(&["create", "--pull", "sometimes", "x"], "");
        assert_eq!(code, 125);
        assert!(
            err.starts_with("berth: invalid pull option: 'sometimes'"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_image_is_named_as_the_user_wrote_it() {
        let (code, _, err) = crate::cli::tests::berth(&["run", "--pull", "never", "nope"], "");
        assert_eq!(code, 125);
        assert!(
            err.starts_with(
                "Unable to find image 'nope:latest' locally\nberth: Error response from daemon: No such image: nope:latest.\n"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_flag_before_the_image_is_refused_as_docker_does() {
        let (code, _, err) = crate::cli::tests::berth(&["run", "--nope", "busybox"], "");
        assert_eq!(code, 125);
        assert_eq!(err, "unknown flag: --nope\nSee 'berth run --help'.\n");
    }

    #[test]
    fn env_without_value_comes_from_berths_environment() {
        assert_eq!(env_entry("A=1").as_deref(), Some("A=1"));
        assert_eq!(env_entry("BERTH_SURELY_UNSET_VARIABLE"), None);
        assert!(env_entry("PATH").unwrap().starts_with("PATH="));
    }
}
