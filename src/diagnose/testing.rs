//! Crafted Deltas for rule tests: a real capture of a 2-CPU virtio VM (tests/fixtures/trees/
//! capture-6.18-vm) as the earlier sample, a copy one second later with the counters and settings a
//! test changes, and the report built over the pair.

use crate::avail::Avail;
use crate::report::Report;
use crate::root::Root;
use crate::sample::Sample;
use crate::source::Name;
use crate::source::sysctl::SysctlValue;
use crate::source::udp::UdpSocket;

use super::Finding;

pub struct Scene {
    pub earlier: Sample,
    pub later: Sample,
}

impl Scene {
    /// The captured VM, twice, one second apart: a quiet host (no counter moves).
    pub fn quiet() -> Scene {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/capture-6.18-vm");
        let mut earlier = Sample::take(&Root::at(dir));
        earlier.host.boottime_ns = Some(1_000_000_000_000);
        let mut later = earlier.clone();
        later.host.boottime_ns = Some(1_001_000_000_000);
        later.host.taken_at_ms = earlier.host.taken_at_ms.map(|t| t + 1000);
        Scene { earlier, later }
    }

    pub fn report(&self) -> Report {
        Report::over(&self.earlier, self.later.clone(), None)
    }

    pub fn findings(&self) -> Vec<Finding> {
        self.report().findings
    }

    /// The finding of `rule`, if exactly one fired; panics if it fired more than once.
    pub fn finding(&self, rule: &str) -> Option<Finding> {
        let mut f: Vec<Finding> = self.findings().into_iter().filter(|f| f.rule == rule).collect();
        assert!(f.len() <= 1, "{rule} fired {} times", f.len());
        f.pop()
    }

    /// Advances `section.field` of /proc/net/snmp or /proc/net/netstat (wherever the section is).
    pub fn snmp(&mut self, section: &str, field: &str, by: i64) -> &mut Self {
        let found = [&mut self.later.snmp, &mut self.later.netstat].into_iter().any(|part| {
            if let Avail::Value(s) = part
                && let Some(c) = s.sections.get_mut(section)
            {
                *c.entry(Name::from(field)).or_insert(0) += by;
                return true;
            }
            false
        });
        assert!(found, "no section {section} in the fixture");
        self
    }

    pub fn snmp6(&mut self, name: &str, by: i64) -> &mut Self {
        if let Avail::Value(c) = &mut self.later.snmp6 {
            *c.entry(Name::from(name)).or_insert(0) += by;
        }
        self
    }

    /// Advances a softnet_stat column of one CPU: `processed`, `dropped`, `time_squeeze`,
    /// `received_rps` or `flow_limit_count`.
    pub fn softnet(&mut self, cpu: u32, field: &str, by: u32) -> &mut Self {
        let Avail::Value(s) = &mut self.later.softnet else { panic!("no softnet") };
        let r = s.rows.iter_mut().find(|r| r.cpu == cpu).expect("cpu in the fixture");
        let opt = |o: &mut Option<u32>| *o = Some(o.unwrap_or(0).wrapping_add(by));
        match field {
            "processed" => r.processed = r.processed.wrapping_add(by),
            "dropped" => r.dropped = r.dropped.wrapping_add(by),
            "time_squeeze" => r.time_squeeze = r.time_squeeze.wrapping_add(by),
            "received_rps" => opt(&mut r.received_rps),
            "flow_limit_count" => opt(&mut r.flow_limit_count),
            _ => panic!("no softnet field {field}"),
        }
        self
    }

    /// Advances a netdev counter of an interface (rtnetlink stats64 and sysfs statistics).
    pub fn iface(&mut self, name: &str, key: &str, by: u64) -> &mut Self {
        let i = self.iface_mut(name);
        for m in [&mut i.stats64, &mut i.sysfs.statistics] {
            if let Avail::Value(m) = m {
                *m.entry(key.into()).or_insert(0) += by;
            }
        }
        self
    }

    /// Advances a driver (`ethtool -S`) counter in both samples' key sets, so the driver's names
    /// stay the same (a changed set reads as a driver reset).
    pub fn ethtool(&mut self, name: &str, key: &str, by: u64) -> &mut Self {
        for (s, add) in [(&mut self.earlier, 0), (&mut self.later, by)] {
            let i = iface_in(s, name);
            if let Avail::Value(m) = &mut i.ethtool.stats {
                *m.entry(key.into()).or_insert(0) += add;
            } else {
                i.ethtool.stats = Avail::Value([(key.into(), add)].into_iter().collect());
            }
        }
        self
    }

    pub fn sysctl(&mut self, name: &str, v: SysctlValue) -> &mut Self {
        self.later.sysctls.0.insert(name.to_string(), Avail::Value(v));
        self
    }

    /// A UDP socket on 127.0.0.1:`port` in both samples, whose drops grow by `drops`.
    pub fn udp_socket(&mut self, port: u16, inode: u64, drops: u64) -> &mut Self {
        let line = format!(
            "  1: 0100007F:{port:04X} 00000000:0000 07 00000000:00000F00 00:00000000 00000000     \
             0        0 {inode} 2 0000000000000000 0"
        );
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   \
                      uid  timeout inode ref pointer drops";
        let text = format!("{header}\n{line}\n");
        let sock = crate::source::udp::parse(&text, crate::source::udp::Family::Inet)
            .expect("a crafted /proc/net/udp line")
            .remove(0);
        let mut later_sock: UdpSocket = sock;
        later_sock.drops = Some(drops);
        for (s, x) in [(&mut self.earlier, sock), (&mut self.later, later_sock)] {
            match &mut std::sync::Arc::make_mut(&mut s.udp).udp {
                Avail::Value(v) => v.make_mut().push(x),
                other => *other = Avail::Value(vec![x].into()),
            }
        }
        self
    }

    pub fn iface_mut(&mut self, name: &str) -> &mut crate::sample::Interface {
        iface_in(&mut self.later, name)
    }
}

fn iface_in<'a>(s: &'a mut Sample, name: &str) -> &'a mut crate::sample::Interface {
    let Avail::Value(ifs) = &mut s.interfaces else { panic!("no interfaces") };
    ifs.iter_mut().find(|i| i.name == name).expect("interface in the fixture")
}

#[test]
fn the_captured_vm_is_quiet() {
    let r = Scene::quiet().report();
    assert_eq!(r.findings, vec![], "a host where nothing moved has no findings");
    assert_eq!(r.path.total_dropped.count, 0);
    assert_eq!(r.path.top_stage, None);
}
