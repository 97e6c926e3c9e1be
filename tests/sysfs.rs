//! sysfs readers (interfaces, queues, IRQs) against real fixture trees, synthetic trees with real
//! symlinks, and the live host.

use rxpath::source::iface::{self, SysfsIface};
use rxpath::source::irq::{self, FROM_ACTION_NAME, QueueKind};
use rxpath::source::queues;
use rxpath::{Avail, Root};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sysfs");

fn fixture(name: &str) -> Root {
    Root::at(format!("{FIX}/{name}"))
}

fn why<T>(a: &Avail<T>) -> String {
    a.unavailable().map(|u| u.why.clone()).unwrap_or_else(|| panic!("expected Unavailable"))
}

// ---- node_exporter: bonds, a regular file in class/net, the igb port ----

#[test]
fn node_exporter_list_skips_bonding_masters() {
    let root = fixture("node_exporter");
    // ens10f0 is a class link added to the copy (see PROVENANCE.md); eth0 is a real symlink.
    assert_eq!(
        iface::list(&root).into_value().unwrap(),
        ["bond0", "dmz", "ens10f0", "eth0", "int"]
    );
}

#[test]
fn node_exporter_bond_has_unknown_speed_and_no_device() {
    let root = fixture("node_exporter");
    let b = iface::read(&root, "bond0");
    assert_eq!(b.speed, Avail::Value(-1));
    assert_eq!(b.duplex, Avail::Value("full".into()));
    assert_eq!(b.flags, Avail::Value(0x1303));
    assert_eq!(b.ifindex, Avail::Value(2));
    assert_eq!(b.type_, Avail::Value(1));
    assert_eq!(b.address, Avail::Value("01:01:01:01:01:01".into()));
    assert_eq!(b.device, None);
    // The upstream fixture has no statistics/ for bonds.
    assert!(b.statistics.unavailable().unwrap().what.ends_with("/bond0/statistics"));
    assert_eq!(irq::read(&root, &b), Avail::Value(vec![]));
    assert_eq!(iface::read(&root, "dmz").speed, Avail::Value(1000));
}

#[test]
fn node_exporter_igb_port() {
    let root = fixture("node_exporter");
    let i = iface::read(&root, "ens10f0");
    assert_eq!(i.speed, Avail::Value(1000));
    assert_eq!(i.mtu, Avail::Value(1500));
    assert_eq!(i.address, Avail::Value("68:05:ca:f0:cb:12".into()));
    assert_eq!(i.flags, Avail::Value(0x1303));
    assert_eq!(
        i.flag_names,
        ["UP", "BROADCAST", "RUNNING", "PROMISC", "ALLMULTI", "MULTICAST", "LOWER_UP"]
    );
    assert_eq!(i.threaded, Avail::Value(0));
    assert_eq!(i.gro_flush_timeout, Avail::Value(0));
    let stats = i.statistics.value().unwrap();
    assert_eq!(stats.len(), 24);
    assert_eq!(stats["rx_packets"], 46422718);
    assert_eq!(stats["rx_dropped"], 29220);
    assert_eq!(stats["rx_missed_errors"], 0);
    assert_eq!(stats["rx_nohandler"], 0);

    let dev = i.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:40/0000:40:01.3/0000:45:00.0");
    assert_eq!(dev.bus_device, dev.path);
    assert_eq!(dev.driver.as_deref(), Some("igb"));
    assert_eq!(dev.numa_node, Avail::Value(0));
    let expect: Vec<u32> = (0..64).chain(128..192).collect();
    assert_eq!(dev.local_cpus, Avail::Value(expect));

    let irqs = irq::read(&root, &i).into_value().unwrap();
    let numbers: Vec<u32> = irqs.iter().map(|q| q.irq).collect();
    assert_eq!(numbers, (147..=155).collect::<Vec<_>>());
    // The fixture has no /sys/kernel/irq: each IRQ says so, nothing is invented.
    assert!(irqs[0].actions.unavailable().unwrap().what == "/sys/kernel/irq/147/actions");
    assert!(irqs.iter().all(|q| q.queue.is_none()));
}

#[test]
fn node_exporter_igb_queues() {
    let root = fixture("node_exporter");
    let q = queues::read(&root, "ens10f0").into_value().unwrap();
    assert_eq!(q.rx.iter().map(|r| r.index).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
    assert_eq!(q.tx.iter().map(|t| t.index).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
    for r in &q.rx {
        // `00000000,...` x 8 groups (256 possible CPUs): RPS off.
        assert_eq!(r.rps_cpus, Avail::Value(vec![]));
        assert_eq!(r.rps_flow_cnt, Avail::Value(0));
    }
    let limits: Vec<u64> =
        q.tx.iter().map(|t| t.byte_queue_limits.as_ref().unwrap()["limit"]).collect();
    assert_eq!(limits, [67893, 137370, 137370, 137370, 68879, 137370, 54464, 71700]);
    let t0 = &q.tx[0];
    assert_eq!(t0.xps_cpus, Avail::Value(vec![]));
    assert_eq!(t0.xps_rxqs, Avail::Value(vec![]));
    assert_eq!(t0.tx_maxrate, Avail::Value(0));
    let bql = t0.byte_queue_limits.as_ref().unwrap();
    assert_eq!(bql["limit_max"], 1879048192);
    assert_eq!(bql["hold_time"], 1000);
    assert_eq!(bql.len(), 8);
}

// ---- procfs: e1000e class directory, ice port with a looping device link ----

#[test]
fn procfs_e1000e() {
    let root = fixture("procfs");
    let e = iface::read(&root, "eth0");
    assert_eq!(e.speed, Avail::Value(1000));
    assert_eq!(e.duplex, Avail::Value("full".into()));
    assert_eq!(e.ifindex, Avail::Value(2));
    // dormant is 1 in this fixture: DORMANT is derived as dev_get_flags() does.
    assert_eq!(
        e.flag_names,
        ["UP", "BROADCAST", "RUNNING", "PROMISC", "ALLMULTI", "MULTICAST", "LOWER_UP", "DORMANT"]
    );
    let dev = e.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:00/0000:00:1f.6");
    assert_eq!(dev.bus_device, dev.path);
    // No driver link in the fixture: from the device's uevent DRIVER=.
    assert_eq!(dev.driver.as_deref(), Some("e1000e"));
    assert_eq!(dev.numa_node, Avail::Value(-1));
    assert_eq!(dev.local_cpus, Avail::Value((0..8).collect()));
    // No msi_irqs/ here: the legacy irq file.
    let irqs = irq::read(&root, &e).into_value().unwrap();
    assert_eq!(irqs.iter().map(|q| q.irq).collect::<Vec<_>>(), [140]);
}

#[test]
fn procfs_ice_link_down() {
    let root = fixture("procfs");
    assert_eq!(iface::list(&root).into_value().unwrap(), ["enp162s0f0np0", "eth0"]);
    let i = iface::read(&root, "enp162s0f0np0");
    assert_eq!(i.operstate, Avail::Value("down".into()));
    assert_eq!(i.carrier, Avail::Value(0));
    assert!(why(&i.speed).contains("interface is down"), "{}", why(&i.speed));
    assert!(why(&i.duplex).contains("interface is down"));
    assert_eq!(i.flags, Avail::Value(0x1003));
    assert_eq!(i.flag_names, ["UP", "BROADCAST", "MULTICAST"]);
    assert_eq!(i.tx_queue_len, Avail::Value(1000));
    assert_eq!(i.napi_defer_hard_irqs, Avail::Value(0));
    assert_eq!(i.statistics.value().unwrap().len(), 24);
    assert_eq!(i.statistics.value().unwrap()["rx_missed_errors"], 0);
    // device -> ../../../0000:a2:00.0 points back at the directory holding net/: resolved once,
    // never walked.
    let dev = i.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:a2/0000:a2:00.0");
    assert_eq!(dev.driver.as_deref(), Some("ice"));
    assert_eq!(dev.numa_node, Avail::Value(1));
    assert_eq!(dev.local_cpus, Avail::Value((64..128).collect()));
    assert_eq!(irq::read(&root, &i).into_value().unwrap()[0].irq, 73);
    // No queues/ in the upstream fixture.
    assert!(queues::read(&root, "enp162s0f0np0").unavailable().is_some());
}

// ---- linux-6.18-virtio: text-link layout with device_parent/ ----

#[test]
fn linux_618_virtio_eth0() {
    let root = fixture("linux-6.18-virtio");
    assert_eq!(iface::list(&root).into_value().unwrap(), ["eth0", "ifb0", "ifb1", "lo", "rxa"]);
    let e = iface::read(&root, "eth0");
    assert_eq!(e.speed, Avail::Value(-1));
    assert_eq!(e.duplex, Avail::Value("unknown".into()));
    assert_eq!(e.mtu, Avail::Value(1400));
    assert_eq!(e.ifindex, Avail::Value(4));
    assert_eq!(e.flag_names, ["UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"]);
    assert_eq!(e.statistics.value().unwrap()["rx_packets"], 7837);
    let dev = e.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:00/0000:00:03.0/virtio2");
    assert_eq!(dev.bus_device, "/sys/devices/pci0000:00/0000:00:03.0");
    assert_eq!(dev.driver.as_deref(), Some("virtio_net"));
    // Read from device_parent/: the virtio device itself has no numa_node.
    assert_eq!(dev.numa_node, Avail::Value(-1));
    assert_eq!(dev.local_cpus, Avail::Value(vec![0, 1]));
    assert_eq!(
        iface::bus_device_dir(&root, "eth0").as_deref(),
        Some("/sys/class/net/eth0/device_parent")
    );
    let irqs = irq::read(&root, &e).into_value().unwrap();
    assert_eq!(irqs.iter().map(|q| q.irq).collect::<Vec<_>>(), [37, 38, 39]);

    let q = queues::read(&root, "eth0").into_value().unwrap();
    assert_eq!((q.rx.len(), q.tx.len()), (1, 1));
    assert_eq!(q.rx[0].rps_cpus, Avail::Value(vec![]));
    assert!(why(&q.tx[0].xps_cpus).starts_with("single-queue device: XPS does not apply"));
    assert_eq!(q.tx[0].byte_queue_limits.as_ref().unwrap()["limit"], 2198);
}

#[test]
fn linux_618_virtual_devices() {
    let root = fixture("linux-6.18-virtio");
    let lo = iface::read(&root, "lo");
    assert_eq!(lo.device, None);
    assert_eq!(lo.type_, Avail::Value(772));
    assert_eq!(irq::read(&root, &lo), Avail::Value(vec![]));
    assert_eq!(lo.flag_names, ["UP", "LOOPBACK", "RUNNING", "LOWER_UP"]);
    let lo_q = queues::read(&root, "lo").into_value().unwrap();
    assert_eq!(lo_q.tx[0].byte_queue_limits, None);
    let ifb = iface::read(&root, "ifb0");
    assert_eq!(ifb.device, None);
    assert!(ifb.speed.unavailable().is_some());
    assert_eq!(ifb.operstate, Avail::Value("down".into()));
    let veth = iface::read(&root, "rxa");
    assert_eq!(veth.device, None);
    assert_eq!(veth.speed, Avail::Value(10000));
}

// ---- synthetic trees with real symlinks and IRQ files ----

fn write(base: &Path, rel: &str, text: &str) {
    let p = base.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn link(base: &Path, rel: &str, target: &str) {
    let p = base.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    symlink(target, p).unwrap();
}

fn irq_files(b: &Path, n: u32, action: &str, aff: &str, eff: Option<&str>) {
    write(b, &format!("sys/kernel/irq/{n}/actions"), &format!("{action}\n"));
    write(b, &format!("sys/kernel/irq/{n}/chip_name"), "IR-PCI-MSI\n");
    write(b, &format!("sys/kernel/irq/{n}/hwirq"), &format!("{}\n", 524288 + n));
    write(b, &format!("sys/kernel/irq/{n}/type"), "edge\n");
    write(b, &format!("proc/irq/{n}/smp_affinity_list"), &format!("{aff}\n"));
    if let Some(e) = eff {
        write(b, &format!("proc/irq/{n}/effective_affinity_list"), &format!("{e}\n"));
    }
    write(b, &format!("proc/irq/{n}/node"), "0\n");
}

#[test]
fn synthetic_pci_nic_full_mapping() {
    let d = tempfile::tempdir().unwrap();
    let b = d.path();
    let pci = "sys/devices/pci0000:00/0000:00:05.0";
    link(b, "sys/class/net/eth9", "../../devices/pci0000:00/0000:00:05.0/net/eth9");
    link(b, "sys/class/net/eth10", "../../devices/pci0000:00/0000:00:06.0/net/eth10");
    write(b, &format!("{pci}/net/eth9/flags"), "0x1003\n");
    write(b, &format!("{pci}/net/eth9/operstate"), "up\n");
    write(b, &format!("{pci}/net/eth9/carrier"), "1\n");
    write(b, &format!("{pci}/net/eth9/speed"), "10000\n");
    link(b, &format!("{pci}/net/eth9/device"), "../../../0000:00:05.0");
    link(b, &format!("{pci}/driver"), "../../../bus/pci/drivers/ixgbe");
    write(b, &format!("{pci}/numa_node"), "0\n");
    write(b, &format!("{pci}/local_cpus"), "00000000,0000000f\n");
    write(b, &format!("{pci}/irq"), "11\n");
    for n in 40..=43 {
        write(b, &format!("{pci}/msi_irqs/{n}"), "msix\n");
    }
    irq_files(b, 40, "eth9-TxRx-0", "0-3", Some("0"));
    irq_files(b, 41, "eth9-TxRx-1", "1", Some("1"));
    // A neighbour's name on this device's vector must not be taken for eth9's queue.
    irq_files(b, 42, "eth90-TxRx-2", "2", Some("2"));
    irq_files(b, 43, "eth9", "0-3", None);
    let root = Root::at(b);

    assert_eq!(iface::list(&root).into_value().unwrap(), ["eth10", "eth9"]);
    let i = iface::read(&root, "eth9");
    assert_eq!(i.speed, Avail::Value(10000));
    let dev = i.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:00/0000:00:05.0");
    assert_eq!(dev.bus_device, dev.path);
    assert_eq!(dev.driver.as_deref(), Some("ixgbe"));
    // No local_cpulist: the mask.
    assert_eq!(dev.local_cpus, Avail::Value(vec![0, 1, 2, 3]));

    let irqs = irq::read(&root, &i).into_value().unwrap();
    assert_eq!(irqs.iter().map(|q| q.irq).collect::<Vec<_>>(), [40, 41, 42, 43]);
    let q0 = irqs[0].queue.as_ref().unwrap();
    assert_eq!(
        (q0.kind, q0.index, q0.from.as_str()),
        (QueueKind::Combined, Some(0), FROM_ACTION_NAME)
    );
    assert_eq!(
        irqs[1].queue.as_ref().map(|q| (q.kind, q.index)),
        Some((QueueKind::Combined, Some(1)))
    );
    assert_eq!(irqs[2].queue, None);
    assert_eq!(irqs[3].queue, None);
    assert_eq!(irqs[0].actions, Avail::Value(vec!["eth9-TxRx-0".to_string()]));
    assert_eq!(irqs[0].chip_name, Avail::Value("IR-PCI-MSI".into()));
    assert_eq!(irqs[0].hwirq, Avail::Value("524328".into()));
    assert_eq!(irqs[0].type_, Avail::Value("edge".into()));
    assert_eq!(irqs[0].smp_affinity_list, Avail::Value(vec![0, 1, 2, 3]));
    assert_eq!(irqs[0].effective_affinity_list, Avail::Value(vec![0]));
    assert_eq!(irqs[1].effective_affinity_list, Avail::Value(vec![1]));
    assert_eq!(irqs[0].node, Avail::Value(0));
    assert!(
        why(&irqs[3].effective_affinity_list).contains("CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK")
    );

    // eth10's class link dangles: everything says "not present", nothing panics.
    let e10 = iface::read(&root, "eth10");
    assert!(e10.ifindex.unavailable().is_some());
    assert_eq!(e10.device, None);
    assert!(queues::read(&root, "eth10").unavailable().is_some());
}

#[test]
fn synthetic_virtio_parent_indirection() {
    let d = tempfile::tempdir().unwrap();
    let b = d.path();
    let pci = "sys/devices/pci0000:00/0000:00:03.0";
    link(b, "sys/class/net/eth0", "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
    write(b, &format!("{pci}/virtio2/net/eth0/flags"), "0x1003\n");
    write(b, &format!("{pci}/virtio2/net/eth0/speed"), "-1\n");
    link(b, &format!("{pci}/virtio2/net/eth0/device"), "../../../virtio2");
    link(b, &format!("{pci}/virtio2/driver"), "../../../../bus/virtio/drivers/virtio_net");
    // A decoy: a numa_node at the virtio level must not be used.
    write(b, &format!("{pci}/virtio2/numa_node"), "7\n");
    write(b, &format!("{pci}/numa_node"), "-1\n");
    write(b, &format!("{pci}/local_cpulist"), "0-1\n");
    write(b, &format!("{pci}/irq"), "0\n");
    for n in 37..=39 {
        write(b, &format!("{pci}/msi_irqs/{n}"), "msix\n");
    }
    irq_files(b, 37, "virtio2-config", "0-1", Some("0"));
    irq_files(b, 38, "virtio2-input.0", "0-1", Some("1"));
    irq_files(b, 39, "virtio2-output.0", "0-1", Some("0"));
    let root = Root::at(b);

    let i = iface::read(&root, "eth0");
    let dev = i.device.clone().unwrap();
    assert_eq!(dev.path, "/sys/devices/pci0000:00/0000:00:03.0/virtio2");
    assert_eq!(dev.bus_device, "/sys/devices/pci0000:00/0000:00:03.0");
    assert_eq!(dev.driver.as_deref(), Some("virtio_net"));
    assert_eq!(dev.numa_node, Avail::Value(-1));
    assert_eq!(dev.local_cpus, Avail::Value(vec![0, 1]));
    let irqs = irq::read(&root, &i).into_value().unwrap();
    let got: Vec<_> =
        irqs.iter().map(|q| (q.irq, q.queue.as_ref().map(|r| (r.kind, r.index)))).collect();
    assert_eq!(
        got,
        [
            (37, Some((QueueKind::Other, None))),
            (38, Some((QueueKind::Rx, Some(0)))),
            (39, Some((QueueKind::Tx, Some(0)))),
        ]
    );
    assert_eq!(irqs[1].effective_affinity_list, Avail::Value(vec![1]));
}

#[test]
fn read_irq_alone_and_serialised_keys() {
    let d = tempfile::tempdir().unwrap();
    irq_files(d.path(), 5, "a,b", "0", Some(""));
    let root = Root::at(d.path());
    let one = irq::read_irq(&root, 5);
    assert_eq!(one.actions, Avail::Value(vec!["a".to_string(), "b".to_string()]));
    // An IRQ not started has an empty effective mask: an empty set, not a missing value.
    assert_eq!(one.effective_affinity_list, Avail::Value(vec![]));
    assert_eq!(one.queue, None);
    let json = serde_json::to_value(&one).unwrap();
    assert_eq!(json["type"], "edge");
    let back: irq::NicIrq = serde_json::from_value(json).unwrap();
    assert_eq!(back, one);

    let i = iface::read(&fixture("linux-6.18-virtio"), "eth0");
    let json = serde_json::to_value(&i).unwrap();
    assert_eq!(json["type"], 1);
    assert_eq!(json["statistics"]["rx_packets"], 7837);
    let back: SysfsIface = serde_json::from_value(json).unwrap();
    assert_eq!(back, i);
}

// ---- the live host ----

#[test]
fn live_virtio_eth0_and_lo() {
    let root = Root::live();
    let is_virtio = fs::read_link("/sys/class/net/eth0/device/driver")
        .map(|t| t.to_string_lossy().ends_with("/virtio_net"))
        .unwrap_or(false);
    if !is_virtio {
        eprintln!("SKIPPED live_virtio_eth0_and_lo: this host has no virtio_net eth0");
        return;
    }
    assert!(iface::list(&root).into_value().unwrap().contains(&"eth0".to_string()));
    let e = iface::read(&root, "eth0");
    let dev = e.device.clone().expect("eth0 has a device");
    assert_eq!(dev.driver.as_deref(), Some("virtio_net"));
    assert!(dev.path.rsplit('/').next().unwrap().starts_with("virtio"));
    assert!(dev.path.starts_with(&dev.bus_device));
    let irqs = irq::read(&root, &e).into_value().expect("IRQs of eth0");
    let rx0 = irqs
        .iter()
        .find(|q| {
            q.actions.value().is_some_and(|a| {
                a.iter().any(|n| n.starts_with("virtio") && n.ends_with("-input.0"))
            })
        })
        .expect("an IRQ named virtioN-input.0");
    let r = rx0.queue.as_ref().unwrap();
    assert_eq!((r.kind, r.index), (QueueKind::Rx, Some(0)));
    let eff = rx0.effective_affinity_list.value().expect("effective affinity");
    assert_eq!(eff.len(), 1, "one effective CPU: {eff:?}");

    let lo = iface::read(&root, "lo");
    assert_eq!(lo.device, None);
    assert_eq!(irq::read(&root, &lo), Avail::Value(vec![]));
}
