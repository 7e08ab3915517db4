//! The process's resource limits: Docker's `nofile` default and the user's
//! `--ulimit`s, held under what the host allows. Without
//! `CAP_SYS_RESOURCE` a runtime cannot raise a hard limit, and asking it to
//! fails the start (`setrlimit … EPERM`), so every limit is capped at the
//! host's hard limit, and `nproc` at [`NPROC_CEILING`] besides.

use std::collections::BTreeMap;

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::SpecError;
use crate::spec::flags::{Ulimit, UlimitError};

/// Docker's `RLIMIT_NOFILE` for containers (soft and hard).
pub const DEFAULT_NOFILE: u64 = 1_048_576;
/// The most processes a container's user may have.
pub const NPROC_CEILING: u64 = 32_768;

/// `--ulimit` names and their rlimits.
const TYPES: [(&str, PosixRlimitType); 15] = [
    ("core", PosixRlimitType::RlimitCore),
    ("cpu", PosixRlimitType::RlimitCpu),
    ("data", PosixRlimitType::RlimitData),
    ("fsize", PosixRlimitType::RlimitFsize),
    ("locks", PosixRlimitType::RlimitLocks),
    ("memlock", PosixRlimitType::RlimitMemlock),
    ("msgqueue", PosixRlimitType::RlimitMsgqueue),
    ("nice", PosixRlimitType::RlimitNice),
    ("nofile", PosixRlimitType::RlimitNofile),
    ("nproc", PosixRlimitType::RlimitNproc),
    ("rss", PosixRlimitType::RlimitRss),
    ("rtprio", PosixRlimitType::RlimitRtprio),
    ("rttime", PosixRlimitType::RlimitRttime),
    ("sigpending", PosixRlimitType::RlimitSigpending),
    ("stack", PosixRlimitType::RlimitStack),
];

/// `/proc/<pid>/limits` row titles and their `--ulimit` names.
const PROC_TITLES: [(&str, &str); 15] = [
    ("Max cpu time", "cpu"),
    ("Max file size", "fsize"),
    ("Max data size", "data"),
    ("Max stack size", "stack"),
    ("Max core file size", "core"),
    ("Max resident set", "rss"),
    ("Max processes", "nproc"),
    ("Max open files", "nofile"),
    ("Max locked memory", "memlock"),
    ("Max file locks", "locks"),
    ("Max pending signals", "sigpending"),
    ("Max msgqueue size", "msgqueue"),
    ("Max nice priority", "nice"),
    ("Max realtime priority", "rtprio"),
    ("Max realtime timeout", "rttime"),
];

/// The process's rlimits: `nofile` at Docker's default, overridden by the
/// `ulimits` of the same name, each capped at `host_hard` (hard limits by
/// `--ulimit` name; a missing name is unlimited) and `nproc` at
/// [`NPROC_CEILING`]. A user's limit that had to be lowered gets a warning.
pub fn rlimits(
    ulimits: &[Ulimit],
    host_hard: &BTreeMap<String, u64>,
    warnings: &mut Vec<String>,
) -> Result<Vec<PosixRlimit>, SpecError> {
    let unlimited = |v: i64| u64::try_from(v).unwrap_or(u64::MAX);
    let mut wanted: Vec<(&str, u64, u64, bool)> =
        vec![("nofile", DEFAULT_NOFILE, DEFAULT_NOFILE, false)];
    for u in ulimits {
        wanted.retain(|(name, ..)| *name != u.name);
        wanted.push((u.name.as_str(), unlimited(u.soft), unlimited(u.hard), true));
    }
    wanted
        .into_iter()
        .map(|(name, soft, hard, from_user)| {
            let typ = TYPES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .ok_or_else(|| UlimitError::Type(name.to_owned()))?;
            let mut ceiling = host_hard.get(name).copied().unwrap_or(u64::MAX);
            if name == "nproc" {
                ceiling = ceiling.min(NPROC_CEILING);
            }
            let capped_hard = hard.min(ceiling);
            if from_user && capped_hard < hard {
                warnings.push(format!(
                    "ulimit {name} lowered to {capped_hard}, the most this host allows"
                ));
            }
            Ok(PosixRlimitBuilder::default()
                .typ(typ)
                .hard(capped_hard)
                .soft(soft.min(capped_hard))
                .build()?)
        })
        .collect()
}

/// Hard limits by `--ulimit` name from the text of `/proc/self/limits`
/// (`unlimited` as `u64::MAX`), for [`rlimits`]'s `host_hard`.
pub fn hard_limits_from_proc(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (title, name) = PROC_TITLES.iter().find(|(t, _)| {
                line.strip_prefix(t)
                    .is_some_and(|rest| rest.starts_with(' '))
            })?;
            let mut values = line[title.len()..].split_whitespace();
            let _soft = values.next()?;
            let hard = match values.next()? {
                "unlimited" => u64::MAX,
                n => n.parse().ok()?,
            };
            Some(((*name).to_owned(), hard))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96365                96365                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max nice priority         0                    0                    
";

    fn limit(rlimits: &[PosixRlimit], typ: PosixRlimitType) -> Option<(u64, u64)> {
        rlimits
            .iter()
            .find(|r| r.typ() == typ)
            .map(|r| (r.soft(), r.hard()))
    }

    #[test]
    fn proc_limits_give_the_hosts_hard_limits() {
        let hard = hard_limits_from_proc(PROC_LIMITS);
        assert_eq!(hard.get("nofile"), Some(&20000));
        assert_eq!(hard.get("nproc"), Some(&96365));
        assert_eq!(hard.get("cpu"), Some(&u64::MAX));
        assert_eq!(hard.get("nice"), Some(&0));
        assert_eq!(hard.len(), 6);
    }

    #[test]
    fn nofile_defaults_to_dockers_million_capped_at_the_hosts_hard_limit() {
        let host = hard_limits_from_proc(PROC_LIMITS);
        let mut warnings = Vec::new();
        let got = rlimits(&[], &host, &mut warnings).unwrap();
        assert_eq!(
            limit(&got, PosixRlimitType::RlimitNofile),
            Some((20000, 20000))
        );
        assert_eq!(got.len(), 1);
        assert!(warnings.is_empty());
        let got = rlimits(&[], &BTreeMap::new(), &mut warnings).unwrap();
        assert_eq!(
            limit(&got, PosixRlimitType::RlimitNofile),
            Some((DEFAULT_NOFILE, DEFAULT_NOFILE))
        );
    }

    #[test]
    fn user_ulimits_replace_defaults_and_are_capped_with_a_warning() {
        let host = hard_limits_from_proc(PROC_LIMITS);
        let ulimits = [
            Ulimit {
                name: "nofile".to_owned(),
                soft: 1024,
                hard: 50_000,
            },
            Ulimit {
                name: "nproc".to_owned(),
                soft: -1,
                hard: -1,
            },
            Ulimit {
                name: "core".to_owned(),
                soft: 0,
                hard: 0,
            },
        ];
        let mut warnings = Vec::new();
        let got = rlimits(&ulimits, &host, &mut warnings).unwrap();
        assert_eq!(
            limit(&got, PosixRlimitType::RlimitNofile),
            Some((1024, 20000))
        );
        assert_eq!(
            limit(&got, PosixRlimitType::RlimitNproc),
            Some((32768, 32768))
        );
        assert_eq!(limit(&got, PosixRlimitType::RlimitCore), Some((0, 0)));
        assert_eq!(warnings.len(), 2);
        assert_eq!(
            warnings[0],
            "ulimit nofile lowered to 20000, the most this host allows"
        );
    }

    #[test]
    fn unknown_ulimit_names_are_refused() {
        let bad = [Ulimit {
            name: "as".to_owned(),
            soft: 1,
            hard: 1,
        }];
        assert_eq!(
            rlimits(&bad, &BTreeMap::new(), &mut Vec::new())
                .unwrap_err()
                .to_string(),
            "invalid ulimit type: as"
        );
    }
}
