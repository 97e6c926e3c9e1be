//! `/proc/net/snmp`, `/proc/net/netstat` and `/proc/net/snmp6` (+ `/proc/net/dev_snmp6/<if>`): the
//! IP, ICMP, TCP and UDP protocol counters of one network namespace.
//!
//! `snmp` and `netstat` share one format, pairs of lines per section:
//! ```text
//! Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
//! Udp: 217 200 1059991 1060418 1059991 0 0 0 0
//! ```
//! Fields are mapped **by name**: kernels insert fields mid-list (TcpExt gained `BeyondWindow` ...
//! after `PAWSEstab` in 6.18), append them (`Ip OutTransmits`), and distributions backport them
//! (`Icmp OutRateLimitGlobal` on a 5.14.0 build), so the field set can never be inferred from the
//! version. Every field is kept, known or not, in kernel order. `IcmpMsg` lists only the ICMP types
//! seen so far and is absent while there were none; `MPTcpExt` appears on kernels with MPTCP.
//!
//! `snmp6` is one `Name<spaces>\t<value>` per line (`%-32s\t%lu`), no sections; `Icmp6InTypeN` /
//! `Icmp6OutTypeN` lines appear only once non-zero. `dev_snmp6/<if>` is the same for one interface,
//! with a first line `ifIndex N`, kept as a counter named `ifIndex`.

use super::{Name, Names, ParseError, dec_u64, fields, read_parsed};
use crate::avail::Avail;
use crate::fxhash::FxBuild;
use crate::root::Root;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub const SNMP_PATH: &str = "/proc/net/snmp";
pub const NETSTAT_PATH: &str = "/proc/net/netstat";
pub const SNMP6_PATH: &str = "/proc/net/snmp6";
pub const DEV_SNMP6_DIR: &str = "/proc/net/dev_snmp6";

/// Counters by the kernel's field name, in the kernel's order. Signed because `Tcp MaxConn` is
/// printed `%ld` (`-1`); every other value is an unsigned long that saturates at `i64::MAX`.
pub type Counters = IndexMap<Name, i64, FxBuild>;

/// The sections of `/proc/net/snmp` or `/proc/net/netstat` by name (`Ip`, `Udp`, `TcpExt`, ...), in
/// file order. JSON: `{"Udp": {"RcvbufErrors": 3, ...}, ...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snmp {
    pub sections: IndexMap<Name, Counters, FxBuild>,
}

impl Snmp {
    /// One counter, e.g. `get("Udp", "RcvbufErrors")`. `None` when this kernel does not have it.
    pub fn get(&self, section: &str, field: &str) -> Option<i64> {
        self.sections.get(section)?.get(field).copied()
    }

    /// A whole section, e.g. `section("TcpExt")`.
    pub fn section(&self, section: &str) -> Option<&Counters> {
        self.sections.get(section)
    }
}

/// Parses `/proc/net/snmp` or `/proc/net/netstat`.
///
/// Lines are paired by section name: the first `Name:` line is the header, the next `Name:` line
/// the values. Tolerated without failing the file, because one odd section must not hide the others:
/// - a header and value line with different counts keep the pairs they have (the extra names or
///   values are dropped);
/// - a header with no value line by the end of the file adds nothing;
/// - a value beyond `i64` saturates to `i64::MAX` (or `i64::MIN`);
/// - a section seen twice (two header/value pairs) merges into one, the later value winning.
///
/// A line without `Name:`, or a value line with a token that is not an integer, is an error: the
/// pairing itself can no longer be trusted.
pub fn parse(text: &str) -> Result<Snmp, ParseError> {
    parse_sharing(text, &mut Names::default())
}

/// `parse`, sharing the names of the last parse of the same file (`names`, updated for the next).
pub fn parse_sharing(text: &str, names: &mut Names) -> Result<Snmp, ParseError> {
    let mut names = names.parse();
    let mut sections: IndexMap<Name, Counters, FxBuild> = IndexMap::default();
    // Headers waiting for their value line: the section name and the field names. A handful at
    // most, each a slice of `text`, so a list beats a map.
    let mut pending: Vec<(&str, &str)> = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            return Err(ParseError::new(lineno, format!("no \"Section:\" prefix: {line:?}")));
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ParseError::new(lineno, format!("bad section name {name:?}")));
        }
        match pending.iter().position(|(n, _)| *n == name) {
            None => pending.push((name, rest)),
            Some(at) => {
                let (_, header) = pending.remove(at);
                let section = match sections.get_index_of(name) {
                    Some(i) => &mut sections[i],
                    None => sections.entry(names.name("", name)).or_default(),
                };
                // Sized once: grown field by field, TcpExt's ~120 counters rehash six times.
                section.reserve(fields(header).count());
                for (field, v) in fields(header).zip(fields(rest)) {
                    let n = parse_value(v).ok_or_else(|| {
                        ParseError::new(lineno, format!("{name} {field}: not an integer: {v:?}"))
                    })?;
                    section.insert(names.name("", field), n);
                }
            }
        }
    }
    Ok(Snmp { sections })
}

/// Parses `/proc/net/snmp6` or `/proc/net/dev_snmp6/<if>`: `Name value` per line.
///
/// A line that is not exactly a name and an integer is an error; a name seen twice keeps its first
/// position and its last value.
pub fn parse_snmp6(text: &str) -> Result<Counters, ParseError> {
    parse_snmp6_sharing(text, &mut Names::default())
}

/// `parse_snmp6`, sharing the names of the last parse of the same file.
pub fn parse_snmp6_sharing(text: &str, names: &mut Names) -> Result<Counters, ParseError> {
    let mut names = names.parse();
    // One counter a line: sized once rather than rehashed as it grows.
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    let mut counters = Counters::with_capacity_and_hasher(lines, FxBuild);
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let mut tokens = fields(line);
        let (Some(name), value, extra) = (tokens.next(), tokens.next(), tokens.next()) else {
            continue;
        };
        let (Some(value), None) = (value, extra) else {
            return Err(ParseError::new(lineno, format!("expected \"Name value\": {line:?}")));
        };
        let n = parse_value(value)
            .ok_or_else(|| ParseError::new(lineno, format!("{name}: not an integer: {value:?}")))?;
        counters.insert(names.name("", name), n);
    }
    Ok(counters)
}

/// A decimal integer; one beyond `i64` (the kernel prints `%lu`, up to 2^64-1) saturates.
fn parse_value(v: &str) -> Option<i64> {
    // Almost every value: plain digits, within i64.
    if let Some(n) = dec_u64(v).and_then(|n| i64::try_from(n).ok()) {
        return Some(n);
    }
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if neg { i64::MIN } else { i64::MAX })
}

/// Reads `/proc/net/snmp` (Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite), sharing the names of its last
/// read (`names`: a new one for a one-shot read).
pub fn read_snmp(root: &Root, names: &mut Names) -> Avail<Snmp> {
    read_parsed(root, SNMP_PATH, |t| parse_sharing(t, names))
}

/// Reads `/proc/net/netstat` (TcpExt, IpExt, MPTcpExt), sharing names as `read_snmp`.
pub fn read_netstat(root: &Root, names: &mut Names) -> Avail<Snmp> {
    read_parsed(root, NETSTAT_PATH, |t| parse_sharing(t, names))
}

/// Reads `/proc/net/snmp6` (absent when IPv6 is disabled), sharing names as `read_snmp`.
pub fn read_snmp6(root: &Root, names: &mut Names) -> Avail<Counters> {
    read_parsed(root, SNMP6_PATH, |t| parse_snmp6_sharing(t, names))
}

/// Reads `/proc/net/dev_snmp6/<ifname>`, the IPv6 counters of one interface.
pub fn read_dev_snmp6(root: &Root, ifname: &str) -> Avail<Counters> {
    let path = format!("{DEV_SNMP6_DIR}/{ifname}");
    // The name comes from a directory listing or a user: never let it climb out of the directory.
    if ifname.is_empty() || ifname == "." || ifname == ".." || ifname.contains('/') {
        return Avail::missing(path, format!("{ifname:?} is not an interface name"));
    }
    read_parsed(root, &path, parse_snmp6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_section_and_maps_by_name() {
        let s = parse(
            "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn\nTcp: 1 200 120000 -1\nUdp: InDatagrams NoPorts\nUdp: 5 6\n",
        )
        .unwrap();
        assert_eq!(s.get("Tcp", "MaxConn"), Some(-1));
        assert_eq!(s.get("Udp", "NoPorts"), Some(6));
        assert_eq!(s.get("Udp", "MemErrors"), None);
        assert_eq!(s.sections.keys().collect::<Vec<_>>(), ["Tcp", "Udp"]);
    }

    #[test]
    fn interleaved_sections_still_pair_by_name() {
        let s = parse("A: x y\nB: p\nB: 7\nA: 1 2\n").unwrap();
        assert_eq!(s.get("A", "y"), Some(2));
        assert_eq!(s.get("B", "p"), Some(7));
    }

    #[test]
    fn values_beyond_i64_saturate() {
        let s = parse(
            "Ip: Big Max Neg\nIp: 18446744073709551615 9223372036854775807 -99999999999999999999\n",
        )
        .unwrap();
        assert_eq!(s.get("Ip", "Big"), Some(i64::MAX));
        assert_eq!(s.get("Ip", "Max"), Some(i64::MAX));
        assert_eq!(s.get("Ip", "Neg"), Some(i64::MIN));
    }

    #[test]
    fn count_mismatch_keeps_what_pairs() {
        let s = parse("Udp: a b c\nUdp: 1 2\nTcp: x\nTcp: 9 10\nIp: y\nIp: 3\n").unwrap();
        assert_eq!(s.section("Udp").unwrap().len(), 2);
        assert_eq!(s.get("Udp", "b"), Some(2));
        assert_eq!(s.get("Udp", "c"), None);
        assert_eq!(s.section("Tcp").unwrap().len(), 1);
        assert_eq!(s.get("Tcp", "x"), Some(9));
        assert_eq!(s.get("Ip", "y"), Some(3));
    }

    #[test]
    fn header_without_values_adds_nothing() {
        let s = parse("Udp: a b\nTcp: x\nTcp: 1\n").unwrap();
        assert!(s.section("Udp").is_none());
        assert_eq!(s.get("Tcp", "x"), Some(1));
    }

    #[test]
    fn empty_sections_and_empty_file() {
        assert!(parse("").unwrap().sections.is_empty());
        let s = parse("IcmpMsg:\nIcmpMsg:\n").unwrap();
        assert!(s.section("IcmpMsg").unwrap().is_empty());
    }

    #[test]
    fn broken_lines_are_errors() {
        assert_eq!(parse("Udp a b\n").unwrap_err().line, 1);
        let e = parse("Udp: a b\nUdp: 1 x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("Udp b"), "{e}");
        assert!(parse(": a\n: 1\n").is_err());
        assert!(parse("Tcp Ext: a\n").is_err());
    }

    #[test]
    fn no_trailing_newline() {
        assert_eq!(parse("Udp: a\nUdp: 4").unwrap().get("Udp", "a"), Some(4));
    }

    #[test]
    fn serialises_transparently() {
        let s = parse("Udp: RcvbufErrors InErrors\nUdp: 3 4\n").unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, r#"{"Udp":{"RcvbufErrors":3,"InErrors":4}}"#);
        assert_eq!(serde_json::from_str::<Snmp>(&j).unwrap(), s);
    }

    #[test]
    fn a_parse_shares_names_with_the_last_and_follows_a_changed_header() {
        let mut names = Names::default();
        let a = parse_sharing("Udp: InErrors NoPorts\nUdp: 1 2\n", &mut names).unwrap();
        let b = parse_sharing("Udp: InErrors NoPorts\nUdp: 3 4\n", &mut names).unwrap();
        let keys = |s: &Snmp| s.sections["Udp"].keys().cloned().collect::<Vec<_>>();
        assert!(keys(&a).iter().zip(&keys(&b)).all(|(a, b)| Name::ptr_eq(a, b)));
        let (sa, sb) = (a.sections.get_index(0).unwrap().0, b.sections.get_index(0).unwrap().0);
        assert!(Name::ptr_eq(sa, sb));
        let c = parse_sharing("Udp: InErrors Fresh NoPorts\nUdp: 5 6 7\n", &mut names).unwrap();
        assert_eq!(c, parse("Udp: InErrors Fresh NoPorts\nUdp: 5 6 7\n").unwrap());
        assert_eq!((c.get("Udp", "Fresh"), c.get("Udp", "NoPorts")), (Some(6), Some(7)));
        let mut names = Names::default();
        let a = parse_snmp6_sharing("Ip6InReceives 1\n", &mut names).unwrap();
        let b = parse_snmp6_sharing("Ip6InReceives 2\n", &mut names).unwrap();
        assert!(Name::ptr_eq(a.get_index(0).unwrap().0, b.get_index(0).unwrap().0));
    }

    #[test]
    fn snmp6_lines() {
        let c = parse_snmp6(
            "ifIndex                         \t4\nIp6InReceives                   \t16\nIcmp6OutType133 6\nUdp6MemErrors\t18446744073709551615",
        )
        .unwrap();
        assert_eq!(c["ifIndex"], 4);
        assert_eq!(c["Ip6InReceives"], 16);
        assert_eq!(c["Icmp6OutType133"], 6);
        assert_eq!(c["Udp6MemErrors"], i64::MAX);
        assert_eq!(c.keys().next().unwrap(), "ifIndex");
    }

    #[test]
    fn snmp6_broken_lines() {
        assert_eq!(parse_snmp6("Ip6InReceives\n").unwrap_err().line, 1);
        assert!(parse_snmp6("Ip6InReceives 1 2\n").is_err());
        assert!(parse_snmp6("\nIp6InReceives x\n").unwrap_err().msg.contains("Ip6InReceives"));
        assert!(parse_snmp6("\n\n").unwrap().is_empty());
    }

    #[test]
    fn dev_snmp6_refuses_path_names() {
        let root = Root::at("/nonexistent");
        for bad in ["", ".", "..", "../snmp", "a/b"] {
            let a = read_dev_snmp6(&root, bad);
            assert!(a.unavailable().unwrap().why.contains("not an interface name"), "{bad}");
        }
    }
}
