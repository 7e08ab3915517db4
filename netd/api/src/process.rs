//! A process's identity as `/proc/PID/stat` shows it, for sandbox owners:
//! the engine names the process a sandbox is for (its pid and start time,
//! see [`SandboxOwner`]), and netd checks that this very process still
//! runs. A pid alone is not enough: once the owner has exited, the kernel
//! may give its pid to another process, whose start time differs.

use crate::types::SandboxOwner;

/// What netd and the engine read from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The state letter (`R`, `S`, `D`, `Z` for a zombie, `X` for dead…).
    pub state: char,
    /// Field 22: when the process started, in clock ticks after boot.
    pub start_time: u64,
}

impl Stat {
    /// Whether the process has exited (a zombie not reaped yet has).
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so the fields
/// are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    // Field 3 is the state; field 22 the start time, 19 fields later.
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// The stat of process `pid`, or `None` when there is no such process.
pub fn stat(pid: i32) -> Option<Stat> {
    if pid <= 0 {
        return None;
    }
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

impl SandboxOwner {
    /// The calling process, as a sandbox's owner.
    pub fn current() -> Option<Self> {
        let pid = i32::try_from(std::process::id()).ok()?;
        let s = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        Some(Self {
            pid,
            start_time: s.start_time,
        })
    }

    /// Whether the owner runs: its pid is a live process (not a zombie)
    /// that started when the owner did.
    pub fn is_running(&self) -> bool {
        self.matches(stat(self.pid))
    }

    /// Whether `stat`, read for the owner's pid, is the owner's, running.
    pub fn matches(&self, stat: Option<Stat>) -> bool {
        stat.is_some_and(|s| s.start_time == self.start_time && !s.exited())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line as the kernel writes it, with `comm`, `state` and
    /// `start`.
    fn line(comm: &str, state: char, start: u64) -> String {
        format!(
            "4242 ({comm}) {state} 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {start} 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn the_start_time_is_field_22_whatever_the_command_name() {
        for comm in ["berth", "a b", "x) S 1 (y", ")("] {
            let s = parse_stat(&line(comm, 'S', 987_654)).unwrap();
            assert_eq!(s.start_time, 987_654, "{comm}");
            assert_eq!(s.state, 'S', "{comm}");
        }
        assert_eq!(parse_stat("4242 (short) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn an_owner_runs_only_as_the_same_living_process() {
        let owner = SandboxOwner {
            pid: 4242,
            start_time: 100,
        };
        let at = |state, start| parse_stat(&line("berth", state, start));
        assert!(owner.matches(at('S', 100)));
        assert!(owner.matches(at('R', 100)));
        assert!(!owner.matches(None), "no such process");
        assert!(!owner.matches(at('S', 101)), "the pid was reused");
        assert!(!owner.matches(at('Z', 100)), "exited, not reaped yet");
    }

    #[test]
    fn this_process_is_its_own_running_owner() {
        let me = SandboxOwner::current().unwrap();
        assert_eq!(me.pid, i32::try_from(std::process::id()).unwrap());
        assert!(me.is_running());
        let older = SandboxOwner {
            start_time: me.start_time.wrapping_add(1),
            ..me
        };
        assert!(!older.is_running());
        assert!(!SandboxOwner { pid: 0, ..me }.is_running());
    }
}
