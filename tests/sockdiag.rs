//! Per-socket UDP drops from sock_diag and the process owning a socket: a fixture tree for the
//! /proc/*/fd scan, and — as root — a socket with a full receive buffer in a network namespace the
//! test creates, whose sock_diag `drops` must equal the namespace's RcvbufErrors growth exactly.

mod common;

use common::{Netns, require_root};
use rxpath::Avail;
use rxpath::root::Root;
use rxpath::source::netlink::sockdiag;
use rxpath::source::owners::{self, Owner};
use rxpath::source::snmp;
use rxpath::source::udp::{self, Family, UdpSocket, UdpSockets, UdpSource};
use rxpath::{Sample, capture};
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

// ------------------------------------------------------------------------------------------------
// owners on a fixture tree
// ------------------------------------------------------------------------------------------------

/// proc/<pid>/fd/<n> → target for each link, proc/<pid>/comm when `comm` is given.
fn process(root: &Path, pid: u32, comm: Option<&str>, fds: &[(u32, &str)]) {
    let dir = root.join(format!("proc/{pid}"));
    std::fs::create_dir_all(dir.join("fd")).unwrap();
    if let Some(c) = comm {
        std::fs::write(dir.join("comm"), format!("{c}\n")).unwrap();
    }
    for (fd, target) in fds {
        symlink(target, dir.join(format!("fd/{fd}"))).unwrap();
    }
}

/// A sampler's root remembers what its scans found, for `REMEMBERED_FOR`: a process gone since
/// is still given as the owner, until a socket not looked for yet makes it scan again. A one-shot
/// root and a recording one (a capture must hold the scan's reads) scan every time.
#[test]
fn a_sampler_root_remembers_owners_found() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    process(t, 100, Some("named"), &[(3, "socket:[123]")]);
    process(t, 200, Some("ntpd"), &[(4, "socket:[456]")]);
    let kept = Root::at(t).keep_open();
    let recording = Root::at(t).keep_open().recording();
    for root in [&kept, &recording] {
        assert_eq!(owned(&owners::find(root, &[123, 789]), 123), [(100, "named")]);
    }
    std::fs::remove_dir_all(t.join("proc/100")).unwrap();
    // 789 has no owner: that too was found, so nothing is read again.
    assert_eq!(owned(&owners::find(&kept, &[123, 789]), 123), [(100, "named")]);
    assert_eq!(owned(&owners::find(&kept, &[123]), 123), [(100, "named")]);
    for root in [&recording, &Root::at(t)] {
        assert_eq!(owned(&owners::find(root, &[123]), 123), []);
    }
    // 456 was never looked for: a new scan, which finds pid 100 gone.
    let r = owners::find(&kept, &[123, 456]);
    assert_eq!((owned(&r, 123), owned(&r, 456)), (vec![], vec![(200, "ntpd")]));
}

fn owned(r: &Avail<std::collections::HashMap<u64, Vec<Owner>>>, inode: u64) -> Vec<(u32, &str)> {
    let map = r.value().expect("owners scanned");
    map.get(&inode).map_or(vec![], |v| v.iter().map(|o| (o.pid, o.comm.as_str())).collect())
}

#[test]
fn owners_found_through_proc_fd_in_a_fixture_tree() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    process(t, 100, Some("named"), &[(0, "/dev/null"), (3, "socket:[123]"), (4, "pipe:[123]")]);
    // A forked worker sharing the socket, dup'ed to two fds.
    process(t, 2000, Some("named-worker"), &[(5, "socket:[123]"), (9, "socket:[123]")]);
    // Gone while scanned: fds listed, no comm any more.
    process(t, 300, None, &[(7, "socket:[456]")]);
    // fd entries that are not numbers, and an fd dir that is not there (denied, vanished).
    process(t, 400, Some("other"), &[(1, "socket:[789]")]);
    symlink("socket:[456]", t.join("proc/400/fd/cwd")).unwrap();
    std::fs::create_dir_all(t.join("proc/500")).unwrap();
    std::fs::create_dir_all(t.join("proc/self/fd")).unwrap();
    symlink("socket:[456]", t.join("proc/self/fd/1")).unwrap();
    std::fs::create_dir_all(t.join("proc/net")).unwrap();
    let root = Root::at(t);

    // 456 is never found, so every process is scanned: both holders of 123, sorted by pid.
    let r = owners::find(&root, &[123, 456, 789]);
    assert_eq!(owned(&r, 123), [(100, "named"), (2000, "named-worker")]);
    assert_eq!(owned(&r, 789), [(400, "other")]);
    assert_eq!(owned(&r, 456), [], "pid 300 vanished; cwd and self are not fds of a pid");
    assert_eq!(r.value().unwrap().len(), 2);

    // Once every wanted inode has an owner the scan stops: pid 2000 comes after and is not seen.
    let r = owners::find(&root, &[123]);
    assert_eq!(owned(&r, 123), [(100, "named")]);

    // sock_diag's 32-bit inode finds a socket whose fd link prints a wider number.
    let wide = (1u64 << 32) | 4242;
    process(t, 600, Some("wide"), &[(3, &format!("socket:[{wide}]"))]);
    let r = owners::find(&root, &[4242]);
    assert_eq!(owned(&r, 4242), [(600, "wide")]);

    assert_eq!(owners::find(&root, &[]), Avail::Value(Default::default()));
    let no_proc = tempfile::tempdir().unwrap();
    let r = owners::find(&Root::at(no_proc.path()), &[123]);
    assert_eq!(r.unavailable().map(|u| u.what.as_str()), Some("/proc"));
}

// ------------------------------------------------------------------------------------------------
// Live, root: a full receive buffer in a network namespace made by the test
// ------------------------------------------------------------------------------------------------

const DATAGRAMS: usize = 200;

/// The inode of a socket fd, from its `/proc/self/fd/N -> socket:[N]` link.
fn socket_inode(fd: i32) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    owners::socket_inode(link.to_str().unwrap()).unwrap()
}

fn set_rcvbuf(sock: &StdUdp, bytes: libc::c_int) {
    // SAFETY: a valid socket fd and an int option of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
}

/// The thread's netns RcvbufErrors: Udp.RcvbufErrors or Udp6RcvbufErrors. /proc/net is the
/// process's netns; /proc/thread-self/net is the thread's.
fn rcvbuf_errors(family: Family) -> i64 {
    match family {
        Family::Inet => {
            let t = std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap();
            snmp::parse(&t).unwrap().get("Udp", "RcvbufErrors").unwrap()
        }
        Family::Inet6 => {
            let t = std::fs::read_to_string("/proc/thread-self/net/snmp6").unwrap();
            snmp::parse_snmp6(&t).unwrap()["Udp6RcvbufErrors"]
        }
    }
}

/// The same socket as /proc/thread-self/net/udp{,6} prints it.
fn proc_row(family: Family, inode: u64) -> UdpSocket {
    let file = if family == Family::Inet { "udp" } else { "udp6" };
    let t = std::fs::read_to_string(format!("/proc/thread-self/net/{file}")).unwrap();
    let v = udp::parse_with_endianness(&t, family, udp::Endian::NATIVE).unwrap();
    v.into_iter().find(|s| s.inode == inode).expect("our socket in /proc/thread-self/net/udp")
}

/// What the scene saw, read in the namespace.
struct Scene {
    /// The never-read receiver: kept open so its owner can be looked up.
    _rx: StdUdp,
    port: u16,
    inode: u64,
    sockets: UdpSockets,
    drops: i64,
    proc_row: UdpSocket,
}

/// In `ns`: binds a receiver on `addr` with SO_RCVBUF 2048, never reads it, sends it 200 × 200
/// bytes from another socket, then reads the sockets through sock_diag once the kernel's
/// RcvbufErrors has stopped moving and agrees with the socket's drops.
fn full_buffer(ns: &Netns, addr: &'static str, family: Family) -> Scene {
    ns.enter(move || {
        let rx = StdUdp::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        set_rcvbuf(&rx, 2048);
        let to: SocketAddr = rx.local_addr().unwrap();
        let inode = socket_inode(rx.as_raw_fd());
        let before = rcvbuf_errors(family);
        let tx = StdUdp::bind(addr).unwrap();
        for _ in 0..DATAGRAMS {
            tx.send_to(&[0x5a; 200], to).unwrap();
        }
        // Loopback delivers in softirq context, normally before send_to returns; wait for the
        // counters to settle rather than trusting that.
        for _ in 0..100 {
            let grown = rcvbuf_errors(family) - before;
            let sockets = udp::from_sock_diag(match &sockdiag::read_udp() {
                Avail::Value(v) => v,
                Avail::Unavailable(u) => panic!("sock_diag in a fresh netns: {u}"),
            });
            let settled = rcvbuf_errors(family) - before == grown;
            let drops = sockets.iter().find(|s| s.inode == inode).and_then(|s| s.drops);
            if settled && grown > 0 && drops == u64::try_from(grown).ok() {
                let proc_row = proc_row(family, inode);
                return Scene { _rx: rx, port: to.port(), inode, sockets, drops: grown, proc_row };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("RcvbufErrors and the socket's drops never agreed within 2 s");
    })
}

fn check(scene: &Scene, family: Family, local: &str) {
    assert_eq!(scene.sockets.source, UdpSource::SockDiag);
    let (mine, other) = match family {
        Family::Inet => (&scene.sockets.udp, &scene.sockets.udp6),
        Family::Inet6 => (&scene.sockets.udp6, &scene.sockets.udp),
    };
    let mine = mine.value().unwrap();
    let s = mine.iter().find(|s| s.local_port == scene.port).expect("our port in the dump");
    assert_eq!(s.inode, scene.inode, "found by port, same inode as its fd link");
    assert_eq!(s.family, family);
    assert_eq!(s.local_address, local.parse::<std::net::IpAddr>().unwrap());
    assert_eq!(s.st, 7, "unconnected: TCP_CLOSE");
    assert_eq!(s.uid, 0);
    assert_eq!(s.drops, Some(scene.drops as u64), "sk_drops == RcvbufErrors growth");
    assert!(scene.drops >= (DATAGRAMS / 2) as i64, "only a few fit: {} dropped", scene.drops);
    assert_eq!(s.rcvbuf, Some(4096), "SO_RCVBUF 2048, doubled by the kernel");
    assert!(s.rx_queue > 0 && s.rx_queue <= 4096 + 2048, "rx_queue {}", s.rx_queue);
    // /proc sees the same socket: same drops, and — never read, so no forward_deficit — the
    // same queue bytes.
    assert_eq!(scene.proc_row.drops, s.drops);
    assert_eq!(scene.proc_row.rx_queue, s.rx_queue);
    assert_eq!(scene.proc_row.rcvbuf, None);
    // The sender is there too; the other family has nothing in a fresh namespace.
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(other.value().unwrap(), &vec![]);
}

fn check_owner(scene: &Scene) {
    let me = std::process::id();
    // /proc/<pid>/comm is the executable's name cut to 15 bytes (TASK_COMM_LEN - 1).
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_str().unwrap();
    let comm = &name[..name.len().min(15)];
    let r = owners::find(&Root::live(), &[scene.inode]);
    let found = r.value().expect("/proc listable").get(&scene.inode).expect("an owner");
    assert!(
        found.contains(&Owner { pid: me, comm: comm.to_string() }),
        "pid {me} ({comm}) not among {found:?}"
    );
}

#[test]
fn sock_diag_ipv4_drops_match_rcvbuf_errors_and_owner_is_found() {
    if !require_root("sock_diag_ipv4_drops_match_rcvbuf_errors_and_owner_is_found") {
        return;
    }
    let ns = Netns::new("sd4");
    let scene = full_buffer(&ns, "127.0.0.1:0", Family::Inet);
    check(&scene, Family::Inet, "127.0.0.1");
    check_owner(&scene);
}

#[test]
fn sock_diag_ipv6_drops_match_rcvbuf_errors_and_owner_is_found() {
    if !require_root("sock_diag_ipv6_drops_match_rcvbuf_errors_and_owner_is_found") {
        return;
    }
    let ns = Netns::new("sd6");
    // Netns::new disables IPv6; lo alone gets it back (a per-namespace setting), so ::1 exists.
    ns.exec(&["sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/lo/disable_ipv6"]);
    let scene = full_buffer(&ns, "[::1]:0", Family::Inet6);
    check(&scene, Family::Inet6, "::1");
    check_owner(&scene);
}

/// `rxpath capture` keeps the sock_diag answer (no /proc/net/udp is read), and the capture
/// replays the same sockets.
#[test]
fn capture_replays_sock_diag_sockets() {
    if !require_root("capture_replays_sock_diag_sockets") {
        return;
    }
    let ns = Netns::new("sdcap");
    let scene = full_buffer(&ns, "127.0.0.1:0", Family::Inet);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cap");
    ns.exec(&[common::rxpath_bin(), "capture", target.to_str().unwrap()]);
    let live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join(capture::SAMPLE_FILE)).unwrap())
            .unwrap();
    let live: UdpSockets = serde_json::from_value(live["udp"].clone()).unwrap();
    assert_eq!(live.source, UdpSource::SockDiag);
    let s = live.iter().find(|s| s.inode == scene.inode).expect("our socket in the capture");
    assert_eq!((s.drops, s.rcvbuf), (Some(scene.drops as u64), Some(4096)));
    assert!(!target.join("proc/net/udp").exists(), "sock_diag answered: /proc/net/udp not read");

    let replayed = Sample::take(&Root::at(&target));
    assert_eq!(*replayed.udp, live);
    drop(scene);
}
