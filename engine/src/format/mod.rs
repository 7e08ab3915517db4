//! Output formatting as the docker CLI does it: `--format` keys (`table`,
//! `json`, `raw`, Go templates), aligned tables, JSON, sizes and durations
//! as go-units prints them ([`units`]). Pure functions: no
//! I/O, no daemon.

pub mod go_time;
pub mod inspect;
pub mod json;
pub mod natural_order;
pub mod network;
pub mod tabwriter;
pub mod template;
pub mod units;

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{MissingKey, Value};

use self::json::JsonStyle;
use self::template::{FuncSet, LabelMethod, Options, compile, render};

/// The `--format` key for a table (alone, or followed by a template).
pub const TABLE_KEY: &str = "table";
/// The `--format` key for one JSON object per line.
pub const JSON_KEY: &str = "json";
/// The `--format` key for `key: value` lines.
pub const RAW_KEY: &str = "raw";

/// One row of a listing: its template data, and its labels for
/// `.Label "key"`.
#[derive(Debug, Clone)]
pub struct Row {
    /// What the template sees as `.`.
    pub fields: Value,
    /// The object's labels.
    pub labels: Arc<BTreeMap<String, String>>,
}

/// Renders a listing as docker's `formatter.Context.Write` does: `format`
/// is the resolved format (the caller has turned keys such as `table` alone
/// into its default template); a `table …` format gets `header` rendered
/// as its first line and is aligned into columns; `json` prints each row as
/// a JSON object. Errors read `template parsing error: …`, and then nothing
/// is printed.
pub fn write_list(format: &str, rows: &[Row], header: &Value) -> Result<String, String> {
    let is_table = format.starts_with(TABLE_KEY);
    let body = match format.strip_prefix(TABLE_KEY) {
        Some(rest) => rest,
        None if format == JSON_KEY => "{{json .}}",
        None => format,
    };
    let body = body
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    let row_options = |labels: &Arc<BTreeMap<String, String>>| Options {
        funcs: FuncSet::Basic,
        json: JsonStyle::Listing,
        missing_key: MissingKey::Error,
        label: LabelMethod::Row(Arc::clone(labels)),
    };
    let parse_error = |e: String| format!("template parsing error: {e}");
    compile(&body, &row_options(&Arc::default())).map_err(parse_error)?;

    let mut out = String::new();
    for row in rows {
        let compiled = compile(&body, &row_options(&row.labels)).map_err(parse_error)?;
        let rendered = render(&compiled, &row.fields);
        if let Some(e) = rendered.error {
            return Err(parse_error(e));
        }
        out.push_str(&rendered.output);
        out.push('\n');
    }
    if !is_table {
        return Ok(out);
    }
    let header_options = Options {
        funcs: FuncSet::Header,
        json: JsonStyle::Listing,
        missing_key: MissingKey::Invalid,
        label: LabelMethod::Header,
    };
    // Go ignores the header's execution error and keeps what it wrote.
    let head = compile(&body, &header_options)
        .map(|c| render(&c, header).output)
        .unwrap_or_default();
    Ok(tabwriter::align_table(&format!("{head}\n{out}")))
}

#[cfg(test)]
mod tests {
    use gotmpl::tmap;

    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row {
                fields: tmap! { "ID" => "1", "Name" => "alpha" },
                labels: Arc::new(BTreeMap::from([("tier".to_owned(), "db".to_owned())])),
            },
            Row {
                fields: tmap! { "ID" => "2", "Name" => "b" },
                labels: Arc::default(),
            },
        ]
    }

    fn header() -> Value {
        tmap! { "ID" => "ID", "Name" => "NAME" }
    }

    #[test]
    fn a_table_gets_a_header_and_aligned_columns() {
        let out = write_list("table {{.ID}}\t{{.Name}}", &rows(), &header()).unwrap();
        assert_eq!(out, "ID        NAME\n1         alpha\n2         b\n");
    }

    #[test]
    fn escaped_tabs_and_newlines_in_the_format_are_real_ones() {
        let out = write_list(r"table {{.Name}}\t{{.ID}}", &rows(), &header()).unwrap();
        assert_eq!(out, "NAME      ID\nalpha     1\nb         2\n");
        let out = write_list(r"{{.Name}}\n", &rows(), &header()).unwrap();
        assert_eq!(out, "alpha\n\nb\n\n");
    }

    #[test]
    fn a_plain_template_prints_rows_only() {
        let out = write_list("{{.Name}}: {{.ID}}", &rows(), &header()).unwrap();
        assert_eq!(out, "alpha: 1\nb: 2\n");
    }

    #[test]
    fn json_prints_one_object_per_line() {
        let out = write_list("json", &rows(), &header()).unwrap();
        assert_eq!(
            out,
            "{\"ID\":\"1\",\"Name\":\"alpha\"}\n{\"ID\":\"2\",\"Name\":\"b\"}\n"
        );
    }

    #[test]
    fn an_empty_table_still_has_its_header_and_other_formats_print_nothing() {
        assert_eq!(write_list("table {{.ID}}", &[], &header()).unwrap(), "ID\n");
        assert_eq!(write_list("{{.ID}}", &[], &header()).unwrap(), "");
    }

    #[test]
    fn label_method_in_rows_and_header() {
        let out = write_list("table {{.Name}}\t{{.Label \"tier\"}}", &rows(), &header()).unwrap();
        // The header stops where Go's header execution fails.
        assert_eq!(out, "NAME      \nalpha     db\nb         \n");
    }

    #[test]
    fn unknown_fields_are_template_errors() {
        let err = write_list("{{.Nope}}", &rows(), &header()).unwrap_err();
        assert!(err.starts_with("template parsing error: "), "{err}");
        let err = write_list("{{.Name", &rows(), &header()).unwrap_err();
        assert!(
            err.starts_with("template parsing error: template: "),
            "{err}"
        );
    }
}
