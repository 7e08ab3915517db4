//! `berth stats`: Docker's columns (`CONTAINER ID`, `NAME`, `CPU %`,
//! `MEM USAGE / LIMIT`, `MEM %`, `NET I/O`, `BLOCK I/O`, `PIDS`), a table
//! refreshed every second until interrupted, or printed once with
//! `--no-stream`; `-a`, `--no-trunc`, `--format` (`json`, templates with
//! Docker's field names).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use gotmpl::tmap;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::stats::{Figures, Reading, figures, layout, machine_memory, read};
use crate::container::{Container, Engine, Status};
use crate::format::units::{go_g, human_size_precision};
use crate::format::{Row, TABLE_KEY, write_list};

const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template
    #[arg(long, value_name = "string")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Containers
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// The binary units of `units.BytesSize`.
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// `units.BytesSize`: `size` in binary units with four significant
/// digits (`1.5MiB`, `7.668GiB`).
pub fn bytes_size(size: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < BINARY_UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{}{}", go_g(value, 4), BINARY_UNITS[unit])
}

/// One container as the table shows it (`.Container` is the name it was
/// asked by, or its id).
pub fn row(asked: &str, c: &Container, f: &Figures, trunc: bool) -> Row {
    let id = if trunc { c.short_id() } else { c.id.as_str() };
    let name = if c.short_name().is_empty() {
        "--"
    } else {
        c.short_name()
    };
    let pair = |a: u64, b: u64| {
        format!(
            "{} / {}",
            human_size_precision(a, 3),
            human_size_precision(b, 3)
        )
    };
    Row {
        fields: tmap! {
            "Container" => asked,
            "Name" => name,
            "ID" => id,
            "CPUPerc" => format!("{:.2}%", f.cpu_percent),
            "MemUsage" => format!("{} / {}", bytes_size(f.memory), bytes_size(f.memory_limit)),
            "MemPerc" => format!("{:.2}%", f.memory_percent),
            "NetIO" => pair(f.net.0, f.net.1),
            "BlockIO" => pair(f.block.0, f.block.1),
            "PIDs" => f.pids.to_string(),
        },
        labels: Arc::default(),
    }
}

/// The table's header.
fn header() -> gotmpl::Value {
    tmap! {
        "Container" => "CONTAINER",
        "Name" => "NAME",
        "ID" => "CONTAINER ID",
        "CPUPerc" => "CPU %",
        "MemUsage" => "MEM USAGE / LIMIT",
        "MemPerc" => "MEM %",
        "NetIO" => "NET I/O",
        "BlockIO" => "BLOCK I/O",
        "PIDs" => "PIDS",
    }
}

/// The containers to show, with the names they were asked by.
fn targets(a: &StatsArgs, engine: &Engine) -> Result<Vec<(String, Container)>, Failure> {
    if a.containers.is_empty() {
        let list = engine.list().map_err(|e| Failure::new(1, e.to_string()))?;
        return Ok(list
            .into_iter()
            .filter(|c| {
                a.all
                    || matches!(
                        c.state.status,
                        Status::Running | Status::Paused | Status::Restarting
                    )
            })
            .map(|c| (c.id.clone(), c))
            .collect());
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for name in &a.containers {
        match engine.get(name) {
            Ok(c) => out.push((name.clone(), c)),
            Err(e) => errors.push(format!("Error response from daemon: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// Runs `stats`.
pub fn run(a: &StatsArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let format = match a.format.as_deref().filter(|f| !f.is_empty()) {
        None | Some(TABLE_KEY) => TABLE.to_owned(),
        Some(other) => other.to_owned(),
    };
    // A bad template fails before anything is read.
    write_list(&format, &[], &header()).map_err(|e| Failure::new(1, e))?;
    let engine = g.engine()?;
    let layout = layout();
    let memory = machine_memory();
    let mut shown = targets(a, &engine)?;
    let mut previous: HashMap<String, Reading> = shown
        .iter()
        .map(|(_, c)| (c.id.clone(), read(c, layout)))
        .collect();
    if !a.no_stream {
        write!(io.stdout, "\x1b[2J")?;
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let mut current = HashMap::new();
        let mut rows = Vec::with_capacity(shown.len());
        for (asked, c) in &shown {
            // The state now (a container may have stopped or started).
            let c = engine.get(&c.id).unwrap_or_else(|_| c.clone());
            let now = read(&c, layout);
            let before = previous.get(&c.id).cloned().unwrap_or_default();
            rows.push(row(asked, &c, &figures(&before, &now, memory), !a.no_trunc));
            current.insert(c.id.clone(), now);
        }
        let text = write_list(&format, &rows, &header()).map_err(|e| Failure::new(1, e))?;
        if a.no_stream {
            io.stdout.write_all(text.as_bytes())?;
            return Ok(());
        }
        // Over the previous frame: home, each line cleared to its end,
        // then what is left of the screen.
        let mut frame = String::from("\x1b[H");
        for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
            frame.push_str(line);
            frame.push_str("\x1b[K\n");
        }
        frame.push_str("\x1b[J");
        io.stdout.write_all(frame.as_bytes())?;
        io.stdout.flush()?;
        previous = current;
        if a.containers.is_empty() {
            shown = targets(a, &engine)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_bytes_size() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1023), "1023B");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(64 * 1024 * 1024), "64MiB");
        assert_eq!(bytes_size(8_233_136_128), "7.668GiB");
    }

    fn container() -> Container {
        Container {
            id: "0123456789ab".repeat(5) + "cdef",
            name: "/web".into(),
            ..Container::default()
        }
    }

    fn figures() -> Figures {
        Figures {
            cpu_percent: 12.345,
            memory: 3 << 20,
            memory_limit: 64 << 20,
            memory_percent: 4.6875,
            net: (1_250, 0),
            block: (4096, 123_456_789),
            pids: 2,
        }
    }

    #[test]
    fn the_table_reads_as_dockers() {
        let out = write_list(
            TABLE,
            &[row("web", &container(), &figures(), true)],
            &header(),
        )
        .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>().join(" "),
            "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS"
        );
        assert_eq!(
            lines[1]
                .split("   ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
            [
                "0123456789ab",
                "web",
                "12.35%",
                "3MiB / 64MiB",
                "4.69%",
                "1.25kB / 0B",
                "4.1kB / 123MB",
                "2"
            ]
        );
    }

    #[test]
    fn json_has_dockers_fields() {
        let out = write_list(
            "json",
            &[row("web", &container(), &figures(), false)],
            &header(),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["Container"], "web");
        assert_eq!(v["ID"], container().id);
        assert_eq!(v["MemPerc"], "4.69%");
        assert_eq!(v["PIDs"], "2");
        assert_eq!(v.as_object().unwrap().len(), 9);
    }
}
