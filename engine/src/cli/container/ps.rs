//! `berth ps`: Docker's columns (`CONTAINER ID`, `IMAGE`, `COMMAND`,
//! `CREATED`, `STATUS`, `PORTS`, `NAMES`), `-a`, `-q`, `-n`, `-l`,
//! `--no-trunc`, `--filter`, `--format`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Args;
use gotmpl::tmap;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::{Container, Status};
use crate::format::units::human_duration;
use crate::format::{RAW_KEY, Row, TABLE_KEY, write_list};

const TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedAt}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

/// Docker's `STATUS` text.
pub fn status_text(c: &Container, now: DateTime<Utc>) -> String {
    let ago = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| human_duration((now - t.with_timezone(&Utc)).num_seconds()))
            .unwrap_or_default()
    };
    match c.state.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", ago(&c.state.started_at)),
        Status::Paused => format!("Up {} (Paused)", ago(&c.state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            c.state.exit_code,
            ago(&c.state.finished_at)
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            c.state.exit_code,
            ago(&c.state.finished_at)
        ),
        Status::Dead => "Dead".into(),
    }
}

/// Docker's `PORTS` text: `0.0.0.0:8080->80/tcp, :::8080->80/tcp`.
pub fn ports_text(c: &Container) -> String {
    let mut out = Vec::new();
    for (port, bindings) in &c.network_settings.ports {
        for b in bindings {
            let ip = if b.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                b.host_ip.as_str()
            };
            out.push(format!("{ip}:{}->{port}", b.host_port));
        }
        if bindings.is_empty() {
            out.push(port.clone());
        }
    }
    out.join(", ")
}

fn matches(c: &Container, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| match k.as_str() {
        "id" => c.id.starts_with(v.as_str()),
        "name" => c.short_name().contains(v.as_str()),
        "status" => c.state.status.as_str() == v,
        "label" => match v.split_once('=') {
            Some((lk, lv)) => c.config.labels.get(lk).is_some_and(|x| x == lv),
            None => c.config.labels.contains_key(v.as_str()),
        },
        "exited" => c.state.status == Status::Exited && c.state.exit_code.to_string() == *v,
        "ancestor" => {
            c.config.image == *v
                || c.image
                    .trim_start_matches("sha256:")
                    .starts_with(v.as_str())
        }
        "network" => {
            c.host_config.network_mode == *v || c.network_requests.iter().any(|n| n.name == *v)
        }
        _ => true,
    })
}

/// Runs `ps`.
pub fn run(a: &PsArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let mut filters = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            Failure::new(
                1,
                "Error response from daemon: bad format of filter (expected name=value)",
            )
        })?;
        if ![
            "id", "name", "status", "label", "exited", "ancestor", "network",
        ]
        .contains(&k)
        {
            return Err(Failure::new(
                1,
                format!("Error response from daemon: invalid filter '{k}'"),
            ));
        }
        filters.push((k.to_owned(), v.to_owned()));
    }
    let engine = g.engine()?;
    let mut list = engine.list().map_err(|e| Failure::new(1, e.to_string()))?;
    let limit = if a.latest { 1 } else { a.last };
    let show_all =
        a.all || limit > 0 || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    list.retain(|c| {
        (show_all
            || matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting
            ))
            && matches(c, &filters)
    });
    if limit > 0 {
        list.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let now = Utc::now();
    let format = match a.format.as_deref().filter(|f| !f.is_empty()).unwrap_or(TABLE_KEY) {
        TABLE_KEY if a.quiet => "{{.ID}}".to_owned(),
        TABLE_KEY => TABLE.to_owned(),
        RAW_KEY => "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstatus: {{.Status}}\nnames: {{.Names}}\n".to_owned(),
        other => other.to_owned(),
    };
    let rows: Vec<Row> = list.iter().map(|c| row(c, !a.no_trunc, now)).collect();
    let header = tmap! {
        "ID" => "CONTAINER ID",
        "Image" => "IMAGE",
        "Command" => "COMMAND",
        "CreatedAt" => "CREATED",
        "RunningFor" => "CREATED",
        "Status" => "STATUS",
        "Ports" => "PORTS",
        "Names" => "NAMES",
        "State" => "STATE",
        "Labels" => "LABELS",
        "Networks" => "NETWORKS",
        "Size" => "SIZE",
        "Mounts" => "MOUNTS",
    };
    let text = write_list(&format, &rows, &header).map_err(|e| Failure::new(1, e))?;
    io.stdout.write_all(text.as_bytes())?;
    Ok(())
}

fn row(c: &Container, trunc: bool, now: DateTime<Utc>) -> Row {
    let id = if trunc {
        c.short_id().to_owned()
    } else {
        c.id.clone()
    };
    let mut command = c.argv().join(" ");
    if trunc && command.chars().count() > 20 {
        command = format!("{}…", command.chars().take(19).collect::<String>());
    }
    let command = format!("\"{command}\"");
    let created = DateTime::parse_from_rfc3339(&c.created)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let running_for = format!("{} ago", human_duration((now - created).num_seconds()));
    let networks: Vec<String> = c.network_requests.iter().map(|n| n.name.clone()).collect();
    let labels: Vec<String> = c
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let label_map: BTreeMap<String, String> = c.config.labels.clone();
    Row {
        fields: tmap! {
            "ID" => id.as_str(),
            "Image" => c.config.image.as_str(),
            "Command" => command.as_str(),
            "CreatedAt" => running_for.as_str(),
            "RunningFor" => running_for.as_str(),
            "Status" => status_text(c, now),
            "State" => c.state.status.as_str(),
            "Ports" => ports_text(c),
            "Names" => c.short_name(),
            "Labels" => labels.join(","),
            "Networks" => networks.join(","),
            "Size" => "0B",
            "Mounts" => "",
        },
        labels: Arc::new(label_map),
    }
}
