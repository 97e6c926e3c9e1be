//! Which processes hold a socket: neither /proc/net/udp nor sock_diag names one, so every
//! `/proc/<pid>/fd/<n>` link is read and `socket:[<inode>]` targets are matched against the
//! inodes wanted. Only the low 32 bits are compared: sock_diag carries the inode as a u32
//! (`idiag_inode`), while the fd link prints the full `unsigned long`.
//!
//! A process sees only what its privileges allow: without root, other users' fd directories
//! are EACCES and their sockets are found without owner.

use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// A process holding a socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// /proc/<pid>/comm, trimmed (the kernel cuts it to 15 bytes).
    pub comm: String,
}

/// The inode a `/proc/<pid>/fd/<n>` link target names when it is a socket (`socket:[12345]`).
pub fn socket_inode(target: &str) -> Option<u64> {
    let n = target.strip_prefix("socket:[")?.strip_suffix(']')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

fn low32(inode: u64) -> u32 {
    (inode & 0xffff_ffff) as u32
}

/// The matching state of one scan: the wanted inodes by their low 32 bits, and what was found.
#[derive(Debug)]
pub struct Matcher {
    /// Low 32 bits → the wanted inodes (as given) that have them.
    wanted: HashMap<u32, Vec<u64>>,
    owners: HashMap<u64, Vec<Owner>>,
}

impl Matcher {
    pub fn new(inodes: &[u64]) -> Matcher {
        let mut wanted: HashMap<u32, Vec<u64>> = HashMap::new();
        for &i in inodes {
            let v = wanted.entry(low32(i)).or_default();
            if !v.contains(&i) {
                v.push(i);
            }
        }
        Matcher { wanted, owners: HashMap::new() }
    }

    /// The low 32 bits of the wanted inode a link target names, if it names one.
    pub fn wanted(&self, target: &str) -> Option<u32> {
        let low = low32(socket_inode(target)?);
        self.wanted.contains_key(&low).then_some(low)
    }

    /// Records that process `pid` (`comm`) holds the sockets whose low 32 bits are `lows`
    /// (duplicates allowed: a socket dup'ed to several fds).
    pub fn add(&mut self, pid: u32, comm: &str, lows: &[u32]) {
        for low in lows {
            for &inode in self.wanted.get(low).map(Vec::as_slice).unwrap_or_default() {
                let list = self.owners.entry(inode).or_default();
                if !list.iter().any(|o| o.pid == pid) {
                    list.push(Owner { pid, comm: comm.to_string() });
                }
            }
        }
    }

    /// True when every wanted inode has at least one owner.
    pub fn all_found(&self) -> bool {
        self.wanted.values().flatten().all(|i| self.owners.contains_key(i))
    }

    /// Owners by wanted inode, each list sorted by pid; inodes nobody holds are absent.
    pub fn into_owners(mut self) -> HashMap<u64, Vec<Owner>> {
        for v in self.owners.values_mut() {
            v.sort_by_key(|o| o.pid);
        }
        self.owners
    }
}

fn numeric(names: &[String]) -> Vec<u32> {
    let mut v: Vec<u32> = names
        .iter()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// The processes holding each of `inodes`, found through /proc/*/fd. The scan walks processes
/// in pid order and stops after the process with which every inode has an owner, so a socket
/// shared with a process of higher pid (a forked worker) lists only the owners seen until then.
/// Processes that vanish or deny access while scanned are skipped; only an unreadable /proc is
/// Unavailable. Nothing is read when `inodes` is empty.
///
/// A root that keeps files open (a `Sampler`'s, which `watch` and `report --count` look up owners
/// through every refresh) remembers what its scans found: when every socket asked for was looked
/// for less than `REMEMBERED_FOR` ago, the answer is the remembered one and nothing is read. A
/// scan reads a link per open file of the host, on a busy server the dearest part of a refresh,
/// for owners that rarely change while a socket lives. A socket passed to another process is
/// therefore seen with its new owner up to that long after.
pub fn find(root: &Root, inodes: &[u64]) -> Avail<HashMap<u64, Vec<Owner>>> {
    if inodes.is_empty() {
        return Avail::Value(HashMap::new());
    }
    let now = Instant::now();
    if let Some(known) = root.owners_found(|f| f.recall(inodes, now)).flatten() {
        return Avail::Value(known);
    }
    let scanned = scan(root, inodes);
    if let Avail::Value(found) = &scanned {
        root.owners_found(|f| f.remember(inodes, found, now));
    }
    scanned
}

/// How long a scan's answer for a socket stands: as long as a sampler keeps a setting.
pub const REMEMBERED_FOR: Duration = crate::sample::SETTINGS_MAX_AGE;

/// What a root's scans found: each socket looked for, its owners (none found: empty) and when.
#[derive(Debug, Default)]
pub struct Found {
    by_inode: HashMap<u64, (Vec<Owner>, Instant)>,
}

impl Found {
    /// The owners of `inodes` (those with any), when every one was looked for less than
    /// `REMEMBERED_FOR` before `now`.
    pub fn recall(&self, inodes: &[u64], now: Instant) -> Option<HashMap<u64, Vec<Owner>>> {
        let mut out = HashMap::new();
        for i in inodes {
            let (owners, at) = self.by_inode.get(i)?;
            if now.saturating_duration_since(*at) >= REMEMBERED_FOR {
                return None;
            }
            if !owners.is_empty() {
                out.insert(*i, owners.clone());
            }
        }
        Some(out)
    }

    /// Keeps a scan's answer for `inodes` made at `now`, and lets go of answers too old to use.
    pub fn remember(&mut self, inodes: &[u64], found: &HashMap<u64, Vec<Owner>>, now: Instant) {
        self.by_inode.retain(|_, (_, at)| now.saturating_duration_since(*at) < REMEMBERED_FOR);
        for i in inodes {
            self.by_inode.insert(*i, (found.get(i).cloned().unwrap_or_default(), now));
        }
    }
}

/// `find` without what a root remembers: one scan of /proc.
fn scan(root: &Root, inodes: &[u64]) -> Avail<HashMap<u64, Vec<Owner>>> {
    let names = match root.read_dir("/proc") {
        Ok(n) => n,
        Err(e) => return Avail::Unavailable(Unavailable::from_io("/proc", &e)),
    };
    let mut m = Matcher::new(inodes);
    for pid in numeric(&names) {
        let Ok(fds) = root.read_dir(&format!("/proc/{pid}/fd")) else { continue };
        let mut lows = Vec::new();
        for fd in numeric(&fds) {
            let path = format!("/proc/{pid}/fd/{fd}");
            // A capture keeps only the links to wanted sockets, never every file a process has
            // open.
            let wanted = |t: &Path| t.to_str().and_then(|t| m.wanted(t)).is_some();
            let Ok(target) = root.read_link_kept(&path, wanted) else { continue };
            if let Some(low) = target.to_str().and_then(|t| m.wanted(t)) {
                lows.push(low);
            }
        }
        if lows.is_empty() {
            continue;
        }
        // Gone between its fds and its name: it holds nothing any more.
        let Ok(comm) = root.read_trimmed(&format!("/proc/{pid}/comm")) else { continue };
        m.add(pid, &comm, &lows);
        if m.all_found() {
            break;
        }
    }
    Avail::Value(m.into_owners())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn socket_links_only() {
        assert_eq!(socket_inode("socket:[78292]"), Some(78292));
        assert_eq!(socket_inode("socket:[4294967301]"), Some(4_294_967_301));
        for t in ["pipe:[78292]", "socket:[]", "socket:[12", "socket:[-1]", "socket:[1 ]", "/x"] {
            assert_eq!(socket_inode(t), None, "{t}");
        }
    }

    #[test]
    fn found_owners_stand_for_a_while_then_are_looked_for_again() {
        let t0 = Instant::now();
        let named = vec![Owner { pid: 12, comm: "named".into() }];
        let mut f = Found::default();
        assert_eq!(f.recall(&[1], t0), None, "never looked for");
        f.remember(&[1, 2], &HashMap::from([(1, named.clone())]), t0);
        let later = t0 + REMEMBERED_FOR - Duration::from_millis(1);
        // 2 was looked for and has no owner: that answer stands too.
        assert_eq!(f.recall(&[1, 2], later), Some(HashMap::from([(1, named.clone())])));
        assert_eq!(f.recall(&[2], later), Some(HashMap::new()));
        assert_eq!(f.recall(&[1, 3], later), None, "3 was never looked for");
        assert_eq!(f.recall(&[1], t0 + REMEMBERED_FOR), None, "too old");
        // A later scan's answer replaces the old one; answers too old are let go.
        let t1 = t0 + REMEMBERED_FOR;
        f.remember(&[3], &HashMap::new(), t1);
        assert_eq!(f.by_inode.keys().collect::<Vec<_>>(), [&3]);
        assert_eq!(f.recall(&[3], t1), Some(HashMap::new()));
    }

    #[test]
    fn matches_low_32_bits_and_keeps_every_owner_sorted() {
        let big = (7u64 << 32) | 555; // a u64 inode whose sock_diag u32 would read 555
        let mut m = Matcher::new(&[555, 100, big, 100]);
        assert_eq!(m.wanted("socket:[555]"), Some(555));
        assert_eq!(m.wanted(&format!("socket:[{big}]")), Some(555));
        assert_eq!(m.wanted("socket:[101]"), None);
        assert_eq!(m.wanted("anon_inode:[eventfd]"), None);
        m.add(900, "worker", &[555]);
        assert!(!m.all_found(), "100 has no owner yet");
        m.add(12, "master", &[555, 100, 100]);
        assert!(m.all_found());
        m.add(12, "master", &[100]); // the same process seen twice is listed once
        let o = m.into_owners();
        let pids = |i: u64| o[&i].iter().map(|x| (x.pid, x.comm.as_str())).collect::<Vec<_>>();
        assert_eq!(pids(555), [(12, "master"), (900, "worker")]);
        assert_eq!(pids(big), pids(555), "both inodes read as 555 through sock_diag");
        assert_eq!(pids(100), [(12, "master")]);
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn nothing_wanted_is_found_at_once() {
        let m = Matcher::new(&[]);
        assert!(m.all_found());
        assert_eq!(m.wanted("socket:[1]"), None);
        // And find() reads nothing: a root that does not exist is not even listed.
        let r = Root::at("/nonexistent-rxpath-root");
        assert_eq!(find(&r, &[]), Avail::Value(HashMap::new()));
        assert!(find(&r, &[1]).unavailable().unwrap().what == "/proc");
    }

    proptest! {
        #[test]
        fn link_parsing_never_panics(t in "\\PC*") {
            let _ = socket_inode(&t);
            let _ = Matcher::new(&[1, u64::MAX]).wanted(&t);
        }
    }
}
