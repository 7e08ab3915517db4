//! `berth volume ls`: Docker's columns (`DRIVER`, `VOLUME NAME`), `-q`,
//! `--filter`, `--format`.

use std::sync::Arc;

use clap::Args;
use gotmpl::{Value, tmap};

use super::{container_use, open};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::{ListFilter, ListFormat};
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::format::natural_order::natural_cmp;
use crate::format::{RAW_KEY, Row, TABLE_KEY, write_list};
use crate::volume::Volume;
use crate::volume::filter::{LIST_KEYS, VolumeFilters};

const PATH: &str = "berth volume ls";
const USAGE: &str = "berth volume ls [OPTIONS]";

/// The default table.
pub const TABLE: &str = "table {{.Driver}}\t{{.Name}}";

/// `berth volume ls`.
#[derive(Debug, Args)]
#[command(
    override_usage = USAGE,
    mut_arg("filter", |a| a.help("Provide filter values (e.g. \"dangling=true\")"))
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
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
}

/// The format `ls` uses for `--format` and `-q`, as docker's volume
/// formatter.
pub fn list_format(format: Option<&str>, quiet: bool) -> String {
    match format.filter(|f| !f.is_empty()).unwrap_or(TABLE_KEY) {
        TABLE_KEY if quiet => "{{.Name}}".to_owned(),
        TABLE_KEY => TABLE.to_owned(),
        RAW_KEY if quiet => "name: {{.Name}}".to_owned(),
        RAW_KEY => r"name: {{.Name}}\ndriver: {{.Driver}}\n".to_owned(),
        other => other.to_owned(),
    }
}

/// The column names.
pub fn header() -> Value {
    tmap! {
        "Name" => "VOLUME NAME",
        "Driver" => "DRIVER",
        "Scope" => "SCOPE",
        "Mountpoint" => "MOUNTPOINT",
        "Labels" => "LABELS",
        "Links" => "LINKS",
        "Size" => "SIZE",
        "Group" => "GROUP",
        "Availability" => "AVAILABILITY",
        "Status" => "STATUS",
    }
}

/// One volume's row (sizes and links are not computed by `ls`: `N/A`).
pub fn row(v: &Volume) -> Row {
    Row {
        fields: tmap! {
            "Name" => v.name.as_str(),
            "Driver" => v.driver.as_str(),
            "Scope" => v.scope.as_str(),
            "Mountpoint" => v.mountpoint.as_str(),
            "Labels" => v.labels_text(),
            "Links" => "N/A",
            "Size" => "N/A",
            "Group" => "N/A",
            "Availability" => "N/A",
            "Status" => "N/A",
        },
        labels: Arc::new(v.labels.clone().unwrap_or_default()),
    }
}

impl LsArgs {
    /// Lists the volumes, by name.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::None, self.extra.len())?;
        let filters = VolumeFilters::parse(&self.filters.filter, LIST_KEYS)
            .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
        let mut volumes = open(&g.root)?.list().map_err(|e| super::daemon(&e))?;
        let users = container_use(g)?;
        volumes.retain(|v| filters.keep(v, users.volume_links(&v.name)));
        volumes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        let rows: Vec<Row> = volumes.iter().map(row).collect();
        let format = list_format(self.format.get(), self.quiet);
        let out = write_list(&format, &rows, &header()).map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_carry_dockers_fields() {
        let v = Volume {
            name: "data".into(),
            driver: "local".into(),
            scope: "local".into(),
            mountpoint: "/v/data/_data".into(),
            ..Default::default()
        };
        let out = write_list("json", &[row(&v)], &header()).unwrap();
        assert_eq!(
            out,
            "{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"\",\"Links\":\"N/A\",\"Mountpoint\":\"/v/data/_data\",\"Name\":\"data\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}\n"
        );
        assert_eq!(
            write_list(&list_format(Some("raw"), false), &[row(&v)], &header()).unwrap(),
            "name: data\ndriver: local\n\n"
        );
    }
}
