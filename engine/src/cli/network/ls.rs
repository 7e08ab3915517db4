//! `berth network ls`.

use clap::Args;
use netd_api::client::Client;

use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::{ListFilter, ListFormat};
use crate::cli::io::Io;
use crate::cli::opts::filters_json;
use crate::format::network::{list_format, render_list};

const PATH: &str = "berth network ls";
const USAGE: &str = "berth network ls [OPTIONS]";

/// `berth network ls`.
#[derive(Debug, Args)]
#[command(
    override_usage = USAGE,
    mut_arg("filter", |a| a.help("Provide filter values (e.g. \"driver=bridge\")"))
)]
pub struct LsArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// `-f, --filter`.
    #[command(flatten)]
    pub filters: ListFilter,
    /// `--format`.
    #[command(flatten)]
    pub format: ListFormat,
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
        let filters = filters_json(&self.filters.filter);
        let networks = client
            .networks(filters.as_deref())
            .await
            .map_err(|e| Failure::client(&e))?;
        let format = list_format(self.format.get(), self.quiet);
        let out =
            render_list(&networks, &format, !self.no_trunc).map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}
