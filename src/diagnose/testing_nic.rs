//! Scene helpers for the NIC, IRQ and softirq rules: queues with their IRQs, IRQ affinity and
//! firing, NUMA nodes, CPU time, per-queue packets, and the ethtool settings of an interface.

use super::testing::Scene;
use crate::avail::Avail;
use crate::sample::{Interface, Sample};
use crate::source::cpus::NumaNode;
use crate::source::environment::Irqbalance;
use crate::source::ethtool::{Channels, Coalesce, Ring};
use crate::source::interrupts::Counts;
use crate::source::irq::{QueueKind, QueueRef};
use crate::source::netlink::netdev::{QStats, QueueType};
use crate::source::queues::RxQueue;
use std::sync::Arc;

/// The first IRQ number `nic_queues` gives out (the capture uses 24–43).
pub const FIRST_IRQ: u32 = 60;

impl Scene {
    /// Gives interface `name` `n` combined queues in both samples, served by IRQs `FIRST_IRQ..`,
    /// each asking for every CPU and really on CPU `queue % 2` (spread, as the kernel does), with
    /// netdev qstats per queue and `n` of `n` channels. Its old receive IRQ serves no queue.
    pub fn nic_queues(&mut self, name: &str, n: u32) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let ifindex = iface_in(s, name).sysfs.ifindex.value().copied().expect("ifindex");
            let Avail::Value(ints) = &mut s.interrupts else { panic!("no /proc/interrupts") };
            let template = ints.rows.iter().find(|r| r.irq == "38").expect("IRQ 38").clone();
            let ncpus = ints.cpus.len();
            for q in 0..n {
                let mut row = template.clone();
                row.irq = (FIRST_IRQ + q).to_string();
                row.actions = vec![format!("{name}-TxRx-{q}")];
                row.hwirq = Some((q + 1).to_string());
                row.counts = Counts::zeros(ncpus);
                row.total = 0;
                ints.rows.push(row);
            }
            if let Avail::Value(g) = &mut s.netdev_genl
                && let Avail::Value(qs) = &mut g.qstats
            {
                qs.retain(|q| !(q.ifindex == ifindex && q.queue_type == Some(QueueType::Rx)));
                for q in 0..n {
                    qs.push(QStats {
                        ifindex,
                        queue_type: Some(QueueType::Rx),
                        queue_id: Some(q),
                        counters: [("rx-packets".into(), 0)].into_iter().collect(),
                    });
                }
            }
            let i = iface_in(s, name);
            let Avail::Value(irqs) = Arc::make_mut(&mut i.irqs) else {
                panic!("{name} has no IRQs")
            };
            let template = irqs[0].clone();
            for irq in irqs.iter_mut() {
                if irq.queue.as_ref().is_some_and(|r| r.kind != QueueKind::Tx) {
                    irq.queue = None;
                }
            }
            for q in 0..n {
                let mut irq = template.clone();
                irq.irq = FIRST_IRQ + q;
                irq.actions = Avail::Value(vec![format!("{name}-TxRx-{q}")]);
                irq.smp_affinity_list = Avail::Value(vec![0, 1]);
                irq.effective_affinity_list = Avail::Value(vec![q % 2]);
                irq.queue = Some(QueueRef {
                    kind: QueueKind::Combined,
                    index: Some(q),
                    from: "test".into(),
                });
                irqs.push(irq);
            }
            if let Avail::Value(queues) = Arc::make_mut(&mut i.queues) {
                let template = queues.rx[0].clone();
                queues.rx = (0..n).map(|index| RxQueue { index, ..template.clone() }).collect();
            }
            i.ethtool.channels = Arc::new(Avail::Value(Channels {
                max_combined: n,
                combined_count: n,
                ..Channels::default()
            }));
        }
        self
    }

    /// Sets the affinity of a NIC IRQ in both samples: asked for (`smp_affinity_list`) and really
    /// targeted (`effective_affinity_list`).
    pub fn irq_affinity(&mut self, irq: u32, asked: &[u32], effective: &[u32]) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let q = nic_irq_in(s, irq);
            q.smp_affinity_list = Avail::Value(asked.to_vec());
            q.effective_affinity_list = Avail::Value(effective.to_vec());
        }
        self
    }

    /// Advances the /proc/interrupts count of `irq` on `cpu` in the later sample.
    pub fn irq_fires(&mut self, irq: u32, cpu: u32, by: u64) -> &mut Self {
        let Avail::Value(ints) = &mut self.later.interrupts else { panic!("no /proc/interrupts") };
        let col = ints.cpus.iter().position(|c| *c == cpu).expect("cpu in the header");
        let label = irq.to_string();
        let row = ints.rows.iter_mut().find(|r| r.irq == label).expect("IRQ in /proc/interrupts");
        let mut counts = row.counts.to_vec();
        counts[col] += by;
        row.counts = counts.into();
        row.total += by;
        self
    }

    /// Advances the netdev qstats `rx-packets` of one receive queue in the later sample.
    pub fn queue_packets(&mut self, name: &str, queue: u32, by: u64) -> &mut Self {
        let ifindex = iface_in(&mut self.later, name).sysfs.ifindex.value().copied();
        let Avail::Value(g) = &mut self.later.netdev_genl else { panic!("no netdev genl") };
        let Avail::Value(qs) = &mut g.qstats else { panic!("no qstats") };
        let q = qs
            .iter_mut()
            .find(|q| {
                Some(q.ifindex) == ifindex
                    && q.queue_type == Some(QueueType::Rx)
                    && q.queue_id == Some(queue)
            })
            .expect("queue in qstats");
        *q.counters.entry("rx-packets".into()).or_insert(0) += by;
        self
    }

    /// Sets the receive ring of `name` (both samples).
    pub fn ring(&mut self, name: &str, rx_pending: u32, rx_max_pending: u32) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let i = iface_in(s, name);
            let base = i.ethtool.ring.value().copied().unwrap_or_default();
            i.ethtool.ring = Arc::new(Avail::Value(Ring { rx_pending, rx_max_pending, ..base }));
        }
        self
    }

    /// Sets the combined channels of `name` (both samples).
    pub fn channels(&mut self, name: &str, combined: u32, max_combined: u32) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            iface_in(s, name).ethtool.channels = Arc::new(Avail::Value(Channels {
                combined_count: combined,
                max_combined,
                ..Channels::default()
            }));
        }
        self
    }

    /// Changes the coalescing settings of `name` (both samples).
    pub fn coalesce(&mut self, name: &str, f: impl Fn(&mut Coalesce)) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let i = iface_in(s, name);
            let mut c = i.ethtool.coalesce.value().copied().unwrap_or_default();
            f(&mut c);
            i.ethtool.coalesce = Arc::new(Avail::Value(c));
        }
        self
    }

    /// Turns an ethtool feature (`rx-gro`) on or off (both samples).
    pub fn feature(&mut self, name: &str, feature: &str, active: bool) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let Avail::Value(fs) = Arc::make_mut(&mut iface_in(s, name).ethtool.features) else {
                panic!("{name} has no features")
            };
            let f = fs.iter_mut().find(|f| f.name == feature).expect("feature in the capture");
            f.active = active;
            f.requested = active;
        }
        self
    }

    /// Sets the RSS indirection table of `name` (both samples).
    pub fn rss_indir(&mut self, name: &str, table: Vec<u32>) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            iface_in(s, name).ethtool.rss_indir = Arc::new(Avail::Value(table.clone()));
        }
        self
    }

    /// Makes the host NUMA: node k holds the CPUs of `nodes[k]`; the device of `name` sits on
    /// `device_node`.
    pub fn numa(&mut self, nodes: &[&[u32]], name: &str, device_node: i32) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            s.cpus.nodes = Avail::Value(
                nodes
                    .iter()
                    .zip(0..)
                    .map(|(cpus, node)| NumaNode { node, cpus: cpus.to_vec() })
                    .collect(),
            );
            let dev = iface_in(s, name).sysfs.device.as_mut().expect("a device");
            dev.numa_node = Avail::Value(device_node);
        }
        self
    }

    /// Advances /proc/stat time of `cpu` in the later sample, in ticks.
    pub fn cpu_time(&mut self, cpu: u32, softirq: u64, idle: u64, user: u64) -> &mut Self {
        let Avail::Value(st) = &mut self.later.stat else { panic!("no /proc/stat") };
        let t = st.cpus.iter_mut().find(|c| c.cpu == Some(cpu)).expect("cpu in /proc/stat");
        t.softirq = Some(t.softirq.unwrap_or(0) + softirq);
        t.idle += idle;
        t.user += user;
        let t = &mut st.total;
        t.softirq = Some(t.softirq.unwrap_or(0) + softirq);
        t.idle += idle;
        t.user += user;
        self
    }

    /// irqbalance running (both samples), banning `banned_cpus`, with `args` on its command line.
    pub fn irqbalance(&mut self, banned_cpus: Option<Vec<u32>>, args: &[&str]) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            s.environment.irqbalance = Avail::Value(Irqbalance {
                running: true,
                pid: Some(812),
                banned_cpus: banned_cpus.clone(),
                banned_from: Some("test".into()),
                args: args.iter().map(|a| a.to_string()).collect(),
                environ: Avail::Value(Default::default()),
            });
        }
        self
    }

    /// Sets the sysfs `napi_defer_hard_irqs` and `gro_flush_timeout` of `name` (both samples).
    pub fn napi_defer(&mut self, name: &str, defer: u64, gro_flush_timeout: u64) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let i = iface_in(s, name);
            i.sysfs.napi_defer_hard_irqs = Avail::Value(defer);
            i.sysfs.gro_flush_timeout = Avail::Value(gro_flush_timeout);
        }
        self
    }
}

fn iface_in<'a>(s: &'a mut Sample, name: &str) -> &'a mut Interface {
    let Avail::Value(ifs) = &mut s.interfaces else { panic!("no interfaces") };
    ifs.iter_mut().find(|i| i.name == name).expect("interface in the fixture")
}

fn nic_irq_in(s: &mut Sample, irq: u32) -> &mut crate::source::irq::NicIrq {
    let Avail::Value(ifs) = &mut s.interfaces else { panic!("no interfaces") };
    ifs.iter_mut()
        .filter_map(|i| match Arc::make_mut(&mut i.irqs) {
            Avail::Value(v) => Some(v),
            Avail::Unavailable(_) => None,
        })
        .flatten()
        .find(|q| q.irq == irq)
        .expect("a NIC IRQ")
}

#[test]
fn queues_irqs_and_cpu_time_reach_the_report() {
    let mut s = Scene::quiet();
    s.nic_queues("eth0", 4).queue_packets("eth0", 2, 500).irq_fires(FIRST_IRQ + 2, 0, 70);
    s.cpu_time(0, 60, 40, 0).cpu_time(1, 0, 100, 0);
    let r = s.report();
    let q: Vec<_> = r.queues.iter().filter(|q| q.interface == "eth0").collect();
    assert_eq!(q.len(), 4);
    assert_eq!(q[2].packets.map(|a| a.count), Some(500));
    assert_eq!(q[2].irq.as_deref(), Some("62"));
    assert_eq!(q[3].cpus, vec![1]);
    let cpu0 = r.cpus.iter().find(|c| c.cpu == 0).unwrap();
    assert_eq!(cpu0.irqs.map(|a| a.count), Some(70));
    assert_eq!(cpu0.softirq_share, Some(0.6));
    assert_eq!(r.findings, vec![], "spread queues with little traffic are healthy");
}
