//! The container commands: `berth run|create|start|ps|logs|stop|kill|rm|
//! restart|pause|unpause|wait|rename|inspect|port|exec|…` (and the same
//! under `berth container …`).

pub mod attach;
pub mod commit;
pub mod cp;
pub mod diff;
pub mod exec;
pub mod lifecycle;
pub mod logs;
pub mod ps;
pub mod run;
pub mod show;
pub mod stats;
pub mod top;

use clap::{Args, Subcommand};

use super::exit::Failure;
use super::global::Globals;
use super::io::Io;

/// The container commands, at the top level and under `container`.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(Box<run::RunArgs>),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(Box<run::CreateArgs>),
    /// Start one or more stopped containers
    Start(lifecycle::StartArgs),
    /// List containers
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(ps::PsArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(lifecycle::RmArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::NamesArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::NamesArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Display detailed information on one or more containers
    Inspect(show::InspectArgs),
    /// List port mappings or a specific mapping for the container
    Port(show::PortArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Remove all stopped containers
    Prune(lifecycle::PruneArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(diff::DiffArgs),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
}

/// `berth container`.
#[derive(Debug, Args)]
pub struct ContainerArgs {
    /// The command.
    #[command(subcommand)]
    pub command: ContainerCommand,
}

/// Runs one container command.
pub fn run(cmd: ContainerCommand, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    match cmd {
        ContainerCommand::Run(a) => run::run(&a, g, io),
        ContainerCommand::Create(a) => run::create_only(&a, g, io),
        ContainerCommand::Start(a) => lifecycle::start(&a, g, io),
        ContainerCommand::Ps(a) => ps::run(&a, g, io),
        ContainerCommand::Logs(a) => logs::run(&a, g, io),
        ContainerCommand::Stop(a) => lifecycle::stop(&a, g, io, false),
        ContainerCommand::Restart(a) => lifecycle::stop(&a, g, io, true),
        ContainerCommand::Kill(a) => lifecycle::kill(&a, g, io),
        ContainerCommand::Rm(a) => lifecycle::rm(&a, g, io),
        ContainerCommand::Pause(a) => lifecycle::pause(&a, g, io, true),
        ContainerCommand::Unpause(a) => lifecycle::pause(&a, g, io, false),
        ContainerCommand::Wait(a) => lifecycle::wait(&a, g, io),
        ContainerCommand::Rename(a) => lifecycle::rename(&a, g),
        ContainerCommand::Inspect(a) => show::inspect(&a, g, io),
        ContainerCommand::Port(a) => show::port(&a, g, io),
        ContainerCommand::Exec(a) => exec::run(&a, g),
        ContainerCommand::Prune(a) => lifecycle::prune(&a, g, io),
        ContainerCommand::Stats(a) => stats::run(&a, g, io),
        ContainerCommand::Top(a) => top::run(&a, g, io),
        ContainerCommand::Diff(a) => diff::run(&a, g, io),
        ContainerCommand::Commit(a) => commit::run(&a, g, io),
        ContainerCommand::Cp(a) => cp::run(&a, g, io),
        ContainerCommand::Attach(a) => attach::run(&a, g, io),
    }
}
