//! Which CPUs exist and which NUMA node each belongs to: /sys/devices/system/cpu/{online,possible,
//! present} and /sys/devices/system/node/node*/cpulist.
//!
//! Per-CPU files disagree on what "all CPUs" means (/proc/interrupts and softnet_stat print online
//! CPUs, /proc/softirqs possible ones), and an IRQ or RPS mask pointing at another node costs cross-node
//! traffic, so the readers that interpret them need this map.

use super::{cpuset, read_parsed};
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use serde::{Deserialize, Serialize};

const CPU_DIR: &str = "/sys/devices/system/cpu";
const NODE_DIR: &str = "/sys/devices/system/node";

/// Why there is no node list: without CONFIG_NUMA the kernel has no node directories, and all CPUs
/// share the one memory there is. No node is invented for it.
pub const NO_NUMA: &str = "no NUMA node directories: the kernel has no NUMA support (or hides it), \
     so all CPUs form one implicit node";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cpus {
    pub online: Avail<Vec<u32>>,
    pub possible: Avail<Vec<u32>>,
    pub present: Avail<Vec<u32>>,
    /// Nodes in ascending order; a memory-only node has no CPUs.
    pub nodes: Avail<Vec<NumaNode>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumaNode {
    pub node: u32,
    pub cpus: Vec<u32>,
}

impl Cpus {
    /// The NUMA node of a CPU; `None` when the nodes are unknown (no NUMA) or no node lists it.
    pub fn node_of(&self, cpu: u32) -> Option<u32> {
        self.nodes.value()?.iter().find(|n| n.cpus.contains(&cpu)).map(|n| n.node)
    }
}

/// Which of some CPU lists (NUMA nodes, the groups of a table) each CPU is in first, by CPU id:
/// for a caller that asks it of hundreds of CPUs, where `Cpus::node_of` searches every list.
pub struct GroupOf(Vec<Option<usize>>);

impl GroupOf {
    pub fn new<'a>(groups: impl IntoIterator<Item = &'a [u32]>) -> GroupOf {
        let mut by_cpu: Vec<Option<usize>> = Vec::new();
        for (g, cpus) in groups.into_iter().enumerate() {
            for &c in cpus {
                let c = c as usize;
                if by_cpu.len() <= c {
                    by_cpu.resize(c + 1, None);
                }
                by_cpu[c].get_or_insert(g);
            }
        }
        GroupOf(by_cpu)
    }

    /// The index of the first list that holds `cpu`.
    pub fn get(&self, cpu: u32) -> Option<usize> {
        self.0.get(cpu as usize).copied().flatten()
    }
}

pub fn read(root: &Root) -> Cpus {
    let list = |name: &str| read_parsed(root, &format!("{CPU_DIR}/{name}"), cpuset::parse_list);
    Cpus {
        online: list("online"),
        possible: list("possible"),
        present: list("present"),
        nodes: read_nodes(root),
    }
}

fn read_nodes(root: &Root) -> Avail<Vec<NumaNode>> {
    let names = match root.read_dir(NODE_DIR) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Avail::missing(NODE_DIR, NO_NUMA);
        }
        Err(e) => return Avail::Unavailable(Unavailable::from_io(NODE_DIR, &e)),
    };
    let mut ids: Vec<u32> = names.iter().filter_map(|n| node_number(n)).collect();
    if ids.is_empty() {
        return Avail::missing(NODE_DIR, NO_NUMA);
    }
    // read_dir sorts by name (node10 before node2); nodes are wanted by number.
    ids.sort_unstable();
    let mut nodes = Vec::with_capacity(ids.len());
    for node in ids {
        let path = format!("{NODE_DIR}/node{node}/cpulist");
        match read_parsed(root, &path, cpuset::parse_list) {
            Avail::Value(cpus) => nodes.push(NumaNode { node, cpus }),
            // A partial node map would put CPUs on no node and mislead locality checks.
            Avail::Unavailable(u) => return Avail::Unavailable(u),
        }
    }
    Avail::Value(nodes)
}

/// `node12` → 12; anything else in the directory (`online`, `has_cpu`, `power`) → None.
fn node_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("node")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_is_in_the_first_group_that_lists_it() {
        let (a, b) = (vec![0, 1, 5], vec![5, 2, 300]);
        let g = GroupOf::new([a.as_slice(), b.as_slice()]);
        let got: Vec<Option<usize>> = [0, 1, 2, 3, 5, 300, 301].map(|c| g.get(c)).to_vec();
        assert_eq!(got, [Some(0), Some(0), Some(1), None, Some(0), Some(1), None]);
        assert_eq!(GroupOf::new(std::iter::empty::<&[u32]>()).get(0), None);
    }

    #[test]
    fn node_names() {
        assert_eq!(node_number("node0"), Some(0));
        assert_eq!(node_number("node12"), Some(12));
        assert_eq!(node_number("node"), None);
        assert_eq!(node_number("node+1"), None);
        assert_eq!(node_number("has_cpu"), None);
        assert_eq!(node_number("node99999999999"), None);
    }

    #[test]
    fn node_of_without_numa_is_none() {
        let c = Cpus {
            online: Avail::Value(vec![0, 1]),
            possible: Avail::Value(vec![0, 1]),
            present: Avail::Value(vec![0, 1]),
            nodes: Avail::missing(NODE_DIR, NO_NUMA),
        };
        assert_eq!(c.node_of(0), None);
    }
}
