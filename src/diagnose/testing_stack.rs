//! Scene helpers for the stack rules (RPS/RFS, conntrack, UDP/TCP, AF_PACKET taps): settings that
//! both samples share, and CPU time and softirq counts that move in the later one.

use super::testing::Scene;
use crate::avail::Avail;
use crate::source::environment::Conntrack;
use crate::source::packet;
use crate::source::queues::RxQueue;

impl Scene {
    /// Sets `rps_cpus` of `iface`'s rx queue `queue` in both samples (settings do not move).
    pub fn rps_cpus(&mut self, iface: &str, queue: u32, cpus: &[u32]) -> &mut Self {
        self.rx_queue(iface, queue, |q| q.rps_cpus = Avail::Value(cpus.to_vec()))
    }

    pub fn rps_flow_cnt(&mut self, iface: &str, queue: u32, n: u64) -> &mut Self {
        self.rx_queue(iface, queue, |q| q.rps_flow_cnt = Avail::Value(n))
    }

    /// Gives `iface` rx queues 0..n (a multi-queue device), each like the existing rx-0.
    pub fn rx_queues(&mut self, iface: &str, n: u32) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let q = queues_in(s, iface);
            let first = q.rx.first().cloned().expect("an rx queue in the fixture");
            q.rx = (0..n).map(|index| RxQueue { index, ..first.clone() }).collect();
        }
        self
    }

    fn rx_queue(&mut self, iface: &str, queue: u32, f: impl Fn(&mut RxQueue)) -> &mut Self {
        for s in [&mut self.earlier, &mut self.later] {
            let q = queues_in(s, iface);
            f(q.rx.iter_mut().find(|q| q.index == queue).expect("rx queue in the fixture"));
        }
        self
    }

    /// The conntrack table now (a gauge: the later sample).
    pub fn conntrack(&mut self, count: u64, max: u64) -> &mut Self {
        self.later.environment.conntrack = Avail::Value(Conntrack { count, max });
        self
    }

    /// An AF_PACKET socket in both samples: `proto` as /proc/net/packet prints it (0x0003 =
    /// ETH_P_ALL), bound to ifindex `iface` (0 = all), running.
    pub fn packet_socket(&mut self, proto: u16, iface: u32, user: u32, inode: u64) -> &mut Self {
        let text = format!(
            "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n\
             0000000000000000 3      3    {proto:04x}   {iface:<5} 1 0      {user:<6} {inode}\n"
        );
        let sock = packet::parse(&text).expect("a crafted /proc/net/packet line").remove(0);
        for s in [&mut self.earlier, &mut self.later] {
            match &mut s.packet {
                Avail::Value(v) => v.push(sock.clone()),
                other => *other = Avail::Value(vec![sock.clone()]),
            }
        }
        self
    }

    /// Marks a sysctl unreadable, as a global one is inside a child network namespace.
    pub fn sysctl_absent(&mut self, name: &str) -> &mut Self {
        self.later
            .sysctls
            .0
            .insert(name.to_string(), Avail::missing(name, crate::source::sysctl::GLOBAL_ABSENT));
        self
    }

    /// Spends one second (100 USER_HZ ticks) of `cpu`: `softirq` ticks in softirq, `idle` idle,
    /// the rest in user. Also moves the aggregate `cpu` line.
    pub fn cpu_second(&mut self, cpu: u32, softirq: u64, idle: u64) -> &mut Self {
        self.cpu_time(cpu, softirq, idle, 100u64.saturating_sub(softirq + idle))
    }

    /// Advances the NET_RX softirq count of `cpu` (/proc/softirqs).
    pub fn net_rx(&mut self, cpu: u32, by: u64) -> &mut Self {
        let Avail::Value(s) = &mut self.later.softirqs else { panic!("no /proc/softirqs") };
        let col = s.cpus.iter().position(|&c| c == cpu).expect("cpu in /proc/softirqs");
        let row = s.rows.get_mut("NET_RX").expect("a NET_RX row");
        row[col] += by;
        self
    }

    /// Ordinary traffic: `iface` receives `pps` packets, processed on `cpu`, delivered to local
    /// sockets by IPv4.
    pub fn traffic(&mut self, iface: &str, cpu: u32, pps: u32) -> &mut Self {
        self.iface(iface, "rx_packets", u64::from(pps)).softnet(cpu, "processed", pps);
        self.snmp("Ip", "InReceives", i64::from(pps)).snmp("Ip", "InDelivers", i64::from(pps))
    }
}

fn queues_in<'a>(
    s: &'a mut crate::sample::Sample,
    iface: &str,
) -> &'a mut crate::source::queues::Queues {
    let Avail::Value(ifs) = &mut s.interfaces else { panic!("no interfaces") };
    let i = ifs.iter_mut().find(|i| i.name == iface).expect("interface in the fixture");
    let Avail::Value(q) = std::sync::Arc::make_mut(&mut i.queues) else {
        panic!("no queues for {iface}")
    };
    q
}
