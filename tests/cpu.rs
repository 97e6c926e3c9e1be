//! Fixture tests for the CPU-side procfs parsers: softnet_stat, /proc/interrupts, /proc/softirqs,
//! /proc/stat. Every number asserted here was read by eye in the fixture file named beside it
//! (tests/fixtures/cpu/PROVENANCE.md says where each file comes from).

use rxpath::Root;
use rxpath::source::interrupts::{self, Interrupts, IrqRow};
use rxpath::source::softnet::{self, CpuIdSource, Softnet};
use rxpath::source::{softirqs, stat};
use std::fmt::Write as _;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cpu");

fn fixture(rel: &str) -> String {
    let path = format!("{DIR}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// softnet_stat

fn softnet(rel: &str) -> Softnet {
    softnet::parse(&fixture(rel), None).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn cpu_ids(s: &Softnet) -> Vec<u32> {
    s.rows.iter().map(|r| r.cpu).collect()
}

#[test]
fn softnet_procfs_mixed_widths() {
    // Rows of 13, 13, 11, 9 and 10 columns; values as asserted upstream (procfs TestNetSoftnet).
    let s = softnet("procfs/proc/net/softnet_stat");
    assert_eq!(s.rows.len(), 5);
    assert_eq!(s.columns, 13);
    // Rows 3..5 have no column 13: their id is a row-index guess, and the file says so.
    assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);
    assert_eq!(cpu_ids(&s), vec![0, 1, 2, 3, 4]);

    let r = &s.rows[0];
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (3510243, 25219, 0));
    assert_eq!(
        (r.received_rps, r.flow_limit_count, r.backlog_len),
        (Some(546300), Some(118), Some(0))
    );
    let r = &s.rows[1];
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (9780506, 1094, 177));
    assert_eq!(
        (r.received_rps, r.flow_limit_count, r.backlog_len),
        (Some(9366426), Some(43), Some(220))
    );
    assert_eq!(r.cpu, 1);
    assert_eq!(r.input_qlen, None);
    let r = &s.rows[2]; // 11 columns, f0000769 >= 2^31
    assert_eq!(r.time_squeeze, 0xf000_0769);
    assert_eq!(r.time_squeeze, 4026533737);
    assert_eq!((r.cpu_collision, r.received_rps, r.flow_limit_count), (Some(4), Some(3), Some(2)));
    assert_eq!(r.backlog_len, None);
    let r = &s.rows[3]; // 9 columns
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (23478194, 0, 68004));
    assert_eq!(r.cpu_collision, Some(134774));
    assert_eq!(r.received_rps, None);
    let r = &s.rows[4]; // 10 columns
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (36472, 1, 17));
    assert_eq!((r.cpu_collision, r.received_rps, r.flow_limit_count), (Some(32), Some(16), None));

    // With a matching online list the rows without column 13 take its ids.
    let s =
        softnet::parse(&fixture("procfs/proc/net/softnet_stat"), Some(&[0, 1, 4, 6, 9])).unwrap();
    assert_eq!(s.cpu_id_source, CpuIdSource::OnlineList);
    assert_eq!(cpu_ids(&s), vec![0, 1, 4, 6, 9]);
}

#[test]
fn softnet_procfs_broken_is_an_error() {
    let e = softnet::parse(&fixture("procfs/proc/net/softnet_stat.broken"), None).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.msg.contains("4 columns"), "{e}");
}

#[test]
fn softnet_procfs_history_uppercase() {
    let s = softnet("procfs/history/softnet_stat@2374b3cf_2020-02-26");
    assert_eq!((s.rows.len(), s.columns), (1, 11));
    assert_eq!(s.rows[0].processed, 0x15c73);
    assert_eq!(s.rows[0].dropped, 0x20e76);
    assert_eq!(s.rows[0].time_squeeze, 4026533737);

    let s = softnet("procfs/history/softnet_stat@42aaf8e2_2022-12-18");
    assert_eq!((s.rows.len(), s.columns), (2, 11));
    assert_eq!(s.rows[1].processed, 0x01663fb2);
    assert_eq!(s.rows[1].time_squeeze, 0x109a4);
    assert_eq!(s.rows[1].received_rps, None);
    assert_eq!(s.rows[1].cpu_collision, Some(0));
}

#[test]
fn softnet_node_exporter_no_trailing_newline() {
    let text = fixture("node_exporter/proc/net/softnet_stat");
    assert!(!text.ends_with('\n'));
    let s = softnet::parse(&text, None).unwrap();
    assert_eq!((s.rows.len(), s.columns), (4, 11));
    assert_eq!(cpu_ids(&s), vec![0, 1, 2, 3]);
    assert_eq!((s.rows[1].processed, s.rows[1].dropped, s.rows[1].time_squeeze), (916354, 41, 10));
    assert_eq!((s.rows[2].processed, s.rows[2].time_squeeze), (5577791, 85));
    // The last row, the one without a newline, is read whole.
    assert_eq!((s.rows[3].processed, s.rows[3].time_squeeze), (3113785, 50));
    assert_eq!(s.rows[3].flow_limit_count, Some(0));
}

#[test]
fn softnet_linux_6_18_fifteen_columns() {
    let s = softnet("linux-6.18-virtio/proc/net/softnet_stat");
    assert_eq!((s.rows.len(), s.columns), (2, 15));
    assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
    assert_eq!(cpu_ids(&s), vec![0, 1]);
    assert_eq!(s.rows[0].processed, 922);
    let r = &s.rows[1];
    assert_eq!(r.processed, 1073537);
    assert_eq!((r.dropped, r.time_squeeze), (0, 0));
    assert_eq!((r.backlog_len, r.input_qlen, r.process_qlen), (Some(0), Some(0), Some(0)));
    assert!(r.extra.is_empty());
}

#[test]
fn softnet_rhel5_nine_columns_cpu_collision() {
    let s = softnet("extra/softnet_stat/shreyash-singh_Webpage-net_softnet_stat.txt");
    assert_eq!((s.rows.len(), s.columns), (8, 9));
    assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);
    assert_eq!(s.rows[0].cpu_collision, Some(567009));
    assert_eq!((s.rows[5].processed, s.rows[5].time_squeeze), (665904230, 2));
    let r = &s.rows[7];
    assert_eq!(
        (r.cpu, r.processed, r.time_squeeze, r.cpu_collision),
        (7, 873991614, 4, Some(9024))
    );
    assert_eq!(r.received_rps, None);
}

#[test]
fn softnet_480_rows() {
    let s = softnet(
        "extra/softnet_stat/performancecopilot_pcp-bigsys-hpbl920gen8-net_softnet_stat.txt",
    );
    assert_eq!((s.rows.len(), s.columns), (480, 10));
    assert_eq!(cpu_ids(&s), (0..480).collect::<Vec<u32>>());
    assert_eq!(s.rows[1].processed, 8625);
    let r = &s.rows[240]; // line 241: 00008eb6 00000000 00000001 ...
    assert_eq!((r.cpu, r.processed, r.time_squeeze), (240, 36534, 1));
    assert_eq!(s.rows[479].processed, 0);
    assert_eq!(s.rows[479].received_rps, Some(0));
}

#[test]
fn softnet_insights_10_11_13_columns() {
    let s = softnet("extra/softnet_stat/RedHatInsights_insights-core-softnet-RHEL6_7-10col.txt");
    assert_eq!((s.rows.len(), s.columns), (4, 10));
    let r = &s.rows[1];
    assert_eq!((r.dropped, r.cpu_collision, r.received_rps), (255, Some(196), Some(6)));

    let s = softnet("extra/softnet_stat/RedHatInsights_insights-core-softnet-RHEL8-11col.txt");
    assert_eq!((s.rows.len(), s.columns), (1, 11));
    let r = &s.rows[0];
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (142307, 254, 18));
    assert_eq!((r.cpu_collision, r.received_rps, r.flow_limit_count), (Some(3), Some(2), Some(1)));

    let s = softnet("extra/softnet_stat/RedHatInsights_insights-core-softnet-doc-13col.txt");
    assert_eq!((s.rows.len(), s.columns), (5, 13));
    assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
    assert_eq!(cpu_ids(&s), vec![0, 1, 2, 3, 4]);
    let r = &s.rows[4];
    assert_eq!((r.processed, r.dropped, r.time_squeeze), (27483293, 187284, 1));
    assert_eq!(r.received_rps, Some(9365818));
}

#[test]
fn softnet_sysstat_roots() {
    let s = softnet("extra/softnet_stat/sysstat_sysstat-tests-root1-softnet_stat.txt");
    assert_eq!((s.rows.len(), s.columns), (9, 11));
    let s = softnet("extra/softnet_stat/sysstat_sysstat-tests-root3-softnet_stat.txt");
    assert_eq!((s.rows.len(), s.columns), (7, 11));
    // root3 simulates CPU 6 going offline (its row is gone): only the online list can tell.
    let s = softnet::parse(
        &fixture("extra/softnet_stat/sysstat_sysstat-tests-root3-softnet_stat.txt"),
        Some(&[0, 1, 2, 3, 4, 5, 7]),
    )
    .unwrap();
    assert_eq!(cpu_ids(&s), vec![0, 1, 2, 3, 4, 5, 7]);
    assert_eq!(s.rows[6].processed, 0x4958);

    let s = softnet("extra/softnet_stat/sysstat_sysstat-tests-root5-softnet_stat.txt");
    assert_eq!((s.rows.len(), s.columns), (9, 13));
    assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
    assert_eq!(cpu_ids(&s), (0..9).collect::<Vec<u32>>());
    assert_eq!(s.rows[1].backlog_len, Some(223));
    assert_eq!(s.rows[6].backlog_len, Some(234));

    let s = softnet("extra/softnet_stat/sysstat_sysstat-tests-root7-softnet_stat.txt");
    assert_eq!(s.rows.len(), 10);
    assert_eq!(s.rows[9].time_squeeze, 2457);
}

/// Drops the middle row of a real 13- or 15-column file, the way the kernel skips an offline CPU.
#[test]
fn softnet_column13_ids_skip_when_a_row_is_removed() {
    for rel in [
        "extra/softnet_stat/RedHatInsights_insights-core-softnet-doc-13col.txt",
        "linux-6.18-virtio/proc/net/softnet_stat",
    ] {
        let text = fixture(rel);
        let lines: Vec<&str> = text.lines().collect();
        let kept: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != lines.len() / 2)
            .map(|(_, l)| *l)
            .collect();
        let s = softnet::parse(&(kept.join("\n") + "\n"), None).unwrap();
        let mut want: Vec<u32> = (0..lines.len() as u32).collect();
        want.remove(lines.len() / 2);
        assert_eq!(cpu_ids(&s), want, "{rel}");
        assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
    }
    // 13 columns: 0, 1, 3, 4 (CPU 2 gone); the values stay with their CPU.
    let s = softnet::parse(
        &fixture("extra/softnet_stat/RedHatInsights_insights-core-softnet-doc-13col.txt")
            .lines()
            .filter(|l| !l.ends_with("00000002"))
            .collect::<Vec<_>>()
            .join("\n"),
        None,
    )
    .unwrap();
    assert_eq!(cpu_ids(&s), vec![0, 1, 3, 4]);
    assert_eq!(s.rows[2].processed, 0x02883c47);
}

#[test]
fn softnet_read_uses_online_list_only_when_needed() {
    // 15 columns: column 13 suffices, no sysfs in this tree.
    let root = Root::at(format!("{DIR}/linux-6.18-virtio"));
    let s = softnet::read(&root).into_value().unwrap();
    assert_eq!(s.cpu_id_source, CpuIdSource::Column13);
    assert_eq!(cpu_ids(&s), vec![0, 1]);

    // 11 columns and no online list in the tree: a row-index guess, labelled as such.
    let root = Root::at(format!("{DIR}/node_exporter"));
    let s = softnet::read(&root).into_value().unwrap();
    assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);

    // 11 columns with an online list: CPU 1 is offline.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
    std::fs::create_dir_all(dir.path().join("sys/devices/system/cpu")).unwrap();
    std::fs::write(
        dir.path().join("proc/net/softnet_stat"),
        fixture("node_exporter/proc/net/softnet_stat"),
    )
    .unwrap();
    std::fs::write(dir.path().join("sys/devices/system/cpu/online"), "0,2-4\n").unwrap();
    let s = softnet::read(&Root::at(dir.path())).into_value().unwrap();
    assert_eq!(s.cpu_id_source, CpuIdSource::OnlineList);
    assert_eq!(cpu_ids(&s), vec![0, 2, 3, 4]);
    assert_eq!(s.rows[1].processed, 916354);

    // An online list that does not match the rows is not trusted.
    std::fs::write(dir.path().join("sys/devices/system/cpu/online"), "0-7\n").unwrap();
    let s = softnet::read(&Root::at(dir.path())).into_value().unwrap();
    assert_eq!(s.cpu_id_source, CpuIdSource::RowIndex);

    let empty = tempfile::tempdir().unwrap();
    let u = softnet::read(&Root::at(empty.path()));
    assert_eq!(u.unavailable().unwrap().what, "/proc/net/softnet_stat");

    std::fs::write(dir.path().join("proc/net/softnet_stat"), "00000001 2 3\n").unwrap();
    let u = softnet::read(&Root::at(dir.path()));
    assert!(u.unavailable().unwrap().why.contains("3 columns"), "{:?}", u);
}

// ---------------------------------------------------------------------------------------------
// /proc/interrupts

fn ints(rel: &str) -> Interrupts {
    interrupts::parse(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn irq<'a>(i: &'a Interrupts, name: &str) -> &'a IrqRow {
    i.rows.iter().find(|r| r.irq == name).unwrap_or_else(|| panic!("no row {name}"))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn interrupts_procfs_blank_line_mid_file() {
    let i = ints("procfs/proc/interrupts");
    assert_eq!(i.cpus, vec![0, 1, 2, 3]);
    assert_eq!(i.rows.len(), 47);
    let r = irq(&i, "0");
    assert_eq!(r.counts, vec![49, 0, 0, 0]);
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("IO-APIC"), Some("2"), Some("edge"))
    );
    assert_eq!(r.actions, strs(&["timer"]));
    let r = irq(&i, "29");
    assert_eq!(r.counts, vec![1362, 0, 0, 934]);
    assert_eq!(r.total, 2296);
    assert_eq!((r.chip.as_deref(), r.hwirq.as_deref()), (Some("PCI-MSI"), Some("512000")));
    assert_eq!(r.actions, strs(&["ahci[0000:00:1f.2]"]));
    let r = irq(&i, "LOC");
    assert_eq!(r.counts, vec![10196, 7429, 8542, 8229]);
    assert_eq!(r.text, "Local timer interrupts");
    assert_eq!(r.chip, None);
    assert!(r.actions.is_empty());
    let r = irq(&i, "ERR");
    assert!(r.counts.is_empty());
    assert_eq!(r.total, 0);
    // The rows after the blank line are still read.
    assert_eq!(i.rows.last().unwrap().irq, "PIW");
    assert_eq!(irq(&i, "PIN").counts, vec![0, 0, 0, 0]);
}

#[test]
fn interrupts_node_exporter_x86_old_chip_format() {
    let i = ints("node_exporter/proc/interrupts");
    assert_eq!(i.cpus, vec![0, 1, 2, 3]);
    assert_eq!(i.rows.len(), 30);
    let r = irq(&i, "0");
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("IR-IO-APIC"), None, Some("edge"))
    );
    let r = irq(&i, "16");
    assert_eq!(r.counts, vec![328511, 322879, 293782, 351412]);
    assert_eq!(r.trigger.as_deref(), Some("fasteoi"));
    assert_eq!(r.actions, strs(&["ehci_hcd:usb1", "mmc0"]));
    assert_eq!(irq(&i, "40").chip.as_deref(), Some("DMAR_MSI"));
    let r = irq(&i, "46");
    assert_eq!(r.counts, vec![43078464, 130, 460171, 290]);
    assert_eq!((r.chip.as_deref(), r.actions.clone()), (Some("IR-PCI-MSI"), strs(&["iwlwifi"])));
    assert_eq!(irq(&i, "LOC").counts, vec![174326351, 135776678, 168393257, 130980079]);
    assert_eq!(irq(&i, "MIS").total, 0);
}

#[test]
fn interrupts_aarch64_graviton() {
    let i = ints("node_exporter/proc/interrupts_aarch64");
    assert_eq!(i.cpus, (0..8).collect::<Vec<u32>>());
    // 60 non-blank lines minus the header; the whitespace-only last line is not a row.
    assert_eq!(i.rows.len(), 59);
    let r = irq(&i, "10");
    assert_eq!(
        r.counts,
        vec![
            3287008667, 3310445093, 3301386305, 3273132897, 3368262064, 3641875466, 3360412019,
            3225020442
        ]
    );
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("GICv3"), Some("27"), Some("Level"))
    );
    assert_eq!(r.actions, strs(&["arch_timer"]));
    let r = irq(&i, "50");
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("ARMH0061:00"), Some("3"), Some("Edge"))
    );
    assert_eq!(r.actions, strs(&["ACPI:Event"]));
    let r = irq(&i, "51");
    assert_eq!((r.chip.as_deref(), r.hwirq.as_deref()), (Some("ITS-MSI"), Some("65536")));
    assert_eq!(r.actions, strs(&["nvme0q0"]));
    let r = irq(&i, "58");
    assert_eq!(r.counts[2], 1195697946);
    assert_eq!(r.actions, strs(&["eth0-Tx-Rx-0"]));
    let r = irq(&i, "IPI0"); // `IPI0:2768808080`: label glued to the first value
    assert_eq!(
        r.counts,
        vec![
            2768808080, 2844211768, 2878602432, 2730576120, 2723524623, 3349096412, 2717389879,
            2154252810
        ]
    );
    assert_eq!(r.total, 22166462124);
    assert_eq!(r.text, "Rescheduling interrupts");
    assert_eq!(irq(&i, "IPI3").text, "CPU stop (for crash dump) interrupts");
    let r = irq(&i, "Err");
    assert_eq!((r.counts.len(), r.total), (0, 0));
    assert_eq!(i.rows.last().unwrap().irq, "Err");
}

#[test]
fn interrupts_linux_6_18_per_device_msix_chip() {
    let i = ints("linux-6.18-virtio/proc/interrupts");
    assert_eq!(i.cpus, vec![0, 1]);
    assert_eq!(i.rows.len(), 35);
    let r = irq(&i, "38");
    assert_eq!(r.counts, vec![0, 4932]);
    assert_eq!(r.chip.as_deref(), Some("PCI-MSIX-0000:00:03.0"));
    assert_eq!((r.hwirq.as_deref(), r.trigger.as_deref()), (Some("1"), Some("edge")));
    assert_eq!(r.actions, strs(&["virtio2-input.0"]));
    assert_eq!(r.text, "PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0");
    let r = irq(&i, "36");
    assert_eq!((r.counts.to_vec(), r.actions.clone()), (vec![0, 94446], strs(&["virtio1-req.0"])));
    let r = irq(&i, "24");
    assert_eq!((r.chip.as_deref(), r.hwirq.as_deref()), (Some("IO-APIC"), Some("5")));
    assert_eq!(r.actions, strs(&["ACPI:Ged"]));
    assert_eq!(irq(&i, "HYP").counts, vec![42, 77]);
    assert_eq!(irq(&i, "CAL").counts, vec![73374, 61646]);
}

#[test]
fn interrupts_zteorange_arm_gic() {
    let i = ints("extra/interrupts/apporator_zteorange-interrupts.txt");
    assert_eq!(i.cpus, vec![0, 1]);
    assert_eq!(i.rows.len(), 24);
    let r = irq(&i, "16");
    assert_eq!(r.counts, vec![169513, 169502]);
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("GIC"), Some("27"), Some("Edge"))
    );
    assert_eq!(r.actions, strs(&["gt"]));
    assert_eq!(irq(&i, "27").actions, strs(&["pcie", "wlan0"]));
    assert_eq!(irq(&i, "29").actions, strs(&["9000000.usb", "dwc2_hsotg:usb3"]));
    assert_eq!(irq(&i, "22").hwirq.as_deref(), Some("112"));
    let r = irq(&i, "IPI2");
    assert_eq!(
        (r.counts.to_vec(), r.text.as_str()),
        (vec![26687, 80300], "Rescheduling interrupts")
    );
    assert_eq!(irq(&i, "IPI7").text, "completion interrupts");
    assert!(irq(&i, "Err").counts.is_empty());
}

#[test]
fn interrupts_mt6589_header_smaller_than_ipi_rows() {
    let i = ints("extra/interrupts/GoCleverInsignia5_i5_info-interrupts.txt");
    assert_eq!(i.cpus, vec![0]);
    assert_eq!(i.rows.len(), 68);
    let r = irq(&i, "14");
    assert_eq!(r.counts, vec![8181]);
    assert_eq!((r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()), (None, None, None));
    assert_eq!(r.actions, strs(&["debug-signal"]));
    assert_eq!(irq(&i, "126").actions, strs(&["mt_emi_mpu", "spc", "mt6577_devapc"]));
    assert_eq!(irq(&i, "220").actions, strs(&["SGX ISR"]));
    assert!(irq(&i, "220").extra_counts.is_empty());
    let r = irq(&i, "FIQ");
    assert!(r.counts.is_empty());
    assert_eq!(r.text, "fiq_glue");
    let r = irq(&i, "IPI1");
    assert_eq!(r.counts, vec![75373]);
    assert_eq!(r.total, 75373);
    assert_eq!(r.extra_counts, vec![107711, 43906, 30716]);
    assert_eq!(r.text, "Rescheduling interrupts");
    assert_eq!(irq(&i, "IPI3").extra_counts, vec![15, 1, 6]);
    assert_eq!(irq(&i, "Err").total, 0);
}

#[test]
fn interrupts_s390x_class_rows_and_mlx5() {
    let i = ints("extra/interrupts/performancecopilot_pcp-interrupts-16cpu-s390x.txt");
    assert_eq!(i.cpus, (0..16).collect::<Vec<u32>>());
    assert_eq!(i.rows.len(), 58);
    let r = irq(&i, "EXT");
    assert_eq!(r.counts.len(), 16);
    assert_eq!((r.counts[0], r.counts[15]), (30368, 6909));
    assert_eq!(r.text, "");
    let r = irq(&i, "I/O");
    assert_eq!((r.counts[0], r.counts[8]), (675, 822));
    assert_eq!(r.text, "");
    assert_eq!(irq(&i, "AIO").counts[4], 58);
    let r = irq(&i, "4");
    assert_eq!(r.counts[3], 1);
    assert_eq!(r.total, 1);
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("PCI-MSI"), None, None)
    );
    assert_eq!(r.actions, strs(&["mlx5_comp0@pci:0002:00:00.0"]));
    assert_eq!(irq(&i, "3").actions, strs(&["mlx5_async@pci:0002:00:00.0"]));
    assert_eq!(irq(&i, "22").actions, strs(&["mlx5_comp8@pci:0003:00:00.0"]));
    assert_eq!(irq(&i, "23").actions, strs(&["0000:00:00.0"]));
    let r = irq(&i, "CLK");
    assert_eq!((r.counts[0], r.text.as_str()), (2876, "[EXT] Clock Comparator"));
    assert_eq!(irq(&i, "CMC").text, "[EXT] CPU-Measurement: Counter");
    let r = irq(&i, "RST");
    assert_eq!((r.counts[0], r.counts[15], r.total), (0, 1, 15));
}

#[test]
fn interrupts_i686_xen_laptop_coreos() {
    let i = ints("extra/interrupts/performancecopilot_pcp-interrupts-1cpu-i686.txt");
    assert_eq!((i.cpus.clone(), i.rows.len()), (vec![0], 33));
    let r = irq(&i, "0");
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("IO-APIC"), Some("2"), Some("edge"))
    );
    assert_eq!(irq(&i, "11").counts, vec![307009]);
    assert_eq!(irq(&i, "11").actions, strs(&["uhci_hcd:usb1", "ens3"]));
    assert_eq!(irq(&i, "10").actions, strs(&["virtio0", "qxl"]));
    let r = irq(&i, "24");
    assert_eq!((r.chip.as_deref(), r.hwirq.as_deref()), (Some("PCI-MSI"), Some("81920")));
    assert_eq!(r.actions, strs(&["ahci[0000:00:05.0]"]));
    assert_eq!(irq(&i, "LOC").counts, vec![6651207]);
    // One CPU: the ERR value must still be a total, not CPU0's count.
    assert!(irq(&i, "ERR").counts.is_empty());

    let i = ints("extra/interrupts/RedHatInsights_insights-core-interrupts-1cpu-xen.txt");
    assert_eq!(i.rows.len(), 9);
    let r = irq(&i, "0");
    assert_eq!(r.counts, vec![45]);
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("IO-APIC"), None, Some("edge"))
    );
    assert_eq!(r.actions, strs(&["timer"]));
    assert_eq!(irq(&i, "9").trigger.as_deref(), Some("fasteoi"));
    assert_eq!(irq(&i, "HYP").text, "Hypervisor callback interrupts");

    let i = ints("extra/interrupts/RedHatInsights_insights-core-interrupts-8cpu-laptop.txt");
    assert_eq!((i.cpus.len(), i.rows.len()), (8, 37));
    let r = irq(&i, "30"); // no device name
    assert_eq!(r.counts, vec![100, 22, 12, 19, 16, 6, 10, 5]);
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.trigger.as_deref()),
        (Some("IR-PCI-MSI"), Some("524288"), Some("edge"))
    );
    assert!(r.actions.is_empty());
    assert_eq!(r.text, "IR-PCI-MSI 524288-edge");
    let r = irq(&i, "24");
    assert_eq!(
        (r.chip.as_deref(), r.hwirq.as_deref(), r.actions.clone()),
        (Some("DMAR-MSI"), Some("0"), strs(&["dmar0"]))
    );
    assert_eq!(irq(&i, "29").counts[0], 974462);
    assert_eq!(irq(&i, "29").actions, strs(&["enp0s25"]));
    assert_eq!(irq(&i, "16").actions, strs(&["ehci_hcd:usb1", "mmc0"]));
    assert_eq!(irq(&i, "MCP").counts, vec![381; 8]);

    let i = ints("extra/interrupts/jds2001_coreos-sosreport-master1-interrupts.txt");
    assert_eq!(i.rows.len(), 24);
    assert_eq!(irq(&i, "HVS").counts, vec![1065446, 1097106]);
    assert_eq!(irq(&i, "HRE").text, "Hyper-V reenlightenment interrupts");
    assert_eq!(irq(&i, "HYP").counts, vec![179052, 120482]);
}

#[test]
fn interrupts_sysstat_hotplug_headers() {
    let i = ints("extra/interrupts/sysstat_sysstat-tests-root1-interrupts.txt");
    assert_eq!(i.cpus, (0..9).collect::<Vec<u32>>());
    assert_eq!(i.rows.len(), 43);
    assert_eq!(irq(&i, "16").counts[3], 10536);
    assert_eq!(irq(&i, "16").actions, strs(&["ehci_hcd:usb1"]));
    let i = ints("extra/interrupts/sysstat_sysstat-tests-root3-interrupts.txt");
    assert_eq!(i.cpus, vec![0, 1, 2, 3, 4, 5, 7]);
    assert!(
        i.rows.iter().filter(|r| r.irq != "ERR" && r.irq != "MIS").all(|r| r.counts.len() == 7)
    );
    let i = ints("extra/interrupts/sysstat_sysstat-tests-root5-interrupts.txt");
    assert_eq!(i.cpus.len(), 9);
    let i = ints("extra/interrupts/sysstat_sysstat-tests-root7-interrupts.txt");
    assert_eq!(i.cpus, (0..10).collect::<Vec<u32>>());
    assert_eq!(irq(&i, "LOC").counts.to_vec()[..4], [11228073, 12522126, 8243161, 9181047]);
}

#[test]
fn interrupts_read_from_root() {
    let i = interrupts::read(&Root::at(format!("{DIR}/procfs"))).into_value().unwrap();
    assert_eq!(i.rows.len(), 47);
    let empty = tempfile::tempdir().unwrap();
    let u = interrupts::read(&Root::at(empty.path()));
    assert_eq!(u.unavailable().unwrap().what, "/proc/interrupts");
}

/// What a large x86 server prints: `%10u ` per online CPU, the 6.x per-device MSI-X chip glued
/// after one space, then `eth0-TxRx-N`; a few cells wider than 10 digits break the alignment.
fn generated_interrupts(cpus: &[u32], queues: u32) -> (String, Vec<Vec<u64>>) {
    let count = |q: u32, c: u32| -> u64 {
        let base = u64::from(q) * 7919 + u64::from(c) * 104729;
        match (q + c) % 97 {
            0 => 12_345_678_901 + base, // 11 digits
            1 => 4_294_967_295,         // 10 digits, the u32 maximum
            2 => 0,
            _ => base % 1_000_003,
        }
    };
    let mut text = String::from("      ");
    for c in cpus {
        write!(text, "CPU{c:<8}").unwrap();
    }
    text.push('\n');
    let mut table = Vec::new();
    for q in 0..queues {
        let irq = 200 + q;
        write!(text, "{irq:>4}:").unwrap();
        let row: Vec<u64> = cpus.iter().map(|&c| count(q, c)).collect();
        for v in &row {
            write!(text, "{v:>10} ").unwrap();
        }
        writeln!(text, "PCI-MSIX-0000:3b:00.0 {:>3}-edge      eth0-TxRx-{q}", q + 1).unwrap();
        table.push(row);
    }
    for (name, desc) in [("NMI", "Non-maskable interrupts"), ("LOC", "Local timer interrupts")] {
        write!(text, "{name}:").unwrap();
        for c in cpus {
            write!(text, "{:>10} ", u64::from(*c) * 3).unwrap();
        }
        writeln!(text, "  {desc}").unwrap();
    }
    text.push_str("ERR:          7\nMIS:          0\n");
    (text, table)
}

#[test]
fn interrupts_generated_512_cpus() {
    // 512 online CPUs with 3 and 100 offline: the header skips them.
    let cpus: Vec<u32> = (0..514).filter(|c| *c != 3 && *c != 100).collect();
    let (text, table) = generated_interrupts(&cpus, 128);
    assert!(table.iter().flatten().any(|v| *v >= 10_000_000_000), "need 11-digit cells");
    assert!(text.split(' ').any(|t| t.len() == 11 && t.bytes().all(|b| b.is_ascii_digit())));
    let i = interrupts::parse(&text).unwrap();
    assert_eq!(i.cpus, cpus);
    assert_eq!(i.rows.len(), 128 + 4);
    for (q, want) in table.iter().enumerate() {
        let r = &i.rows[q];
        assert_eq!(r.irq, (200 + q).to_string());
        assert_eq!(&r.counts, want, "IRQ {}", r.irq);
        assert_eq!(r.total, want.iter().sum::<u64>());
        assert_eq!(r.chip.as_deref(), Some("PCI-MSIX-0000:3b:00.0"));
        assert_eq!(r.hwirq, Some((q + 1).to_string()));
        assert_eq!(r.trigger.as_deref(), Some("edge"));
        assert_eq!(r.actions, vec![format!("eth0-TxRx-{q}")]);
    }
    let loc = irq(&i, "LOC");
    assert_eq!(loc.counts.len(), 512);
    assert_eq!(loc.counts[511], 513 * 3);
    assert_eq!(irq(&i, "ERR").total, 7);
}

#[test]
fn interrupts_generated_1152_cpus_at_full_size() {
    // ~13 MB like a real 1152-CPU host: the parser must stay linear.
    let cpus: Vec<u32> = (0..1152).collect();
    let (text, table) = generated_interrupts(&cpus, 1100);
    assert!(text.len() > 12_000_000);
    let i = interrupts::parse(&text).unwrap();
    assert_eq!(i.rows.len(), 1104);
    assert_eq!(i.rows[1099].counts, table[1099]);
    assert_eq!(i.rows[1099].actions, vec!["eth0-TxRx-1099".to_string()]);
    assert_eq!(i.rows[517].counts[1151], table[517][1151]);
}

// ---------------------------------------------------------------------------------------------
// /proc/softirqs

fn sirqs(rel: &str) -> softirqs::Softirqs {
    softirqs::parse(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const TYPES: [&str; 10] =
    ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

#[test]
fn softirqs_1152_cpus() {
    let s = sirqs("extra/softirqs/performancecopilot_pcp-softirqs-1152cpu-x86_64.txt");
    assert_eq!(s.cpus, (0..1152).collect::<Vec<u32>>());
    assert_eq!(s.rows.keys().map(String::as_str).collect::<Vec<_>>(), TYPES);
    assert!(s.rows.values().all(|v| v.len() == 1152));
    assert_eq!(s.rows["NET_RX"][0], 50);
    assert_eq!(s.rows["NET_RX"][1007], 12);
    assert_eq!(s.get("NET_RX", 1007), Some(12));
    assert_eq!(s.rows["NET_RX"][10], 2109);
    assert_eq!(s.rows["TIMER"][1151], 28403);
    assert_eq!(s.rows["TIMER"][0], 114978);
}

#[test]
fn softirqs_small_files() {
    // MT6589: 4 possible CPUs although /proc/interrupts shows only CPU0 online; old BLOCK_IOPOLL.
    let s = sirqs("extra/softirqs/GoCleverInsignia5_i5_info-softirqs.txt");
    assert_eq!(s.cpus, vec![0, 1, 2, 3]);
    assert_eq!(s.rows["NET_RX"], vec![4328, 450, 187, 40]);
    assert_eq!(s.rows["BLOCK_IOPOLL"], vec![28, 0, 0, 0]);
    assert!(!s.rows.contains_key("IRQ_POLL"));
    assert_eq!(s.rows.get_index(5).unwrap().0, "BLOCK_IOPOLL");

    let s = sirqs("extra/softirqs/apporator_zteorange-softirqs.txt");
    assert_eq!(s.rows["NET_RX"], vec![12138, 14]);
    assert_eq!(s.rows["HI"], vec![112430, 338611]);

    let s = sirqs("extra/softirqs/performancecopilot_pcp-softirqs-1cpu-i686.txt");
    assert_eq!(s.cpus, vec![0]);
    assert_eq!(s.rows["NET_RX"], vec![2315415]);
    assert_eq!(s.rows["RCU"], vec![9479358]);

    for (root, cpus, net_rx_last) in
        [("root1", 9, 12), ("root3", 9, 12), ("root5", 9, 24), ("root7", 8, 22)]
    {
        let s = sirqs(&format!("extra/softirqs/sysstat_sysstat-tests-{root}-softirqs.txt"));
        assert_eq!(s.cpus.len(), cpus, "{root}");
        assert_eq!(*s.rows["NET_RX"].last().unwrap(), net_rx_last, "{root}");
    }
    let s = sirqs("extra/softirqs/sysstat_sysstat-tests-root5-softirqs.txt");
    assert_eq!(s.rows["NET_RX"][3], 52726);
    assert_eq!(s.rows["TIMER"][8], 235567);

    let s = sirqs("procfs/proc/softirqs");
    assert_eq!(s.rows["NET_RX"], vec![55919, 28694]);
    assert_eq!(s.rows["SCHED"], vec![2278692, 815209]);
    let s = sirqs("node_exporter/proc/softirqs");
    assert_eq!(s.rows["NET_RX"], vec![43066, 104508]);
    let s = sirqs("linux-6.18-virtio/proc/softirqs");
    assert_eq!(s.rows.keys().map(String::as_str).collect::<Vec<_>>(), TYPES);
    assert_eq!(s.rows["NET_RX"], vec![4279, 1069728]);
    assert_eq!(s.rows["BLOCK"], vec![0, 94444]);

    let s = softirqs::read(&Root::at(format!("{DIR}/linux-6.18-virtio"))).into_value().unwrap();
    assert_eq!(s.get("NET_RX", 1), Some(1069728));
}

// ---------------------------------------------------------------------------------------------
// /proc/stat

fn pstat(rel: &str) -> stat::Stat {
    stat::parse(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn stat_linux_6_18_and_node_exporter() {
    let s = pstat("linux-6.18-virtio/proc/stat");
    let t = &s.total;
    assert_eq!(t.cpu, None);
    assert_eq!((t.user, t.nice, t.system, t.idle), (11952, 0, 8326, 73438));
    assert_eq!((t.iowait, t.irq, t.softirq, t.steal), (Some(695), Some(0), Some(195), Some(19)));
    assert_eq!((t.guest, t.guest_nice), (Some(0), Some(0)));
    assert_eq!(s.cpus.len(), 2);
    assert_eq!((s.cpus[1].cpu, s.cpus[1].softirq), (Some(1), Some(179)));
    assert_eq!(
        s.softirq,
        Some(vec![1334293, 0, 25556, 8, 1074007, 94444, 0, 112, 55590, 0, 84576])
    );

    let s = pstat("node_exporter/proc/stat");
    assert_eq!(s.cpus.len(), 8);
    assert_eq!(s.total.guest, Some(44));
    assert_eq!(s.total.guest_nice, Some(36));
    assert_eq!(s.cpus[7].guest_nice, Some(8));
    assert_eq!(s.cpus[0].softirq, Some(3410));
    assert_eq!(s.softirq.as_ref().unwrap()[4], 211099); // NET_RX

    let s = pstat("procfs/proc/stat");
    assert_eq!(s.total.user, 301854);
    assert_eq!(s.cpus[7].idle, 1139282);
    assert_eq!(s.softirq.as_ref().unwrap()[0], 5057579);

    let s = stat::read(&Root::at(format!("{DIR}/node_exporter"))).into_value().unwrap();
    assert_eq!(s.total.idle, 8979004);
}

#[test]
fn stat_intr_line_is_each_irqs_sum_over_cpus() {
    let text = fixture("linux-6.18-virtio/proc/stat");
    let (s, intr) = stat::parse_with_intr(&text).unwrap();
    assert_eq!(s, pstat("linux-6.18-virtio/proc/stat"));
    let intr = intr.expect("6.18 prints an intr line");
    assert_eq!(intr.total, 401263);
    // One count per IRQ number from 0, the same as /proc/interrupts' row summed over the CPUs.
    let ints = ints("linux-6.18-virtio/proc/interrupts");
    let mut numbered = 0;
    for row in ints.rows.iter().filter(|r| r.irq.bytes().all(|b| b.is_ascii_digit())) {
        assert_eq!(intr.of(row.irq.parse().unwrap()), Some(row.total), "IRQ {}", row.irq);
        numbered += 1;
    }
    assert_eq!(numbered, 19);
    assert_eq!((intr.of(38), intr.of(39)), (Some(4932), Some(3897)));
    assert!(intr.irqs.len() > 40 && intr.irqs[44..].iter().all(|c| *c == 0));

    // 2.6 ARMv4T: a short line, up to its NR_IRQS.
    let (_, intr) =
        stat::parse_with_intr(&fixture("extra/stat/RandolphWang1_D2000-stat.txt")).unwrap();
    let intr = intr.unwrap();
    assert_eq!((intr.total, intr.irqs.len(), intr.of(27)), (31431, 32, Some(18223)));
    assert_eq!(intr.of(32), None);
}

#[test]
fn stat_old_and_odd_field_counts() {
    // 2.6.x ARMv4T: 8 fields, no softirq line.
    let s = pstat("extra/stat/RandolphWang1_D2000-stat.txt");
    let t = &s.total;
    assert_eq!(
        (t.user, t.system, t.idle, t.irq, t.softirq, t.steal),
        (96, 2629, 14389, Some(102), Some(1007), Some(0))
    );
    assert_eq!((t.guest, t.guest_nice), (None, None));
    assert_eq!(s.softirq, None);
    assert_eq!(s.cpus.len(), 1);

    // sysstat root7: 7 fields.
    let s = pstat("extra/stat/sysstat_sysstat-tests-root7-stat.txt");
    assert_eq!(s.cpus.len(), 10);
    assert_eq!((s.total.softirq, s.total.steal), (Some(25969), None));
    assert_eq!(s.cpus[9].cpu, Some(9));
    assert_eq!(s.cpus[9].user, 390);

    // sysstat root3: cpu6 is offline, the ids come from the labels.
    let s = pstat("extra/stat/sysstat_sysstat-tests-root3-stat.txt");
    assert_eq!(
        s.cpus.iter().map(|c| c.cpu.unwrap()).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5, 7]
    );
    assert_eq!(s.cpus[6].idle, 586713);

    let s = pstat("extra/stat/sysstat_sysstat-tests-root5-stat.txt");
    assert_eq!(
        (s.total.steal, s.total.guest, s.total.guest_nice),
        (Some(100), Some(150), Some(25))
    );
    let s = pstat("extra/stat/sysstat_sysstat-tests-root1-stat.txt");
    assert_eq!(s.cpus.len(), 9);
    assert_eq!(s.softirq.as_ref().unwrap()[3], 1682);

    // MT6589: one online CPU of four.
    let s = pstat("extra/stat/GoCleverInsignia5_i5_info-stat.txt");
    assert_eq!(s.cpus.len(), 1);
    assert_eq!(s.total.iowait, Some(4369));
    assert_eq!(s.softirq.as_ref().unwrap()[4], 5005);

    let s = pstat("extra/stat/elastic_go-sysinfo-fedora30-stat.txt");
    assert_eq!(s.total.idle, 1134746753);
    assert_eq!(s.cpus[3].softirq, Some(439391));
    assert_eq!(s.softirq.as_ref().unwrap()[0], 1934569580);

    let s = pstat("extra/stat/jds2001_coreos-sosreport-master1-stat.txt");
    assert_eq!(s.cpus[1].irq, Some(2293));
    assert_eq!(s.softirq.as_ref().unwrap().len(), 11);
}

// ---------------------------------------------------------------------------------------------
// JSON: kernel names as keys, and every type reads back what it wrote.

#[test]
fn json_keys_and_round_trip() {
    let s = softnet("procfs/proc/net/softnet_stat");
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["cpu_id_source"], "row_index");
    assert_eq!(j["rows"][2]["time_squeeze"], 4026533737u64);
    assert_eq!(j["rows"][0]["flow_limit_count"], 118);
    assert!(j["rows"][3].get("received_rps").is_none());
    assert_eq!(serde_json::from_value::<Softnet>(j).unwrap(), s);

    let i = ints("extra/interrupts/GoCleverInsignia5_i5_info-interrupts.txt");
    let j = serde_json::to_value(&i).unwrap();
    let ipi1 = j["rows"].as_array().unwrap().iter().find(|r| r["irq"] == "IPI1").unwrap();
    assert_eq!(ipi1["counts"], serde_json::json!([75373]));
    assert_eq!(ipi1["extra_counts"], serde_json::json!([107711, 43906, 30716]));
    assert!(ipi1.get("chip").is_none());
    assert_eq!(serde_json::from_value::<Interrupts>(j).unwrap(), i);

    let sq = sirqs("linux-6.18-virtio/proc/softirqs");
    let text = serde_json::to_string(&sq).unwrap();
    assert!(
        text.starts_with(r#"{"cpus":[0,1],"rows":{"HI":[0,0],"TIMER":[13963,11592],"#),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<softirqs::Softirqs>(&text).unwrap(), sq);

    let st = pstat("extra/stat/RandolphWang1_D2000-stat.txt");
    let j = serde_json::to_value(&st).unwrap();
    assert_eq!(j["total"]["cpu"], serde_json::Value::Null);
    assert_eq!(j["cpus"][0]["cpu"], 0);
    assert_eq!(j["total"]["softirq"], 1007);
    assert!(j["total"].get("guest").is_none());
    assert!(j.get("softirq").is_none());
    assert_eq!(serde_json::from_value::<stat::Stat>(j).unwrap(), st);
}

// ---------------------------------------------------------------------------------------------
// No input makes a parser panic.

fn all_fixtures() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(DIR)];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none_or(|x| x != "md") {
                out.push(std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out.sort();
    out
}

fn parse_all(text: &str) {
    let _ = softnet::parse(text, None);
    let _ = softnet::parse(text, Some(&[0, 1, 5]));
    let _ = interrupts::parse(text);
    let _ = softirqs::parse(text);
    let _ = stat::parse(text);
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn fixtures() -> &'static [String] {
        static F: OnceLock<Vec<String>> = OnceLock::new();
        F.get_or_init(all_fixtures)
    }

    proptest! {
        #[test]
        fn arbitrary_strings(s in any::<String>()) {
            parse_all(&s);
        }

        #[test]
        fn procfs_shaped_strings(s in "([ \t]{0,3}(CPU[0-9]{1,3}|[0-9a-fA-F]{1,12}|[A-Za-z/]{1,5}:|-|,|Level|Edge|[0-9]+-edge)[ \t]{0,4}){0,30}(\n|\r\n){0,2}") {
            parse_all(&s);
        }

        #[test]
        fn mutated_fixtures(
            which in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        ) {
            let f = fixtures();
            let mut bytes = f[which.index(f.len())].as_bytes().to_vec();
            let keep = cut.index(bytes.len() + 1);
            // Half the cases keep the whole file so the edits land everywhere.
            if keep % 2 == 0 {
                bytes.truncate(keep);
            }
            for (at, b) in edits {
                let pos = at.index(bytes.len() + 1);
                if b % 3 == 0 && pos < bytes.len() {
                    bytes.remove(pos);
                } else {
                    bytes.insert(pos, b);
                }
            }
            parse_all(&String::from_utf8_lossy(&bytes));
        }
    }
}
