//! `/proc/net/softnet_stat`: per-CPU backlog and `net_rx_action` counters (KERNEL.md §3.2).
//!
//! One line per **online** CPU, every field `%08x`. The width grew with the kernel: 9 columns
//! (≤ 2.6.34), 10 (+ `received_rps`), 11 (+ `flow_limit_count`), 13 (+ backlog length and the CPU id,
//! 5.10), 15 (+ the two queue lengths, 6.4). Extra columns from a future kernel are kept in `extra`.
//!
//! The CPU id is only printed from 13 columns on. Before that the row index is the CPU id only if
//! every CPU is online, because offline CPUs are skipped; so the reader maps rows to
//! `/sys/devices/system/cpu/online` when it can, and says which way it took in `cpu_id_source`.

use super::{ParseError, cpuset, fields, hex_digit, hex_u64};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "/proc/net/softnet_stat";
pub const ONLINE_PATH: &str = "/sys/devices/system/cpu/online";

/// The file has at most this few columns on the oldest kernels; fewer is not softnet_stat.
const MIN_COLUMNS: usize = 9;
/// Column (1-based) holding the CPU id, from Linux 5.10.
const CPU_ID_COLUMN: usize = 13;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softnet {
    pub rows: Vec<SoftnetRow>,
    /// Columns of the widest row. A kernel prints the same width on every row; hand-edited files
    /// mix them, and each row's optional fields say what that row had.
    pub columns: usize,
    /// Where the `cpu` of the rows came from. When rows differ (mixed widths) this is the weakest
    /// source used for any row.
    pub cpu_id_source: CpuIdSource,
}

/// How a row's CPU id was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuIdSource {
    /// Printed by the kernel in column 13 (5.10 and later): always right.
    #[serde(rename = "column13")]
    Column13,
    /// The i-th CPU of `/sys/devices/system/cpu/online`: right unless a CPU went on- or offline
    /// between the two reads.
    #[serde(rename = "online_list")]
    OnlineList,
    /// The row's position: a guess, right only when every CPU is online.
    #[serde(rename = "row_index")]
    RowIndex,
}

/// One CPU's counters. Counters wrap at 2^32; `backlog_len`, `input_qlen`, `process_qlen` are
/// gauges (queue lengths at the time of the read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftnetRow {
    pub cpu: u32,
    pub processed: u32,
    pub dropped: u32,
    pub time_squeeze: u32,
    /// Column 9: counted only by old kernels (≤ ≈4.5); later kernels print a literal 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_collision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_rps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_limit_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_qlen: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_qlen: Option<u32>,
    /// Columns after the 15th, which no kernel up to 6.18 prints: kept so a newer kernel's data is
    /// not silently lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<u32>,
}

/// A parsed line before its CPU id is settled.
struct RawRow {
    row: SoftnetRow,
    cpu_column: Option<u32>,
}

/// Parses softnet_stat. `online` is the online CPU list (`/sys/devices/system/cpu/online`); it is
/// only used for rows without column 13, and only when it has exactly one CPU per row.
pub fn parse(text: &str, online: Option<&[u32]>) -> Result<Softnet, ParseError> {
    let (raw, columns) = parse_rows(text)?;
    Ok(assign_cpus(raw, columns, online))
}

fn parse_rows(text: &str) -> Result<(Vec<RawRow>, usize), ParseError> {
    let mut rows = Vec::new();
    let mut widest = 0;
    let mut cols: Vec<u32> = Vec::with_capacity(16);
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        cols.clear();
        if !push_hex8(line, &mut cols) {
            cols.clear();
            for tok in fields(line) {
                cols.push(parse_hex(tok).ok_or_else(|| {
                    ParseError::new(
                        lineno,
                        format!("softnet_stat: {tok:?} is not a 32-bit hex value"),
                    )
                })?);
            }
        }
        if cols.is_empty() {
            continue;
        }
        if cols.len() < MIN_COLUMNS {
            return Err(ParseError::new(
                lineno,
                format!(
                    "softnet_stat: {} columns in {:?}, every kernel prints at least {MIN_COLUMNS}",
                    cols.len(),
                    line.trim()
                ),
            ));
        }
        widest = widest.max(cols.len());
        let col = |n: usize| cols.get(n - 1).copied();
        let row = SoftnetRow {
            cpu: 0,
            processed: cols[0],
            dropped: cols[1],
            time_squeeze: cols[2],
            cpu_collision: col(9),
            received_rps: col(10),
            flow_limit_count: col(11),
            backlog_len: col(12),
            input_qlen: col(14),
            process_qlen: col(15),
            extra: cols.get(15..).map(<[u32]>::to_vec).unwrap_or_default(),
        };
        rows.push(RawRow { row, cpu_column: col(CPU_ID_COLUMN) });
    }
    Ok((rows, widest))
}

fn assign_cpus(raw: Vec<RawRow>, columns: usize, online: Option<&[u32]>) -> Softnet {
    let online = online.filter(|o| o.len() == raw.len());
    let mut source = CpuIdSource::Column13;
    let rows = raw
        .into_iter()
        .enumerate()
        .map(|(i, RawRow { mut row, cpu_column })| {
            row.cpu = match (cpu_column, online.and_then(|o| o.get(i))) {
                (Some(id), _) => id,
                (None, Some(&id)) => {
                    if source == CpuIdSource::Column13 {
                        source = CpuIdSource::OnlineList;
                    }
                    id
                }
                (None, None) => {
                    source = CpuIdSource::RowIndex;
                    u32::try_from(i).unwrap_or(u32::MAX)
                }
            };
            row
        })
        .collect();
    Softnet { rows, columns, cpu_id_source: source }
}

/// A line as every kernel prints it, `%08x` fields one space apart, into `cols`; `false` for any
/// other shape, which the general reader then takes (512 lines of 15 fields on a big host).
fn push_hex8(line: &str, cols: &mut Vec<u32>) -> bool {
    let b = line.as_bytes();
    if b.len() % 9 != 8 {
        return false;
    }
    for field in b.chunks(9) {
        if field.len() == 9 && field[8] != b' ' {
            return false;
        }
        let mut v = 0u32;
        for &c in &field[..8] {
            let Some(d) = hex_digit(c) else { return false };
            v = v << 4 | u32::from(d);
        }
        cols.push(v);
    }
    true
}

/// `%08x` as printed; uppercase accepted (hand-made files), anything wider than 32 bits refused.
fn parse_hex(tok: &str) -> Option<u32> {
    hex_u64(tok).and_then(|v| u32::try_from(v).ok())
}

/// Reads softnet_stat, and the online CPU list only when the rows do not carry their CPU id.
pub fn read(root: &Root) -> Avail<Softnet> {
    let rows = match root.read_with(PATH, parse_rows) {
        Ok(r) => r,
        Err(e) => return Avail::Unavailable(Unavailable::from_io(PATH, &e)),
    };
    let (raw, columns) = match rows {
        Ok(r) => r,
        Err(e) => {
            return Avail::missing(
                PATH,
                format!("cannot parse ({e}); please report this with the file attached"),
            );
        }
    };
    let online = if raw.iter().any(|r| r.cpu_column.is_none()) {
        // Without it the ids are a guess, still worth showing; cpu_id_source says so.
        root.read_with(ONLINE_PATH, cpuset::parse_list).ok().and_then(Result::ok)
    } else {
        None
    };
    Avail::Value(assign_cpus(raw, columns, online.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeros(n: usize) -> String {
        vec!["00000000"; n].join(" ")
    }

    #[test]
    fn nine_columns_old_kernel() {
        let s = parse(
            "0000000a 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000003\n",
            None,
        )
        .unwrap();
        assert_eq!(s.columns, 9);
        assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);
        let r = &s.rows[0];
        assert_eq!((r.cpu, r.processed, r.dropped, r.time_squeeze), (0, 10, 1, 2));
        assert_eq!(r.cpu_collision, Some(3));
        assert_eq!(r.received_rps, None);
        assert_eq!(r.flow_limit_count, None);
    }

    #[test]
    fn too_few_columns_names_the_line() {
        let e = parse(&format!("{}\n00015c73 00020e76 F0000769 00000000\n", zeros(11)), None)
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("4 columns"), "{e}");
    }

    #[test]
    fn bad_token_is_an_error() {
        assert!(parse(&format!("{} zz", zeros(10)), None).is_err());
        assert!(parse(&format!("{} 100000000", zeros(10)), None).is_err());
        assert!(parse(&format!("{} +1", zeros(10)), None).is_err());
    }

    #[test]
    fn column13_ids_can_skip_and_repeat() {
        // CPU 1 offline: the kernel skips its row, so ids go 0, 2, 3.
        let text = "\
00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
00000020 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000002
00000030 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000003
";
        let s = parse(text, Some(&[0, 1, 2])).unwrap();
        assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
        assert_eq!(s.rows.iter().map(|r| r.cpu).collect::<Vec<_>>(), vec![0, 2, 3]);
        assert_eq!(s.rows[2].processed, 0x30);

        let rep = text.replace("00000000 00000003", "00000000 00000002");
        let s = parse(&rep, None).unwrap();
        assert_eq!(s.rows.iter().map(|r| r.cpu).collect::<Vec<_>>(), vec![0, 2, 2]);
    }

    #[test]
    fn fifteen_columns_with_skipped_id() {
        let row = |cpu: u32, backlog: u32, inq: u32, procq: u32| {
            format!(
                "00000100 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000005 {backlog:08x} {cpu:08x} {inq:08x} {procq:08x}\n"
            )
        };
        let text = format!("{}{}", row(0, 3, 1, 2), row(5, 0x11, 0x10, 1));
        let s = parse(&text, Some(&[0, 1])).unwrap();
        assert_eq!(s.columns, 15);
        assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
        let r = &s.rows[1];
        assert_eq!(r.cpu, 5);
        assert_eq!(
            (r.backlog_len, r.input_qlen, r.process_qlen),
            (Some(0x11), Some(0x10), Some(1))
        );
        assert_eq!((r.received_rps, r.flow_limit_count), (Some(4), Some(5)));
        assert!(r.extra.is_empty());
    }

    #[test]
    fn online_list_maps_rows_only_when_counts_match() {
        let text = format!("{0}\n{0}\n{0}\n", zeros(11));
        let s = parse(&text, Some(&[0, 2, 7])).unwrap();
        assert_eq!(s.cpu_id_source, CpuIdSource::OnlineList);
        assert_eq!(s.rows.iter().map(|r| r.cpu).collect::<Vec<_>>(), vec![0, 2, 7]);
        let s = parse(&text, Some(&[0, 2])).unwrap();
        assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);
        assert_eq!(s.rows.iter().map(|r| r.cpu).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn values_above_i32_max() {
        let s = parse(&format!("f003eca7 80000000 FFFFFFFF {}", zeros(8)), None).unwrap();
        let r = &s.rows[0];
        assert_eq!((r.processed, r.dropped, r.time_squeeze), (4026789031, 1 << 31, u32::MAX));
    }

    #[test]
    fn extra_columns_are_kept() {
        let s = parse(&format!("{} 0000abcd FFFFFFFF", zeros(15)), None).unwrap();
        assert_eq!(s.columns, 17);
        assert_eq!(s.rows[0].extra, vec![0xabcd, u32::MAX]);
    }

    #[test]
    fn blank_lines_crlf_and_no_newline() {
        let text = format!("\n{0}\r\n   \n{0}", zeros(10));
        let s = parse(&text, None).unwrap();
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1].cpu, 1);
    }

    #[test]
    fn empty_file_is_empty() {
        let s = parse("", None).unwrap();
        assert!(s.rows.is_empty());
        assert_eq!(s.columns, 0);
    }

    #[test]
    fn serialises_kernel_names() {
        let s = parse(&zeros(13), None).unwrap();
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["cpu_id_source"], "column13");
        assert_eq!(j["rows"][0]["time_squeeze"], 0);
        assert!(j["rows"][0].get("input_qlen").is_none());
        assert_eq!(serde_json::to_value(CpuIdSource::OnlineList).unwrap(), "online_list");
        assert_eq!(serde_json::to_value(CpuIdSource::RowIndex).unwrap(), "row_index");
        let back: Softnet = serde_json::from_value(j).unwrap();
        assert_eq!(back, s);
    }

    proptest::proptest! {
        #[test]
        fn kernel_lines_read_as_the_general_reader_reads_them(
            rows in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u32>(), 9..18),
                0..5,
            ),
            upper in proptest::prelude::any::<bool>(),
        ) {
            let line = |r: &Vec<u32>, sep: &str| {
                let f: Vec<String> = r
                    .iter()
                    .map(|v| if upper { format!("{v:08X}") } else { format!("{v:08x}") })
                    .collect();
                f.join(sep)
            };
            // One space apart is the kernel's shape; two is not, and takes the general reader.
            let kernel: String = rows.iter().map(|r| line(r, " ") + "\n").collect();
            let spaced: String = rows.iter().map(|r| line(r, "  ") + "\n").collect();
            let (a, b) = (parse_rows(&kernel).unwrap(), parse_rows(&spaced).unwrap());
            proptest::prop_assert_eq!(a.1, b.1);
            let rows_of = |r: &[RawRow]| -> Vec<String> {
                r.iter().map(|x| format!("{:?} {:?}", x.row, x.cpu_column)).collect()
            };
            proptest::prop_assert_eq!(rows_of(&a.0), rows_of(&b.0));
            let mut cols = Vec::new();
            for r in &rows {
                cols.clear();
                proptest::prop_assert!(push_hex8(&line(r, " "), &mut cols));
                proptest::prop_assert_eq!(&cols, r);
                proptest::prop_assert!(!push_hex8(&line(r, "  "), &mut cols));
            }
        }
    }
}
