//! Network interfaces in sysfs: `/sys/class/net/<if>/` attributes, `statistics/`, and the device
//! behind the interface (driver, the bus device that owns its IRQs, its NUMA node and local CPUs).
//!
//! Three tree shapes must read alike: the live kernel (every `/sys/class/net/<if>` is a symlink into
//! `/sys/devices`), fixture trees where `/sys/class/net/<if>` is a plain directory and `device` a
//! relative, possibly dangling or looping symlink, and the linux-6.18-virtio capture layout, where
//! symlinks were stored as text (`.link_target`, `.device_target`, `device/.driver`) and the PCI
//! parent of a virtio device was copied into `device_parent/`.

use crate::avail::{Avail, Unavailable};
use crate::root::{self, Root};
use crate::source::CounterMap;
use crate::source::{ParseError, cpuset, parse_num, parsed, read_attr, read_attr_raw};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

pub const CLASS_NET: &str = "/sys/class/net";

/// More hops than any sysfs path needs; stops a looping link set.
const MAX_LINK_HOPS: usize = 40;

/// One interface as `/sys/class/net/<if>/` shows it. JSON keys are the sysfs file names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SysfsIface {
    pub name: String,
    pub ifindex: Avail<u32>,
    pub iflink: Avail<u32>,
    /// ARPHRD_* (1 = Ethernet, 772 = loopback).
    #[serde(rename = "type")]
    pub type_: Avail<u16>,
    /// `dev->flags` as the kernel prints it (`0x1303`).
    pub flags: Avail<u32>,
    /// IFF_ names of `flags`, plus RUNNING, LOWER_UP and DORMANT derived the way `dev_get_flags()`
    /// does (they are not stored in `dev->flags`, so sysfs never shows them).
    pub flag_names: Vec<String>,
    pub operstate: Avail<String>,
    pub carrier: Avail<u8>,
    /// Mb/s; -1 = unknown (virtio, bond). Unavailable when the link is down or the device is not up.
    pub speed: Avail<i64>,
    pub duplex: Avail<String>,
    pub mtu: Avail<u32>,
    pub tx_queue_len: Avail<u32>,
    pub address: Avail<String>,
    /// None for a virtual device without a `device` link (lo, veth, ifb, bond).
    pub device: Option<DeviceInfo>,
    /// Every file in `statistics/`, by file name (rx_packets, rx_dropped, rx_missed_errors, ...).
    pub statistics: Avail<CounterMap>,
    pub gro_flush_timeout: Avail<u64>,
    pub napi_defer_hard_irqs: Avail<u64>,
    pub threaded: Avail<u8>,
}

/// The device behind an interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Resolved kernel path of `device` (`/sys/devices/pci0000:00/0000:00:03.0/virtio2`).
    pub path: String,
    /// Basename of the `driver` link (virtio_net, igb, ice).
    pub driver: Option<String>,
    /// Kernel path of the device that owns the IRQs and the NUMA placement: the PCI device itself,
    /// or for virtio the parent of `virtioN` (the virtio-pci function).
    pub bus_device: String,
    /// -1 = no NUMA information.
    pub numa_node: Avail<i32>,
    /// `local_cpulist`, else the `local_cpus` mask.
    pub local_cpus: Avail<Vec<u32>>,
}

/// Where a device lives in the kernel's tree, and where its attributes can be read under this root
/// (the same path except in the text-link capture layout).
#[derive(Clone, Debug, PartialEq)]
struct Located {
    kernel: String,
    read_at: String,
}

/// Interface names: entries of `/sys/class/net` that are directories or symlinks. Regular files
/// (`bonding_masters`) are skipped.
pub fn list(root: &Root) -> Avail<Vec<String>> {
    list_dirs(root).map(|l| l.into_iter().map(|(name, _)| name).collect())
}

/// As `list`, each name with the directory to read the interface from (what `net_dir` gives),
/// from the one look at its entry that listing it takes.
pub fn list_dirs(root: &Root) -> Avail<Vec<(String, String)>> {
    // On the running kernel every interface is a symlink into /sys/devices (the regular files
    // beside them, such as bonding_masters, are not interfaces), which the listing tells by itself:
    // no readlink each, every sample of a Sampler.
    if let Some(listed) = root.read_dir_symlinks(CLASS_NET) {
        return match listed {
            Ok(names) => Avail::Value(
                names
                    .into_iter()
                    .filter(|n| valid_name(n))
                    .map(|n| {
                        let dir = format!("{CLASS_NET}/{n}");
                        (n, dir)
                    })
                    .collect(),
            ),
            Err(e) => Avail::Unavailable(Unavailable::from_io(CLASS_NET, &e)),
        };
    }
    let names = match root.read_dir(CLASS_NET) {
        Ok(n) => n,
        Err(e) => return Avail::Unavailable(Unavailable::from_io(CLASS_NET, &e)),
    };
    let ifaces = names
        .into_iter()
        .filter(|n| valid_name(n))
        .filter_map(|n| {
            let class = format!("{CLASS_NET}/{n}");
            let dir = entry_dir(root, class)?;
            Some((n, dir))
        })
        .collect();
    Avail::Value(ifaces)
}

/// The directory of a `/sys/class/net` entry: the entry itself when it is a symlink (the live
/// tree) or a directory, the resolved interface directory when it is a copy's flattened link
/// file; `None` for anything else.
fn entry_dir(root: &Root, class: String) -> Option<String> {
    if root.read_link(&class).is_ok() || root.read_dir(&class).is_ok() {
        return Some(class);
    }
    link_target(root, &class)?;
    Some(canonical(root, &class).unwrap_or(class))
}

/// Reads one interface. Nothing missing is fatal: each attribute says why it is missing.
pub fn read(root: &Root, name: &str) -> SysfsIface {
    read_but_statistics(root, name, None)
}

/// Reads one interface; with `statistics` given, `statistics/` is not read and that part says why
/// (a live sample that has the same counters from rtnetlink IFLA_STATS64 in one call for every
/// interface skips ~25 files per interface).
pub fn read_but_statistics(root: &Root, name: &str, statistics: Option<Unavailable>) -> SysfsIface {
    let dir = net_dir(root, name);
    let a = |attr: &str| format!("{dir}/{attr}");
    let LinkState { flags, flag_names, operstate, carrier } = link_state(root, &dir);
    SysfsIface {
        name: name.to_string(),
        ifindex: read_attr(root, &a("ifindex"), parse_num),
        iflink: read_attr(root, &a("iflink"), parse_num),
        type_: read_attr(root, &a("type"), parse_num),
        flags,
        flag_names,
        operstate,
        carrier,
        speed: read_link_attr(root, &a("speed"), parse_speed),
        duplex: read_link_attr(root, &a("duplex"), |t| Ok(t.to_string())),
        mtu: read_attr(root, &a("mtu"), parse_num),
        tx_queue_len: read_attr(root, &a("tx_queue_len"), parse_num),
        address: read_attr(root, &a("address"), |t| Ok(t.to_string())),
        device: device_info(root, name, &dir),
        statistics: match statistics {
            Some(u) => Avail::Unavailable(u),
            None => read_statistics(root, &a("statistics")),
        },
        gro_flush_timeout: read_attr(root, &a("gro_flush_timeout"), parse_num),
        napi_defer_hard_irqs: read_attr(root, &a("napi_defer_hard_irqs"), parse_num),
        threaded: read_attr(root, &a("threaded"), parse_num),
    }
}

/// Re-reads, in the interface's directory `dir` (`net_dir`), what a `Sampler` reads every sample
/// while the rest of the interface's attributes are settings it re-reads less often: whether the
/// link is up (flags, operstate, carrier, dormant), as a link going down is news, and the counters
/// of `statistics/` already in `i` (a tree), by their names: the directory holds the same files for
/// the interface's whole life, so it is not listed again. A counter that no longer reads is left
/// out, as in a first read.
pub fn refresh(root: &Root, dir: &str, i: &mut SysfsIface) {
    let s = link_state(root, dir);
    (i.flags, i.flag_names, i.operstate, i.carrier) =
        (s.flags, s.flag_names, s.operstate, s.carrier);
    let Avail::Value(stats) = &mut i.statistics else { return };
    // One path buffer for every counter, and the map is filtered only when one no longer reads.
    let mut path = format!("{dir}/statistics/");
    let base = path.len();
    let mut read: Vec<bool> = Vec::with_capacity(stats.len());
    for (n, v) in stats.iter_mut() {
        path.truncate(base);
        path.push_str(n);
        let now = root.read_with(&path, parse_num::<u64>);
        if let Ok(Ok(now)) = now {
            *v = now;
        }
        read.push(matches!(now, Ok(Ok(_))));
    }
    if read.contains(&false) {
        let mut read = read.into_iter();
        stats.retain(|_, _| read.next().unwrap_or(false));
    }
}

struct LinkState {
    flags: Avail<u32>,
    flag_names: Vec<String>,
    operstate: Avail<String>,
    carrier: Avail<u8>,
}

fn link_state(root: &Root, dir: &str) -> LinkState {
    let a = |attr: &str| format!("{dir}/{attr}");
    let flags = read_attr(root, &a("flags"), parse_flags);
    let operstate = read_attr(root, &a("operstate"), |t| Ok(t.to_string()));
    // The running kernel refuses carrier and dormant (EINVAL) while the device is not up
    // (`netif_running`), so they are not asked then; a capture records the refusal instead.
    let down = root.is_live()
        && !root.is_recording()
        && flags.value().is_some_and(|f| f & libc::IFF_UP as u32 == 0);
    let link_attr = |attr: &str| match down {
        true => Avail::missing(a(attr), LINK_DOWN),
        false => read_link_attr(root, &a(attr), parse_num::<u8>),
    };
    let (carrier, dormant) = (link_attr("carrier"), link_attr("dormant"));
    let flag_names = match flags.value() {
        Some(&f) => flag_names(
            f,
            operstate.value().map(String::as_str),
            carrier.value().copied(),
            dormant.value().copied(),
        ),
        None => Vec::new(),
    };
    LinkState { flags, flag_names, operstate, carrier }
}

/// The ifindex of the interface whose directory is `dir` (`net_dir`): a new one under the same
/// name is another device.
pub fn read_ifindex(root: &Root, dir: &str) -> Avail<u32> {
    read_attr(root, &format!("{dir}/ifindex"), parse_num)
}

/// The directory under this root where the interface's bus device (see `DeviceInfo::bus_device`)
/// can be read: the kernel path itself, or `device_parent/` / `device/` in the text-link layout.
/// None for a virtual device.
pub fn bus_device_dir(root: &Root, name: &str) -> Option<String> {
    let dir = net_dir(root, name);
    locate_device(root, name, &dir).map(|(_, bus)| bus.read_at)
}

/// The directory to read an interface's attributes from: `/sys/class/net/<name>` (the names
/// operators know), or the resolved interface directory when the class entry is a copy's
/// flattened link file.
pub fn net_dir(root: &Root, name: &str) -> String {
    if !valid_name(name) {
        // Keeps a hostile name from walking out of /sys/class/net; every read then fails cleanly.
        return format!("{CLASS_NET}/invalid-interface-name");
    }
    let class = format!("{CLASS_NET}/{name}");
    // No such entry: the path itself, whose every read then fails as the interface is gone.
    entry_dir(root, class.clone()).unwrap_or(class)
}

/// The target of a sysfs symlink as the kernel wrote it. Falls back to a regular file whose whole
/// content is a relative or absolute path, but only at names where sysfs always has a link
/// (`device`, `driver`, `subsystem`, entries of /sys/class/net): copies made without symlink
/// support store links that way.
pub fn link_target(root: &Root, kernel_path: &str) -> Option<PathBuf> {
    match root.read_link(kernel_path) {
        Ok(t) => Some(t),
        // Only copies flatten links; on the live tree a failed readlink is the answer.
        Err(e)
            if !root.is_live()
                && e.raw_os_error() == Some(libc::EINVAL)
                && is_link_name(kernel_path) =>
        {
            let text = root.read(kernel_path).ok()?;
            parse_link_text(&text).map(PathBuf::from)
        }
        Err(_) => None,
    }
}

/// Resolves every symlink in `kernel_path` through the root, by text (a fixture or capture has the
/// same relative links as the live tree). Components that do not exist are kept as they are, so a
/// dangling link still gives the path it names. Fails only on a link loop.
pub fn canonical(root: &Root, kernel_path: &str) -> io::Result<String> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: Vec<String> =
        kernel_path.split('/').filter(|c| !c.is_empty()).rev().map(String::from).collect();
    let mut hops = 0usize;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let candidate = format!("/{}", join_path(&done, &c));
        match link_target(root, &candidate) {
            Some(target) => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done.clear();
                }
                todo.extend(t.split('/').filter(|c| !c.is_empty()).rev().map(String::from));
            }
            None => done.push(c),
        }
    }
    Ok(format!("/{}", done.join("/")))
}

fn join_path(done: &[String], last: &str) -> String {
    if done.is_empty() { last.to_string() } else { format!("{}/{last}", done.join("/")) }
}

fn is_link_name(kernel_path: &str) -> bool {
    let p = Path::new(kernel_path);
    let base = p.file_name().and_then(|b| b.to_str()).unwrap_or("");
    let parent = p.parent().and_then(|b| b.to_str()).unwrap_or("");
    matches!(base, "device" | "driver" | "subsystem") || parent == CLASS_NET
}

/// A stored link target: one line that is a path (`../../devices/...` or `/sys/...`).
pub fn parse_link_text(text: &str) -> Option<&str> {
    let t = text.trim();
    let pathlike = t.starts_with("../") || t.starts_with("./") || t.starts_with('/');
    if pathlike && !t.chars().any(|c| c.is_whitespace() || c.is_control()) { Some(t) } else { None }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Finds the device behind an interface and the bus device that owns its IRQs.
fn locate_device(root: &Root, name: &str, dir: &str) -> Option<(Located, Located)> {
    let link = format!("{dir}/device");
    let dev = if link_target(root, &link).is_some() {
        let kernel = canonical(root, &link).ok()?;
        Located { read_at: kernel.clone(), kernel }
    } else if root.read_dir(&link).is_ok() {
        // Text-link layout: `device/` is a copy; its kernel path is in `.device_target`, relative
        // to the real interface directory named by `.link_target`.
        let class = format!("{CLASS_NET}/{name}");
        let real_dir = root
            .read(&format!("{class}/.link_target"))
            .ok()
            .and_then(|t| parse_link_text(&t).map(|t| root::resolve_link(&class, Path::new(t))))
            .unwrap_or_else(|| dir.to_string());
        let kernel = root
            .read(&format!("{class}/.device_target"))
            .ok()
            .and_then(|t| {
                parse_link_text(&t)
                    .map(|t| root::resolve_link(&format!("{real_dir}/device"), Path::new(t)))
            })
            .unwrap_or_else(|| link.clone());
        Located { kernel, read_at: link }
    } else {
        return None;
    };
    let bus = if is_virtio_device(&dev.kernel) {
        // virtio_net sits on a virtio bus device; MSI-X vectors, numa_node and local_cpulist
        // belong to the PCI function above it.
        let kernel = parent_path(&dev.kernel);
        let stand_in = format!("{dir}/device_parent");
        let read_at =
            if !root.exists(&kernel) && root.exists(&stand_in) { stand_in } else { kernel.clone() };
        Located { kernel, read_at }
    } else {
        dev.clone()
    };
    Some((dev, bus))
}

fn is_virtio_device(kernel_path: &str) -> bool {
    let base = kernel_path.rsplit('/').next().unwrap_or("");
    base.strip_prefix("virtio")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Parent of a resolved path (no symlinks left in it, so `..` by text is right here).
fn parent_path(p: &str) -> String {
    match p.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => p[..i].to_string(),
    }
}

fn device_info(root: &Root, name: &str, dir: &str) -> Option<DeviceInfo> {
    let (dev, bus) = locate_device(root, name, dir)?;
    let numa_node = read_attr(root, &format!("{}/numa_node", bus.read_at), parse_num::<i32>);
    let cpulist = format!("{}/local_cpulist", bus.read_at);
    let local_cpus = match root.read_with(&cpulist, cpuset::parse_list) {
        Ok(r) => parsed(&cpulist, r),
        Err(_) => {
            let mask = format!("{}/local_cpus", bus.read_at);
            read_attr(root, &mask, cpuset::parse_mask)
        }
    };
    Some(DeviceInfo {
        driver: driver_name(root, &dev.read_at),
        path: dev.kernel,
        bus_device: bus.kernel,
        numa_node,
        local_cpus,
    })
}

/// The bound driver: the `driver` link's basename; in the text-link layout `device/.driver`; else
/// `DRIVER=` from the device's uevent (the kernel writes it while a driver is bound).
fn driver_name(root: &Root, device_dir: &str) -> Option<String> {
    if let Some(t) = link_target(root, &format!("{device_dir}/driver")) {
        let s = t.to_string_lossy();
        let base = s.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        if !base.is_empty() {
            return Some(base.to_string());
        }
    }
    if let Ok(t) = root.read_trimmed(&format!("{device_dir}/.driver"))
        && !t.is_empty()
        && !t.contains(char::is_whitespace)
    {
        return Some(t);
    }
    let uevent = root.read(&format!("{device_dir}/uevent")).ok()?;
    uevent_driver(&uevent)
}

/// `DRIVER=` from a uevent file.
pub fn uevent_driver(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("DRIVER="))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(String::from)
}

fn read_statistics(root: &Root, dir: &str) -> Avail<CounterMap> {
    let names = match root.read_dir(dir) {
        Ok(n) => n,
        Err(e) => return Avail::Unavailable(Unavailable::from_io(dir, &e)),
    };
    let mut stats = CounterMap::default();
    for n in names {
        // A counter that fails to read is left out rather than failing the set.
        if let Ok(Ok(v)) = root.read_with(&format!("{dir}/{n}"), parse_num::<u64>) {
            stats.insert(n.into(), v);
        }
    }
    Avail::Value(stats)
}

/// Why a link attribute has no value.
const LINK_DOWN: &str = "no value while the interface is down or its link has no settings \
                         (the kernel answers EINVAL or nothing)";

/// Attributes that only mean something while the interface is up with a link (speed, duplex,
/// carrier, dormant): the kernel answers EINVAL when the device is not running, and some captures
/// hold an empty file instead.
fn read_link_attr<T>(
    root: &Root,
    path: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Avail<T> {
    match read_attr_raw(root, path, parse) {
        Ok(None) => Avail::missing(path, LINK_DOWN),
        Ok(Some(r)) => parsed(path, r),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Avail::missing(path, LINK_DOWN),
        Err(e) => Avail::Unavailable(Unavailable::from_io(path, &e)),
    }
}

/// `flags`: hex with `0x` (`0x1303`).
pub fn parse_flags(text: &str) -> Result<u32, ParseError> {
    let t = text.trim();
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    u32::from_str_radix(hex, 16).map_err(|_| ParseError::new(0, format!("bad flags {t:?}")))
}

/// `speed`: signed Mb/s; -1 = SPEED_UNKNOWN. Older kernels printed SPEED_UNKNOWN unsigned
/// (4294967295), which is the same value.
pub fn parse_speed(text: &str) -> Result<i64, ParseError> {
    let v: i64 = parse_num(text)?;
    Ok(if v == i64::from(u32::MAX) { -1 } else { v })
}

/// IFF_* bits (include/uapi/linux/if.h), in bit order.
const IFF_NAMES: [(u32, &str); 19] = [
    (1 << 0, "UP"),
    (1 << 1, "BROADCAST"),
    (1 << 2, "DEBUG"),
    (1 << 3, "LOOPBACK"),
    (1 << 4, "POINTOPOINT"),
    (1 << 5, "NOTRAILERS"),
    (1 << 6, "RUNNING"),
    (1 << 7, "NOARP"),
    (1 << 8, "PROMISC"),
    (1 << 9, "ALLMULTI"),
    (1 << 10, "MASTER"),
    (1 << 11, "SLAVE"),
    (1 << 12, "MULTICAST"),
    (1 << 13, "PORTSEL"),
    (1 << 14, "AUTOMEDIA"),
    (1 << 15, "DYNAMIC"),
    (1 << 16, "LOWER_UP"),
    (1 << 17, "DORMANT"),
    (1 << 18, "ECHO"),
];

/// Names of the set IFF_ bits. RUNNING, LOWER_UP and DORMANT are added as `dev_get_flags()` derives
/// them, when the device is UP: RUNNING if operstate is up or unknown, LOWER_UP if carrier is 1,
/// DORMANT if `dormant` is 1. Unknown bits are named `0x...`.
pub fn flag_names(
    flags: u32,
    operstate: Option<&str>,
    carrier: Option<u8>,
    dormant: Option<u8>,
) -> Vec<String> {
    let mut f = flags;
    if f & 1 != 0 {
        if matches!(operstate, Some("up") | Some("unknown")) {
            f |= 1 << 6;
        }
        if carrier == Some(1) {
            f |= 1 << 16;
        }
        if dormant == Some(1) {
            f |= 1 << 17;
        }
    }
    let mut names: Vec<String> =
        IFF_NAMES.iter().filter(|(bit, _)| f & bit != 0).map(|(_, n)| n.to_string()).collect();
    let known = IFF_NAMES.iter().fold(0u32, |acc, (bit, _)| acc | bit);
    let unknown = f & !known;
    if unknown != 0 {
        names.push(format!("{unknown:#x}"));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn flags_and_names() {
        assert_eq!(parse_flags("0x1303\n").unwrap(), 0x1303);
        assert!(parse_flags("0xzz").is_err());
        assert_eq!(
            flag_names(0x1303, Some("up"), Some(1), Some(0)),
            ["UP", "BROADCAST", "RUNNING", "PROMISC", "ALLMULTI", "MULTICAST", "LOWER_UP"]
        );
        // Not UP: nothing derived even with carrier.
        assert_eq!(flag_names(0x1002, Some("down"), Some(1), None), ["BROADCAST", "MULTICAST"]);
        assert_eq!(flag_names(0x9, Some("unknown"), None, None), ["UP", "LOOPBACK", "RUNNING"]);
        assert_eq!(flag_names(1 << 30, None, None, None), ["0x40000000"]);
    }

    #[test]
    fn the_running_kernel_lists_interfaces_by_entry_type_as_by_reading_each_link() {
        // A recording root reads each entry's link, as a capture needs; the running kernel's
        // listing tells the same from the entries' types.
        let by_type = list_dirs(&Root::live());
        let by_link = list_dirs(&Root::live().recording());
        assert_eq!(by_type, by_link);
        // A sampler's root lists through the directory it keeps open, from the start each time.
        let kept = Root::live().keep_open();
        assert_eq!((list_dirs(&kept), list_dirs(&kept)), (by_link.clone(), by_link.clone()));
        assert!(by_type.value().is_some_and(|l| l.iter().any(|(n, _)| n == "lo")), "{by_type:?}");
    }

    #[test]
    fn a_down_interface_is_not_asked_for_carrier_but_reads_as_if_it_were() {
        // A recording root reads every attribute (a capture keeps the kernel's refusal): both
        // ways give the same link state, for interfaces up and down.
        let names = list(&Root::live()).into_value().expect("/sys/class/net");
        let (live, reading) = (Root::live(), Root::live().recording());
        let mut down = 0;
        for name in &names {
            let dir = format!("{CLASS_NET}/{name}");
            let (a, b) = (link_state(&live, &dir), link_state(&reading, &dir));
            assert_eq!((&a.flags, &a.operstate, &a.carrier), (&b.flags, &b.operstate, &b.carrier));
            assert_eq!(a.flag_names, b.flag_names, "{name}");
            down += usize::from(a.flags.value().is_some_and(|f| f & 1 == 0));
        }
        if down == 0 {
            eprintln!("SKIP (in part): no interface here is down");
        }
    }

    #[test]
    fn speed_unknown_forms() {
        assert_eq!(parse_speed("-1").unwrap(), -1);
        assert_eq!(parse_speed("4294967295").unwrap(), -1);
        assert_eq!(parse_speed("25000\n").unwrap(), 25000);
        assert!(parse_speed("").is_err());
    }

    #[test]
    fn link_text_and_uevent() {
        assert_eq!(parse_link_text("../../../virtio2\n"), Some("../../../virtio2"));
        assert_eq!(parse_link_text("bond0 dmz int"), None);
        assert_eq!(parse_link_text("0x1521"), None);
        assert_eq!(uevent_driver("DRIVER=e1000e\nPCI_CLASS=20000\n").as_deref(), Some("e1000e"));
        assert_eq!(uevent_driver("INTERFACE=eth0\n"), None);
    }

    #[test]
    fn canonical_follows_links_and_stops_loops() {
        let d = tempfile::tempdir().unwrap();
        let b = d.path();
        fs::create_dir_all(b.join("sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0")).unwrap();
        fs::create_dir_all(b.join("sys/class/net")).unwrap();
        symlink(
            "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0",
            b.join("sys/class/net/eth0"),
        )
        .unwrap();
        symlink(
            "../../../virtio2",
            b.join("sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/device"),
        )
        .unwrap();
        symlink("loop2", b.join("sys/loop1")).unwrap();
        symlink("loop1", b.join("sys/loop2")).unwrap();
        let root = Root::at(b);
        assert_eq!(
            canonical(&root, "/sys/class/net/eth0/device").unwrap(),
            "/sys/devices/pci0000:00/0000:00:03.0/virtio2"
        );
        assert_eq!(
            canonical(&root, "/sys/class/net/eth0/../x").unwrap(),
            "/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/x"
        );
        assert_eq!(canonical(&root, "/sys/loop1").unwrap_err().raw_os_error(), Some(libc::ELOOP));
        assert_eq!(net_dir(&root, "../../etc"), "/sys/class/net/invalid-interface-name");
    }

    #[test]
    fn flattened_link_files_are_followed_only_where_sysfs_has_links() {
        let d = tempfile::tempdir().unwrap();
        let b = d.path();
        let pci = b.join("sys/devices/pci0000:00/0000:00:1f.6");
        fs::create_dir_all(b.join("sys/class/net/eth0")).unwrap();
        fs::create_dir_all(&pci).unwrap();
        fs::write(b.join("sys/class/net/eth0/device"), "../../../devices/pci0000:00/0000:00:1f.6/")
            .unwrap();
        fs::write(pci.join("driver"), "../../../bus/pci/drivers/e1000e").unwrap();
        fs::write(pci.join("numa_node"), "1\n").unwrap();
        fs::write(pci.join("local_cpus"), "f0\n").unwrap();
        fs::write(b.join("sys/class/net/bonding_masters"), "bond0\n").unwrap();
        fs::write(b.join("sys/class/net/bond1"), "../../devices/virtual/net/bond1\n").unwrap();
        let root = Root::at(b);
        assert_eq!(list(&root).into_value().unwrap(), ["bond1", "eth0"]);
        // The directory found while listing is the one `net_dir` looks up.
        for (name, dir) in list_dirs(&root).into_value().unwrap() {
            assert_eq!(dir, net_dir(&root, &name), "{name}");
        }
        assert_eq!(net_dir(&root, "bond1"), "/sys/devices/virtual/net/bond1");
        let dev = read(&root, "eth0").device.unwrap();
        assert_eq!(dev.path, "/sys/devices/pci0000:00/0000:00:1f.6");
        assert_eq!(dev.bus_device, dev.path);
        assert_eq!(dev.driver.as_deref(), Some("e1000e"));
        assert_eq!(dev.numa_node, Avail::Value(1));
        assert_eq!(dev.local_cpus, Avail::Value(vec![4, 5, 6, 7]));
    }

    #[test]
    fn refresh_re_reads_the_counters_and_leaves_out_one_that_no_longer_reads() {
        let d = tempfile::tempdir().unwrap();
        let stats = d.path().join("sys/class/net/eth0/statistics");
        fs::create_dir_all(&stats).unwrap();
        for (n, v) in [("rx_bytes", "1"), ("rx_dropped", "2"), ("rx_packets", "3")] {
            fs::write(stats.join(n), v).unwrap();
        }
        let root = Root::at(d.path());
        let mut i = read(&root, "eth0");
        fs::write(stats.join("rx_bytes"), "10").unwrap();
        fs::remove_file(stats.join("rx_dropped")).unwrap();
        fs::write(stats.join("rx_packets"), "30").unwrap();
        refresh(&root, "/sys/class/net/eth0", &mut i);
        let got: Vec<_> =
            i.statistics.value().unwrap().iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(got, [("rx_bytes", 10), ("rx_packets", 30)]);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_flags(&s);
            let _ = parse_speed(&s);
            let _ = parse_num::<u32>(&s);
            let _ = parse_link_text(&s);
            let _ = uevent_driver(&s);
        }

        #[test]
        fn mutated_real_text_never_panics(
            base in proptest::sample::select(vec![
                "0x1303\n", "-1\n", "4294967295\n", "../../../0000:a2:00.0",
                "DRIVER=e1000e\nPCI_CLASS=20000\n",
            ]),
            cut in 0usize..40,
            ins in "\\PC{0,3}",
        ) {
            let mut s: String = base.chars().take(cut).collect();
            s.push_str(&ins);
            s.extend(base.chars().skip(cut));
            let _ = parse_flags(&s);
            let _ = parse_speed(&s);
            let _ = parse_link_text(&s);
            let _ = uevent_driver(&s);
        }

        #[test]
        fn flag_names_never_panic(f in any::<u32>(), c in any::<Option<u8>>()) {
            let n = flag_names(f, Some("up"), c, c);
            prop_assert!(n.len() <= 20);
        }
    }
}
