//! Reading the kernel: one module per interface. Parsers are pure (`&str` in, data out) so tests and
//! fuzzers call them directly; each module's `read` does the I/O through a `Root` and turns whatever
//! is missing into `Unavailable`.

pub mod cpus;
pub mod cpuset;
pub mod environment;
pub mod ethtool;
pub mod iface;
pub mod interrupts;
pub mod irq;
pub mod netdev;
pub mod netlink;
pub mod owners;
pub mod packet;
pub mod queues;
pub mod snmp;
pub mod softirqs;
pub mod softnet;
pub mod stat;
pub mod sysctl;
pub mod udp;

use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use std::fmt;
use std::str::FromStr;

/// A parse failure: which line (1-based, 0 when not tied to a line) and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl ParseError {
    pub fn new(line: usize, msg: impl Into<String>) -> Self {
        ParseError { line, msg: msg.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "line {}: {}", self.line, self.msg)
        }
    }
}

impl std::error::Error for ParseError {}

/// Reads one kernel file and parses it; a missing file or a parse error becomes `Unavailable`
/// naming the file, so the rest of the sample goes on.
pub fn read_parsed<T>(
    root: &Root,
    kernel_path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Avail<T> {
    match root.read_with(kernel_path, parse) {
        Ok(r) => parsed(kernel_path, r),
        Err(e) => Avail::Unavailable(Unavailable::from_io(kernel_path, &e)),
    }
}

/// Reads a one-value attribute (sysfs, /proc/sys). An empty file — what the kernel gives for some
/// attributes with no value, and what some captures hold for a read that failed — is reported as
/// such, not as a parse error.
pub fn read_attr<T>(
    root: &Root,
    kernel_path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Avail<T> {
    attr_part(kernel_path, read_attr_raw(root, kernel_path, parse))
}

/// What `read_attr` reads, before it becomes a sample part: callers that explain one errno their
/// own way (xps_cpus's ENOENT) match on it, then hand the rest to `attr_part`.
pub fn read_attr_raw<T>(
    root: &Root,
    kernel_path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> std::io::Result<Option<Result<T, ParseError>>> {
    root.read_with(kernel_path, |text| {
        let t = text.trim();
        (!t.is_empty()).then(|| parse(t))
    })
}

/// `read_attr`'s answer from `read_attr_raw`'s.
pub fn attr_part<T>(
    kernel_path: &str,
    r: std::io::Result<Option<Result<T, ParseError>>>,
) -> Avail<T> {
    match r {
        Ok(None) => Avail::missing(kernel_path, "empty: the kernel or driver reported no value"),
        Ok(Some(r)) => parsed(kernel_path, r),
        Err(e) => Avail::Unavailable(Unavailable::from_io(kernel_path, &e)),
    }
}

/// A parse result as a sample part: an error names the file and asks for it.
pub fn parsed<T>(kernel_path: &str, r: Result<T, ParseError>) -> Avail<T> {
    match r {
        Ok(v) => Avail::Value(v),
        Err(e) => Avail::Unavailable(Unavailable::new(
            kernel_path,
            format!("cannot parse ({e}); please report this with the file attached"),
        )),
    }
}

/// One decimal number, surrounding whitespace allowed, in the range of `T`.
pub fn parse_num<T: FromStr>(text: &str) -> Result<T, ParseError> {
    let t = text.trim();
    t.parse().map_err(|_| {
        let shown: String = t.chars().take(64).collect();
        ParseError::new(0, format!("not a number of the expected range: {shown:?}"))
    })
}
