//! `Avail<T>`: a part of a Sample that is either read or says why it is missing.
//!
//! Nothing missing may abort a sample (a driver without ring parameters, a sysctl absent in a network
//! namespace, a file that needs root), so every part carries its own "why not" instead of an error.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::io;

/// Why a part of the sample could not be read. `what` names the interface (file, ioctl, netlink
/// request); `why` says what happened and, where there is one, what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub what: String,
    pub why: String,
}

impl Unavailable {
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Unavailable { what: what.into(), why: why.into() }
    }

    /// Classifies an I/O error the way an operator needs it: absent, needs privileges, or not
    /// supported by the driver are different situations with different remedies.
    pub fn from_io(what: impl Into<String>, err: &io::Error) -> Self {
        Unavailable::new(what, io_reason(err))
    }
}

/// A short, operator-facing explanation of an I/O error from a kernel interface.
pub fn io_reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOENT) => {
            "not present (this kernel, device or network namespace does not provide it)".into()
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            "permission denied: run as root to read it".into()
        }
        Some(libc::EOPNOTSUPP) => "not supported by this driver".into(),
        Some(libc::EINVAL) => {
            "the kernel rejected the read (EINVAL): not meaningful for this device".into()
        }
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            "the device is gone or has no such attribute".into()
        }
        Some(libc::ENOTDIR) => "not present (a file stands where a directory was expected)".into(),
        _ => err.to_string(),
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)
    }
}

/// A value read from the kernel, or the reason it could not be.
///
/// In JSON a value is written as itself and a missing one as `{"unavailable": {"what", "why"}}`, so
/// scripts read `.softnet[0].processed` directly and test for `.unavailable` where they must.
#[derive(Clone, Debug, PartialEq)]
pub enum Avail<T> {
    Value(T),
    Unavailable(Unavailable),
}

impl<T> Avail<T> {
    pub fn missing(what: impl Into<String>, why: impl Into<String>) -> Self {
        Avail::Unavailable(Unavailable::new(what, why))
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Avail::Value(v) => Some(v),
            Avail::Unavailable(_) => None,
        }
    }

    pub fn into_value(self) -> Option<T> {
        match self {
            Avail::Value(v) => Some(v),
            Avail::Unavailable(_) => None,
        }
    }

    pub fn unavailable(&self) -> Option<&Unavailable> {
        match self {
            Avail::Value(_) => None,
            Avail::Unavailable(u) => Some(u),
        }
    }

    pub fn is_available(&self) -> bool {
        matches!(self, Avail::Value(_))
    }

    pub fn as_ref(&self) -> Avail<&T> {
        match self {
            Avail::Value(v) => Avail::Value(v),
            Avail::Unavailable(u) => Avail::Unavailable(u.clone()),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Avail<U> {
        match self {
            Avail::Value(v) => Avail::Value(f(v)),
            Avail::Unavailable(u) => Avail::Unavailable(u),
        }
    }

    pub fn and_then<U>(self, f: impl FnOnce(T) -> Avail<U>) -> Avail<U> {
        match self {
            Avail::Value(v) => f(v),
            Avail::Unavailable(u) => Avail::Unavailable(u),
        }
    }
}

impl<T> From<Result<T, Unavailable>> for Avail<T> {
    fn from(r: Result<T, Unavailable>) -> Self {
        match r {
            Ok(v) => Avail::Value(v),
            Err(u) => Avail::Unavailable(u),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Missing {
    unavailable: Unavailable,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AvailRepr<T> {
    // Tried first: a value of T never has the single key "unavailable".
    Missing(Missing),
    Value(T),
}

impl<T: Serialize> Serialize for Avail<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Avail::Value(v) => v.serialize(s),
            Avail::Unavailable(u) => Missing { unavailable: u.clone() }.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Avail<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match AvailRepr::deserialize(d)? {
            AvailRepr::Missing(m) => Avail::Unavailable(m.unavailable),
            AvailRepr::Value(v) => Avail::Value(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_serialises_as_itself_and_missing_as_unavailable() {
        let v: Avail<u32> = Avail::Value(7);
        assert_eq!(serde_json::to_string(&v).unwrap(), "7");
        let m: Avail<u32> = Avail::missing("/proc/x", "absent");
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"unavailable":{"what":"/proc/x","why":"absent"}}"#);
        assert_eq!(serde_json::from_str::<Avail<u32>>(&s).unwrap(), m);
        assert_eq!(serde_json::from_str::<Avail<u32>>("7").unwrap(), v);
    }

    #[test]
    fn io_errors_are_classified() {
        let e = io::Error::from_raw_os_error(libc::EOPNOTSUPP);
        assert!(Unavailable::from_io("ETHTOOL_GRINGPARAM", &e).why.contains("not supported"));
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert!(io_reason(&e).contains("root"));
    }
}
