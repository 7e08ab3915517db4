//! `berth network ls`.

use clap::Args;
use netd_api::client::Client;

use crate::cli::Io;
use crate::cli::exit::Failure;
use crate::cli::opts::{filters_json, parse_filter};
use crate::cli::usage::{Arity, check_arity};
use crate::format::network::{list_format, render_list};

const PATH: &str = "berth network ls";
const USAGE: &str = "berth network ls [OPTIONS]";

/// `berth network ls`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct LsArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
}

impl LsArgs {
    /// Checks the arguments.
    pub fn check(&self) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::None, self.extra.len())
    }

    /// Lists the networks.
    pub async fn run(self, client: &Client, io: &mut Io<'_>) -> Result<(), Failure> {
        let filters = filters_json(&self.filter);
        let networks = client
            .networks(filters.as_deref())
            .await
            .map_err(|e| Failure::client(&e))?;
        let format = list_format(self.format.as_deref(), self.quiet);
        let out =
            render_list(&networks, &format, !self.no_trunc).map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}
