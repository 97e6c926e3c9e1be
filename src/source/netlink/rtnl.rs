//! rtnetlink link statistics: an RTM_GETLINK dump, keeping each link's index, name and
//! IFLA_STATS64 (`struct rtnl_link_stats64`). This is the only interface that shows
//! `rx_otherhost_dropped` (frames for another MAC, dropped in ip_rcv_core since 6.0): neither
//! /proc/net/dev nor sysfs print it.
//!
//! Numbers: include/uapi/linux/rtnetlink.h (RTM_GETLINK, RTM_NEWLINK, struct ifinfomsg) and
//! include/uapi/linux/if_link.h (IFLA_IFNAME = 3, IFLA_STATS64 = 23, struct rtnl_link_stats64).

use super::NlError;
use super::socket::{Attrs, MsgBuilder, NLM_F_DUMP, NLM_F_REQUEST, NlSocket};
use crate::avail::{Avail, Unavailable};
use crate::source::ParseError;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_STATS64: u16 = 23;
/// sizeof(struct ifinfomsg): u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change.
const IFINFOMSG_LEN: usize = 16;

/// The fields of `struct rtnl_link_stats64` in order (if_link.h, 6.12). The struct only ever grew
/// at the end (rx_nohandler in 4.6, rx_otherhost_dropped in 6.0), so an older kernel sends a
/// prefix of it.
pub const STATS64_FIELDS: [&str; 25] = [
    "rx_packets",
    "tx_packets",
    "rx_bytes",
    "tx_bytes",
    "rx_errors",
    "tx_errors",
    "rx_dropped",
    "tx_dropped",
    "multicast",
    "collisions",
    "rx_length_errors",
    "rx_over_errors",
    "rx_crc_errors",
    "rx_frame_errors",
    "rx_fifo_errors",
    "rx_missed_errors",
    "tx_aborted_errors",
    "tx_carrier_errors",
    "tx_fifo_errors",
    "tx_heartbeat_errors",
    "tx_window_errors",
    "rx_compressed",
    "tx_compressed",
    "rx_nohandler",
    "rx_otherhost_dropped",
];

/// One network device and its `rtnl_link_stats64`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub ifindex: u32,
    pub ifname: String,
    /// By the struct's field names; only as many as the kernel sent. Fields past the 25 known
    /// ones (a newer kernel) are kept as `field-N` (N = 0-based position).
    pub stats64: IndexMap<String, u64>,
}

/// Decodes an IFLA_STATS64 payload: as many u64 as it holds; trailing bytes short of a whole u64
/// are ignored.
pub fn parse_stats64(payload: &[u8]) -> IndexMap<String, u64> {
    payload
        .chunks_exact(8)
        .enumerate()
        .map(|(i, c)| {
            let name = STATS64_FIELDS.get(i).map_or_else(|| format!("field-{i}"), |s| s.to_string());
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            (name, u64::from_ne_bytes(b))
        })
        .collect()
}

/// Parses one RTM_NEWLINK message payload (struct ifinfomsg, then attributes).
pub fn parse_link(payload: &[u8]) -> Result<Link, ParseError> {
    let hdr = payload.get(..IFINFOMSG_LEN).ok_or_else(|| {
        ParseError::new(0, format!("RTM_NEWLINK of {} bytes has no ifinfomsg", payload.len()))
    })?;
    let ifindex = u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    let attrs = payload.get(IFINFOMSG_LEN..).unwrap_or_default();
    let mut ifname = None;
    let mut stats64 = IndexMap::new();
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            IFLA_IFNAME => ifname = Some(a.string()?),
            IFLA_STATS64 => stats64 = parse_stats64(a.payload),
            _ => {}
        }
    }
    let ifname = ifname.ok_or_else(|| {
        ParseError::new(0, format!("RTM_NEWLINK for ifindex {ifindex} without IFLA_IFNAME"))
    })?;
    Ok(Link { ifindex, ifname, stats64 })
}

/// The RTM_GETLINK dump request (all links, any family).
pub fn getlink_request(seq: u32) -> Vec<u8> {
    let ifinfomsg = [0u8; IFINFOMSG_LEN]; // AF_UNSPEC, no index: every link
    MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq).header(&ifinfomsg).finish()
}

/// Every link of the calling thread's network namespace with its stats64.
pub fn read_links() -> Avail<Vec<Link>> {
    const WHAT: &str = "netlink RTM_GETLINK dump (IFLA_STATS64)";
    let mut sock = match NlSocket::open(libc::NETLINK_ROUTE) {
        Ok(s) => s,
        Err(e) => return Avail::Unavailable(Unavailable::from_io(WHAT, &e)),
    };
    let msgs = match sock.transact(getlink_request) {
        Ok(m) => m,
        Err(e) => return Avail::Unavailable(e.to_unavailable(WHAT)),
    };
    let mut links = Vec::with_capacity(msgs.len());
    for m in msgs.iter().filter(|m| m.kind == RTM_NEWLINK) {
        match parse_link(&m.payload) {
            Ok(l) => links.push(l),
            Err(e) => return Avail::Unavailable(NlError::Parse(e).to_unavailable(WHAT)),
        }
    }
    Avail::Value(links)
}
