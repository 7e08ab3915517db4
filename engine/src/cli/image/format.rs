//! How `images` and `history` show their rows, as docker's image and
//! history formatters do; rendered by [`crate::format::write_list`].

use std::sync::Arc;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use gotmpl::{Value, tmap};

use crate::format::go_time::go_time_string;
use crate::format::units::{human_duration, human_size, human_size_precision};
use crate::format::{RAW_KEY, Row, TABLE_KEY};
use crate::image::filter::Summary;
use crate::image::history::HistoryItem;
use crate::image::reference::Reference;

/// The default `images` table.
pub const IMAGES_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
/// `images --digests`.
pub const IMAGES_TABLE_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
/// `images --format raw`.
const IMAGES_RAW: &str = r"repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n";
/// `-q`.
pub const QUIET: &str = "{{.ID}}";
/// The default `history` table.
pub const HISTORY_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
/// How much of `CREATED BY` a truncated history shows.
const CREATED_BY_WIDTH: usize = 45;

/// The format `images` uses for `--format`, `-q` and `--digests`.
pub fn images_format(format: Option<&str>, quiet: bool, digests: bool) -> String {
    match format.filter(|f| !f.is_empty()).unwrap_or(TABLE_KEY) {
        TABLE_KEY if quiet => QUIET.to_owned(),
        TABLE_KEY if digests => IMAGES_TABLE_DIGESTS.to_owned(),
        TABLE_KEY => IMAGES_TABLE.to_owned(),
        RAW_KEY if quiet => "image_id: {{.ID}}".to_owned(),
        RAW_KEY => IMAGES_RAW.to_owned(),
        other => other.to_owned(),
    }
}

/// The format `history` uses for `--format` and `-q`.
pub fn history_format(format: Option<&str>, quiet: bool) -> String {
    match format.filter(|f| !f.is_empty()).unwrap_or(TABLE_KEY) {
        TABLE_KEY if quiet => QUIET.to_owned(),
        TABLE_KEY => HISTORY_TABLE.to_owned(),
        other => other.to_owned(),
    }
}

/// The column names of `images` tables.
pub fn images_header() -> Value {
    tmap! {
        "ID" => "IMAGE ID",
        "Repository" => "REPOSITORY",
        "Tag" => "TAG",
        "Digest" => "DIGEST",
        "CreatedSince" => "CREATED",
        "CreatedAt" => "CREATED AT",
        "Size" => "SIZE",
        "Containers" => "CONTAINERS",
        "VirtualSize" => "SIZE",
        "SharedSize" => "SHARED SIZE",
        "UniqueSize" => "UNIQUE SIZE",
    }
}

/// The column names of `history` tables; `CREATED AT` for the times when
/// they are not `human`.
pub fn history_header(human: bool) -> Value {
    tmap! {
        "ID" => "IMAGE",
        "CreatedSince" => if human { "CREATED" } else { "CREATED AT" },
        "CreatedAt" => "CREATED AT",
        "CreatedBy" => "CREATED BY",
        "Size" => "SIZE",
        "Comment" => "COMMENT",
    }
}

/// The rows of one image: `<none>` for an untagged one, else one per
/// tag (`tags`, already filtered), sorted by repository.
pub fn image_rows(
    image: &Summary,
    tags: &[Reference],
    trunc: bool,
    now: DateTime<Utc>,
) -> Vec<Row> {
    let labels = Arc::new(image.labels.clone());
    let id = if trunc {
        image.id.hex()[..12].to_owned()
    } else {
        image.id.to_string()
    };
    let size = human_size_precision(image.size, 3);
    let virtual_size = human_size(image.size);
    // Docker lists creation times in whole seconds.
    let created = DateTime::from_timestamp(image.created.timestamp(), 0).unwrap_or(image.created);
    let row = |repo: &str, tag: &str| Row {
        fields: tmap! {
            "ID" => id.as_str(),
            "Repository" => repo,
            "Tag" => tag,
            "Digest" => "<none>",
            "CreatedSince" => since(created, now),
            "CreatedAt" => go_time_string(&created.with_timezone(&Local).to_rfc3339()),
            "Size" => size.as_str(),
            "Containers" => "N/A",
            "VirtualSize" => virtual_size.as_str(),
            "SharedSize" => "N/A",
            "UniqueSize" => "N/A",
        },
        labels: Arc::clone(&labels),
    };
    if image.tags.is_empty() {
        return vec![row("<none>", "<none>")];
    }
    let mut sorted: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.familiar_name(), t.tag.clone().unwrap_or_default()))
        .collect();
    sorted.sort();
    sorted.iter().map(|(repo, tag)| row(repo, tag)).collect()
}

/// One `history` row. `human` prints sizes and times for people.
pub fn history_row(item: &HistoryItem, trunc: bool, human: bool, now: DateTime<Utc>) -> Row {
    let id = match item.id.strip_prefix("sha256:") {
        Some(hex) if trunc => hex.get(..12).unwrap_or(hex).to_owned(),
        _ => item.id.clone(),
    };
    let created_at = item
        .created
        .with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let created_by = item.created_by.replace('\t', " ");
    Row {
        fields: tmap! {
            "ID" => id,
            "CreatedSince" => if human { since(item.created, now) } else { created_at.clone() },
            "CreatedAt" => created_at,
            "CreatedBy" => if trunc { ellipsis(&created_by, CREATED_BY_WIDTH) } else { created_by },
            "Size" => if human { human_size_precision(item.size, 3) } else { item.size.to_string() },
            "Comment" => item.comment.as_str(),
        },
        labels: Arc::default(),
    }
}

/// `3 weeks ago`.
fn since(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", human_duration((now - time).num_seconds()))
}

/// Docker's `Ellipsis`: at most `width` characters, the last one `…`
/// when cut.
fn ellipsis(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::format::write_list;
    use crate::image::Digest;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn summary(tags: &[&str]) -> Summary {
        Summary {
            id: Digest::from_hex(&"ab".repeat(32)).unwrap(),
            parent: None,
            tags: tags
                .iter()
                .map(|r| Reference::parse_tagged(r).unwrap())
                .collect(),
            created: t("2024-01-01T00:00:00Z"),
            size: 4_261_550,
            labels: BTreeMap::new(),
            has_children: false,
        }
    }

    #[test]
    fn the_default_table_has_dockers_columns() {
        let now = t("2024-01-15T00:00:00Z");
        let image = summary(&["busybox", "me/app:1"]);
        let mut rows = image_rows(&image, &image.tags, true, now);
        rows.extend(image_rows(&summary(&[]), &[], true, now));
        let out = write_list(&images_format(None, false, false), &rows, &images_header()).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             busybox      latest    abababababab   2 weeks ago   4.26MB\n\
             me/app       1         abababababab   2 weeks ago   4.26MB\n\
             <none>       <none>    abababababab   2 weeks ago   4.26MB\n"
        );
    }

    #[test]
    fn json_rows_carry_every_field() {
        let image = summary(&["busybox"]);
        let rows = image_rows(&image, &image.tags, false, t("2024-01-01T00:00:30Z"));
        let out = write_list("json", &rows, &images_header()).unwrap();
        assert!(out.starts_with(r#"{"Containers":"N/A","CreatedAt":"2024-01-01 00:00:00 +0000 UTC","CreatedSince":"30 seconds ago","Digest":"\u003cnone\u003e","ID":"sha256:abab"#), "{out}");
        assert!(out.ends_with(r#""Repository":"busybox","SharedSize":"N/A","Size":"4.26MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"4.262MB"}
"#), "{out}");
    }

    #[test]
    fn history_cuts_ids_and_commands_unless_asked() {
        let item = HistoryItem {
            id: format!("sha256:{}", "cd".repeat(32)),
            created: t("2024-01-01T00:00:00Z"),
            created_by: format!("/bin/sh -c\t{}", "x".repeat(60)),
            size: 1500,
            comment: "Imported from -".to_owned(),
            tags: Vec::new(),
        };
        let now = t("2024-01-01T05:00:00Z");
        let out = write_list(
            &history_format(None, false),
            &[history_row(&item, true, true, now)],
            &history_header(true),
        )
        .unwrap();
        let line = out.lines().nth(1).unwrap();
        assert!(
            line.starts_with("cdcdcdcdcdcd   5 hours ago   /bin/sh -c xxxx"),
            "{out}"
        );
        assert!(line.contains("x…   1.5kB     Imported from -"), "{out}");
        let raw = write_list(
            "{{.ID}} {{.Size}} {{.CreatedSince}}",
            &[history_row(&item, false, false, now)],
            &history_header(true),
        )
        .unwrap();
        assert_eq!(
            raw,
            format!("sha256:{} 1500 2024-01-01T00:00:00Z\n", "cd".repeat(32))
        );
    }
}
