//! NETLINK_SOCK_DIAG: a dump of every UDP socket of the reader's network namespace with its
//! memory counters (`INET_DIAG_SKMEMINFO`): bytes charged to the receive queue, the receive
//! buffer size and `sk_drops` — what `ss -uamn` prints as `skmem:(r…,rb…,…,d…)`. Unlike
//! /proc/net/udp it gives the buffer size, so "queue ≈ buffer" can be told apart from "small
//! queue, dropping anyway".
//!
//! Numbers: include/uapi/linux/sock_diag.h (SOCK_DIAG_BY_FAMILY, enum SK_MEMINFO_*),
//! include/uapi/linux/inet_diag.h (struct inet_diag_req_v2, inet_diag_sockid, inet_diag_msg,
//! INET_DIAG_SKMEMINFO), include/uapi/linux/netlink.h (NETLINK_SOCK_DIAG). Kernel side:
//! net/ipv4/inet_diag.c `inet_sk_diag_fill`, net/ipv4/udp_diag.c, net/core/sock.c
//! `sock_diag_put_meminfo`.
//!
//! Byte order: ports and addresses in `inet_diag_sockid` are network order; everything else is
//! the host's.

use super::NlError;
use super::socket::{Attrs, MsgBuilder, NLM_F_DUMP, NLM_F_REQUEST, NlSocket};
use crate::avail::{Avail, Unavailable};
use crate::source::ParseError;
use crate::source::udp::Family;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// include/uapi/linux/netlink.h (also called NETLINK_INET_DIAG).
pub const NETLINK_SOCK_DIAG: libc::c_int = 4;
/// include/uapi/linux/sock_diag.h: the request and reply message type.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// include/uapi/linux/inet_diag.h `enum { INET_DIAG_NONE, MEMINFO, INFO, VEGASINFO, CONG, TOS,
/// TCLASS, SKMEMINFO, ... }`.
pub const INET_DIAG_SKMEMINFO: u16 = 7;
/// sizeof(struct inet_diag_req_v2): u8 family, u8 protocol, u8 ext, u8 pad, u32 states, sockid.
pub const INET_DIAG_REQ_V2_LEN: usize = 56;
/// sizeof(struct inet_diag_msg): u8 family, state, timer, retrans; sockid (48); u32 expires,
/// rqueue, wqueue, uid, inode.
pub const INET_DIAG_MSG_LEN: usize = 72;
/// Offset of `struct inet_diag_sockid` in the reply (8 in the request).
const SOCKID_AT_MSG: usize = 4;

/// `enum SK_MEMINFO_*` in order (sock_diag.h). The array only grew at the end (`backlog` in 3.x,
/// `drops` in 4.x), so an older kernel sends a prefix of it.
pub const SK_MEMINFO_FIELDS: [&str; 9] = [
    "rmem_alloc",
    "rcvbuf",
    "wmem_alloc",
    "sndbuf",
    "fwd_alloc",
    "wmem_queued",
    "optmem",
    "backlog",
    "drops",
];

/// One socket of the dump: `struct inet_diag_msg` (without the timer fields, always 0 for UDP)
/// and its `INET_DIAG_SKMEMINFO` array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InetDiagMsg {
    pub idiag_family: Family,
    /// TCP-style state: 7 (TCP_CLOSE) unconnected, 1 (TCP_ESTABLISHED) connected.
    pub idiag_state: u8,
    pub idiag_src: IpAddr,
    pub idiag_sport: u16,
    pub idiag_dst: IpAddr,
    pub idiag_dport: u16,
    /// The device the socket is bound to (SO_BINDTODEVICE), 0 for none.
    pub idiag_if: u32,
    /// The kernel's 64-bit socket cookie: unique for the life of the host, unlike the inode.
    pub idiag_cookie: u64,
    /// Receive queue bytes as /proc/net/udp's `rx_queue` (`udp_rqueue_get`).
    pub idiag_rqueue: u32,
    pub idiag_wqueue: u32,
    pub idiag_uid: u32,
    pub idiag_inode: u32,
    /// By `SK_MEMINFO_FIELDS` name; only as many as the kernel sent (`None`: no
    /// INET_DIAG_SKMEMINFO attribute at all). Fields past the known ones are kept as `field-N`.
    pub skmeminfo: Option<IndexMap<String, u32>>,
}

impl InetDiagMsg {
    fn meminfo(&self, name: &str) -> Option<u32> {
        self.skmeminfo.as_ref()?.get(name).copied()
    }

    /// `SK_MEMINFO_RMEM_ALLOC`: bytes charged to the receive queue, the value the kernel compares
    /// with `rcvbuf` before queueing a datagram.
    pub fn rmem_alloc(&self) -> Option<u32> {
        self.meminfo("rmem_alloc")
    }

    /// `SK_MEMINFO_RCVBUF`: the receive buffer size (`sk_rcvbuf`, twice what SO_RCVBUF asked).
    pub fn rcvbuf(&self) -> Option<u32> {
        self.meminfo("rcvbuf")
    }

    /// `SK_MEMINFO_DROPS`: `sk_drops`, the same counter as /proc/net/udp's `drops`.
    pub fn drops(&self) -> Option<u32> {
        self.meminfo("drops")
    }
}

fn rd_u8(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

fn rd_array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn rd_u32(b: &[u8], at: usize) -> Option<u32> {
    rd_array(b, at).map(u32::from_ne_bytes)
}

/// Decodes an INET_DIAG_SKMEMINFO payload: as many u32 as it holds, by name; trailing bytes
/// short of a whole u32 are ignored.
pub fn parse_skmeminfo(payload: &[u8]) -> IndexMap<String, u32> {
    payload
        .chunks_exact(4)
        .enumerate()
        .map(|(i, c)| {
            let name =
                SK_MEMINFO_FIELDS.get(i).map_or_else(|| format!("field-{i}"), |s| s.to_string());
            (name, u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        })
        .collect()
}

/// Parses one SOCK_DIAG_BY_FAMILY reply payload (struct inet_diag_msg, then attributes).
pub fn parse_msg(payload: &[u8]) -> Result<InetDiagMsg, ParseError> {
    let short = || {
        ParseError::new(
            0,
            format!(
                "sock_diag reply of {} bytes, shorter than struct inet_diag_msg ({INET_DIAG_MSG_LEN})",
                payload.len()
            ),
        )
    };
    let hdr = payload.get(..INET_DIAG_MSG_LEN).ok_or_else(short)?;
    let af = rd_u8(hdr, 0).ok_or_else(short)?;
    let family = match i32::from(af) {
        libc::AF_INET => Family::Inet,
        libc::AF_INET6 => Family::Inet6,
        other => {
            return Err(ParseError::new(
                0,
                format!("sock_diag reply for address family {other}, expected AF_INET or AF_INET6"),
            ));
        }
    };
    let id = SOCKID_AT_MSG;
    let port = |at: usize| rd_array(hdr, at).map(u16::from_be_bytes).ok_or_else(short);
    let addr = |at: usize| -> Result<IpAddr, ParseError> {
        Ok(match family {
            Family::Inet => IpAddr::V4(Ipv4Addr::from(rd_array::<4>(hdr, at).ok_or_else(short)?)),
            Family::Inet6 => IpAddr::V6(Ipv6Addr::from(rd_array::<16>(hdr, at).ok_or_else(short)?)),
        })
    };
    let word = |at: usize| rd_u32(hdr, at).ok_or_else(short);
    let cookie_lo = word(id + 40)?;
    let cookie_hi = word(id + 44)?;
    let tail = id + 48; // idiag_expires, then rqueue, wqueue, uid, inode
    let mut msg = InetDiagMsg {
        idiag_family: family,
        idiag_state: rd_u8(hdr, 1).ok_or_else(short)?,
        idiag_sport: port(id)?,
        idiag_dport: port(id + 2)?,
        idiag_src: addr(id + 4)?,
        idiag_dst: addr(id + 20)?,
        idiag_if: word(id + 36)?,
        // sock_diag_save_cookie: [0] the low half, [1] the high half.
        idiag_cookie: u64::from(cookie_hi) << 32 | u64::from(cookie_lo),
        idiag_rqueue: word(tail + 4)?,
        idiag_wqueue: word(tail + 8)?,
        idiag_uid: word(tail + 12)?,
        idiag_inode: word(tail + 16)?,
        skmeminfo: None,
    };
    for a in Attrs::new(payload.get(INET_DIAG_MSG_LEN..).unwrap_or_default()) {
        let a = a?;
        if a.kind == INET_DIAG_SKMEMINFO {
            msg.skmeminfo = Some(parse_skmeminfo(a.payload));
        }
    }
    Ok(msg)
}

/// The SOCK_DIAG_BY_FAMILY dump request for every UDP socket of `family`, in every state, asking
/// for INET_DIAG_SKMEMINFO.
pub fn udp_request(family: Family, seq: u32) -> Vec<u8> {
    let mut req = [0u8; INET_DIAG_REQ_V2_LEN];
    let af = match family {
        Family::Inet => libc::AF_INET,
        Family::Inet6 => libc::AF_INET6,
    };
    req[0] = af as u8;
    req[1] = libc::IPPROTO_UDP as u8;
    // idiag_ext is a bit mask: bit (N - 1) asks for attribute N.
    req[2] = 1u8 << (INET_DIAG_SKMEMINFO - 1);
    req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes()); // idiag_states: all
    // The sockid (bytes 8..56) stays zero: no port, address, interface or cookie filter.
    MsgBuilder::new(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq).header(&req).finish()
}

pub const WHAT: &str = "netlink sock_diag dump of UDP sockets (SOCK_DIAG_BY_FAMILY)";

/// Every IPv4 then IPv6 UDP socket of the calling thread's network namespace. Both dumps must
/// answer: a half answer would make the caller mix sources.
pub fn read_udp() -> Avail<Vec<InetDiagMsg>> {
    let mut sock = match NlSocket::open(NETLINK_SOCK_DIAG) {
        Ok(s) => s,
        Err(e) => return Avail::Unavailable(Unavailable::from_io(WHAT, &e)),
    };
    let mut all = Vec::new();
    for family in [Family::Inet, Family::Inet6] {
        let what = match family {
            Family::Inet => "netlink sock_diag dump of UDP sockets (AF_INET)",
            Family::Inet6 => "netlink sock_diag dump of UDP sockets (AF_INET6)",
        };
        let msgs = match sock.transact(|seq| udp_request(family, seq)) {
            Ok(m) => m,
            Err(e) => return Avail::Unavailable(e.to_unavailable(what)),
        };
        for m in msgs.iter().filter(|m| m.kind == SOCK_DIAG_BY_FAMILY) {
            match parse_msg(&m.payload) {
                Ok(s) => all.push(s),
                Err(e) => return Avail::Unavailable(NlError::Parse(e).to_unavailable(what)),
            }
        }
    }
    Avail::Value(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reply payload as the kernel lays it out.
    #[allow(clippy::too_many_arguments)]
    fn diag_payload(
        af: i32,
        state: u8,
        src: &[u8],
        sport: u16,
        dst: &[u8],
        dport: u16,
        words: [u32; 5], // expires, rqueue, wqueue, uid, inode
        meminfo: Option<&[u32]>,
    ) -> Vec<u8> {
        let mut m = vec![0u8; INET_DIAG_MSG_LEN];
        m[0] = af as u8;
        m[1] = state;
        m[4..6].copy_from_slice(&sport.to_be_bytes());
        m[6..8].copy_from_slice(&dport.to_be_bytes());
        m[8..8 + src.len()].copy_from_slice(src);
        m[24..24 + dst.len()].copy_from_slice(dst);
        m[40..44].copy_from_slice(&3u32.to_ne_bytes()); // idiag_if
        m[44..48].copy_from_slice(&0x89ab_cdefu32.to_ne_bytes()); // cookie low
        m[48..52].copy_from_slice(&0x0123_4567u32.to_ne_bytes()); // cookie high
        for (i, w) in words.iter().enumerate() {
            m[52 + 4 * i..56 + 4 * i].copy_from_slice(&w.to_ne_bytes());
        }
        let mut b = MsgBuilder::new(SOCK_DIAG_BY_FAMILY, 0, 0).header(&m).attr(8, &[0]); // SHUTDOWN
        if let Some(mi) = meminfo {
            let bytes: Vec<u8> = mi.iter().flat_map(|x| x.to_ne_bytes()).collect();
            b = b.attr(INET_DIAG_SKMEMINFO, &bytes);
        }
        b.finish().split_off(16)
    }

    #[test]
    fn ipv4_socket_with_full_meminfo() {
        let mi = [3840, 4096, 0, 212992, 0, 0, 0, 0, 1997];
        let p = diag_payload(
            libc::AF_INET,
            7,
            &[127, 0, 0, 1],
            5001,
            &[192, 168, 0, 2],
            53,
            [0, 3000, 16, 1000, 78292],
            Some(&mi),
        );
        let s = parse_msg(&p).unwrap();
        assert_eq!(s.idiag_family, Family::Inet);
        assert_eq!(s.idiag_state, 7);
        assert_eq!(s.idiag_src, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.idiag_sport, 5001);
        assert_eq!(s.idiag_dst, "192.168.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(s.idiag_dport, 53);
        assert_eq!(s.idiag_if, 3);
        assert_eq!(s.idiag_cookie, 0x0123_4567_89ab_cdef);
        assert_eq!((s.idiag_rqueue, s.idiag_wqueue), (3000, 16));
        assert_eq!((s.idiag_uid, s.idiag_inode), (1000, 78292));
        assert_eq!((s.rmem_alloc(), s.rcvbuf(), s.drops()), (Some(3840), Some(4096), Some(1997)));
        let names: Vec<_> = s.skmeminfo.as_ref().unwrap().keys().map(String::as_str).collect();
        assert_eq!(names, SK_MEMINFO_FIELDS);
    }

    #[test]
    fn ipv6_addresses_are_sixteen_network_order_bytes() {
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        dst[15] = 1;
        let mut lo = [0u8; 16];
        lo[15] = 1;
        let p = diag_payload(libc::AF_INET6, 1, &lo, 323, &dst, 0x1234, [0; 5], None);
        let s = parse_msg(&p).unwrap();
        assert_eq!(s.idiag_family, Family::Inet6);
        assert_eq!(s.idiag_src, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(s.idiag_dst, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!((s.idiag_sport, s.idiag_dport), (323, 0x1234));
        assert_eq!(s.skmeminfo, None);
        assert_eq!((s.rmem_alloc(), s.rcvbuf(), s.drops()), (None, None, None));
    }

    #[test]
    fn older_and_newer_meminfo_arrays() {
        // Before SK_MEMINFO_DROPS: 8 words, no drops.
        let p = diag_payload(libc::AF_INET, 7, &[0; 4], 1, &[0; 4], 0, [0; 5], Some(&[9; 8]));
        let s = parse_msg(&p).unwrap();
        assert_eq!((s.rcvbuf(), s.drops()), (Some(9), None));
        // A newer kernel with two more words, and 3 stray bytes.
        let mut raw: Vec<u8> = (0..11u32).flat_map(|x| x.to_ne_bytes()).collect();
        raw.extend_from_slice(&[1, 2, 3]);
        let m = parse_skmeminfo(&raw);
        assert_eq!(m.len(), 11);
        assert_eq!((m["drops"], m["field-9"], m["field-10"]), (8, 9, 10));
        assert!(parse_skmeminfo(&[]).is_empty());
    }

    #[test]
    fn bad_replies_are_errors() {
        let p = diag_payload(libc::AF_INET, 7, &[0; 4], 1, &[0; 4], 0, [0; 5], Some(&[1; 9]));
        for n in 0..INET_DIAG_MSG_LEN {
            let e = parse_msg(&p[..n]).unwrap_err();
            assert!(e.msg.contains("shorter than struct inet_diag_msg"), "{e}");
        }
        // A truncated attribute after a whole header.
        assert!(parse_msg(&p[..p.len() - 2]).is_err());
        let mut unix = p.clone();
        unix[0] = libc::AF_UNIX as u8;
        assert!(parse_msg(&unix).unwrap_err().msg.contains("address family 1"));
    }

    #[test]
    fn request_asks_for_all_udp_sockets_with_meminfo() {
        let r = udp_request(Family::Inet6, 77);
        assert_eq!(r.len(), 16 + INET_DIAG_REQ_V2_LEN);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16::from_ne_bytes([r[6], r[7]]), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 77);
        let req = &r[16..];
        assert_eq!((req[0], req[1], req[2], req[3]), (10, 17, 0x40, 0));
        assert_eq!(&req[4..8], &[0xff; 4]);
        assert!(req[8..].iter().all(|&b| b == 0));
        assert_eq!(udp_request(Family::Inet, 1)[16], 2);
    }

    #[test]
    fn json_round_trip() {
        let p = diag_payload(libc::AF_INET, 7, &[127, 0, 0, 1], 9, &[0; 4], 0, [0; 5], Some(&[1]));
        let s = parse_msg(&p).unwrap();
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["idiag_family"], "inet");
        assert_eq!(j["idiag_src"], "127.0.0.1");
        assert_eq!(j["skmeminfo"]["rmem_alloc"], 1);
        assert_eq!(serde_json::from_value::<InetDiagMsg>(j).unwrap(), s);
    }

    proptest! {
        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_msg(&buf);
            let _ = parse_skmeminfo(&buf);
        }

        /// A valid header followed by garbage: an error or a value, never a panic.
        #[test]
        fn garbage_attributes_never_panic(
            v6: bool,
            head in proptest::collection::vec(any::<u8>(), INET_DIAG_MSG_LEN),
            tail in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut buf = head;
            buf[0] = if v6 { libc::AF_INET6 as u8 } else { libc::AF_INET as u8 };
            buf.extend_from_slice(&tail);
            if let Ok(s) = parse_msg(&buf) {
                prop_assert_eq!(s.idiag_family == Family::Inet6, v6);
            }
        }
    }
}
