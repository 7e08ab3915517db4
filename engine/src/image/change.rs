//! `import --change`: the Dockerfile instructions that set image config
//! (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `ONBUILD`,
//! `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR`) applied to a container
//! config, as pure logic.

use std::collections::BTreeMap;

use super::config::{ContainerConfig, Empty};
use super::error::{ImageError, Result};

/// Applies one `--change` line to `config`.
pub fn apply_change(config: &mut ContainerConfig, line: &str) -> Result<()> {
    let line = line.trim();
    let (instruction, args) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(i, a)| (i, a.trim()));
    let invalid = |msg: &str| ImageError::Invalid(msg.to_owned());
    match instruction.to_ascii_uppercase().as_str() {
        "CMD" => config.cmd = Some(command(args)),
        "ENTRYPOINT" => config.entrypoint = Some(command(args)),
        "ENV" => {
            let env = config.env.get_or_insert_with(Vec::new);
            for (key, value) in pairs(args, "ENV")? {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
                env.push(format!("{key}={value}"));
            }
        }
        "LABEL" => {
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(pairs(args, "LABEL")?);
        }
        "EXPOSE" => {
            let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for port in words(args) {
                let port = if port.contains('/') {
                    port
                } else {
                    format!("{port}/tcp")
                };
                ports.insert(port, Empty {});
            }
        }
        "VOLUME" => {
            let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
            for v in json_array(args).unwrap_or_else(|| words(args)) {
                volumes.insert(v, Empty {});
            }
        }
        "USER" => config.user = one(args, "USER")?,
        "STOPSIGNAL" => config.stop_signal = one(args, "STOPSIGNAL")?,
        "WORKDIR" => {
            let dir = one(args, "WORKDIR")?;
            config.working_dir = if dir.starts_with('/') || config.working_dir.is_empty() {
                dir
            } else {
                format!("{}/{dir}", config.working_dir.trim_end_matches('/'))
            };
        }
        "ONBUILD" => config
            .on_build
            .get_or_insert_with(Vec::new)
            .push(args.to_owned()),
        "" => return Err(invalid("empty change")),
        other => {
            return Err(ImageError::Invalid(format!(
                "{other} is not a valid change command"
            )));
        }
    }
    Ok(())
}

/// The exec form (a JSON array of strings) or the shell form, run by
/// `/bin/sh -c`.
fn command(args: &str) -> Vec<String> {
    json_array(args).unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned(), args.to_owned()])
}

fn json_array(args: &str) -> Option<Vec<String>> {
    args.starts_with('[')
        .then(|| serde_json::from_str(args).ok())
        .flatten()
}

/// Exactly one argument.
fn one(args: &str, instruction: &str) -> Result<String> {
    match words(args).as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(ImageError::Invalid(format!(
            "{instruction} requires exactly one argument"
        ))),
    }
}

/// `key=value …`, or the legacy `key value` form.
fn pairs(args: &str, instruction: &str) -> Result<Vec<(String, String)>> {
    let words = words(args);
    let missing = || ImageError::Invalid(format!("{instruction} requires at least one argument"));
    if !words.first().ok_or_else(missing)?.contains('=') {
        let (key, value) = args.split_once(char::is_whitespace).ok_or_else(missing)?;
        return Ok(vec![(key.to_owned(), value.trim().to_owned())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(ImageError::Invalid(format!(
                "{instruction} names can not be blank"
            ))),
        })
        .collect()
}

/// Words split at unquoted white space; quotes removed, `\` escapes the
/// next character outside single quotes.
fn words(args: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                word.extend(chars.next());
                started = true;
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(lines: &[&str]) -> ContainerConfig {
        let mut c = ContainerConfig::default();
        for l in lines {
            apply_change(&mut c, l).unwrap();
        }
        c
    }

    #[test]
    fn commands_take_exec_and_shell_forms() {
        let c = applied(&[r#"CMD ["sh", "-c", "x"]"#, "ENTRYPOINT echo hi"]);
        assert_eq!(c.cmd.unwrap(), ["sh", "-c", "x"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "echo hi"]);
    }

    #[test]
    fn env_labels_ports_volumes() {
        let c = applied(&[
            "ENV A=1 B=\"two words\"",
            "ENV A 3",
            "LABEL com.x=y",
            "EXPOSE 80 53/udp",
            "VOLUME /data",
            "USER nobody",
            "WORKDIR /srv",
            "WORKDIR app",
        ]);
        assert_eq!(c.env.unwrap(), ["B=two words", "A=3"]);
        assert_eq!(c.labels.unwrap()["com.x"], "y");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert!(c.volumes.unwrap().contains_key("/data"));
        assert_eq!(c.user, "nobody");
        assert_eq!(c.working_dir, "/srv/app");
    }

    #[test]
    fn other_instructions_are_refused() {
        let mut c = ContainerConfig::default();
        let err = apply_change(&mut c, "RUN true").unwrap_err();
        assert_eq!(err.to_string(), "RUN is not a valid change command");
        assert!(apply_change(&mut c, "USER a b").is_err());
        assert!(apply_change(&mut c, "ENV").is_err());
    }
}
