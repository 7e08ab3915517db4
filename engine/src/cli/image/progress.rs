//! Docker's progress output for `pull` and `push`: one line per layer,
//! named by the first 12 hex digits of its digest. On a terminal each
//! layer's line is redrawn in place (`Downloading [==>   ] 12.3MB/45.6MB`);
//! otherwise every change of status is one plain line and byte counts
//! are not printed.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::format::units::human_size;
use crate::image::registry::layer::LayerStatus;
use crate::image::registry::push::PushStatus;

/// The width of a progress bar, as Docker draws it.
const BAR_WIDTH: u64 = 50;
/// How often a terminal line is redrawn for byte counts.
const REDRAW: Duration = Duration::from_millis(100);

/// `[=====>      ]  12.3MB/45.6MB`.
pub fn bar(current: u64, total: u64) -> String {
    let filled = (current.min(total) * BAR_WIDTH)
        .checked_div(total)
        .unwrap_or(0)
        .min(BAR_WIDTH);
    let head = if filled < BAR_WIDTH { ">" } else { "" };
    let eq = "=".repeat(usize::try_from(filled).unwrap_or(0));
    let pad = " ".repeat(
        usize::try_from(BAR_WIDTH - filled)
            .unwrap_or(0)
            .saturating_sub(head.len()),
    );
    format!(
        "[{eq}{head}{pad}] {:>8}/{}",
        human_size(current),
        human_size(total)
    )
}

/// The text of a pull status (`None` for byte counts when `plain`).
pub fn pull_text(status: LayerStatus, plain: bool) -> Option<String> {
    Some(match status {
        LayerStatus::Waiting => "Pulling fs layer".to_owned(),
        LayerStatus::AlreadyExists => "Already exists".to_owned(),
        LayerStatus::Downloading { .. } if plain => return None,
        LayerStatus::Downloading { current, total } => {
            format!("Downloading {}", bar(current, total))
        }
        LayerStatus::Resuming { kept } => format!("Resuming download at {}", human_size(kept)),
        LayerStatus::Verifying => "Verifying Checksum".to_owned(),
        LayerStatus::DownloadComplete => "Download complete".to_owned(),
        LayerStatus::PullComplete => "Pull complete".to_owned(),
    })
}

/// The text of a push status.
pub fn push_text(status: PushStatus) -> &'static str {
    match status {
        PushStatus::Preparing => "Preparing",
        PushStatus::AlreadyExists => "Layer already exists",
        PushStatus::Pushing => "Pushing",
        PushStatus::Pushed => "Pushed",
    }
}

/// The per-layer lines of one pull or push.
pub struct Progress<'a> {
    out: &'a mut dyn Write,
    terminal: bool,
    ids: Vec<String>,
    /// When each layer's line was last drawn (terminal only).
    drawn: Vec<Option<Instant>>,
    /// The layers in the order their lines were first drawn.
    order: Vec<usize>,
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl<'a> Progress<'a> {
    /// Progress written to `out`, redrawn in place when `terminal`.
    pub fn new(out: &'a mut dyn Write, terminal: bool) -> Self {
        Self {
            out,
            terminal,
            ids: Vec::new(),
            drawn: Vec::new(),
            order: Vec::new(),
        }
    }

    /// The layers' short ids.
    pub fn set_layers(&mut self, ids: Vec<String>) {
        self.drawn = vec![None; ids.len()];
        self.order.clear();
        self.ids = ids;
    }

    /// Shows `text` for layer `index`; on a terminal, byte counts
    /// (`byte_count`) are redrawn at most every 100 ms.
    pub fn update(&mut self, index: usize, text: &str, byte_count: bool) -> std::io::Result<()> {
        let Some(id) = self.ids.get(index) else {
            return Ok(());
        };
        let line = format!("{id}: {text}");
        if !self.terminal {
            return writeln!(self.out, "{line}");
        }
        let now = Instant::now();
        let Some(drawn) = self.drawn.get_mut(index) else {
            return Ok(());
        };
        if byte_count && drawn.is_some_and(|t| now.duration_since(t) < REDRAW) {
            return Ok(());
        }
        let first = drawn.is_none();
        *drawn = Some(now);
        if first {
            self.order.push(index);
            return writeln!(self.out, "{line}");
        }
        let up = self.order.len() - self.order.iter().position(|i| *i == index).unwrap_or(0);
        write!(self.out, "\x1b[{up}A\r\x1b[2K{line}\r\x1b[{up}B")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_proportion_as_dockers() {
        assert_eq!(bar(0, 1000), format!("[>{}]       0B/1kB", " ".repeat(49)));
        let half = bar(22_800_000, 45_600_000);
        assert!(half.starts_with(&format!("[{}>", "=".repeat(25))), "{half}");
        assert!(half.ends_with("]   22.8MB/45.6MB"), "{half}");
        assert_eq!(bar(10, 10), format!("[{}]      10B/10B", "=".repeat(50)));
    }

    #[test]
    fn plain_output_has_one_line_per_status_and_no_byte_counts() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        p.set_layers(vec!["aaaaaaaaaaaa".to_owned(), "bbbbbbbbbbbb".to_owned()]);
        for (i, status) in [
            (0, LayerStatus::Waiting),
            (1, LayerStatus::AlreadyExists),
            (
                0,
                LayerStatus::Downloading {
                    current: 1,
                    total: 2,
                },
            ),
            (0, LayerStatus::PullComplete),
        ] {
            if let Some(text) = pull_text(status, true) {
                p.update(i, &text, false).unwrap();
            }
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "aaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Already exists\naaaaaaaaaaaa: Pull complete\n"
        );
    }

    #[test]
    fn a_terminal_redraws_a_layers_line_in_place() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, true);
        p.set_layers(vec!["a".to_owned(), "b".to_owned()]);
        p.update(1, "Pulling fs layer", false).unwrap();
        p.update(0, "Pulling fs layer", false).unwrap();
        p.update(1, "Pull complete", false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "b: Pulling fs layer\na: Pulling fs layer\n\x1b[2A\r\x1b[2Kb: Pull complete\r\x1b[2B"
        );
    }

    #[test]
    fn push_statuses_read_as_dockers() {
        assert_eq!(push_text(PushStatus::AlreadyExists), "Layer already exists");
        assert_eq!(push_text(PushStatus::Pushed), "Pushed");
    }
}
