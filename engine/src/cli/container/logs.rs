//! `berth logs`: the json-file log, with `-f`, `--tail`, `-t`, `--since`,
//! `--until`.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::time::Duration;

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::Status;
use crate::container::logs::{Entry, Selection, parse_time, read_entries};

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs since timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

fn emit(e: &Entry, timestamps: bool, io: &mut Io<'_>) -> std::io::Result<()> {
    let text = if timestamps {
        format!("{} {}", e.time, e.log)
    } else {
        e.log.clone()
    };
    if e.stream == "stderr" {
        io.stderr.write_all(text.as_bytes())?;
        io.stderr.flush()
    } else {
        io.stdout.write_all(text.as_bytes())?;
        io.stdout.flush()
    }
}

/// Runs `logs`.
pub fn run(a: &LogsArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let now = chrono::Utc::now();
    let time = |flag: &str, v: &Option<String>| -> Result<_, Failure> {
        v.as_deref()
            .map(|t| {
                parse_time(t, now).ok_or_else(|| {
                    Failure::new(1, format!("invalid value for \"{flag}\": failed to parse value as time or duration: \"{t}\""))
                })
            })
            .transpose()
    };
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => Some(n.parse::<i64>().map_or(None, |n| usize::try_from(n).ok())).flatten(),
    };
    let sel = Selection {
        tail,
        since: time("since", &a.since)?,
        until: time("until", &a.until)?,
    };
    let engine = g.engine()?;
    let c = engine
        .get(&a.container)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    let mut file = match std::fs::File::open(&c.log_path) {
        Ok(f) => f,
        Err(_) if !a.follow => return Ok(()),
        Err(e) => return Err(Failure::new(1, format!("Error response from daemon: {e}"))),
    };
    let entries = read_entries(BufReader::new(&mut file));
    for e in sel.apply(entries) {
        emit(&e, a.timestamps, io)?;
    }
    if !a.follow {
        return Ok(());
    }
    // Follow: new lines as they come, until the container stops.
    let mut pos = file.seek(SeekFrom::End(0))?;
    loop {
        let running = engine.get(&c.id).is_ok_and(|c| {
            matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting
            )
        });
        file.seek(SeekFrom::Start(pos))?;
        let mut reader = BufReader::new(&mut file);
        let mut line = String::new();
        while reader.read_line(&mut line)? > 0 {
            if !line.ends_with('\n') {
                break;
            }
            pos += line.len() as u64;
            if let Ok(e) = serde_json::from_str::<Entry>(&line)
                && sel.keeps(&e)
            {
                emit(&e, a.timestamps, io)?;
            }
            line.clear();
        }
        if !running {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
