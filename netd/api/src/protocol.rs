//! The one transport-protocol type every layer shares: the `-p` parser and
//! the API, netd's store, and the firewall code that programs the kernel.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A transport protocol a port can be published for, as text `tcp`, `udp`
/// or `sctp` (the same spelling in JSON, in the store and in nftables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The IP protocol number (6, 17, 132).
    pub const fn number(self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Sctp => 132,
        }
    }

    /// The lowercase name, as Docker and nft write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

/// A protocol name that is none of the three; the text is Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid proto: {0}")]
pub struct InvalidProtocol(pub String);

/// Case-insensitive, as Docker's `ParsePortSpec` lowercases before
/// `validateProto`; the error quotes the input as given.
impl FromStr for Protocol {
    type Err = InvalidProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            "sctp" => Ok(Self::Sctp),
            _ => Err(InvalidProtocol(s.to_owned())),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_parses_any_case_and_names_bad_input() {
        assert_eq!("TCP".parse::<Protocol>(), Ok(Protocol::Tcp));
        assert_eq!("udp".parse::<Protocol>(), Ok(Protocol::Udp));
        assert_eq!("Sctp".parse::<Protocol>(), Ok(Protocol::Sctp));
        assert_eq!(
            "icmp".parse::<Protocol>().unwrap_err().to_string(),
            "invalid proto: icmp"
        );
    }

    #[test]
    fn protocol_has_one_spelling_everywhere() {
        for p in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(p.to_string(), p.as_str());
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert_eq!(
            [Protocol::Tcp, Protocol::Udp, Protocol::Sctp].map(Protocol::number),
            [6, 17, 132]
        );
    }
}
