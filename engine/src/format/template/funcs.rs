//! The functions docker gives `--format` templates, and their header
//! variants that leave a table's column names alone.

use std::sync::Arc;

use gotmpl::{Template, TemplateError, Value};

use super::label::LABEL_FUNC;
use super::{FuncSet, LabelMethod, Options};
use crate::format::json::to_json;

/// `template` with docker's functions for `opts`.
pub(super) fn with_funcs(template: Template, opts: &Options) -> Template {
    let header = opts.funcs == FuncSet::Header;
    let json_style = opts.json;
    let mut t = template
        .missing_key(opts.missing_key)
        .func("pad", |a| {
            arity("pad", a, 3)?;
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::String(s.into()));
            }
            let (pre, post) = (count(&a[1])?, count(&a[2])?);
            Ok(Value::String(
                format!("{}{s}{}", " ".repeat(pre), " ".repeat(post)).into(),
            ))
        })
        .func("index", index);
    if header {
        for name in ["json", "title", "lower", "upper"] {
            t = t.func(name, move |a| {
                arity(name, a, 1)?;
                Ok(Value::String(text(&a[0]).into()))
            });
        }
        for name in ["split", "join", "truncate"] {
            t = t.func(name, move |a| {
                arity(name, a, 2)?;
                Ok(Value::String(text(&a[0]).into()))
            });
        }
    } else {
        t = t
            .func("json", move |a| {
                arity("json", a, 1)?;
                to_json(&a[0], json_style)
                    .map(|s| Value::String(s.into()))
                    .map_err(TemplateError::Exec)
            })
            .func("title", |a| string_fn("title", a, title))
            .func("lower", |a| string_fn("lower", a, |s| s.to_lowercase()))
            .func("upper", |a| string_fn("upper", a, |s| s.to_uppercase()))
            .func("split", |a| {
                arity("split", a, 2)?;
                let (s, sep) = (text(&a[0]), text(&a[1]));
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars()
                        .map(|c| Value::String(c.to_string().into()))
                        .collect()
                } else {
                    s.split(sep.as_str())
                        .map(|p| Value::String(p.into()))
                        .collect()
                };
                Ok(Value::List(parts.into()))
            })
            .func("join", |a| {
                arity("join", a, 2)?;
                let sep = text(&a[1]);
                let joined = match &a[0] {
                    Value::List(items) => items.iter().map(text).collect::<Vec<_>>().join(&sep),
                    Value::Nil => String::new(),
                    other => text(other),
                };
                Ok(Value::String(joined.into()))
            })
            .func("truncate", |a| {
                arity("truncate", a, 2)?;
                let s = text(&a[0]);
                let n = count(&a[1])?;
                Ok(Value::String(s.chars().take(n).collect::<String>().into()))
            });
    }
    match &opts.label {
        LabelMethod::Absent => t,
        LabelMethod::Row(labels) => {
            let labels = Arc::clone(labels);
            t.func(LABEL_FUNC, move |a| {
                arity("Label", a, 1)?;
                let value = labels
                    .get(text(&a[0]).as_str())
                    .cloned()
                    .unwrap_or_default();
                Ok(Value::String(value.into()))
            })
        }
        LabelMethod::Header => t.func(LABEL_FUNC, |_| {
            Err(TemplateError::Exec(
                "Label is not a method but has arguments".to_owned(),
            ))
        }),
    }
}

/// Go's `index`, except that a missing key of a map of strings gives the
/// empty string, as for Docker's typed `map[string]string` fields.
fn index(args: &[Value]) -> gotmpl::Result<Value> {
    if args.len() < 2 {
        return Err(TemplateError::Exec(format!(
            "wrong number of args for index: want at least 1 got {}",
            args.len().saturating_sub(1)
        )));
    }
    let mut value = args[0].clone();
    for key in &args[1..] {
        value = match (&value, key) {
            (Value::Map(m), Value::String(k)) if !m.contains_key(k.as_ref()) => {
                if !m.is_empty() && m.values().all(|v| matches!(v, Value::String(_))) {
                    Value::String("".into())
                } else {
                    Value::Nil
                }
            }
            _ => value.index(key)?,
        };
    }
    Ok(value)
}

fn arity(name: &str, args: &[Value], want: usize) -> gotmpl::Result<()> {
    if args.len() == want {
        Ok(())
    } else {
        Err(TemplateError::Exec(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )))
    }
}

fn string_fn(name: &str, args: &[Value], f: impl Fn(&str) -> String) -> gotmpl::Result<Value> {
    arity(name, args, 1)?;
    Ok(Value::String(f(&text(&args[0])).into()))
}

/// A value as text: strings as they are, anything else as Go prints it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn count(v: &Value) -> gotmpl::Result<usize> {
    v.as_int()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| TemplateError::Exec(format!("expected a non-negative integer, got {v}")))
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_is_separator = true;
    for c in s.chars() {
        if prev_is_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_is_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}
