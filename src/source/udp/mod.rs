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
//! A `Sampler` re-reads the files often, and on a host with 10,000 sockets almost every row is
//! byte for byte what it was a second before: [`ParsedText`] keeps the last text and its sockets
//! and parses only the rows that changed, with the same result as [`parse_with_endianness`].
//!
//! The same sockets come from netlink sock_diag when it answers (`netlink::sockdiag`), which also
//! gives each socket's receive buffer size; [`read_with_sock_diag`] prefers it and falls back to
//! these files. `UdpSockets::source` says which answered.

mod list;

pub use list::{Changed, Sockets};

use super::{ParseError, dec_u64, fields, hex_u64, parsed, read_parsed};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use crate::source::netlink::sockdiag::InetDiagMsg;
use list::Lineage;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

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
/// socket (skb truesize, not payload). `Copy`: a sampler hands a 10,000-socket table to each
/// sample as one block copy, not 10,000 clones.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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
    pub pointer: Option<Pointer>,
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

/// The `pointer` field as the kernel printed it (8 or 16 hex digits, `(ptrval)`), held inline so a
/// socket needs no allocation; it reads and serializes as the text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pointer {
    len: u8,
    text: [u8; Pointer::MAX],
}

impl Pointer {
    /// Twice the 16 characters any kernel prints: room for what a new format could add.
    pub const MAX: usize = 32;

    /// `None` for text longer than `MAX` bytes.
    pub fn new(text: &str) -> Option<Pointer> {
        let len = u8::try_from(text.len()).ok().filter(|&n| usize::from(n) <= Pointer::MAX)?;
        let mut p = Pointer { len, text: [0; Pointer::MAX] };
        p.text[..text.len()].copy_from_slice(text.as_bytes());
        Some(p)
    }
}

impl std::ops::Deref for Pointer {
    type Target = str;

    fn deref(&self) -> &str {
        std::str::from_utf8(&self.text[..usize::from(self.len)]).expect("made from a str")
    }
}

impl std::fmt::Debug for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for Pointer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for Pointer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pointer, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Pointer::new(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "pointer {text:?} is longer than {} characters",
                Pointer::MAX
            ))
        })
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
    pub udp: Avail<Sockets>,
    pub udp6: Avail<Sockets>,
    /// Why sock_diag was not used when it was asked (the sockets then come from /proc); absent
    /// when it answered or was not asked (a fixture tree, a capture made before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sock_diag: Option<Unavailable>,
}

impl UdpSockets {
    /// Every socket that could be read, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = &UdpSocket> {
        let v4 = self.udp.value().map_or(&[][..], |v| v);
        let v6 = self.udp6.value().map_or(&[][..], |v| v);
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
        if let Some(s) = parse_line(line, idx + 1, family, endian)? {
            sockets.push(s);
        }
    }
    Ok(sockets)
}

/// One line of the file: its socket, or `None` for a blank line or the header.
fn parse_line(
    line: &str,
    lineno: usize,
    family: Family,
    endian: Endian,
) -> Result<Option<UdpSocket>, ParseError> {
    // The fields through `drops` in a fixed array: no allocation per row (10,000-socket hosts).
    let mut cols = [""; 13];
    let mut n = 0;
    for (slot, tok) in cols.iter_mut().zip(fields(line)) {
        *slot = tok;
        n += 1;
    }
    let cols = &cols[..n];
    match cols.first() {
        None => return Ok(None),
        Some(&"sl") => return Ok(None),
        Some(_) => {}
    }
    parse_row(cols, family, endian)
        .map(Some)
        .map_err(|msg| ParseError::new(lineno, format!("{msg}: {:?}", line.trim_end())))
}

/// How many lines of the last text a changed line is looked for in: a row changed in place or any
/// number of inserted rows keep the texts in step, and so do up to this many rows removed
/// together. More, and the rest of the table is parsed in full once (the next read is in step
/// again); a wider search would cost more than it saves when most rows changed.
const LOOKAHEAD: usize = 8;

/// One file (/proc/net/udp or /proc/net/udp6) as last parsed: its text, where each line lies in
/// it and the socket each gave. A `Sampler` re-reads a 10,000-socket table whose rows hardly
/// change from one second to the next; [`ParsedText::reparse`] parses only the lines that did.
#[derive(Debug, Default)]
pub struct ParsedText {
    /// What the text was parsed as; `None` before the first parse.
    parsed_as: Option<(Family, Endian)>,
    text: Vec<u8>,
    lines: Vec<TextLine>,
    sockets: Vec<UdpSocket>,
    /// The buffer the next text is read into, then swapped with `text`: a megabyte table is
    /// never copied.
    next: Vec<u8>,
    /// The number of the list `sockets` were last handed out as (`Lineage::id`; 0 before).
    id: u64,
    /// How that list came from the one before it (`Lineage::from`), and how that one came from
    /// its own: a spare list two reads old is brought up to date by the rows of both.
    from: Option<(u64, Arc<[Changed]>)>,
    before: Option<(u64, Arc<[Changed]>)>,
}

/// A line of `ParsedText::text` (as `str::lines` gives it) and the index of its socket.
#[derive(Clone, Copy, Debug)]
struct TextLine {
    start: usize,
    end: usize,
    socket: Option<usize>,
}

impl ParsedText {
    /// What `parse_with_endianness` returns for the text of `bytes` (read lossily, as `Root`
    /// reads text), the same sockets and the same errors, reusing the socket of each line that is
    /// byte for byte a line of the last text near the same place. After an error the next text is
    /// parsed in full.
    pub fn reparse(
        &mut self,
        bytes: &[u8],
        family: Family,
        endian: Endian,
    ) -> Result<Vec<UdpSocket>, ParseError> {
        self.next.clear();
        self.next.extend_from_slice(bytes);
        self.reparse_next(family, endian).map(|()| self.sockets.clone())
    }

    /// `reparse` of the file at `kernel_path`, read straight into the spare buffer, as a list
    /// made from `spare` (see `list`).
    fn read(
        &mut self,
        root: &Root,
        kernel_path: &str,
        (family, endian): (Family, Endian),
        spare: Option<Sockets>,
    ) -> Avail<Sockets> {
        match root.read_into(kernel_path, &mut self.next) {
            Ok(()) => {
                parsed(kernel_path, self.reparse_next(family, endian)).map(|()| self.list(spare))
            }
            Err(e) => Avail::Unavailable(Unavailable::from_io(kernel_path, &e)),
        }
    }

    fn reparse_next(&mut self, family: Family, endian: Endian) -> Result<(), ParseError> {
        if self.parsed_as != Some((family, endian)) {
            self.forget();
        }
        let walked = match self.walk_in_place(family, endian) {
            Ok(Some(rows)) => Ok(Some(rows)),
            Ok(None) => self.walk(family, endian).map(|()| None),
            Err(e) => Err(e),
        };
        match walked {
            Ok(rows) => {
                self.parsed_as = Some((family, endian));
                std::mem::swap(&mut self.text, &mut self.next);
                let made = (self.id != 0).then_some(self.id).zip(rows);
                self.before = std::mem::replace(&mut self.from, made);
                self.id = list::next_id();
                Ok(())
            }
            Err(e) => {
                self.forget();
                Err(e)
            }
        }
    }

    /// The sockets last parsed as a list of their own, with its lineage. A `spare` list that is
    /// the one handed out two reads ago takes only the rows either read changed; any other
    /// spare lends its allocation.
    fn list(&self, spare: Option<Sockets>) -> Sockets {
        let lineage = Lineage { id: self.id, from: self.from.clone() };
        let list = match (spare, &self.from, &self.before) {
            (Some(s), Some((_, now)), Some((two_ago, then)))
                if s.lineage().id == *two_ago && self.sockets.len() == s.len() =>
            {
                let mut list = s.into_vec();
                for c in then.iter().chain(now.iter()) {
                    list[c.row as usize] = self.sockets[c.row as usize];
                }
                list
            }
            (Some(s), ..) => {
                let mut list = s.into_vec();
                list.clear();
                list.extend_from_slice(&self.sockets);
                list
            }
            (None, ..) => self.sockets.clone(),
        };
        Sockets::with_lineage(list, lineage)
    }

    /// Drops the last text (keeping the buffers): the next text is parsed in full.
    fn forget(&mut self) {
        self.parsed_as = None;
        self.text.clear();
        self.lines.clear();
        self.sockets.clear();
        (self.id, self.from, self.before) = (0, None, None);
    }

    /// The usual re-read of a big table: every line where it was, ended the same way (IPv4 rows
    /// are padded to a fixed width, so queues and drops move within them). Then only the lines
    /// that differ are parsed, and their sockets replaced where they stand: nothing else of
    /// `lines` or `sockets` is rebuilt. Returns false, having changed nothing, when the layout is
    /// not the same (`walk` then follows the text), else the sockets replaced, where they were.
    /// Errors are those of a full parse: the lines before a changed one are the same as in the
    /// last text, which parsed.
    fn walk_in_place(
        &mut self,
        family: Family,
        endian: Endian,
    ) -> Result<Option<Arc<[Changed]>>, ParseError> {
        let (old, new) = (self.text.as_slice(), self.next.as_slice());
        if old.len() != new.len() || self.lines.is_empty() {
            return Ok(None);
        }
        let mut changed = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            // The line with what ends it (`\n`, `\r\n`, nothing at the end of the text).
            let ends = self.lines.get(i + 1).map_or(new.len(), |next| next.start);
            if new[l.start..ends] == old[l.start..ends] {
                continue;
            }
            let line = &new[l.start..l.end];
            // `str::lines` must cut the new text where it cut the old one.
            if new[l.end..ends] != old[l.end..ends]
                || line.contains(&b'\n')
                || line.last() == Some(&b'\r')
            {
                return Ok(None);
            }
            let socket = parse_line(&String::from_utf8_lossy(line), i + 1, family, endian)?;
            if socket.is_some() != l.socket.is_some() {
                return Ok(None);
            }
            changed.push((l.socket, socket));
        }
        let mut rows = Vec::with_capacity(changed.len());
        for (at, socket) in changed {
            if let (Some(at), Some(socket)) = (at, socket) {
                let row = u32::try_from(at).expect("fewer than 2^32 sockets in a file");
                // The row is written anyway, so what it held costs nothing more to keep, and
                // the delta then need not look at the earlier list.
                rows.push(Changed { row, was: std::mem::replace(&mut self.sockets[at], socket) });
            }
        }
        Ok(Some(rows.into()))
    }

    /// Walks `next` in step with `text`: `lines` and `sockets` become those of `next`.
    fn walk(&mut self, family: Family, endian: Endian) -> Result<(), ParseError> {
        let (old, new) = (self.text.as_slice(), self.next.as_slice());
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut sockets = Vec::with_capacity(self.sockets.len());
        // Matched lines come in the order of the last text, so each kept socket is moved once
        // into the new list, never cloned: the caller's copy is the one copy per socket.
        let mut kept = std::mem::take(&mut self.sockets).into_iter();
        let mut kept_from = 0;
        // The first line of the last text not yet matched: the texts are walked in step.
        let mut next = 0;
        let mut at = 0;
        let mut lineno = 0;
        while at < new.len() {
            lineno += 1;
            let window = &self.lines[next..self.lines.len().min(next + LOOKAHEAD)];
            // An old line is found here when the new text repeats it and ends it the same way,
            // which is compared without first searching the new text for its line end.
            let same = window.iter().position(|l| {
                let line = &old[l.start..l.end];
                let end = at + line.len();
                new.get(at..end) == Some(line)
                    && new.get(end).is_none_or(|&b| b == b'\n')
                    && line.last() != Some(&b'\r')
            });
            let (end, socket) = match same {
                Some(d) => {
                    next += d + 1;
                    let socket = window[d].socket.map(|i| {
                        let s = kept.nth(i - kept_from).expect("a kept line's socket is kept");
                        kept_from = i + 1;
                        s
                    });
                    (at + window[d].end - window[d].start, socket)
                }
                None => {
                    let end = line_end(new, at);
                    let line = String::from_utf8_lossy(&new[at..end]);
                    (end, parse_line(&line, lineno, family, endian)?)
                }
            };
            let socket = socket.map(|s| {
                sockets.push(s);
                sockets.len() - 1
            });
            lines.push(TextLine { start: at, end, socket });
            // Past the line and its `\n`, or `\r\n` (which `str::lines` leaves out of the line).
            at = new[end..].iter().position(|&b| b == b'\n').map_or(new.len(), |i| end + i + 1);
        }
        self.lines = lines;
        self.sockets = sockets;
        Ok(())
    }
}

/// Where the line starting at `at` ends as `str::lines` cuts it: before its `\n`, or before the
/// `\r` of a `\r\n`; a last line without `\n` keeps everything.
fn line_end(text: &[u8], at: usize) -> usize {
    match text[at..].iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && text[at + i - 1] == b'\r' => at + i - 1,
        Some(i) => at + i,
        None => text.len(),
    }
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
    let pointer = match f.get(11) {
        Some(p) => Some(Pointer::new(p).ok_or_else(|| {
            format!("bad pointer {p:?}: longer than {} characters", Pointer::MAX)
        })?),
        None => None,
    };
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

/// Decimal digits to a number of the range of `T`; `None` for anything else.
fn dec<T: TryFrom<u64>>(s: &str) -> Option<T> {
    T::try_from(dec_u64(s)?).ok()
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
    read_files(root, endian_of(root), None)
}

/// Like [`read`], for a capture whose host byte order is known (e.g. `Endian::Big` for s390x).
pub fn read_with_endianness(root: &Root, endian: Endian) -> UdpSockets {
    read_files(root, endian, None)
}

/// The byte order `read` assumes: the running host's, or little-endian for a capture or tree.
fn endian_of(root: &Root) -> Endian {
    if root.is_live() { Endian::NATIVE } else { Endian::Little }
}

/// What a `Sampler` keeps of its last read of /proc/net/udp and /proc/net/udp6.
#[derive(Debug, Default)]
pub struct ParsedFiles {
    udp: ParsedText,
    udp6: ParsedText,
    /// The last table handed out (`keep`) and the one before it. Once every sample holding the
    /// older one is gone, the next read reuses its lists: a list two reads old becomes the new
    /// one by the rows either read changed, not by a copy of the whole table.
    last: Option<Arc<UdpSockets>>,
    spare: Option<Arc<UdpSockets>>,
}

impl ParsedFiles {
    /// Keeps `table`, the sampler's newest, so the one before it can be reused.
    pub fn keep(&mut self, table: Arc<UdpSockets>) {
        self.spare = self.last.replace(table);
    }

    /// The spare table's lists, when nothing else holds them any more.
    fn spare_lists(&mut self) -> (Option<Sockets>, Option<Sockets>) {
        match self.spare.take().map(Arc::try_unwrap) {
            Some(Ok(t)) => (t.udp.into_value(), t.udp6.into_value()),
            _ => (None, None),
        }
    }
}

/// Reads both files, each through `parsed` (the same sockets, fewer rows parsed) when given.
fn read_files(root: &Root, endian: Endian, parsed: Option<&mut ParsedFiles>) -> UdpSockets {
    let (udp, udp6) = match parsed {
        Some(p) => {
            let (spare, spare6) = p.spare_lists();
            (
                p.udp.read(root, UDP_PATH, (Family::Inet, endian), spare),
                p.udp6.read(root, UDP6_PATH, (Family::Inet6, endian), spare6),
            )
        }
        None => (
            read_parsed(root, UDP_PATH, |t| parse_with_endianness(t, Family::Inet, endian))
                .map(Sockets::from),
            read_parsed(root, UDP6_PATH, |t| parse_with_endianness(t, Family::Inet6, endian))
                .map(Sockets::from),
        ),
    };
    UdpSockets { source: UdpSource::ProcNetUdp, udp, udp6, sock_diag: None }
}

/// The sockets from sock_diag's answer (live, or recorded in a capture) when there is one, else
/// from /proc/net/udp{,6} through `root` (and `parsed`, a sampler's last read of them);
/// `sock_diag: None` means sock_diag was not asked.
pub fn read_with_sock_diag(
    root: &Root,
    sock_diag: Option<&Avail<Vec<InetDiagMsg>>>,
    parsed: Option<&mut ParsedFiles>,
) -> UdpSockets {
    match sock_diag {
        Some(Avail::Value(msgs)) => {
            // The files' last text is of no use while sock_diag answers: not kept for nothing.
            if let Some(p) = parsed {
                *p = ParsedFiles::default();
            }
            from_sock_diag(msgs)
        }
        Some(Avail::Unavailable(u)) => {
            UdpSockets { sock_diag: Some(u.clone()), ..read_files(root, endian_of(root), parsed) }
        }
        None => read_files(root, endian_of(root), parsed),
    }
}

/// The sock_diag dump split by family, in the kernel's order.
pub fn from_sock_diag(msgs: &[InetDiagMsg]) -> UdpSockets {
    let of = |f: Family| {
        let list: Vec<UdpSocket> =
            msgs.iter().filter(|m| m.idiag_family == f).map(UdpSocket::from_sock_diag).collect();
        Sockets::from(list)
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
    use proptest::prelude::*;

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
            (v[0].inode, v[0].ref_count, v[0].pointer, v[0].drops),
            (1141, None, None, None)
        );
    }

    #[test]
    fn pointers_are_kept_as_printed_and_bounded() {
        let row = |p: &str| {
            format!(
                "   1: 00000000:03FF 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1141 2 {p} 0\n"
            )
        };
        for p in ["(____ptrval____)", "0000000000000000", &"f".repeat(Pointer::MAX)] {
            let v = parse(&row(p), Family::Inet).unwrap();
            assert_eq!(v[0].pointer.as_deref(), Some(p));
            let j = serde_json::to_value(v[0]).unwrap();
            assert_eq!(j["pointer"], p, "serialized as the text");
            assert_eq!(serde_json::from_value::<UdpSocket>(j).unwrap(), v[0]);
        }
        let long = "f".repeat(Pointer::MAX + 1);
        let e = parse(&row(&long), Family::Inet).unwrap_err();
        assert!(e.msg.starts_with("bad pointer"), "{}", e.msg);
        let mut j = serde_json::to_value(parse(&row("1"), Family::Inet).unwrap()[0]).unwrap();
        j["pointer"] = long.into();
        let e = serde_json::from_value::<UdpSocket>(j).unwrap_err();
        assert!(e.to_string().contains("longer than 32 characters"), "{e}");
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
        assert_eq!((s.sl, s.ref_count, s.pointer), (None, None, None));
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
        let not_asked = read_with_sock_diag(&root, None, None);
        assert_eq!(not_asked.source, UdpSource::ProcNetUdp);
        assert_eq!(not_asked.sock_diag, None);
        let v4 = not_asked.udp.value().unwrap();
        assert_eq!((v4[0].rx_queue, v4[0].rcvbuf, v4[0].drops), (3840, None, Some(9)));
        assert!(not_asked.udp6.unavailable().is_some(), "no udp6 file");
        let failed = Avail::missing("netlink sock_diag", "no udp_diag module");
        let fell_back = read_with_sock_diag(&root, Some(&failed), None);
        assert_eq!(fell_back.source, UdpSource::ProcNetUdp);
        assert_eq!(fell_back.sock_diag.as_ref().unwrap().why, "no udp_diag module");
        assert_eq!(fell_back.udp, not_asked.udp);
        let answered = Avail::Value(vec![diag(Family::Inet, 7, 70, None)]);
        let from_diag = read_with_sock_diag(&root, Some(&answered), None);
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
        let j = serde_json::to_value(v[0]).unwrap();
        assert_eq!(j["family"], "inet");
        assert_eq!(j["local_address"], "127.0.0.1");
        assert_eq!(j["ref"], 2);
        assert_eq!(j["drops"], 0);
        assert_eq!(serde_json::from_value::<UdpSocket>(j).unwrap(), v[0]);
    }

    fn row(sl: u32, port: u16, drops: u64) -> String {
        format!(
            "{sl:>5}: 0100007F:{port:04X} 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 {} 2 000000000da82ede {drops}",
            70_000 + u32::from(port)
        )
    }

    fn table(rows: &[String]) -> String {
        let mut t = HDR.to_string();
        for r in rows {
            t.push_str(&format!("{r:<127}\n"));
        }
        t
    }

    /// Parses `text` both ways and checks they agree; the socket list the sampler would get.
    fn reparse(p: &mut ParsedText, text: &str) -> Vec<UdpSocket> {
        let v = p.reparse(text.as_bytes(), Family::Inet, Endian::Little).unwrap();
        assert_eq!(v, parse(text, Family::Inet).unwrap());
        v
    }

    /// Marks each kept socket (`rcvbuf`, which /proc never gives) so a test sees which sockets
    /// the next reparse took from the last text and which it parsed anew.
    fn mark_kept(p: &mut ParsedText) {
        for (i, s) in p.sockets.iter_mut().enumerate() {
            s.rcvbuf = Some(i as u32);
        }
    }

    fn marks(v: &[UdpSocket]) -> Vec<Option<u32>> {
        v.iter().map(|s| s.rcvbuf).collect()
    }

    #[test]
    fn reparse_parses_only_changed_rows() {
        let mut rows: Vec<String> = (0..5).map(|i| row(i * 7, 1000 + i as u16, 0)).collect();
        let mut p = ParsedText::default();
        reparse(&mut p, &table(&rows));
        mark_kept(&mut p);
        rows[2] = row(14, 1002, 9);
        let v = p.reparse(table(&rows).as_bytes(), Family::Inet, Endian::Little).unwrap();
        assert_eq!(marks(&v), [Some(0), Some(1), None, Some(3), Some(4)]);
        assert_eq!(v[2].drops, Some(9));
        // Unchanged since: every socket comes from the last read.
        mark_kept(&mut p);
        let v = p.reparse(table(&rows).as_bytes(), Family::Inet, Endian::Little).unwrap();
        assert_eq!(marks(&v), [Some(0), Some(1), Some(2), Some(3), Some(4)]);
    }

    #[test]
    fn reparse_stays_in_step_over_inserted_and_removed_rows() {
        let rows: Vec<String> = (0..12).map(|i| row(i, 2000 + i as u16, 0)).collect();
        let mut p = ParsedText::default();
        reparse(&mut p, &table(&rows));
        mark_kept(&mut p);
        // Three rows opened at the top, two closed in the middle, one changed after them.
        let mut now: Vec<String> = (0..3).map(|i| row(0, 3000 + i, 0)).collect();
        now.extend(rows[..5].iter().cloned());
        now.extend(rows[7..].iter().cloned());
        now[9] = row(8, 2008, 1);
        let v = p.reparse(table(&now).as_bytes(), Family::Inet, Endian::Little).unwrap();
        let want = [None, None, None, Some(0), Some(1), Some(2), Some(3), Some(4), Some(7), None];
        assert_eq!(marks(&v)[..10], want);
        assert_eq!(marks(&v)[10..], [Some(9), Some(10), Some(11)]);
        // More rows closed together than are looked ahead: parsed in full, and in step again.
        let fewer: Vec<String> = now[..1].iter().chain(&now[LOOKAHEAD + 2..]).cloned().collect();
        reparse(&mut p, &table(&fewer));
        mark_kept(&mut p);
        let v = p.reparse(table(&fewer).as_bytes(), Family::Inet, Endian::Little).unwrap();
        assert!(marks(&v).iter().all(Option::is_some));
    }

    #[test]
    fn reparse_errors_are_the_full_parse_errors() {
        let mut rows: Vec<String> = (0..4).map(|i| row(i, 4000 + i as u16, 0)).collect();
        let good = table(&rows);
        let mut p = ParsedText::default();
        reparse(&mut p, &good);
        rows[2] = rows[2].replace(" 07 ", " 107 ");
        let bad = table(&rows);
        let e = p.reparse(bad.as_bytes(), Family::Inet, Endian::Little).unwrap_err();
        assert_eq!(e, parse(&bad, Family::Inet).unwrap_err());
        assert_eq!(e.line, 4);
        assert!(e.msg.starts_with("bad st \"107\": \"    2: 0100007F:0FA2"), "{}", e.msg);
        // An unchanged broken line is parsed (and fails) again, then the good text reads.
        assert_eq!(p.reparse(bad.as_bytes(), Family::Inet, Endian::Little).unwrap_err(), e);
        reparse(&mut p, &good);
    }

    #[test]
    fn reparse_reads_bytes_as_root_reads_text() {
        let rows: Vec<String> = (0..4).map(|i| row(i, 5000 + i as u16, 0)).collect();
        let mut bytes = table(&rows).into_bytes();
        let mut p = ParsedText::default();
        // A byte that is not UTF-8 in the header, then in a row's pointer, then a `\r\n`.
        for (at, b) in [
            (HDR.len() - 3, 0xff),
            (HDR.len() + 128 + rows[1].find("da82ede").unwrap(), 0xfe),
            (HDR.len() + 3 * 128 - 1, b'\r'),
        ] {
            if b == b'\r' {
                bytes.insert(at, b);
            } else {
                bytes[at] = b;
            }
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(
                p.reparse(&bytes, Family::Inet, Endian::Little),
                parse(&text, Family::Inet),
                "{text:?}"
            );
        }
        let v = p.reparse(&bytes, Family::Inet, Endian::Little).unwrap();
        assert!(v[1].pointer.unwrap().contains('\u{fffd}'), "{:?}", v[1].pointer);
    }

    #[test]
    fn reparse_starts_over_for_another_family_or_byte_order() {
        let t = "  sl x\n   1: 7F000001:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 5 2 0 0\n";
        let mut p = ParsedText::default();
        let little = p.reparse(t.as_bytes(), Family::Inet, Endian::Little).unwrap();
        assert_eq!(little[0].local_address, "1.0.0.127".parse::<IpAddr>().unwrap());
        let big = p.reparse(t.as_bytes(), Family::Inet, Endian::Big).unwrap();
        assert_eq!(big, parse_with_endianness(t, Family::Inet, Endian::Big).unwrap());
        assert_eq!(big[0].local_address, "127.0.0.1".parse::<IpAddr>().unwrap());
        let e = p.reparse(t.as_bytes(), Family::Inet6, Endian::Big).unwrap_err();
        assert_eq!(e, parse_with_endianness(t, Family::Inet6, Endian::Big).unwrap_err());
    }

    #[test]
    fn reparse_of_empty_and_header_only_texts() {
        let mut p = ParsedText::default();
        assert!(reparse(&mut p, "").is_empty());
        assert!(reparse(&mut p, HDR).is_empty());
        let one = table(&[row(1, 53, 0)]);
        assert_eq!(reparse(&mut p, &one).len(), 1);
        assert!(reparse(&mut p, HDR).is_empty());
        assert!(reparse(&mut p, "").is_empty());
    }

    #[test]
    fn sampler_reads_through_parsed_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        let rows: Vec<String> = (0..3).map(|i| row(i, 53 + i as u16, 0)).collect();
        std::fs::write(dir.path().join("proc/net/udp"), table(&rows)).unwrap();
        let root = Root::at(dir.path());
        let mut parsed = ParsedFiles::default();
        let first = read_with_sock_diag(&root, None, Some(&mut parsed));
        assert_eq!(first, read(&root));
        assert_eq!(parsed.udp.sockets.len(), 3);
        assert!(first.udp6.unavailable().is_some(), "no udp6 file");
        // sock_diag answering: its sockets, and the files' text is let go.
        let answered = Avail::Value(vec![diag(Family::Inet, 7, 70, None)]);
        let from_diag = read_with_sock_diag(&root, Some(&answered), Some(&mut parsed));
        assert_eq!(from_diag.source, UdpSource::SockDiag);
        assert!(parsed.udp.text.is_empty() && parsed.udp.sockets.is_empty());
    }

    /// A socket's fields, printed by `render` as the kernel would (with ref, pointer and drops as
    /// far as `tail` says).
    type Row =
        (u32, [u32; 4], u16, [u32; 4], u16, u8, (u32, u32), u32, u64, (usize, u64, u64), bool);

    fn render(r: &Row, family: Family) -> String {
        let (sl, local, lport, rem, rport, st, (tx, rx), uid, inode, (tail, ptr, drops), pad) = r;
        let addr = |w: &[u32; 4]| match family {
            Family::Inet => format!("{:08X}", w[0]),
            Family::Inet6 => w.iter().map(|x| format!("{x:08X}")).collect(),
        };
        let mut s = format!(
            "{sl:>5}: {}:{lport:04X} {}:{rport:04X} {st:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {uid:>5} {:>8} {inode}",
            addr(local),
            addr(rem),
            0
        );
        for f in [" 2".to_string(), format!(" {ptr:016x}"), format!(" {drops}")].iter().take(*tail)
        {
            s.push_str(f);
        }
        if *pad { format!("{s:<127}") } else { s }
    }

    fn any_row() -> impl Strategy<Value = Row> {
        (
            0u32..3000,
            any::<[u32; 4]>(),
            any::<u16>(),
            any::<[u32; 4]>(),
            any::<u16>(),
            prop_oneof![Just(7u8), Just(1u8), any::<u8>()],
            (0u32..4, 0u32..70_000),
            0u32..70_000,
            any::<u64>(),
            (0usize..=3, any::<u64>(), 0u64..1000),
            any::<bool>(),
        )
    }

    /// One change between two reads of a file.
    #[derive(Clone, Debug)]
    enum Edit {
        /// A row's socket changed (any field, the queues and drops most often).
        Change(usize, Row),
        /// Only the drops of a row moved.
        Drops(usize, u64),
        Insert(usize, Row),
        Remove(usize),
        Swap(usize, usize),
        /// A line not a socket: a header, a blank line or anything.
        Line(usize, String),
        /// A line ended by `\r\n`.
        Cr(usize),
    }

    fn any_edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            4 => (0usize..64, any_row()).prop_map(|(i, r)| Edit::Change(i, r)),
            6 => (0usize..64, 0u64..1000).prop_map(|(i, d)| Edit::Drops(i, d)),
            3 => (0usize..64, any_row()).prop_map(|(i, r)| Edit::Insert(i, r)),
            3 => (0usize..64).prop_map(Edit::Remove),
            2 => (0usize..64, 0usize..64).prop_map(|(a, b)| Edit::Swap(a, b)),
            1 => (0usize..64, prop_oneof![
                Just(HDR.trim_end().to_string()),
                Just("  sl  local_address".to_string()),
                Just(String::new()),
                "[ -~]{0,40}",
            ]).prop_map(|(i, l)| Edit::Line(i, l)),
            1 => (0usize..64).prop_map(Edit::Cr),
        ]
    }

    /// Applies `edits` to the lines (positions wrap around the current length).
    fn edit(lines: &mut Vec<String>, edits: &[Edit], family: Family) {
        for e in edits {
            let n = lines.len();
            match e {
                Edit::Change(i, r) if n > 0 => lines[i % n] = render(r, family),
                Edit::Drops(i, d) if n > 0 => {
                    let l = &mut lines[i % n];
                    if let Some(cut) = l.trim_end().rfind(' ') {
                        *l = format!("{} {d}", &l[..cut]);
                    }
                }
                Edit::Insert(i, r) => lines.insert(i % (n + 1), render(r, family)),
                Edit::Remove(i) if n > 0 => {
                    lines.remove(i % n);
                }
                Edit::Swap(a, b) if n > 0 => lines.swap(a % n, b % n),
                Edit::Line(i, l) => lines.insert(i % (n + 1), l.clone()),
                Edit::Cr(i) if n > 0 => lines[i % n].push('\r'),
                _ => {}
            }
        }
    }

    /// Pads each line to the width `udp4_seq_show` pads its rows to (`seq_pad`); longer ones stay.
    fn pad(lines: &mut [String]) {
        for l in lines {
            *l = format!("{l:<127}");
        }
    }

    proptest! {
        /// A padded table whose rows change in place (the layout `walk_in_place` takes): reparsing
        /// gives what a full parse gives, as rows change, become other lines or fail to parse.
        #[test]
        fn reparse_in_place_is_a_full_parse(
            big: bool,
            rows in prop::collection::vec(any_row(), 1..40),
            reads in prop::collection::vec(prop::collection::vec(any_edit(), 0..4), 1..6),
        ) {
            let (family, endian) = (Family::Inet, if big { Endian::Big } else { Endian::Little });
            let mut lines: Vec<String> = rows.iter().map(|r| render(r, family)).collect();
            lines.insert(0, HDR.trim_end().to_string());
            pad(&mut lines);
            let mut p = ParsedText::default();
            let text = lines.join("\n") + "\n";
            prop_assert_eq!(
                p.reparse(text.as_bytes(), family, endian),
                parse_with_endianness(&text, family, endian)
            );
            for edits in reads {
                // Only edits that keep the lines where they are.
                let kept: Vec<Edit> = edits
                    .into_iter()
                    .filter(|e| !matches!(e, Edit::Insert(..) | Edit::Remove(_) | Edit::Swap(..)))
                    .collect();
                edit(&mut lines, &kept, family);
                pad(&mut lines);
                let text = lines.join("\n") + "\n";
                prop_assert_eq!(
                    p.reparse(text.as_bytes(), family, endian),
                    parse_with_endianness(&text, family, endian),
                    "text {:?}", text
                );
            }
        }

        /// Lists made read after read as a sampler makes them (the list of two reads ago given
        /// back as the spare): each holds what a full parse gives, and one that says it came from
        /// the last differs from it only in the rows it names, which the delta relies on.
        #[test]
        fn lists_made_from_the_last_differ_only_in_the_rows_named(
            rows in prop::collection::vec(any_row(), 1..30),
            reads in prop::collection::vec(
                (prop::collection::vec(any_edit(), 0..4), prop::bool::weighted(0.8)),
                1..8,
            ),
        ) {
            let (family, endian) = (Family::Inet, Endian::Little);
            let mut lines: Vec<String> = rows.iter().map(|r| render(r, family)).collect();
            lines.insert(0, HDR.trim_end().to_string());
            pad(&mut lines);
            let mut p = ParsedText::default();
            let (mut last, mut spare): (Option<Sockets>, Option<Sockets>) = (None, None);
            for (i, (edits, in_place)) in std::iter::once((vec![], true)).chain(reads).enumerate() {
                let edits: Vec<Edit> = edits
                    .into_iter()
                    .filter(|e| !in_place || !matches!(e, Edit::Insert(..) | Edit::Remove(_)))
                    .collect();
                edit(&mut lines, &edits, family);
                pad(&mut lines);
                let text = lines.join("\n") + "\n";
                p.next = text.clone().into_bytes();
                let full = parse_with_endianness(&text, family, endian);
                let list = match p.reparse_next(family, endian) {
                    Ok(()) => p.list(spare.take()),
                    Err(e) => {
                        prop_assert_eq!(Err(e), full);
                        (last, spare) = (None, None);
                        continue;
                    }
                };
                prop_assert_eq!(&list, &full.unwrap(), "read {}", i);
                if let (Some(then), Some(rows)) = (&last, last.as_ref().and_then(|l| list.changed_since(l))) {
                    prop_assert_eq!(then.len(), list.len());
                    for (j, (a, b)) in then.iter().zip(list.iter()).enumerate() {
                        prop_assert!(a == b || rows.iter().any(|c| c.row == j as u32), "read {} row {}", i, j);
                    }
                    // Each named row says what the earlier list held there.
                    for c in rows {
                        prop_assert_eq!(&c.was, &then[c.row as usize], "read {} row {}", i, c.row);
                    }
                }
                spare = last.replace(list);
            }
        }

        /// Read after read of an edited table, reparsing gives what a full parse gives: the same
        /// sockets, or the same error (line and message).
        #[test]
        fn reparse_is_a_full_parse(
            v6: bool,
            big: bool,
            header: bool,
            rows in prop::collection::vec(any_row(), 0..40),
            reads in prop::collection::vec(
                (prop::collection::vec(any_edit(), 0..8), any::<bool>(), 0u8..8),
                1..5,
            ),
        ) {
            let family = if v6 { Family::Inet6 } else { Family::Inet };
            let mut endian = if big { Endian::Big } else { Endian::Little };
            let mut lines: Vec<String> = rows.iter().map(|r| render(r, family)).collect();
            if header {
                lines.insert(0, HDR.trim_end().to_string());
            }
            let mut p = ParsedText::default();
            let mut text = lines.join("\n");
            prop_assert_eq!(
                p.reparse(text.as_bytes(), family, endian),
                parse_with_endianness(&text, family, endian)
            );
            for (edits, newline, other) in reads {
                edit(&mut lines, &edits, family);
                text = lines.join("\n");
                if newline {
                    text.push('\n');
                }
                // Now and then the same text read as the other byte order.
                if other == 0 {
                    endian = if endian == Endian::Big { Endian::Little } else { Endian::Big };
                }
                prop_assert_eq!(
                    p.reparse(text.as_bytes(), family, endian),
                    parse_with_endianness(&text, family, endian),
                    "text {:?}", text
                );
            }
        }
    }
}
