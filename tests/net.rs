//! Fixture, property and live tests of the network-side procfs parsers: /proc/net/dev,
//! snmp/netstat/snmp6, udp/udp6 and packet. Values asserted here were read by eye in the fixture
//! files (tests/fixtures/net/, provenance in PROVENANCE.md there).

use proptest::prelude::*;
use rxpath::Root;
use rxpath::source::udp::{Endian, Family, UdpSocket};
use rxpath::source::{Name, Names, netdev, packet, snmp, udp};
use std::net::IpAddr;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/net");

fn fx(rel: &str) -> String {
    let path = format!("{FIXTURES}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn root(tree: &str) -> Root {
    Root::at(format!("{FIXTURES}/{tree}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// /proc/net/dev

fn dev(rel: &str) -> netdev::NetDev {
    netdev::parse(&fx(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn names(d: &netdev::NetDev) -> Vec<&str> {
    d.interfaces.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn net_dev_linux_6_18() {
    let d = dev("linux-6.18-virtio/proc/net/dev");
    assert_eq!(names(&d), ["lo", "ifb0", "ifb1", "eth0", "rxa"]);
    let eth0 = d.get("eth0").unwrap();
    assert_eq!(eth0.get("rx_bytes"), Some(247_737_796));
    assert_eq!(eth0.get("rx_packets"), Some(7837));
    assert_eq!(eth0.get("rx_drop"), Some(0));
    assert_eq!(eth0.get("tx_bytes"), Some(524_874));
    assert_eq!(eth0.get("tx_packets"), Some(4719));
    assert_eq!(eth0.counters.len(), 16);
    let lo = d.get("lo").unwrap();
    assert_eq!((lo.get("rx_packets"), lo.get("tx_packets")), (Some(1_062_192), Some(1_062_192)));
    assert_eq!(d.get("rxa").unwrap().get("tx_bytes"), Some(1226));
}

#[test]
fn net_dev_long_names_and_wide_counters() {
    let d = dev("procfs/proc/net/dev");
    assert_eq!(names(&d), ["vethf345468", "lo", "docker0", "eth0"]);
    assert_eq!(d.get("vethf345468").unwrap().get("rx_bytes"), Some(648));
    assert_eq!(d.get("vethf345468").unwrap().get("tx_packets"), Some(5));
    assert_eq!(d.get("lo").unwrap().get("rx_bytes"), Some(1_664_039_048));
    assert_eq!(d.get("eth0").unwrap().get("tx_packets"), Some(732_147));

    let d = dev("extra/net_dev/performancecopilot_pcp-procnet-4.15.14-net_dev.txt");
    assert_eq!(
        names(&d),
        [
            "tun0",
            "wlp3s0",
            "virbr0",
            "lo",
            "virbr0-nic",
            "virbr1-nic",
            "virbr1",
            "enp0s25",
            "docker0"
        ]
    );
    // 10- and 11-digit counters.
    assert_eq!(d.get("lo").unwrap().get("rx_bytes"), Some(4_493_605_264));
    assert_eq!(d.get("lo").unwrap().get("tx_bytes"), Some(4_493_605_264));
    let enp = d.get("enp0s25").unwrap();
    assert_eq!(enp.get("rx_bytes"), Some(18_690_974_820));
    assert_eq!(enp.get("rx_multicast"), Some(236_404));
    assert_eq!(enp.get("tx_bytes"), Some(3_777_745_438));
    assert_eq!(d.get("tun0").unwrap().get("tx_drop"), Some(46));
    assert_eq!(d.get("virbr0-nic").unwrap().get("rx_bytes"), Some(0));
}

#[test]
fn net_dev_old_and_edited_files() {
    let d = dev("extra/net_dev/RandolphWang1_D2000-net_dev.txt");
    assert_eq!(names(&d), ["lo", "eth0"]);
    let eth0 = d.get("eth0").unwrap();
    assert_eq!((eth0.get("rx_bytes"), eth0.get("rx_packets")), (Some(2_384_650), Some(11_882)));
    assert_eq!((eth0.get("tx_bytes"), eth0.get("tx_packets")), (Some(5_329_278), Some(13_901)));

    let d = dev("extra/net_dev/performancecopilot_pcp-bigsys-hpbl920gen8-net_dev.txt");
    assert_eq!(d.interfaces.len(), 49);
    assert_eq!(d.interfaces.last().unwrap().name, "eth47");
    assert_eq!(d.get("eth0").unwrap().get("rx_bytes"), Some(14_948_502));
    assert_eq!(d.get("eth0").unwrap().get("rx_multicast"), Some(45_891));

    let d = dev("extra/net_dev/sysstat_sysstat-tests-root1-dev.txt");
    let v = d.get("virbr0-1").unwrap();
    assert_eq!(v.get("rx_frame"), Some(250));
    assert_eq!(v.get("rx_multicast"), Some(2280));
    assert_eq!(v.get("tx_colls"), Some(150));
    assert_eq!(d.get("wlp5s0").unwrap().get("rx_drop"), Some(848));

    for f in ["root3", "root5", "root7"] {
        let d = dev(&format!("extra/net_dev/sysstat_sysstat-tests-{f}-dev.txt"));
        assert_eq!(d.get("lo").unwrap().get("rx_bytes"), Some(81_228_574), "{f}");
    }
    let d = dev("extra/net_dev/sysstat_sysstat-tests-root5-dev.txt");
    assert_eq!(d.get("wlp5s1").unwrap().get("tx_colls"), Some(10));

    let d = dev("procfs/proc/26231/net/dev");
    let eth0 = d.get("eth0").unwrap();
    assert_eq!(
        (
            eth0.get("rx_bytes"),
            eth0.get("rx_packets"),
            eth0.get("tx_bytes"),
            eth0.get("tx_packets")
        ),
        (Some(438), Some(5), Some(648), Some(8))
    );
}

#[test]
fn net_dev_duplicate_names_keep_both_rows() {
    let d = dev("extra/net_dev/meshr-net_meshr_win32-net_dev-NOT-KERNEL.txt");
    assert_eq!(names(&d), ["lo", "eth0", "eth0"]);
    assert!(
        d.interfaces.iter().all(|r| r.counters.len() == 16 && r.counters.values().all(|v| *v == 0))
    );
}

#[test]
fn net_dev_no_trailing_newline() {
    let text = fx("linux-6.18-virtio/proc/net/dev");
    let d = netdev::parse(text.trim_end_matches('\n')).unwrap();
    assert_eq!(d, dev("linux-6.18-virtio/proc/net/dev"));
    assert_eq!(d.get("rxa").unwrap().get("tx_compressed"), Some(0));
}

#[test]
fn net_dev_read_through_root() {
    let d = netdev::read(&root("linux-6.18-virtio"), &mut Names::default());
    assert_eq!(d.value().unwrap().get("eth0").unwrap().get("rx_packets"), Some(7837));
    let missing = netdev::read(&root("node_exporter"), &mut Names::default());
    assert_eq!(missing.unavailable().unwrap().what, "/proc/net/dev");
}

// ---------------------------------------------------------------------------------------------
// /proc/net/snmp and /proc/net/netstat

fn snmp_of(rel: &str) -> snmp::Snmp {
    snmp::parse(&fx(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn len(s: &snmp::Snmp, section: &str) -> usize {
    s.section(section).map_or(0, |c| c.len())
}

#[test]
fn snmp_udp_field_counts_4_6_7_8_9() {
    let s = snmp_of("extra/snmp/RandolphWang1_D2000-net_snmp.txt");
    assert_eq!(len(&s, "Udp"), 4);
    assert_eq!(s.get("Udp", "InDatagrams"), Some(11_438));
    assert_eq!(s.get("Udp", "OutDatagrams"), Some(13_602));
    assert_eq!(s.get("Udp", "RcvbufErrors"), None);

    let s = snmp_of("extra/snmp/RedHatInsights_insights-core-proc_net_snmp.txt");
    assert_eq!(len(&s, "Udp"), 6);
    assert_eq!(s.get("Udp", "RcvbufErrors"), Some(1));
    assert_eq!(s.get("Udp", "SndbufErrors"), Some(4));
    assert_eq!(s.get("Udp", "InCsumErrors"), None);
    assert_eq!(s.get("UdpLite", "NoPorts"), Some(10));
    assert_eq!(s.get("UdpLite", "SndbufErrors"), Some(100));

    let s = snmp_of("node_exporter/proc/net/snmp");
    assert_eq!(len(&s, "Udp"), 7);
    assert_eq!(s.get("Udp", "InDatagrams"), Some(88_542));
    assert_eq!(s.get("Udp", "NoPorts"), Some(120));
    assert_eq!(s.get("Udp", "RcvbufErrors"), Some(9));
    assert_eq!(s.get("Udp", "SndbufErrors"), Some(8));
    assert_eq!(s.get("Udp", "IgnoredMulti"), None);
    assert_eq!(s.get("Ip", "ForwDatagrams"), Some(397_750));

    let s = snmp_of("extra/snmp/jds2001_coreos-sosreport-master1-3255_net_snmp.txt");
    assert_eq!(len(&s, "Udp"), 8);
    assert_eq!(s.get("Udp", "InDatagrams"), Some(55_718));
    assert_eq!(s.get("Udp", "IgnoredMulti"), Some(15));
    assert_eq!(s.get("Udp", "MemErrors"), None);
    assert_eq!(s.get("Tcp", "ActiveOpens"), Some(54_033));
    assert_eq!(s.get("Ip", "OutNoRoutes"), Some(4165));

    let s = snmp_of("linux-6.18-virtio/proc/net/snmp");
    assert_eq!(len(&s, "Udp"), 9);
    assert_eq!(s.get("Udp", "InDatagrams"), Some(217));
    assert_eq!(s.get("Udp", "NoPorts"), Some(200));
    assert_eq!(s.get("Udp", "InErrors"), Some(1_059_991));
    assert_eq!(s.get("Udp", "OutDatagrams"), Some(1_060_418));
    assert_eq!(s.get("Udp", "RcvbufErrors"), Some(1_059_991));
    assert_eq!(s.get("Udp", "MemErrors"), Some(0));
    assert_eq!(len(&s, "UdpLite"), 9);

    for f in ["root1", "root3", "root5", "root7"] {
        let s = snmp_of(&format!("extra/snmp/sysstat_sysstat-tests-{f}-snmp.txt"));
        assert_eq!(len(&s, "Udp"), 8, "{f}");
        assert_eq!(s.get("Udp", "IgnoredMulti"), Some(50), "{f}");
        assert_eq!(s.get("Udp", "InDatagrams"), Some(4198), "{f}");
    }
}

#[test]
fn snmp_ip_19_vs_20_fields() {
    let old = snmp_of("extra/snmp/performancecopilot_pcp-procnet-snmp-3.19.0.txt");
    assert_eq!(len(&old, "Ip"), 19);
    assert_eq!(old.get("Ip", "OutTransmits"), None);
    assert_eq!(old.get("Ip", "InReceives"), Some(55_946_598));
    assert_eq!(old.get("Ip", "OutDiscards"), Some(160));

    let new = snmp_of("linux-6.18-virtio/proc/net/snmp");
    assert_eq!(len(&new, "Ip"), 20);
    assert_eq!(new.get("Ip", "OutTransmits"), Some(1_066_898));
    assert_eq!(new.get("Ip", "InReceives"), Some(1_070_024));
    assert_eq!(new.get("Ip", "Forwarding"), Some(2));
    assert_eq!(new.section("Ip").unwrap().keys().last().unwrap(), "OutTransmits");
    let order: Vec<&str> = new.sections.keys().map(Name::as_str).collect();
    assert_eq!(order, ["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"]);
}

#[test]
fn snmp_maxconn_is_signed() {
    for rel in [
        "extra/snmp/RandolphWang1_D2000-net_snmp.txt",
        "procfs/proc/26231/net/snmp",
        "node_exporter/proc/net/snmp",
        "linux-6.18-virtio/proc/net/snmp",
    ] {
        let s = snmp_of(rel);
        assert_eq!(s.get("Tcp", "MaxConn"), Some(-1), "{rel}");
        assert_eq!(s.get("Tcp", "RtoMax"), Some(120_000), "{rel}");
    }
}

#[test]
fn snmp_icmpmsg_absent_or_changing_shape() {
    let s = snmp_of("extra/snmp/RandolphWang1_D2000-net_snmp.txt");
    assert!(s.section("IcmpMsg").is_none());
    assert!(s.section("UdpLite").is_none());
    let order: Vec<&str> = s.sections.keys().map(Name::as_str).collect();
    assert_eq!(order, ["Ip", "Icmp", "Tcp", "Udp"]);

    let s = snmp_of("extra/snmp/performancecopilot_pcp-procnet-snmp-3.19.0.txt");
    assert_eq!(len(&s, "IcmpMsg"), 9);
    assert_eq!(s.get("IcmpMsg", "InType142"), Some(21));
    assert_eq!(s.get("IcmpMsg", "OutType3"), Some(51_623));
    assert_eq!(s.get("IcmpMsg", "OutType69"), Some(21));

    let s = snmp_of("procfs/proc/26231/net/snmp");
    assert_eq!(s.get("IcmpMsg", "InType3"), Some(45));
    assert_eq!(s.get("IcmpMsg", "OutType3"), Some(50));
    assert_eq!(s.get("Udp", "InDatagrams"), Some(10_179));
    assert_eq!(s.get("Udp", "NoPorts"), Some(50));
    assert_eq!(s.get("Udp", "IgnoredMulti"), Some(58));
    assert_eq!(s.get("Ip", "DefaultTTL"), Some(64));

    let s = snmp_of("extra/snmp/sysstat_sysstat-tests-root1-snmp.txt");
    assert_eq!(len(&s, "IcmpMsg"), 1);
    assert_eq!(s.get("IcmpMsg", "InType3"), Some(7));

    let s = snmp_of("linux-6.18-virtio/proc/net/snmp");
    assert_eq!(s.get("IcmpMsg", "InType3"), Some(201));
    assert_eq!(s.get("IcmpMsg", "OutType3"), Some(200));
}

#[test]
fn snmp_icmp_rate_limit_fields_backported_to_5_14() {
    let s = snmp_of("extra/snmp/performancecopilot_pcp-procnet-snmp-5.14.0.txt");
    // The file numbers every value by its position, so a positional parser would be caught.
    assert_eq!(len(&s, "Icmp"), 29);
    assert_eq!(s.get("Icmp", "OutErrors"), Some(16));
    assert_eq!(s.get("Icmp", "OutRateLimitGlobal"), Some(17));
    assert_eq!(s.get("Icmp", "OutRateLimitHost"), Some(18));
    assert_eq!(s.get("Icmp", "OutDestUnreachs"), Some(19));
    assert_eq!(s.get("Icmp", "OutAddrMaskReps"), Some(29));
    assert_eq!(len(&s, "Ip"), 19);
    assert_eq!(s.get("Udp", "MemErrors"), Some(9));
    assert_eq!(s.get("UdpLite", "IgnoredMulti"), Some(8));
    assert_eq!(s.get("IcmpMsg", "OutType3"), Some(1));

    let old = snmp_of("extra/snmp/jds2001_coreos-sosreport-master1-3255_net_snmp.txt");
    assert_eq!(len(&old, "Icmp"), 27);
    assert_eq!(old.get("Icmp", "OutRateLimitGlobal"), None);
    assert_eq!(old.get("Icmp", "InMsgs"), Some(714));
    assert_eq!(old.get("Icmp", "InErrors"), Some(423));

    let new = snmp_of("linux-6.18-virtio/proc/net/snmp");
    assert_eq!(len(&new, "Icmp"), 29);
    assert_eq!(new.get("Icmp", "OutRateLimitHost"), Some(0));
    assert_eq!(new.get("Icmp", "OutDestUnreachs"), Some(200));
}

#[test]
fn netstat_tcpext_counts() {
    // (file, TcpExt fields, IpExt fields or 0 when absent)
    let cases = [
        ("extra/netstat/RandolphWang1_D2000-net_netstat.txt", 65, 0),
        ("extra/netstat/performancecopilot_pcp-bigsys-hpbl920gen8-net_netstat.txt", 81, 12),
        ("node_exporter/proc/net/netstat", 84, 12),
        ("extra/netstat/performancecopilot_pcp-procnet-4.15.14-net_netstat.txt", 111, 17),
        ("procfs/proc/26231/net/netstat", 113, 18),
        ("extra/netstat/jds2001_coreos-sosreport-master1-3255_net_netstat.txt", 115, 18),
        // 135 names on the TcpExt line (the shared docs say 136, counting the "TcpExt:" label).
        ("linux-6.18-virtio/proc/net/netstat", 135, 18),
    ];
    for (rel, tcpext, ipext) in cases {
        let s = snmp_of(rel);
        assert_eq!(len(&s, "TcpExt"), tcpext, "{rel}");
        assert_eq!(len(&s, "IpExt"), ipext, "{rel}");
        assert_eq!(s.section("TcpExt").unwrap().keys().next().unwrap(), "SyncookiesSent");
    }

    let s = snmp_of("extra/netstat/performancecopilot_pcp-procnet-4.15.14-net_netstat.txt");
    assert_eq!(s.get("TcpExt", "ListenOverflows"), Some(90));
    assert_eq!(s.get("TcpExt", "ListenDrops"), Some(90));
    assert_eq!(s.get("TcpExt", "PAWSEstab"), Some(4));
    assert_eq!(s.get("TcpExt", "DelayedACKs"), Some(116_907));

    let s = snmp_of("procfs/proc/26231/net/netstat");
    assert_eq!(s.get("TcpExt", "TCPBacklogDrop"), Some(6));
    assert_eq!(s.get("TcpExt", "TCPRcvQDrop"), Some(92_425));
    assert_eq!(s.get("TcpExt", "PAWSEstab"), Some(3640));

    let s = snmp_of("node_exporter/proc/net/netstat");
    assert_eq!(s.get("TcpExt", "TCPRcvQDrop"), Some(131));
    assert_eq!(s.get("TcpExt", "DelayedACKs"), Some(102_471));
    assert_eq!(s.get("TcpExt", "BeyondWindow"), None);
}

#[test]
fn netstat_6_18_inserted_fields_and_mptcpext() {
    let s = snmp_of("linux-6.18-virtio/proc/net/netstat");
    let order: Vec<&str> = s.sections.keys().map(Name::as_str).collect();
    assert_eq!(order, ["TcpExt", "IpExt", "MPTcpExt"]);
    assert_eq!(len(&s, "MPTcpExt"), 76);
    assert_eq!(s.section("MPTcpExt").unwrap().keys().next().unwrap(), "MPCapableSYNRX");
    assert_eq!(s.get("MPTcpExt", "MPCapableSYNTX"), Some(0));
    // 6.18 inserted BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait right after PAWSEstab:
    // DelayedACKs must still be found by name.
    let tcpext: Vec<&str> = s.section("TcpExt").unwrap().keys().map(Name::as_str).collect();
    let at = tcpext.iter().position(|k| *k == "PAWSEstab").unwrap();
    assert_eq!(
        tcpext[at..at + 6],
        ["PAWSEstab", "BeyondWindow", "TSEcrRejected", "PAWSOldAck", "PAWSTimewait", "DelayedACKs"]
    );
    assert_eq!(s.get("TcpExt", "DelayedACKs"), Some(7));
    assert_eq!(s.get("TcpExt", "TW"), Some(73));
    assert_eq!(s.get("TcpExt", "TCPRcvCoalesce"), Some(5283));
    assert_eq!(s.get("TcpExt", "TCPAODroppedIcmps"), Some(0));
    assert_eq!(s.get("IpExt", "InOctets"), Some(386_098_565));
    assert_eq!(s.get("IpExt", "InNoECTPkts"), Some(1_070_024));

    let old = snmp_of("extra/netstat/RandolphWang1_D2000-net_netstat.txt");
    assert!(old.section("IpExt").is_none() && old.section("MPTcpExt").is_none());
}

#[test]
fn snmp_json_shape() {
    let s = snmp_of("node_exporter/proc/net/snmp");
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["Udp"]["RcvbufErrors"], 9);
    assert_eq!(j["Tcp"]["MaxConn"], -1);
    assert_eq!(serde_json::from_value::<snmp::Snmp>(j).unwrap(), s);
}

#[test]
fn snmp_read_through_root() {
    let r = root("linux-6.18-virtio");
    assert_eq!(
        snmp::read_snmp(&r, &mut Names::default()).value().unwrap().get("Ip", "OutTransmits"),
        Some(1_066_898)
    );
    assert_eq!(
        snmp::read_netstat(&r, &mut Names::default())
            .value()
            .unwrap()
            .get("MPTcpExt", "MPCapableSYNRX"),
        Some(0)
    );
    assert_eq!(snmp::read_snmp6(&r, &mut Names::default()).value().unwrap()["Udp6MemErrors"], 0);
    assert_eq!(snmp::read_dev_snmp6(&r, "eth0").value().unwrap()["ifIndex"], 4);
    // procfs keeps snmp only under proc/26231: the global file is missing, said so, not fatal.
    let p = root("procfs");
    let u = snmp::read_snmp(&p, &mut Names::default());
    assert_eq!(u.unavailable().unwrap().what, "/proc/net/snmp");
    assert!(u.unavailable().unwrap().why.contains("not present"));
    assert_eq!(snmp::read_dev_snmp6(&p, "eth1").value().unwrap()["ifIndex"], 2);
    assert!(!snmp::read_dev_snmp6(&p, "eth9").is_available());
}

// ---------------------------------------------------------------------------------------------
// snmp6 and dev_snmp6

fn snmp6_of(rel: &str) -> snmp::Counters {
    snmp::parse_snmp6(&fx(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn snmp6_files() {
    let c = snmp6_of("procfs/proc/26231/net/snmp6");
    assert_eq!(c.len(), 92);
    assert_eq!(c["Ip6InReceives"], 92_166);
    assert_eq!(c["Ip6InDelivers"], 92_053);
    assert_eq!(c["Ip6OutNoRoutes"], 169);
    assert_eq!(c["Ip6InOctets"], 113_479_132);
    assert_eq!(c["Icmp6InMsgs"], 142);
    assert_eq!(c["Icmp6InType143"], 2);
    assert_eq!(c["Udp6InDatagrams"], 2016);
    assert_eq!(c["Udp6IgnoredMulti"], 12);
    assert_eq!(c["UdpLite6InDatagrams"], 0);
    assert_eq!(c.keys().next().unwrap(), "Ip6InReceives");

    let c = snmp6_of("node_exporter/proc/net/snmp6");
    assert_eq!(c.len(), 85);
    assert_eq!(c["Ip6InOctets"], 460);
    assert_eq!(c["Ip6OutOctets"], 536);
    assert_eq!(c["Icmp6OutMsgs"], 8);
    assert_eq!(c["Udp6RcvbufErrors"], 9);
    assert_eq!(c["Udp6SndbufErrors"], 8);
    // Sparse type lines: only the types seen.
    assert_eq!(c["Icmp6OutType133"], 3);
    assert!(!c.contains_key("Icmp6InType134"));

    let c = snmp6_of("linux-6.18-virtio/proc/net/snmp6");
    assert_eq!(c.len(), 91);
    assert_eq!(c["Ip6InReceives"], 16);
    assert_eq!(c["Icmp6OutType143"], 12);
    assert_eq!(c["Udp6MemErrors"], 0);
    assert!(c.contains_key("UdpLite6MemErrors"));
    assert!(!c.contains_key("UdpLite6IgnoredMulti"));

    // 2.6.32: Udp6 has no RcvbufErrors yet (added in 2.6.37).
    let c = snmp6_of("extra/snmp6/performancecopilot_pcp-bigsys-hpbl920gen8-net_snmp6.txt");
    assert_eq!(c.len(), 77);
    assert_eq!(c["Ip6InReceives"], 3272);
    assert_eq!(c["Udp6OutDatagrams"], 73);
    assert_eq!(c["Icmp6InType1"], 73);
    assert!(!c.contains_key("Udp6RcvbufErrors"));

    let c = snmp6_of("extra/snmp6/performancecopilot_pcp-procnet-snmp6-3.19.0.txt");
    assert_eq!(c["Ip6InReceives"], 13_460_884);
    assert_eq!(c["Icmp6OutType133"], 499_671);
    assert_eq!(c["Udp6InDatagrams"], 481_081);
    assert_eq!(c["Udp6IgnoredMulti"], 0);

    let c = snmp6_of("extra/snmp6/RedHatInsights_insights-core-proc_net_snmp6.txt");
    assert_eq!(c["Ip6InReceives"], 757);
    assert_eq!(c["Icmp6OutType143"], 34);

    for f in ["root1", "root3", "root5", "root7"] {
        let c = snmp6_of(&format!("extra/snmp6/sysstat_sysstat-tests-{f}-snmp6.txt"));
        assert_eq!(c["Ip6InReceives"], 10_228, "{f}");
        assert_eq!(c["Udp6InDatagrams"], 671, "{f}");
    }
}

#[test]
fn dev_snmp6_files_keep_ifindex() {
    let c = snmp6_of("procfs/proc/net/dev_snmp6/eth0");
    assert_eq!(c.len(), 83);
    assert_eq!(c.keys().next().unwrap(), "ifIndex");
    assert_eq!(c["ifIndex"], 1);
    assert_eq!(c["Ip6InReceives"], 3_057_229);
    assert_eq!(c["Icmp6InType136"], 27_457);
    assert_eq!(snmp6_of("procfs/proc/net/dev_snmp6/eth1")["ifIndex"], 2);
    for (ifname, index) in [("lo", 1), ("eth0", 4)] {
        let c = snmp6_of(&format!("linux-6.18-virtio/proc/net/dev_snmp6/{ifname}"));
        assert_eq!(c["ifIndex"], index, "{ifname}");
    }
    for ifname in ["ifb0", "ifb1", "rxa"] {
        let c = snmp6_of(&format!("linux-6.18-virtio/proc/net/dev_snmp6/{ifname}"));
        assert!(c["ifIndex"] > 0, "{ifname}");
    }
    let c = snmp6_of("procfs/proc/26231/net/dev_snmp6/eth0");
    assert!(c.contains_key("ifIndex"));
}

// ---------------------------------------------------------------------------------------------
// /proc/net/udp and /proc/net/udp6

fn udp_of(rel: &str, family: Family) -> Vec<UdpSocket> {
    udp::parse(&fx(rel), family).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn by_inode(v: &[UdpSocket], inode: u64) -> &UdpSocket {
    v.iter().find(|s| s.inode == inode).unwrap_or_else(|| panic!("no socket with inode {inode}"))
}

#[test]
fn udp_live_6_18_capture_full_buffer() {
    let v = udp_of("live-6.18/proc/net/udp", Family::Inet);
    assert_eq!(v.len(), 2);
    let s = by_inode(&v, 9511);
    assert_eq!(s.family, Family::Inet);
    assert_eq!(s.sl, Some(1064));
    assert_eq!((s.local_address, s.local_port), (ip("127.0.0.1"), 49073));
    assert_eq!((s.rem_address, s.rem_port), (ip("0.0.0.0"), 0));
    assert_eq!(s.st, 7);
    assert_eq!((s.tx_queue, s.rx_queue), (0, 7680));
    assert_eq!(s.ref_count, Some(2));
    assert_eq!(s.pointer.as_deref(), Some("00000000b69b563b"));
    assert_eq!(s.drops, Some(44));
    let sender = by_inode(&v, 9513);
    assert_eq!((sender.local_port, sender.drops, sender.sl), (34694, Some(0), Some(3069)));

    let v6 = udp_of("live-6.18/proc/net/udp6", Family::Inet6);
    assert_eq!(v6.len(), 2);
    let s = by_inode(&v6, 9512);
    assert_eq!(s.family, Family::Inet6);
    assert_eq!(s.sl, Some(13_001));
    assert_eq!((s.local_address, s.local_port), (ip("::1"), 44626));
    assert_eq!(s.rem_address, ip("::"));
    assert_eq!(s.rx_queue, 832);
    assert_eq!(s.drops, Some(0));
}

#[test]
fn udp_without_drops_column_2_6() {
    let v = udp_of("extra/udp/RandolphWang1_D2000-net_udp.txt", Family::Inet);
    assert_eq!(v.len(), 1);
    let s = &v[0];
    assert_eq!((s.sl, s.local_address, s.local_port), (Some(127), ip("0.0.0.0"), 1023));
    assert_eq!(s.inode, 1141);
    assert_eq!(s.ref_count, Some(2));
    assert_eq!(s.pointer.as_deref(), Some("c1f09e40"), "32-bit raw pointer");
    assert_eq!(s.drops, None);
}

#[test]
fn udp_hashed_pointers_4_18() {
    let v = udp_of("extra/udp/jds2001_coreos-sosreport-master1-3255_net_udp.txt", Family::Inet);
    assert_eq!(v.len(), 5);
    let s = &v[0];
    assert_eq!((s.sl, s.local_address, s.local_port), (Some(1298), ip("172.16.1.10"), 68));
    assert_eq!(s.inode, 24398);
    assert_eq!(s.pointer.as_deref(), Some("00000000e3d64881"));
    assert_eq!(s.drops, Some(0));
    let chrony = by_inode(&v, 22098);
    assert_eq!((chrony.local_address, chrony.local_port), (ip("127.0.0.1"), 323));
    let s = by_inode(&v, 24899);
    assert_eq!((s.uid, s.local_port, s.sl), (29, 43586, Some(3856)));

    let v6 = udp_of("extra/udp/jds2001_coreos-sosreport-master1-3255_net_udp6.txt", Family::Inet6);
    assert_eq!(v6.len(), 3);
    let s = by_inode(&v6, 22099);
    assert_eq!((s.local_address, s.local_port, s.sl), (ip("::1"), 323, Some(1553)));
    assert_eq!(s.pointer.as_deref(), Some("00000000b181c66d"));
    assert_eq!(by_inode(&v6, 24914).local_port, 38388);
}

#[test]
fn udp_raw_pointers_2_6_32() {
    let v = udp_of("extra/udp/performancecopilot_pcp-bigsys-hpbl920gen8-net_udp.txt", Family::Inet);
    assert_eq!(v.len(), 9);
    let ntp = by_inode(&v, 148_678);
    assert_eq!((ntp.local_address, ntp.local_port, ntp.sl), (ip("10.16.184.81"), 123, Some(74)));
    assert_eq!(ntp.pointer.as_deref(), Some("ffff899edf07c040"));
    assert_eq!(by_inode(&v, 148_677).local_address, ip("127.0.0.1"));
    assert_eq!(by_inode(&v, 131_995).uid, 29);
    assert!(v.iter().all(|s| s.drops == Some(0) && s.ref_count == Some(2)));
    // Several sockets share bucket 74.
    assert_eq!(v.iter().filter(|s| s.sl == Some(74)).count(), 3);

    let v6 =
        udp_of("extra/udp/performancecopilot_pcp-bigsys-hpbl920gen8-net_udp6.txt", Family::Inet6);
    assert_eq!(v6.len(), 7);
    assert_eq!(by_inode(&v6, 148_681).local_address, ip("fe80::3aea:a7ff:fe35:d438"));
    assert_eq!(by_inode(&v6, 148_680).local_address, ip("2620:52:0:10bb:3aea:a7ff:fe35:d438"));
    assert_eq!(by_inode(&v6, 148_679).local_address, ip("::1"));
    assert_eq!(by_inode(&v6, 132_003).local_port, 58997);
}

#[test]
fn udp_header_without_drops_over_rows_with_them() {
    // procfs's hand-made rows: header ends at "inode", rows carry ref, pointer, drops (and more).
    let v = udp_of("procfs/proc/net/udp", Family::Inet);
    assert_eq!(v.len(), 3);
    assert_eq!((v[0].sl, v[0].local_address, v[0].local_port), (Some(0), ip("10.0.0.5"), 22));
    assert_eq!((v[0].st, v[0].tx_queue, v[0].rx_queue), (10, 0, 1));
    assert_eq!((v[1].tx_queue, v[1].rx_queue), (1, 0));
    assert_eq!((v[2].tx_queue, v[2].rx_queue), (1, 1));
    for s in &v {
        assert_eq!((s.inode, s.ref_count, s.drops, s.uid), (2740, Some(1), Some(100), 0));
        assert_eq!(s.pointer.as_deref(), Some("ffff88003d3af3c0"));
    }

    let v = udp_of("node_exporter/proc/net/udp", Family::Inet);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].tx_queue, v[0].rx_queue, v[0].inode), (21, 0, 2740));

    let v6 = udp_of("procfs/proc/net/udp6", Family::Inet6);
    assert_eq!(v6.len(), 2);
    assert_eq!(
        (v6[0].sl, v6[0].local_port, v6[0].uid, v6[0].inode),
        (Some(1315), 5355, 981, 21040)
    );
    assert_eq!(v6[0].local_address, ip("::"));
    assert_eq!((v6[1].sl, v6[1].local_port, v6[1].uid), (Some(6073), 51073, 1000));
    assert_eq!(v6[1].local_address, ip("fe80::56e1:adff:fe7c:6609"));
    assert_eq!(v6[1].inode, 11_337_031);
}

#[test]
fn udp_broken_is_an_error() {
    let e = udp::parse(&fx("procfs/proc/net/udp_broken"), Family::Inet).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.msg.contains("at least 10"), "{e}");

    // Through a Root the error becomes an Unavailable part naming the file; udp6 is separate.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
    std::fs::write(dir.path().join("proc/net/udp"), fx("procfs/proc/net/udp_broken")).unwrap();
    std::fs::write(dir.path().join("proc/net/udp6"), fx("procfs/proc/net/udp6")).unwrap();
    let both = udp::read(&Root::at(dir.path()));
    let u = both.udp.unavailable().unwrap();
    assert_eq!(u.what, "/proc/net/udp");
    assert!(u.why.contains("cannot parse"), "{u}");
    assert_eq!(both.udp6.value().unwrap().len(), 2);
}

#[test]
fn udp_empty_files_6_18() {
    assert!(udp_of("linux-6.18-virtio/proc/net/udp", Family::Inet).is_empty());
    assert!(udp_of("linux-6.18-virtio/proc/net/udp6", Family::Inet6).is_empty());
}

#[test]
fn udp_read_without_udp6_keeps_ipv4() {
    // node_exporter has no udp6: what a host with IPv6 disabled looks like.
    let both = udp::read(&root("node_exporter"));
    assert_eq!(both.udp.value().unwrap().len(), 1);
    let u6 = both.udp6.unavailable().unwrap();
    assert_eq!(u6.what, "/proc/net/udp6");
    assert_eq!(both.iter().count(), 1);
    let j = serde_json::to_value(&both).unwrap();
    assert_eq!(j["udp"][0]["tx_queue"], 21);
    assert_eq!(j["udp6"]["unavailable"]["what"], "/proc/net/udp6");

    let both = udp::read(&root("live-6.18"));
    assert_eq!(both.iter().count(), 4);
    assert_eq!(both.iter().map(|s| s.drops.unwrap_or(0)).sum::<u64>(), 44);
}

#[test]
fn udp_big_endian_reading_of_a_little_endian_capture_differs() {
    let text = fx("live-6.18/proc/net/udp");
    let be = udp::parse_with_endianness(&text, Family::Inet, Endian::Big).unwrap();
    assert_eq!(be[0].local_address, ip("1.0.0.127"));
    assert_eq!(be[0].local_port, 49073, "ports do not depend on byte order");
}

// ---------------------------------------------------------------------------------------------
// /proc/net/packet

#[test]
fn packet_live_6_18_capture() {
    let v = packet::parse(&fx("live-6.18/proc/net/packet")).unwrap();
    assert_eq!(v.len(), 2);
    let all = &v[0];
    assert_eq!((all.type_, all.proto, all.iface, all.running), (3, 0x0003, 0, true));
    assert_eq!((all.rmem, all.user, all.inode), (0, 0, 8575));
    assert_eq!(all.other["sk"], "00000000b56ef210");
    assert_eq!(all.other["RefCnt"], "3");
    let lldp = &v[1];
    assert_eq!((lldp.type_, lldp.proto, lldp.iface, lldp.inode), (2, 0x88cc, 1, 8576));
    let r = packet::read(&root("live-6.18"));
    assert_eq!(r.value().unwrap(), &v);
    assert_eq!(packet::read(&root("procfs")).unavailable().unwrap().what, "/proc/net/packet");
}

// ---------------------------------------------------------------------------------------------
// No input makes a parser panic.

const ALL_FIXTURES: &[&str] = &[
    "linux-6.18-virtio/proc/net/dev",
    "procfs/proc/net/dev",
    "extra/net_dev/meshr-net_meshr_win32-net_dev-NOT-KERNEL.txt",
    "extra/net_dev/performancecopilot_pcp-procnet-4.15.14-net_dev.txt",
    "linux-6.18-virtio/proc/net/snmp",
    "linux-6.18-virtio/proc/net/netstat",
    "extra/snmp/RandolphWang1_D2000-net_snmp.txt",
    "extra/snmp/performancecopilot_pcp-procnet-snmp-5.14.0.txt",
    "procfs/proc/26231/net/netstat",
    "linux-6.18-virtio/proc/net/snmp6",
    "procfs/proc/net/dev_snmp6/eth0",
    "live-6.18/proc/net/udp",
    "live-6.18/proc/net/udp6",
    "procfs/proc/net/udp",
    "extra/udp/RandolphWang1_D2000-net_udp.txt",
    "extra/udp/performancecopilot_pcp-bigsys-hpbl920gen8-net_udp6.txt",
    "procfs/proc/net/udp_broken",
    "live-6.18/proc/net/packet",
];

fn run_all(text: &str) {
    let _ = netdev::parse(text);
    let _ = snmp::parse(text);
    let _ = snmp::parse_snmp6(text);
    for family in [Family::Inet, Family::Inet6] {
        for endian in [Endian::Little, Endian::Big] {
            let _ = udp::parse_with_endianness(text, family, endian);
        }
    }
    let _ = packet::parse(text);
}

/// Edits to a fixture: truncate, insert, delete, or overwrite at a position (all byte-based, then
/// made valid UTF-8 lossily, as `Root::read` does).
#[derive(Clone, Debug)]
enum Edit {
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Overwrite(usize, Vec<u8>),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let bytes = prop::collection::vec(
        prop_oneof![
            Just(b' '),
            Just(b'\n'),
            Just(b':'),
            Just(b'\t'),
            Just(b'|'),
            Just(b'-'),
            Just(b'9'),
            Just(b'F'),
            any::<u8>()
        ],
        1..12,
    );
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), bytes.clone()).prop_map(|(p, b)| Edit::Insert(p, b)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Edit::Delete(p, n)),
        (any::<usize>(), bytes).prop_map(|(p, b)| Edit::Overwrite(p, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match e {
            Edit::Truncate(p) => b.truncate(at(*p, b.len())),
            Edit::Insert(p, ins) => {
                let i = at(*p, b.len());
                b.splice(i..i, ins.iter().copied());
            }
            Edit::Delete(p, n) => {
                let i = at(*p, b.len());
                let j = (i + n).min(b.len());
                b.drain(i..j);
            }
            Edit::Overwrite(p, over) => {
                let i = at(*p, b.len());
                for (k, v) in over.iter().enumerate() {
                    if let Some(slot) = b.get_mut(i + k) {
                        *slot = *v;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in "\\PC*") {
        run_all(&text);
    }

    #[test]
    fn parsers_never_panic_on_procfs_like_text(
        text in "([ \\t]{0,3}[a-zA-Z0-9:|.\\-]{0,20}[ \\t:]{0,3}){0,30}(\n([ \\t]{0,3}[a-zA-Z0-9:|.\\-]{0,20}[ \\t:]{0,3}){0,30}){0,8}"
    ) {
        run_all(&text);
    }

    #[test]
    fn parsers_never_panic_on_mutated_fixtures(
        which in 0..ALL_FIXTURES.len(),
        edits in prop::collection::vec(edit_strategy(), 1..6),
    ) {
        let text = apply(&fx(ALL_FIXTURES[which]), &edits);
        run_all(&text);
    }

    #[test]
    fn snmp_values_saturate_and_never_fail(v in any::<u128>(), neg in any::<bool>()) {
        let value = if neg { format!("-{v}") } else { v.to_string() };
        let s = snmp::parse(&format!("Udp: X\nUdp: {value}\n")).unwrap();
        let got = s.get("Udp", "X").unwrap();
        let want = if neg {
            i64::try_from(-(v.min(i64::MAX as u128 + 1) as i128)).unwrap_or(i64::MIN)
        } else {
            i64::try_from(v).unwrap_or(i64::MAX)
        };
        prop_assert_eq!(got, want);
    }
}

// ---------------------------------------------------------------------------------------------
// The live kernel: our own sockets must be found by inode.

/// The inode of a socket fd, from its `/proc/self/fd/N -> socket:[N]` link.
fn socket_inode(fd: i32) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    let s = link.to_string_lossy();
    s.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')).unwrap().parse().unwrap()
}

#[test]
fn live_udp_socket_is_found_by_inode() {
    use std::os::fd::AsRawFd;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let inode = socket_inode(sock.as_raw_fd());
    let both = udp::read(&Root::live());
    let v4 = both.udp.value().expect("/proc/net/udp readable");
    let s = v4.iter().find(|s| s.local_port == port).expect("our socket in /proc/net/udp");
    assert_eq!(s.inode, inode);
    assert_eq!(s.local_address, ip("127.0.0.1"));
    assert_eq!(s.family, Family::Inet);
    assert_eq!(s.st, 7);
    assert_eq!(s.uid, unsafe { libc::geteuid() });
    assert_eq!(s.drops, Some(0));
}

#[test]
fn live_packet_socket_is_found_by_inode() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED live_packet_socket_is_found_by_inode: needs root (CAP_NET_RAW)");
        return;
    }
    let proto = (libc::ETH_P_ALL as u16).to_be();
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        eprintln!("SKIPPED live_packet_socket_is_found_by_inode: socket(AF_PACKET): {e}");
        return;
    }
    struct Close(i32);
    impl Drop for Close {
        fn drop(&mut self) {
            unsafe { libc::close(self.0) };
        }
    }
    let _guard = Close(fd);
    let inode = socket_inode(fd);
    let v = packet::read(&Root::live());
    let v = v.value().expect("/proc/net/packet readable");
    let s = v.iter().find(|s| s.inode == inode).expect("our AF_PACKET socket in /proc/net/packet");
    assert_eq!(s.type_, libc::SOCK_RAW as u16);
    assert_eq!(s.proto, libc::ETH_P_ALL as u16);
    assert_eq!(s.iface, 0, "not bound: all interfaces");
    assert!(s.running);
    assert_eq!(s.user, 0);
}
