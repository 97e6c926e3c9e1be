//! `/proc/net/dev`: per-interface packet, byte, error and drop counters (per network namespace).
//!
//! ```text
//! Inter-|   Receive                                                |  Transmit
//!  face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
//!     lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
//! ```
//!
//! Columns are named from the second header line, so a kernel that adds a column never shifts the
//! others: each counter is keyed by its group prefix (`rx_`, `tx_`) and the header's own word
//! (`rx_bytes`, `rx_drop`, `tx_colls`, ...); words we do not know are kept the same way.
//!
//! Several columns are sums of `rtnl_link_stats64` fields (net/core/net-procfs.c):
//! - rx `drop` = `rx_dropped + rx_missed_errors`, so a NIC ring overflow (`rx_missed_errors`) and a
//!   software drop (`rx_dropped`: unknown ethertype, backlog full) are mixed here; sysfs
//!   `statistics/` or netlink keeps them apart.
//! - rx `frame` = `rx_length_errors + rx_over_errors + rx_crc_errors + rx_frame_errors`.
//! - tx `carrier` = `tx_carrier_errors + tx_aborted_errors + tx_window_errors + tx_heartbeat_errors`.
//! - `rx_nohandler` and `rx_otherhost_dropped` are **not** in this file at all (the latter is not in
//!   sysfs either: only netlink IFLA_STATS64 has it).

use super::{Name, NameCursor, Names, ParseError, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
use crate::source::CounterMap;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/proc/net/dev";

/// All interfaces of one network namespace, in the kernel's order.
///
/// A name may appear twice (never from a kernel, but a hand-written stub does it): both rows are
/// kept as they are, in file order, and [`NetDev::get`] returns the first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetDev {
    pub interfaces: Vec<NetDevRow>,
}

/// One interface: its name and every counter of its line, keyed `rx_<word>` / `tx_<word>` in
/// column order. `rx_drop` and `rx_frame` are sums (see the module documentation): `rx_drop` =
/// `rx_dropped + rx_missed_errors`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetDevRow {
    pub name: String,
    #[serde(flatten)]
    pub counters: CounterMap,
}

impl NetDev {
    /// The first row with this interface name.
    pub fn get(&self, name: &str) -> Option<&NetDevRow> {
        self.interfaces.iter().find(|r| r.name == name)
    }
}

impl NetDevRow {
    /// A counter by its key (`"rx_drop"`, `"tx_bytes"`).
    pub fn get(&self, key: &str) -> Option<u64> {
        self.counters.get(key).copied()
    }
}

/// Parses the text of `/proc/net/dev`.
///
/// The interface name is everything before the **first** `:`: 2.6.18 printed `%6s:%8lu`, so a big
/// counter touches the colon (`  eth0:8144002186412 ...`), and names longer than six characters are
/// never padded (`vethf345468:`). A row whose number of values differs from the header's number of
/// columns is an error: mapping it by position would put counters under the wrong names.
pub fn parse(text: &str) -> Result<NetDev, ParseError> {
    parse_sharing(text, &mut Names::default())
}

/// `parse`, sharing the column names of the last parse of the same file (`names`, updated for
/// the next): every row of every parse then holds the same names.
pub fn parse_sharing(text: &str, names: &mut Names) -> Result<NetDev, ParseError> {
    let mut names = names.parse();
    let mut columns: Option<Vec<Name>> = None;
    let mut interfaces = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        // Interface names cannot hold ':' (dev_valid_name) but may hold '|', and header lines have
        // no ':', so the colon is what tells a row from a header.
        if !line.contains(':') && line.contains('|') {
            // The first header line ("Inter-|   Receive   |  Transmit") names the groups; the second
            // (" face |bytes ... |bytes ...") names the columns. Only the second starts with "face".
            let mut groups = line.split('|');
            if groups.next().map(str::trim) == Some("face") {
                columns = Some(column_names(groups, &mut names));
            }
            continue;
        }
        let Some(cols) = &columns else {
            return Err(ParseError::new(
                lineno,
                "interface line before the column header (\" face |bytes packets ...\")",
            ));
        };
        let Some((name, rest)) = line.split_once(':') else {
            return Err(ParseError::new(
                lineno,
                format!("no ':' after the interface name: {line:?}"),
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::new(lineno, "empty interface name"));
        }
        let values = rest.split_whitespace().count();
        if values != cols.len() {
            return Err(ParseError::new(
                lineno,
                format!(
                    "interface {name}: {values} values but the header names {} columns",
                    cols.len()
                ),
            ));
        }
        let mut counters = CounterMap::with_capacity_and_hasher(cols.len(), Default::default());
        for (col, v) in cols.iter().zip(rest.split_whitespace()) {
            let n: u64 = v.parse().map_err(|_| {
                ParseError::new(lineno, format!("interface {name}: {col} is not a number: {v:?}"))
            })?;
            counters.insert(col.clone(), n);
        }
        interfaces.push(NetDevRow { name: name.to_string(), counters });
    }
    if columns.is_none() {
        return Err(ParseError::new(0, "no column header line (\" face |bytes packets ...\")"));
    }
    Ok(NetDev { interfaces })
}

/// Column keys from the groups after " face |": the first group is receive, the second transmit.
fn column_names<'a>(groups: impl Iterator<Item = &'a str>, names: &mut NameCursor) -> Vec<Name> {
    let mut cols = Vec::new();
    for (i, group) in groups.enumerate() {
        // The kernel has only two groups; a further one keeps its words unprefixed rather than
        // being dropped.
        let prefix = match i {
            0 => "rx_",
            1 => "tx_",
            _ => "",
        };
        cols.extend(group.split_whitespace().map(|w| names.name(prefix, w)));
    }
    cols
}

/// Reads `/proc/net/dev` of the reader's network namespace, sharing the names of its last read
/// (`names`: a new one for a one-shot read).
pub fn read(root: &Root, names: &mut Names) -> Avail<NetDev> {
    read_parsed(root, PATH, |t| parse_sharing(t, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    #[test]
    fn keys_come_from_the_header() {
        let text = format!(
            "{HEADER}    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0\n"
        );
        let d = parse(&text).unwrap();
        let keys: Vec<&str> = d.interfaces[0].counters.keys().map(Name::as_str).collect();
        assert_eq!(
            keys,
            [
                "rx_bytes",
                "rx_packets",
                "rx_errs",
                "rx_drop",
                "rx_fifo",
                "rx_frame",
                "rx_compressed",
                "rx_multicast",
                "tx_bytes",
                "tx_packets",
                "tx_errs",
                "tx_drop",
                "tx_fifo",
                "tx_colls",
                "tx_carrier",
                "tx_compressed"
            ]
        );
        assert_eq!(d.get("lo").unwrap().get("rx_bytes"), Some(3193));
        assert_eq!(d.get("lo").unwrap().get("tx_packets"), Some(29));
    }

    /// 2.6.18's `%6s:%8lu` glues a counter wider than 8 digits to the colon (README example).
    #[test]
    fn counter_glued_to_the_colon_on_2_6_18() {
        let text = format!(
            "{HEADER}    lo:97894637 1071452    0    0    0     0          0         0 97894637 1071452    0    0    0     0       0          0\n  eth0:8144002186412 10129721832    0    0    0     0          0    12345 4276211098 2874325    0    0    0     0       0          0\n"
        );
        let d = parse(&text).unwrap();
        assert_eq!(d.interfaces.len(), 2);
        let eth0 = d.get("eth0").unwrap();
        assert_eq!(eth0.get("rx_bytes"), Some(8_144_002_186_412));
        assert_eq!(eth0.get("rx_packets"), Some(10_129_721_832));
        assert_eq!(eth0.get("rx_multicast"), Some(12345));
        assert_eq!(eth0.get("tx_bytes"), Some(4_276_211_098));
        assert_eq!(d.get("lo").unwrap().get("rx_bytes"), Some(97_894_637));
    }

    #[test]
    fn unknown_header_words_are_kept() {
        let text = " face |bytes packets nohandler|bytes newthing\n  eth0: 1 2 3 4 5\n";
        let d = parse(text).unwrap();
        let c = &d.interfaces[0].counters;
        assert_eq!(c["rx_nohandler"], 3);
        assert_eq!(c["tx_newthing"], 5);
    }

    #[test]
    fn no_trailing_newline_and_blank_lines() {
        let text = format!(
            "{HEADER}\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\n  eth1: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 99"
        );
        let d = parse(&text).unwrap();
        assert_eq!(d.interfaces.len(), 2);
        assert_eq!(d.get("eth0").unwrap().get("tx_compressed"), Some(16));
        assert_eq!(d.get("eth1").unwrap().get("tx_compressed"), Some(99));
    }

    #[test]
    fn a_name_with_a_colon_keeps_the_rest_for_values() {
        // Split on the first ':' only: a value containing ':' is then an error, never a new name.
        let text = format!("{HEADER}  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 1:6\n");
        assert!(parse(&text).is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(&format!("{HEADER}  eth0: 1 2 3\n")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("eth0"), "{e}");
        assert!(parse("  eth0: 1 2\n").is_err(), "data before the header");
        assert!(parse("").is_err(), "no header at all");
        assert!(parse(&format!("{HEADER}  eth0 1 2\n")).is_err());
        assert!(
            parse(&format!("{HEADER}  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n")).is_err()
        );
        assert!(parse(&format!("{HEADER}: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")).is_err());
    }

    #[test]
    fn a_name_with_a_bar_is_a_row() {
        let text = format!("{HEADER}  a|b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
        assert_eq!(parse(&text).unwrap().interfaces[0].name, "a|b");
    }

    #[test]
    fn header_only_is_no_interfaces() {
        assert_eq!(parse(HEADER).unwrap().interfaces.len(), 0);
    }

    #[test]
    fn every_row_of_every_parse_shares_the_column_names() {
        let mut names = Names::default();
        let text = " face |bytes|bytes\n  eth0: 1 2\n  eth1: 3 4\n";
        let (a, b) =
            (parse_sharing(text, &mut names).unwrap(), parse_sharing(text, &mut names).unwrap());
        let keys =
            |d: &NetDev, i: usize| d.interfaces[i].counters.keys().cloned().collect::<Vec<_>>();
        let shared = |x: Vec<Name>, y: Vec<Name>| x.iter().zip(&y).all(|(x, y)| Name::ptr_eq(x, y));
        assert!(shared(keys(&a, 0), keys(&a, 1)), "rows of one parse");
        assert!(shared(keys(&a, 0), keys(&b, 0)), "the next parse");
        // A column added: its row values go by the new header.
        let d = parse_sharing(" face |bytes nohandler|bytes\n  eth0: 1 5 2\n", &mut names).unwrap();
        assert_eq!(keys(&d, 0), ["rx_bytes", "rx_nohandler", "tx_bytes"]);
        assert_eq!(d.get("eth0").unwrap().get("tx_bytes"), Some(2));
    }

    #[test]
    fn serialises_counters_flat_in_the_row() {
        let text = " face |bytes|bytes\n  eth0: 1 2\n";
        let d = parse(text).unwrap();
        let s = serde_json::to_string(&d).unwrap();
        assert_eq!(s, r#"{"interfaces":[{"name":"eth0","rx_bytes":1,"tx_bytes":2}]}"#);
        assert_eq!(serde_json::from_str::<NetDev>(&s).unwrap(), d);
    }
}
