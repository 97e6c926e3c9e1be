//! `/proc/net/udp` and `/proc/net/udp6`: every UDP socket of one network namespace, with its
//! receive queue and its own drop counter (`drops` = `sk->sk_drops`, the best per-socket drop count:
//! it matches `Udp RcvbufErrors` for a socket whose buffer was full).
//!
//! ```text
//!    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
//!  4715: 0100007F:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78292 2 000000000da82ede 0
//! ```
//! (net/ipv4/udp.c `udp4_format_sock`, net/ipv6/datagram.c `__ip6_dgram_sock_seq_show`.)
//!
//! Rows are read by their own fields, in the kernel's printf order, not by the header: the rows carry
//! no names, and headers have been seen to disagree with them (a header without `ref pointer drops`
//! over rows that have them). The first ten fields (through `inode`) are required; `ref`, `pointer`
//! and `drops` are optional because kernels before ≈2.6.27 end the row at the pointer (no `drops`).
//! Fields after `drops` are ignored.
//!
//! Addresses are the network-order address read as 32-bit words and printed with `%08X` in **host**
//! order: 127.0.0.1 is `0100007F` on a little-endian host, `7F000001` on a big-endian one (s390x);
//! IPv6 is four such words (`::1` = `00000000000000000000000001000000` on little-endian). The text
//! does not say which it was, so [`parse`] assumes little-endian (the capture came from x86, arm64,
//! ...), [`parse_with_endianness`] takes it explicitly, and [`read`] uses the running host's order
//! when reading the live host and little-endian for a capture or fixture tree.
//!
//! The same sockets come from netlink sock_diag when it answers (`netlink::sockdiag`), which also
//! gives each socket's receive buffer size; [`read_with_sock_diag`] prefers it and falls back to
//! these files. `UdpSockets::source` says which answered.

use super::{ParseError, read_parsed};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use crate::source::netlink::sockdiag::InetDiagMsg;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const UDP_PATH: &str = "/proc/net/udp";
pub const UDP6_PATH: &str = "/proc/net/udp6";

/// Which file a socket came from: `udp` (IPv4, `"inet"`) or `udp6` (`"inet6"`; its sockets may be
/// dual-stack and receive IPv4 too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

/// The byte order of the host that printed the file (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const NATIVE: Endian =
        if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };
}

/// One UDP socket, from /proc/net/udp{,6} or sock_diag. Queue sizes are bytes charged to the
/// socket (skb truesize, not payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpSocket {
    pub family: Family,
    /// The hash bucket (`%5d`), not a stable id; `None` from sock_diag, which does not give it.
    pub sl: Option<u32>,
    pub local_address: IpAddr,
    pub local_port: u16,
    pub rem_address: IpAddr,
    pub rem_port: u16,
    /// TCP-style state: 07 (TCP_CLOSE) unconnected, 01 (TCP_ESTABLISHED) connected.
    pub st: u8,
    pub tx_queue: u64,
    /// Bytes charged to the receive queue. /proc: `rx_queue` (`udp_rqueue_get`); sock_diag:
    /// `SK_MEMINFO_RMEM_ALLOC` (`sk_rmem_alloc`, the value compared with `rcvbuf` when a datagram
    /// arrives; it can exceed the /proc value by the not yet reclaimed `forward_deficit`).
    pub rx_queue: u64,
    /// The receive buffer size in bytes (`sk_rcvbuf`, `SK_MEMINFO_RCVBUF`: twice what SO_RCVBUF
    /// asked); `None` from /proc, which does not print it.
    #[serde(default)]
    pub rcvbuf: Option<u32>,
    pub uid: u32,
    pub inode: u64,
    #[serde(rename = "ref")]
    pub ref_count: Option<u64>,
    /// The socket's kernel address as printed (`%pK`/`%p`: hashed on 4.15+, zeros without privilege,
    /// raw on old kernels); kept as text, useful only to tell rows apart.
    pub pointer: Option<String>,
    /// Datagrams dropped at this socket (`sk_drops`); `None` on kernels that do not print it.
    pub drops: Option<u64>,
}

impl UdpSocket {
    /// The socket as sock_diag described it. `rx_queue` is `rmem_alloc`, or `idiag_rqueue` when
    /// the kernel sent no SK_MEMINFO array.
    pub fn from_sock_diag(d: &InetDiagMsg) -> UdpSocket {
        UdpSocket {
            family: d.idiag_family,
            sl: None,
            local_address: d.idiag_src,
            local_port: d.idiag_sport,
            rem_address: d.idiag_dst,
            rem_port: d.idiag_dport,
            st: d.idiag_state,
            tx_queue: u64::from(d.idiag_wqueue),
            rx_queue: u64::from(d.rmem_alloc().unwrap_or(d.idiag_rqueue)),
            rcvbuf: d.rcvbuf(),
            uid: d.idiag_uid,
            inode: u64::from(d.idiag_inode),
            ref_count: None,
            pointer: None,
            drops: d.drops().map(u64::from),
        }
    }
}

/// Where the sockets came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UdpSource {
    /// Netlink sock_diag (gives `rcvbuf`).
    #[serde(rename = "sock_diag")]
    SockDiag,
    /// /proc/net/udp and /proc/net/udp6 (samples from before `source` existed too).
    #[default]
    #[serde(rename = "/proc/net/udp")]
    ProcNetUdp,
}

/// The IPv4 (`udp`) and IPv6 (`udp6`) sockets. From /proc each part is read on its own: `udp6` is
/// absent when IPv6 is disabled, and the IPv4 sockets must still be there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpSockets {
    #[serde(default)]
    pub source: UdpSource,
    pub udp: Avail<Vec<UdpSocket>>,
    pub udp6: Avail<Vec<UdpSocket>>,
    /// Why sock_diag was not used when it was asked (the sockets then come from /proc); absent
    /// when it answered or was not asked (a fixture tree, a capture made before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sock_diag: Option<Unavailable>,
}

impl UdpSockets {
    /// Every socket that could be read, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = &UdpSocket> {
        let v4 = self.udp.value().map(|v| v.as_slice()).unwrap_or(&[]);
        let v6 = self.udp6.value().map(|v| v.as_slice()).unwrap_or(&[]);
        v4.iter().chain(v6)
    }
}

/// Parses `/proc/net/udp` (`Family::Inet`) or `/proc/net/udp6` (`Family::Inet6`) printed by a
/// little-endian host.
pub fn parse(text: &str, family: Family) -> Result<Vec<UdpSocket>, ParseError> {
    parse_with_endianness(text, family, Endian::Little)
}

/// Parses `/proc/net/udp` or `/proc/net/udp6` printed by a host of the given byte order.
pub fn parse_with_endianness(
    text: &str,
    family: Family,
    endian: Endian,
) -> Result<Vec<UdpSocket>, ParseError> {
    let mut sockets = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        // The fields through `drops` in a fixed array: no allocation per row (10,000-socket hosts).
        let mut fields = [""; 13];
        let mut n = 0;
        for (slot, tok) in fields.iter_mut().zip(line.split_ascii_whitespace()) {
            *slot = tok;
            n += 1;
        }
        let fields = &fields[..n];
        match fields.first() {
            None => continue,
            Some(&"sl") => continue,
            Some(_) => {}
        }
        let s = parse_row(fields, family, endian)
            .map_err(|msg| ParseError::new(lineno, format!("{msg}: {:?}", line.trim_end())))?;
        sockets.push(s);
    }
    Ok(sockets)
}

fn parse_row(f: &[&str], family: Family, endian: Endian) -> Result<UdpSocket, String> {
    const REQUIRED: usize = 10;
    if f.len() < REQUIRED {
        return Err(format!("{} fields, at least {REQUIRED} needed (through inode)", f.len()));
    }
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    let sl =
        get(0).strip_suffix(':').and_then(dec).ok_or_else(|| format!("bad sl {:?}", get(0)))?;
    let sl = Some(sl);
    let (local_address, local_port) = parse_endpoint(get(1), family, endian)?;
    let (rem_address, rem_port) = parse_endpoint(get(2), family, endian)?;
    let st = hex_u64(get(3))
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| format!("bad st {:?}", get(3)))?;
    let (tx, rx) =
        get(4).split_once(':').ok_or_else(|| format!("bad tx_queue:rx_queue {:?}", get(4)))?;
    let tx_queue = hex_u64(tx).ok_or_else(|| format!("bad tx_queue {tx:?}"))?;
    let rx_queue = hex_u64(rx).ok_or_else(|| format!("bad rx_queue {rx:?}"))?;
    // tr:tm->when, retrnsmt and timeout are timer fields, always 0 for UDP: checked, not kept.
    if get(5).split_once(':').is_none() {
        return Err(format!("bad tr:tm->when {:?}", get(5)));
    }
    let uid = dec(get(7)).ok_or_else(|| format!("bad uid {:?}", get(7)))?;
    let inode = dec(get(9)).ok_or_else(|| format!("bad inode {:?}", get(9)))?;
    let ref_count = match f.get(10) {
        Some(r) => Some(dec(r).ok_or_else(|| format!("bad ref {r:?}"))?),
        None => None,
    };
    let pointer = f.get(11).map(|p| p.to_string());
    let drops = match f.get(12) {
        Some(d) => Some(dec(d).ok_or_else(|| format!("bad drops {d:?}"))?),
        None => None,
    };
    Ok(UdpSocket {
        family,
        sl,
        local_address,
        local_port,
        rem_address,
        rem_port,
        st,
        tx_queue,
        rx_queue,
        rcvbuf: None,
        uid,
        inode,
        ref_count,
        pointer,
        drops,
    })
}

/// Hex digits (either case) to a number; `None` for anything else or more than fits. Hand-rolled
/// with `dec` because `from_str_radix` and `str::parse` were most of the cost of a 10,000-row
/// table.
fn hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.bytes().try_fold(0u64, |v, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'F' => b - b'A' + 10,
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(v << 4 | u64::from(d))
    })
}

/// Decimal digits to a number; `None` for anything else or more than fits.
fn dec<T: TryFrom<u64>>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v = s.bytes().try_fold(0u64, |v, b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v.checked_mul(10)?.checked_add(u64::from(d))
    })?;
    T::try_from(v).ok()
}

/// `ADDR:PORT`, both hex; the port is printed in host order (after `ntohs`).
fn parse_endpoint(s: &str, family: Family, endian: Endian) -> Result<(IpAddr, u16), String> {
    let (addr, port) = s.split_once(':').ok_or_else(|| format!("bad address {s:?}"))?;
    let port = hex_u64(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| format!("bad port in {s:?}"))?;
    let word = |chunk: &str| -> Result<[u8; 4], String> {
        let w = hex_u64(chunk)
            .and_then(|w| u32::try_from(w).ok())
            .ok_or_else(|| format!("bad address {s:?}"))?;
        Ok(match endian {
            Endian::Little => w.to_le_bytes(),
            Endian::Big => w.to_be_bytes(),
        })
    };
    let ip = match family {
        Family::Inet if addr.len() == 8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        Family::Inet6 if addr.len() == 32 => {
            let mut bytes = [0u8; 16];
            for (i, out) in bytes.chunks_exact_mut(4).enumerate() {
                let chunk =
                    addr.get(i * 8..i * 8 + 8).ok_or_else(|| format!("bad address {s:?}"))?;
                out.copy_from_slice(&word(chunk)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => {
            let want = if family == Family::Inet { 8 } else { 32 };
            return Err(format!("address {addr:?} is not {want} hex digits"));
        }
    };
    Ok((ip, port))
}

/// Reads `/proc/net/udp` and `/proc/net/udp6` of the reader's network namespace, each on its own.
pub fn read(root: &Root) -> UdpSockets {
    let endian = if root.is_live() { Endian::NATIVE } else { Endian::Little };
    read_with_endianness(root, endian)
}

/// Like [`read`], for a capture whose host byte order is known (e.g. `Endian::Big` for s390x).
pub fn read_with_endianness(root: &Root, endian: Endian) -> UdpSockets {
    UdpSockets {
        source: UdpSource::ProcNetUdp,
        udp: read_parsed(root, UDP_PATH, |t| parse_with_endianness(t, Family::Inet, endian)),
        udp6: read_parsed(root, UDP6_PATH, |t| parse_with_endianness(t, Family::Inet6, endian)),
        sock_diag: None,
    }
}

/// The sockets from sock_diag's answer (live, or recorded in a capture) when there is one, else
/// from /proc/net/udp{,6} through `root`; `None` means sock_diag was not asked.
pub fn read_with_sock_diag(root: &Root, sock_diag: Option<&Avail<Vec<InetDiagMsg>>>) -> UdpSockets {
    match sock_diag {
        Some(Avail::Value(msgs)) => from_sock_diag(msgs),
        Some(Avail::Unavailable(u)) => UdpSockets { sock_diag: Some(u.clone()), ..read(root) },
        None => read(root),
    }
}

/// The sock_diag dump split by family, in the kernel's order.
pub fn from_sock_diag(msgs: &[InetDiagMsg]) -> UdpSockets {
    let of = |f: Family| {
        msgs.iter().filter(|m| m.idiag_family == f).map(UdpSocket::from_sock_diag).collect()
    };
    UdpSockets {
        source: UdpSource::SockDiag,
        udp: Avail::Value(of(Family::Inet)),
        udp6: Avail::Value(of(Family::Inet6)),
        sock_diag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n";

    #[test]
    fn kernel_6_row() {
        let t = format!(
            "{HDR} 4715: 0100007F:1389 0200A8C0:0035 01 00000010:00000F00 00:00000000 00000000  1000        0 78292 2 000000000da82ede 7            \n"
        );
        let v = parse(&t, Family::Inet).unwrap();
        assert_eq!(v.len(), 1);
        let s = &v[0];
        assert_eq!(s.sl, Some(4715));
        assert_eq!(s.local_address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.local_port, 5001);
        assert_eq!(s.rem_address, "192.168.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(s.rem_port, 53);
        assert_eq!(s.st, 1);
        assert_eq!(s.tx_queue, 16);
        assert_eq!(s.rx_queue, 3840);
        assert_eq!(s.uid, 1000);
        assert_eq!(s.inode, 78292);
        assert_eq!(s.ref_count, Some(2));
        assert_eq!(s.pointer.as_deref(), Some("000000000da82ede"));
        assert_eq!(s.drops, Some(7));
    }

    #[test]
    fn big_endian_host() {
        let t = "  sl x\n   1: 7F000001:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 5 2 0 0\n";
        let v = parse_with_endianness(t, Family::Inet, Endian::Big).unwrap();
        assert_eq!(v[0].local_address, "127.0.0.1".parse::<IpAddr>().unwrap());
        let t6 = "   1: 00000000000000000000000000000001:0035 20010DB8000000000000000000000001:0000 07 00000000:00000000 00:00000000 00000000 0 0 5 2 0 0\n";
        let v = parse_with_endianness(t6, Family::Inet6, Endian::Big).unwrap();
        assert_eq!(v[0].local_address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(v[0].rem_address, "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ipv6_little_endian_words() {
        let t = " 1553: 00000000000000000000000001000000:0143 B80D0120000000000000000001000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 22099 2 00000000b181c66d 0\n";
        let v = parse(t, Family::Inet6).unwrap();
        assert_eq!(v[0].family, Family::Inet6);
        assert_eq!(v[0].local_address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(v[0].rem_address, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(v[0].local_port, 323);
    }

    #[test]
    fn old_rows_without_drops() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n 127: 00000000:03FF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1141 2 c1f09e40\n";
        let v = parse(t, Family::Inet).unwrap();
        assert_eq!(v[0].drops, None);
        assert_eq!(v[0].ref_count, Some(2));
        assert_eq!(v[0].pointer.as_deref(), Some("c1f09e40"));
        let bare = "   1: 00000000:03FF 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1141\n";
        let v = parse(bare, Family::Inet).unwrap();
        assert_eq!(
            (v[0].inode, v[0].ref_count, v[0].pointer.clone(), v[0].drops),
            (1141, None, None, None)
        );
    }

    #[test]
    fn broken_rows_are_errors() {
        let cut = "  sl  local_address rem_address   st\n   1: 00000000:0016 00000000:0000 0A\n";
        let e = parse(cut, Family::Inet).unwrap_err();
        assert_eq!(e.line, 2);
        let row = "   1: 00000000:03FF 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1141 2 0 0";
        assert!(parse(row, Family::Inet6).is_err(), "IPv4 address in udp6");
        assert!(parse(&row.replace("1141", "-1"), Family::Inet).is_err());
        assert!(parse(&row.replace("03FF", "1003FF"), Family::Inet).is_err(), "port > 16 bits");
        assert!(parse(&row.replace("   1:", "   1"), Family::Inet).is_err());
        assert!(parse(&row.replace("2 0 0", "2 0 x"), Family::Inet).is_err());
        assert!(parse(&row.replace(" 07 ", " 107 "), Family::Inet).is_err());
        assert!(
            parse(&row.replace("00000000:00000000", "0000000000000000"), Family::Inet).is_err()
        );
        assert!(parse(&row.replacen("00000000:", "0000000Z:", 1), Family::Inet).is_err());
    }

    #[test]
    fn header_only_is_no_sockets() {
        assert!(parse(HDR, Family::Inet).unwrap().is_empty());
        assert!(parse("", Family::Inet6).unwrap().is_empty());
    }

    fn diag(family: Family, port: u16, inode: u32, meminfo: Option<&[u32]>) -> InetDiagMsg {
        let names = crate::source::netlink::sockdiag::SK_MEMINFO_FIELDS;
        InetDiagMsg {
            idiag_family: family,
            idiag_state: 7,
            idiag_src: if family == Family::Inet {
                "127.0.0.1".parse().unwrap()
            } else {
                "::1".parse().unwrap()
            },
            idiag_sport: port,
            idiag_dst: "0.0.0.0".parse().unwrap(),
            idiag_dport: 0,
            idiag_if: 0,
            idiag_cookie: 1,
            idiag_rqueue: 3000,
            idiag_wqueue: 8,
            idiag_uid: 1000,
            idiag_inode: inode,
            skmeminfo: meminfo
                .map(|m| names.iter().zip(m).map(|(n, v)| (n.to_string(), *v)).collect()),
        }
    }

    #[test]
    fn sock_diag_sockets_split_by_family() {
        let msgs = [
            diag(Family::Inet, 53, 10, Some(&[3840, 4096, 0, 0, 0, 0, 0, 0, 1997])),
            diag(Family::Inet6, 323, 11, None),
            diag(Family::Inet, 54, 12, Some(&[0, 212992, 0, 0, 0, 0, 0, 0])),
        ];
        let both = from_sock_diag(&msgs);
        assert_eq!(both.source, UdpSource::SockDiag);
        let v4 = both.udp.value().unwrap();
        let v6 = both.udp6.value().unwrap();
        assert_eq!(v4.iter().map(|s| s.inode).collect::<Vec<_>>(), [10, 12]);
        assert_eq!(v6.iter().map(|s| s.inode).collect::<Vec<_>>(), [11]);
        let s = &v4[0];
        assert_eq!((s.rx_queue, s.rcvbuf, s.drops), (3840, Some(4096), Some(1997)));
        assert_eq!((s.sl, s.ref_count, s.pointer.clone()), (None, None, None));
        assert_eq!((s.tx_queue, s.uid, s.st, s.local_port), (8, 1000, 7, 53));
        // No SK_MEMINFO: the queue from idiag_rqueue, no buffer size, no drops.
        assert_eq!((v6[0].rx_queue, v6[0].rcvbuf, v6[0].drops), (3000, None, None));
        // A kernel before SK_MEMINFO_DROPS.
        assert_eq!((v4[1].rcvbuf, v4[1].drops), (Some(212992), None));
    }

    #[test]
    fn proc_files_are_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        let row = "   1: 0100007F:0035 00000000:0000 07 00000000:00000F00 00:00000000 00000000 0 0 5 2 p 9\n";
        std::fs::write(dir.path().join("proc/net/udp"), format!("{HDR}{row}")).unwrap();
        let root = Root::at(dir.path());
        let not_asked = read_with_sock_diag(&root, None);
        assert_eq!(not_asked.source, UdpSource::ProcNetUdp);
        assert_eq!(not_asked.sock_diag, None);
        let v4 = not_asked.udp.value().unwrap();
        assert_eq!((v4[0].rx_queue, v4[0].rcvbuf, v4[0].drops), (3840, None, Some(9)));
        assert!(not_asked.udp6.unavailable().is_some(), "no udp6 file");
        let failed = Avail::missing("netlink sock_diag", "no udp_diag module");
        let fell_back = read_with_sock_diag(&root, Some(&failed));
        assert_eq!(fell_back.source, UdpSource::ProcNetUdp);
        assert_eq!(fell_back.sock_diag.as_ref().unwrap().why, "no udp_diag module");
        assert_eq!(fell_back.udp, not_asked.udp);
        let answered = Avail::Value(vec![diag(Family::Inet, 7, 70, None)]);
        let from_diag = read_with_sock_diag(&root, Some(&answered));
        assert_eq!(from_diag.source, UdpSource::SockDiag);
        assert_eq!(from_diag.udp.value().unwrap()[0].inode, 70);
    }

    #[test]
    fn json_of_older_samples_still_reads() {
        // Before `source`, `rcvbuf` and a possibly null `sl`.
        let old = r#"{"udp": [{"family": "inet", "sl": 1, "local_address": "127.0.0.1",
            "local_port": 53, "rem_address": "0.0.0.0", "rem_port": 0, "st": 7, "tx_queue": 0,
            "rx_queue": 0, "uid": 0, "inode": 5, "ref": 2, "pointer": "p", "drops": 0}],
            "udp6": []}"#;
        let u: UdpSockets = serde_json::from_str(old).unwrap();
        assert_eq!(u.source, UdpSource::ProcNetUdp);
        let s = &u.udp.value().unwrap()[0];
        assert_eq!((s.sl, s.rcvbuf), (Some(1), None));
        let j = serde_json::to_value(from_sock_diag(&[diag(Family::Inet, 7, 70, None)])).unwrap();
        assert_eq!(j["source"], "sock_diag");
        assert_eq!(j["udp"][0]["sl"], serde_json::Value::Null);
        assert!(j.get("sock_diag").is_none());
        let back: UdpSockets = serde_json::from_value(j).unwrap();
        assert_eq!(back.source, UdpSource::SockDiag);
    }

    #[test]
    fn json_uses_kernel_names() {
        let t = "   1: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 5 2 p 0\n";
        let v = parse(t, Family::Inet).unwrap();
        let j = serde_json::to_value(&v[0]).unwrap();
        assert_eq!(j["family"], "inet");
        assert_eq!(j["local_address"], "127.0.0.1");
        assert_eq!(j["ref"], 2);
        assert_eq!(j["drops"], 0);
        assert_eq!(serde_json::from_value::<UdpSocket>(j).unwrap(), v[0]);
    }
}
