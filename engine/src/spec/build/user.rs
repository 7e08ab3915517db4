//! The container's user as runc's user package (and so Docker) resolves a
//! `--user` value against the container's own `/etc/passwd` and
//! `/etc/group`, plus `--group-add`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

use crate::spec::flags::MAX_ID;

/// The user the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// The groups as Docker gives them: the primary gid first, then the
    /// user's groups from `/etc/group`, then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// The home directory from `/etc/passwd`, if the user has an entry.
    pub home: Option<String>,
}

/// Why a user or group could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A user name with no `/etc/passwd` entry.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    /// A group name with no `/etc/group` entry.
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    /// A `--group-add` name with no `/etc/group` entry.
    #[error("Unable to find group {0}: no matching entries in group file")]
    UnknownAdditionalGroup(String),
    /// A numeric id outside 0–2³¹−1.
    #[error("uids and gids must be in range 0-{MAX_ID}")]
    Range(String),
    /// `/etc/passwd` or `/etc/group` could not be read.
    #[error("reading {} in the container's root file system {}: {source}", file.display(), rootfs.display())]
    Read {
        /// The root file system.
        rootfs: PathBuf,
        /// The file, inside it.
        file: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

/// A line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

/// A line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `user` (`name`, `uid`, `name:group`, `uid:gid`, or empty for
/// root) and the `--group-add` groups in the files of `rootfs`, as runc
/// does: a number is always an id (and needs no entry), a name needs one;
/// with no explicit group the user's primary group is its passwd gid, and
/// its supplementary groups are the groups that list it. Missing files are
/// empty; symbolic links in the root file system are resolved inside it.
pub fn resolve_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser, UserError> {
    let passwd = read_in_root(rootfs, "etc/passwd")?;
    let groups = parse_group(&read_in_root(rootfs, "etc/group")?);
    let mut parts = user.split(':');
    let user_arg = parts.next().unwrap_or_default();
    let group_arg = parts.next().unwrap_or_default();
    let uid_arg = user_arg.parse::<i64>().ok();
    let gid_arg = group_arg.parse::<i64>().ok();

    let entry = parse_passwd(&passwd).into_iter().find(|e| match uid_arg {
        _ if user_arg.is_empty() => e.uid == 0,
        Some(uid) => i64::from(e.uid) == uid,
        None => e.name == user_arg,
    });
    let (uid, mut gid, home, name) = match (entry, uid_arg) {
        (Some(e), _) => (e.uid, e.gid, Some(e.home), Some(e.name)),
        (None, _) if user_arg.is_empty() => (0, 0, None, None),
        (None, Some(uid)) => (in_range(uid, user_arg)?, 0, None, None),
        (None, None) => return Err(UserError::UnknownUser(user_arg.to_owned())),
    };

    let mut supplementary = Vec::new();
    if !group_arg.is_empty() {
        let found = groups.iter().find(|g| match gid_arg {
            Some(n) => i64::from(g.gid) == n,
            None => g.name == group_arg,
        });
        gid = match (found, gid_arg) {
            (Some(g), _) => g.gid,
            (None, Some(n)) => in_range(n, group_arg)?,
            (None, None) => return Err(UserError::UnknownGroup(group_arg.to_owned())),
        };
    } else if let Some(name) = &name {
        supplementary = groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
    }

    let mut additional_gids = vec![gid];
    additional_gids.extend(supplementary);
    let mut added = Vec::new();
    for wanted in group_add {
        let gid = match groups
            .iter()
            .find(|g| g.name == *wanted || g.gid.to_string() == *wanted)
        {
            Some(g) => g.gid,
            None => match wanted.parse::<i64>() {
                Ok(n) => in_range(n, wanted)?,
                Err(_) => return Err(UserError::UnknownAdditionalGroup(wanted.clone())),
            },
        };
        if !added.contains(&gid) {
            added.push(gid);
        }
    }
    additional_gids.extend(added);
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// `n` as an id, if in 0–2³¹−1.
fn in_range(n: i64, text: &str) -> Result<u32, UserError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_ID)
        .ok_or_else(|| UserError::Range(text.to_owned()))
}

/// The text of `file` under `rootfs`, resolving symbolic links as if
/// `rootfs` were `/`; empty when it does not exist.
fn read_in_root(rootfs: &Path, file: &str) -> Result<String, UserError> {
    let fail = |source| UserError::Read {
        rootfs: rootfs.to_owned(),
        file: PathBuf::from("/").join(file),
        source,
    };
    let root = File::open(rootfs).map_err(fail)?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .mode(Mode::empty())
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match openat2(&root, file, how) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(String::new()),
        Err(errno) => return Err(fail(errno.into())),
    };
    let mut bytes = Vec::new();
    File::from(fd).read_to_end(&mut bytes).map_err(fail)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The records of a colon-separated file, each line's fields.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().map(|line| line.trim().split(':').collect())
}

/// `/etc/passwd` entries (`name:password:uid:gid:gecos:home:shell`), lines
/// whose ids are not numbers skipped.
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    records(text)
        .filter_map(|fields| {
            Some(PasswdEntry {
                name: (*fields.first()?).to_owned(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
                home: fields.get(5).copied().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// `/etc/group` entries (`name:password:gid:member,member`).
fn parse_group(text: &str) -> Vec<GroupEntry> {
    records(text)
        .filter_map(|fields| {
            let members = fields.get(3).copied().unwrap_or_default();
            Some(GroupEntry {
                name: (*fields.first()?).to_owned(),
                gid: fields.get(2)?.parse().ok()?,
                members: members
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
