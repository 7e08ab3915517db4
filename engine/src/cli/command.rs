//! berth's command tree as clap sees it: the global options, then a
//! command of one of the groups (or its top-level shortcut).

use clap::{Parser, Subcommand};

use super::global::Globals;
use super::{container, image, network, shim, system, volume};

/// The root usage line.
const USAGE: &str = "berth [OPTIONS] COMMAND [ARG...]";

/// `berth`.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A compact container engine, and the command line of netd",
    version,
    override_usage = USAGE
)]
pub struct Cli {
    /// The global options.
    #[command(flatten)]
    pub global: Globals,
    /// The command.
    #[command(subcommand)]
    pub command: Option<TopCommand>,
}

/// `berth`'s commands.
#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// Manage containers
    Container(Box<container::ContainerArgs>),
    /// Container commands at the top level (`run`, `ps`, `logs`, …).
    #[command(flatten)]
    ContainerShortcut(Box<container::ContainerCommand>),
    /// The per-container shim (berth runs it itself).
    #[command(hide = true)]
    Shim(shim::ShimArgs),
    /// Manage images
    Image(Box<image::ImageArgs>),
    /// Manage networks
    Network(Box<network::NetworkArgs>),
    /// Image commands at the top level (`images`, `rmi`, `tag`, …).
    #[command(flatten)]
    ImageShortcut(Box<image::ShortcutCommand>),
    /// Manage volumes
    Volume(Box<volume::VolumeArgs>),
    /// Manage berth
    System(Box<system::SystemArgs>),
    /// Show the berth version information
    Version(system::version::VersionArgs),
    /// Display system-wide information
    Info(system::info::InfoArgs),
    /// Anything else: not a berth command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}
