//! `Root`: where kernel files are read from — the live host (`/`), a fixture tree, or a capture.
//!
//! Every reader goes through a `Root`, so a capture directory or any real /proc and /sys dump replays
//! exactly like a live host. A `Root` can also record what it reads, which is how `rxpath capture`
//! writes the kernel files "as they were" at the instant of the sample.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The name of the file a capture keeps beside the kernel files: what cannot be a file (ioctl and
/// netlink answers), the errors reads gave, and directory listings as they were.
pub const CAPTURE_META: &str = "rxpath-capture.json";

/// What was read through a recording `Root`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Recording {
    /// File contents by absolute kernel path.
    #[serde(skip)]
    pub files: BTreeMap<String, Vec<u8>>,
    /// Reads that failed, by absolute kernel path, as errno: replayed as the same error.
    pub errors: BTreeMap<String, i32>,
    /// Directory listings by absolute kernel path, sorted names.
    pub listings: BTreeMap<String, Vec<String>>,
    /// Symlinks read, by absolute kernel path, with their targets as written.
    #[serde(skip)]
    pub links: BTreeMap<String, String>,
}

pub struct Root {
    base: PathBuf,
    live: bool,
    recorder: Option<Mutex<Recording>>,
    /// Set when `base` is a capture: errors and listings replayed from its meta file.
    replay: Option<Recording>,
}

impl Root {
    /// The running host.
    pub fn live() -> Root {
        Root { base: PathBuf::from("/"), live: true, recorder: None, replay: None }
    }

    /// A directory holding `proc/` and `sys/` (a capture or a fixture tree). Paths that are not
    /// directories are the caller's error to report; reading from them gives `Unavailable` parts.
    pub fn at(dir: impl Into<PathBuf>) -> Root {
        let base = dir.into();
        let live = base == Path::new("/");
        let replay = if live { None } else { load_replay(&base) };
        Root { base, live, recorder: None, replay }
    }

    /// The same root, recording every read for a capture.
    pub fn recording(mut self) -> Root {
        self.recorder = Some(Mutex::new(Recording::default()));
        self
    }

    /// True when this is the running kernel: only then can ioctls and netlink be asked.
    pub fn is_live(&self) -> bool {
        self.live
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Takes what was recorded so far (empty when not recording).
    pub fn take_recording(&self) -> Recording {
        match &self.recorder {
            Some(m) => std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner())),
            None => Recording::default(),
        }
    }

    /// Where a kernel path (`/proc/net/dev`) lives under this root.
    pub fn path(&self, kernel_path: &str) -> PathBuf {
        self.base.join(kernel_path.trim_start_matches('/'))
    }

    fn replayed_error(&self, kernel_path: &str) -> Option<io::Error> {
        let errno = *self.replay.as_ref()?.errors.get(kernel_path)?;
        Some(io::Error::from_raw_os_error(errno))
    }

    fn record(&self, f: impl FnOnce(&mut Recording)) {
        if let Some(m) = &self.recorder {
            f(&mut m.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Reads a whole kernel file as bytes.
    pub fn read_bytes(&self, kernel_path: &str) -> io::Result<Vec<u8>> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let r = fs::read(self.path(kernel_path));
        self.record(|rec| match &r {
            Ok(b) => {
                rec.files.insert(kernel_path.to_string(), b.clone());
            }
            Err(e) => {
                rec.errors.insert(kernel_path.to_string(), e.raw_os_error().unwrap_or(libc::EIO));
            }
        });
        r
    }

    /// Reads a file whose full text must not go into a capture (another process's environment,
    /// every process's name): the caller gets the real text, a capture keeps only what `keep`
    /// returns for it, or nothing at all for `None`. Replay then parses the kept part the same way.
    pub fn read_redacted(
        &self,
        kernel_path: &str,
        keep: impl FnOnce(&str) -> Option<String>,
    ) -> io::Result<String> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let text =
            fs::read(self.path(kernel_path)).map(|b| String::from_utf8_lossy(&b).into_owned());
        match &text {
            Ok(t) => {
                if let Some(kept) = keep(t) {
                    self.record(|rec| {
                        rec.files.insert(kernel_path.to_string(), kept.into_bytes());
                    });
                }
            }
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                self.record(|rec| {
                    rec.errors.insert(kernel_path.to_string(), errno);
                });
            }
        }
        text
    }

    /// Reads a whole kernel file as text (lossy: kernel text files are ASCII, but a corrupt dump
    /// must not stop a sample).
    pub fn read(&self, kernel_path: &str) -> io::Result<String> {
        self.read_bytes(kernel_path).map(|b| match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Reads a one-line sysfs or procfs attribute, trimmed.
    pub fn read_trimmed(&self, kernel_path: &str) -> io::Result<String> {
        self.read(kernel_path).map(|s| s.trim().to_string())
    }

    /// Lists a directory's entry names, sorted. In a capture the listing is the one recorded.
    pub fn read_dir(&self, kernel_path: &str) -> io::Result<Vec<String>> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        if let Some(names) = self.replay.as_ref().and_then(|r| r.listings.get(kernel_path)) {
            return Ok(names.clone());
        }
        let r = fs::read_dir(self.path(kernel_path)).and_then(|rd| {
            let mut names = Vec::new();
            for entry in rd {
                names.push(entry?.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            Ok(names)
        });
        self.record(|rec| match &r {
            Ok(names) => {
                rec.listings.insert(kernel_path.to_string(), names.clone());
            }
            Err(e) => {
                rec.errors.insert(kernel_path.to_string(), e.raw_os_error().unwrap_or(libc::EIO));
            }
        });
        r
    }

    /// Reads a symlink's target as the kernel wrote it (sysfs links are relative).
    pub fn read_link(&self, kernel_path: &str) -> io::Result<PathBuf> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let r = fs::read_link(self.path(kernel_path));
        if let Ok(target) = &r {
            self.record(|rec| {
                rec.links.insert(kernel_path.to_string(), target.display().to_string());
            });
        }
        r
    }

    /// Like `read_link`, for links whose targets must not all go into a capture (every file a
    /// process has open): a capture keeps the link only when `keep` says so.
    pub fn read_link_kept(
        &self,
        kernel_path: &str,
        keep: impl FnOnce(&Path) -> bool,
    ) -> io::Result<PathBuf> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let r = fs::read_link(self.path(kernel_path));
        if let Ok(target) = &r
            && keep(target)
        {
            self.record(|rec| {
                rec.links.insert(kernel_path.to_string(), target.display().to_string());
            });
        }
        r
    }

    /// True when something exists at the path (following symlinks).
    pub fn exists(&self, kernel_path: &str) -> bool {
        if self.replayed_error(kernel_path).is_some() {
            return false;
        }
        self.path(kernel_path).exists()
    }
}

fn load_replay(base: &Path) -> Option<Recording> {
    let text = fs::read_to_string(base.join(CAPTURE_META)).ok()?;
    #[derive(Deserialize)]
    struct Meta {
        recording: Recording,
    }
    serde_json::from_str::<Meta>(&text).ok().map(|m| m.recording)
}

/// Resolves `rel` (a symlink target as read) against the directory holding the link, lexically.
/// Sysfs links are relative (`../../devices/...`); resolving them by text keeps a capture, whose links
/// are copies, behaving like the live tree.
pub fn resolve_link(link_path: &str, target: &Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let parent = Path::new(link_path).parent().unwrap_or(Path::new("/"));
    let start: Vec<&str> = if target.is_absolute() {
        Vec::new()
    } else {
        parent.to_str().unwrap_or("/").split('/').filter(|s| !s.is_empty()).collect()
    };
    parts.extend(start);
    for comp in target.to_str().unwrap_or("").split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_sysfs_links() {
        let p = resolve_link(
            "/sys/class/net/eth0",
            Path::new("../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0"),
        );
        assert_eq!(p, "/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
        assert_eq!(resolve_link("/a/b", Path::new("/x/y")), "/x/y");
    }

    #[test]
    fn reads_under_base_and_records() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        fs::write(dir.path().join("proc/net/dev"), "hello\n").unwrap();
        let root = Root::at(dir.path()).recording();
        assert!(!root.is_live());
        assert_eq!(root.read_trimmed("/proc/net/dev").unwrap(), "hello");
        assert_eq!(root.read_dir("/proc/net").unwrap(), vec!["dev".to_string()]);
        assert_eq!(root.read("/proc/missing").unwrap_err().raw_os_error(), Some(libc::ENOENT));
        let rec = root.take_recording();
        assert_eq!(rec.files["/proc/net/dev"], b"hello\n");
        assert_eq!(rec.errors["/proc/missing"], libc::ENOENT);
        assert_eq!(rec.listings["/proc/net"], vec!["dev".to_string()]);
    }

    #[test]
    fn kept_links_only_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc/1/fd")).unwrap();
        std::os::unix::fs::symlink("socket:[5]", dir.path().join("proc/1/fd/3")).unwrap();
        std::os::unix::fs::symlink("/home/secret", dir.path().join("proc/1/fd/4")).unwrap();
        let root = Root::at(dir.path()).recording();
        let sock = |t: &Path| t.to_str().is_some_and(|t| t.starts_with("socket:"));
        assert_eq!(root.read_link_kept("/proc/1/fd/3", sock).unwrap(), Path::new("socket:[5]"));
        assert_eq!(root.read_link_kept("/proc/1/fd/4", sock).unwrap(), Path::new("/home/secret"));
        let rec = root.take_recording();
        assert_eq!(rec.links.keys().collect::<Vec<_>>(), ["/proc/1/fd/3"]);
    }
}
