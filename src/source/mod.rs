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
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

/// A counter's name as the kernel prints it (`InErrors`, `rx_bytes`), shared by every map that
/// holds it: the kernel prints the same names at every read, so a `Sampler` makes them once
/// (`Names`) and each later sample and rate holds a reference count, not a copy. JSON: the string.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether both are the one shared name, not only the same text.
    pub fn ptr_eq(a: &Name, b: &Name) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Two reads of a file share their names, so pairing them mostly meets the same one.
        Name::ptr_eq(self, other) || self.0 == other.0
    }
}

impl Eq for Name {}

impl Hash for Name {
    /// As the text hashes, so that a map keyed by names is looked up with a `&str` (`Borrow`).
    fn hash<H: Hasher>(&self, state: &mut H) {
        (*self.0).hash(state);
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

/// Counters by their names as a device reports them (/proc/net/dev, rtnetlink stats64, sysfs
/// statistics/, `ethtool -S`, netdev queue stats), in the order it reports them; hashed with
/// FxHash, as every sample fills and pairs them by the hundred.
pub type CounterMap = indexmap::IndexMap<Name, u64, crate::fxhash::FxBuild>;

/// The names one parse of a kernel file made, in the order it made them, for the next parse of
/// the same file to share. A new (empty) `Names` is a one-shot parse: every name is made.
#[derive(Debug, Default)]
pub struct Names {
    made: Vec<Name>,
}

impl Names {
    /// Names for one parse, asked for in file order.
    pub(crate) fn parse(&mut self) -> NameCursor<'_> {
        NameCursor { made: &mut self.made, at: 0 }
    }
}

/// Hands out a parse's names: the last parse's name at the same position when its text is the
/// same, else a new one, which the next parse then shares.
pub(crate) struct NameCursor<'a> {
    made: &'a mut Vec<Name>,
    at: usize,
}

impl NameCursor<'_> {
    /// The name `prefix` + `word` (`rx_` + `bytes`; most files have no prefix: "").
    pub(crate) fn name(&mut self, prefix: &str, word: &str) -> Name {
        let same = |n: &Name| {
            n.len() == prefix.len() + word.len() && n.starts_with(prefix) && n.ends_with(word)
        };
        let name = match self.made.get_mut(self.at) {
            Some(n) if same(n) => n.clone(),
            // A name added, dropped or renamed since the last parse: a new one from here on.
            Some(n) => {
                *n = new_name(prefix, word);
                n.clone()
            }
            None => {
                let n = new_name(prefix, word);
                self.made.push(n.clone());
                n
            }
        };
        self.at += 1;
        name
    }
}

fn new_name(prefix: &str, word: &str) -> Name {
    if prefix.is_empty() { Name::from(word) } else { Name::from([prefix, word].concat()) }
}

impl Drop for NameCursor<'_> {
    /// Names the file no longer has (fewer sections, a parse error) are not kept.
    fn drop(&mut self) {
        self.made.truncate(self.at);
    }
}

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

/// The fields of `s` between runs of ASCII whitespace, as `str::split_ascii_whitespace` gives
/// them, in a plain byte loop: the per-CPU files of a 512-CPU host are tens of thousands of fields,
/// parsed every sample, and the std splitter was most of their cost.
#[inline]
pub(crate) fn fields(s: &str) -> Fields<'_> {
    Fields { s, at: 0 }
}

pub(crate) struct Fields<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Fields<'a> {
    /// What follows the fields taken so far.
    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = skip_space(b, self.at);
        if i == b.len() {
            self.at = i;
            return None;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        self.at = i;
        // Both ends sit next to ASCII bytes (or the ends of `s`): char boundaries.
        Some(&self.s[start..i])
    }
}

/// The first byte at or after `i` that is not ASCII whitespace (or the end). Columns padded to a
/// width (`%10u` in /proc/softirqs and /proc/interrupts) are mostly spaces: passed 8 at a time.
#[inline]
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = b.get(i..i + 8)
        && w == b"        "
    {
        i += 8;
    }
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Appends the whitespace-separated decimal numbers of `s` to `out`, at most `max` of them, in one
/// pass over the bytes: what `fields(s).take(max).map(dec_u64)` gives when every one is a number,
/// else the first field that is not (with `out` partly filled), for the caller's error. The
/// counter files hold thousands of numbers a read on a big host.
pub(crate) fn push_decimals<'a>(s: &'a str, out: &mut Vec<u64>, max: usize) -> Result<(), &'a str> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while n < max {
        i = skip_space(b, i);
        if i == b.len() {
            break;
        }
        let start = i;
        let mut v: u64 = 0;
        // 19 digits cannot overflow; a longer token goes through the checked parse.
        while i < b.len() && i - start < 19 {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + u64::from(d);
            i += 1;
        }
        if i < b.len() && !b[i].is_ascii_whitespace() {
            let end = b[i..].iter().position(u8::is_ascii_whitespace).map_or(b.len(), |e| i + e);
            let field = &s[start..end];
            (v, i) = (dec_u64(field).ok_or(field)?, end);
        }
        out.push(v);
        n += 1;
    }
    Ok(())
}

/// Decimal digits only (no sign, no space) to a number; `None` for anything else or more than
/// fits. Hand-rolled: `str::parse` checks signs and radix for every one of thousands of fields.
/// Inline, as parsers in other modules call it per field.
#[inline]
pub(crate) fn dec_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    s.bytes().try_fold(0u64, |v, b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Hex digits (either case, no `0x`) to a number; `None` for anything else or more than fits.
#[inline]
pub(crate) fn hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.bytes().try_fold(0u64, |v, b| Some(v << 4 | u64::from(hex_digit(b)?)))
}

/// One hex digit (either case).
#[inline]
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_and_numbers() {
        assert_eq!(fields(" a\tbb \n c  ").collect::<Vec<_>>(), ["a", "bb", "c"]);
        assert_eq!(fields("   ").next(), None);
        assert_eq!(dec_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(dec_u64("18446744073709551616"), None);
        assert_eq!((dec_u64("+1"), dec_u64(""), dec_u64("1 ")), (None, None, None));
        assert_eq!(hex_u64("fFfFfFfFfFfFfFfF"), Some(u64::MAX));
        assert_eq!((hex_u64("0x1"), hex_u64(""), hex_u64("g")), (None, None, None));
    }

    fn names_of(names: &mut Names, words: &[(&str, &str)]) -> Vec<Name> {
        let mut c = names.parse();
        words.iter().map(|(p, w)| c.name(p, w)).collect()
    }

    #[test]
    fn a_parse_shares_the_names_of_the_last_where_they_are_the_same() {
        let mut names = Names::default();
        let first = names_of(&mut names, &[("", "a"), ("rx_", "bytes"), ("", "c")]);
        assert_eq!(first, ["a", "rx_bytes", "c"]);
        let same = names_of(&mut names, &[("", "a"), ("rx_", "bytes"), ("", "c")]);
        assert!(first.iter().zip(&same).all(|(a, b)| Name::ptr_eq(a, b)));
        // A name inserted: the ones before it are still shared, the rest are made again.
        let next = names_of(&mut names, &[("", "a"), ("", "new"), ("rx_", "bytes"), ("", "c")]);
        assert_eq!(next, ["a", "new", "rx_bytes", "c"]);
        assert!(Name::ptr_eq(&first[0], &next[0]));
        assert!(!Name::ptr_eq(&first[1], &next[2]));
        // Same text from another split is the same name; a shorter parse drops the rest.
        let short = names_of(&mut names, &[("a", ""), ("", "new")]);
        assert!(Name::ptr_eq(&short[0], &next[0]) && Name::ptr_eq(&short[1], &next[1]));
        assert_eq!(names.made.len(), 2);
        assert_eq!(names_of(&mut names, &[("", "a"), ("tx_", "bytes"), ("", "z")])[1], "tx_bytes");
    }

    proptest! {
        #[test]
        fn fields_split_as_std_does(s in "[ \\t\\n\\x0ba-z0-9é\\-]{0,40}") {
            let ours: Vec<&str> = fields(&s).collect();
            let std: Vec<&str> = s.split_ascii_whitespace().collect();
            prop_assert_eq!(ours, std);
        }

        #[test]
        fn pushed_decimals_are_the_fields_parsed(
            s in "[ \t\n0-9]{0,60}|[ 0-9a+]{0,30}|( {0,12}[0-9]{1,21}){0,6}",
            max in 0usize..8,
        ) {
            let want: Option<Vec<u64>> = fields(&s).take(max).map(dec_u64).collect();
            let mut got = vec![7];
            let ok = push_decimals(&s, &mut got, max);
            prop_assert_eq!(ok.is_ok(), want.is_some());
            if let Some(want) = want {
                prop_assert_eq!(&got[1..], want.as_slice());
            }
            // A field that is not a number is named: the first such of the fields read.
            let bad = fields(&s).take(max).find(|t| dec_u64(t).is_none());
            prop_assert_eq!(ok.err(), bad);
        }

        #[test]
        fn numbers_parse_as_std_does(s in "[0-9a-fA-F+\\- ]{0,22}") {
            let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(dec_u64(&s), s.parse::<u64>().ok().filter(|_| digits));
            let hex = !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
            prop_assert_eq!(
                hex_u64(&s),
                u64::from_str_radix(&s, 16).ok().filter(|_| hex && s.len() <= 16)
            );
        }
    }
}
