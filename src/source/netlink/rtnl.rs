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
use crate::source::CounterMap;
use crate::source::{Name, ParseError};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_STATS64: u16 = 23;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_CARRIER: u16 = 33;
const IFLA_CARRIER_CHANGES: u16 = 35;
const IFLA_ALLMULTI: u16 = 61;
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
    pub stats64: CounterMap,
    /// What the dump tells of the link's state, to compare with a later dump (not recorded).
    #[serde(skip)]
    pub signal: LinkSignal,
}

/// Everything rtnetlink shows that the link state sysfs shows derives from: `ifi_flags`
/// (`dev_get_flags`: `dev->flags` but promiscuous and allmulti as asked by users, plus RUNNING,
/// LOWER_UP and DORMANT while the device runs), the operational state and link mode, carrier and
/// its change count, and the promiscuity and allmulti counts that set `dev->flags`' own
/// PROMISC and ALLMULTI. While two dumps give the same signal, sysfs' flags, operstate, carrier
/// and dormant read the same. (IFLA_ALLMULTI is 6.6+; before it, an allmulti count the kernel
/// itself raised shows in sysfs only.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkSignal {
    flags: u32,
    operstate: Option<u8>,
    linkmode: Option<u8>,
    carrier: Option<u8>,
    carrier_changes: Option<u32>,
    promiscuity: Option<u32>,
    allmulti: Option<u32>,
}

/// Decodes an IFLA_STATS64 payload: as many u64 as it holds; trailing bytes short of a whole u64
/// are ignored.
pub fn parse_stats64(payload: &[u8]) -> CounterMap {
    // Every link of every sample has these names: made once for the process, then shared.
    static NAMES: LazyLock<[Name; 25]> = LazyLock::new(|| STATS64_FIELDS.map(Name::from));
    payload
        .chunks_exact(8)
        .enumerate()
        .map(|(i, c)| {
            let name = NAMES.get(i).cloned().unwrap_or_else(|| format!("field-{i}").into());
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
    let flags = u32::from_ne_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]);
    let attrs = payload.get(IFINFOMSG_LEN..).unwrap_or_default();
    let mut ifname = None;
    let mut stats64 = CounterMap::default();
    let mut signal = LinkSignal { flags, ..LinkSignal::default() };
    let u8_of = |p: &[u8]| p.first().copied();
    let u32_of = |p: &[u8]| Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?));
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            IFLA_IFNAME => ifname = Some(a.string()?),
            IFLA_STATS64 => stats64 = parse_stats64(a.payload),
            IFLA_OPERSTATE => signal.operstate = u8_of(a.payload),
            IFLA_LINKMODE => signal.linkmode = u8_of(a.payload),
            IFLA_CARRIER => signal.carrier = u8_of(a.payload),
            IFLA_CARRIER_CHANGES => signal.carrier_changes = u32_of(a.payload),
            IFLA_PROMISCUITY => signal.promiscuity = u32_of(a.payload),
            IFLA_ALLMULTI => signal.allmulti = u32_of(a.payload),
            _ => {}
        }
    }
    let ifname = ifname.ok_or_else(|| {
        ParseError::new(0, format!("RTM_NEWLINK for ifindex {ifindex} without IFLA_IFNAME"))
    })?;
    Ok(Link { ifindex, ifname, stats64, signal })
}

/// The RTM_GETLINK dump request (all links, any family).
pub fn getlink_request(seq: u32) -> Vec<u8> {
    let ifinfomsg = [0u8; IFINFOMSG_LEN]; // AF_UNSPEC, no index: every link
    MsgBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq).header(&ifinfomsg).finish()
}

/// What a failed link dump is reported as.
pub const LINKS_WHAT: &str = "netlink RTM_GETLINK dump (IFLA_STATS64)";

/// Every link of the calling thread's network namespace with its stats64, on a socket of its own.
pub fn read_links() -> Avail<Vec<Link>> {
    match NlSocket::open(libc::NETLINK_ROUTE) {
        Ok(mut sock) => read_links_on(&mut sock).map_err(|e| e.to_unavailable(LINKS_WHAT)).into(),
        Err(e) => Avail::Unavailable(Unavailable::from_io(LINKS_WHAT, &e)),
    }
}

/// Every link of the socket's network namespace with its stats64, on a NETLINK_ROUTE socket the
/// caller keeps (a `Sampler`). After an `Os` or `Parse` error the socket may still hold the rest
/// of the reply: the caller drops it (see `NlError::spoils_socket`).
pub fn read_links_on(sock: &mut NlSocket) -> Result<Vec<Link>, NlError> {
    let msgs = sock.transact(getlink_request)?;
    let mut links = Vec::with_capacity(msgs.len());
    for m in msgs.iter().filter(|m| m.kind == RTM_NEWLINK) {
        links.push(parse_link(&m.payload)?);
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn link_payload(ifindex: i32, name: Option<&str>, stats: Option<&[u8]>) -> Vec<u8> {
        let mut hdr = [0u8; IFINFOMSG_LEN];
        hdr[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        let mut b = MsgBuilder::new(RTM_NEWLINK, 0, 0).header(&hdr).attr_u32(4, 1500);
        if let Some(n) = name {
            b = b.attr_str(IFLA_IFNAME, n);
        }
        if let Some(s) = stats {
            b = b.attr(IFLA_STATS64, s);
        }
        b.finish().split_off(16)
    }

    fn u64s(v: &[u64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn the_link_state_signal_is_the_flags_and_every_state_attribute() {
        let link = |flags: u32, carrier: u8, promiscuity: u32| {
            let mut hdr = [0u8; IFINFOMSG_LEN];
            hdr[4..8].copy_from_slice(&3i32.to_ne_bytes());
            hdr[8..12].copy_from_slice(&flags.to_ne_bytes());
            let b = MsgBuilder::new(RTM_NEWLINK, 0, 0)
                .header(&hdr)
                .attr_str(IFLA_IFNAME, "v0")
                .attr(IFLA_OPERSTATE, &[6])
                .attr(IFLA_CARRIER, &[carrier])
                .attr_u32(IFLA_PROMISCUITY, promiscuity);
            parse_link(&b.finish().split_off(16)).unwrap().signal
        };
        let s = link(0x11043, 1, 0);
        assert_eq!(
            (s.flags, s.operstate, s.carrier, s.promiscuity),
            (0x11043, Some(6), Some(1), Some(0))
        );
        assert_eq!((s.carrier_changes, s.allmulti), (None, None), "not sent: absent");
        assert_eq!(link(0x11043, 1, 0), s);
        assert_ne!(link(0x1003, 1, 0), s);
        assert_ne!(link(0x11043, 0, 0), s);
        assert_ne!(link(0x11043, 1, 1), s);
    }

    #[test]
    fn full_stats64_maps_every_field_by_name() {
        let vals: Vec<u64> = (1..=25).collect();
        let l = parse_link(&link_payload(7, Some("v1"), Some(&u64s(&vals)))).unwrap();
        assert_eq!(l.ifindex, 7);
        assert_eq!(l.ifname, "v1");
        assert_eq!(l.stats64.len(), 25);
        assert_eq!(l.stats64["rx_packets"], 1);
        assert_eq!(l.stats64["rx_missed_errors"], 16);
        assert_eq!(l.stats64["rx_nohandler"], 24);
        assert_eq!(l.stats64["rx_otherhost_dropped"], 25);
        let names: Vec<_> = l.stats64.keys().map(Name::as_str).collect();
        assert_eq!(names, STATS64_FIELDS);
        // Every link of every dump holds the same names, not copies.
        let again = parse_stats64(&u64s(&vals));
        assert!(l.stats64.keys().zip(again.keys()).all(|(a, b)| Name::ptr_eq(a, b)));
    }

    #[test]
    fn short_stats64_from_an_older_kernel_takes_what_is_there() {
        // A 4.6..5.19 kernel: 24 fields, no rx_otherhost_dropped.
        let vals: Vec<u64> = (0..24).map(|i| i * 10).collect();
        let l = parse_link(&link_payload(1, Some("lo"), Some(&u64s(&vals)))).unwrap();
        assert_eq!(l.stats64.len(), 24);
        assert_eq!(l.stats64["rx_nohandler"], 230);
        assert!(!l.stats64.contains_key("rx_otherhost_dropped"));
        // A pre-4.6 kernel: 23 fields; plus 5 stray bytes that are not a whole u64.
        let mut p = u64s(&[9; 23]);
        p.extend_from_slice(&[1, 2, 3, 4, 5]);
        let s = parse_stats64(&p);
        assert_eq!(s.len(), 23);
        assert_eq!(s["tx_compressed"], 9);
        assert!(!s.contains_key("rx_nohandler"));
        assert!(parse_stats64(&[]).is_empty());
    }

    #[test]
    fn longer_stats64_keeps_unknown_trailing_fields() {
        let vals: Vec<u64> = (0..27).collect();
        let s = parse_stats64(&u64s(&vals));
        assert_eq!(s.len(), 27);
        assert_eq!(s["field-25"], 25);
        assert_eq!(s["field-26"], 26);
    }

    #[test]
    fn link_without_stats_or_name() {
        let l = parse_link(&link_payload(3, Some("x"), None)).unwrap();
        assert!(l.stats64.is_empty());
        let e = parse_link(&link_payload(3, None, None)).unwrap_err();
        assert!(e.msg.contains("IFLA_IFNAME"), "{e}");
        assert!(parse_link(&[0; 10]).unwrap_err().msg.contains("no ifinfomsg"));
    }

    #[test]
    fn truncated_link_messages_are_errors_not_panics() {
        let p = link_payload(7, Some("v1"), Some(&u64s(&[5; 25])));
        let mut errors = 0;
        for n in 0..p.len() {
            if parse_link(&p[..n]).is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0);
    }

    #[test]
    fn getlink_request_is_a_dump_of_all_links() {
        let r = getlink_request(9);
        assert_eq!(r.len(), 32);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), RTM_GETLINK);
        assert_eq!(u16::from_ne_bytes([r[6], r[7]]), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(&r[16..32], &[0; 16]);
    }

    proptest! {
        #[test]
        fn parse_link_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_link(&buf);
            let _ = parse_stats64(&buf);
        }
    }
}
