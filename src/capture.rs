//! Capture and replay.
//!
//! `rxpath capture DIR` writes the kernel files exactly as the sample read them, under the same paths
//! (sysfs symlinks reproduced, so device and driver links resolve as on the host), plus one JSON file
//! with what cannot be a file: ioctl and netlink answers, read errors (replayed as the same errno) and
//! directory listings. `Root::at(DIR)` then replays the host: the same Sample, the same report.

use crate::avail::Avail;
use crate::root::{CAPTURE_META, Recording, Root};
use crate::sample::{self, Sample};
use crate::source::{ethtool, netlink};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a sample got from ioctls and netlink, and the facts of the moment (time, privileges).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelRecord {
    pub taken_at_ms: Option<u64>,
    /// CLOCK_BOOTTIME at the sample (see `Host::boottime_ns`); absent in captures made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boottime_ns: Option<u64>,
    pub privileged: bool,
    pub links: Avail<Vec<netlink::rtnl::Link>>,
    pub netdev_genl: Avail<netlink::netdev::NetdevGenl>,
    pub ethtool: BTreeMap<String, ethtool::EthtoolInfo>,
    /// The sock_diag UDP dump; `None` when not asked (a fixture tree) and in captures made before
    /// it was recorded, whose sockets then come from their /proc/net/udp{,6}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_sock_diag: Option<Avail<Vec<netlink::sockdiag::InetDiagMsg>>>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    rxpath_capture: u32,
    rxpath_version: String,
    recording: Recording,
    kernel: KernelRecord,
}

/// The live sample, as JSON, kept in every capture beside the kernel files.
pub const SAMPLE_FILE: &str = "rxpath-sample.json";

const NOT_RECORDED: &str =
    "not recorded: this tree is not an rxpath capture, and ioctls and netlink need the live host";

impl KernelRecord {
    /// Live: asks the kernel. Capture: loads its record. Plain fixture tree: all Unavailable.
    pub fn obtain(root: &Root, interfaces: &[String]) -> KernelRecord {
        if root.is_live() {
            return KernelRecord {
                ethtool: interfaces.iter().map(|n| (n.clone(), ethtool::read(n))).collect(),
                udp_sock_diag: Some(netlink::sockdiag::read_udp()),
                ..KernelRecord::live_counters()
            };
        }
        KernelRecord::load(root.base()).unwrap_or_else(|| KernelRecord {
            taken_at_ms: None,
            boottime_ns: None,
            privileged: false,
            links: Avail::missing("rtnetlink RTM_GETLINK", NOT_RECORDED),
            netdev_genl: Avail::missing("netdev generic netlink", NOT_RECORDED),
            ethtool: BTreeMap::new(),
            udp_sock_diag: None,
        })
    }

    /// The moment, the privileges and the netlink parts that count (link stats64, netdev genl
    /// with its qstats), asked of the live kernel on sockets opened for it; no ethtool and no
    /// sock_diag, which the caller adds as it needs them.
    pub fn live_counters() -> KernelRecord {
        KernelRecord::live(netlink::rtnl::read_links(), netlink::netdev::read())
    }

    /// The moment and the privileges, with the netlink parts the caller read (a `Sampler`, on
    /// the sockets it keeps).
    pub fn live(
        links: Avail<Vec<netlink::rtnl::Link>>,
        netdev_genl: Avail<netlink::netdev::NetdevGenl>,
    ) -> KernelRecord {
        KernelRecord {
            taken_at_ms: Some(sample::now_ms()),
            boottime_ns: sample::boottime_ns(),
            privileged: sample::is_root(),
            links,
            netdev_genl,
            ethtool: BTreeMap::new(),
            udp_sock_diag: None,
        }
    }

    pub fn load(base: &Path) -> Option<KernelRecord> {
        let text = fs::read_to_string(base.join(CAPTURE_META)).ok()?;
        serde_json::from_str::<Meta>(&text).ok().map(|m| m.kernel)
    }

    pub fn ethtool_of(&self, ifname: &str) -> ethtool::EthtoolInfo {
        match self.ethtool.get(ifname) {
            Some(e) => e.clone(),
            None => ethtool::EthtoolInfo::all_missing(crate::Unavailable::new(
                format!("{ifname}: ethtool"),
                NOT_RECORDED,
            )),
        }
    }
}

/// Takes a live sample and writes it to `dir` as a replayable capture. `dir` must not exist or be
/// empty; the capture is written beside it and renamed into place, so a failure leaves nothing.
pub fn capture(dir: &Path) -> Result<Sample, String> {
    check_target(dir)?;
    let root = Root::live().recording();
    let (sample, record) = Sample::take_recorded(&root);
    let recording = root.take_recording();
    let partial = partial_path(dir);
    let _ = fs::remove_dir_all(&partial);
    let result = write_tree(&partial, &recording, &record, &sample).and_then(|()| {
        if dir.exists() {
            fs::remove_dir(dir)?; // checked empty above
        }
        fs::rename(&partial, dir)
    });
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&partial);
        return Err(format!("cannot write the capture to {}: {e}", dir.display()));
    }
    Ok(sample)
}

fn check_target(dir: &Path) -> Result<(), String> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} is not empty: give a new or empty directory, so nothing is overwritten",
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent =
                dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if parent.is_dir() {
                Ok(())
            } else {
                Err(format!("{}: its parent directory does not exist", dir.display()))
            }
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

fn partial_path(dir: &Path) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn write_tree(
    out: &Path,
    recording: &Recording,
    record: &KernelRecord,
    sample: &Sample,
) -> io::Result<()> {
    fs::create_dir_all(out)?;
    let mut links: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (path, bytes) in &recording.files {
        let at = if path.starts_with("/sys/") {
            discover_links(Path::new(path), &mut links);
            fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path))
        } else {
            // /proc/net is the magic link self/net: keep /proc paths literal.
            PathBuf::from(path)
        };
        let dest = under(out, &at);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&dest, bytes)?;
    }
    for (path, _) in recording.listings.iter().filter(|(p, _)| p.starts_with("/sys/")) {
        discover_links(Path::new(path), &mut links);
    }
    for link in recording.links.keys() {
        discover_links(Path::new(link), &mut links);
    }
    for (at, target) in &links {
        let dest = under(out, at);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        if fs::symlink_metadata(&dest).is_err() {
            std::os::unix::fs::symlink(target, &dest)?;
        }
    }
    let meta = Meta {
        rxpath_capture: 1,
        rxpath_version: env!("CARGO_PKG_VERSION").into(),
        recording: recording.clone(),
        kernel: record.clone(),
    };
    fs::write(out.join(CAPTURE_META), pretty(&meta)?)?;
    // The sample as the live host gave it: a reader of the capture can compare, and so do the tests.
    fs::write(out.join(SAMPLE_FILE), pretty(sample)?)?;
    Ok(())
}

/// Records every symlink along `path` (live), placed where it sits in the canonical tree, with its
/// target as the kernel wrote it (relative), so the capture resolves like the host.
fn discover_links(path: &Path, links: &mut BTreeMap<PathBuf, PathBuf>) {
    let mut prefix = PathBuf::from("/");
    for comp in path.components().skip(1) {
        prefix.push(comp);
        let Ok(md) = fs::symlink_metadata(&prefix) else { return };
        if md.file_type().is_symlink() {
            let (Some(parent), Some(name)) = (prefix.parent(), prefix.file_name()) else { return };
            let Ok(target) = fs::read_link(&prefix) else { return };
            let at = fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf()).join(name);
            links.entry(at).or_insert(target);
        }
    }
}

fn under(out: &Path, kernel_path: &Path) -> PathBuf {
    out.join(kernel_path.strip_prefix("/").unwrap_or(kernel_path))
}

fn pretty<T: Serialize>(v: &T) -> io::Result<String> {
    serde_json::to_string_pretty(v).map_err(io::Error::other)
}
