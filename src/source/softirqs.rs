//! `/proc/softirqs`: per-CPU softirq raise counts (KERNEL.md §3.1).
//!
//! Unlike /proc/interrupts and softnet_stat, the header lists every **possible** CPU, so column i
//! is `cpus[i]` even for offline CPUs. `NET_RX` counts `net_rx_action` raises, not packets. Rows are
//! kept by name in file order (`HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED HRTIMER RCU`;
//! old kernels have `BLOCK_IOPOLL`), so a kernel adding or renaming a type breaks nothing.

use super::interrupts::parse_cpu_header;
use super::{ParseError, push_decimals, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/proc/softirqs";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softirqs {
    /// The CPU ids of the header, in order (possible CPUs).
    pub cpus: Vec<u32>,
    /// Softirq name (`NET_RX`) → counts in header order (`rows[name][i]` belongs to `cpus[i]`).
    /// A row never holds more values than the header has CPUs (more would belong to no CPU and
    /// are dropped); fewer means the row was cut short.
    pub rows: IndexMap<String, Vec<u64>>,
}

impl Softirqs {
    /// The count of softirq `name` on CPU `cpu` (by id, not by column).
    pub fn get(&self, name: &str, cpu: u32) -> Option<u64> {
        let col = self.cpus.iter().position(|&c| c == cpu)?;
        self.rows.get(name)?.get(col).copied()
    }
}

pub fn parse(text: &str) -> Result<Softirqs, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let cpus = match lines.next() {
        Some((i, header)) => parse_cpu_header(header, i + 1, PATH)?,
        None => return Err(ParseError::new(0, "/proc/softirqs is empty (no CPU header)")),
    };
    let mut rows = IndexMap::new();
    for (i, line) in lines {
        let lineno = i + 1;
        let (name, values) = line.split_once(':').ok_or_else(|| {
            ParseError::new(lineno, format!("{PATH}: no `NAME:` in {:?}", line.trim()))
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::new(lineno, format!("{PATH}: empty softirq name")));
        }
        let mut counts = Vec::with_capacity(cpus.len());
        if let Err(tok) = push_decimals(values, &mut counts, cpus.len()) {
            return Err(ParseError::new(lineno, format!("{PATH}: {name}: {tok:?} is not a count")));
        }
        rows.insert(name.to_string(), counts);
    }
    Ok(Softirqs { cpus, rows })
}

pub fn read(root: &Root) -> Avail<Softirqs> {
    read_parsed(root, PATH, parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_header_ids() {
        let s = parse("   CPU0 CPU2\n  NET_RX:  5  7\n   HI: 1 2 3\n").unwrap();
        assert_eq!(s.cpus, vec![0, 2]);
        assert_eq!(s.get("NET_RX", 2), Some(7));
        assert_eq!(s.get("NET_RX", 1), None);
        assert_eq!(s.rows["HI"], vec![1, 2]);
    }

    #[test]
    fn errors() {
        assert!(parse("").is_err());
        assert!(parse("HI: 1\n").is_err());
        let e = parse(" CPU0\n NET_RX: x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse(" CPU0\n NET_RX 1\n").is_err());
        assert!(parse(" CPU0\n NET_RX: +1\n").is_err());
        let e = parse(" CPU0 CPU1\n NET_RX: 1 2x\n").unwrap_err();
        assert!(e.to_string().contains("NET_RX: \"2x\" is not a count"), "{e}");
    }

    #[test]
    fn short_row_and_unknown_name_are_kept() {
        let s = parse(" CPU0 CPU1\nNEW_SOFTIRQ: 4\n").unwrap();
        assert_eq!(s.rows["NEW_SOFTIRQ"], vec![4]);
    }
}
