//! The receive-path sysctls under /proc/sys (KERNEL.md §3.3, §4, §6, §7, §8).
//!
//! Scope matters more than it looks: a *global* sysctl is registered only in the initial network
//! namespace, so inside a container's network namespace its file is simply absent (rmem_default and
//! rmem_max are the exception: shown there read-only). rxpath then says "global, read it from the
//! host" instead of pretending the knob does not exist.

use super::{ParseError, cpuset};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// How a sysctl's text is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// One decimal integer (`300`).
    Int,
    /// Whitespace-separated integers; the kernel separates them with tabs (`575802\t767736\t1151604`).
    Ints,
    /// A hex CPU mask in the `%*pb` format (`0`, `00000000,00000003`).
    CpuMask,
    /// Anything else, kept as trimmed text.
    Text,
}

/// Which network namespaces see a sysctl (KERNEL.md, verified on 6.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Registered only in the initial network namespace: absent inside a child netns.
    Global,
    /// Global, but shown read-only (0444) in a child netns with init_net's value (rmem/wmem).
    GlobalReadOnlyInNetns,
    /// Each network namespace has its own value.
    PerNetns,
}

/// The receive-path sysctls rxpath reads: dotted name, how to parse it, and its scope.
pub const RX_SYSCTLS: &[(&str, Kind, Scope)] = &[
    // NAPI / net_rx_action (§3.3)
    ("net.core.netdev_budget", Kind::Int, Scope::Global),
    ("net.core.netdev_budget_usecs", Kind::Int, Scope::Global),
    ("net.core.dev_weight", Kind::Int, Scope::Global),
    ("net.core.dev_weight_rx_bias", Kind::Int, Scope::Global),
    ("net.core.gro_normal_batch", Kind::Int, Scope::Global),
    ("net.core.busy_poll", Kind::Int, Scope::Global),
    ("net.core.busy_read", Kind::Int, Scope::Global),
    // Backlog, RPS, RFS (§4)
    ("net.core.netdev_max_backlog", Kind::Int, Scope::Global),
    ("net.core.flow_limit_cpu_bitmap", Kind::CpuMask, Scope::Global),
    ("net.core.flow_limit_table_len", Kind::Int, Scope::Global),
    ("net.core.rps_sock_flow_entries", Kind::Int, Scope::Global),
    ("net.core.netdev_tstamp_prequeue", Kind::Int, Scope::Global),
    // Socket buffers (§8)
    ("net.core.rmem_default", Kind::Int, Scope::GlobalReadOnlyInNetns),
    ("net.core.rmem_max", Kind::Int, Scope::GlobalReadOnlyInNetns),
    // UDP (§6)
    ("net.ipv4.udp_mem", Kind::Ints, Scope::Global),
    ("net.ipv4.udp_rmem_min", Kind::Int, Scope::PerNetns),
    // TCP (§7)
    ("net.ipv4.tcp_rmem", Kind::Ints, Scope::PerNetns),
    ("net.core.somaxconn", Kind::Int, Scope::PerNetns),
];

/// Why a global sysctl's file is missing. From the file alone we cannot tell a child network
/// namespace from a kernel that lacks the knob, so both are named.
pub const GLOBAL_ABSENT: &str =
    "absent (global sysctl: not shown inside a child network namespace, or not in this kernel)";

/// One sysctl's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SysctlValue {
    Int(i64),
    Ints(Vec<i64>),
    /// The mask as the kernel printed it and the CPUs it names.
    CpuMask {
        mask: String,
        cpus: Vec<u32>,
    },
    Text(String),
}

impl std::fmt::Display for SysctlValue {
    /// As an operator would type it back to `sysctl -w`: numbers space-separated, a CPU mask as its
    /// CPU list (or `none`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysctlValue::Int(v) => write!(f, "{v}"),
            SysctlValue::Ints(v) => {
                let parts: Vec<String> = v.iter().map(i64::to_string).collect();
                write!(f, "{}", parts.join(" "))
            }
            SysctlValue::CpuMask { cpus, .. } if cpus.is_empty() => write!(f, "none"),
            SysctlValue::CpuMask { cpus, .. } => {
                write!(f, "cpus {}", crate::source::cpuset::format_list(cpus))
            }
            SysctlValue::Text(t) => write!(f, "{t}"),
        }
    }
}

/// The receive-path sysctls by dotted name, in `RX_SYSCTLS` order. JSON:
/// `{"net.core.netdev_budget": 300, "net.ipv4.udp_mem": [575802, 767736, 1151604], ...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sysctls(pub IndexMap<String, Avail<SysctlValue>>);

impl Sysctls {
    /// The value of an integer sysctl, when it was read.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.0.get(name)?.value()? {
            SysctlValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The values of a multi-integer sysctl (`udp_mem`, `tcp_rmem`), when it was read.
    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.0.get(name)?.value()? {
            SysctlValue::Ints(v) => Some(v),
            _ => None,
        }
    }

    /// The CPUs of a CPU-mask sysctl (`flow_limit_cpu_bitmap`), when it was read.
    pub fn cpus(&self, name: &str) -> Option<&[u32]> {
        match self.0.get(name)?.value()? {
            SysctlValue::CpuMask { cpus, .. } => Some(cpus),
            _ => None,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Avail<SysctlValue>> {
        self.0.get(name)
    }
}

/// The /proc/sys path of a dotted sysctl name (`net.core.somaxconn` → `/proc/sys/net/core/somaxconn`).
pub fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// Reads every sysctl in `RX_SYSCTLS`; each missing one is `Unavailable` on its own.
pub fn read(root: &Root) -> Sysctls {
    Sysctls(
        RX_SYSCTLS
            .iter()
            .map(|&(name, kind, scope)| (name.to_string(), read_sysctl(root, name, kind, scope)))
            .collect(),
    )
}

/// Reads one sysctl. Public so that readers of other sysctls (per-interface ones, for example)
/// explain absence the same way.
pub fn read_sysctl(root: &Root, name: &str, kind: Kind, scope: Scope) -> Avail<SysctlValue> {
    let path = sysctl_path(name);
    match root.read_with(&path, |text| parse_value(kind, text)) {
        Ok(r) => match r {
            Ok(v) => Avail::Value(v),
            Err(e) => Avail::missing(
                path,
                format!("cannot parse ({e}); please report this with the file attached"),
            ),
        },
        // Older kernels hid rmem_default/rmem_max in a child netns too, hence any non-per-netns scope.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && scope != Scope::PerNetns => {
            Avail::missing(path, GLOBAL_ABSENT)
        }
        Err(e) => Avail::Unavailable(Unavailable::from_io(path, &e)),
    }
}

/// Parses a sysctl file's text as `kind`.
pub fn parse_value(kind: Kind, text: &str) -> Result<SysctlValue, ParseError> {
    let t = text.trim();
    match kind {
        Kind::Int => {
            let mut words = t.split_whitespace();
            match (words.next(), words.next()) {
                (Some(w), None) => parse_int(w).map(SysctlValue::Int),
                _ => Err(ParseError::new(0, format!("expected one integer, got {:?}", excerpt(t)))),
            }
        }
        Kind::Ints => {
            let v = t.split_whitespace().map(parse_int).collect::<Result<Vec<_>, _>>()?;
            if v.is_empty() {
                return Err(ParseError::new(0, "expected integers, got nothing"));
            }
            Ok(SysctlValue::Ints(v))
        }
        Kind::CpuMask => {
            let cpus = cpuset::parse_mask(t)?;
            Ok(SysctlValue::CpuMask { mask: t.to_string(), cpus })
        }
        Kind::Text => Ok(SysctlValue::Text(t.to_string())),
    }
}

fn parse_int(word: &str) -> Result<i64, ParseError> {
    word.parse().map_err(|_| ParseError::new(0, format!("not an integer: {:?}", excerpt(word))))
}

/// The start of a value for an error message: corrupt input can be long.
fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(parse_value(Kind::Int, "300\n").unwrap(), SysctlValue::Int(300));
        assert_eq!(parse_value(Kind::Int, "-1\n").unwrap(), SysctlValue::Int(-1));
        assert_eq!(
            parse_value(Kind::Ints, "575802\t767736\t1151604\n").unwrap(),
            SysctlValue::Ints(vec![575802, 767736, 1151604])
        );
        assert_eq!(
            parse_value(Kind::CpuMask, "00000000,00000003\n").unwrap(),
            SysctlValue::CpuMask { mask: "00000000,00000003".into(), cpus: vec![0, 1] }
        );
        assert_eq!(
            parse_value(Kind::CpuMask, "0\n").unwrap(),
            SysctlValue::CpuMask { mask: "0".into(), cpus: vec![] }
        );
        assert_eq!(parse_value(Kind::Text, " x y\n").unwrap(), SysctlValue::Text("x y".into()));
    }

    #[test]
    fn rejects_what_is_not_its_kind() {
        assert!(parse_value(Kind::Int, "").is_err());
        assert!(parse_value(Kind::Int, "1 2").is_err());
        assert!(parse_value(Kind::Int, "99999999999999999999").is_err());
        assert!(parse_value(Kind::Ints, "\n").is_err());
        assert!(parse_value(Kind::Ints, "1\tx").is_err());
        assert!(parse_value(Kind::CpuMask, "0000000g").is_err());
    }

    #[test]
    fn serialises_as_plain_json() {
        let mut m = IndexMap::new();
        m.insert("net.core.netdev_budget".to_string(), Avail::Value(SysctlValue::Int(300)));
        m.insert(
            "net.ipv4.udp_mem".to_string(),
            Avail::Value(SysctlValue::Ints(vec![575802, 767736, 1151604])),
        );
        m.insert(
            "net.core.flow_limit_cpu_bitmap".to_string(),
            Avail::Value(SysctlValue::CpuMask { mask: "0".into(), cpus: vec![] }),
        );
        let s = Sysctls(m);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"net.core.netdev_budget":300,"net.ipv4.udp_mem":[575802,767736,1151604],"net.core.flow_limit_cpu_bitmap":{"mask":"0","cpus":[]}}"#
        );
        assert_eq!(serde_json::from_str::<Sysctls>(&json).unwrap(), s);
        assert_eq!(s.int("net.core.netdev_budget"), Some(300));
        assert_eq!(s.int("net.ipv4.udp_mem"), None);
        assert_eq!(s.ints("net.ipv4.udp_mem"), Some(&[575802, 767736, 1151604][..]));
        assert_eq!(s.cpus("net.core.flow_limit_cpu_bitmap"), Some(&[][..]));
    }

    #[test]
    fn names_map_to_proc_sys_paths() {
        assert_eq!(sysctl_path("net.core.somaxconn"), "/proc/sys/net/core/somaxconn");
        // Every listed name is unique: the map is keyed by it.
        let mut names: Vec<&str> = RX_SYSCTLS.iter().map(|s| s.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RX_SYSCTLS.len());
    }

    const KINDS: [Kind; 4] = [Kind::Int, Kind::Ints, Kind::CpuMask, Kind::Text];

    proptest! {
        #[test]
        fn parse_value_never_panics(s in "\\PC*", k in 0usize..4) {
            let _ = parse_value(KINDS[k], &s);
        }

        #[test]
        fn parse_value_survives_mutated_real_text(
            k in 0usize..4,
            base in prop::sample::select(vec![
                "300\n", "575802\t767736\t1151604\n", "00000000,00000003\n", "4096\t131072\t33554432\n",
            ]),
            cut in 0usize..32,
            pos in 0usize..32,
            byte in any::<u8>(),
        ) {
            let mut b = base.as_bytes().to_vec();
            b.truncate(cut.min(b.len()));
            b.insert(pos.min(b.len()), byte);
            let _ = parse_value(KINDS[k], &String::from_utf8_lossy(&b));
        }
    }
}
