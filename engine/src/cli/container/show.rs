//! `berth inspect` (containers, in Docker's shape) and `berth port`.

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::flags::InspectFlags;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::format::inspect::Inspector;

/// `inspect`.
#[derive(Debug, Args)]
#[command(mut_arg("format", |a| a.help("Format output using a custom template")))]
pub struct InspectArgs {
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    /// Only inspect objects of the given type (container or image)
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    /// Containers or images
    #[arg(value_name = "NAME|ID", required = true)]
    pub containers: Vec<String>,
}

/// An image's inspect view, when `name` names one.
fn image_view(g: &Globals, name: &str) -> Option<serde_json::Value> {
    let store = crate::image::Store::open(&g.root).ok()?;
    let state = store.state().ok()?;
    let id = state.resolve(name).ok()?;
    let view = crate::cli::image::inspect::view(&store, &state, &id).ok()?;
    serde_json::to_value(view).ok()
}

/// `port`.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// A private port, `80` or `80/tcp`
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// Runs `inspect`.
pub fn inspect(a: &InspectArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let format = a.format.parse()?;
    let kind = a.kind.as_deref().unwrap_or("");
    if !["", "container", "image"].contains(&kind) {
        return Err(Failure::new(
            1,
            format!("\"{kind}\" is not a valid value for --type"),
        ));
    }
    let engine = g.engine()?;
    // As Docker's `inspect`: a container by that name first, else an image.
    let mut inspector: Inspector<serde_json::Value> = Inspector::new(format, |_| {});
    for name in &a.containers {
        let container = (kind != "image")
            .then(|| engine.get(name).ok())
            .flatten()
            .and_then(|c| serde_json::to_value(c).ok());
        let found =
            container.or_else(|| (kind != "container").then(|| image_view(g, name)).flatten());
        match found {
            Some(v) => inspector.add(v),
            None => inspector.add_error(format!("Error: No such object: {name}")),
        }
    }
    let (out, errors) = inspector.finish();
    io.stdout.write_all(out.as_bytes())?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// Runs `port`.
pub fn port(a: &PortArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    let c = engine
        .get(&a.container)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    let wanted = a.port.as_ref().map(|p| {
        if p.contains('/') {
            p.clone()
        } else {
            format!("{p}/tcp")
        }
    });
    let mut lines = Vec::new();
    for (port, bindings) in &c.network_settings.ports {
        if wanted.as_ref().is_some_and(|w| w != port) {
            continue;
        }
        for b in bindings {
            let ip = if b.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                b.host_ip.as_str()
            };
            let host = if ip.contains(':') {
                format!("[{ip}]:{}", b.host_port)
            } else {
                format!("{ip}:{}", b.host_port)
            };
            lines.push(if wanted.is_some() {
                host
            } else {
                format!("{port} -> {host}")
            });
        }
    }
    if lines.is_empty()
        && let Some(w) = &wanted
    {
        return Err(Failure::new(
            1,
            format!("Error: No public port '{w}' published for {}", a.container),
        ));
    }
    for l in lines {
        writeln!(io.stdout, "{l}")?;
    }
    Ok(())
}
