//! Scene pieces for tests that provoke drops (KERNEL.md §10) and check what rxpath says about them:
//! a veth pair between two namespaces, global sysctls changed under a guard that always restores
//! them, hand-built Ethernet/IPv4/UDP frames sent with AF_PACKET, nft rules, a background sender,
//! and `rxpath report --json` run inside a namespace.

use super::{Netns, run, rxpath_bin};
use serde_json::Value;
use std::ffi::CString;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::Duration;

/// One test at a time for tests that read global counters (softnet_stat) or that a lowered global
/// sysctl could disturb. Poison is ignored: a failed test must not fail the ones after it.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

// ── veth pair ───────────────────────────────────────────────────────────────────────────────────

/// Two namespaces joined by a veth pair: `a` (198.18.0.1/30 on `a_if`) and `b` (198.18.0.2/30 on
/// `b_if`), both up, with permanent neighbour entries so no ARP packet is mixed into the counts.
/// Dropping it deletes both namespaces, and with them the veth ends, addresses and rules.
pub struct VethPair {
    // Fields drop in order: b then a; either deletion removes the whole pair.
    pub a: Netns,
    pub b: Netns,
    pub a_if: &'static str,
    pub b_if: &'static str,
    pub a_ip: Ipv4Addr,
    pub b_ip: Ipv4Addr,
    pub a_mac: [u8; 6],
    pub b_mac: [u8; 6],
}

impl VethPair {
    /// `queues` rx and tx queues on each end (veth's default is 1).
    pub fn new(tag: &str, queues: u32) -> VethPair {
        let a = Netns::new(&format!("{tag}-a"));
        let b = Netns::new(&format!("{tag}-b"));
        let (a_if, b_if) = ("rxa0", "rxb0");
        let q = queues.to_string();
        #[rustfmt::skip]
        run(&[
            "ip", "link", "add", a_if, "numrxqueues", &q, "numtxqueues", &q, "netns", &a.name,
            "type", "veth", "peer", "name", b_if, "numrxqueues", &q, "numtxqueues", &q,
            "netns", &b.name,
        ]);
        let (a_ip, b_ip) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        a.exec(&["ip", "addr", "add", &format!("{a_ip}/30"), "dev", a_if]);
        b.exec(&["ip", "addr", "add", &format!("{b_ip}/30"), "dev", b_if]);
        a.exec(&["ip", "link", "set", a_if, "up"]);
        b.exec(&["ip", "link", "set", b_if, "up"]);
        let (a_mac, b_mac) = (mac_of(&a, a_if), mac_of(&b, b_if));
        for (ns, ifname, peer_ip, peer_mac) in [(&a, a_if, b_ip, b_mac), (&b, b_if, a_ip, a_mac)] {
            #[rustfmt::skip]
            ns.exec(&[
                "ip", "neigh", "replace", &peer_ip.to_string(), "lladdr", &fmt_mac(&peer_mac),
                "dev", ifname, "nud", "permanent",
            ]);
        }
        VethPair { a, b, a_if, b_if, a_ip, b_ip, a_mac, b_mac }
    }
}

fn mac_of(ns: &Netns, dev: &str) -> [u8; 6] {
    let out = ns.exec(&["cat", &format!("/sys/class/net/{dev}/address")]);
    let text = String::from_utf8_lossy(&out.stdout);
    parse_mac(text.trim()).unwrap_or_else(|| panic!("{dev}: not a MAC address: {text:?}"))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

// ── kernel counters read by the test itself ────────────────────────────────────────────────────

/// `/proc/net/<file>` (`snmp` or `netstat`) as the namespace sees it, parsed by rxpath's own pure
/// parser. Read from a thread inside the namespace through /proc/thread-self: /proc/net follows
/// the *process's* namespace, not the thread's.
pub fn mib(ns: &Netns, file: &'static str) -> rxpath::source::snmp::Snmp {
    ns.enter(move || {
        let path = format!("/proc/thread-self/net/{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        rxpath::source::snmp::parse(&text).unwrap_or_else(|e| panic!("{path}: {e:?}"))
    })
}

/// One MIB counter, e.g. `mib_value(ns, "snmp", "Udp", "NoPorts")`.
pub fn mib_value(ns: &Netns, file: &'static str, section: &str, field: &str) -> u64 {
    let v = mib(ns, file)
        .get(section, field)
        .unwrap_or_else(|| panic!("/proc/net/{file} has no {section}.{field}"));
    u64::try_from(v).unwrap_or_else(|_| panic!("{section}.{field} = {v} is negative"))
}

/// An interface statistic (`/sys/class/net/<dev>/statistics/<name>`) inside the namespace.
pub fn if_stat(ns: &Netns, dev: &str, name: &str) -> u64 {
    let out = ns.exec(&["cat", &format!("/sys/class/net/{dev}/statistics/{name}")]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|e| panic!("{dev} {name}: {text:?}: {e}"))
}

/// The sum of softnet_stat's `dropped` column over all CPUs. Global, whatever the namespace.
pub fn softnet_dropped() -> u64 {
    let text = std::fs::read_to_string("/proc/net/softnet_stat").expect("/proc/net/softnet_stat");
    let s = rxpath::source::softnet::parse(&text, None).expect("softnet_stat parses");
    s.rows.iter().map(|r| u64::from(r.dropped)).sum()
}

// ── rxpath report inside a namespace ───────────────────────────────────────────────────────────

/// The exit code and JSON of one `rxpath report --json` run inside a namespace.
pub struct Report {
    pub code: i32,
    pub json: Value,
}

/// Runs `rxpath report --json --interval <interval>` inside `ns`. Exit codes 0 and 1 both carry a
/// report (1 = findings); anything else, or output that is not JSON, fails the test.
pub fn report_in(ns: &Netns, interval: &str) -> Report {
    let out = ns.exec_status(&[rxpath_bin(), "report", "--json", "--interval", interval]);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(code == 0 || code == 1, "rxpath report exited {code}: {stderr}");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("report --json is not JSON ({e}): {}{stderr}", String::from_utf8_lossy(&out.stdout))
    });
    Report { code, json }
}

/// The Sample inside a report: `json["sample"]` in the report format, the root where the report
/// was still the bare Sample.
pub fn sample_of(json: &Value) -> &Value {
    match json.get("sample") {
        Some(s) if s.is_object() => s,
        _ => json,
    }
}

// ── background sender ──────────────────────────────────────────────────────────────────────────

/// Calls `f` every `every` on its own thread until stopped; `f` returns how many packets it sent.
pub struct Repeat {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

pub fn repeat(every: Duration, mut f: impl FnMut() -> u64 + Send + 'static) -> Repeat {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let mut sent = 0u64;
        while !flag.load(Ordering::Relaxed) {
            sent += f();
            std::thread::sleep(every);
        }
        sent
    });
    Repeat { stop, handle: Some(handle) }
}

impl Repeat {
    /// Stops the thread and returns the total sent; a panic in the sender is the test's panic.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let h = self.handle.take().expect("joined once");
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

impl Drop for Repeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

// ── sockets ────────────────────────────────────────────────────────────────────────────────────

pub fn setsockopt_int(fd: &impl AsRawFd, level: libc::c_int, opt: libc::c_int, v: libc::c_int) {
    // SAFETY: a valid socket fd and a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt({level}, {opt}, {v}): {}", std::io::Error::last_os_error());
}

/// The inode of a socket, as /proc/net/udp and /proc/<pid>/fd show it.
pub fn inode_of(fd: &impl AsRawFd) -> u64 {
    // SAFETY: fstat on a valid fd into a zeroed stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
    st.st_ino
}

/// Reads every datagram queued on a socket without blocking; returns how many there were.
pub fn drain(sock: &std::net::UdpSocket) -> u64 {
    sock.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 65536];
    let mut n = 0;
    while sock.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

// ── tools the scenes need ──────────────────────────────────────────────────────────────────────

/// True when `tool` runs; prints a visible SKIP line otherwise (.ci/run installs it).
pub fn require_tool(test: &str, tool: &str, package: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    eprintln!("SKIP {test}: needs `{tool}` (Debian package {package}); .ci/run installs it");
    false
}

/// Turns an offload feature of `dev` on or off inside the namespace (`ethtool -K`).
pub fn set_feature(ns: &Netns, dev: &str, feature: &str, on: bool) {
    ns.exec(&["ethtool", "-K", dev, feature, if on { "on" } else { "off" }]);
}

/// Loads an nft ruleset (`nft -f -` syntax) into the namespace. The rules die with the namespace.
pub fn nft_load(ns: &Netns, ruleset: &str) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn nft");
    child.stdin.take().expect("stdin").write_all(ruleset.as_bytes()).expect("write ruleset");
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "nft -f failed for:\n{ruleset}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The packet count of the first `counter` in an nft chain (`nft list chain FAMILY TABLE CHAIN`).
pub fn nft_counter(ns: &Netns, family: &str, table: &str, chain: &str) -> u64 {
    let out = ns.exec(&["nft", "list", "chain", family, table, chain]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("counter packets ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter in chain {family} {table} {chain}:\n{text}"))
}

// ── global sysctls ─────────────────────────────────────────────────────────────────────────────

/// False (with a visible SKIP line) when the person running the suite opted out of tests that
/// change host-wide settings with `RXPATH_SKIP_GLOBAL=1`.
pub fn global_changes_allowed(test: &str) -> bool {
    if std::env::var("RXPATH_SKIP_GLOBAL").is_ok_and(|v| v == "1") {
        eprintln!("SKIP {test}: changes a global sysctl and RXPATH_SKIP_GLOBAL=1 is set");
        return false;
    }
    true
}

/// A global sysctl set for the life of the value, then restored: on Drop (panics included), on
/// SIGINT/SIGTERM/SIGHUP (a handler restores from a static copy and re-raises), and after a crash
/// by the next run, from a journal file written before anything is changed.
pub struct SysctlGuard {
    name: String,
    slot: usize,
}

const SLOTS: usize = 8;

struct Saved {
    path: CString,
    old: Vec<u8>,
}

/// What the signal handler restores: leaked entries, so the handler never frees or locks.
static ACTIVE: [AtomicPtr<Saved>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
/// The journal path as a C string, for unlink() in the handler.
static JOURNAL_C: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Sysctls held by a guard in this process: a second guard on the same one waits.
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());
static RELEASED: Condvar = Condvar::new();
/// Serialises slot and journal updates.
static JOURNAL_LOCK: Mutex<()> = Mutex::new(());

fn journal_path() -> PathBuf {
    // /run is emptied at boot, which also resets every sysctl: a journal there is never stale.
    let run = std::path::Path::new("/run");
    let dir = if run.is_dir() { run.to_path_buf() } else { std::env::temp_dir() };
    dir.join("rxpath-test-sysctl.journal")
}

fn sysctl_path(name: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(name.replace('.', "/"))
}

/// The start time (clock ticks since boot) of a process: with the pid, it tells a live writer of
/// the journal from a new process that reused its pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22; the fields after the parenthesised comm start at field 3.
    stat.rsplit_once(") ")?.1.split_whitespace().nth(19)?.parse().ok()
}

fn restore_file(path: &std::path::Path, value: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, value)
}

/// Restores what a crashed run left in the journal. Err when another live run holds it.
fn recover_journal(path: &std::path::Path) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let mut lines = text.lines();
    let owner = lines.next().unwrap_or("");
    let mut it = owner.split_whitespace();
    let (pid, start) = match (it.next(), it.next(), it.next()) {
        (Some("pid"), Some(p), Some(s)) => (p.parse::<u32>().ok(), s.parse::<u64>().ok()),
        _ => (None, None),
    };
    if let (Some(pid), Some(start)) = (pid, start) {
        if pid == std::process::id() {
            return Ok(());
        }
        if start_time(pid) == Some(start) {
            return Err(format!(
                "{} is held by another test run (pid {pid}) that changed global sysctls; \
                 not touching them while it runs",
                path.display()
            ));
        }
    }
    let mut failed = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once('\t') else { continue };
        match restore_file(&sysctl_path(name), value.as_bytes()) {
            Ok(()) => eprintln!("restored {name} = {value}, left changed by an earlier test run"),
            Err(e) => failed.push(format!("{name} = {value}: {e}")),
        }
    }
    if !failed.is_empty() {
        return Err(format!(
            "could not restore sysctls from {}: {}; restore them by hand and delete the file",
            path.display(),
            failed.join("; ")
        ));
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Rewrites the journal from the active slots (removes it when none is left). Atomic by rename,
/// so a crash mid-write leaves the old journal, never half of one.
fn write_journal(path: &std::path::Path) -> std::io::Result<()> {
    let mut body = String::new();
    for slot in &ACTIVE {
        let p = slot.load(Ordering::SeqCst);
        if p.is_null() {
            continue;
        }
        // SAFETY: entries are leaked and never freed.
        let s = unsafe { &*p };
        let name = s.path.to_string_lossy();
        let name = name.trim_start_matches("/proc/sys/").replace('/', ".");
        body.push_str(&format!("{name}\t{}\n", String::from_utf8_lossy(&s.old).trim()));
    }
    if body.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let me = std::process::id();
    let header = format!("pid {me} {}\n", start_time(me).unwrap_or(0));
    let tmp = path.with_extension("journal.tmp");
    std::fs::write(&tmp, header + &body)?;
    std::fs::rename(&tmp, path)
}

extern "C" fn restore_on_signal(sig: libc::c_int) {
    // Only async-signal-safe calls: open/write/close/unlink/signal/raise, atomics.
    let mut all_ok = true;
    for slot in &ACTIVE {
        let p = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if p.is_null() {
            continue;
        }
        // SAFETY: entries are leaked and never freed; paths are NUL-terminated CStrings.
        unsafe {
            let s = &*p;
            let fd = libc::open(s.path.as_ptr(), libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC);
            let ok = fd >= 0 && libc::write(fd, s.old.as_ptr().cast(), s.old.len()) >= 0;
            if fd >= 0 {
                libc::close(fd);
            }
            all_ok &= ok;
        }
    }
    let journal = JOURNAL_C.load(Ordering::SeqCst);
    // SAFETY: a leaked CString (or null); signal/raise with the signal we were given.
    unsafe {
        if all_ok && !journal.is_null() {
            libc::unlink(journal);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn install_signal_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let journal = CString::new(journal_path().into_os_string().into_encoded_bytes())
            .expect("journal path has no NUL");
        JOURNAL_C.store(journal.into_raw(), Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with a valid extern "C" handler; the handler only makes
            // async-signal-safe calls.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = restore_on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut sa.sa_mask);
                assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
            }
        }
    });
}

impl SysctlGuard {
    /// Sets global sysctl `name` (dotted, e.g. `net.core.netdev_max_backlog`) to `value`. Waits
    /// while another guard in this process holds the same sysctl. Err when a journal of another
    /// live run exists or a crashed run's values cannot be restored: the caller skips visibly.
    pub fn set(name: &str, value: &str) -> Result<SysctlGuard, String> {
        {
            let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
            while held.iter().any(|h| h == name) {
                held = RELEASED.wait(held).unwrap_or_else(|p| p.into_inner());
            }
            held.push(name.to_string());
        }
        let release = |name: &str| {
            let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
            held.retain(|h| h != name);
            RELEASED.notify_all();
        };
        match Self::set_held(name, value) {
            Ok(slot) => Ok(SysctlGuard { name: name.to_string(), slot }),
            Err(e) => {
                release(name);
                Err(e)
            }
        }
    }

    /// The value saved before the change (after any crashed run's value was restored): what
    /// Drop puts back.
    pub fn saved(&self) -> String {
        let p = ACTIVE[self.slot].load(Ordering::SeqCst);
        assert!(!p.is_null(), "{}: already restored by a signal", self.name);
        // SAFETY: entries are leaked and never freed.
        String::from_utf8_lossy(unsafe { &(*p).old }).trim().to_string()
    }

    fn set_held(name: &str, value: &str) -> Result<usize, String> {
        let _j = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        install_signal_handlers();
        let journal = journal_path();
        recover_journal(&journal)?;
        let path = sysctl_path(name);
        let old = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let saved = Box::new(Saved {
            path: CString::new(path.clone().into_os_string().into_encoded_bytes())
                .map_err(|e| e.to_string())?,
            old: old.clone(),
        });
        let ptr = Box::into_raw(saved);
        let slot = ACTIVE
            .iter()
            .position(|s| {
                s.compare_exchange(std::ptr::null_mut(), ptr, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
            .ok_or_else(|| format!("more than {SLOTS} sysctls changed at once"))?;
        // The journal is on disk before the value changes.
        if let Err(e) = write_journal(&journal) {
            ACTIVE[slot].store(std::ptr::null_mut(), Ordering::SeqCst);
            return Err(format!("{}: {e}; not changing {name}", journal.display()));
        }
        let set = std::fs::write(&path, value).and_then(|()| std::fs::read(&path));
        match set {
            Ok(now) if String::from_utf8_lossy(&now).trim() == value.trim() => Ok(slot),
            other => {
                let _ = restore_file(&path, &old);
                ACTIVE[slot].store(std::ptr::null_mut(), Ordering::SeqCst);
                let _ = write_journal(&journal);
                Err(format!("cannot set {name} = {value}: {other:?}"))
            }
        }
    }
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        {
            let _j = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let p = ACTIVE[self.slot].load(Ordering::SeqCst);
            // Null when a signal handler already restored it (the process is then going away).
            if !p.is_null() {
                // SAFETY: entries are leaked and never freed.
                let s = unsafe { &*p };
                let path = PathBuf::from(s.path.to_string_lossy().into_owned());
                match restore_file(&path, &s.old) {
                    Ok(()) => {
                        ACTIVE[self.slot].store(std::ptr::null_mut(), Ordering::SeqCst);
                        if let Err(e) = write_journal(&journal_path()) {
                            eprintln!("sysctl journal {}: {e}", journal_path().display());
                        }
                    }
                    // Left in the journal, so the next run restores it.
                    Err(e) => eprintln!(
                        "could not restore {} = {}: {e}; the next test run retries from {}",
                        self.name,
                        String::from_utf8_lossy(&s.old).trim(),
                        journal_path().display()
                    ),
                }
            }
        }
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|h| *h != self.name);
        RELEASED.notify_all();
    }
}

/// Restores what a crashed run left in the journal (the guard also does this before any change).
/// Err when another live run holds the journal or a value cannot be written back.
pub fn recover_sysctls() -> Result<(), String> {
    let _j = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    recover_journal(&journal_path())
}

/// Where guards journal the values they will restore.
pub fn sysctl_journal() -> PathBuf {
    journal_path()
}

/// The current value of a sysctl, trimmed.
pub fn sysctl_read(name: &str) -> String {
    let path = sysctl_path(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

// ── crafted frames ─────────────────────────────────────────────────────────────────────────────

/// What is wrong with a crafted frame, and the counter it moves (KERNEL.md §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A well-formed datagram.
    None,
    /// IPv4 header checksum wrong: Ip.InHdrErrors and IpExt.InCsumErrors.
    IpChecksum,
    /// Version field 6 in an 0x0800 frame: Ip.InHdrErrors.
    IpVersion6,
    /// tot_len `n` bytes longer than what the frame carries: IpExt.InTruncatedPkts.
    TotLenBeyondFrame(u16),
    /// UDP checksum wrong: Udp.InCsumErrors and Udp.InErrors.
    UdpChecksum,
}

/// An Ethernet + IPv4 + UDP frame built by hand.
#[derive(Clone, Debug)]
pub struct Udp4Frame {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub payload: Vec<u8>,
    pub fault: Fault,
}

impl Udp4Frame {
    /// A frame from `a` to `b` of a veth pair.
    pub fn over(pair: &VethPair, dport: u16, payload_len: usize, fault: Fault) -> Udp4Frame {
        Udp4Frame {
            src_mac: pair.a_mac,
            dst_mac: pair.b_mac,
            src: pair.a_ip,
            dst: pair.b_ip,
            sport: 40000,
            dport,
            payload: vec![0x5a; payload_len],
            fault,
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let udp_len = u16::try_from(8 + self.payload.len()).expect("payload fits a datagram");
        let mut tot_len = 20 + udp_len;
        if let Fault::TotLenBeyondFrame(extra) = self.fault {
            tot_len += extra;
        }
        let mut f = Vec::with_capacity(14 + 20 + usize::from(udp_len));
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&0x0800u16.to_be_bytes());

        let version: u8 = if self.fault == Fault::IpVersion6 { 6 } else { 4 };
        let mut ip = [0u8; 20];
        ip[0] = (version << 4) | 5;
        ip[2..4].copy_from_slice(&tot_len.to_be_bytes());
        ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF, no fragments
        ip[8] = 64;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let mut csum = inet_checksum(&[&ip]);
        if self.fault == Fault::IpChecksum {
            csum = wrong(csum);
        }
        ip[10..12].copy_from_slice(&csum.to_be_bytes());
        f.extend_from_slice(&ip);

        let mut udp = [0u8; 8];
        udp[0..2].copy_from_slice(&self.sport.to_be_bytes());
        udp[2..4].copy_from_slice(&self.dport.to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&self.src.octets());
        pseudo[4..8].copy_from_slice(&self.dst.octets());
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
        let mut ucsum = match inet_checksum(&[&pseudo, &udp, &self.payload]) {
            0 => 0xffff, // 0 means "no checksum" in UDP over IPv4
            c => c,
        };
        if self.fault == Fault::UdpChecksum {
            ucsum = wrong(ucsum);
        }
        udp[6..8].copy_from_slice(&ucsum.to_be_bytes());
        f.extend_from_slice(&udp);
        f.extend_from_slice(&self.payload);
        f
    }
}

/// A checksum that is certainly wrong and not 0 (which UDP would read as "none").
fn wrong(c: u16) -> u16 {
    if c == 0x1234 { 0x4321 } else { 0x1234 }
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts` (each of even length but
/// the last).
pub fn inet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut bytes = parts.iter().flat_map(|p| p.iter().copied());
    while let Some(hi) = bytes.next() {
        let lo = bytes.next().unwrap_or(0);
        sum += u32::from(u16::from_be_bytes([hi, lo]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An AF_PACKET socket that sends whole Ethernet frames out of one interface. The interface is
/// looked up in the namespace of the thread that opens it: open it inside `Netns::enter`.
pub struct PacketSender {
    fd: OwnedFd,
    ifname: String,
}

impl PacketSender {
    pub fn open(ifname: &str) -> PacketSender {
        let cname = CString::new(ifname).expect("interface name");
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        assert!(ifindex != 0, "{ifname}: {}", std::io::Error::last_os_error());
        // Protocol 0: this socket only sends, it receives nothing.
        // SAFETY: plain syscall, result checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(raw >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain data; all-zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: a valid socket and a sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET to {ifname}: {}", std::io::Error::last_os_error());
        PacketSender { fd, ifname: ifname.to_string() }
    }

    pub fn send(&self, frame: &[u8]) {
        // SAFETY: a valid socket and a buffer of the length given.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert!(
            n == frame.len() as isize,
            "send {} bytes on {}: {n} ({})",
            frame.len(),
            self.ifname,
            std::io::Error::last_os_error()
        );
    }
}
