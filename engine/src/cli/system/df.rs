//! `berth system df`: what images, containers, local volumes and the
//! build cache take on disk, and what of it could go, as `docker system
//! df` reports it (`TYPE TOTAL ACTIVE SIZE RECLAIMABLE`; `-v` for the
//! tables of each).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Args;
use gotmpl::{Value, tmap};

use crate::cli::container::ps::status_text;
use crate::cli::exit::Failure;
use crate::cli::flags::ListFormat;
use crate::cli::global::Globals;
use crate::cli::image::format::{image_rows, images_header};
use crate::cli::io::Io;
use crate::container::{Container, Containers};
use crate::format::units::{human_duration, human_size, human_size_precision};
use crate::format::{JSON_KEY, Row, TABLE_KEY, write_list};
use crate::image::filter::Summary;
use crate::image::{Digest, Store, summaries};
use crate::volume::users::{is_live, volume_names};
use crate::volume::{ContainerUse, Volume, Volumes};

/// The default table.
pub const TABLE: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_TABLE: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const BUILD_CACHE_TABLE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

/// `berth system df`.
#[derive(Debug, Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short, long)]
    pub verbose: bool,
    /// `--format`.
    #[command(flatten)]
    pub format: ListFormat,
}

/// One image and what of it is shared.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    /// The image as listings see it (its size: all its layers).
    pub summary: Summary,
    /// The bytes of its layers that other images have too.
    pub shared_size: u64,
    /// The containers made from it.
    pub containers: usize,
}

/// One container and its writable layer.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The container.
    pub container: Container,
    /// The bytes of its changes (the overlay's upper directory).
    pub size_rw: u64,
    /// With its image's.
    pub size_root_fs: u64,
}

/// One volume, the containers that mount it and its bytes.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// The volume.
    pub volume: Volume,
    /// How many containers mount it.
    pub links: usize,
    /// Its data's bytes.
    pub size: u64,
}

/// Everything `df` counts.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    /// Images.
    pub images: Vec<ImageUsage>,
    /// The bytes of all unpacked layers, each once.
    pub layers_size: u64,
    /// Containers.
    pub containers: Vec<ContainerUsage>,
    /// Volumes.
    pub volumes: Vec<VolumeUsage>,
}

/// `4.2MB (50%)`: the reclaimable bytes and their share of `total`, as
/// docker prints them (no share when the total is 0).
fn reclaimable(bytes: u64, total: u64) -> String {
    match (bytes * 100).checked_div(total) {
        Some(share) => format!("{} ({share}%)", human_size(bytes)),
        None => human_size(bytes),
    }
}

/// One summary row.
fn summary_row(kind: &str, total: usize, active: usize, size: String, reclaim: String) -> Row {
    Row {
        fields: tmap! {
            "Type" => kind,
            "TotalCount" => total.to_string(),
            "Active" => active.to_string(),
            "Size" => size,
            "Reclaimable" => reclaim,
        },
        labels: Arc::default(),
    }
}

/// The summary's column names.
fn summary_header() -> Value {
    tmap! {
        "Type" => "TYPE",
        "TotalCount" => "TOTAL",
        "Active" => "ACTIVE",
        "Size" => "SIZE",
        "Reclaimable" => "RECLAIMABLE",
    }
}

/// The four summary rows: images, containers, local volumes, build cache.
pub fn summary_rows(du: &DiskUsage) -> Vec<Row> {
    let used_images: Vec<&ImageUsage> = du.images.iter().filter(|i| i.containers > 0).collect();
    let image_used: u64 = used_images
        .iter()
        .map(|i| i.summary.size.saturating_sub(i.shared_size))
        .sum();
    let live = |c: &&ContainerUsage| is_live(&c.container);
    let containers_size: u64 = du.containers.iter().map(|c| c.size_rw).sum();
    let containers_idle: u64 = du
        .containers
        .iter()
        .filter(|c| !live(c))
        .map(|c| c.size_rw)
        .sum();
    let volumes_size: u64 = du.volumes.iter().map(|v| v.size).sum();
    let volumes_unused: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    vec![
        summary_row(
            "Images",
            du.images.len(),
            used_images.len(),
            human_size(du.layers_size),
            reclaimable(du.layers_size.saturating_sub(image_used), du.layers_size),
        ),
        summary_row(
            "Containers",
            du.containers.len(),
            du.containers.iter().filter(live).count(),
            human_size(containers_size),
            reclaimable(containers_idle, containers_size),
        ),
        summary_row(
            "Local Volumes",
            du.volumes.len(),
            du.volumes.iter().filter(|v| v.links > 0).count(),
            human_size(volumes_size),
            reclaimable(volumes_unused, volumes_size),
        ),
        summary_row("Build Cache", 0, 0, human_size(0), human_size(0)),
    ]
}

/// Sets `key` of a row's fields.
fn set(row: &mut Row, key: &str, value: String) {
    if let Value::Map(map) = &mut row.fields {
        Arc::make_mut(map).insert(Arc::from(key), Value::String(value.as_str().into()));
    }
}

/// `-v`'s image rows: the first tag only, with shared and unique sizes
/// and the number of containers.
fn image_rows_verbose(du: &DiskUsage, trunc: bool, now: DateTime<Utc>) -> Vec<Row> {
    du.images
        .iter()
        .filter_map(|i| {
            let first = &i.summary.tags[..i.summary.tags.len().min(1)];
            let mut row = image_rows(&i.summary, first, trunc, now)
                .into_iter()
                .next()?;
            set(&mut row, "SharedSize", human_size(i.shared_size));
            set(
                &mut row,
                "UniqueSize",
                human_size(i.summary.size.saturating_sub(i.shared_size)),
            );
            set(&mut row, "Containers", i.containers.to_string());
            Some(row)
        })
        .collect()
}

/// `-v`'s container rows.
fn container_rows(du: &DiskUsage, trunc: bool, now: DateTime<Utc>) -> Vec<Row> {
    du.containers
        .iter()
        .map(|u| {
            let c = &u.container;
            let mut command = c.argv().join(" ");
            if trunc && command.chars().count() > 20 {
                command = format!("{}…", command.chars().take(19).collect::<String>());
            }
            let created = DateTime::parse_from_rfc3339(&c.created)
                .map_or(now, |t| t.with_timezone(&Utc));
            let mut size = human_size_precision(u.size_rw, 3);
            if u.size_root_fs > 0 {
                size = format!("{size} (virtual {})", human_size_precision(u.size_root_fs, 3));
            }
            Row {
                fields: tmap! {
                    "ID" => if trunc { c.short_id() } else { c.id.as_str() },
                    "Image" => c.config.image.as_str(),
                    "Command" => format!("{command:?}"),
                    "LocalVolumes" => volume_names(c).count().to_string(),
                    "Size" => size,
                    "RunningFor" => format!("{} ago", human_duration((now - created).num_seconds())),
                    "Status" => status_text(c, now),
                    "Names" => c.short_name(),
                },
                labels: Arc::new(c.config.labels.clone()),
            }
        })
        .collect()
}

/// `-v`'s volume rows.
fn volume_rows(du: &DiskUsage) -> Vec<Row> {
    du.volumes
        .iter()
        .map(|v| Row {
            fields: tmap! {
                "Name" => v.volume.name.as_str(),
                "Links" => v.links.to_string(),
                "Size" => human_size(v.size),
            },
            labels: Arc::new(v.volume.labels.clone().unwrap_or_default()),
        })
        .collect()
}

/// The `-v` sections: each table with its own header, as docker's
/// verbose writer; with `json`, one object holding each section's rows.
pub fn render_verbose(du: &DiskUsage, json: bool, now: DateTime<Utc>) -> Result<String, String> {
    let sections = [
        (
            IMAGES_TABLE,
            image_rows_verbose(du, !json, now),
            images_header(),
        ),
        (
            CONTAINERS_TABLE,
            container_rows(du, !json, now),
            tmap! {
                "ID" => "CONTAINER ID",
                "Image" => "IMAGE",
                "Command" => "COMMAND",
                "LocalVolumes" => "LOCAL VOLUMES",
                "Size" => "SIZE",
                "RunningFor" => "CREATED",
                "Status" => "STATUS",
                "Names" => "NAMES",
            },
        ),
        (
            VOLUMES_TABLE,
            volume_rows(du),
            tmap! { "Name" => "VOLUME NAME", "Links" => "LINKS", "Size" => "SIZE" },
        ),
        (
            BUILD_CACHE_TABLE,
            Vec::new(),
            tmap! {
                "ID" => "CACHE ID",
                "CacheType" => "CACHE TYPE",
                "Size" => "SIZE",
                "CreatedSince" => "CREATED",
                "LastUsedSince" => "LAST USED",
                "UsageCount" => "USAGE",
                "Shared" => "SHARED",
            },
        ),
    ];
    if json {
        let mut parts = Vec::new();
        for ((_, rows, header), key) in
            sections
                .iter()
                .zip(["Images", "Containers", "Volumes", "BuildCache"])
        {
            let lines = write_list(JSON_KEY, rows, header)?;
            parts.push(format!(
                "\"{key}\":[{}]",
                lines.trim_end().replace('\n', ",")
            ));
        }
        return Ok(format!("{{{}}}\n", parts.join(",")));
    }
    let titles = [
        "Images space usage:\n\n".to_owned(),
        "\nContainers space usage:\n\n".to_owned(),
        "\nLocal Volumes space usage:\n\n".to_owned(),
        format!("\nBuild cache usage: {}\n\n", human_size(0)),
    ];
    let mut out = String::new();
    for ((format, rows, header), title) in sections.iter().zip(titles) {
        out.push_str(&title);
        out.push_str(&write_list(format, rows, header)?);
    }
    Ok(out)
}

/// Counts what is on disk under berth's root.
pub fn gather(g: &Globals) -> Result<DiskUsage, Failure> {
    let daemon =
        |e: &dyn std::fmt::Display| Failure::new(1, format!("Error response from daemon: {e}"));
    let store = Store::open(&g.root).map_err(|e| daemon(&e))?;
    let lock = store.lock_shared().map_err(|e| daemon(&e))?;
    let state = store.state().map_err(|e| daemon(&e))?;
    let images = summaries(&store, &state).map_err(|e| daemon(&e))?;
    let mut layers: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    let mut images_of_layer: BTreeMap<Digest, usize> = BTreeMap::new();
    for image in &images {
        let diff_ids = store
            .config(&image.id)
            .map_err(|e| daemon(&e))?
            .0
            .rootfs
            .diff_ids;
        for d in &diff_ids {
            *images_of_layer.entry(*d).or_default() += 1;
        }
        layers.insert(image.id, diff_ids);
    }
    drop(lock);
    let list = match g.engine() {
        Ok(engine) => engine.list(),
        Err(_) => Containers::open(&g.root, &g.runroot).and_then(|s| s.list()),
    }
    .map_err(|e| daemon(&e))?;
    let store_dirs = Containers::open(&g.root, &g.runroot).map_err(|e| daemon(&e))?;
    let users = ContainerUse::of(list.clone());
    let layer_size = |d: &Digest| store.layer_size(d);
    let mut du = DiskUsage {
        layers_size: images_of_layer.keys().map(layer_size).sum(),
        ..DiskUsage::default()
    };
    for summary in images {
        let diff_ids = layers.get(&summary.id).map_or(&[][..], Vec::as_slice);
        let shared_size = diff_ids
            .iter()
            .filter(|d| images_of_layer.get(*d).copied().unwrap_or(0) > 1)
            .map(layer_size)
            .sum();
        du.images.push(ImageUsage {
            containers: users.image_users(&summary.id).count(),
            shared_size,
            summary,
        });
    }
    for c in list {
        let size_rw = crate::volume::size::dir_size(&store_dirs.dir_of(&c.id).join("upper"));
        let image_size = du
            .images
            .iter()
            .find(|i| i.summary.id.to_string() == c.image)
            .map_or(0, |i| i.summary.size);
        du.containers.push(ContainerUsage {
            size_root_fs: size_rw + image_size,
            size_rw,
            container: c,
        });
    }
    let volumes = Volumes::open(&g.root).map_err(|e| daemon(&e))?;
    for volume in volumes.list().map_err(|e| daemon(&e))? {
        du.volumes.push(VolumeUsage {
            links: users.volume_links(&volume.name),
            size: volumes.size(&volume.name),
            volume,
        });
    }
    Ok(du)
}

impl DfArgs {
    /// Prints the usage.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        let format = self.format.get().filter(|f| !f.is_empty());
        let du = gather(g)?;
        let now = Utc::now();
        let out = if self.verbose {
            render_verbose(&du, format == Some(JSON_KEY), now)
        } else {
            let format = match format.unwrap_or(TABLE_KEY) {
                TABLE_KEY => TABLE,
                other => other,
            };
            write_list(format, &summary_rows(&du), &summary_header())
        }
        .map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Status;
    use crate::image::Reference;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sample() -> DiskUsage {
        let mut running = Container {
            id: "a".repeat(64),
            name: "/web".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        running.state.status = Status::Running;
        running.state.started_at = "2024-01-01T00:00:00Z".into();
        running.config.image = "busybox".into();
        running.config.cmd = vec!["sleep".into(), "600".into()];
        let mut stopped = running.clone();
        stopped.id = "b".repeat(64);
        stopped.name = "/old".into();
        stopped.state.status = Status::Exited;
        stopped.state.finished_at = "2024-01-01T00:00:00Z".into();
        stopped.host_config.mounts = vec![crate::container::record::MountPoint {
            kind: "volume".into(),
            name: "data".into(),
            ..Default::default()
        }];
        DiskUsage {
            images: vec![ImageUsage {
                summary: Summary {
                    id: Digest::from_hex(&"ab".repeat(32)).unwrap(),
                    parent: None,
                    tags: vec![Reference::parse_tagged("busybox").unwrap()],
                    created: t("2024-01-01T00:00:00Z"),
                    size: 4_000_000,
                    labels: BTreeMap::new(),
                    has_children: false,
                },
                shared_size: 0,
                containers: 2,
            }],
            layers_size: 5_000_000,
            containers: vec![
                ContainerUsage {
                    container: running,
                    size_rw: 100,
                    size_root_fs: 4_000_100,
                },
                ContainerUsage {
                    container: stopped,
                    size_rw: 300,
                    size_root_fs: 4_000_300,
                },
            ],
            volumes: vec![
                VolumeUsage {
                    volume: Volume {
                        name: "data".into(),
                        ..Default::default()
                    },
                    links: 1,
                    size: 20,
                },
                VolumeUsage {
                    volume: Volume {
                        name: "spare".into(),
                        ..Default::default()
                    },
                    links: 0,
                    size: 60,
                },
            ],
        }
    }

    #[test]
    fn the_summary_reads_as_dockers() {
        let out = write_list(TABLE, &summary_rows(&sample()), &summary_header()).unwrap();
        assert_eq!(
            out,
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images          1         1         5MB       1MB (20%)\n\
             Containers      2         1         400B      300B (75%)\n\
             Local Volumes   2         1         80B       60B (75%)\n\
             Build Cache     0         0         0B        0B\n"
        );
        let empty = write_list(
            TABLE,
            &summary_rows(&DiskUsage::default()),
            &summary_header(),
        )
        .unwrap();
        assert!(
            empty.contains("Images          0         0         0B        0B\n"),
            "{empty}"
        );
        let json = write_list("json", &summary_rows(&sample())[..1], &summary_header()).unwrap();
        assert_eq!(
            json,
            "{\"Active\":\"1\",\"Reclaimable\":\"1MB (20%)\",\"Size\":\"5MB\",\"TotalCount\":\"1\",\"Type\":\"Images\"}\n"
        );
    }

    #[test]
    fn verbose_has_a_table_per_section() {
        let out = render_verbose(&sample(), false, t("2024-01-01T00:05:00Z")).unwrap();
        let expected = "Images space usage:\n\n\
REPOSITORY   TAG       IMAGE ID       CREATED         SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n\
busybox      latest    abababababab   5 minutes ago   4MB       0B            4MB           2\n\
\nContainers space usage:\n\n\
CONTAINER ID   IMAGE     COMMAND       LOCAL VOLUMES   SIZE                 CREATED         STATUS                     NAMES\n\
aaaaaaaaaaaa   busybox   \"sleep 600\"   0               100B (virtual 4MB)   5 minutes ago   Up 5 minutes               web\n\
bbbbbbbbbbbb   busybox   \"sleep 600\"   1               300B (virtual 4MB)   5 minutes ago   Exited (0) 5 minutes ago   old\n\
\nLocal Volumes space usage:\n\n\
VOLUME NAME   LINKS     SIZE\n\
data          1         20B\n\
spare         0         60B\n\
\nBuild cache usage: 0B\n\n\
CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n";
        assert_eq!(out, expected);
        let json = render_verbose(&sample(), true, t("2024-01-01T00:05:00Z")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Volumes"][1]["Name"], "spare");
        assert_eq!(v["Containers"][0]["ID"], "a".repeat(64));
        assert_eq!(v["BuildCache"], serde_json::json!([]));
    }
}
