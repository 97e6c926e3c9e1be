//! `/proc/interrupts`: per-CPU hard IRQ counts (KERNEL.md §2.1).
//!
//! The header names the **online** CPUs (`CPU0 CPU1 CPU3 …`; offline ones are missing). Each row is
//! a label (`38:`, `NMI:`, `IPI0:`, `ERR:`), up to one count per header CPU, then free text. Counts
//! wider than the `%10u` field break the column alignment, and labels can be glued to the first
//! value (`IPI0:2768808080`), so rows are read token by token, never by column offset: up to
//! header-many leading integers are counts, the first non-integer starts the text.
//!
//! For numbered IRQs the text holds chip, hwirq, trigger and action names in a format that changed
//! many times; they are split out best effort (the authoritative values are in /sys/kernel/irq/N/).

use super::{ParseError, read_parsed};
use crate::avail::Avail;
use crate::root::Root;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub const PATH: &str = "/proc/interrupts";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interrupts {
    /// The CPU ids of the header, in order (online CPUs); the possible CPUs when the rows come from
    /// `per_cpu_count` (see `partial`).
    pub cpus: Vec<u32>,
    pub rows: Vec<IrqRow>,
    /// Absent for the whole of /proc/interrupts. Set when only some IRQs were read, saying which
    /// and from where: a `Sampler` reads the NIC IRQs' `/sys/kernel/irq/N/per_cpu_count` (their
    /// rows then carry counts only), as nothing else of the 11 MB a 512-CPU host prints is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IrqRow {
    /// The label without its colon: `38`, `NMI`, `IPI0`, `ERR`, `I/O`.
    pub irq: String,
    /// One count per header CPU, in header order (`counts[i]` belongs to `cpus[i]`); fewer when the
    /// row has fewer (`FIQ:` has none). **Empty for the one-value rows `ERR`, `MIS`, `Err`**, whose
    /// value is a system-wide total, not a count of the first CPU: it is in `total`.
    pub counts: Counts,
    /// Sum of `counts` (saturating), or the single value of an `ERR`/`MIS`/`Err` row.
    pub total: u64,
    /// Integers after the header-many counts on a named row. MT6589 (3.4) prints IPI counts for all
    /// four cores while its header lists only the one online CPU: those values belong to CPUs not
    /// in the header, so they are kept here and neither in `counts` nor in `total`. Always empty
    /// for numbered IRQs (what follows their counts is chip text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_counts: Vec<u64>,
    /// The free-text tail as printed, trimmed (`IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]`,
    /// `Local timer interrupts`, empty for s390x `EXT:`).
    pub text: String,
    /// Interrupt chip (`IO-APIC`, `PCI-MSIX-0000:00:03.0`, `GICv3`, `ITS-MSI`); numbered IRQs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<String>,
    /// Hardware IRQ number in the chip's domain, as printed (decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwirq: Option<String>,
    /// `Level`/`Edge` (ARM, `CONFIG_GENERIC_IRQ_SHOW_LEVEL`) or else the flow handler name printed
    /// after a `-` (`edge`, `fasteoi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Action (handler) names; several on a shared IRQ. Empty when the IRQ has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

/// One row's per-CPU counts. A NIC IRQ fires on the one or few CPUs its affinity names, so on a
/// 512-CPU host its row is mostly zeros, and 260 such rows a sample are 1 MB that parsing would
/// write and a delta stream through to find the CPU that moved: a row that is mostly zeros is held
/// as its nonzero counts only. How a row is held is not seen from outside: equality, the accessors
/// and serde (a JSON array of every count) give the same counts either way.
#[derive(Clone, Default)]
pub struct Counts(Repr);

#[derive(Clone)]
enum Repr {
    Dense(Vec<u64>),
    /// The number of counts, and the nonzero ones by column, ascending (never a zero: equal rows
    /// hold equal pairs).
    Sparse(usize, Vec<(usize, u64)>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Sparse(0, Vec::new())
    }
}

/// Whether a row with `nonzero` of `len` counts not zero is held sparse: when at most 1 in 8 is.
/// A delta then merges no more entries than the dense compare takes blocks of 8 columns, and the
/// row (16 bytes an entry against 8 a column) takes at most a quarter of the room.
fn sparse_suits(nonzero: usize, len: usize) -> bool {
    nonzero <= len / 8
}

impl Counts {
    /// `len` zeros, without room taken for them.
    pub fn zeros(len: usize) -> Counts {
        Counts(Repr::Sparse(len, Vec::new()))
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Dense(v) => v.len(),
            Repr::Sparse(len, _) => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The count of column `i`, None past the row's end.
    pub fn get(&self, i: usize) -> Option<u64> {
        match &self.0 {
            Repr::Dense(v) => v.get(i).copied(),
            Repr::Sparse(len, nz) if i < *len => {
                Some(nz.binary_search_by_key(&i, |(c, _)| *c).map_or(0, |k| nz[k].1))
            }
            Repr::Sparse(..) => None,
        }
    }

    /// Every count, in column order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (dense, len, mut nonzero): (&[u64], usize, &[(usize, u64)]) = match &self.0 {
            Repr::Dense(v) => (v, 0, &[]),
            Repr::Sparse(len, nz) => (&[], *len, nz),
        };
        let sparse = (0..len).map(move |i| match nonzero.split_first() {
            Some((&(c, v), rest)) if c == i => {
                nonzero = rest;
                v
            }
            _ => 0,
        });
        dense.iter().copied().chain(sparse)
    }

    /// The counts that are not zero, with their column, ascending.
    pub fn nonzero(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let (dense, sparse): (&[u64], &[(usize, u64)]) = match &self.0 {
            Repr::Dense(v) => (v, &[]),
            Repr::Sparse(_, nz) => (&[], nz),
        };
        dense.iter().copied().enumerate().filter(|(_, c)| *c != 0).chain(sparse.iter().copied())
    }

    pub fn to_vec(&self) -> Vec<u64> {
        match &self.0 {
            Repr::Dense(v) => v.clone(),
            Repr::Sparse(..) => self.iter().collect(),
        }
    }

    /// The counts as one slice, when the row is held whole.
    pub(crate) fn dense(&self) -> Option<&[u64]> {
        match &self.0 {
            Repr::Dense(v) => Some(v),
            Repr::Sparse(..) => None,
        }
    }

    /// Appends a count, for a parser building a row from `Counts::default()` (then `settled`).
    pub(crate) fn push(&mut self, count: u64) {
        match &mut self.0 {
            Repr::Dense(v) => v.push(count),
            Repr::Sparse(len, nz) => {
                if count != 0 {
                    nz.push((*len, count));
                }
                *len += 1;
                // Dense already: go on in the form it will most likely end in, rather than
                // collect every count as a pair and spread them out at the end.
                if *len >= DENSE_AFTER && !sparse_suits(nz.len(), *len) {
                    let mut v = vec![0; *len];
                    nz.iter().for_each(|&(c, n)| v[c] = n);
                    v.reserve(*len);
                    self.0 = Repr::Dense(v);
                }
            }
        }
    }

    pub(crate) fn push_zeros(&mut self, n: usize) {
        match &mut self.0 {
            Repr::Dense(v) => v.resize(v.len() + n, 0),
            Repr::Sparse(len, _) => *len += n,
        }
    }

    /// The same counts, held as their density says.
    pub(crate) fn settled(self) -> Counts {
        match self.0 {
            Repr::Dense(v) => {
                let nonzero = v.iter().filter(|c| **c != 0).take(v.len() / 8 + 1).count();
                if !sparse_suits(nonzero, v.len()) {
                    return Counts(Repr::Dense(v));
                }
                let nz = v.iter().copied().enumerate().filter(|(_, c)| *c != 0).collect();
                Counts(Repr::Sparse(v.len(), nz))
            }
            Repr::Sparse(len, nz) if !sparse_suits(nz.len(), len) => {
                let mut v = vec![0; len];
                nz.into_iter().for_each(|(c, n)| v[c] = n);
                Counts(Repr::Dense(v))
            }
            r @ Repr::Sparse(..) => Counts(r),
        }
    }
}

#[cfg(test)]
impl Counts {
    /// `counts` held as asked, whatever their density: tests of either form.
    pub(crate) fn held(counts: Vec<u64>, sparse: bool) -> Counts {
        if !sparse {
            return Counts(Repr::Dense(counts));
        }
        let nz = counts.iter().copied().enumerate().filter(|(_, c)| *c != 0).collect();
        Counts(Repr::Sparse(counts.len(), nz))
    }

    pub(crate) fn is_sparse(&self) -> bool {
        matches!(self.0, Repr::Sparse(..))
    }
}

/// Columns a row is read as pairs before `push` judges it dense: fewer say little of the rest.
const DENSE_AFTER: usize = 64;

impl From<Vec<u64>> for Counts {
    fn from(v: Vec<u64>) -> Counts {
        Counts(Repr::Dense(v)).settled()
    }
}

impl PartialEq for Counts {
    fn eq(&self, other: &Counts) -> bool {
        match (&self.0, &other.0) {
            (Repr::Dense(a), Repr::Dense(b)) => a == b,
            (Repr::Sparse(n, a), Repr::Sparse(m, b)) => n == m && a == b,
            _ => self.len() == other.len() && self.iter().eq(other.iter()),
        }
    }
}

impl Eq for Counts {}

impl PartialEq<[u64]> for Counts {
    fn eq(&self, other: &[u64]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl PartialEq<Vec<u64>> for Counts {
    fn eq(&self, other: &Vec<u64>) -> bool {
        *self == **other
    }
}

impl std::ops::Index<usize> for Counts {
    type Output = u64;

    fn index(&self, i: usize) -> &u64 {
        match &self.0 {
            Repr::Dense(v) => &v[i],
            Repr::Sparse(len, nz) => {
                assert!(i < *len, "column {i} of a row of {len} counts");
                nz.binary_search_by_key(&i, |(c, _)| *c).map_or(&0, |k| &nz[k].1)
            }
        }
    }
}

impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Counts, D::Error> {
        Vec::deserialize(d).map(Counts::from)
    }
}

impl IrqRow {
    /// True for a numbered (hardware) IRQ, false for arch rows like `NMI`, `LOC`, `IPI0`.
    pub fn is_numbered(&self) -> bool {
        is_number(&self.irq)
    }
}

/// Parses /proc/interrupts text. Linear in the input; one allocation per row besides its counts.
pub fn parse(text: &str) -> Result<Interrupts, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let cpus = match lines.next() {
        Some((i, header)) => parse_cpu_header(header, i + 1, "/proc/interrupts")?,
        None => return Err(ParseError::new(0, "/proc/interrupts is empty (no CPU header)")),
    };
    let ncpus = cpus.len();
    let mut rows = Vec::new();
    for (i, line) in lines {
        rows.push(parse_row(line, i + 1, ncpus)?);
    }
    Ok(Interrupts { cpus, rows, partial: None })
}

/// Parses a `CPU0 CPU1 …` header (shared with /proc/softirqs).
pub(crate) fn parse_cpu_header(
    line: &str,
    lineno: usize,
    file: &str,
) -> Result<Vec<u32>, ParseError> {
    let mut cpus = Vec::new();
    for tok in line.split_ascii_whitespace() {
        let id = tok
            .strip_prefix("CPU")
            .filter(|d| is_number(d))
            .and_then(|d| d.parse::<u32>().ok())
            .ok_or_else(|| {
                ParseError::new(lineno, format!("{file}: header token {tok:?} is not CPU<n>"))
            })?;
        cpus.push(id);
    }
    if cpus.is_empty() {
        return Err(ParseError::new(lineno, format!("{file}: header names no CPU")));
    }
    Ok(cpus)
}

fn parse_row(line: &str, lineno: usize, ncpus: usize) -> Result<IrqRow, ParseError> {
    let (label, rest) = line.split_once(':').ok_or_else(|| {
        ParseError::new(lineno, format!("/proc/interrupts: no `label:` in {:?}", short(line)))
    })?;
    let irq = label.trim();
    if irq.is_empty() {
        return Err(ParseError::new(lineno, "/proc/interrupts: empty row label"));
    }
    let numbered = is_number(irq);
    // x86 ERR/MIS and ARM Err print one system-wide value, not one per CPU.
    let single = !numbered && matches!(irq, "ERR" | "MIS" | "Err");

    let mut cur = Cursor::new(rest);
    let mut counts = Vec::new();
    let mut extra_counts = Vec::new();
    let mut total: u64 = 0;
    if single {
        if let Some(v) = cur.take_integer() {
            total = v;
        }
    } else {
        counts.reserve_exact(ncpus);
        while counts.len() < ncpus {
            match cur.take_integer() {
                Some(v) => {
                    total = total.saturating_add(v);
                    counts.push(v);
                }
                None => break,
            }
        }
        if !numbered && counts.len() == ncpus {
            while let Some(v) = cur.take_integer() {
                extra_counts.push(v);
            }
        }
    }
    let tail = cur.rest().trim();
    let mut row = IrqRow {
        irq: irq.to_string(),
        counts: counts.into(),
        total,
        extra_counts,
        text: tail.to_string(),
        chip: None,
        hwirq: None,
        trigger: None,
        actions: Vec::new(),
    };
    if numbered {
        split_tail(tail, &mut row);
    }
    Ok(row)
}

/// Walks a row token by token, remembering where the unread text starts.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    /// The next whitespace-separated token and its start, without consuming it.
    fn peek(&self) -> Option<(usize, &'a str)> {
        let rest = self.s.get(self.pos..)?;
        let start = self.pos + (rest.len() - rest.trim_start().len());
        let tok_rest = self.s.get(start..)?;
        let end = tok_rest.find(|c: char| c.is_whitespace()).unwrap_or(tok_rest.len());
        let tok = tok_rest.get(..end)?;
        if tok.is_empty() { None } else { Some((start, tok)) }
    }

    fn advance_past(&mut self, start: usize, tok: &str) {
        self.pos = start + tok.len();
    }

    /// Consumes the next token if it is a whole unsigned integer.
    fn take_integer(&mut self) -> Option<u64> {
        // A 512-CPU host prints a million counts per read: scan bytes, and take the general
        // path only around non-ASCII text (where Unicode whitespace could separate tokens).
        match self.take_ascii_integer() {
            Ok(v) => v,
            Err(NotAscii) => self.take_integer_slow(),
        }
    }

    /// `take_integer` for ASCII text; `Err` when a byte that decides the answer is not ASCII.
    fn take_ascii_integer(&mut self) -> Result<Option<u64>, NotAscii> {
        let b = self.s.as_bytes();
        let mut i = self.pos;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii() {
                return Err(NotAscii);
            }
            if !is_ascii_space(c) {
                break;
            }
            i += 1;
        }
        let start = i;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))) {
                Some(n) => v = n,
                // Wider than u64: not a count (as `str::parse` says), and not consumed.
                None => return Ok(None),
            }
            i += 1;
        }
        match b.get(i) {
            _ if i == start => Ok(None),
            Some(&c) if !c.is_ascii() => Err(NotAscii),
            Some(&c) if !is_ascii_space(c) => Ok(None),
            _ => {
                self.pos = i;
                Ok(Some(v))
            }
        }
    }

    fn take_integer_slow(&mut self) -> Option<u64> {
        let (start, tok) = self.peek()?;
        if !is_number(tok) {
            return None;
        }
        let v = tok.parse().ok()?;
        self.advance_past(start, tok);
        Some(v)
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
}

struct NotAscii;

/// `char::is_whitespace` for an ASCII byte (which, unlike `u8::is_ascii_whitespace`, includes
/// the vertical tab).
fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Flow handler names (`desc->name`) that old kernels glue to the chip name: `IO-APIC-edge`.
const FLOW_NAMES: &[&str] = &[
    "edge",
    "level",
    "fasteoi",
    "simple",
    "percpu",
    "percpu_devid",
    "edge_eoi",
    "nested",
    "untracked",
    "bad",
    "XT",
];

/// Does this token belong to the chip part after the chip name: a hwirq (`27`, `2-edge`), a
/// trigger (`Level`, `Edge`) or a flow handler (`-fasteoi`)?
fn is_chip_detail(tok: &str) -> bool {
    is_number(tok) || split_hwirq_flow(tok).is_some() || is_trigger(tok) || is_flow(tok)
}

fn is_trigger(tok: &str) -> bool {
    tok == "Level" || tok == "Edge"
}

fn is_flow(tok: &str) -> bool {
    tok.len() > 1 && tok.starts_with('-')
}

/// `512000-edge` → (`512000`, `edge`).
fn split_hwirq_flow(tok: &str) -> Option<(&str, &str)> {
    let (num, flow) = tok.split_once('-')?;
    (is_number(num) && !flow.is_empty()).then_some((num, flow))
}

/// Splits a numbered IRQ's tail into chip, hwirq, trigger and actions.
///
/// Shapes seen: `IO-APIC-edge  timer` (≤ 3.x, chip and flow glued), `IO-APIC   2-edge  timer`,
/// `PCI-MSIX-0000:00:03.0   1-edge  virtio2-input.0`, `GICv3  27 Level  arch_timer`,
/// `PCI-MSI  mlx5_comp0@pci:0002:00:00.0` (s390x, no hwirq), `-  debug-signal` (MT6589, no chip
/// name), and old ARM with no chip at all: `sep4020 Timer Tick`. The kernel separates the chip
/// part from the actions with at least two spaces, while action names use single spaces, which is
/// what tells `PCI-MSI  foo` (chip + action) from `sep4020 Timer Tick` (one action).
fn split_tail(tail: &str, row: &mut IrqRow) {
    let mut cur = Cursor::new(tail);
    let Some((s0, t0)) = cur.peek() else { return };
    cur.advance_past(s0, t0);
    let next = cur.peek();
    let gap_after_t0 = next.map_or(0, |(s1, _)| s1 - (s0 + t0.len()));
    let mut chip_part = true;
    if t0 == "-" {
        // MediaTek: empty chip name and empty flow name print as a lone dash.
    } else if next.is_some_and(|(_, t1)| is_chip_detail(t1)) {
        row.chip = Some(t0.to_string());
    } else if let Some((chip, flow)) =
        t0.rsplit_once('-').filter(|(c, f)| !c.is_empty() && FLOW_NAMES.contains(f))
    {
        row.chip = Some(chip.to_string());
        row.trigger = Some(flow.to_string());
    } else if next.is_some() && gap_after_t0 >= 2 {
        row.chip = Some(t0.to_string());
    } else {
        // One word alone, or words with single spaces: an action name without a chip column.
        chip_part = false;
        cur = Cursor::new(tail);
    }
    if chip_part {
        if let Some((s, t)) = cur.peek() {
            if is_number(t) {
                row.hwirq = Some(t.to_string());
                cur.advance_past(s, t);
            } else if let Some((num, flow)) = split_hwirq_flow(t) {
                row.hwirq = Some(num.to_string());
                row.trigger.get_or_insert_with(|| flow.to_string());
                cur.advance_past(s, t);
            }
        }
        if let Some((s, t)) = cur.peek().filter(|(_, t)| is_trigger(t)) {
            row.trigger = Some(t.to_string());
            cur.advance_past(s, t);
        }
        if let Some((s, t)) = cur.peek().filter(|(_, t)| is_flow(t)) {
            if row.trigger.is_none() {
                row.trigger = t.get(1..).map(str::to_string);
            }
            cur.advance_past(s, t);
        }
    }
    row.actions = cur
        .rest()
        .split(", ")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
}

fn short(line: &str) -> &str {
    let mut end = line.len().min(80);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

pub fn read(root: &Root) -> Avail<Interrupts> {
    read_parsed(root, PATH, parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str) -> IrqRow {
        let ints = parse(text).unwrap();
        ints.rows.into_iter().next().unwrap()
    }

    #[test]
    fn err_and_mis_have_one_total() {
        let i = parse("      CPU0  CPU1\nERR:          7\nMIS:          0\nErr:   3\n").unwrap();
        assert_eq!(i.rows[0].irq, "ERR");
        assert_eq!(i.rows[0].total, 7);
        assert!(i.rows[0].counts.is_empty());
        assert_eq!(i.rows[2].total, 3);
        // Also on a one-CPU box, where the value could pass for a count.
        let r = row("   CPU0\nERR:          5\n");
        assert!(r.counts.is_empty());
        assert_eq!(r.total, 5);
    }

    #[test]
    fn glued_label_and_wide_counts() {
        let r = row("  CPU0 CPU1\nIPI0:2768808080 12345678901       Rescheduling interrupts\n");
        assert_eq!(r.counts, vec![2768808080, 12345678901]);
        assert_eq!(r.total, 2768808080 + 12345678901);
        assert_eq!(r.text, "Rescheduling interrupts");
    }

    #[test]
    fn one_space_before_long_chip() {
        let r = row(
            "   CPU0  CPU1\n 38:          0 4294967295 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n",
        );
        assert_eq!(r.counts, vec![0, 4294967295]);
        assert_eq!(r.chip.as_deref(), Some("PCI-MSIX-0000:00:03.0"));
        assert_eq!(r.hwirq.as_deref(), Some("1"));
        assert_eq!(r.trigger.as_deref(), Some("edge"));
        assert_eq!(r.actions, vec!["virtio2-input.0"]);
        assert_eq!(r.text, "PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0");
    }

    #[test]
    fn old_one_token_chip() {
        let r = row("   CPU0\n  0:         45   IO-APIC-edge      timer\n");
        assert_eq!(r.chip.as_deref(), Some("IO-APIC"));
        assert_eq!(r.trigger.as_deref(), Some("edge"));
        assert_eq!(r.hwirq, None);
        assert_eq!(r.actions, vec!["timer"]);
        let r = row("   CPU0\n 40:   0  DMAR_MSI-edge      dmar0\n");
        assert_eq!(r.chip.as_deref(), Some("DMAR_MSI"));
        let r = row("   CPU0\n  9:   0  IR-IO-APIC-fasteoi   acpi\n");
        assert_eq!(
            (r.chip.as_deref(), r.trigger.as_deref()),
            (Some("IR-IO-APIC"), Some("fasteoi"))
        );
    }

    #[test]
    fn arm_level_edge_and_flow_after_level() {
        let r = row("  CPU0\n 10: 3287008667     GICv3  27 Level     arch_timer\n");
        assert_eq!((r.chip.as_deref(), r.hwirq.as_deref()), (Some("GICv3"), Some("27")));
        assert_eq!(r.trigger.as_deref(), Some("Level"));
        assert_eq!(r.actions, vec!["arch_timer"]);
        let r = row("  CPU0\n 16:     169513       GIC  27 Edge      gt\n");
        assert_eq!((r.chip.as_deref(), r.trigger.as_deref()), (Some("GIC"), Some("Edge")));
        let r = row("  CPU0\n 16:     1  bcm2836-timer   0 Edge      arch_timer\n");
        assert_eq!(r.chip.as_deref(), Some("bcm2836-timer"));
        assert_eq!(r.hwirq.as_deref(), Some("0"));
        // GENERIC_IRQ_SHOW_LEVEL with a flow name: `Level   -fasteoi`.
        let r = row("  CPU0\n 20:  5  GICv2  45 Level   -fasteoi  eth0\n");
        assert_eq!(r.trigger.as_deref(), Some("Level"));
        assert_eq!(r.actions, vec!["eth0"]);
    }

    #[test]
    fn action_names_with_spaces_and_commas() {
        let r = row("  CPU0\n 16:  4  IR-IO-APIC  16-fasteoi   ehci_hcd:usb1, mmc0\n");
        assert_eq!(r.actions, vec!["ehci_hcd:usb1", "mmc0"]);
        let r = row("  CPU0\n 24:  0  PCI-MSI 458752-edge      PCIe PME, pciehp\n");
        assert_eq!(r.actions, vec!["PCIe PME", "pciehp"]);
        let r = row("  CPU0\n 43:  7  PCI-MSI 524288-edge      fglrx[0]@PCI:1:0:0\n");
        assert_eq!(r.actions, vec!["fglrx[0]@PCI:1:0:0"]);
        // Old ARM (2.6): no chip column, the action name has a space.
        let r = row("           CPU0\n 30:    1234567  sep4020 Timer Tick\n");
        assert_eq!(r.chip, None);
        assert_eq!(r.actions, vec!["sep4020 Timer Tick"]);
        let r = row("           CPU0\n 12:    7   uart\n");
        assert_eq!((r.chip.as_deref(), r.actions.clone()), (None, vec!["uart".to_string()]));
    }

    #[test]
    fn irq_without_action() {
        let r = row("  CPU0\n 30:        100  IR-PCI-MSI 524288-edge\n");
        assert_eq!(r.chip.as_deref(), Some("IR-PCI-MSI"));
        assert_eq!(r.hwirq.as_deref(), Some("524288"));
        assert!(r.actions.is_empty());
    }

    #[test]
    fn fiq_rows_without_counts() {
        let i = parse("  CPU0 CPU1 CPU2 CPU3\nFIQ:              usb_fiq\n").unwrap();
        assert!(i.rows[0].counts.is_empty());
        assert_eq!(i.rows[0].total, 0);
        assert_eq!(i.rows[0].text, "usb_fiq");
    }

    #[test]
    fn more_values_than_header_cpus() {
        let r = row(
            "           CPU0\nIPI1:      75373     107711      43906      30716  Rescheduling interrupts\n",
        );
        assert_eq!(r.counts, vec![75373]);
        assert_eq!(r.total, 75373);
        assert_eq!(r.extra_counts, vec![107711, 43906, 30716]);
        assert_eq!(r.text, "Rescheduling interrupts");
    }

    #[test]
    fn ipi_numbering_from_one_and_blank_lines() {
        let text = "           CPU0       CPU1\n\n 16:  1  2  GIC  29 Edge  twd\nIPI1:  3  4  Timer broadcast interrupts\n\n   \nErr:  0\n  \t \n";
        let i = parse(text).unwrap();
        assert_eq!(i.rows.len(), 3);
        assert_eq!(i.rows[1].irq, "IPI1");
        assert_eq!(i.rows[1].counts, vec![3, 4]);
    }

    #[test]
    fn s390_class_rows_without_description() {
        let r = row("  CPU0 CPU1\nI/O:        675        559 \n");
        assert_eq!(r.irq, "I/O");
        assert_eq!(r.counts, vec![675, 559]);
        assert_eq!(r.text, "");
    }

    #[test]
    fn header_and_label_errors() {
        assert!(parse("").is_err());
        assert!(parse("  \n\n").is_err());
        assert!(parse("foo bar\n").is_err());
        let e = parse("  CPU0\nno colon here\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("  CPU0\n: 5\n").is_err());
    }

    #[test]
    fn header_only_is_valid() {
        let i = parse("           CPU0       CPU1       \n").unwrap();
        assert_eq!(i.cpus, vec![0, 1]);
        assert!(i.rows.is_empty());
    }

    #[test]
    fn huge_number_is_text_not_a_panic() {
        let r = row("  CPU0\nNMI: 99999999999999999999999 x\n");
        assert!(r.counts.is_empty());
        assert_eq!(r.text, "99999999999999999999999 x");
    }
    /// The byte scanner and the token path agree on every input, ASCII or not.
    fn both_ways(s: &str) -> (Vec<Option<u64>>, usize, Vec<Option<u64>>, usize) {
        let (mut fast, mut slow) = (Cursor::new(s), Cursor::new(s));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..8 {
            a.push(fast.take_integer());
            b.push(slow.take_integer_slow());
        }
        (a, fast.pos, b, slow.pos)
    }

    #[test]
    fn integer_scanner_edges() {
        for s in [
            "  12 34x 5",
            "\u{a0}7 8",
            "9\u{a0}10",
            "\x0b11\x0b",
            "18446744073709551615 18446744073709551616 1",
            "",
            "   ",
            "12ab",
            "3\u{2003}4",
        ] {
            let (a, pa, b, pb) = both_ways(s);
            assert_eq!((a, pa), (b, pb), "{s:?}");
        }
    }

    #[test]
    fn counts_are_held_by_density_and_equal_by_value() {
        let mut one_cpu = vec![0; 512];
        one_cpu[300] = 7;
        let c = Counts::from(one_cpu.clone());
        assert!(c.is_sparse(), "one CPU of 512");
        assert_eq!((c.len(), c[300], c[301], c.get(511), c.get(512)), (512, 7, 0, Some(0), None));
        assert_eq!(c.nonzero().collect::<Vec<_>>(), [(300, 7)]);
        assert_eq!(c, one_cpu);
        assert_eq!(c, Counts::held(one_cpu.clone(), false));
        assert_ne!(c, Counts::zeros(512));
        assert_ne!(c, Counts::held(one_cpu[..511].to_vec(), true), "one CPU fewer");
        // At most 1 in 8 nonzero is held sparse.
        let eighth = |n: usize| (0..64).map(|i| u64::from(i < n)).collect::<Vec<u64>>();
        assert!(Counts::from(eighth(8)).is_sparse());
        assert!(!Counts::from(eighth(9)).is_sparse());
        assert!(!Counts::from(vec![1, 2, 3, 4]).is_sparse());
        assert_eq!(Counts::zeros(0), Counts::from(Vec::new()));
    }

    #[test]
    fn counts_serialise_as_the_array_of_every_count() {
        let c = Counts::held(vec![0, 5, 0, 0], true);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "[0,5,0,0]");
        assert_eq!(json, serde_json::to_string(&Counts::held(vec![0, 5, 0, 0], false)).unwrap());
        let back: Counts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let r = row("  CPU0 CPU1 CPU2 CPU3
 38:  0  0  9  0  PCI-MSI 1-edge  eth0
");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["counts"], serde_json::json!([0, 0, 9, 0]));
        assert_eq!(serde_json::from_value::<IrqRow>(v).unwrap(), r);
    }

    /// A row mostly zeros, or dense, or zeros after a dense start (which `push` turns dense and
    /// `settled` back).
    fn count_rows() -> impl proptest::strategy::Strategy<Value = Vec<u64>> {
        use proptest::prelude::*;
        let rare = prop_oneof![30 => Just(0u64), 1 => 1u64..u64::MAX];
        prop_oneof![
            proptest::collection::vec(rare.clone(), 0..700),
            proptest::collection::vec(0u64..4, 0..100),
            (proptest::collection::vec(1u64..4, 64..90), proptest::collection::vec(rare, 0..700))
                .prop_map(|(mut a, b)| {
                    a.extend(b);
                    a
                }),
        ]
    }

    proptest::proptest! {
        /// Every accessor, equality and serde give a row's counts whichever way it is held, and a
        /// row built count by count is held as one built from the whole Vec.
        #[test]
        fn counts_read_the_same_however_held(v in count_rows()) {
            use proptest::prop_assert_eq;
            let nonzero: Vec<(usize, u64)> =
                v.iter().copied().enumerate().filter(|(_, c)| *c != 0).collect();
            let json = serde_json::to_string(&v).unwrap();
            for c in [Counts::held(v.clone(), true), Counts::held(v.clone(), false)] {
                prop_assert_eq!(c.len(), v.len());
                prop_assert_eq!(c.iter().collect::<Vec<_>>(), v.clone());
                prop_assert_eq!(c.to_vec(), v.clone());
                prop_assert_eq!(c.nonzero().collect::<Vec<_>>(), nonzero.clone());
                for (i, n) in v.iter().enumerate() {
                    prop_assert_eq!((c.get(i), c[i]), (Some(*n), *n));
                }
                prop_assert_eq!(c.get(v.len()), None);
                prop_assert_eq!(&c, &v);
                prop_assert_eq!(&c, &Counts::from(v.clone()));
                prop_assert_eq!(serde_json::to_string(&c).unwrap(), json.clone());
                prop_assert_eq!(serde_json::from_str::<Counts>(&json).unwrap(), c);
            }
            let mut built = Counts::default();
            for n in &v {
                built.push(*n);
            }
            let built = built.settled();
            prop_assert_eq!(built.is_sparse(), Counts::from(v.clone()).is_sparse());
            prop_assert_eq!(built, v);
        }

        #[test]
        fn integer_scanner_matches_token_path(s in "[ 0-9a\t\u{b}\u{a0}\u{2003}é]{0,40}") {
            let (a, pa, b, pb) = both_ways(&s);
            proptest::prop_assert_eq!((a, pa), (b, pb));
        }
    }
}
