//! `/proc/net/packet`: the AF_PACKET sockets of one network namespace: taps such as tcpdump,
//! DHCP clients or LLDP daemons. An `ETH_P_ALL` socket gets a copy of **every** packet on its
//! interface (or on all interfaces with `Iface` 0), which costs CPU on the receive path.
//!
//! ```text
//! sk               RefCnt Type Proto  Iface R Rmem   User   Inode
//! 00000000b56ef210 3      3    0003   0     1 0      0      8575
//! ```
//! net/packet/af_packet.c `packet_seq_show`: `"%pK %-6d %-4d %04x   %-5d %1d %-6u %-6u %-6lu\n"` of
//! the socket, `sk_refcnt`, `sk_type`, `ntohs(po->num)` (the ethertype, hex), `po->ifindex`, the
//! running flag, `sk_rmem_alloc`, the owner uid and the inode. Columns are found by header name.

use super::{ParseError, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/proc/net/packet";

/// One AF_PACKET socket. JSON keys are the header's own words (`Type`, `Proto`, `Iface`, `R`,
/// `Rmem`, `User`, `Inode`); the other columns (`sk`, `RefCnt`, and any a newer kernel adds) are
/// kept as text under their header names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PacketSocket {
    /// `SOCK_RAW` (3) or `SOCK_DGRAM` (2).
    #[serde(rename = "Type")]
    pub type_: u16,
    /// The ethertype bound, host order (`0x0003` = ETH_P_ALL: every packet; 0 = none yet).
    #[serde(rename = "Proto")]
    pub proto: u16,
    /// The ifindex bound to; 0 = all interfaces.
    #[serde(rename = "Iface")]
    pub iface: u32,
    /// True while the socket is hooked into the receive path (the `R` column).
    #[serde(rename = "R")]
    pub running: bool,
    /// Bytes charged to the receive queue.
    #[serde(rename = "Rmem")]
    pub rmem: u64,
    #[serde(rename = "User")]
    pub user: u32,
    #[serde(rename = "Inode")]
    pub inode: u64,
    #[serde(flatten)]
    pub other: IndexMap<String, String>,
}

const REQUIRED: [&str; 7] = ["Type", "Proto", "Iface", "R", "Rmem", "User", "Inode"];

/// Parses `/proc/net/packet`. The first non-blank line is the header; every row must have as many
/// fields as the header has names.
pub fn parse(text: &str) -> Result<Vec<PacketSocket>, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(ParseError::new(0, "empty file: no header line"));
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    let mut index = [0usize; REQUIRED.len()];
    for (slot, want) in index.iter_mut().zip(REQUIRED) {
        *slot = names.iter().position(|n| *n == want).ok_or_else(|| {
            ParseError::new(1, format!("header has no {want:?} column: {header:?}"))
        })?;
    }
    let [i_type, i_proto, i_iface, i_r, i_rmem, i_user, i_inode] = index;
    let mut sockets = Vec::new();
    for (idx, line) in lines {
        let lineno = idx + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != names.len() {
            return Err(ParseError::new(
                lineno,
                format!("{} fields but the header names {}: {line:?}", fields.len(), names.len()),
            ));
        }
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        let bad = |col: &str, i: usize| {
            ParseError::new(lineno, format!("bad {col} {:?}: {line:?}", field(i)))
        };
        let running: u8 = field(i_r).parse().map_err(|_| bad("R", i_r))?;
        let mut other = IndexMap::new();
        for (i, name) in names.iter().enumerate() {
            if !index.contains(&i) {
                other.insert(name.to_string(), field(i).to_string());
            }
        }
        sockets.push(PacketSocket {
            type_: field(i_type).parse().map_err(|_| bad("Type", i_type))?,
            proto: u16::from_str_radix(field(i_proto), 16).map_err(|_| bad("Proto", i_proto))?,
            iface: field(i_iface).parse().map_err(|_| bad("Iface", i_iface))?,
            running: running != 0,
            rmem: field(i_rmem).parse().map_err(|_| bad("Rmem", i_rmem))?,
            user: field(i_user).parse().map_err(|_| bad("User", i_user))?,
            inode: field(i_inode).parse().map_err(|_| bad("Inode", i_inode))?,
            other,
        });
    }
    Ok(sockets)
}

/// Reads `/proc/net/packet` of the reader's network namespace (absent without CONFIG_PACKET).
pub fn read(root: &Root) -> Avail<Vec<PacketSocket>> {
    read_parsed(root, PATH, parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n00000000b56ef210 3      3    0003   0     1 0      0      8575  \n000000009c4c5809 3      2    88cc   1     1 2304   1000   8576  \n";

    #[test]
    fn rows_by_header_name() {
        let v = parse(LIVE).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].type_, v[0].proto, v[0].iface, v[0].running, v[0].rmem, v[0].user, v[0].inode),
            (3, 0x0003, 0, true, 0, 0, 8575)
        );
        assert_eq!(v[0].other["sk"], "00000000b56ef210");
        assert_eq!(v[0].other["RefCnt"], "3");
        assert_eq!(
            (v[1].type_, v[1].proto, v[1].iface, v[1].rmem, v[1].user),
            (2, 0x88cc, 1, 2304, 1000)
        );
    }

    #[test]
    fn reordered_and_unknown_columns() {
        let t = "Inode Proto Type Iface R Rmem User New\n9 0800 3 2 0 0 0 x\n";
        let v = parse(t).unwrap();
        assert_eq!((v[0].inode, v[0].proto, v[0].type_, v[0].running), (9, 0x0800, 3, false));
        assert_eq!(v[0].other["New"], "x");
    }

    #[test]
    fn old_header_spacing_and_no_rows() {
        // 2.6.x printed "User  Inode" (one space less); names still split.
        assert!(
            parse("sk       RefCnt Type Proto  Iface R Rmem   User  Inode\n").unwrap().is_empty()
        );
    }

    #[test]
    fn broken_input_is_an_error() {
        assert!(parse("").is_err());
        assert!(parse("sk RefCnt Type Proto Iface R Rmem User\n").is_err(), "no Inode column");
        assert_eq!(
            parse("sk RefCnt Type Proto Iface R Rmem User Inode\n0 3 3 0003 0 1 0 0\n")
                .unwrap_err()
                .line,
            2
        );
        assert!(
            parse("sk RefCnt Type Proto Iface R Rmem User Inode\n0 3 3 zz 0 1 0 0 1\n").is_err()
        );
        assert!(
            parse("sk RefCnt Type Proto Iface R Rmem User Inode\n0 3 3 10003 0 1 0 0 1\n").is_err()
        );
        assert!(
            parse("sk RefCnt Type Proto Iface R Rmem User Inode\n0 3 3 0003 -1 1 0 0 1\n").is_err()
        );
    }

    #[test]
    fn json_uses_header_names() {
        let v = parse(LIVE).unwrap();
        let j = serde_json::to_value(&v[1]).unwrap();
        assert_eq!(j["Proto"], 0x88cc);
        assert_eq!(j["R"], true);
        assert_eq!(j["Inode"], 8576);
        assert_eq!(j["RefCnt"], "3");
        assert_eq!(serde_json::from_value::<PacketSocket>(j).unwrap(), v[1]);
    }
}
