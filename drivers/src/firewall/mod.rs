//! netd's firewall: its own nftables tables, programmed in atomic batches.
//!
//! - [`ruleset`]: what the tables hold, generated as data.
//! - [`nft`]: applying a batch, in-process through libnftables when the
//!   library is there, else through the `nft` command.

pub mod nft;
pub mod ruleset;

use std::net::IpAddr;

pub use netd_api::Protocol;
pub use nft::{Nft, NftError};
pub use ruleset::{Change, NetworkRules, PortOp};

/// One published port as the kernel sees it: traffic to `host_ip` (any
/// local address when `None`) port `host_port` goes to the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishedPort {
    /// The host address, `None` for all of the family's addresses.
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: u16,
    /// The protocol.
    pub protocol: Protocol,
    /// The container's address.
    pub container_ip: IpAddr,
    /// The container's port.
    pub container_port: u16,
}
