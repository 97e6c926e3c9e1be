//! Live test as root: a veth pair between two network namespaces made for the test, known settings
//! (channels, rps_cpus), a known number of packets, and the Sample must read them back exactly.
//! Counters are compared by delta; the global ones (softnet_stat) only as lower bounds.

mod common;

use common::scenes::{VethPair, report_in, sample_of};
use common::{Netns, require_root, rxpath_bin};
use serde_json::Value;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

const PACKETS: u64 = 300;
const PORT: u16 = 5555;

/// The sample of `rxpath report --json` run inside the namespace, as an operator would on a
/// container host. Interval 0: the scene is quiet between the test's own steps.
fn sample_in(ns: &Netns) -> Value {
    sample_of(&report_in(ns, "0").json).clone()
}

fn iface<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the sample"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a counter: {v}"))
}

#[test]
fn sample_reads_a_known_scene_exactly() {
    if !require_root("sample_reads_a_known_scene_exactly") {
        return;
    }
    let pair = VethPair::new("live", 4);
    let (a, b) = (&pair.a, &pair.b);

    // Known settings: 2 rx / 2 tx channels through rxpath's own ethtool layer, RPS on rx-0.
    b.enter(|| {
        let info = rxpath::source::ethtool::read("rxb0");
        let mut ch = info.channels.value().cloned().expect("veth channels");
        ch.rx_count = 2;
        ch.tx_count = 2;
        rxpath::source::ethtool::set_channels("rxb0", &ch).expect("set veth channels");
    });
    b.exec(&["sh", "-c", "echo 3 > /sys/class/net/rxb0/queues/rx-0/rps_cpus"]);

    // The receiver exists before the first sample so both samples list it.
    let (sock_inode, receiver) = b.enter(|| {
        let s = UdpSocket::bind(("198.18.0.2", PORT)).expect("bind in netns b");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Room for every datagram unread (truesize ~1 KB each): no RcvbufErrors in this scene.
        let size: libc::c_int = 4 << 20;
        // SAFETY: a valid socket fd and a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        // SAFETY: fstat on a valid fd into a zeroed stat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(s.as_raw_fd(), &mut st) }, 0);
        (st.st_ino, s)
    });

    let before = sample_in(b);
    a.enter(|| {
        let s = UdpSocket::bind(("198.18.0.1", 0)).expect("bind in netns a");
        for i in 0..PACKETS {
            s.send_to(&[i as u8; 100], ("198.18.0.2", PORT)).expect("send");
        }
    });
    let mut got = 0;
    let mut buf = [0u8; 2048];
    while got < PACKETS {
        receiver.recv(&mut buf).expect("every datagram arrives (veth, no loss)");
        got += 1;
    }
    let after = sample_in(b);

    let (ib, ia) = (iface(&before, "rxb0"), iface(&after, "rxb0"));
    let d = |f: &dyn Fn(&Value) -> &Value| u(f(ia)) - u(f(ib));
    // The same count through every interface the kernel offers.
    assert_eq!(d(&|i| &i["proc_net_dev"]["rx_packets"]), PACKETS, "/proc/net/dev");
    assert_eq!(d(&|i| &i["stats64"]["rx_packets"]), PACKETS, "rtnetlink stats64");
    assert_eq!(d(&|i| &i["stats64"]["rx_dropped"]), 0);
    // rtnetlink answered, so the ~25 sysfs statistics files were not read (a capture reads them).
    let statistics = ia["sysfs"]["statistics"].to_string();
    assert!(statistics.contains("IFLA_STATS64"), "{statistics}");

    let snmp = |s: &Value, sec: &str, f: &str| u(&s["snmp"][sec][f]);
    assert_eq!(snmp(&after, "Ip", "InReceives") - snmp(&before, "Ip", "InReceives"), PACKETS);
    assert_eq!(snmp(&after, "Ip", "InDelivers") - snmp(&before, "Ip", "InDelivers"), PACKETS);
    assert_eq!(snmp(&after, "Udp", "InDatagrams") - snmp(&before, "Udp", "InDatagrams"), PACKETS);
    assert_eq!(snmp(&after, "Udp", "RcvbufErrors"), snmp(&before, "Udp", "RcvbufErrors"));

    // softnet_stat is global: other traffic only adds.
    let processed = |s: &Value| -> u64 {
        s["softnet"]["rows"].as_array().unwrap().iter().map(|r| u(&r["processed"])).sum()
    };
    assert!(processed(&after).wrapping_sub(processed(&before)) >= PACKETS);

    // Settings read back exactly.
    let ch = &ia["ethtool"]["channels"];
    assert_eq!((u(&ch["rx_count"]), u(&ch["tx_count"])), (2, 2), "channels: {ch}");
    assert_eq!(ia["ethtool"]["driver"]["driver"], "veth");
    let rx = ia["queues"]["rx"].as_array().unwrap();
    assert_eq!(rx.len(), 2, "real rx queues follow the channel count");
    let online: Vec<u64> = after["cpus"]["online"].as_array().unwrap().iter().map(u).collect();
    let want: Vec<u64> = online.iter().copied().filter(|c| *c < 2).collect();
    let rps: Vec<u64> = rx[0]["rps_cpus"].as_array().unwrap().iter().map(u).collect();
    assert_eq!(rps, want, "rps_cpus of rx-0");
    assert_eq!(rx[1]["rps_cpus"].as_array().unwrap().len(), 0);

    // The receiving socket, with its inode, in the namespace's /proc/net/udp.
    let sock = after["udp"]["udp"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == PORT)
        .expect("the receiver in /proc/net/udp");
    assert_eq!(sock["local_address"], "198.18.0.2");
    assert_eq!(u(&sock["inode"]), sock_inode);
    assert_eq!(u(&sock["drops"]), 0);
    assert_eq!(u(&sock["rx_queue"]), 0, "all datagrams were read");
    drop(receiver);
}

#[test]
fn report_text_works_in_a_namespace_with_only_loopback() {
    if !require_root("report_text_works_in_a_namespace_with_only_loopback") {
        return;
    }
    let ns = Netns::new("lo-only");
    let out = ns.exec_status(&[rxpath_bin(), "report", "--interval", "0"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("── 1 NIC and driver"), "{text}");
    assert!(text.contains("lo  "), "loopback is listed: {text}");
    let long: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
    assert!(long.is_empty(), "fits 80 columns: {long:#?}");
    // Global sysctls are not visible inside a child namespace: shown as such, never an error.
    let v = sample_in(&ns);
    assert!(
        v["sysctls"]["net.core.netdev_max_backlog"]["unavailable"].is_object(),
        "{}",
        v["sysctls"]
    );
    assert!(v["sysctls"]["net.ipv4.udp_rmem_min"].is_u64(), "{}", v["sysctls"]);
}

/// A live Sampler keeps interface files open; when another device takes a name (two veths swap
/// names), the next sample must describe the device that has the name now, not the one its kept
/// files were opened on (a virtual device's sysfs link looks the same for both).
#[test]
fn a_live_sampler_follows_a_name_to_the_device_that_has_it_now() {
    if !require_root("a_live_sampler_follows_a_name_to_the_device_that_has_it_now") {
        return;
    }
    let ns = Netns::new("swap");
    ns.exec(&[
        "ip", "link", "add", "rxa", "mtu", "1400", "type", "veth", "peer", "rxb", "mtu", "1300",
    ]);
    let ip = |args: &[&str]| {
        // Spawned from the namespace's thread: the child shares its namespaces.
        let out = std::process::Command::new("ip").args(args).output().expect("ip");
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let (before, after) = ns.enter_with_sysfs(move || {
        let mut sampler = rxpath::Sampler::new(rxpath::Root::live());
        let before = sampler.take();
        ip(&["link", "set", "rxa", "name", "rxt"]);
        ip(&["link", "set", "rxb", "name", "rxa"]);
        ip(&["link", "set", "rxt", "name", "rxb"]);
        ip(&["link", "add", "rxn", "type", "veth", "peer", "rxm"]);
        (before, sampler.take())
    });
    assert!(before.interface("rxn").is_none());
    assert!(
        after.interface("rxn").is_some() && after.interface("rxm").is_some(),
        "new ones listed"
    );
    assert!(after.interface("rxt").is_none(), "a name gone is not listed");
    let of = |s: &rxpath::Sample, name: &str| {
        let i = s.interface(name).unwrap_or_else(|| panic!("{name} in the sample"));
        (*i.sysfs.ifindex.value().expect("ifindex"), *i.sysfs.mtu.value().expect("mtu"))
    };
    let ((a, a_mtu), (b, b_mtu)) = (of(&before, "rxa"), of(&before, "rxb"));
    assert_eq!((a_mtu, b_mtu), (1400, 1300), "the scene as built");
    assert_eq!(of(&after, "rxa"), (b, 1300), "rxa is now the device that was rxb");
    assert_eq!(of(&after, "rxb"), (a, 1400), "rxb is now the device that was rxa");
}

/// Waits until the kernel's link watch has brought `dev`'s operational state in line with its
/// flags and carrier (it does so asynchronously, up to a second later), so that reads a moment
/// apart see the same state.
fn settle(dev: &str) {
    let attr = |a: &str| std::fs::read_to_string(format!("/sys/class/net/{dev}/{a}"));
    for _ in 0..250 {
        let up = attr("flags")
            .ok()
            .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
            .is_some_and(|f| f & 1 != 0);
        let carrier = attr("carrier").is_ok_and(|c| c.trim() == "1");
        let operstate = attr("operstate").unwrap_or_default();
        let want = match (up, carrier) {
            (false, _) => "down",
            (true, true) => "up",
            (true, false) => "lowerlayerdown",
        };
        if operstate.trim() == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{dev}: operstate did not settle within 5 s");
}

/// A live Sampler reads an interface's link state from sysfs again only when the rtnetlink dump
/// it makes every sample shows the link changed: through up, carrier, promiscuous and allmulti
/// changes (and none), its samples show what a one-shot read shows.
#[test]
fn a_live_sampler_sees_every_link_state_change_a_one_shot_read_sees() {
    if !require_root("a_live_sampler_sees_every_link_state_change_a_one_shot_read_sees") {
        return;
    }
    let ns = Netns::new("state");
    ns.exec(&["ip", "link", "add", "rxa", "type", "veth", "peer", "rxb"]);
    let steps: [&[&str]; 7] = [
        &[],
        &["link", "set", "rxa", "up"],
        &["link", "set", "rxb", "up"],
        &["link", "set", "rxa", "promisc", "on"],
        &["link", "set", "rxa", "allmulticast", "on"],
        &["link", "set", "rxb", "down"],
        &["link", "set", "rxa", "promisc", "off"],
    ];
    let seen = ns.enter_with_sysfs(move || {
        let mut sampler = rxpath::Sampler::new(rxpath::Root::live());
        let mut seen = Vec::new();
        for step in steps {
            if !step.is_empty() {
                let out = std::process::Command::new("ip").args(step).output().expect("ip");
                assert!(
                    out.status.success(),
                    "ip {step:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            settle("rxa");
            // Twice: once as the change is first seen, once with nothing new.
            for _ in 0..2 {
                seen.push((step, sampler.take(), rxpath::Sample::take(&rxpath::Root::live())));
            }
        }
        seen
    });
    let state = |s: &rxpath::Sample| {
        let i = s.interface("rxa").expect("rxa in the sample");
        let y = &i.sysfs;
        (y.flags.clone(), y.flag_names.clone(), y.operstate.clone(), y.carrier.clone())
    };
    for (step, sampled, once) in &seen {
        assert_eq!(state(sampled), state(once), "after ip {step:?}");
    }
    let (_, last, _) = seen.last().expect("samples");
    let names = &last.interface("rxa").expect("rxa").sysfs.flag_names;
    assert!(
        names.iter().any(|n| n == "ALLMULTI") && !names.iter().any(|n| n == "PROMISC"),
        "{names:?}"
    );
}
