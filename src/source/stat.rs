//! `/proc/stat`: CPU time per state, for the share of CPU spent in softirq (and the `softirq`
//! totals line).
//!
//! `cpu` lines carry USER_HZ ticks (100 per second on every common architecture; the reader does
//! not convert). The field count grew with the kernel: 4 (user nice system idle, 2.4), 7 (+ iowait
//! irq softirq, 2.6), 8 (+ steal, 2.6.11), 9 (+ guest, 2.6.24), 10 (+ guest_nice, 2.6.33). Per-CPU
//! lines exist for online CPUs only, so the id comes from the label (`cpu7`), never the position.

use super::{ParseError, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/proc/stat";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// The aggregate `cpu` line.
    pub total: CpuTime,
    /// `cpuN` lines in file order.
    pub cpus: Vec<CpuTime>,
    /// The `softirq` line: the total, then one count per softirq type in /proc/softirqs order
    /// (HI TIMER NET_TX NET_RX …). Absent before 2.6.31.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softirq: Option<Vec<u64>>,
}

/// CPU time in USER_HZ ticks. Fields a kernel does not print are `None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuTime {
    /// The CPU id from the label; `None` for the aggregate `cpu` line.
    pub cpu: Option<u32>,
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iowait: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softirq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_nice: Option<u64>,
}

impl CpuTime {
    /// All time spent, the base of a share such as softirq%. guest and guest_nice are already
    /// inside user and nice (the kernel counts them twice), so they are left out.
    pub fn total(&self) -> u64 {
        [self.iowait, self.irq, self.softirq, self.steal]
            .iter()
            .flatten()
            .fold(self.user.saturating_add(self.nice), |a, b| a.saturating_add(*b))
            .saturating_add(self.system)
            .saturating_add(self.idle)
    }
}

pub fn parse(text: &str) -> Result<Stat, ParseError> {
    let mut total = None;
    let mut cpus = Vec::new();
    let mut softirq = None;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut toks = line.split_ascii_whitespace();
        let Some(label) = toks.next() else { continue };
        if label == "softirq" {
            softirq = Some(parse_values(toks, lineno, label)?);
            continue;
        }
        let Some(id) = label.strip_prefix("cpu") else { continue };
        let cpu = if id.is_empty() {
            None
        } else if id.bytes().all(|b| b.is_ascii_digit()) {
            Some(id.parse::<u32>().map_err(|_| {
                ParseError::new(lineno, format!("{PATH}: CPU id in {label:?} out of range"))
            })?)
        } else {
            continue;
        };
        let v = parse_values(toks, lineno, label)?;
        let Some(&[user, nice, system, idle]) = v.get(..4) else {
            return Err(ParseError::new(
                lineno,
                format!("{PATH}: {label} has {} fields, every kernel prints at least 4", v.len()),
            ));
        };
        let f = |n: usize| v.get(n).copied();
        let t = CpuTime {
            cpu,
            user,
            nice,
            system,
            idle,
            iowait: f(4),
            irq: f(5),
            softirq: f(6),
            steal: f(7),
            guest: f(8),
            guest_nice: f(9),
        };
        match cpu {
            None => total = Some(t),
            Some(_) => cpus.push(t),
        }
    }
    let total =
        total.ok_or_else(|| ParseError::new(0, format!("{PATH}: no aggregate `cpu` line")))?;
    Ok(Stat { total, cpus, softirq })
}

fn parse_values<'a>(
    toks: impl Iterator<Item = &'a str>,
    lineno: usize,
    label: &str,
) -> Result<Vec<u64>, ParseError> {
    toks.map(|t| {
        t.parse::<u64>().ok().filter(|_| t.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| {
            ParseError::new(lineno, format!("{PATH}: {label}: {t:?} is not a tick count"))
        })
    })
    .collect()
}

pub fn read(root: &Root) -> Avail<Stat> {
    read_parsed(root, PATH, parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_count() {
        for n in [4usize, 7, 8, 9, 10] {
            let vals: Vec<String> = (1..=n).map(|v| v.to_string()).collect();
            let text = format!("cpu  {}\ncpu3 {}\n", vals.join(" "), vals.join(" "));
            let s = parse(&text).unwrap();
            assert_eq!(s.total.cpu, None);
            assert_eq!(s.cpus[0].cpu, Some(3));
            let t = &s.total;
            assert_eq!((t.user, t.nice, t.system, t.idle), (1, 2, 3, 4));
            assert_eq!(t.iowait, (n >= 5).then_some(5));
            assert_eq!(t.softirq, (n >= 7).then_some(7));
            assert_eq!(t.steal, (n >= 8).then_some(8));
            assert_eq!(t.guest, (n >= 9).then_some(9));
            assert_eq!(t.guest_nice, (n >= 10).then_some(10));
            assert_eq!(s.softirq, None);
        }
    }

    #[test]
    fn errors_and_ignored_lines() {
        assert!(parse("").is_err());
        assert!(parse("cpu0 1 2 3 4\n").is_err());
        let e = parse("cpu  1 2 3\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse("cpu 1 2 3 x\n").is_err());
        assert!(parse("cpu 1 2 3 4\nsoftirq 1 -2\n").is_err());
        let s = parse("cpufreq whatever\ncpu 1 2 3 4\nintr 5 6\nbtime 7\n").unwrap();
        assert!(s.cpus.is_empty());
        assert_eq!(s.total.idle, 4);
    }
}
