//! rxpath's own ethtool layer: SIOCETHTOOL ioctls on a plain socket, no ethtool binary, no netlink.
//!
//! Each command is read on its own and becomes its own `Avail`, so a driver that lacks one command
//! (veth has no ring parameters, lo has almost nothing) never hides the others. Driver statistics
//! exist only over this ioctl (netlink carries only the standard groups), which is why rxpath
//! speaks it directly.
//!
//! Everything runs in the network namespace the socket was created in: `read` and the setters
//! create it in the calling thread's namespace.

mod drvinfo;
mod features;
pub mod ioctl;
mod params;
mod rss;
mod stats;
mod strings;
mod tsinfo;

pub use drvinfo::{DrvInfo, drvinfo};
pub use features::{
    Feature, FeatureBlock, expand_features, expand_priv_flags, features, parse_blocks, priv_flags,
};
pub use ioctl::{EthtoolSocket, IfName};
pub use params::{
    Channels, Coalesce, Ring, channels, check_channels, check_ring, coalesce, ring, set_channels,
    set_ring,
};
pub use rss::{parse_ring_index, rss_indir};
pub use stats::{StatsError, collect_stats, stats, stats_again, zip_stats};
pub use strings::{slot_to_string, split_strings, unique_names};
pub use tsinfo::{
    Flags, HWTSTAMP_FILTER_NAMES, HWTSTAMP_TX_NAMES, SOF_TIMESTAMPING_NAMES, TsInfo, decode_bits,
    ts_info,
};

use crate::avail::{Avail, Unavailable, io_reason};
use crate::source::CounterMap;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::sync::Arc;

/// How often a read whose size changed under it (stats, strings, RSS table) is attempted.
pub const MAX_TRIES: usize = 3;

/// Operator-facing reasons for the errors ethtool commands typically give.
pub mod why {
    pub const NOT_SUPPORTED: &str = "not supported by this driver";
    pub const NEEDS_ADMIN: &str = "needs CAP_NET_ADMIN: run as root";
    pub const NO_SUCH_INTERFACE: &str = "no such interface";
}

/// The reason for an ioctl error, in the words of `why`.
pub fn reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) => why::NOT_SUPPORTED.into(),
        Some(libc::EPERM) | Some(libc::EACCES) => why::NEEDS_ADMIN.into(),
        Some(libc::ENODEV) => why::NO_SUCH_INTERFACE.into(),
        _ => io_reason(err),
    }
}

/// `Unavailable` naming the interface and the command, e.g. `lo: ETHTOOL_GDRVINFO`.
pub fn cmd_error(ifname: &str, cmd: &str, err: &io::Error) -> Unavailable {
    Unavailable::new(format!("{ifname}: {cmd}"), reason(err))
}

/// Everything ethtool tells about one interface, each part read (or missing) on its own. The
/// parts other than `stats` are settings: shared (`Arc`) between a `Sampler`'s samples until it
/// reads them again, so a sample does not copy ~60 feature names per interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthtoolInfo {
    pub driver: Arc<Avail<DrvInfo>>,
    /// `ethtool -S`: names exactly as the driver gives them, in its order (duplicates renamed
    /// `name#2`, ... as described in `unique_names`).
    pub stats: Avail<CounterMap>,
    pub ring: Arc<Avail<Ring>>,
    pub channels: Arc<Avail<Channels>>,
    pub coalesce: Arc<Avail<Coalesce>>,
    pub features: Arc<Avail<Vec<Feature>>>,
    /// RX ring index per RSS hash bucket.
    pub rss_indir: Arc<Avail<Vec<u32>>>,
    pub ts_info: Arc<Avail<TsInfo>>,
    pub priv_flags: Arc<Avail<IndexMap<String, bool>>>,
}

impl EthtoolInfo {
    /// Every part missing for the same reason (bad interface name, no socket).
    pub fn all_missing(u: Unavailable) -> EthtoolInfo {
        EthtoolInfo {
            driver: Arc::new(Avail::Unavailable(u.clone())),
            stats: Avail::Unavailable(u.clone()),
            ring: Arc::new(Avail::Unavailable(u.clone())),
            channels: Arc::new(Avail::Unavailable(u.clone())),
            coalesce: Arc::new(Avail::Unavailable(u.clone())),
            features: Arc::new(Avail::Unavailable(u.clone())),
            rss_indir: Arc::new(Avail::Unavailable(u.clone())),
            ts_info: Arc::new(Avail::Unavailable(u.clone())),
            priv_flags: Arc::new(Avail::Unavailable(u)),
        }
    }
}

/// Reads everything for `ifname` with one socket, in the calling thread's network namespace.
pub fn read(ifname: &str) -> EthtoolInfo {
    match EthtoolSocket::new() {
        Ok(sock) => read_with(&sock, ifname),
        Err(e) => EthtoolInfo::all_missing(Unavailable::new(
            format!("{ifname}: SIOCETHTOOL"),
            format!("cannot open a socket: {}", io_reason(&e)),
        )),
    }
}

/// As `read`, with a socket the caller keeps (it fixes the network namespace).
pub fn read_with(sock: &EthtoolSocket, ifname: &str) -> EthtoolInfo {
    let name = match IfName::new(ifname) {
        Ok(n) => n,
        Err(msg) => return EthtoolInfo::all_missing(Unavailable::new(ifname, msg)),
    };
    EthtoolInfo {
        driver: Arc::new(drvinfo(sock, &name, ifname).into()),
        stats: stats(sock, &name, ifname).into(),
        ring: Arc::new(ring(sock, &name, ifname).into()),
        channels: Arc::new(channels(sock, &name, ifname).into()),
        coalesce: Arc::new(coalesce(sock, &name, ifname).into()),
        features: Arc::new(features(sock, &name, ifname).into()),
        rss_indir: Arc::new(rss_indir(sock, &name, ifname).into()),
        ts_info: Arc::new(ts_info(sock, &name, ifname).into()),
        priv_flags: Arc::new(priv_flags(sock, &name, ifname).into()),
    }
}

/// Only `ethtool -S`, the part that counts: what a `Sampler` asks every sample (the other parts
/// are settings it re-reads less often), given the statistics of its last read in `stats`. One
/// GSTATS into `buf`, a buffer the caller keeps for every call, when the driver still has as many
/// statistics as `stats` names; else names and values afresh (see `stats_again`). Returns whether
/// the names were read afresh.
pub fn read_stats_again(
    sock: &EthtoolSocket,
    ifname: &str,
    stats: &mut Avail<CounterMap>,
    buf: &mut Option<ioctl::IoBuf>,
) -> bool {
    match IfName::new(ifname) {
        Ok(name) => stats_again(sock, &name, ifname, stats, buf),
        Err(msg) => {
            *stats = Avail::Unavailable(Unavailable::new(ifname, msg));
            true
        }
    }
}

/// Why a `set_channels` / `set_ring` did not happen.
#[derive(Debug)]
pub enum SetError {
    /// The interface or driver cannot do it at all (EOPNOTSUPP, EPERM, ENODEV, bad name).
    Unavailable(Unavailable),
    /// The value is out of range: refused before writing, or the driver answered EINVAL. Nothing
    /// was changed. The message names the interface and the value.
    Invalid(String),
    /// Anything else, with the interface and value in `msg`.
    Io { msg: String, source: io::Error },
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::Unavailable(u) => write!(f, "{u}"),
            SetError::Invalid(m) => write!(f, "{m}"),
            SetError::Io { msg, source } => write!(f, "{msg}: {source}"),
        }
    }
}

impl std::error::Error for SetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_remedy() {
        let r = |e| reason(&io::Error::from_raw_os_error(e));
        assert_eq!(r(libc::EOPNOTSUPP), "not supported by this driver");
        assert_eq!(r(libc::EPERM), "needs CAP_NET_ADMIN: run as root");
        assert_eq!(r(libc::ENODEV), "no such interface");
    }

    #[test]
    fn bad_names_make_every_part_unavailable_without_panicking() {
        let info = read("this-name-is-far-too-long");
        assert!(!info.driver.is_available());
        assert!(info.priv_flags.unavailable().unwrap().why.contains("at most 15"));
    }
}
