//! `berth exec`: a process in a running container's namespaces, run by
//! the OCI runtime in the foreground (it handles `-t` itself).

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::container::Status;
use crate::container::runc::ExecOptions;

/// `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// The container, then the command and its arguments
    #[arg(value_name = "CONTAINER", trailing_var_arg = true, allow_hyphen_values = true, required = true, num_args = 2..)]
    pub container_and_command: Vec<String>,
}

/// Runs `exec`; the exit code is the process's.
pub fn run(a: &ExecArgs, g: &Globals) -> Result<(), Failure> {
    let (name, args) = a
        .container_and_command
        .split_first()
        .ok_or_else(|| Failure::new(1, "\"berth exec\" requires at least 2 arguments."))?;
    let engine = g.engine()?;
    let c = engine
        .get(name)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    if c.state.status != Status::Running {
        return Err(Failure::new(
            1,
            format!(
                "Error response from daemon: container {} is not running",
                c.id
            ),
        ));
    }
    let env = a
        .env
        .iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect();
    let (user_ids, additional_gids) = match a.user.as_deref().filter(|u| !u.is_empty()) {
        // As Docker: names are looked up in the container's own files, and
        // the runtime gets numbers.
        Some(u) => {
            let root = crate::container::rootfs::Overlay::for_container(
                &engine.containers.dir_of(&c.id),
                c.lower_dirs.iter().map(std::path::PathBuf::from).collect(),
            )
            .merged;
            let found = crate::spec::build::resolve_user(&root, u, &[])
                .map_err(|e| Failure::new(126, e.to_string()))?;
            (Some((found.uid, found.gid)), found.additional_gids)
        }
        None => (None, Vec::new()),
    };
    let opts = ExecOptions {
        args: args.to_vec(),
        env,
        workdir: a.workdir.clone().unwrap_or_default(),
        user_ids,
        additional_gids,
        tty: a.tty,
        detach: a.detach,
        privileged: a.privileged,
    };
    // The process, written next to the container's bundle (whose own
    // process it starts from) for the runtime to read.
    let run_dir = engine.containers.run_dir_of(&c.id);
    let config = run_dir.join("bundle").join("config.json");
    let base: serde_json::Value = std::fs::read(&config)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            Failure::new(
                126,
                format!(
                    "berth: reading the container's process from {}",
                    config.display()
                ),
            )
        })?;
    let process = crate::container::runc::exec_process(
        &base["process"],
        &opts,
        &crate::container::bundle::host_capabilities(),
    );
    let process_file = run_dir.join(format!("exec-{}.json", std::process::id()));
    std::fs::write(&process_file, process.to_string()).map_err(|e| {
        Failure::new(
            126,
            format!("berth: writing {}: {e}", process_file.display()),
        )
    })?;
    let _remove = RemoveOnDrop(process_file.clone());
    let mut cmd = engine
        .runtime_of(&c)
        .exec_command(&c.id, &opts, &process_file);
    if !a.interactive {
        cmd.stdin(std::process::Stdio::null());
    }
    let status = cmd
        .status()
        .map_err(|e| Failure::new(126, format!("berth: running the OCI runtime: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::new(code, String::new())),
        None => Err(Failure::new(137, String::new())),
    }
}

/// Removes a file when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // One left behind is in the container's run directory, which goes
        // with the container.
        let _ = std::fs::remove_file(&self.0);
    }
}
