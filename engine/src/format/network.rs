//! How `network ls` and `network inspect` show networks, as docker's
//! network formatter does.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{Value, tmap};
use netd_api::types::NetworkResource;

use super::go_time::go_time_string;
use super::natural_order::natural_cmp;
use super::{RAW_KEY, Row, TABLE_KEY, write_list};

/// The default `ls` table.
pub const DEFAULT_TABLE_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
/// `ls -q`.
pub const QUIET_FORMAT: &str = "{{.ID}}";
/// `ls --format raw`.
pub const RAW_FORMAT: &str =
    r"network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n";
/// `ls -q --format raw`.
pub const RAW_QUIET_FORMAT: &str = "network_id: {{.ID}}";

/// The format `ls` uses for its `--format` and `-q` flags.
pub fn list_format(format: Option<&str>, quiet: bool) -> String {
    match format.filter(|f| !f.is_empty()).unwrap_or(TABLE_KEY) {
        TABLE_KEY if quiet => QUIET_FORMAT.to_owned(),
        TABLE_KEY => DEFAULT_TABLE_FORMAT.to_owned(),
        RAW_KEY if quiet => RAW_QUIET_FORMAT.to_owned(),
        RAW_KEY => RAW_FORMAT.to_owned(),
        other => other.to_owned(),
    }
}

/// Renders `networks` (sorted by name, naturally, as docker does) in
/// `format` (see [`list_format`]); ids are cut to 12 digits when `trunc`.
pub fn render_list(
    networks: &[NetworkResource],
    format: &str,
    trunc: bool,
) -> Result<String, String> {
    let mut sorted: Vec<&NetworkResource> = networks.iter().collect();
    sorted.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<Row> = sorted.into_iter().map(|n| list_row(n, trunc)).collect();
    write_list(format, &rows, &list_header())
}

/// The column names of `ls` tables, by field.
pub fn list_header() -> Value {
    tmap! {
        "ID" => "NETWORK ID",
        "Name" => "NAME",
        "Driver" => "DRIVER",
        "Scope" => "SCOPE",
        "IPv4" => "IPV4",
        "IPv6" => "IPV6",
        "Internal" => "INTERNAL",
        "Labels" => "LABELS",
        "CreatedAt" => "CREATED AT",
    }
}

/// What an `ls` template sees of one network: every field a string.
pub fn list_row(n: &NetworkResource, trunc: bool) -> Row {
    let id = if trunc {
        truncate_id(&n.id)
    } else {
        n.id.as_str()
    };
    Row {
        fields: tmap! {
            "ID" => id,
            "Name" => n.name.as_str(),
            "Driver" => n.driver.as_str(),
            "Scope" => n.scope.as_str(),
            "IPv4" => n.enable_ipv4.to_string(),
            "IPv6" => n.enable_ipv6.to_string(),
            "Internal" => n.internal.to_string(),
            "Labels" => labels_text(&n.labels),
            "CreatedAt" => go_time_string(&n.created),
        },
        labels: Arc::new(n.labels.clone()),
    }
}

/// Docker's `stringid.TruncateID`: what follows an algorithm prefix, cut
/// to 12 characters.
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    id.char_indices().nth(12).map_or(id, |(i, _)| &id[..i])
}

/// Adds the Go field names a template may use for an inspected network
/// (`.ID` beside `.Id`, `.AuxAddress` beside `.AuxiliaryAddresses`), as
/// docker runs templates on its typed structs first.
pub fn add_go_aliases(network: &mut serde_json::Value) {
    let Some(obj) = network.as_object_mut() else {
        return;
    };
    if let Some(id) = obj.get("Id").cloned() {
        obj.insert("ID".to_owned(), id);
    }
    let configs = obj
        .get_mut("IPAM")
        .and_then(|ipam| ipam.get_mut("Config"))
        .and_then(serde_json::Value::as_array_mut);
    for config in configs.into_iter().flatten() {
        if let Some(config) = config.as_object_mut()
            && let Some(aux) = config.get("AuxiliaryAddresses").cloned()
        {
            config.insert("AuxAddress".to_owned(), aux);
        }
    }
}

/// A network's labels as `k=v` pairs joined by commas (the `Labels` column).
pub fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID1: &str = "5e6b1b9c1f0f2d4d9e5b5a7c3c8e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e";
    const ID2: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    fn networks() -> Vec<NetworkResource> {
        vec![
            NetworkResource {
                name: "web10".to_owned(),
                id: ID1.to_owned(),
                created: "2025-03-04T05:06:07.120000000Z".to_owned(),
                scope: "local".to_owned(),
                driver: "bridge".to_owned(),
                enable_ipv4: true,
                enable_ipv6: true,
                labels: BTreeMap::from([
                    ("env".to_owned(), "prod".to_owned()),
                    ("com.example.tier".to_owned(), "<front>".to_owned()),
                ]),
                ..Default::default()
            },
            NetworkResource {
                name: "web9".to_owned(),
                id: ID2.to_owned(),
                created: "2025-03-04T05:06:07Z".to_owned(),
                scope: "local".to_owned(),
                driver: "bridge".to_owned(),
                enable_ipv4: true,
                internal: true,
                ..Default::default()
            },
        ]
    }

    #[test]
    fn default_table_has_dockers_columns_and_truncated_ids() {
        let out = render_list(&networks(), &list_format(None, false), true).unwrap();
        assert_eq!(
            out,
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             0a1b2c3d4e5f   web9      bridge    local\n\
             5e6b1b9c1f0f   web10     bridge    local\n"
        );
    }

    #[test]
    fn no_trunc_prints_whole_ids() {
        let out = render_list(&networks(), &list_format(None, false), false).unwrap();
        let header = out.lines().next().unwrap();
        assert_eq!(
            header,
            format!("NETWORK ID{}NAME      DRIVER    SCOPE", " ".repeat(67 - 10))
        );
        assert!(out.contains(&format!("{ID2}   web9 ")));
    }

    #[test]
    fn quiet_prints_truncated_ids_only() {
        let out = render_list(&networks(), &list_format(None, true), true).unwrap();
        assert_eq!(out, "0a1b2c3d4e5f\n5e6b1b9c1f0f\n");
    }

    #[test]
    fn quiet_with_a_custom_format_uses_the_format() {
        let out = render_list(&networks(), &list_format(Some("{{.Name}}"), true), true).unwrap();
        assert_eq!(out, "web9\nweb10\n");
    }

    #[test]
    fn json_lines_have_dockers_keys_as_strings() {
        let out = render_list(&networks(), &list_format(Some("json"), false), true).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"CreatedAt":"2025-03-04 05:06:07 +0000 UTC","Driver":"bridge","ID":"0a1b2c3d4e5f","IPv4":"true","IPv6":"false","Internal":"true","Labels":"","Name":"web9","Scope":"local"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"CreatedAt":"2025-03-04 05:06:07.12 +0000 UTC","Driver":"bridge","ID":"5e6b1b9c1f0f","IPv4":"true","IPv6":"true","Internal":"false","Labels":"com.example.tier=\u003cfront\u003e,env=prod","Name":"web10","Scope":"local"}"#
        );
    }

    #[test]
    fn table_template_gets_the_header_row() {
        let format = list_format(
            Some(
                r"table {{.ID}}\t{{.Name}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}",
            ),
            false,
        );
        let out = render_list(&networks()[1..], &format, true).unwrap();
        assert_eq!(
            out,
            "NETWORK ID     NAME      IPV4      IPV6      INTERNAL   LABELS    CREATED AT\n\
             0a1b2c3d4e5f   web9      true      false     true                 2025-03-04 05:06:07 +0000 UTC\n"
        );
    }

    #[test]
    fn label_placeholder_reads_one_label() {
        let format = list_format(Some(r#"{{.Name}} {{.Label "env"}}"#), false);
        assert_eq!(
            render_list(&networks(), &format, true).unwrap(),
            "web9 \nweb10 prod\n"
        );
    }

    #[test]
    fn raw_format_prints_key_value_blocks() {
        let out = render_list(&networks()[1..], &list_format(Some("raw"), false), true).unwrap();
        assert_eq!(
            out,
            "network_id: 0a1b2c3d4e5f\nname: web9\ndriver: bridge\nscope: local\n\n"
        );
    }

    #[test]
    fn ids_are_cut_after_an_algorithm_prefix() {
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(truncate_id("abc"), "abc");
    }

    #[test]
    fn go_aliases_are_added_for_templates() {
        let mut v = serde_json::json!({
            "Id": "x",
            "IPAM": {"Config": [{"Subnet": "10.0.0.0/8", "AuxiliaryAddresses": {"a": "10.0.0.2"}}]}
        });
        add_go_aliases(&mut v);
        assert_eq!(v["ID"], "x");
        assert_eq!(v["IPAM"]["Config"][0]["AuxAddress"]["a"], "10.0.0.2");
    }
}
