//! Netlink, on `libc` only: the socket and message layer (`socket`), generic-netlink family lookup
//! (`genl`), the `netdev` family's queues, NAPI instances and queue statistics (`netdev`), and
//! rtnetlink link statistics with `rtnl_link_stats64` (`rtnl`), and UDP sockets with their memory
//! counters from sock_diag (`sockdiag`).
//!
//! Everything is read in the network namespace the socket was created in: the one-shot readers
//! open their own socket in the calling thread's netns; a `Sampler` keeps its sockets
//! (`rtnl::read_links_on`, `netdev::NetdevSocket`) for its whole run.
//!
//! Parsing is pure (`&[u8]` in, data or `ParseError` out) and bounds-checked, so crafted,
//! truncated or random buffers are rejected, never a panic.

pub mod genl;
pub mod netdev;
pub mod rtnl;
pub mod sockdiag;
pub mod socket;

pub use netdev::{Napi, NetdevGenl, QStats, Queue, QueueType};
pub use rtnl::{Link, read_links, read_links_on};

use crate::avail::{Unavailable, io_reason};
use crate::source::ParseError;
use std::fmt;
use std::io;

/// Why a netlink conversation failed.
#[derive(Debug)]
pub enum NlError {
    /// The socket itself failed (socket, bind, send, recv, timeout).
    Os(io::Error),
    /// The kernel answered with an error: `errno` is positive (EOPNOTSUPP, ENOENT, ...);
    /// `message` is the extended-ack text when the kernel gave one.
    Kernel { errno: i32, message: Option<String> },
    /// The reply was malformed.
    Parse(ParseError),
}

impl NlError {
    /// The kernel's errno, whichever way it arrived.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Os(e) => e.raw_os_error(),
            NlError::Kernel { errno, .. } => Some(*errno),
            NlError::Parse(_) => None,
        }
    }

    /// Whether the socket the error came from can be used again. After a kernel error the reply
    /// ended cleanly (NLMSG_ERROR or NLMSG_DONE); after a socket error (ENOBUFS: replies were
    /// lost, a timeout) or a malformed reply the rest of that reply may still be queued, so a
    /// kept socket is closed and a new one opened for the next sample.
    pub fn spoils_socket(&self) -> bool {
        !matches!(self, NlError::Kernel { .. })
    }

    /// The operator-facing reason, classified like file reads (absent, needs root, unsupported).
    pub fn to_unavailable(&self, what: impl Into<String>) -> Unavailable {
        let why = match self {
            NlError::Os(e) => io_reason(e),
            NlError::Kernel { errno, message } => {
                let base = io_reason(&io::Error::from_raw_os_error(*errno));
                match message {
                    Some(m) => format!("{base} (kernel: {m})"),
                    None => base,
                }
            }
            NlError::Parse(e) => {
                format!("cannot parse the kernel's reply ({e}); please report this")
            }
        };
        Unavailable::new(what, why)
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlError::Os(e) => write!(f, "{e}"),
            NlError::Kernel { errno, message } => {
                write!(f, "{}", io::Error::from_raw_os_error(*errno))?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            NlError::Parse(e) => write!(f, "malformed reply: {e}"),
        }
    }
}

impl std::error::Error for NlError {}

impl From<ParseError> for NlError {
    fn from(e: ParseError) -> Self {
        NlError::Parse(e)
    }
}
