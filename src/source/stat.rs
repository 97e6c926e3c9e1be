//! `/proc/stat`: CPU time per state, for the share of CPU spent in softirq (and the `softirq`
//! totals line).
//!
//! `cpu` lines carry USER_HZ ticks (100 per second on every common architecture; the reader does
//! not convert). The field count grew with the kernel: 4 (user nice system idle, 2.4), 7 (+ iowait
//! irq softirq, 2.6), 8 (+ steal, 2.6.11), 9 (+ guest, 2.6.24), 10 (+ guest_nice, 2.6.33). Per-CPU
//! lines exist for online CPUs only, so the id comes from the label (`cpu7`), never the position.
//!
//! The `intr` line (`intr <total> <IRQ 0> <IRQ 1> ...`, one count per IRQ number up to `nr_irqs`,
//! each summed over all CPUs) is parsed apart from `Stat` (`Intr`): a big host has thousands of
//! them, which a Sample does not carry; a `Sampler` compares them between samples instead.

use super::{ParseError, dec_u64, fields, push_decimals, read_parsed};
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

/// The `intr` line: the count of every IRQ number since boot, summed over all CPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct Intr {
    /// All interrupts, the architecture's own (timer, IPIs...) included.
    pub total: u64,
    /// By IRQ number. Each is the kernel's `unsigned int` sum (kstat_irqs_usr): it wraps at 2^32,
    /// so it tells whether an IRQ fired between two reads, not how often (per_cpu_count does).
    pub irqs: Vec<u64>,
}

impl Intr {
    /// The count of IRQ `irq`; `None` past the end of the line.
    pub fn of(&self, irq: u32) -> Option<u64> {
        self.irqs.get(irq as usize).copied()
    }
}

pub fn parse(text: &str) -> Result<Stat, ParseError> {
    parse_with_intr(text).map(|(stat, _)| stat)
}

/// `parse`, and the `intr` line when there is one that parses (every 2.6+ kernel prints it). A bad
/// `intr` line is `None`, not an error: it is not part of the `Stat`.
pub fn parse_with_intr(text: &str) -> Result<(Stat, Option<Intr>), ParseError> {
    let mut total = None;
    let mut cpus = Vec::new();
    let mut softirq = None;
    let mut intr = None;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut toks = fields(line);
        let Some(label) = toks.next() else { continue };
        if label == "softirq" {
            softirq = Some(parse_values(toks.rest(), lineno, label)?);
            continue;
        }
        if label == "intr" {
            intr = parse_intr(toks.rest());
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
        let v = parse_values(toks.rest(), lineno, label)?;
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
    Ok((Stat { total, cpus, softirq }, intr))
}

/// `<total> <IRQ 0> <IRQ 1> ...` after the label: thousands of counts on a big host, read every
/// sample by a Sampler, through the shared splitter and number parser.
fn parse_intr(rest: &str) -> Option<Intr> {
    let mut toks = fields(rest);
    let total = dec_u64(toks.next()?)?;
    let mut irqs = Vec::new();
    push_decimals(toks.rest(), &mut irqs, usize::MAX).ok()?;
    Some(Intr { total, irqs })
}

fn parse_values(rest: &str, lineno: usize, label: &str) -> Result<Vec<u64>, ParseError> {
    let mut v = Vec::with_capacity(10);
    match push_decimals(rest, &mut v, usize::MAX) {
        Ok(()) => Ok(v),
        Err(t) => {
            Err(ParseError::new(lineno, format!("{PATH}: {label}: {t:?} is not a tick count")))
        }
    }
}

pub fn read(root: &Root) -> Avail<Stat> {
    read_parsed(root, PATH, parse)
}

/// `read`, and the `intr` line (`None` when the file or the line cannot be read).
pub fn read_with_intr(root: &Root) -> (Avail<Stat>, Option<Intr>) {
    match read_parsed(root, PATH, parse_with_intr) {
        Avail::Value((stat, intr)) => (Avail::Value(stat), intr),
        Avail::Unavailable(u) => (Avail::Unavailable(u), None),
    }
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
        let e = parse("cpu 1 2 3 4\nsoftirq 1 -2\n").unwrap_err();
        assert!(e.to_string().contains("softirq: \"-2\" is not a tick count"), "{e}");
        let s = parse("cpufreq whatever\ncpu 1 2 3 4\nintr 5 6\nbtime 7\n").unwrap();
        assert!(s.cpus.is_empty());
        assert_eq!(s.total.idle, 4);
    }

    #[test]
    fn intr_line_by_irq_number() {
        let (s, intr) = parse_with_intr("cpu 1 2 3 4\nintr 4294967310 0 7 0 4294967295\n").unwrap();
        assert_eq!(s.total.idle, 4);
        let intr = intr.unwrap();
        assert_eq!(intr.total, 4_294_967_310);
        assert_eq!((intr.of(0), intr.of(1), intr.of(3)), (Some(0), Some(7), Some(4_294_967_295)));
        assert_eq!(intr.of(4), None, "past nr_irqs");
        // Only the total (no IRQ numbers at all) is a line of no IRQs.
        assert_eq!(
            parse_with_intr("cpu 1 2 3 4\nintr 9\n").unwrap().1.unwrap().irqs,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn a_missing_or_bad_intr_line_is_none_and_the_stat_stays() {
        for text in ["cpu 1 2 3 4\n", "cpu 1 2 3 4\nintr\n", "cpu 1 2 3 4\nintr 5 1 x 2\n"] {
            let (s, intr) = parse_with_intr(text).unwrap();
            assert_eq!((s.total.user, intr), (1, None), "{text:?}");
        }
        for bad in ["intr 5 -1", "intr 5 1,2", "intr 5 18446744073709551616"] {
            assert_eq!(parse_with_intr(&format!("cpu 1 2 3 4\n{bad}\n")).unwrap().1, None, "{bad}");
        }
    }
}
