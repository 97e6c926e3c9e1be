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

use super::{ParseError, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
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

/// One UDP socket row. Queue sizes are bytes charged to the socket (skb truesize, not payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpSocket {
    pub family: Family,
    /// The hash bucket (`%5d`), not a stable id.
    pub sl: u32,
    pub local_address: IpAddr,
    pub local_port: u16,
    pub rem_address: IpAddr,
    pub rem_port: u16,
    /// TCP-style state: 07 (TCP_CLOSE) unconnected, 01 (TCP_ESTABLISHED) connected.
    pub st: u8,
    pub tx_queue: u64,
    pub rx_queue: u64,
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

/// The sockets of both files. Each part is read on its own: `udp6` is absent when IPv6 is disabled,
/// and the IPv4 sockets must still be there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpSockets {
    pub udp: Avail<Vec<UdpSocket>>,
    pub udp6: Avail<Vec<UdpSocket>>,
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
        for (slot, tok) in fields.iter_mut().zip(line.split_whitespace()) {
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
    let sl = get(0)
        .strip_suffix(':')
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad sl {:?}", get(0)))?;
    let (local_address, local_port) = parse_endpoint(get(1), family, endian)?;
    let (rem_address, rem_port) = parse_endpoint(get(2), family, endian)?;
    let st = u8::from_str_radix(get(3), 16).map_err(|_| format!("bad st {:?}", get(3)))?;
    let (tx, rx) =
        get(4).split_once(':').ok_or_else(|| format!("bad tx_queue:rx_queue {:?}", get(4)))?;
    let tx_queue = hex_u64(tx).ok_or_else(|| format!("bad tx_queue {tx:?}"))?;
    let rx_queue = hex_u64(rx).ok_or_else(|| format!("bad rx_queue {rx:?}"))?;
    // tr:tm->when, retrnsmt and timeout are timer fields, always 0 for UDP: checked, not kept.
    if get(5).split_once(':').is_none() {
        return Err(format!("bad tr:tm->when {:?}", get(5)));
    }
    let uid = get(7).parse().map_err(|_| format!("bad uid {:?}", get(7)))?;
    let inode = get(9).parse().map_err(|_| format!("bad inode {:?}", get(9)))?;
    let ref_count = match f.get(10) {
        Some(r) => Some(r.parse().map_err(|_| format!("bad ref {r:?}"))?),
        None => None,
    };
    let pointer = f.get(11).map(|p| p.to_string());
    let drops = match f.get(12) {
        Some(d) => Some(d.parse().map_err(|_| format!("bad drops {d:?}"))?),
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
        uid,
        inode,
        ref_count,
        pointer,
        drops,
    })
}

fn hex_u64(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// `ADDR:PORT`, both hex; the port is printed in host order (after `ntohs`).
fn parse_endpoint(s: &str, family: Family, endian: Endian) -> Result<(IpAddr, u16), String> {
    let (addr, port) = s.split_once(':').ok_or_else(|| format!("bad address {s:?}"))?;
    let port = u16::from_str_radix(port, 16).map_err(|_| format!("bad port in {s:?}"))?;
    let word = |chunk: &str| -> Result<[u8; 4], String> {
        let w = u32::from_str_radix(chunk, 16).map_err(|_| format!("bad address {s:?}"))?;
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
        udp: read_parsed(root, UDP_PATH, |t| parse_with_endianness(t, Family::Inet, endian)),
        udp6: read_parsed(root, UDP6_PATH, |t| parse_with_endianness(t, Family::Inet6, endian)),
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
        assert_eq!(s.sl, 4715);
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
