//! Go templates for `--format`, with the functions the docker CLI gives
//! them (`json`, `join`, `split`, `upper`, `lower`, `title`, `pad`,
//! `truncate`, and Go's builtins such as `index` and `println`).
//!
//! The engine is the `gotmpl` crate; data reaches it as JSON values, so
//! field names are Docker's JSON names. Go method calls with arguments have
//! no equivalent there: the one docker's listings offer, `.Label "key"`, is
//! rewritten into a call of a function that knows the row's labels.

mod funcs;
mod label;

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{MissingKey, Template, Value};

use self::funcs::with_funcs;
use self::label::rewrite_list;
use super::json::JsonStyle;

/// Which variant of docker's template functions a template gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuncSet {
    /// The functions for rendering values.
    Basic,
    /// The header variants: `json`, `join`, `split`, `upper`, `lower`,
    /// `title` and `truncate` return their argument as it is, so that a
    /// table's header keeps the column names.
    Header,
}

/// What `.Label "key"` means in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelMethod {
    /// Not a method of the data (`inspect`): left to fail as a field.
    Absent,
    /// The value of label `key` of the row, or empty.
    Row(Arc<BTreeMap<String, String>>),
    /// An error, as calling a method on a table's header fails in Go.
    Header,
}

/// How to compile a template.
#[derive(Debug, Clone)]
pub struct Options {
    /// The function set.
    pub funcs: FuncSet,
    /// How `json` writes maps.
    pub json: JsonStyle,
    /// What a missing map key does.
    pub missing_key: MissingKey,
    /// What `.Label "key"` does.
    pub label: LabelMethod,
}

/// A template ready to render.
#[derive(Clone)]
pub struct Compiled {
    template: Template,
    entry: bool,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("name", &self.template.name())
            .finish()
    }
}

/// What rendering produced: the output written before any error, and the
/// error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Output up to the end, or up to the error.
    pub output: String,
    /// The execution error, if any.
    pub error: Option<String>,
}

/// The name under which the (rewritten) template body is kept.
const ENTRY: &str = "berth";

/// Compiles `src`; the error reads like Go's (`template: …: message`).
pub fn compile(src: &str, opts: &Options) -> Result<Compiled, String> {
    // An unnamed template gives Go's error text; the named one keeps its
    // body under a name so that it can be rewritten.
    if let Err(e) = with_funcs(Template::new(""), opts).parse(src) {
        return Err(e.to_string());
    }
    let mut template = with_funcs(Template::new(ENTRY), opts)
        .parse(src)
        .map_err(|e| e.to_string())?;
    if opts.label != LabelMethod::Absent {
        let names: Vec<String> = template
            .templates()
            .into_iter()
            .map(str::to_owned)
            .collect();
        for name in names {
            if let Some(tree) = template.lookup(&name) {
                let tree = rewrite_list(tree.clone());
                template = template.add_parse_tree(&name, tree);
            }
        }
    }
    let entry = template.lookup(ENTRY).is_some();
    Ok(Compiled { template, entry })
}

/// Renders `data`.
pub fn render(compiled: &Compiled, data: &Value) -> Rendered {
    let mut output = String::new();
    let result = if compiled.entry {
        compiled
            .template
            .execute_template_fmt(&mut output, ENTRY, data)
    } else {
        compiled.template.execute_fmt(&mut output, data)
    };
    Rendered {
        output,
        error: result.err().map(|e| e.to_string()),
    }
}

/// Converts JSON data into template data.
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::String(s.as_str().into()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(Arc::new(
            map.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), from_json(v)))
                .collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use gotmpl::tmap;

    use super::*;

    fn opts(funcs: FuncSet, label: LabelMethod) -> Options {
        Options {
            funcs,
            json: JsonStyle::Inspect,
            missing_key: MissingKey::Invalid,
            label,
        }
    }

    fn run(src: &str, data: &Value) -> Rendered {
        let compiled = compile(src, &opts(FuncSet::Basic, LabelMethod::Absent)).unwrap();
        render(&compiled, data)
    }

    fn ok(src: &str, data: &Value) -> String {
        let r = run(src, data);
        assert_eq!(r.error, None, "{src}");
        r.output
    }

    fn network() -> Value {
        tmap! {
            "Name" => "web",
            "Labels" => tmap! { "com.example.tier" => "front", "env" => "prod" },
            "IPAM" => tmap! {
                "Driver" => "default",
                "Config" => vec![
                    tmap! { "Subnet" => "10.1.0.0/24", "Gateway" => "10.1.0.1" },
                    tmap! { "Subnet" => "fd00::/64" },
                ],
            },
            "Tags" => vec!["a", "b"],
        }
    }

    #[test]
    fn range_over_a_list_of_maps() {
        assert_eq!(
            ok("{{range .IPAM.Config}}{{.Subnet}} {{end}}", &network()),
            "10.1.0.0/24 fd00::/64 "
        );
    }

    #[test]
    fn index_reads_labels_and_a_missing_label_is_empty() {
        assert_eq!(
            ok(r#"{{index .Labels "com.example.tier"}}"#, &network()),
            "front"
        );
        assert_eq!(ok(r#"[{{index .Labels "nope"}}]"#, &network()), "[]");
    }

    #[test]
    fn json_keeps_struct_order() {
        assert_eq!(
            ok("{{json .IPAM}}", &network()),
            r#"{"Driver":"default","Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"},{"Subnet":"fd00::/64"}]}"#
        );
    }

    #[test]
    fn join_split_and_case_functions() {
        assert_eq!(ok(r#"{{join .Tags ","}}"#, &network()), "a,b");
        assert_eq!(
            ok(r#"{{join (split "x:y:z" ":") "-"}}"#, &network()),
            "x-y-z"
        );
        assert_eq!(
            ok(
                "{{upper .Name}} {{lower \"AB\"}} {{title \"hello big-world\"}}",
                &network()
            ),
            "WEB ab Hello Big-World"
        );
    }

    #[test]
    fn pad_and_truncate() {
        assert_eq!(
            ok("[{{pad .Name 2 1}}][{{pad \"\" 2 1}}]", &network()),
            "[  web ][]"
        );
        assert_eq!(
            ok("{{truncate .Name 2}}|{{truncate .Name 9}}", &network()),
            "we|web"
        );
    }

    #[test]
    fn println_is_available() {
        assert_eq!(ok("{{println .Name}}", &network()), "web\n");
    }

    #[test]
    fn a_missing_field_prints_no_value_like_a_go_map() {
        assert_eq!(ok("{{.Labels.nope}}", &network()), "<no value>");
    }

    #[test]
    fn syntax_errors_are_reported_at_compile_time() {
        let err = compile("{{.Name", &opts(FuncSet::Basic, LabelMethod::Absent)).unwrap_err();
        assert!(err.starts_with("template: "), "{err}");
        assert!(err.contains("unclosed action"), "{err}");
    }

    #[test]
    fn output_before_an_error_is_kept() {
        let strict = Options {
            missing_key: MissingKey::Error,
            ..opts(FuncSet::Basic, LabelMethod::Absent)
        };
        let r = render(
            &compile("a{{.Name}}b{{.Nope}}c", &strict).unwrap(),
            &network(),
        );
        assert_eq!(r.output, "awebb");
        assert!(r.error.unwrap().contains("Nope"));
    }

    #[test]
    fn label_method_reads_the_rows_labels() {
        let labels = Arc::new(BTreeMap::from([("k".to_owned(), "v".to_owned())]));
        let c = compile(
            r#"{{.Label "k"}}|{{.Label "x"}}|{{if .Label "k"}}yes{{end}}|{{upper (.Label "k")}}"#,
            &opts(FuncSet::Basic, LabelMethod::Row(labels)),
        )
        .unwrap();
        assert_eq!(render(&c, &tmap! {}).output, "v||yes|V");
    }

    #[test]
    fn header_functions_leave_column_names_alone() {
        let header = tmap! { "Name" => "NAME", "Labels" => "LABELS" };
        let c = compile(
            r#"{{upper .Name}} {{json .Name}} {{join .Labels ","}} {{truncate .Name 1}} {{pad .Name 1 0}}"#,
            &opts(FuncSet::Header, LabelMethod::Header),
        )
        .unwrap();
        assert_eq!(render(&c, &header).output, "NAME NAME LABELS NAME  NAME");
    }

    #[test]
    fn label_method_on_a_header_fails_after_earlier_output() {
        let c = compile(
            "{{.Name}}\t{{.Label \"k\"}}",
            &opts(FuncSet::Header, LabelMethod::Header),
        )
        .unwrap();
        let r = render(&c, &tmap! { "Name" => "NAME" });
        assert_eq!(r.output, "NAME\t");
        assert!(r.error.is_some());
    }

    #[test]
    fn json_values_convert_to_template_values() {
        let v = serde_json::json!({"a": [1, -2, 1.5, true, null, "s"], "b": {}});
        assert_eq!(
            ok("{{json .}}", &from_json(&v)),
            r#"{"a":[1,-2,1.5,true,null,"s"],"b":{}}"#
        );
    }
}
