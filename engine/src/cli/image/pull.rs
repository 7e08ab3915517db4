//! `berth pull` / `berth image pull`, and the pull that `run` and
//! `create` make for a missing image: Docker's output (`Using default
//! tag`, `latest: Pulling from library/busybox`, a line per layer,
//! `Digest:`, `Status:`, the full reference), `-q` for the reference only.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;

use super::open_store;
use super::progress::{Progress, pull_text};
use crate::cli::Io;
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::image::Digest;
use crate::image::reference::Reference;
use crate::image::registry::credentials;
use crate::image::registry::layer::LayerStatus;
use crate::image::registry::platform::Platform;
use crate::image::registry::pull::{DEFAULT_JOBS, PullEvent, PullOptions, pull};

/// The environment variable that sets how many layers are pulled at once.
const JOBS_ENV: &str = "BERTH_MAX_CONCURRENT_DOWNLOADS";

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] NAME[:TAG|@DIGEST]")
}

/// `berth pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub names: Vec<String>,
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image verification
    #[arg(long = "disable-content-trust", hide = true)]
    pub disable_content_trust: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
}

impl PullArgs {
    /// Pulls the image.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::Exact(1), self.names.len())?;
        if self.all_tags {
            return Err(Failure::new(
                1,
                "berth: pull --all-tags is not supported".to_owned(),
            ));
        }
        let name = &self.names[0];
        let reference = Reference::parse(name)
            .map_err(|e| Failure::new(1, format!("invalid reference format: {name:?}: {e}")))?;
        let platform = parse_platform(self.platform.as_deref())?;
        pull_image(root, &reference, platform, self.quiet, io).map(|_| ())
    }
}

/// `--platform`, parsed.
pub fn parse_platform(text: Option<&str>) -> Result<Option<Platform>, Failure> {
    text.filter(|t| !t.is_empty())
        .map(Platform::parse)
        .transpose()
        .map_err(|e| Failure::new(125, format!("berth: {e}")))
}

/// Pulls `reference` into the store under `root`, printing Docker's
/// progress (or, `quiet`, only the reference); returns the image's id.
pub fn pull_image(
    root: &Path,
    reference: &Reference,
    platform: Option<Platform>,
    quiet: bool,
    io: &mut Io<'_>,
) -> Result<Digest, Failure> {
    let store = open_store(root)?;
    let daemon =
        |e: &dyn std::fmt::Display| Failure::new(1, format!("Error response from daemon: {e}"));
    let credentials = credentials::lookup(&credentials::config_path(), &reference.domain)
        .map_err(|e| daemon(&e))?;
    let jobs = std::env::var(JOBS_ENV)
        .ok()
        .and_then(|j| j.parse().ok())
        .filter(|j| *j > 0)
        .unwrap_or(DEFAULT_JOBS);
    let options = PullOptions {
        platform,
        jobs,
        credentials,
    };
    let reference = if reference.is_name_only() {
        if !quiet {
            writeln!(io.stdout, "Using default tag: latest")?;
        }
        reference.clone().with_default_tag()
    } else {
        reference.clone()
    };
    let target = reference
        .tag
        .clone()
        .or_else(|| reference.digest.clone())
        .unwrap_or_default();
    let mut sink = std::io::sink();
    let terminal = !quiet && std::io::stdout().is_terminal();
    let out: &mut dyn std::io::Write = if quiet { &mut sink } else { &mut *io.stdout };
    writeln!(out, "{target}: Pulling from {}", reference.path)?;
    let mut progress = Progress::new(out, terminal);
    let mut failed_write = None;
    let pulled = pull(&store, &reference, &options, &mut |event| {
        if let Err(e) = show(&mut progress, &event, terminal) {
            failed_write.get_or_insert(e);
        }
    })
    .map_err(|e| daemon(&e))?;
    if let Some(e) = failed_write {
        return Err(e.into());
    }
    if !quiet {
        writeln!(io.stdout, "Digest: {}", pulled.digest)?;
        let status = if pulled.updated {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        writeln!(io.stdout, "Status: {status} {}", reference.familiar())?;
    }
    writeln!(io.stdout, "{reference}")?;
    Ok(pulled.id)
}

/// Shows one pull event.
fn show(progress: &mut Progress<'_>, event: &PullEvent, terminal: bool) -> std::io::Result<()> {
    match event {
        PullEvent::Layers(digests) => {
            progress.set_layers(digests.iter().map(|d| d.hex()[..12].to_owned()).collect());
            for i in 0..digests.len() {
                progress.update(i, "Pulling fs layer", false)?;
            }
            Ok(())
        }
        PullEvent::Layer(i, status) => {
            let byte_count = matches!(status, LayerStatus::Downloading { .. });
            match pull_text(*status, !terminal) {
                Some(text) => progress.update(*i, &text, byte_count),
                None => Ok(()),
            }
        }
    }
}

/// `run`'s and `create`'s pull flags.
#[derive(Debug, Args, Clone, Default)]
pub struct PullFlags {
    /// Pull image before running ("always", "missing", "never")
    #[arg(long = "pull", value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
}

/// When `run` and `create` pull their image (`--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// When the store lacks it (the default).
    Missing,
    /// Every time.
    Always,
    /// Never: a missing image is the caller's error.
    Never,
}

fn policy(flags: &PullFlags, command: &str) -> Result<Policy, Failure> {
    match flags.pull.as_str() {
        "" | "missing" => Ok(Policy::Missing),
        "always" => Ok(Policy::Always),
        "never" => Ok(Policy::Never),
        other => Err(Failure::new(
            125,
            format!(
                "berth: invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\".\nSee 'berth {command} --help'."
            ),
        )),
    }
}

/// Runs `plan` (which resolves `image` in the store) for `run` or `create`
/// (`command`), pulling the image first as `flags` say: with `always`
/// before `plan`; with `missing` (the default) only once `plan` failed and
/// the store lacks the image, then `plan` again. So a present image costs
/// no extra look at the store.
pub fn with_image<T>(
    root: &Path,
    image: &str,
    flags: &PullFlags,
    command: &str,
    io: &mut Io<'_>,
    mut plan: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    match policy(flags, command)? {
        Policy::Never => plan(),
        Policy::Always => {
            ensure_image(root, image, flags, command, io, true)?;
            plan()
        }
        Policy::Missing => match plan() {
            Ok(v) => Ok(v),
            Err(f) => {
                if ensure_image(root, image, flags, command, io, false)? {
                    plan()
                } else {
                    Err(f)
                }
            }
        },
    }
}

/// Pulls `image` when the store lacks it (or always, with `always`), with
/// Docker's `Unable to find image 'x:latest' locally` first for a missing
/// one; whether it pulled. The pull's output goes to standard error, as
/// Docker's.
fn ensure_image(
    root: &Path,
    image: &str,
    flags: &PullFlags,
    command: &str,
    io: &mut Io<'_>,
    always: bool,
) -> Result<bool, Failure> {
    // Ids and names that do not parse are the caller's to report.
    let Ok(reference) = Reference::parse(image) else {
        return Ok(false);
    };
    let store = open_store(root)?;
    let present = store.state().is_ok_and(|s| s.resolve(image).is_ok());
    if present && !always {
        return Ok(false);
    }
    let platform = parse_platform(flags.platform.as_deref())?;
    if !present {
        let shown = reference.clone().with_default_tag().familiar();
        writeln!(io.stderr, "Unable to find image '{shown}' locally")?;
    }
    let mut no_errors = std::io::sink();
    let mut sub = Io {
        stdin: &mut *io.stdin,
        stdout: &mut *io.stderr,
        stderr: &mut no_errors,
    };
    pull_image(
        root,
        &reference.with_default_tag(),
        platform,
        false,
        &mut sub,
    )
    .map(|_| true)
    .map_err(|f| {
        Failure::new(
            125,
            format!(
                "berth: {}.\nSee 'berth {command} --help'.",
                f.message.trim_end_matches('.')
            ),
        )
    })
}
