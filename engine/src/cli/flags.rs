//! Flag groups that several commands share, declared once and flattened
//! into each (`#[command(flatten)]`): a listing's `--format` and
//! `--filter`, an inspect's `--format`, a prune's `--filter` and
//! `--force`. A command whose help words a flag its own way (docker's
//! examples differ) says so with `mut_arg`.

use clap::Args;

use super::exit::Failure;
use super::io::{Io, confirm};
use super::opts::parse_filter;
use crate::format::inspect::InspectFormat;

/// Docker's exit code for a template that does not parse.
pub const TEMPLATE_ERROR_CODE: i32 = 64;

/// `--format` of a listing.
#[derive(Debug, Clone, Default, Args)]
pub struct ListFormat {
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
}

impl ListFormat {
    /// The format given, if any.
    pub fn get(&self) -> Option<&str> {
        self.format.as_deref()
    }
}

/// `-f, --format` of an inspect: JSON, or a Go template per object.
#[derive(Debug, Clone, Default, Args)]
pub struct InspectFlags {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
}

impl InspectFlags {
    /// The format given, if any.
    pub fn get(&self) -> Option<&str> {
        self.format.as_deref()
    }

    /// The format asked for; a template that does not parse exits 64, as
    /// docker's.
    pub fn parse(&self) -> Result<InspectFormat, Failure> {
        InspectFormat::parse(self.get()).map_err(|e| Failure::new(TEMPLATE_ERROR_CODE, e))
    }
}

/// `-f, --filter` of a listing, each value checked and normalized (see
/// [`parse_filter`]).
#[derive(Debug, Clone, Default, Args)]
pub struct ListFilter {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
}

/// `-f, --force` of a command that asks before it removes.
#[derive(Debug, Clone, Default, Args)]
pub struct Force {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

impl Force {
    /// Whether to go ahead: forced, or `warning` answered yes.
    pub fn confirmed(&self, io: &mut Io<'_>, warning: &str) -> Result<bool, Failure> {
        Ok(self.force || confirm(io, warning)?)
    }
}

/// `--filter` and `-f, --force` of a prune.
#[derive(Debug, Clone, Default, Args)]
pub struct PruneFlags {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Whether to ask first.
    #[command(flatten)]
    pub force: Force,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    #[command(mut_arg("filter", |a| a.help("Prune these")))]
    struct Prune {
        #[command(flatten)]
        prune: PruneFlags,
    }

    #[test]
    fn a_command_words_a_shared_flag_its_own_way() {
        let help = Prune::command().render_help().to_string();
        assert!(help.contains("Prune these"), "{help}");
        assert!(help.contains("-f, --force"), "{help}");
        let p = Prune::try_parse_from(["prune", "--filter", "Label = x", "-f"]).unwrap();
        assert_eq!(p.prune.filter, ["label=x"]);
        assert!(p.prune.force.force);
        assert!(Prune::try_parse_from(["prune", "--filter", "x"]).is_err());
    }

    #[test]
    fn forced_commands_ask_nothing() {
        let (mut input, mut out, mut err) = (&b"n\n"[..], Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
        };
        let forced = Force { force: true };
        assert!(forced.confirmed(&mut io, "Sure? [y/N] ").unwrap());
        assert!(!Force::default().confirmed(&mut io, "Sure? [y/N] ").unwrap());
        assert_eq!(out, b"Sure? [y/N] ");
    }

    #[test]
    fn bad_inspect_templates_exit_64() {
        let flags = InspectFlags {
            format: Some("{{".into()),
        };
        assert_eq!(flags.parse().unwrap_err().code, TEMPLATE_ERROR_CODE);
        assert!(InspectFlags::default().parse().is_ok());
    }
}
