//! Live tests of the SIOCETHTOOL layer against lo, this host's eth0 (virtio_net) and a veth pair in
//! a network namespace the test creates. Fixtures (real `ethtool` output from a 6.18 virtio guest)
//! give the names and order the ioctl results must match.

mod common;

use rxpath::Avail;
use rxpath::source::ethtool::{self, Channels, EthtoolInfo, Ring, SetError, why};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ethtool/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Stat names from `ethtool -S` text, in order.
fn ethtool_s_names(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("NIC statistics:"))
        .skip(1)
        .filter_map(|l| l.trim().rsplit_once(':').map(|(n, _)| n.to_string()))
        .collect()
}

/// `needle` appears in `hay` in the same relative order (other names may sit between).
fn in_order(needle: &[String], hay: &[String]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

fn why_of<T>(a: &Avail<T>) -> &str {
    &a.unavailable().expect("expected the part to be unavailable").why
}

#[test]
fn fixture_texts_say_what_the_tests_expect() {
    let names = ethtool_s_names(&fixture("eth0.ethtool-S.txt"));
    assert_eq!(names.len(), 20);
    assert_eq!(names[0], "rx_drops");
    assert_eq!(names[10], "rx0_drops");
    assert_eq!(names[19], "tx0_tx_timeouts");
    assert!(fixture("eth0.ethtool-i.txt").starts_with("driver: virtio_net\nversion: 1.0.0\n"));
    assert!(fixture("lo.ethtool-i.txt").contains("Operation not supported"));
    assert_eq!(fixture("lo.ethtool-S.txt").trim(), "no stats available");
    let veth = ethtool_s_names(&fixture("rxa.ethtool-S.txt"));
    assert_eq!(veth[0], "peer_ifindex");
    assert_eq!(veth[1], "rx_queue_0_xdp_packets");
    assert!(fixture("rxa.ethtool-l.txt").contains("Combined:\tn/a"));
}

#[test]
fn loopback_answers_only_what_it_has() {
    let info = ethtool::read("lo");
    // lo has no get_drvinfo and no parent device: GDRVINFO is EOPNOTSUPP (lo.ethtool-i.txt).
    let u = info.driver.unavailable().unwrap();
    assert_eq!(u.what, "lo: ETHTOOL_GDRVINFO");
    assert_eq!(u.why, why::NOT_SUPPORTED);
    // "no stats available" in lo.ethtool-S.txt: no ETH_SS_STATS set.
    assert_eq!(info.stats.unavailable().unwrap().what, "lo: ETHTOOL_GSTATS");
    assert_eq!(why_of(&info.stats), why::NOT_SUPPORTED);
    assert_eq!(why_of(&info.ring), why::NOT_SUPPORTED);
    assert_eq!(why_of(&info.channels), why::NOT_SUPPORTED);
    assert_eq!(why_of(&info.coalesce), why::NOT_SUPPORTED);
    assert_eq!(why_of(&info.rss_indir), why::NOT_SUPPORTED);
    assert_eq!(why_of(&info.priv_flags), why::NOT_SUPPORTED);
    // ethtool_op_get_ts_info: software timestamps only, no PHC.
    let ts = info.ts_info.value().unwrap();
    assert_eq!(ts.so_timestamping.raw, 0x1a);
    assert_eq!(
        ts.so_timestamping.names,
        vec!["software-transmit", "software-receive", "software-system-clock"]
    );
    assert_eq!(ts.phc_index, -1);
    // Features are generic. lo: `loopback` on and fixed (not in hw_features), `vlan-challenged`
    // on and in NETIF_F_NEVER_CHANGE, `tx-udp-segmentation` changeable (KERNEL.md §11 turns it off).
    let features = info.features.value().unwrap();
    let get = |n: &str| features.iter().find(|f| f.name == n).unwrap();
    let lb = get("loopback");
    assert!(lb.active && !lb.available && !lb.never_changed, "{lb:?}");
    let vc = get("vlan-challenged");
    assert!(vc.active && vc.never_changed, "{vc:?}");
    let uso = get("tx-udp-segmentation");
    assert!(uso.available, "{uso:?}");
    assert!(features.iter().any(|f| f.name == "rx-gro"));
    assert!(features.iter().all(|f| !f.name.is_empty()));
}

#[test]
fn json_round_trips_with_uapi_keys() {
    let info = ethtool::read("lo");
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["driver"]["unavailable"]["why"], why::NOT_SUPPORTED);
    assert_eq!(json["ts_info"]["phc_index"], -1);
    assert_eq!(json["ts_info"]["so_timestamping"]["raw"], 26);
    assert!(json["features"][0]["never_changed"].is_boolean());
    let back: EthtoolInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, info);
}

#[test]
fn missing_and_bad_interfaces_do_not_panic() {
    let info = ethtool::read("rxpath-nonexist");
    assert_eq!(why_of(&info.driver), why::NO_SUCH_INTERFACE);
    assert_eq!(why_of(&info.stats), why::NO_SUCH_INTERFACE);
    assert_eq!(why_of(&info.features), why::NO_SUCH_INTERFACE);
    assert_eq!(why_of(&info.ts_info), why::NO_SUCH_INTERFACE);
    let info = ethtool::read("a-name-longer-than-15");
    assert!(why_of(&info.driver).contains("at most 15"), "{:?}", info.driver);
    match ethtool::set_channels("a-name-longer-than-15", &Channels::default()) {
        Err(SetError::Unavailable(u)) => assert!(u.why.contains("at most 15")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn virtio_eth0_matches_the_capture() {
    let info = ethtool::read("eth0");
    let Some(drv) = info.driver.value().filter(|d| d.driver == "virtio_net") else {
        eprintln!(
            "SKIPPED virtio_eth0_matches_the_capture: eth0 is not virtio_net here ({:?})",
            info.driver
        );
        return;
    };
    assert_eq!(drv.version, "1.0.0");
    assert_eq!(drv.n_priv_flags, 0);
    let stats = info.stats.value().unwrap();
    assert_eq!(drv.n_stats as usize, stats.len());
    assert!(stats.contains_key("rx0_drops"));
    assert!(stats.contains_key("rx0_kicks"));
    let live: Vec<String> = stats.keys().map(|k| k.to_string()).collect();
    let captured = ethtool_s_names(&fixture("eth0.ethtool-S.txt"));
    assert!(in_order(&captured, &live), "captured {captured:?}\nlive {live:?}");
    let ch = info.channels.value().unwrap();
    assert!(ch.combined_count >= 1 && ch.combined_count <= ch.max_combined, "{ch:?}");
    // eth0.ethtool-l.txt: RX/TX n/a, combined only.
    assert_eq!((ch.max_rx, ch.max_tx, ch.rx_count, ch.tx_count), (0, 0, 0, 0));
    let ring = info.ring.value().unwrap();
    assert!(ring.rx_pending > 0 && ring.rx_pending <= ring.rx_max_pending, "{ring:?}");
    let features = info.features.value().unwrap();
    assert!(features.iter().any(|f| f.name == "rx-gro"));
    assert!(features.iter().any(|f| f.name == "rx-checksum"));
    assert!(info.coalesce.is_available());
    // virtio_net without the RSS feature has no indirection table; with it, indices < queues.
    match &*info.rss_indir {
        Avail::Value(t) => assert!(t.iter().all(|&q| q < ch.combined_count)),
        Avail::Unavailable(u) => assert_eq!(u.why, why::NOT_SUPPORTED),
    }
}

/// Drops CAP_NET_ADMIN from the calling thread's effective set (capabilities are per thread, so
/// the rest of the process keeps it).
fn drop_net_admin_in_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_ADMIN: u32 = 12;
    let mut hdr = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and the two data words it expects.
    unsafe {
        assert_eq!(libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()), 0);
        data[0].effective &= !(1 << CAP_NET_ADMIN);
        assert_eq!(libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()), 0);
    }
}

#[test]
fn veth_in_a_namespace_reads_and_sets_channels() {
    if !common::require_root("veth_in_a_namespace_reads_and_sets_channels") {
        return;
    }
    let ns = common::Netns::new("et");
    ns.exec(&[
        "ip",
        "link",
        "add",
        "v0",
        "numrxqueues",
        "4",
        "numtxqueues",
        "4",
        "type",
        "veth",
        "peer",
        "name",
        "v1",
        "numrxqueues",
        "4",
        "numtxqueues",
        "4",
    ]);

    /// What the namespace thread saw, in order.
    struct Seen {
        before: EthtoolInfo,
        set: Result<Channels, SetError>,
        after: EthtoolInfo,
        too_many: Result<Channels, SetError>,
        no_tx: Result<Channels, SetError>,
        after_refusals: Avail<Channels>,
        ring: Result<Ring, SetError>,
        gone: Result<Channels, SetError>,
        unprivileged: Result<Channels, SetError>,
        unprivileged_read: Avail<Channels>,
    }
    let seen = ns.enter(|| {
        let want = Channels { rx_count: 2, tx_count: 2, ..Default::default() };
        let before = ethtool::read("v0");
        let set = ethtool::set_channels("v0", &want);
        let after = ethtool::read("v0");
        let too_many = ethtool::set_channels("v0", &Channels { rx_count: 8, ..want });
        let no_tx = ethtool::set_channels("v0", &Channels { tx_count: 0, ..want });
        let after_refusals = std::sync::Arc::unwrap_or_clone(ethtool::read("v0").channels);
        let ring = ethtool::set_ring("v0", &Ring { rx_pending: 128, ..Default::default() });
        let gone = ethtool::set_channels("v9", &want);
        drop_net_admin_in_this_thread();
        let unprivileged = ethtool::set_channels("v0", &Channels { rx_count: 1, ..want });
        let unprivileged_read = std::sync::Arc::unwrap_or_clone(ethtool::read("v0").channels);
        Seen {
            before,
            set,
            after,
            too_many,
            no_tx,
            after_refusals,
            ring,
            gone,
            unprivileged,
            unprivileged_read,
        }
    });
    let Seen {
        before,
        set,
        after,
        too_many,
        no_tx,
        after_refusals,
        ring,
        gone,
        unprivileged,
        unprivileged_read,
    } = seen;

    // Driver and stats, as in the captured veth (rxa.ethtool-i.txt / -S.txt).
    let drv = before.driver.value().unwrap();
    assert_eq!(drv.driver, "veth");
    assert_eq!(drv.version, "1.0");
    let stats = before.stats.value().unwrap();
    assert_eq!(drv.n_stats as usize, stats.len());
    let captured = ethtool_s_names(&fixture("rxa.ethtool-S.txt"));
    let live: Vec<String> = stats.keys().map(|k| k.to_string()).collect();
    assert!(in_order(&captured, &live), "captured {captured:?}\nlive {live:?}");
    assert!(stats.contains_key("rx_queue_3_xdp_packets"));
    assert!(stats.contains_key("tx_queue_3_xdp_xmit"));
    // veth: rx/tx channels, no combined (rxa.ethtool-l.txt); created with 4 queues, all in use.
    assert_eq!(
        before.channels.value().unwrap(),
        &Channels { max_rx: 4, max_tx: 4, rx_count: 4, tx_count: 4, ..Default::default() }
    );
    assert_eq!(why_of(&before.ring), why::NOT_SUPPORTED);
    assert_eq!(why_of(&before.coalesce), why::NOT_SUPPORTED);

    // The set took, exactly, and the per-queue stats followed the new count.
    let expected =
        Channels { max_rx: 4, max_tx: 4, rx_count: 2, tx_count: 2, ..Default::default() };
    assert_eq!(set.unwrap(), expected);
    assert_eq!(after.channels.value().unwrap(), &expected);
    let stats = after.stats.value().unwrap();
    assert!(stats.contains_key("rx_queue_1_xdp_packets"));
    assert!(!stats.contains_key("rx_queue_2_xdp_packets"));
    assert!(!stats.contains_key("tx_queue_2_xdp_xmit"));
    assert_eq!(after.driver.value().unwrap().n_stats as usize, stats.len());

    // Impossible values are refused with the interface and value named, and change nothing.
    match too_many {
        Err(SetError::Invalid(m)) => assert_eq!(m, "v0: 8 rx channels exceed the driver maximum 4"),
        other => panic!("{other:?}"),
    }
    match no_tx {
        Err(SetError::Invalid(m)) => {
            assert!(m.starts_with("v0: at least one rx and one tx"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(after_refusals.value().unwrap(), &expected);
    match ring {
        Err(SetError::Unavailable(u)) => {
            assert_eq!(u.what, "v0: ETHTOOL_GRINGPARAM");
            assert_eq!(u.why, why::NOT_SUPPORTED);
        }
        other => panic!("{other:?}"),
    }
    match gone {
        Err(SetError::Unavailable(u)) => assert_eq!(u.why, why::NO_SUCH_INTERFACE),
        other => panic!("{other:?}"),
    }

    // Reads need no privilege; writes without CAP_NET_ADMIN say how to get it.
    match unprivileged {
        Err(SetError::Unavailable(u)) => {
            assert_eq!(u.what, "v0: ETHTOOL_SCHANNELS");
            assert_eq!(u.why, why::NEEDS_ADMIN);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(unprivileged_read.value().unwrap(), &expected);

    // The namespace kept v0 to itself.
    if !std::path::Path::new("/sys/class/net/v0").exists() {
        assert_eq!(why_of(&ethtool::read("v0").driver), why::NO_SUCH_INTERFACE);
    }
}

#[test]
fn stats_read_again_keep_the_names_until_the_count_changes() {
    if !common::require_root("stats_read_again_keep_the_names_until_the_count_changes") {
        return;
    }
    let ns = common::Netns::new("es");
    #[rustfmt::skip]
    ns.exec(&[
        "ip", "link", "add", "v0", "numrxqueues", "4", "numtxqueues", "4", "type", "veth",
        "peer", "name", "v1", "numrxqueues", "4", "numtxqueues", "4",
    ]);
    ns.enter(|| {
        let sock = ethtool::EthtoolSocket::new().unwrap();
        let mut buf = None;
        // Nothing is sent over the pair (it is down): the counters hold still.
        let mut stats = ethtool::read("v0").stats;
        let per_queue = stats.value().expect("veth has ethtool -S").len();
        assert!(!ethtool::read_stats_again(&sock, "v0", &mut stats, &mut buf), "values only");
        assert_eq!(stats, ethtool::read("v0").stats);
        let at = buf.as_ref().map(|b| b.bytes().as_ptr()).expect("a kept GSTATS buffer");
        assert!(!ethtool::read_stats_again(&sock, "v0", &mut stats, &mut buf));
        assert_eq!(buf.as_ref().map(|b| b.bytes().as_ptr()), Some(at), "the same buffer");

        // veth has per-queue statistics: fewer channels, fewer names.
        let one = Channels { rx_count: 1, tx_count: 1, ..Default::default() };
        ethtool::set_channels("v0", &one).expect("set veth channels");
        assert!(ethtool::read_stats_again(&sock, "v0", &mut stats, &mut buf), "read afresh");
        assert_eq!(stats, ethtool::read("v0").stats);
        assert!(stats.value().unwrap().len() < per_queue);

        // More values than names kept (the driver grew): read afresh, whole.
        let mut short = stats.clone().map(|m| m.into_iter().take(1).collect());
        assert!(ethtool::read_stats_again(&sock, "v0", &mut short, &mut buf));
        assert_eq!(short, stats);
        // No such interface any more: said as a full read says it.
        let mut gone = stats.clone();
        assert!(ethtool::read_stats_again(&sock, "v9", &mut gone, &mut buf));
        assert_eq!(gone, ethtool::read("v9").stats);
    });
}
