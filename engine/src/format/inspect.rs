//! `inspect` output as docker's inspector writes it: a JSON array indented
//! by four spaces (the default), compact JSON (`--format json`), or one
//! line per object from a Go template.

use gotmpl::MissingKey;
use serde::Serialize;

use super::json::JsonStyle;
use super::template::{Compiled, FuncSet, LabelMethod, Options, compile, from_json, render};

/// What `inspect --format` asked for.
#[derive(Debug, Clone)]
pub enum InspectFormat {
    /// No format: a JSON array indented by four spaces.
    Indented,
    /// `json`: a compact JSON array.
    Json,
    /// A Go template, run on each object.
    Template(Compiled),
}

impl InspectFormat {
    /// Reads `--format`; the error reads `template parsing error: …` (docker
    /// exits 64 with it).
    pub fn parse(format: Option<&str>) -> Result<Self, String> {
        match format.unwrap_or("") {
            "" => Ok(Self::Indented),
            "json" => Ok(Self::Json),
            src => {
                let options = Options {
                    funcs: FuncSet::Basic,
                    json: JsonStyle::Inspect,
                    missing_key: MissingKey::Invalid,
                    label: LabelMethod::Absent,
                };
                compile(src, &options)
                    .map(Self::Template)
                    .map_err(|e| format!("template parsing error: {e}"))
            }
        }
    }
}

/// Collects the inspected objects and the errors, in order.
#[derive(Debug)]
pub struct Inspector<T> {
    format: InspectFormat,
    aliases: fn(&mut serde_json::Value),
    elements: Vec<T>,
    lines: String,
    errors: Vec<String>,
}

impl<T: Serialize> Inspector<T> {
    /// An inspector; `aliases` adds the Go field names templates may use.
    pub fn new(format: InspectFormat, aliases: fn(&mut serde_json::Value)) -> Self {
        Self {
            format,
            aliases,
            elements: Vec::new(),
            lines: String::new(),
            errors: Vec::new(),
        }
    }

    /// Adds one object.
    pub fn add(&mut self, element: T) {
        let InspectFormat::Template(template) = &self.format else {
            self.elements.push(element);
            return;
        };
        let mut value = match serde_json::to_value(&element) {
            Ok(v) => v,
            Err(e) => {
                self.errors
                    .push(format!("unable to read inspect data: {e}"));
                return;
            }
        };
        (self.aliases)(&mut value);
        let rendered = render(template, &from_json(&value));
        match rendered.error {
            Some(e) => self.errors.push(format!("template parsing error: {e}")),
            None => {
                self.lines.push_str(&rendered.output);
                self.lines.push('\n');
            }
        }
    }

    /// Records a failure to fetch an object.
    pub fn add_error(&mut self, message: String) {
        self.errors.push(message);
    }

    /// What to print on standard output, and the errors (one per line on
    /// standard error, exit code 1 when any).
    pub fn finish(self) -> (String, Vec<String>) {
        let out = match self.format {
            InspectFormat::Template(_) if self.lines.is_empty() => "\n".to_owned(),
            InspectFormat::Template(_) => self.lines,
            _ if self.elements.is_empty() => "[]\n".to_owned(),
            InspectFormat::Indented => indented(&self.elements) + "\n",
            InspectFormat::Json => serde_json::to_string(&self.elements).unwrap_or_default() + "\n",
        };
        (out, self.errors)
    }
}

/// JSON indented by four spaces, as `json.Indent(…, "", "    ")`.
fn indented<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use netd_api::types::{EndpointResource, Ipam, IpamConfig, NetworkResource};

    use super::*;
    use crate::format::network::add_go_aliases;

    fn network() -> NetworkResource {
        NetworkResource {
            name: "web".to_owned(),
            id: "5e6b1b9c1f0f2d4d9e5b5a7c3c8e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e".to_owned(),
            created: "2025-03-04T05:06:07.12Z".to_owned(),
            scope: "local".to_owned(),
            driver: "bridge".to_owned(),
            enable_ipv4: true,
            ipam: Ipam {
                driver: "default".to_owned(),
                options: None,
                config: Some(vec![IpamConfig {
                    subnet: Some("10.1.0.0/24".to_owned()),
                    gateway: Some("10.1.0.1".to_owned()),
                    auxiliary_addresses: Some(BTreeMap::from([(
                        "r".to_owned(),
                        "10.1.0.5".to_owned(),
                    )])),
                    ..Default::default()
                }]),
            },
            attachable: true,
            containers: BTreeMap::from([(
                "c0ffee".to_owned(),
                EndpointResource {
                    name: "app".to_owned(),
                    ipv4_address: "10.1.0.2/24".to_owned(),
                    ..Default::default()
                },
            )]),
            labels: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
            ..Default::default()
        }
    }

    fn inspect(format: Option<&str>, items: Vec<NetworkResource>) -> (String, Vec<String>) {
        let mut inspector = Inspector::new(InspectFormat::parse(format).unwrap(), add_go_aliases);
        for item in items {
            inspector.add(item);
        }
        inspector.finish()
    }

    #[test]
    fn default_is_an_array_indented_by_four_spaces() {
        let (out, errors) = inspect(None, vec![network()]);
        assert!(errors.is_empty());
        assert!(
            out.starts_with("[\n    {\n        \"Name\": \"web\",\n        \"Id\": \"5e6b"),
            "{out}"
        );
        assert!(out.contains("\n        \"Options\": {},\n"), "{out}");
        assert!(out.ends_with("    }\n]\n"), "{out}");
        let parsed: Vec<NetworkResource> = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, vec![network()]);
    }

    #[test]
    fn nothing_found_prints_an_empty_array() {
        assert_eq!(inspect(None, vec![]).0, "[]\n");
        assert_eq!(inspect(Some("json"), vec![]).0, "[]\n");
        assert_eq!(inspect(Some("{{.Name}}"), vec![]).0, "\n");
    }

    #[test]
    fn json_format_is_one_compact_array() {
        let (out, _) = inspect(Some("json"), vec![network(), network()]);
        assert!(out.starts_with("[{\"Name\":\"web\",\"Id\":"), "{out}");
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn templates_use_dockers_field_names() {
        let (out, _) = inspect(
            Some(
                r#"{{.Name}} {{.Id}} {{.ID}} {{index .Labels "env"}} {{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}} {{.AuxAddress.r}}{{end}}"#,
            ),
            vec![network()],
        );
        let id = network().id;
        assert_eq!(
            out,
            format!("web {id} {id} prod 10.1.0.0/24 via 10.1.0.1 10.1.0.5\n")
        );
    }

    #[test]
    fn templates_range_over_containers_and_print_json() {
        let (out, _) = inspect(
            Some(
                r#"{{range $id, $c := .Containers}}{{$id}}={{$c.Name}}/{{$c.IPv4Address}}{{end}} {{json .IPAM.Config}}"#,
            ),
            vec![network()],
        );
        assert_eq!(
            out,
            "c0ffee=app/10.1.0.2/24 [{\"Subnet\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.1\",\"AuxiliaryAddresses\":{\"r\":\"10.1.0.5\"}}]\n"
        );
    }

    #[test]
    fn json_of_the_whole_network_uses_json_names_once() {
        let (out, _) = inspect(Some("{{json .}}"), vec![network()]);
        let expected = serde_json::to_string(&network()).unwrap();
        assert_eq!(out, format!("{expected}\n"));
    }

    #[test]
    fn one_line_per_object_and_errors_are_collected() {
        let mut inspector = Inspector::new(
            InspectFormat::parse(Some("{{.Name}}")).unwrap(),
            add_go_aliases,
        );
        inspector.add(network());
        inspector.add_error("Error response from daemon: network x not found".to_owned());
        inspector.add(network());
        let (out, errors) = inspector.finish();
        assert_eq!(out, "web\nweb\n");
        assert_eq!(errors, ["Error response from daemon: network x not found"]);
    }

    #[test]
    fn a_bad_template_is_a_parsing_error() {
        let err = InspectFormat::parse(Some("{{.Name")).unwrap_err();
        assert!(
            err.starts_with("template parsing error: template: "),
            "{err}"
        );
    }
}
