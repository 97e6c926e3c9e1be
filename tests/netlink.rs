//! Netlink readers: real replies captured on the 6.18 virtio host (tests/fixtures/netlink), mutated
//! copies of them, the live kernel as any user, and — as root — a veth pair in a network namespace
//! the test creates, with known traffic and a crafted wrong-MAC frame.

mod common;

use proptest::prelude::*;
use rxpath::Avail;
use rxpath::root::Root;
use rxpath::source::netlink::socket::{Msg, Msgs};
use rxpath::source::netlink::{NetdevGenl, QueueType, genl, netdev, read_links, rtnl};
use std::process::Command;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/netlink/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

fn msgs(buf: &[u8]) -> Vec<Msg<'_>> {
    Msgs::new(buf).collect::<Result<_, _>>().unwrap()
}

const FIXTURES: [&str; 6] = [
    "rtm_getlink.bin",
    "ctrl_getfamily_netdev.bin",
    "netdev_queue_get.bin",
    "netdev_napi_get.bin",
    "netdev_qstats_get_queue.bin",
    "netdev_qstats_get_device.bin",
];

// ------------------------------------------------------------------------------------------------
// Captured replies
// ------------------------------------------------------------------------------------------------

#[test]
fn fixture_rtm_getlink_has_four_links_with_full_stats64() {
    let buf = fixture("rtm_getlink.bin");
    let links: Vec<_> = msgs(&buf).iter().map(|m| rtnl::parse_link(m.payload).unwrap()).collect();
    let names: Vec<_> = links.iter().map(|l| (l.ifindex, l.ifname.as_str())).collect();
    assert_eq!(names, [(1, "lo"), (2, "ifb0"), (3, "ifb1"), (4, "eth0")]);
    for l in &links {
        assert_eq!(l.stats64.len(), 25, "{}: 6.18 sends all of rtnl_link_stats64", l.ifname);
    }
    let lo = &links[0].stats64;
    assert_eq!((lo["rx_packets"], lo["tx_packets"]), (80, 80));
    assert_eq!((lo["rx_bytes"], lo["tx_bytes"]), (14741, 14741));
    let eth0 = &links[3].stats64;
    assert_eq!(eth0["rx_packets"], 2518);
    assert_eq!(eth0["rx_bytes"], 39992862);
    assert_eq!(eth0["tx_packets"], 2094);
    assert_eq!(eth0["tx_bytes"], 185388);
    assert_eq!(eth0["rx_missed_errors"], 0);
    assert_eq!(eth0["rx_otherhost_dropped"], 0);
}

#[test]
fn fixture_netdev_family() {
    let buf = fixture("ctrl_getfamily_netdev.bin");
    let m = msgs(&buf);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].kind, genl::GENL_ID_CTRL);
    let f = genl::parse_family(m[0].payload).unwrap();
    assert_eq!((f.id, f.name.as_str(), f.version), (0x14, "netdev", 1));
    let ids: Vec<_> = f.ops.iter().map(|o| (o.id, o.flags)).collect();
    assert_eq!(ids, [(1, 14), (5, 14), (10, 14), (11, 14), (12, 12), (13, 11), (14, 11), (15, 10)]);
    assert!(f.can_dump(netdev::NETDEV_CMD_QUEUE_GET));
    assert!(f.can_dump(netdev::NETDEV_CMD_NAPI_GET));
    assert!(f.can_dump(netdev::NETDEV_CMD_QSTATS_GET));
    assert!(!f.can_dump(13), "bind-rx is do-only");
}

#[test]
fn fixture_netdev_queues_napi_and_qstats() {
    let buf = fixture("netdev_queue_get.bin");
    let queues: Vec<_> =
        msgs(&buf).iter().map(|m| netdev::parse_queue(m.payload).unwrap()).collect();
    let q: Vec<_> = queues.iter().map(|q| (q.ifindex, q.id, q.type_, q.napi_id)).collect();
    assert_eq!(
        q,
        [
            (1, 0, QueueType::Rx, None),
            (1, 0, QueueType::Tx, None),
            (4, 0, QueueType::Rx, Some(257)),
            (4, 0, QueueType::Tx, None),
        ]
    );

    let buf = fixture("netdev_napi_get.bin");
    let napis: Vec<_> = msgs(&buf).iter().map(|m| netdev::parse_napi(m.payload).unwrap()).collect();
    assert_eq!(napis.len(), 1);
    let n = &napis[0];
    assert_eq!((n.ifindex, n.id), (4, 257));
    // virtio_net on 6.18 does not tell the NAPI its IRQ, and it is not threaded.
    assert_eq!((n.irq, n.pid), (None, None));
    assert_eq!(n.defer_hard_irqs, Some(0));
    assert_eq!(n.gro_flush_timeout, Some(0));
    assert_eq!(n.irq_suspend_timeout, Some(0));

    let buf = fixture("netdev_qstats_get_queue.bin");
    let qs: Vec<_> = msgs(&buf).iter().map(|m| netdev::parse_qstats(m.payload).unwrap()).collect();
    assert_eq!(qs.len(), 2);
    assert_eq!(
        (qs[0].ifindex, qs[0].queue_type, qs[0].queue_id),
        (4, Some(QueueType::Rx), Some(0))
    );
    let rx: Vec<_> = qs[0].counters.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(rx, [("rx-packets", 2518), ("rx-bytes", 39992862)]);
    let tx: Vec<_> = qs[1].counters.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(tx, [("tx-packets", 2094), ("tx-bytes", 185388), ("tx-stop", 0), ("tx-wake", 0)]);
    assert_eq!(qs[1].queue_type, Some(QueueType::Tx));

    let buf = fixture("netdev_qstats_get_device.bin");
    let d: Vec<_> = msgs(&buf).iter().map(|m| netdev::parse_qstats(m.payload).unwrap()).collect();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].ifindex, d[0].queue_type, d[0].queue_id), (4, None, None));
    assert_eq!(d[0].counters["rx-packets"], 2518);
    assert_eq!(d[0].counters["tx-bytes"], 185388);
    assert_eq!(d[0].counters.len(), 6);
}

/// Every parser over every captured message, after truncation or byte insertion, returns a
/// value or an error — never a panic.
fn all_parsers(buf: &[u8]) {
    for m in Msgs::new(buf).map_while(Result::ok) {
        let _ = rtnl::parse_link(m.payload);
        let _ = genl::parse_family(m.payload);
        let _ = netdev::parse_queue(m.payload);
        let _ = netdev::parse_napi(m.payload);
        let _ = netdev::parse_qstats(m.payload);
    }
    let _ = rtnl::parse_link(buf);
    let _ = netdev::parse_qstats(buf);
    let mut out = Vec::new();
    let mut intr = false;
    let _ = rxpath::source::netlink::socket::process_datagram(buf, 0, 0, &mut out, &mut intr);
}

#[test]
fn fixture_every_truncation_is_handled() {
    for f in FIXTURES {
        let b = fixture(f);
        for n in 0..b.len() {
            all_parsers(&b[..n]);
        }
    }
}

proptest! {
    #[test]
    fn fixture_mutations_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut b = fixture(FIXTURES[which]);
        for (at, byte, op) in edits {
            let i = at.index(b.len() + 1);
            match op {
                0 => b.insert(i, byte),
                1 if i < b.len() => b[i] = byte,
                _ => b.truncate(i),
            }
        }
        all_parsers(&b);
    }
}

// ------------------------------------------------------------------------------------------------
// Live, any user
// ------------------------------------------------------------------------------------------------

#[test]
fn live_links_include_loopback() {
    let links = match read_links() {
        Avail::Value(l) => l,
        Avail::Unavailable(u) => panic!("RTM_GETLINK failed: {u}"),
    };
    let lo = links.iter().find(|l| l.ifname == "lo").expect("lo in the link dump");
    assert_eq!(lo.ifindex, 1);
    assert!(lo.stats64.contains_key("rx_packets"));
    assert!(lo.stats64.len() >= 23, "every kernel since 2.6.35 sends at least 23 fields");
}

fn ifindex_of(root: &Root, ifname: &str) -> Option<u32> {
    root.read_trimmed(&format!("/sys/class/net/{ifname}/ifindex")).ok()?.parse().ok()
}

#[test]
fn live_netdev_family_on_this_host() {
    let root = Root::live();
    let g = match NetdevGenl::read() {
        Avail::Value(g) => g,
        Avail::Unavailable(u) => {
            // Only acceptable on kernels older than the family.
            assert!(u.why.contains("no netdev netlink family"), "unexpected: {u}");
            eprintln!("netdev family absent on this kernel: {u}");
            return;
        }
    };
    let queues = g.queues.value().expect("queue-get dump");
    let driver = root.read_link("/sys/class/net/eth0/device/driver").ok();
    let is_virtio = driver.as_ref().is_some_and(|p| p.ends_with("virtio_net"));
    let Some(eth0) = ifindex_of(&root, "eth0").filter(|_| is_virtio) else {
        eprintln!("SKIP host-specific part: no virtio_net eth0 here (driver {driver:?})");
        return;
    };
    // The verified host: one rx and one tx queue on eth0, the rx queue served by a NAPI.
    let rx0 = queues
        .iter()
        .find(|q| q.ifindex == eth0 && q.id == 0 && q.type_ == QueueType::Rx)
        .expect("eth0 rx queue 0");
    assert!(queues.iter().any(|q| q.ifindex == eth0 && q.type_ == QueueType::Tx));
    let napi_id = rx0.napi_id.expect("virtio_net links its rx queue to a NAPI");
    let napis = g.napis.value().expect("napi-get dump");
    let napi = napis.iter().find(|n| n.id == napi_id).expect("the rx queue's NAPI");
    assert_eq!(napi.ifindex, eth0);
    // virtio_net (6.18) does not call netif_napi_set_irq, so the kernel sends no irq; if a later
    // kernel does, it must be one of the device's MSI-X vectors.
    if let Some(irq) = napi.irq {
        let msi = root.read_dir("/sys/class/net/eth0/device/../msi_irqs").unwrap_or_default();
        assert!(msi.contains(&irq.to_string()), "irq {irq} not in msi_irqs {msi:?}");
    }
    assert_eq!(napi.pid, None, "NAPI is not threaded on the verified host");
    assert!(napi.gro_flush_timeout.is_some());

    // virtio_net has queue stats ops (rx-packets/bytes; hw drops only with device stats).
    let qstats = g.qstats.value().expect("qstats-get (queue scope) on virtio_net");
    let q0 = qstats
        .iter()
        .find(|s| s.ifindex == eth0 && s.queue_type == Some(QueueType::Rx) && s.queue_id == Some(0))
        .expect("eth0 rx queue 0 stats");
    assert!(q0.counters.contains_key("rx-packets"));
    let dev = g.qstats_device.value().expect("qstats-get (device scope)");
    let d = dev.iter().find(|s| s.ifindex == eth0).expect("eth0 device stats");
    assert_eq!((d.queue_type, d.queue_id), (None, None));
    assert!(d.counters.contains_key("rx-bytes"));
}

/// qstats and rtnl stats64 count the same packets on virtio_net: a qstats reading taken between two
/// link readings lies between them.
#[test]
fn live_qstats_agree_with_stats64() {
    let root = Root::live();
    let Some(eth0) = ifindex_of(&root, "eth0") else {
        eprintln!("SKIP: no eth0");
        return;
    };
    let rx = |links: Avail<Vec<rtnl::Link>>| {
        links
            .value()
            .and_then(|l| l.iter().find(|l| l.ifindex == eth0).map(|l| l.stats64["rx_packets"]))
    };
    let before = rx(read_links());
    let g = NetdevGenl::read();
    let after = rx(read_links());
    let q = g.value().and_then(|g| g.qstats_device.value()).and_then(|d| {
        d.iter().find(|s| s.ifindex == eth0).and_then(|s| s.counters.get("rx-packets").copied())
    });
    let (Some(b), Some(q), Some(a)) = (before, q, after) else {
        eprintln!("SKIP: eth0 has no device qstats here");
        return;
    };
    assert!(b <= q && q <= a, "stats64 {b} <= qstats {q} <= stats64 {a}");
}

// ------------------------------------------------------------------------------------------------
// Live, root: a network namespace made by the test
// ------------------------------------------------------------------------------------------------

/// rx packets and bytes of `ifname` from /proc/thread-self/net/dev (the thread's netns; sysfs
/// would show the netns of the /sys mount instead).
fn proc_net_dev_rx(ifname: &str) -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else { continue };
        if name.trim() == ifname {
            let v: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap()).collect();
            return (v[1], v[0]);
        }
    }
    panic!("{ifname} not in /proc/thread-self/net/dev:\n{text}");
}

fn link_stats(ifname: &str) -> rxpath::source::CounterMap {
    match read_links() {
        Avail::Value(l) => {
            l.into_iter().find(|l| l.ifname == ifname).expect("link in the netns").stats64
        }
        Avail::Unavailable(u) => panic!("{u}"),
    }
}

fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A crafted Ethernet/IPv4/UDP frame from v0 to 198.18.0.2 whose destination MAC is nobody's.
fn wrong_mac_frame(src_mac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99]); // not v1's 02:00:00:00:00:02
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2];
    let sum = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x30, 0x39, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00]); // UDP 12345 -> 9
    f.resize(60, 0); // minimum Ethernet frame
    f
}

fn send_packet_frames(ifindex: u32, frame: &[u8], count: usize) {
    // SAFETY: plain socket(2); checked below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
    // SAFETY: sockaddr_ll is plain data.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&frame[..6]);
    for _ in 0..count {
        // SAFETY: frame and sll are valid for the given lengths.
        let n = unsafe {
            libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(n, frame.len() as isize, "sendto: {}", std::io::Error::last_os_error());
    }
    // SAFETY: our fd, closed once.
    unsafe { libc::close(fd) };
}

/// In netns rxpath-nl-<pid>: veth v0 (198.18.0.1/24, 02:00:00:00:00:01) ↔ v1 (02:00:00:00:00:02,
/// no address). Both ends live in one namespace, so a datagram to an address of v1 would be
/// delivered over lo; instead v1 has no address and v0 has a permanent neighbour entry for
/// 198.18.0.2 → v1's MAC, so every datagram crosses the veth and is counted by v1 (then dropped
/// by IP as not-local, which does not matter here). IPv6 is disabled in the namespace so no
/// DAD/RS packets move the counters behind the test's back.
#[test]
fn root_netns_veth_counts_udp_and_otherhost() {
    if !common::require_root("root_netns_veth_counts_udp_and_otherhost") {
        return;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("SKIP root_netns_veth_counts_udp_and_otherhost: no `ip` binary");
        return;
    }
    let netns = common::Netns::new("nl");
    let ns = netns.name.clone();

    // Per-netns sysctls, written from a thread inside the namespace before the links exist.
    netns.enter(|| {
        for f in ["all", "default"] {
            let p = format!("/proc/sys/net/ipv6/conf/{f}/disable_ipv6");
            let _ = std::fs::write(p, "1");
        }
    });
    common::run(&[
        "ip",
        "-n",
        &ns,
        "link",
        "add",
        "v0",
        "address",
        "02:00:00:00:00:01",
        "type",
        "veth",
        "peer",
        "name",
        "v1",
        "address",
        "02:00:00:00:00:02",
    ]);
    common::run(&["ip", "-n", &ns, "addr", "add", "198.18.0.1/24", "dev", "v0"]);
    common::run(&["ip", "-n", &ns, "link", "set", "v0", "up"]);
    common::run(&["ip", "-n", &ns, "link", "set", "v1", "up"]);
    common::run(&[
        "ip",
        "-n",
        &ns,
        "neigh",
        "replace",
        "198.18.0.2",
        "lladdr",
        "02:00:00:00:00:02",
        "dev",
        "v0",
        "nud",
        "permanent",
    ]);

    netns.enter(|| {
        // The link dump of this thread shows the namespace's links only.
        let links = read_links().into_value().expect("RTM_GETLINK in the netns");
        let mut names: Vec<_> = links.iter().map(|l| l.ifname.as_str()).collect();
        names.sort();
        assert_eq!(names, ["lo", "v0", "v1"]);
        let v0 = links.iter().find(|l| l.ifname == "v0").unwrap().ifindex;

        // Quiet first: wait until v1's counters stop moving (link-up can emit a frame or two).
        let mut last = link_stats("v1")["rx_packets"];
        wait_until(|| {
            std::thread::sleep(Duration::from_millis(100));
            let now = link_stats("v1")["rx_packets"];
            std::mem::replace(&mut last, now) == now
        });
        let before = link_stats("v1");

        let sock = std::net::UdpSocket::bind("198.18.0.1:0").expect("bind in the netns");
        for i in 0..50u8 {
            sock.send_to(&[i; 32], "198.18.0.2:9").expect("send");
        }
        let arrived = wait_until(|| link_stats("v1")["rx_packets"] >= before["rx_packets"] + 50);
        assert!(arrived, "v1 rx_packets did not grow by 50");

        // stats64 and /proc/net/dev of this thread's netns agree exactly, read while nothing
        // moves (a netlink reading equal before and after the /proc reading).
        let mut consistent = None;
        for _ in 0..20 {
            let a = link_stats("v1");
            let (p_pk, p_by) = proc_net_dev_rx("v1");
            let b = link_stats("v1");
            if a == b {
                consistent = Some((a, p_pk, p_by));
                break;
            }
        }
        let (after, p_pk, p_by) = consistent.expect("v1 counters never stood still");
        assert_eq!(after["rx_packets"], p_pk, "stats64 vs /proc/thread-self/net/dev");
        assert_eq!(after["rx_bytes"], p_by);
        let delta = after["rx_packets"] - before["rx_packets"];
        assert!(delta >= 50, "rx_packets delta {delta}");
        // 50 × (14 Ethernet + 20 IP + 8 UDP + 32 data) bytes at least.
        assert!(after["rx_bytes"] - before["rx_bytes"] >= 50 * 74);
        assert_eq!(after["rx_otherhost_dropped"], before["rx_otherhost_dropped"]);

        // A wrong destination MAC: only rx_otherhost_dropped moves (KERNEL.md §10), and only
        // netlink shows it.
        let frame = wrong_mac_frame([0x02, 0, 0, 0, 0, 0x01]);
        send_packet_frames(v0, &frame, 5);
        let other_before = after["rx_otherhost_dropped"];
        let moved = wait_until(|| link_stats("v1")["rx_otherhost_dropped"] >= other_before + 5);
        let end = link_stats("v1");
        assert!(
            moved,
            "rx_otherhost_dropped {} -> {} after 5 wrong-MAC frames",
            other_before, end["rx_otherhost_dropped"]
        );
        assert_eq!(end["rx_otherhost_dropped"] - other_before, 5, "exactly our 5 frames");
        assert_eq!(end["rx_packets"] - after["rx_packets"], 5, "the frames were received");

        // The netdev family answers inside the namespace too: veth has queues but no qstats ops.
        if let Avail::Value(g) = NetdevGenl::read() {
            let q = g.queues.value().expect("queue-get in the netns");
            let v1 = links.iter().find(|l| l.ifname == "v1").unwrap().ifindex;
            assert!(q.iter().any(|q| q.ifindex == v1 && q.type_ == QueueType::Rx));
        }
    });
}
