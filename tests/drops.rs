//! Real-kernel drop tests (issue 3), as root, each in network namespaces of its own. Each test
//! provokes one kind of drop (KERNEL.md §10) continuously while `rxpath report --json --interval 1`
//! runs inside the receiving namespace, so drops fall between its baseline and its later sample.
//!
//! Every test checks, in this order:
//! 1. the kernel: the counter the drop moves, read by the test itself from the namespace before
//!    and after, moved by exactly what was provoked (per-netns MIBs are exact);
//! 2. the sample inside the report: its value of that counter lies between the test's two reads
//!    and above the first (it was taken while drops went on), and a report taken once the
//!    namespace is quiet equals the kernel's value exactly;
//! 3. the report contract (REPORT-CONTRACT.md): the stage, the counter, the finding, the exit code,
//!    and for the receive-buffer case the socket and its owning process. Messages start with
//!    `contract:`.
//!
//! The tests run one at a time (`serial()`): softnet_stat is global, and the backlog test lowers a
//! global sysctl that would make another test's packets drop.

mod common;

use common::scenes::{
    Fault, PacketSender, Report, SysctlGuard, Udp4Frame, VethPair, drain, global_changes_allowed,
    if_stat, inet_checksum, inode_of, mib_value, nft_counter, nft_load, recover_sysctls, repeat,
    report_in, require_tool, sample_of, serial, set_feature, setsockopt_int, softnet_dropped,
    sysctl_journal, sysctl_read,
};
use common::{Netns, require_root};
use serde_json::Value;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Drops start this long before the report, so the baseline is already inside the provoking.
const LEAD_IN: Duration = Duration::from_millis(300);
const STAGES: [&str; 8] =
    ["nic", "irq", "softirq", "backlog", "ip", "netfilter", "transport", "socket"];

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a counter: {v}"))
}

/// Checks that the sample taken during the provoking saw the counter move past the test's first
/// read (`before`) but not past its last (`after`): it was read from the right file, live.
fn assert_bracketed(what: &str, sampled: u64, before: u64, after: u64) {
    assert!(
        before < sampled && sampled <= after,
        "sample {what} = {sampled}: expected after the drops began (> {before}) and at most the \
         final {after}"
    );
}

// ── the report contract ────────────────────────────────────────────────────────────────────────

fn stages(r: &Value) -> &Vec<Value> {
    r["path"]["stages"].as_array().unwrap_or_else(|| {
        panic!("contract: report has no path.stages: {}", keys(r));
    })
}

fn keys(v: &Value) -> String {
    v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn stage<'a>(r: &'a Value, name: &str) -> &'a Value {
    stages(r)
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("contract: no stage {name:?} in path.stages"))
}

/// The drops of one counter in a stage (one per `where`).
fn drops_of<'a>(stage: &'a Value, counter: &str) -> Vec<&'a Value> {
    stage["drops"]
        .as_array()
        .unwrap_or_else(|| panic!("contract: stage {} has no drops[]", stage["stage"]))
        .iter()
        .filter(|d| d["counter"] == counter)
        .collect()
}

fn counted(stage: &Value, counter: &str) -> u64 {
    drops_of(stage, counter).iter().map(|d| u(&d["count"])).sum()
}

/// The report's path: all eight stages in path order, and the stage `top` at the top.
fn assert_path(r: &Value, top: &str) {
    let names: Vec<&str> = stages(r).iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(names, STAGES, "contract: path.stages in path order");
    assert_eq!(r["path"]["top_stage"], top, "contract: path.top_stage; path: {}", r["path"]);
    assert!(u(&r["path"]["total_dropped"]["count"]) > 0, "contract: path.total_dropped");
}

/// The drop `counter` in stage `name` counted more than 0 and at most `most` in the interval.
fn assert_stage_counts(r: &Value, name: &str, counter: &str, most: u64) -> u64 {
    let st = stage(r, name);
    let n = counted(st, counter);
    assert!(
        n > 0 && n <= most,
        "contract: stage {name} {counter} = {n}, expected 1..={most}; stage: {st}"
    );
    for d in drops_of(st, counter) {
        assert_eq!(d["counted"], true, "contract: {counter} is a counted drop: {d}");
    }
    n
}

fn assert_finding(r: &Value, rule: &str, stage: &str) {
    let findings = r["findings"].as_array().expect("contract: findings[]");
    let f = findings.iter().find(|f| f["rule"] == rule).unwrap_or_else(|| {
        let rules: Vec<&Value> = findings.iter().map(|f| &f["rule"]).collect();
        panic!("contract: no finding {rule:?}; findings: {rules:?}")
    });
    assert_eq!(f["stage"], stage, "contract: finding {rule} stage: {f}");
    assert!(
        f["title"].as_str().is_some_and(|t| !t.is_empty()),
        "contract: finding {rule} has a title: {f}"
    );
}

fn assert_exit_findings(rep: &Report) {
    assert_eq!(rep.code, 1, "contract: exit code 1 when there are findings");
}

// ── the sample, fed by the right counters ──────────────────────────────────────────────────────

fn snmp(s: &Value, section: &str, field: &str) -> u64 {
    u(&s["snmp"][section][field])
}

fn netstat(s: &Value, section: &str, field: &str) -> u64 {
    u(&s["netstat"][section][field])
}

fn udp_row(s: &Value, port: u16) -> &Value {
    s["udp"]["udp"]
        .as_array()
        .expect("sample udp.udp")
        .iter()
        .find(|r| r["local_port"] == port)
        .unwrap_or_else(|| panic!("port {port} not in the sample's /proc/net/udp"))
}

fn iface_stat(s: &Value, name: &str, stat: &str) -> u64 {
    let i = s["interfaces"]
        .as_array()
        .expect("sample interfaces")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the sample"));
    // A live sample takes interface counters from rtnetlink stats64, not the sysfs files.
    u(&i["stats64"][stat])
}

fn softnet_sum(s: &Value) -> u64 {
    s["softnet"]["rows"]
        .as_array()
        .expect("sample softnet rows")
        .iter()
        .map(|r| u(&r["dropped"]))
        .sum()
}

/// A report with nothing being provoked: the sample must equal what the kernel shows now.
fn quiet_sample(ns: &Netns) -> Value {
    let rep = report_in(ns, "0");
    sample_of(&rep.json).clone()
}

// ── the tests ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn udp_rcvbuf_full_is_a_socket_drop_with_its_owner() {
    const T: &str = "udp_rcvbuf_full_is_a_socket_drop_with_its_owner";
    const PORT: u16 = 5001;
    if !require_root(T) {
        return;
    }
    let _one = serial();
    let ns = Netns::new("rcvbuf");
    // Bound by this process, so this process owns it; 2048 asked → 4096 effective, a few
    // datagrams' truesize, and never read while the report runs.
    let (rx, inode) = ns.enter(|| {
        let s = UdpSocket::bind(("127.0.0.1", PORT)).expect("bind receiver");
        setsockopt_int(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, 2048);
        let inode = inode_of(&s);
        (s, inode)
    });
    let tx = ns.enter(|| UdpSocket::bind(("127.0.0.1", 0)).expect("bind sender"));
    let k0 = mib_value(&ns, "snmp", "Udp", "RcvbufErrors");

    let sender = repeat(Duration::from_millis(20), move || {
        for _ in 0..100 {
            tx.send_to(&[7u8; 200], ("127.0.0.1", PORT)).expect("send over lo");
        }
        100
    });
    std::thread::sleep(LEAD_IN);
    let rep = report_in(&ns, "1");
    let sent = sender.stop();
    let queued = drain(&rx);
    let k1 = mib_value(&ns, "snmp", "Udp", "RcvbufErrors");

    // Kernel: every datagram was either queued (then read by drain) or dropped for the buffer.
    assert!(queued > 0 && queued < 10, "{queued} datagrams fit a 4 KiB buffer");
    assert_eq!(k1 - k0 + queued, sent, "RcvbufErrors + queued = sent");

    let s = sample_of(&rep.json);
    assert_bracketed("Udp.RcvbufErrors", snmp(s, "Udp", "RcvbufErrors"), k0, k1);
    let row = udp_row(s, PORT);
    assert_eq!(u(&row["inode"]), inode, "the sample's socket is ours");
    assert!(u(&row["drops"]) > 0, "socket drops while provoking: {row}");

    let q = quiet_sample(&ns);
    assert_eq!(snmp(&q, "Udp", "RcvbufErrors"), k1, "quiet sample = /proc/net/snmp");
    // The only socket in a fresh namespace: its sk_drops is every RcvbufErrors there.
    assert_eq!(u(&udp_row(&q, PORT)["drops"]), k1 - k0, "socket drops = RcvbufErrors");

    let r = &rep.json;
    assert_exit_findings(&rep);
    assert_path(r, "socket");
    assert_stage_counts(r, "socket", "Udp.RcvbufErrors", k1 - k0);
    let sockets = r["sockets"].as_array().expect("contract: sockets[]");
    let sock = sockets
        .iter()
        .find(|s| s["inode"] == inode)
        .unwrap_or_else(|| panic!("contract: socket inode {inode} not in sockets[]: {sockets:?}"));
    assert_eq!(sock["family"], "inet", "contract: socket family: {sock}");
    assert_eq!(sock["local"], format!("127.0.0.1:{PORT}"), "contract: socket local address");
    let drops = u(&sock["drops"]["count"]);
    assert!(drops > 0 && drops <= k1 - k0, "contract: socket drops {drops}: {sock}");
    let me = u64::from(std::process::id());
    let owners = sock["owners"].as_array().unwrap_or_else(|| {
        panic!("contract: owners of a socket this process holds are readable as root: {sock}")
    });
    assert!(
        owners.iter().any(|o| o["pid"] == me),
        "contract: owners include this test process (pid {me}): {owners:?}"
    );
    assert_finding(r, "udp_rcvbuf", "socket");
    drop(rx);
}

#[test]
fn udp_to_a_closed_port_is_a_transport_drop() {
    const T: &str = "udp_to_a_closed_port_is_a_transport_drop";
    const CLOSED: u16 = 5999;
    if !require_root(T) {
        return;
    }
    let _one = serial();
    let ns = Netns::new("noports");
    let tx = ns.enter(|| UdpSocket::bind(("127.0.0.1", 0)).expect("bind sender"));
    let k0 = mib_value(&ns, "snmp", "Udp", "NoPorts");

    let sender = repeat(Duration::from_millis(20), move || {
        for _ in 0..50 {
            tx.send_to(&[1u8; 100], ("127.0.0.1", CLOSED)).expect("send over lo");
        }
        50
    });
    std::thread::sleep(LEAD_IN);
    let rep = report_in(&ns, "1");
    let sent = sender.stop();
    let k1 = mib_value(&ns, "snmp", "Udp", "NoPorts");

    // Loopback never rate-limits or drops these: every datagram is one NoPorts.
    assert_eq!(k1 - k0, sent, "Udp.NoPorts moved by exactly the datagrams sent");
    let s = sample_of(&rep.json);
    assert_bracketed("Udp.NoPorts", snmp(s, "Udp", "NoPorts"), k0, k1);
    assert_eq!(snmp(&quiet_sample(&ns), "Udp", "NoPorts"), k1, "quiet sample = /proc/net/snmp");

    let r = &rep.json;
    assert_exit_findings(&rep);
    assert_path(r, "transport");
    assert_stage_counts(r, "transport", "Udp.NoPorts", sent);
    assert_finding(r, "udp_noports", "transport");
}

#[test]
fn backlog_overflow_is_a_backlog_drop() {
    const T: &str = "backlog_overflow_is_a_backlog_drop";
    const PORT: u16 = 5002;
    const SEGMENTS: u64 = 60;
    const SYSCTL: &str = "net.core.netdev_max_backlog";
    if !require_root(T) || !global_changes_allowed(T) || !require_tool(T, "ethtool", "ethtool") {
        return;
    }
    let _one = serial();
    let ns = Netns::new("backlog");
    // Segmentation before loopback's xmit: one send becomes 60 skbs on the backlog back to back,
    // more than a backlog of 10 holds before softirq drains it (KERNEL.md §4).
    set_feature(&ns, "lo", "tx-udp-segmentation", false);
    let rx = ns.enter(|| {
        let s = UdpSocket::bind(("127.0.0.1", PORT)).expect("bind receiver");
        // Room for everything that passes the backlog: drops here must all be backlog drops.
        setsockopt_int(&s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 8 << 20);
        s.set_nonblocking(true).expect("nonblocking");
        Arc::new(s)
    });
    let tx = ns.enter(|| {
        let s = UdpSocket::bind(("127.0.0.1", 0)).expect("bind sender");
        setsockopt_int(&s, libc::SOL_UDP, libc::UDP_SEGMENT, 1000);
        s
    });
    let lo0 = if_stat(&ns, "lo", "rx_dropped");
    let soft0 = softnet_dropped();

    let received = Arc::new(AtomicU64::new(0));
    let (rep, sent, soft_mid, lo_mid, original) = {
        let guard = match SysctlGuard::set(SYSCTL, "10") {
            Ok(g) => g,
            Err(why) => {
                eprintln!("SKIP {T}: {why}");
                return;
            }
        };
        let (got, rx) = (Arc::clone(&received), Arc::clone(&rx));
        let sender = repeat(Duration::from_millis(10), move || {
            let n = tx.send_to(&[3u8; 60_000], ("127.0.0.1", PORT)).expect("UDP_SEGMENT send");
            assert_eq!(n, 60_000);
            let mut buf = [0u8; 2048];
            while rx.recv(&mut buf).is_ok() {
                got.fetch_add(1, Ordering::Relaxed);
            }
            SEGMENTS
        });
        std::thread::sleep(LEAD_IN);
        let rep = report_in(&ns, "1");
        let sent = sender.stop();
        let mid = (softnet_dropped(), if_stat(&ns, "lo", "rx_dropped"));
        let original = guard.saved();
        drop(guard);
        (rep, sent, mid.0, mid.1, original)
    };
    assert_eq!(sysctl_read(SYSCTL), original, "{SYSCTL} restored");
    // Segments the sender's last read missed are still queued.
    std::thread::sleep(Duration::from_millis(50));
    let got = received.load(Ordering::Relaxed) + drain(&rx);
    let lo1 = if_stat(&ns, "lo", "rx_dropped");
    let soft1 = softnet_dropped();
    assert_eq!(lo1, lo_mid, "no backlog drops once {SYSCTL} is back");
    assert!(soft1 >= soft_mid);

    // Kernel: lo's rx_dropped (per netns, exact) and the datagrams read add up to every segment;
    // softnet_stat is global, so other traffic can only add to it.
    let lo_dropped = lo1 - lo0;
    assert!(lo_dropped > 0, "backlog drops on lo");
    assert_eq!(got + lo_dropped, sent, "segments sent = dropped on lo + read");
    assert!(soft1 - soft0 >= lo_dropped, "softnet dropped {} >= lo {lo_dropped}", soft1 - soft0);

    let s = sample_of(&rep.json);
    assert_bracketed("softnet dropped (all CPUs)", softnet_sum(s), soft0, soft1);
    assert_bracketed("lo rx_dropped", iface_stat(s, "lo", "rx_dropped"), lo0, lo1);
    assert_eq!(iface_stat(&quiet_sample(&ns), "lo", "rx_dropped"), lo1, "quiet sample = sysfs");

    let r = &rep.json;
    assert_exit_findings(&rep);
    let n = assert_stage_counts(r, "backlog", "softnet.dropped", soft1 - soft0);
    for d in drops_of(stage(r, "backlog"), "softnet.dropped") {
        assert!(
            d["where"].as_str().is_some_and(|w| w.starts_with("cpu")),
            "contract: softnet.dropped is per CPU: {d}"
        );
    }
    assert!(n > 0);
    assert_finding(r, "backlog_drops", "backlog");
}

#[test]
fn netfilter_input_drop_is_a_netfilter_drop() {
    const T: &str = "netfilter_input_drop_is_a_netfilter_drop";
    const PORT: u16 = 5004;
    if !require_root(T) || !require_tool(T, "nft", "nftables") {
        return;
    }
    let _one = serial();
    let pair = VethPair::new("nf", 1);
    nft_load(
        &pair.b,
        &format!(
            "table inet rxpath_test {{\n\
               chain input {{\n\
                 type filter hook input priority 0; policy accept;\n\
                 udp dport {PORT} counter drop\n\
               }}\n\
             }}\n"
        ),
    );
    let (a_ip, b_ip) = (pair.a_ip, pair.b_ip);
    let tx = pair.a.enter(move || UdpSocket::bind((a_ip, 0)).expect("bind sender in a"));
    let recv0 = mib_value(&pair.b, "snmp", "Ip", "InReceives");
    let deliv0 = mib_value(&pair.b, "snmp", "Ip", "InDelivers");

    let sender = repeat(Duration::from_millis(20), move || {
        for _ in 0..50 {
            tx.send_to(&[2u8; 100], (b_ip, PORT)).expect("send over veth");
        }
        50
    });
    std::thread::sleep(LEAD_IN);
    let rep = report_in(&pair.b, "1");
    let sent = sender.stop();
    std::thread::sleep(Duration::from_millis(50));
    let recv1 = mib_value(&pair.b, "snmp", "Ip", "InReceives");
    let deliv1 = mib_value(&pair.b, "snmp", "Ip", "InDelivers");

    // Kernel: IP received every datagram, delivered none, and the rule counted them all; no
    // counter of its own says "netfilter" (KERNEL.md §5.2).
    assert_eq!(nft_counter(&pair.b, "inet", "rxpath_test", "input"), sent, "nft rule counter");
    assert_eq!(recv1 - recv0, sent, "Ip.InReceives");
    assert_eq!(deliv1 - deliv0, 0, "Ip.InDelivers");

    let s = sample_of(&rep.json);
    assert_bracketed("Ip.InReceives", snmp(s, "Ip", "InReceives"), recv0, recv1);
    let q = quiet_sample(&pair.b);
    assert_eq!(snmp(&q, "Ip", "InReceives"), recv1, "quiet sample = /proc/net/snmp");
    assert_eq!(snmp(&q, "Ip", "InDelivers"), deliv1, "quiet sample = /proc/net/snmp");

    let r = &rep.json;
    assert_exit_findings(&rep);
    assert_path(r, "netfilter");
    assert_stage_counts(r, "netfilter", "Ip.undelivered", sent);
    for d in drops_of(stage(r, "netfilter"), "Ip.undelivered") {
        assert!(d["note"].is_string(), "contract: Ip.undelivered says it is an estimate: {d}");
    }
    assert_eq!(
        u(&stage(r, "transport")["dropped"]["count"]),
        0,
        "contract: nothing reached UDP, so nothing is a transport drop"
    );
    assert_finding(r, "netfilter_drops", "netfilter");
}

#[test]
fn bad_ip_headers_are_ip_drops() {
    const T: &str = "bad_ip_headers_are_ip_drops";
    const EACH: u64 = 10;
    if !require_root(T) {
        return;
    }
    let _one = serial();
    let pair = VethPair::new("iperr", 1);
    let bad_csum = Udp4Frame::over(&pair, 5005, 64, Fault::IpChecksum).bytes();
    let truncated = Udp4Frame::over(&pair, 5005, 64, Fault::TotLenBeyondFrame(100)).bytes();
    let a_if = pair.a_if;
    let tx = pair.a.enter(move || PacketSender::open(a_if));
    let b = &pair.b;
    let read = |ns: &Netns| {
        (
            mib_value(ns, "snmp", "Ip", "InHdrErrors"),
            mib_value(ns, "netstat", "IpExt", "InCsumErrors"),
            mib_value(ns, "netstat", "IpExt", "InTruncatedPkts"),
        )
    };
    let (hdr0, csum0, trunc0) = read(b);

    let sender = repeat(Duration::from_millis(20), move || {
        for _ in 0..EACH {
            tx.send(&bad_csum);
            tx.send(&truncated);
        }
        1
    });
    std::thread::sleep(LEAD_IN);
    let rep = report_in(b, "1");
    let rounds = sender.stop();
    std::thread::sleep(Duration::from_millis(50));
    let (hdr1, csum1, trunc1) = read(b);
    let each = rounds * EACH;

    // Kernel (KERNEL.md §10): a bad checksum is a header error and a checksum error; a tot_len
    // past the frame is a truncated packet and nothing else.
    assert_eq!(hdr1 - hdr0, each, "Ip.InHdrErrors = frames with a bad checksum");
    assert_eq!(csum1 - csum0, each, "IpExt.InCsumErrors = frames with a bad checksum");
    assert_eq!(trunc1 - trunc0, each, "IpExt.InTruncatedPkts = frames with tot_len too long");

    let s = sample_of(&rep.json);
    assert_bracketed("Ip.InHdrErrors", snmp(s, "Ip", "InHdrErrors"), hdr0, hdr1);
    assert_bracketed(
        "IpExt.InTruncatedPkts",
        netstat(s, "IpExt", "InTruncatedPkts"),
        trunc0,
        trunc1,
    );
    let q = quiet_sample(b);
    assert_eq!(snmp(&q, "Ip", "InHdrErrors"), hdr1, "quiet sample = /proc/net/snmp");
    assert_eq!(netstat(&q, "IpExt", "InCsumErrors"), csum1, "quiet sample = /proc/net/netstat");
    assert_eq!(netstat(&q, "IpExt", "InTruncatedPkts"), trunc1, "quiet sample = netstat");

    let r = &rep.json;
    assert_exit_findings(&rep);
    assert_path(r, "ip");
    let hdr = assert_stage_counts(r, "ip", "Ip.InHdrErrors", each);
    assert_stage_counts(r, "ip", "IpExt.InTruncatedPkts", each);
    let csum = drops_of(stage(r, "ip"), "IpExt.InCsumErrors");
    assert!(!csum.is_empty(), "contract: IpExt.InCsumErrors shown as detail: {}", stage(r, "ip"));
    for d in &csum {
        assert_eq!(d["counted"], false, "contract: InCsumErrors is inside InHdrErrors: {d}");
        // /proc/net/snmp and /proc/net/netstat are read one after the other while frames keep
        // arriving, so the later file may have counted a few more: bounded, not exact.
        assert!(u(&d["count"]) <= hdr + each / 4, "contract: InCsumErrors <= InHdrErrors: {d}");
    }
    assert_finding(r, "ip_errors", "ip");
}

// ── the sysctl guard itself ────────────────────────────────────────────────────────────────────

const HOLDER_ENV: &str = "RXPATH_TEST_SYSCTL_HOLDER";
const HELD_SYSCTL: &str = "net.core.netdev_max_backlog";

/// Run only as a child of the test below: holds a guard until killed.
#[test]
#[ignore = "helper process that sysctl_guard_restores_after_signal_and_crash starts and kills"]
fn sysctl_guard_holder() {
    let Ok(value) = std::env::var(HOLDER_ENV) else {
        eprintln!("sysctl_guard_holder does nothing unless the guard test starts it");
        return;
    };
    let _guard = SysctlGuard::set(HELD_SYSCTL, &value).expect("guard in the holder");
    // libtest has already printed "test sysctl_guard_holder ... " on this line.
    println!("HELD");
    std::io::Write::flush(&mut std::io::stdout()).expect("flush");
    std::thread::sleep(Duration::from_secs(30));
}

/// A child killed (by its pid) when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sysctl_guard_restores_after_signal_and_crash() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    const T: &str = "sysctl_guard_restores_after_signal_and_crash";
    if !require_root(T) || !global_changes_allowed(T) {
        return;
    }
    let _one = serial();
    recover_sysctls().unwrap_or_else(|e| panic!("{e}"));
    let journal = sysctl_journal();
    let original = sysctl_read(HELD_SYSCTL);
    // One more than now: harmless while it lasts.
    let changed = (original.parse::<u64>().expect("a number") + 1).to_string();

    for (signal, name) in
        [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT"), (libc::SIGKILL, "SIGKILL")]
    {
        let mut child = Child(
            std::process::Command::new(std::env::current_exe().expect("test binary"))
                .args(["--exact", "sysctl_guard_holder", "--ignored", "--nocapture"])
                .args(["--test-threads", "1"])
                .env(HOLDER_ENV, &changed)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start the holder"),
        );
        let out = child.0.stdout.take().expect("stdout");
        let held =
            std::io::BufReader::new(out).lines().map_while(Result::ok).any(|l| l.ends_with("HELD"));
        assert!(held, "the holder set {HELD_SYSCTL} ({name} round)");
        assert_eq!(sysctl_read(HELD_SYSCTL), changed, "held ({name})");
        assert!(journal.exists(), "{} written before the change", journal.display());

        let pid = child.0.id() as libc::pid_t;
        // SAFETY: signalling our own child by its pid.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = child.0.wait().expect("wait for the holder");
        assert_eq!(status.signal(), Some(signal), "the holder died of {name} (re-raised)");
        if signal == libc::SIGKILL {
            // Nothing runs on SIGKILL: the journal is the only record, and the next guard uses it.
            assert_eq!(sysctl_read(HELD_SYSCTL), changed, "still changed after {name}");
            assert!(journal.exists(), "journal kept after {name}");
            recover_sysctls().unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(sysctl_read(HELD_SYSCTL), original, "restored after {name}");
        assert!(!journal.exists(), "journal removed once restored ({name})");
    }
}

// ── the frame builder itself (no root needed) ──────────────────────────────────────────────────

fn frame(fault: Fault) -> Vec<u8> {
    Udp4Frame {
        src_mac: [2, 0, 0, 0, 0, 1],
        dst_mac: [2, 0, 0, 0, 0, 2],
        src: "198.18.0.1".parse().unwrap(),
        dst: "198.18.0.2".parse().unwrap(),
        sport: 40000,
        dport: 5005,
        payload: (0..=14).collect(), // odd length: the checksum pads the last byte
        fault,
    }
    .bytes()
}

#[test]
fn inet_checksum_matches_known_vectors() {
    // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2 → checksum 220d.
    assert_eq!(inet_checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]), 0x220d);
    // A textbook IPv4 header (checksum b861).
    let hdr = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    assert_eq!(inet_checksum(&[&hdr]), 0xb861);
    // Split across parts at even boundaries gives the same sum.
    assert_eq!(inet_checksum(&[&hdr[..10], &hdr[10..]]), 0xb861);
}

#[test]
fn crafted_frames_are_well_formed_except_for_their_fault() {
    let good = frame(Fault::None);
    assert_eq!(good.len(), 14 + 20 + 8 + 15);
    assert_eq!(&good[12..14], &[0x08, 0x00], "ethertype IPv4");
    let ip = &good[14..34];
    assert_eq!(ip[0], 0x45);
    assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 20 + 8 + 15, "tot_len");
    assert_eq!(inet_checksum(&[ip]), 0, "a correct header sums to 0");
    let udp = &good[34..];
    assert_eq!(u16::from_be_bytes([udp[4], udp[5]]), 8 + 15, "UDP length");
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&ip[12..16]);
    pseudo[4..8].copy_from_slice(&ip[16..20]);
    pseudo[9] = 17;
    pseudo[10..12].copy_from_slice(&(8u16 + 15).to_be_bytes());
    assert_eq!(inet_checksum(&[&pseudo, udp]), 0, "a correct UDP checksum sums to 0");

    let bad = frame(Fault::IpChecksum);
    assert_ne!(inet_checksum(&[&bad[14..34]]), 0);
    assert_eq!(bad[..24], good[..24], "only the checksum differs");
    assert_eq!(bad[26..], good[26..]);

    let v6 = frame(Fault::IpVersion6);
    assert_eq!(v6[14], 0x65);
    assert_eq!(inet_checksum(&[&v6[14..34]]), 0, "checksum still right: only the version is bad");

    let long = frame(Fault::TotLenBeyondFrame(100));
    assert_eq!(long.len(), good.len(), "the frame carries no more than before");
    assert_eq!(u16::from_be_bytes([long[16], long[17]]), 20 + 8 + 15 + 100);
    assert_eq!(inet_checksum(&[&long[14..34]]), 0, "checksum right for the long tot_len");

    let badudp = frame(Fault::UdpChecksum);
    assert_eq!(badudp[..40], good[..40]);
    assert_ne!(badudp[40..42], good[40..42]);
    assert_ne!(badudp[40..42], [0, 0], "0 would mean no checksum at all");
}
