//! Sysctl, CPU/NUMA and host-environment readers on trees built per test (the kernel's exact
//! formatting), and on the live host.
//!
//! No capture in /work/shared/fixtures holds /proc/sys, /sys/devices/system/{cpu,node}, /proc/<pid>
//! or /sys/class/dma files, so every tree here is written by the test itself.

use indexmap::IndexMap;
use rxpath::Root;
use rxpath::avail::Avail;
use rxpath::source::cpus::{self, NumaNode};
use rxpath::source::environment::{self, Conntrack, DmaChannel};
use rxpath::source::sysctl::{self, GLOBAL_ABSENT, SysctlValue};
use std::fs;
use std::path::Path;

fn put(dir: &Path, kernel_path: &str, contents: impl AsRef<[u8]>) {
    let p = dir.join(kernel_path.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, contents).unwrap();
}

/// The receive-path sysctls as a 6.18 init_net prints them, on a many-CPU host.
fn host_sysctls(dir: &Path) {
    for (name, text) in [
        ("net/core/netdev_budget", "300\n"),
        ("net/core/netdev_budget_usecs", "8000\n"),
        ("net/core/netdev_max_backlog", "1000\n"),
        ("net/core/dev_weight", "64\n"),
        ("net/core/dev_weight_rx_bias", "1\n"),
        ("net/core/flow_limit_cpu_bitmap", "00000000,00000003\n"),
        ("net/core/flow_limit_table_len", "4096\n"),
        ("net/core/rps_sock_flow_entries", "0\n"),
        ("net/core/netdev_tstamp_prequeue", "1\n"),
        ("net/core/busy_poll", "0\n"),
        ("net/core/busy_read", "0\n"),
        ("net/core/rmem_default", "212992\n"),
        ("net/core/rmem_max", "4194304\n"),
        ("net/core/gro_normal_batch", "8\n"),
        ("net/ipv4/udp_mem", "575802\t767736\t1151604\n"),
        ("net/ipv4/udp_rmem_min", "4096\n"),
        ("net/ipv4/tcp_rmem", "4096\t131072\t33554432\n"),
        ("net/core/somaxconn", "4096\n"),
    ] {
        put(dir, &format!("/proc/sys/{name}"), text);
    }
}

#[test]
fn sysctls_read_with_kernel_formatting() {
    let dir = tempfile::tempdir().unwrap();
    host_sysctls(dir.path());
    let s = sysctl::read(&Root::at(dir.path()));
    assert_eq!(s.0.len(), sysctl::RX_SYSCTLS.len());
    assert!(s.0.values().all(Avail::is_available), "{s:?}");
    assert_eq!(s.int("net.core.netdev_budget"), Some(300));
    assert_eq!(s.int("net.core.netdev_budget_usecs"), Some(8000));
    assert_eq!(s.int("net.core.netdev_max_backlog"), Some(1000));
    assert_eq!(s.int("net.core.dev_weight"), Some(64));
    assert_eq!(s.int("net.core.rmem_max"), Some(4194304));
    assert_eq!(s.int("net.core.gro_normal_batch"), Some(8));
    assert_eq!(s.int("net.core.somaxconn"), Some(4096));
    assert_eq!(s.ints("net.ipv4.udp_mem"), Some(&[575802, 767736, 1151604][..]));
    assert_eq!(s.ints("net.ipv4.tcp_rmem"), Some(&[4096, 131072, 33554432][..]));
    assert_eq!(
        s.get("net.core.flow_limit_cpu_bitmap").and_then(Avail::value),
        Some(&SysctlValue::CpuMask { mask: "00000000,00000003".into(), cpus: vec![0, 1] })
    );
    // Order and JSON shape are what scripts see.
    assert_eq!(s.0.get_index(0).unwrap().0, "net.core.netdev_budget");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["net.core.netdev_budget"], 300);
    assert_eq!(json["net.ipv4.udp_mem"], serde_json::json!([575802, 767736, 1151604]));
    assert_eq!(
        json["net.core.flow_limit_cpu_bitmap"],
        serde_json::json!({"mask": "00000000,00000003", "cpus": [0, 1]})
    );
}

#[test]
fn sysctls_in_a_child_netns_tree() {
    // What a child netns shows on 6.18 (checked with `unshare -n`): per-netns files, rmem read-only,
    // no global ones.
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "/proc/sys/net/core/rmem_default", "212992\n");
    put(dir.path(), "/proc/sys/net/core/rmem_max", "4194304\n");
    put(dir.path(), "/proc/sys/net/ipv4/udp_rmem_min", "4096\n");
    put(dir.path(), "/proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t33554432\n");
    put(dir.path(), "/proc/sys/net/core/netdev_budget", "3OO\n");
    let s = sysctl::read(&Root::at(dir.path()));

    let backlog = s.get("net.core.netdev_max_backlog").unwrap().unavailable().unwrap();
    assert_eq!(backlog.what, "/proc/sys/net/core/netdev_max_backlog");
    assert_eq!(backlog.why, GLOBAL_ABSENT);
    let udp_mem = s.get("net.ipv4.udp_mem").unwrap().unavailable().unwrap();
    assert_eq!(udp_mem.why, GLOBAL_ABSENT);
    // A per-netns sysctl that is absent is not blamed on the namespace.
    let somaxconn = s.get("net.core.somaxconn").unwrap().unavailable().unwrap();
    assert!(somaxconn.why.starts_with("not present"), "{somaxconn:?}");
    let budget = s.get("net.core.netdev_budget").unwrap().unavailable().unwrap();
    assert!(budget.why.starts_with("cannot parse (not an integer"), "{budget:?}");

    assert_eq!(s.int("net.ipv4.udp_rmem_min"), Some(4096));
    assert_eq!(s.int("net.core.rmem_default"), Some(212992));
    assert_eq!(s.int("net.core.netdev_max_backlog"), None);
}

#[test]
fn cpus_and_numa_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "/sys/devices/system/cpu/online", "0-3\n");
    put(d, "/sys/devices/system/cpu/possible", "0-7\n");
    put(d, "/sys/devices/system/cpu/present", "0-3\n");
    put(d, "/sys/devices/system/node/online", "0-1,10\n");
    put(d, "/sys/devices/system/node/has_cpu", "0-1\n");
    put(d, "/sys/devices/system/node/node0/cpulist", "0-1\n");
    put(d, "/sys/devices/system/node/node1/cpulist", "2-3\n");
    // A memory-only node (CXL, HBM) lists no CPUs; it sorts after node1 by number, not by name.
    put(d, "/sys/devices/system/node/node10/cpulist", "\n");
    let c = cpus::read(&Root::at(d));
    assert_eq!(c.online, Avail::Value(vec![0, 1, 2, 3]));
    assert_eq!(c.possible, Avail::Value((0..8).collect()));
    assert_eq!(c.present, Avail::Value(vec![0, 1, 2, 3]));
    assert_eq!(
        c.nodes,
        Avail::Value(vec![
            NumaNode { node: 0, cpus: vec![0, 1] },
            NumaNode { node: 1, cpus: vec![2, 3] },
            NumaNode { node: 10, cpus: vec![] },
        ])
    );
    assert_eq!(c.node_of(0), Some(0));
    assert_eq!(c.node_of(3), Some(1));
    assert_eq!(c.node_of(7), None);
}

#[test]
fn no_numa_is_said_not_invented() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "/sys/devices/system/cpu/online", "0\n");
    let c = cpus::read(&Root::at(dir.path()));
    assert_eq!(c.online, Avail::Value(vec![0]));
    assert!(c.possible.unavailable().unwrap().why.starts_with("not present"));
    let u = c.nodes.unavailable().unwrap();
    assert_eq!(u.what, "/sys/devices/system/node");
    assert_eq!(u.why, cpus::NO_NUMA);
    assert_eq!(c.node_of(0), None);

    // A node directory without node* entries says the same.
    put(dir.path(), "/sys/devices/system/node/possible", "0\n");
    let c = cpus::read(&Root::at(dir.path()));
    assert_eq!(c.nodes.unavailable().unwrap().why, cpus::NO_NUMA);
}

/// A /proc with init, a kernel thread and irqbalance at pid 1234.
fn proc_with_irqbalance(d: &Path, environ: Option<&[u8]>) {
    put(d, "/proc/1/comm", "systemd\n");
    put(d, "/proc/2/comm", "kthreadd\n");
    put(d, "/proc/net/dev", "");
    put(d, "/proc/1234/comm", "irqbalance\n");
    put(d, "/proc/1234/cmdline", "/usr/sbin/irqbalance\0--foreground\0--banirq=43\0");
    if let Some(e) = environ {
        put(d, "/proc/1234/environ", e);
    }
}

#[test]
fn irqbalance_banned_cpus_from_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    proc_with_irqbalance(dir.path(), Some(b"IRQBALANCE_BANNED_CPUS=0000000f\0PATH=/bin\0"));
    // The config says otherwise; the running daemon's environment wins.
    put(dir.path(), "/etc/default/irqbalance", "IRQBALANCE_BANNED_CPULIST=8-9\n");
    let ib = environment::read_irqbalance(&Root::at(dir.path())).into_value().unwrap();
    assert!(ib.running);
    assert_eq!(ib.pid, Some(1234));
    assert_eq!(ib.banned_cpus, Some(vec![0, 1, 2, 3]));
    assert_eq!(ib.banned_from.as_deref(), Some("/proc/1234/environ IRQBALANCE_BANNED_CPUS"));
    assert_eq!(ib.args, vec!["--foreground", "--banirq=43"]);
    let mut want = IndexMap::new();
    want.insert("IRQBALANCE_BANNED_CPUS".to_string(), "0000000f".to_string());
    assert_eq!(ib.environ, Avail::Value(want), "PATH must not be kept");
}

#[test]
fn irqbalance_default_bans_isolated_and_nohz_full() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    proc_with_irqbalance(d, Some(b"IRQBALANCE_BANNED_CPUS=\0LANG=C\0"));
    put(d, "/sys/devices/system/cpu/isolated", "2-3\n");
    put(d, "/sys/devices/system/cpu/nohz_full", "3-4\n");
    let ib = environment::read_irqbalance(&Root::at(d)).into_value().unwrap();
    assert_eq!(ib.banned_cpus, Some(vec![2, 3, 4]));
    assert!(ib.banned_from.unwrap().starts_with("irqbalance's default"));

    // Kernel 6.18 here prints an empty `isolated` and has no nohz_full: nothing banned, known.
    fs::write(d.join("sys/devices/system/cpu/isolated"), "\n").unwrap();
    fs::remove_file(d.join("sys/devices/system/cpu/nohz_full")).unwrap();
    let ib = environment::read_irqbalance(&Root::at(d)).into_value().unwrap();
    assert_eq!(ib.banned_cpus, Some(vec![]));
}

#[test]
fn irqbalance_config_file_when_environ_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    proc_with_irqbalance(d, Some(b"IRQBALANCE_BANNED_CPULIST=0\0"));
    put(
        d,
        "/etc/default/irqbalance",
        "#IRQBALANCE_BANNED_CPUS=\nIRQBALANCE_BANNED_CPULIST=\"2-3\"\nIRQBALANCE_ARGS=\"-j\"\n",
    );
    // A replayed EACCES, as a non-root capture records another user's environ.
    put(
        d,
        "rxpath-capture.json",
        r#"{"recording":{"errors":{"/proc/1234/environ":13},"listings":{}}}"#,
    );
    let ib = environment::read_irqbalance(&Root::at(d)).into_value().unwrap();
    assert!(ib.running);
    let u = ib.environ.unavailable().unwrap();
    assert_eq!(u.what, "/proc/1234/environ");
    assert_eq!(u.why, "permission denied: run as root to read it");
    assert_eq!(ib.banned_cpus, Some(vec![2, 3]));
    let from = ib.banned_from.unwrap();
    assert!(
        from.starts_with("/etc/default/irqbalance IRQBALANCE_BANNED_CPULIST (configured value"),
        "{from}"
    );
    assert_eq!(ib.args, vec!["--foreground", "--banirq=43"]);

    // Neither environ nor a config: unknown, not "none banned".
    fs::remove_file(d.join("etc/default/irqbalance")).unwrap();
    let ib = environment::read_irqbalance(&Root::at(d)).into_value().unwrap();
    assert_eq!((ib.banned_cpus, ib.banned_from), (None, None));
}

#[test]
fn irqbalance_sysconfig_and_bad_mask() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    proc_with_irqbalance(d, None);
    put(d, "/etc/sysconfig/irqbalance", "IRQBALANCE_BANNED_CPUS=00000000,0000000g\n");
    let ib = environment::read_irqbalance(&Root::at(d)).into_value().unwrap();
    assert!(ib.environ.unavailable().unwrap().why.starts_with("not present"));
    assert_eq!(ib.banned_cpus, None);
    assert!(ib.banned_from.unwrap().contains("cannot parse (bad hex CPU mask"));
}

#[test]
fn irqbalance_not_running_is_a_value() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "/proc/1/comm", "systemd\n");
    // A comm that only starts with the name is another program.
    put(dir.path(), "/proc/77/comm", "irqbalance-ui\n");
    let ib = environment::read_irqbalance(&Root::at(dir.path())).into_value().unwrap();
    assert!(!ib.running);
    assert_eq!(ib.pid, None);
    assert_eq!(ib.banned_cpus, None);
    assert!(ib.args.is_empty());
    assert_eq!(ib.environ, Avail::Value(IndexMap::new()), "no environment when not running");

    // No /proc at all: that part is missing, not "not running".
    let empty = tempfile::tempdir().unwrap();
    let u = environment::read_irqbalance(&Root::at(empty.path()));
    assert_eq!(u.unavailable().unwrap().what, "/proc");
}

#[test]
fn conntrack_present_and_absent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = environment::read_conntrack(&Root::at(d));
    let u = c.unavailable().unwrap();
    assert_eq!(u.what, "/proc/sys/net/netfilter/nf_conntrack_count");
    assert_eq!(u.why, environment::CONNTRACK_ABSENT);

    put(d, "/proc/sys/net/netfilter/nf_conntrack_count", "17\n");
    put(d, "/proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
    let c = environment::read_conntrack(&Root::at(d));
    assert_eq!(c, Avail::Value(Conntrack { count: 17, max: 262144 }));
}

#[test]
fn dma_channels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(environment::read_dma(&Root::at(d)), Avail::Value(vec![]));

    put(d, "/sys/class/dma/dma0chan0/memcpy_count", "12\n");
    put(d, "/sys/class/dma/dma0chan0/bytes_transferred", "49152\n");
    put(d, "/sys/class/dma/dma0chan0/in_use", "1\n");
    put(d, "/sys/class/dma/dma0chan1/memcpy_count", "0\n");
    put(d, "/sys/class/dma/dma0chan1/in_use", "0\n");
    let dma = environment::read_dma(&Root::at(d)).into_value().unwrap();
    assert_eq!(dma.len(), 2);
    assert_eq!(
        dma[0],
        DmaChannel {
            name: "dma0chan0".into(),
            memcpy_count: Avail::Value(12),
            bytes_transferred: Avail::Value(49152),
            in_use: Avail::Value(1),
        }
    );
    assert_eq!(dma[1].name, "dma0chan1");
    assert_eq!(dma[1].memcpy_count, Avail::Value(0));
    assert_eq!(
        dma[1].bytes_transferred.unavailable().unwrap().what,
        "/sys/class/dma/dma0chan1/bytes_transferred"
    );
    assert_eq!(dma[1].in_use, Avail::Value(0));
}

#[test]
fn environment_reads_all_three() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    proc_with_irqbalance(d, Some(b"IRQBALANCE_BANNED_CPULIST=1\0"));
    put(d, "/proc/sys/net/netfilter/nf_conntrack_count", "0\n");
    put(d, "/proc/sys/net/netfilter/nf_conntrack_max", "65536\n");
    let env = environment::read(&Root::at(d));
    assert_eq!(env.irqbalance.value().unwrap().banned_cpus, Some(vec![1]));
    assert_eq!(env.conntrack, Avail::Value(Conntrack { count: 0, max: 65536 }));
    assert_eq!(env.dma, Avail::Value(vec![]));
    let json = serde_json::to_value(&env).unwrap();
    assert_eq!(json["irqbalance"]["pid"], 1234);
    assert_eq!(json["conntrack"]["max"], 65536);
}

// ---- live host ----

#[test]
fn live_sysctls_match_proc() {
    let s = sysctl::read(&Root::live());
    match fs::read_to_string("/proc/sys/net/core/netdev_max_backlog") {
        Ok(text) => {
            assert_eq!(s.int("net.core.netdev_max_backlog"), Some(text.trim().parse().unwrap()))
        }
        // Running inside a child network namespace.
        Err(_) => assert_eq!(
            s.get("net.core.netdev_max_backlog").unwrap().unavailable().unwrap().why,
            GLOBAL_ABSENT
        ),
    }
    let somaxconn: i64 =
        fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap();
    assert_eq!(s.int("net.core.somaxconn"), Some(somaxconn));
}

#[test]
fn live_online_cpus_match_the_scheduler() {
    let c = cpus::read(&Root::live());
    let online = c.online.value().expect("/sys/devices/system/cpu/online");
    // SAFETY: sysconf has no preconditions.
    let onln = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    assert_eq!(online.len() as i64, onln);
    // nproc counts the CPUs this process may use: never more than are online.
    let usable = std::thread::available_parallelism().unwrap().get();
    assert!(usable <= online.len(), "{usable} usable > {online:?} online");
    for cpu in online {
        assert!(c.possible.value().unwrap().contains(cpu));
        if let Some(nodes) = c.nodes.value() {
            assert!(c.node_of(*cpu).is_some(), "online CPU {cpu} on no node: {nodes:?}");
        }
    }
}

#[test]
fn live_environment_reads() {
    let env = environment::read(&Root::live());
    if let Ok(count) = fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max") {
        let max: u64 = count.trim().parse().unwrap();
        assert_eq!(env.conntrack.value().unwrap().max, max);
    } else {
        assert_eq!(env.conntrack.unavailable().unwrap().why, environment::CONNTRACK_ABSENT);
    }
    assert!(env.irqbalance.is_available());
    assert!(env.dma.is_available());
}

/// In a fresh network namespace, global sysctls vanish and per-netns ones stay. The namespace is
/// made with unshare(CLONE_NEWNET) in a thread of its own: /proc/sys/net follows the *reading
/// thread's* namespace, nothing is named on the host, and the namespace dies with the thread.
#[test]
fn live_child_netns_hides_global_sysctls() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED live_child_netns_hides_global_sysctls: needs root (CAP_SYS_ADMIN)");
        return;
    }
    let host = sysctl::read(&Root::live());
    let inside = std::thread::spawn(|| {
        // SAFETY: affects only this thread's namespaces; the thread does nothing else afterwards.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(sysctl::read(&Root::live()))
    })
    .join()
    .unwrap();
    let inside = match inside {
        Ok(s) => s,
        Err(e) => {
            eprintln!("SKIPPED live_child_netns_hides_global_sysctls: unshare(CLONE_NEWNET): {e}");
            return;
        }
    };
    if host.int("net.core.netdev_max_backlog").is_none() {
        eprintln!("SKIPPED live_child_netns_hides_global_sysctls: already inside a child netns");
        return;
    }
    for global in ["net.core.netdev_max_backlog", "net.core.netdev_budget", "net.ipv4.udp_mem"] {
        let u = inside.get(global).unwrap().unavailable();
        assert_eq!(u.map(|u| u.why.as_str()), Some(GLOBAL_ABSENT), "{global}");
    }
    // Per-netns: present, with the fresh namespace's defaults.
    assert!(inside.int("net.ipv4.udp_rmem_min").is_some());
    assert!(inside.int("net.core.somaxconn").is_some());
    assert!(inside.ints("net.ipv4.tcp_rmem").is_some());
    // rmem_max: shown read-only with the host's value (6.18); absent on kernels before that change.
    if let Some(v) = inside.int("net.core.rmem_max") {
        assert_eq!(Some(v), host.int("net.core.rmem_max"));
    }
}
