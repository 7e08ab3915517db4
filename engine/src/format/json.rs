//! JSON text of template values, as Go's `encoding/json` writes it: maps
//! with sorted keys, except values that stand for one of Docker's structs,
//! whose fields keep the struct's order.

use gotmpl::Value;

/// How [`to_json`] writes maps and strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// Sorted keys; `<`, `>` and `&` escaped as `\u003c`…, as
    /// `json.Marshal` does (what `docker network ls --format json` prints).
    Listing,
    /// Docker's struct field order for the maps that stand for a network's
    /// structs; no HTML escaping (the `json` template function).
    Inspect,
}

/// One of Docker's structs: its JSON field names in order, each with the Go
/// field name a template may use instead when it differs.
struct StructSpec(&'static [(&'static str, Option<&'static str>)]);

/// The structs of a network as `docker network inspect` shows it, in order
/// of preference when a map's keys fit several.
const STRUCTS: &[StructSpec] = &[
    StructSpec(&[
        ("Name", None),
        ("Id", Some("ID")),
        ("Created", None),
        ("Scope", None),
        ("Driver", None),
        ("EnableIPv4", None),
        ("EnableIPv6", None),
        ("IPAM", None),
        ("Internal", None),
        ("Attachable", None),
        ("Ingress", None),
        ("ConfigFrom", None),
        ("ConfigOnly", None),
        ("Containers", None),
        ("Options", None),
        ("Labels", None),
    ]),
    StructSpec(&[("Driver", None), ("Options", None), ("Config", None)]),
    StructSpec(&[
        ("Subnet", None),
        ("IPRange", None),
        ("Gateway", None),
        ("AuxiliaryAddresses", Some("AuxAddress")),
    ]),
    StructSpec(&[
        ("Name", None),
        ("EndpointID", None),
        ("MacAddress", None),
        ("IPv4Address", None),
        ("IPv6Address", None),
    ]),
    StructSpec(&[("Network", None)]),
];

/// Writes `value` as compact JSON.
pub fn to_json(value: &Value, style: JsonStyle) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, value, style)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value, style: JsonStyle) -> Result<(), String> {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) if f.is_finite() => out.push_str(&f.to_string()),
        Value::Float(f) => return Err(format!("json: unsupported value: {f}")),
        Value::String(s) => write_string(out, s, style == JsonStyle::Listing),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, style)?;
            }
            out.push(']');
        }
        Value::Map(map) => {
            let entries: Vec<(&str, &Value)> = match struct_order(map, style) {
                Some(fields) => fields
                    .iter()
                    .filter_map(|(name, alias)| {
                        let v = map.get(*name).or_else(|| alias.and_then(|a| map.get(a)))?;
                        Some((*name, v))
                    })
                    .collect(),
                None => map.iter().map(|(k, v)| (&**k, v)).collect(),
            };
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key, style == JsonStyle::Listing);
                out.push(':');
                write_value(out, v, style)?;
            }
            out.push('}');
        }
        Value::Function(_) => return Err("json: unsupported type: func".to_owned()),
    }
    Ok(())
}

/// The struct a map stands for: the first whose fields (or their Go
/// aliases) include every key of the map.
fn struct_order<K: AsRef<str>>(
    map: &std::collections::BTreeMap<K, Value>,
    style: JsonStyle,
) -> Option<&'static [(&'static str, Option<&'static str>)]> {
    if style != JsonStyle::Inspect || map.is_empty() {
        return None;
    }
    STRUCTS
        .iter()
        .find(|spec| {
            map.keys().all(|k| {
                let k = k.as_ref();
                spec.0
                    .iter()
                    .any(|(name, alias)| *name == k || *alias == Some(k))
            })
        })
        .map(|spec| spec.0)
}

/// Writes a JSON string as Go does: `\n`, `\r`, `\t`, `\b`, `\f`, `\"`, `\\`
/// short, other control characters and U+2028/U+2029 as `\u00XX`, and with
/// `escape_html` also `<`, `>` and `&`.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use gotmpl::tmap;
    use netd_api::types::{IpamConfig, NetworkResource};

    use super::*;

    #[test]
    fn plain_maps_have_sorted_keys() {
        let v = tmap! { "b" => "1", "a" => "2" };
        assert_eq!(
            to_json(&v, JsonStyle::Inspect).unwrap(),
            r#"{"a":"2","b":"1"}"#
        );
    }

    #[test]
    fn struct_maps_keep_dockers_field_order_and_json_names() {
        let ipam = tmap! {
            "Driver" => "default",
            "Options" => Value::Nil,
            "Config" => vec![tmap! {
                "Subnet" => "10.0.0.0/24",
                "Gateway" => "10.0.0.1",
                "AuxiliaryAddresses" => tmap! { "r" => "10.0.0.2" },
                "AuxAddress" => tmap! { "r" => "10.0.0.2" },
            }],
        };
        assert_eq!(
            to_json(&ipam, JsonStyle::Inspect).unwrap(),
            r#"{"Driver":"default","Options":null,"Config":[{"Subnet":"10.0.0.0/24","Gateway":"10.0.0.1","AuxiliaryAddresses":{"r":"10.0.0.2"}}]}"#
        );
    }

    #[test]
    fn listing_style_escapes_html_like_json_marshal() {
        let v = tmap! { "Labels" => "a=<b>&c" };
        assert_eq!(
            to_json(&v, JsonStyle::Listing).unwrap(),
            r#"{"Labels":"a=\u003cb\u003e\u0026c"}"#
        );
        assert_eq!(
            to_json(&v, JsonStyle::Inspect).unwrap(),
            r#"{"Labels":"a=<b>&c"}"#
        );
    }

    #[test]
    fn control_characters_are_escaped_as_go_does() {
        let v = Value::String("a\"\\\n\t\u{1}\u{2028}".into());
        assert_eq!(
            to_json(&v, JsonStyle::Inspect).unwrap(),
            r#""a\"\\\n\t\u0001\u2028""#
        );
    }

    /// Pins the struct specs to the API types' own serialization order.
    #[test]
    fn struct_specs_follow_the_api_types_field_order() {
        let network = serde_json::to_string(&NetworkResource::default()).unwrap();
        assert_in_order(&network, STRUCTS[0].0);
        let ipam = serde_json::to_string(&netd_api::types::Ipam::default()).unwrap();
        assert_in_order(&ipam, STRUCTS[1].0);
        let config = IpamConfig {
            subnet: Some(String::new()),
            ip_range: Some(String::new()),
            gateway: Some(String::new()),
            auxiliary_addresses: Some(Default::default()),
        };
        assert_in_order(&serde_json::to_string(&config).unwrap(), STRUCTS[2].0);
        let endpoint =
            serde_json::to_string(&netd_api::types::EndpointResource::default()).unwrap();
        assert_in_order(&endpoint, STRUCTS[3].0);
        let from = serde_json::to_string(&netd_api::types::ConfigReference::default()).unwrap();
        assert_in_order(&from, STRUCTS[4].0);
    }

    fn assert_in_order(json: &str, fields: &[(&str, Option<&str>)]) {
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(top_level_keys(json), names, "{json}");
    }

    /// The keys of a JSON object's top level, in order.
    fn top_level_keys(json: &str) -> Vec<String> {
        let (mut keys, mut depth, mut chars) = (Vec::new(), 0, json.chars().peekable());
        while let Some(c) = chars.next() {
            match c {
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                '"' => {
                    let mut s = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => s.extend(chars.next()),
                            '"' => break,
                            c => s.push(c),
                        }
                    }
                    if depth == 1 && chars.peek() == Some(&':') {
                        keys.push(s);
                    }
                }
                _ => {}
            }
        }
        keys
    }
}
