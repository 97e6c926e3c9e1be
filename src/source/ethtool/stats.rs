//! Driver statistics (`ethtool -S`): names from string set ETH_SS_STATS, values from GSTATS.
//!
//! The two arrays come from separate ioctls, and the driver's count can change in between (a
//! channel change or reset adds or removes per-queue counters). Names and values are zipped only
//! when both reads agree on the count; otherwise both are read again, a bounded number of times.

use super::ioctl::{
    ETH_SS_STATS, ETHTOOL_GSTATS, EthtoolSocket, IfName, IoBuf, STATS_DATA_OFF, STATS_N_OFF,
    table_len,
};
use super::strings::{gstrings, sset_count, unique_names};
use super::{MAX_TRIES, cmd_error, why};
use crate::avail::{Avail, Unavailable};
use crate::source::CounterMap;
use crate::source::Name;
use std::io;

/// Why consistent stats could not be collected.
#[derive(Debug, PartialEq)]
pub enum StatsError<E> {
    /// A read failed outright.
    Read(E),
    /// Every try saw the names and values disagree on the count.
    Unstable { tries: usize, names: usize, values: usize },
}

/// Pairs names with values by position, which the uapi defines as the mapping, after making the
/// names unique (see `unique_names`). `None` when the lengths differ: never zip mismatched arrays.
pub fn zip_stats(names: Vec<String>, values: &[u64]) -> Option<CounterMap> {
    if names.len() != values.len() {
        return None;
    }
    Some(unique_names(names).into_iter().map(Name::from).zip(values.iter().copied()).collect())
}

/// The retry loop, with the two kernel reads passed in so it can be tested with crafted inputs.
///
/// `names()` returns the current names, or `None` when the count changed under it. `values(n)`
/// reads the values with room for `n`, returning as many as the driver reported, or `None` when
/// they did not fit. Names are read first; a values read that disagrees with them starts over.
pub fn collect_stats<E>(
    tries: usize,
    mut names: impl FnMut() -> Result<Option<Vec<String>>, E>,
    mut values: impl FnMut(usize) -> Result<Option<Vec<u64>>, E>,
) -> Result<CounterMap, StatsError<E>> {
    let (mut last_names, mut last_values) = (0, 0);
    for _ in 0..tries {
        let Some(n) = names().map_err(StatsError::Read)? else {
            continue;
        };
        last_names = n.len();
        let Some(v) = values(n.len()).map_err(StatsError::Read)? else {
            continue;
        };
        last_values = v.len();
        if let Some(map) = zip_stats(n, &v) {
            return Ok(map);
        }
    }
    Err(StatsError::Unstable { tries, names: last_names, values: last_values })
}

/// GSTATS with room for `expected` values; `Ok(None)` if the driver's count changed so that the
/// answer is unusable (more than fit, or 0 from a kernel that refuses a mismatched count).
fn gstats(sock: &EthtoolSocket, name: &IfName, expected: usize) -> io::Result<Option<Vec<u64>>> {
    gstats_in(sock, name, expected, &mut None)
}

/// As `gstats`, in the buffer kept in `buf` (made or grown to hold `expected` values).
fn gstats_in(
    sock: &EthtoolSocket,
    name: &IfName,
    expected: usize,
    buf: &mut Option<IoBuf>,
) -> io::Result<Option<Vec<u64>>> {
    let len = table_len(STATS_DATA_OFF, expected, 8).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("implausible count {expected}"))
    })?;
    let buf = IoBuf::at_least(buf, len)?;
    buf.put_u32(0, ETHTOOL_GSTATS);
    buf.put_u32(STATS_N_OFF, expected as u32);
    match sock.call_buf(name, buf) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EFAULT) => return Ok(None),
        Err(e) => return Err(e),
    }
    let got = buf.u32_at(STATS_N_OFF).unwrap_or(0) as usize;
    // As for GSTRINGS: recent kernels answer 0 for a mismatched nonzero count.
    if got == 0 && expected != 0 {
        return Ok(None);
    }
    let Some(end) = table_len(STATS_DATA_OFF, got, 8) else { return Ok(None) };
    if end > buf.bytes().len() {
        return Ok(None);
    }
    let values: Option<Vec<u64>> = (0..got).map(|i| buf.u64_at(STATS_DATA_OFF + i * 8)).collect();
    Ok(values)
}

/// `ethtool -S` again for a driver whose statistics `last` holds (named by a full read, `stats`):
/// one GSTATS into the kept buffer `buf`, its values put under the names of `last` in order, the
/// names being what GSTRINGS gave for as many values. When the driver's count is no longer that
/// (another n_stats, or more than the buffer holds: EFAULT) or the ioctl fails, names and values
/// are read afresh as `stats` reads them. Returns whether they were.
pub fn stats_again(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
    last: &mut Avail<CounterMap>,
    buf: &mut Option<IoBuf>,
) -> bool {
    if let Avail::Value(map) = last
        && let Ok(Some(values)) = gstats_in(sock, name, map.len(), buf)
        && values.len() == map.len()
    {
        for (v, now) in map.values_mut().zip(values) {
            *v = now;
        }
        return false;
    }
    *last = stats(sock, name, ifname).into();
    true
}

/// `ethtool -S`: every driver statistic, named exactly as the driver names it, in driver order.
pub fn stats(sock: &EthtoolSocket, name: &IfName, ifname: &str) -> Result<CounterMap, Unavailable> {
    let names = || -> Result<Option<Vec<String>>, Unavailable> {
        let n = sset_count(sock, name, ETH_SS_STATS)
            .map_err(|(c, e)| cmd_error(ifname, c, &e))?
            .ok_or_else(|| {
                Unavailable::new(format!("{ifname}: ETHTOOL_GSTATS"), why::NOT_SUPPORTED)
            })?;
        gstrings(sock, name, ETH_SS_STATS, n).map_err(|(c, e)| cmd_error(ifname, c, &e))
    };
    let values =
        |n: usize| gstats(sock, name, n).map_err(|e| cmd_error(ifname, "ETHTOOL_GSTATS", &e));
    collect_stats(MAX_TRIES, names, values).map_err(|e| match e {
        StatsError::Read(u) => u,
        StatsError::Unstable { tries, names, values } => Unavailable::new(
            format!("{ifname}: ETHTOOL_GSTATS"),
            format!(
                "the driver's statistics count kept changing ({names} names, {values} values \
                 after {tries} tries); try again"
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn zip_requires_equal_lengths() {
        assert_eq!(zip_stats(s(&["a", "b"]), &[1]), None);
        let m = zip_stats(s(&["rx0_drops", "rx0_packets"]), &[3, 4]).unwrap();
        assert_eq!(m["rx0_drops"], 3);
        assert_eq!(m["rx0_packets"], 4);
        let m = zip_stats(s(&["x", "x"]), &[1, 2]).unwrap();
        assert_eq!(m.get_index(1), Some((&Name::from("x#2"), &2)));
    }

    #[test]
    fn count_change_between_reads_is_retried() {
        // First try: 2 names, then the driver grows to 3 values. Second try agrees on 3.
        let name_reads = RefCell::new(vec![s(&["a", "b", "c"]), s(&["a", "b"])]);
        let value_reads = RefCell::new(vec![vec![1, 2, 3], vec![1, 2, 3]]);
        let calls = RefCell::new(Vec::new());
        let got = collect_stats::<()>(
            3,
            || Ok(name_reads.borrow_mut().pop()),
            |n| {
                calls.borrow_mut().push(n);
                Ok(value_reads.borrow_mut().pop())
            },
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got["c"], 3);
        assert_eq!(*calls.borrow(), vec![2, 3]);
    }

    #[test]
    fn overflow_signal_is_retried() {
        let mut first = true;
        let got = collect_stats::<()>(
            3,
            || Ok(Some(s(&["a"]))),
            |_| {
                let r = if first { None } else { Some(vec![9]) };
                first = false;
                Ok(r)
            },
        )
        .unwrap();
        assert_eq!(got["a"], 9);
    }

    #[test]
    fn never_agreeing_gives_up_after_bounded_tries() {
        let mut tries = 0;
        let r = collect_stats::<()>(
            3,
            || {
                tries += 1;
                Ok(Some(s(&["a", "b"])))
            },
            |_| Ok(Some(vec![1, 2, 3])),
        );
        assert_eq!(r, Err(StatsError::Unstable { tries: 3, names: 2, values: 3 }));
        assert_eq!(tries, 3);
    }

    #[test]
    fn read_errors_stop_at_once() {
        let r = collect_stats(3, || Err("EOPNOTSUPP"), |_| Ok(Some(vec![])));
        assert_eq!(r, Err(StatsError::Read("EOPNOTSUPP")));
    }

    #[test]
    fn empty_set_is_an_empty_map() {
        let r = collect_stats::<()>(3, || Ok(Some(vec![])), |_| Ok(Some(vec![]))).unwrap();
        assert!(r.is_empty());
    }
}
