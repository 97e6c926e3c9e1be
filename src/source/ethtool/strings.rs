//! String sets (GSSET_INFO + GSTRINGS) and the pure helpers that turn the kernel's fixed 32-byte
//! slots into names.

use super::ioctl::{
    ETH_GSTRING_LEN, ETHTOOL_GDRVINFO, ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS, EthtoolDrvinfo,
    EthtoolSocket, GSTRINGS_DATA_OFF, GSTRINGS_LEN_OFF, IfName, IoBuf, SSET_DATA_OFF,
    SSET_MASK_OFF, table_len,
};
use super::{MAX_TRIES, cmd_error};
use crate::avail::Unavailable;
use std::collections::HashSet;
use std::io;

/// One kernel string slot as text: cut at the first NUL (slots are NUL-padded, and a name that
/// fills all 32 bytes has none), invalid UTF-8 replaced rather than rejected.
pub fn slot_to_string(slot: &[u8]) -> String {
    let end = slot.iter().position(|&b| b == 0).unwrap_or(slot.len());
    String::from_utf8_lossy(slot.get(..end).unwrap_or(slot)).into_owned()
}

/// Splits GSTRINGS data into at most `count` names of ETH_GSTRING_LEN bytes each. A trailing
/// partial slot is dropped, so the result may be shorter than `count`; callers compare lengths.
pub fn split_strings(data: &[u8], count: usize) -> Vec<String> {
    data.chunks_exact(ETH_GSTRING_LEN).take(count).map(slot_to_string).collect()
}

/// Makes names unique without dropping any entry, deterministically.
///
/// Some drivers repeat a stat name (for example per-queue counters printed without the queue
/// number). The first occurrence keeps its name; the k-th later one becomes `name#k` (k = 2, 3, ...),
/// skipping any `name#k` that the driver itself uses or that was already given out, so a value is
/// never hidden and the same input always yields the same keys.
pub fn unique_names(names: Vec<String>) -> Vec<String> {
    let original: HashSet<String> = names.iter().cloned().collect();
    if original.len() == names.len() {
        return names;
    }
    let mut used: HashSet<String> = HashSet::with_capacity(names.len());
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if used.insert(name.clone()) {
            out.push(name);
            continue;
        }
        let mut k: u64 = 2;
        let unique = loop {
            let candidate = format!("{name}#{k}");
            if !original.contains(&candidate) && !used.contains(&candidate) {
                break candidate;
            }
            k = k.saturating_add(1);
        };
        used.insert(unique.clone());
        out.push(unique);
    }
    out
}

/// How many strings the driver has in `set` (GSSET_INFO): `Ok(None)` when it has no such set.
/// Falls back to GDRVINFO's n_stats / n_priv_flags on kernels without GSSET_INFO (before 2.6.34).
pub fn sset_count(
    sock: &EthtoolSocket,
    name: &IfName,
    set: u32,
) -> Result<Option<usize>, (&'static str, io::Error)> {
    let mut buf = IoBuf::new(SSET_DATA_OFF + 4).map_err(|e| ("ETHTOOL_GSSET_INFO", e))?;
    buf.put_u32(0, ETHTOOL_GSSET_INFO);
    buf.put_u64(SSET_MASK_OFF, 1u64 << set);
    match sock.call_buf(name, &mut buf) {
        Ok(()) => {
            let mask = buf.u64_at(SSET_MASK_OFF).unwrap_or(0);
            if mask & (1u64 << set) == 0 {
                return Ok(None);
            }
            Ok(buf.u32_at(SSET_DATA_OFF).map(|n| n as usize))
        }
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            let mut info = EthtoolDrvinfo { cmd: ETHTOOL_GDRVINFO, ..Default::default() };
            sock.call(name, &mut info).map_err(|e| ("ETHTOOL_GDRVINFO", e))?;
            let n = match set {
                super::ioctl::ETH_SS_STATS => info.n_stats,
                super::ioctl::ETH_SS_PRIV_FLAGS => info.n_priv_flags,
                _ => return Err(("ETHTOOL_GSSET_INFO", e)),
            };
            Ok(if n == 0 { None } else { Some(n as usize) })
        }
        Err(e) => Err(("ETHTOOL_GSSET_INFO", e)),
    }
}

/// GSTRINGS for `set`, sized for `expected` names. `Ok(None)` when the count changed since
/// GSSET_INFO in a way that left no usable answer (more than the buffer holds, or a kernel that
/// refuses a mismatched count): the caller recounts and retries. A different count that fits is
/// returned as read, since it is the driver's current truth.
pub fn gstrings(
    sock: &EthtoolSocket,
    name: &IfName,
    set: u32,
    expected: usize,
) -> Result<Option<Vec<String>>, (&'static str, io::Error)> {
    let what = "ETHTOOL_GSTRINGS";
    let len = table_len(GSTRINGS_DATA_OFF, expected, ETH_GSTRING_LEN).ok_or_else(|| {
        (what, io::Error::new(io::ErrorKind::InvalidData, format!("implausible count {expected}")))
    })?;
    let mut buf = IoBuf::new(len).map_err(|e| (what, e))?;
    buf.put_u32(0, ETHTOOL_GSTRINGS);
    buf.put_u32(4, set);
    buf.put_u32(GSTRINGS_LEN_OFF, expected as u32);
    match sock.call_buf(name, &mut buf) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EFAULT) => return Ok(None),
        Err(e) => return Err((what, e)),
    }
    let got = buf.u32_at(GSTRINGS_LEN_OFF).unwrap_or(0) as usize;
    // Recent kernels (seen on 6.18) answer len 0 and write nothing when a nonzero len differs from
    // the driver's count; older ones (6.12 source) write the driver's count whatever we asked.
    if got == 0 && expected != 0 {
        return Ok(None);
    }
    let Some(end) = table_len(GSTRINGS_DATA_OFF, got, ETH_GSTRING_LEN) else {
        return Ok(None);
    };
    match buf.bytes().get(GSTRINGS_DATA_OFF..end) {
        Some(data) => Ok(Some(split_strings(data, got))),
        None => Ok(None),
    }
}

/// The names of string set `set`, counted and read consistently; `Ok(None)` when the driver has no
/// such set.
pub fn read_set(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
    set: u32,
) -> Result<Option<Vec<String>>, Unavailable> {
    for _ in 0..MAX_TRIES {
        let Some(n) = sset_count(sock, name, set).map_err(|(c, e)| cmd_error(ifname, c, &e))?
        else {
            return Ok(None);
        };
        if let Some(names) =
            gstrings(sock, name, set, n).map_err(|(c, e)| cmd_error(ifname, c, &e))?
        {
            return Ok(Some(names));
        }
    }
    Err(Unavailable::new(
        format!("{ifname}: ETHTOOL_GSTRINGS"),
        format!("the number of strings in set {set} kept changing over {MAX_TRIES} reads"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(s: &[u8]) -> Vec<u8> {
        let mut v = s.to_vec();
        v.resize(ETH_GSTRING_LEN, 0);
        v
    }

    #[test]
    fn splits_nul_padded_slots() {
        let mut data = slot(b"rx0_drops");
        data.extend(slot(b"rx0_packets"));
        data.extend([b'x'; 32]); // a full slot without NUL
        data.extend(slot(b"\xffbad"));
        let names = split_strings(&data, 4);
        assert_eq!(names[0], "rx0_drops");
        assert_eq!(names[1], "rx0_packets");
        assert_eq!(names[2], "x".repeat(32));
        assert_eq!(names[3], "\u{fffd}bad");
    }

    #[test]
    fn split_stops_at_count_and_partial_slots() {
        let mut data = slot(b"a");
        data.extend(slot(b"b"));
        assert_eq!(split_strings(&data, 1), vec!["a"]);
        assert_eq!(split_strings(&data[..40], 5), vec!["a"]);
        assert!(split_strings(&[], 3).is_empty());
    }

    #[test]
    fn text_after_nul_is_ignored() {
        assert_eq!(slot_to_string(b"abc\0junk"), "abc");
        assert_eq!(slot_to_string(b""), "");
    }

    #[test]
    fn duplicates_are_kept_and_renamed_deterministically() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(unique_names(v(&["a", "b"])), v(&["a", "b"]));
        assert_eq!(unique_names(v(&["a", "a", "a"])), v(&["a", "a#2", "a#3"]));
        // The driver's own "a#2" keeps its name; the duplicate skips to a#3.
        assert_eq!(unique_names(v(&["a", "a", "a#2"])), v(&["a", "a#3", "a#2"]));
        assert_eq!(unique_names(v(&["", ""])), v(&["", "#2"]));
    }

    #[test]
    fn a_wrong_count_is_never_taken_for_the_answer() {
        // The features set is generic (~60 names, under a page), so lo has it in any namespace.
        // Older kernels write all names into the page slack (usable as read); 6.18 answers len 0,
        // which must come back as "changed", not as an empty set.
        use super::super::ioctl::ETH_SS_FEATURES;
        let sock = EthtoolSocket::new().unwrap();
        let name = IfName::new("lo").unwrap();
        let n = sset_count(&sock, &name, ETH_SS_FEATURES).unwrap().unwrap();
        if let Some(names) = gstrings(&sock, &name, ETH_SS_FEATURES, 1).unwrap() {
            assert_eq!(names.len(), n);
        }
        let names = gstrings(&sock, &name, ETH_SS_FEATURES, n).unwrap().unwrap();
        assert_eq!(names.len(), n);
        assert_eq!(names[0], "tx-scatter-gather");
        let names = read_set(&sock, &name, "lo", ETH_SS_FEATURES).unwrap().unwrap();
        assert_eq!(names.len(), n);
    }

    proptest::proptest! {
        #[test]
        fn split_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), n in 0usize..20) {
            let names = split_strings(&data, n);
            proptest::prop_assert!(names.len() <= n);
        }

        #[test]
        fn unique_names_keeps_count_and_is_unique(names in proptest::collection::vec("[ab#2]{0,3}", 0..12)) {
            let out = unique_names(names.clone());
            proptest::prop_assert_eq!(out.len(), names.len());
            let set: HashSet<_> = out.iter().collect();
            proptest::prop_assert_eq!(set.len(), out.len());
        }
    }
}
