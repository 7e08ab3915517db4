//! Option values as the docker CLI reads them: `key=value` maps, labels,
//! filters, links, driver options.

use std::collections::BTreeMap;

/// `--filter key=value` (docker's `FilterOpt`): the key lower-cased and
/// both sides trimmed; an empty value is accepted and ignored.
pub fn parse_filter(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let Some((key, val)) = value.split_once('=') else {
        return Err("bad format of filter (expected name=value)".to_owned());
    };
    Ok(format!("{}={}", key.trim().to_lowercase(), val.trim()))
}

/// Docker's filters as JSON, `{"key":["v1","v2"]}`; `None` when there are
/// none.
pub fn filters_json(filters: &[String]) -> Option<String> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, value) in filters.iter().filter_map(|f| f.split_once('=')) {
        let values = map.entry(key).or_default();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    if map.is_empty() {
        return None;
    }
    serde_json::to_string(&map).ok()
}

/// `--label key[=value]` (docker's `ValidateLabel`): a name without
/// whitespace is required.
pub fn validate_label(value: &str) -> Result<String, String> {
    let key = value.split_once('=').map_or(value, |(k, _)| k);
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{value}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(value.to_owned())
}

/// `--link name[:alias]` (docker's `ValidateLink`).
pub fn validate_link(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("empty string specified for links".to_owned());
    }
    if value.split(':').count() > 2 {
        return Err(format!("bad format for links: {value}"));
    }
    Ok(value.to_owned())
}

/// `key=value` options into a map (docker's `MapOpts` and
/// `ConvertKVStringsToMap`): a value without `=` is a key with an empty
/// value; the last of repeated keys wins.
pub fn kv_map(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

/// `--driver-opt key=value` (docker's `convertDriverOpt`): `=` and a key
/// are required; both sides are trimmed.
pub fn driver_opts(values: &[String]) -> Result<BTreeMap<String, String>, String> {
    values
        .iter()
        .map(|opt| match opt.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err("invalid key/value pair format in driver options".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_normalized_and_grouped_by_key() {
        let filters: Vec<String> = [
            "Driver = bridge",
            "label=a=b",
            "driver=host",
            "driver=bridge",
            "",
        ]
        .iter()
        .map(|f| parse_filter(f).unwrap())
        .collect();
        assert_eq!(
            filters_json(&filters).unwrap(),
            r#"{"driver":["bridge","host"],"label":["a=b"]}"#
        );
        assert_eq!(filters_json(&[String::new()]), None);
        assert!(parse_filter("driver").is_err());
    }

    #[test]
    fn labels_need_a_name_without_whitespace() {
        assert_eq!(validate_label("a=b c").unwrap(), "a=b c");
        assert_eq!(validate_label("flag").unwrap(), "flag");
        assert_eq!(
            validate_label("=x").unwrap_err(),
            "invalid label '=x': empty name"
        );
        assert_eq!(
            validate_label("a b=x").unwrap_err(),
            "label 'a b' contains whitespaces"
        );
    }

    #[test]
    fn kv_maps_accept_keys_without_values() {
        let m = kv_map(&["a=1".to_owned(), "b".to_owned(), "a=2=3".to_owned()]);
        assert_eq!(
            m,
            BTreeMap::from([
                ("a".to_owned(), "2=3".to_owned()),
                ("b".to_owned(), String::new())
            ])
        );
    }

    #[test]
    fn driver_opts_need_key_and_equals() {
        let m = driver_opts(&[" k = v ".to_owned()]).unwrap();
        assert_eq!(m, BTreeMap::from([("k".to_owned(), "v".to_owned())]));
        assert!(driver_opts(&["k".to_owned()]).is_err());
        assert!(driver_opts(&["=v".to_owned()]).is_err());
    }

    #[test]
    fn links_have_at_most_one_colon() {
        assert!(validate_link("db:alias").is_ok());
        assert!(validate_link("db").is_ok());
        assert!(validate_link("a:b:c").is_err());
        assert!(validate_link("").is_err());
    }
}
