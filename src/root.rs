//! `Root`: where kernel files are read from — the live host (`/`), a fixture tree, or a capture.
//!
//! Every reader goes through a `Root`, so a capture directory or any real /proc and /sys dump replays
//! exactly like a live host. A `Root` can also record what it reads, which is how `rxpath capture`
//! writes the kernel files "as they were" at the instant of the sample.

use crate::fxhash::FxBuild;
use crate::source::owners;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
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
    /// Set by `keep_open`: files stay open between samples and are re-read from offset 0.
    open: Option<Mutex<OpenFiles>>,
}

/// Kernel files kept open across samples, and one read buffer reused for all of them.
///
/// procfs and sysfs files are generated at read time: a read from offset 0 of a file that is already
/// open gives the current value, as a fresh open would (seq_file restarts at offset 0), for the cost
/// of one `pread` instead of open + fstat + read + read + close. A file whose object went away (an
/// interface or IRQ removed) fails the read; it is then closed and opened again by path, so the
/// answer is always what a fresh open would give.
struct OpenFiles {
    /// By kernel path, in the order they were first read. A sampler reads the same files in the
    /// same order every sample, so the file after the last one read (`next`) is tried first:
    /// thousands of lookups a sample on a big host then walk the entries in memory order instead
    /// of hashing each path into the table, whose cold buckets were a twentieth of a busy sample.
    files: IndexMap<String, OpenFile, FxBuild>,
    next: usize,
    /// Bumped by `close_unused`; a file read since the last bump carries the current value.
    generation: u64,
    /// At most this many files are held open (half the descriptor limit when caching started);
    /// beyond it files are read the one-shot way.
    limit: usize,
    buf: Vec<u8>,
    /// A copy of /proc and /sys is made of regular files, which stay readable after they are
    /// deleted or replaced: there a kept file is only used while it still has a name, checked
    /// once every `period` reads of it (an fstat per read was a third of a big host's sample, and
    /// settings, read once a period, were most of those), and the tree's own directory is checked
    /// every round (`base_id`), so a tree replaced whole is read anew at once.
    regular_files: bool,
    /// The tree's directory, its (device, inode) when files were last kept, and the round it was
    /// last checked in (regular files).
    base: PathBuf,
    base_id: Option<(u64, u64)>,
    base_checked: Option<u64>,
    /// One less than the rounds `close_unused` keeps a file open for (a settings period).
    period: u64,
    /// Symlink targets last read: when `/sys/class/net/eth0` points at another device than
    /// before (renames), the files kept open under it belong to the old one and are closed.
    /// With the generation they were last read in, like `OpenFile::used`.
    links: HashMap<String, (PathBuf, u64), FxBuild>,
    /// Directories listed every sample (/sys/class/net), kept open and listed again from their
    /// start: an open of a sysfs directory walks its path, a twentieth of a cold sample.
    /// With the generation they were last listed in.
    dirs: HashMap<String, (fs::File, u64), FxBuild>,
    /// What scans of /proc/*/fd found, so the owners of the same sockets are not looked for
    /// through every open file of the host each sample (`owners::find`).
    owners: owners::Found,
}

struct OpenFile {
    file: fs::File,
    used: u64,
    /// Reads since it was opened or its link count last checked (regular files).
    unchecked_reads: u64,
}

impl OpenFiles {
    /// The symlinks of the directory `key`, listed through its kept descriptor from the start
    /// (opened by `path` when not kept, or when the kept one fails: a removed directory).
    fn list_symlinks(&mut self, key: &str, path: impl Fn() -> PathBuf) -> io::Result<Vec<String>> {
        let generation = self.generation;
        if let Some((dir, used)) = self.dirs.get_mut(key) {
            if let Ok(names) = symlinks_in(dir) {
                *used = generation;
                return Ok(names);
            }
            self.dirs.remove(key);
        }
        let dir = fs::File::open(path())?;
        let names = symlinks_in(&dir)?;
        self.dirs.insert(key.to_string(), (dir, generation));
        Ok(names)
    }

    fn forget_under(&mut self, kernel_dir: &str) {
        let under = format!("{}/", kernel_dir.trim_end_matches('/'));
        self.files.retain(|k, _| !k.starts_with(&under));
    }

    /// Where `key` is kept: the entry after the last one read, usually, else by its hash.
    fn find(&self, key: &str) -> Option<usize> {
        match self.files.get_index(self.next) {
            Some((k, _)) if k == key => Some(self.next),
            _ => self.files.get_index_of(key),
        }
    }

    /// Reads `path` into `buf` through the open file for `key`, opening it when needed.
    /// `path` is only asked for when the file is opened: a kept file is read by its key alone.
    fn load(&mut self, key: &str, path: impl Fn() -> PathBuf, buf: &mut Vec<u8>) -> io::Result<()> {
        let whole = self.regular_files || one_record(key);
        let generation = self.generation;
        if self.regular_files && self.base_checked != Some(generation) {
            self.base_checked = Some(generation);
            let id = fs::metadata(&self.base).ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            });
            if id != self.base_id {
                // Another directory now has the tree's name: nothing kept is of it.
                self.files.clear();
                self.links.clear();
                self.base_id = id;
            }
        }
        if let Some(i) = self.find(key) {
            self.next = i + 1;
            let (_, of) = self.files.get_index_mut(i).expect("found just now");
            of.unchecked_reads += 1;
            let check = self.regular_files && of.unchecked_reads >= self.period;
            if check {
                of.unchecked_reads = 0;
            }
            if (!check || still_linked(&of.file)) && pread_all(&of.file, buf, whole).is_ok() {
                of.used = generation;
                return Ok(());
            }
            // ENODEV (sysfs object removed), EIO (proc entry removed), ESRCH (process gone), or an
            // attribute that now refuses reads: whatever a fresh open says is the answer. The
            // order of the others is kept (a rare removal, the cost of a shift).
            self.files.shift_remove_index(i);
            self.next = i;
        }
        let path = path();
        let file = if self.regular_files { open_noatime(&path)? } else { fs::File::open(&path)? };
        pread_all(&file, buf, whole)?;
        if self.files.len() < self.limit {
            let g = self.generation;
            self.files.insert(key.to_string(), OpenFile { file, used: g, unchecked_reads: 0 });
            self.next = self.files.len();
        }
        Ok(())
    }
}

/// Opens a file of a copied tree without updating its access time when it is read: a tree
/// rewritten between samples (a synthetic host, a capture being refreshed) would otherwise have
/// every read write its inode back, a tenth of a sample there. Only the owner (or root) may ask
/// for that, so anyone else opens it the ordinary way.
fn open_noatime(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::OpenOptions::new().read(true).custom_flags(libc::O_NOATIME).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => fs::File::open(path),
        r => r,
    }
}

/// The names of the symlinks in an open directory, read from its start with getdents64 (each
/// entry carries its type, so nothing is stat'ed).
fn symlinks_in(dir: &fs::File) -> io::Result<Vec<String>> {
    // SAFETY: lseek on a descriptor the File owns.
    if unsafe { libc::lseek(dir.as_raw_fd(), 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes of dirent records into `buf`.
        let n = unsafe {
            libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), buf.len())
        };
        let n = match n {
            0 => return Ok(names),
            n if n > 0 => n as usize,
            _ => return Err(io::Error::last_os_error()),
        };
        // struct linux_dirent64: u64 d_ino, i64 d_off, u16 d_reclen, u8 d_type, then the
        // NUL-terminated name.
        let mut at = 0;
        while at + 19 < n {
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            if reclen < 20 || at + reclen > n {
                return Err(io::Error::other("getdents64 returned a malformed record"));
            }
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if buf[at + 18] == libc::DT_LNK {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
            at += reclen;
        }
    }
}

fn still_linked(file: &fs::File) -> bool {
    file.metadata().is_ok_and(|m| std::os::unix::fs::MetadataExt::nlink(&m) > 0)
}

/// Kernel files whose first read gives all of them when the buffer is big enough: a sysfs attribute
/// is one `show()` of at most a page, a sysctl one handler call, /proc/irq/N/ files and the
/// counter files in `SINGLE_OPEN` are `single_open` seq files (one `show()`, its buffer grown until
/// the whole text fits). Multi-record seq files (/proc/net/udp, /proc/interrupts, /proc/net/dev,
/// softnet_stat) fill one seq buffer per read and stop short of the end, so a short read says
/// nothing there.
fn one_record(kernel_path: &str) -> bool {
    ["/sys/", "/proc/sys/", "/proc/irq/"].iter().any(|p| kernel_path.starts_with(p))
        || SINGLE_OPEN.contains(&kernel_path)
}

/// Read every sample: `proc_create_net_single` (snmp, snmp6, netstat), `proc_create_single`
/// (softirqs) and `single_open_size` (stat).
const SINGLE_OPEN: [&str; 5] =
    ["/proc/net/snmp", "/proc/net/snmp6", "/proc/net/netstat", "/proc/stat", "/proc/softirqs"];

/// Reads a whole file from offset 0 into `buf` (cleared first), growing it as needed. With `whole`
/// a short read is the end (regular files, `one_record` kernel files), which saves the second
/// `pread` that would only confirm it.
fn pread_all(file: &fs::File, buf: &mut Vec<u8>, whole: bool) -> io::Result<()> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(buf.capacity().max(8192));
        }
        let spare = buf.capacity() - buf.len();
        let offset =
            libc::off_t::try_from(buf.len()).map_err(|_| io::Error::other("file too big"))?;
        // SAFETY: the pointer and length name the vector's spare capacity, which pread only writes
        // to; the length is then raised by exactly the number of bytes written.
        let n = unsafe {
            libc::pread(file.as_raw_fd(), buf.as_mut_ptr().add(buf.len()).cast(), spare, offset)
        };
        match n {
            0 => return Ok(()),
            n if n > 0 => {
                // SAFETY: pread wrote n bytes (n <= spare) after the initialised part.
                unsafe { buf.set_len(buf.len() + n as usize) };
                if whole && (n as usize) < spare {
                    return Ok(());
                }
            }
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// Text of a kernel file: kernel text is ASCII, but a corrupt dump must not stop a sample.
fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    // `from_utf8` validates ASCII several times faster than the lossy decoder walks it, which
    // counts on an 11 MB /proc/interrupts.
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

impl Root {
    /// The running host.
    pub fn live() -> Root {
        Root { base: PathBuf::from("/"), live: true, recorder: None, replay: None, open: None }
    }

    /// A directory holding `proc/` and `sys/` (a capture or a fixture tree). Paths that are not
    /// directories are the caller's error to report; reading from them gives `Unavailable` parts.
    pub fn at(dir: impl Into<PathBuf>) -> Root {
        let base = dir.into();
        let live = base == Path::new("/");
        let replay = if live { None } else { load_replay(&base) };
        Root { base, live, recorder: None, replay, open: None }
    }

    /// The same root, recording every read for a capture.
    pub fn recording(mut self) -> Root {
        self.recorder = Some(Mutex::new(Recording::default()));
        self
    }

    /// The same root, keeping every file it reads open so the next read of it is one `pread` from
    /// offset 0 into a reused buffer (see `Sampler`). Files not read during a sample are closed by
    /// `close_unused`. Open files see the network namespace they were opened in: keep such a root
    /// on one thread, in one namespace. At most half the descriptor limit (RLIMIT_NOFILE) is used.
    pub fn keep_open(mut self) -> Root {
        let limit = nofile_limit().map_or(256, |n| (n / 2).max(16));
        self.open = Some(Mutex::new(OpenFiles {
            files: IndexMap::default(),
            next: 0,
            generation: 0,
            limit,
            buf: Vec::new(),
            regular_files: !self.live,
            base: self.base.clone(),
            base_id: None,
            base_checked: None,
            period: 1,
            links: HashMap::default(),
            dirs: HashMap::default(),
            owners: owners::Found::default(),
        }));
        self
    }

    /// Ends a round of reads (one sample). Once every `rounds` rounds it closes the files kept
    /// open that were not read in the last `rounds` rounds: what a host no longer has (a removed
    /// interface, an exited process) is not held open forever, while a file read once every few
    /// rounds (a setting) stays open. A file no longer read is so closed within `2 × rounds`
    /// rounds; sweeping every round walked thousands of kept files a sample on a big host.
    pub fn close_unused(&self, rounds: u64) {
        if let Some(m) = &self.open {
            let mut o = m.lock().unwrap_or_else(|e| e.into_inner());
            let rounds = rounds.max(1);
            o.period = rounds.saturating_sub(1).max(1);
            if (o.generation + 1) % rounds == 0 {
                let oldest = o.generation.saturating_sub(rounds - 1);
                o.files.retain(|_, f| f.used >= oldest);
                o.links.retain(|_, (_, used)| *used >= oldest);
                o.dirs.retain(|_, (_, used)| *used >= oldest);
            }
            o.generation += 1;
        }
    }

    /// `f` of what this root's scans for socket owners found, for a root that keeps files open
    /// and records nothing (a capture must hold every read of a scan); else None.
    pub fn owners_found<R>(&self, f: impl FnOnce(&mut owners::Found) -> R) -> Option<R> {
        let m = self.open.as_ref().filter(|_| self.recorder.is_none())?;
        Some(f(&mut m.lock().unwrap_or_else(|e| e.into_inner()).owners))
    }

    /// How many files `keep_open` holds open now.
    pub fn open_files(&self) -> usize {
        self.open.as_ref().map_or(0, |m| m.lock().unwrap_or_else(|e| e.into_inner()).files.len())
    }

    /// True while reads are recorded for a capture.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
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
        self.read_raw(kernel_path, <[u8]>::to_vec)
    }

    /// Reads a kernel file and hands its text to `f` without copying it: with `keep_open` the text
    /// is the reused buffer. The one way parsers get file text (`source::read_parsed`, `read_attr`).
    pub fn read_with<R>(&self, kernel_path: &str, f: impl FnOnce(&str) -> R) -> io::Result<R> {
        self.read_raw(kernel_path, |b| f(&lossy(b)))
    }

    fn read_raw<R>(&self, kernel_path: &str, f: impl FnOnce(&[u8]) -> R) -> io::Result<R> {
        let Some(m) = &self.open else {
            let mut buf = Vec::new();
            return self.read_into(kernel_path, &mut buf).map(|()| f(&buf));
        };
        // The buffer is taken out while `f` runs, so `f` may read through this root too.
        let mut buf = std::mem::take(&mut m.lock().unwrap_or_else(|e| e.into_inner()).buf);
        let out = self.read_into(kernel_path, &mut buf).map(|()| f(&buf));
        let mut o = m.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the bigger buffer: the largest file read sets its size once.
        if buf.capacity() > o.buf.capacity() {
            o.buf = buf;
        }
        out
    }

    /// Reads a whole kernel file into the caller's `buf` (its old content replaced): for a reader
    /// that keeps the text it last read beside the new one (`udp::ParsedText`) and swaps the two
    /// instead of copying megabytes.
    pub fn read_into(&self, kernel_path: &str, buf: &mut Vec<u8>) -> io::Result<()> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let r = match &self.open {
            None => fs::read(self.path(kernel_path)).map(|b| *buf = b),
            Some(m) => m.lock().unwrap_or_else(|e| e.into_inner()).load(
                kernel_path,
                || self.path(kernel_path),
                buf,
            ),
        };
        self.record_result(kernel_path, r.as_ref().map(|()| buf.as_slice()));
        r
    }

    fn record_result(&self, kernel_path: &str, r: Result<&[u8], &io::Error>) {
        self.record(|rec| match r {
            Ok(b) => {
                rec.files.insert(kernel_path.to_string(), b.to_vec());
            }
            Err(e) => {
                rec.errors.insert(kernel_path.to_string(), e.raw_os_error().unwrap_or(libc::EIO));
            }
        });
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
        let text = match &self.open {
            None => fs::read(self.path(kernel_path)).map(|b| lossy(&b).into_owned()),
            Some(m) => {
                let mut o = m.lock().unwrap_or_else(|e| e.into_inner());
                let mut buf = std::mem::take(&mut o.buf);
                let r = o.load(kernel_path, || self.path(kernel_path), &mut buf);
                let text = r.map(|()| lossy(&buf).into_owned());
                o.buf = buf;
                text
            }
        };
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
        self.read_with(kernel_path, str::to_string)
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

    /// Closes the files kept open under `kernel_dir`, so the next read of each opens it by path
    /// again: another device now has the name the directory is reached by (a `Sampler` that sees
    /// another ifindex behind an interface's name; kept files follow the device they were opened
    /// on, through renames).
    pub fn forget_under(&self, kernel_dir: &str) {
        if let Some(m) = &self.open {
            m.lock().unwrap_or_else(|e| e.into_inner()).forget_under(kernel_dir);
        }
    }

    /// The names of the symlinks in a directory of the running kernel, sorted, from the listing
    /// alone (each entry's type), without a readlink each; `None` unless the root is the running
    /// kernel and not recording (a capture records the links themselves, which `read_dir` and
    /// `read_link` do).
    pub fn read_dir_symlinks(&self, kernel_path: &str) -> Option<io::Result<Vec<String>>> {
        if !self.live || self.recorder.is_some() {
            return None;
        }
        let listed = match &self.open {
            Some(m) => m
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .list_symlinks(kernel_path, || self.path(kernel_path)),
            None => fs::File::open(self.path(kernel_path)).and_then(|dir| symlinks_in(&dir)),
        };
        Some(listed.map(|mut names| {
            names.sort();
            names
        }))
    }

    /// Reads a symlink's target as the kernel wrote it (sysfs links are relative).
    pub fn read_link(&self, kernel_path: &str) -> io::Result<PathBuf> {
        if let Some(e) = self.replayed_error(kernel_path) {
            return Err(e);
        }
        let r = fs::read_link(self.path(kernel_path));
        if let (Some(m), Ok(target)) = (&self.open, &r) {
            let mut o = m.lock().unwrap_or_else(|e| e.into_inner());
            if o.links.get(kernel_path).is_some_and(|(t, _)| t != target) {
                o.forget_under(kernel_path);
            }
            let generation = o.generation;
            o.links.insert(kernel_path.to_string(), (target.clone(), generation));
        }
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

/// The soft RLIMIT_NOFILE.
fn nofile_limit() -> Option<usize> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into `r`, which is valid and writable.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return None;
    }
    usize::try_from(r.rlim_cur).ok()
}

/// Raises the soft descriptor limit towards the hard one (at most `want`), so a root that keeps
/// files open can hold every file of a big host. Returns the soft limit in force afterwards.
pub fn raise_nofile_limit(want: u64) -> Option<u64> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: as in nofile_limit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return None;
    }
    let target = want.min(r.rlim_max);
    if target > r.rlim_cur {
        let new = libc::rlimit { rlim_cur: target, rlim_max: r.rlim_max };
        // SAFETY: setrlimit reads one valid rlimit; raising the soft limit up to the hard one
        // needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            return Some(target);
        }
    }
    Some(r.rlim_cur)
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

    #[test]
    fn single_open_counter_files_are_whole_from_one_read() {
        // Their values move between two reads; their lines and names do not.
        let names = |t: &str| -> Vec<String> {
            t.lines().map(|l| l.split_whitespace().next().unwrap_or("").to_string()).collect()
        };
        let root = Root::live().keep_open();
        for path in SINGLE_OPEN {
            let Ok(want) = fs::read_to_string(path) else {
                eprintln!("SKIP {path}: not on this kernel");
                continue;
            };
            for _ in 0..2 {
                let got = root.read(path).unwrap();
                assert!(got.ends_with('\n'), "{path}: cut short");
                assert_eq!(names(&got), names(&want), "{path}");
            }
        }
    }

    #[test]
    fn unused_files_close_within_two_sweeps_and_a_setting_read_each_period_stays() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["counter", "setting", "gone"] {
            fs::write(dir.path().join(f), "1\n").unwrap();
        }
        let root = Root::at(dir.path()).keep_open();
        let rounds = 3;
        let mut closed_at = None;
        for round in 0..12 {
            root.read("/counter").unwrap();
            // A setting, read once every `rounds - 1` rounds (a settings period).
            if round % (rounds - 1) == 0 {
                root.read("/setting").unwrap();
            }
            if round == 0 {
                root.read("/gone").unwrap();
            }
            root.close_unused(rounds);
            let open = root.open_files();
            assert!(open >= 2, "round {round}: a file read within the period was closed");
            if open == 2 && closed_at.is_none() {
                closed_at = Some(round);
            }
            if closed_at.is_some() {
                assert_eq!(open, 2, "round {round}: a closed file came back");
            }
        }
        // Read last in round 0: kept through round `rounds - 1`, closed by round `2 × rounds - 1`.
        let at = closed_at.expect("the unused file was closed");
        assert!((rounds..2 * rounds).contains(&at), "closed after round {at}");
    }

    #[test]
    fn kept_files_read_in_any_order_each_give_their_own_text() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["a", "b", "c", "d"];
        let write = |n: &str, v: u32| fs::write(dir.path().join(n), format!("{n}{v}")).unwrap();
        names.iter().for_each(|n| write(n, 0));
        let root = Root::at(dir.path()).keep_open();
        let check = |order: &[&str], v: u32| {
            for n in order {
                assert_eq!(root.read_trimmed(&format!("/{n}")).unwrap(), format!("{n}{v}"));
            }
        };
        // First read order, the same again, then skips, repeats and reversals: the kept file
        // tried first (the one after the last read) is often not the one asked for.
        check(&names, 0);
        check(&names, 0);
        check(&["a", "c", "d", "b", "b", "a"], 0);
        check(&["d", "c", "b", "a"], 0);
        // A file replaced under its name is closed and opened again (it moves to the end of the
        // kept order); every file still reads as itself, and each new text is seen.
        fs::remove_file(dir.path().join("b")).unwrap();
        names.iter().for_each(|n| write(n, 1));
        check(&names, 1);
        check(&["c", "a", "d", "b", "c"], 1);
        root.close_unused(1);
        root.close_unused(1);
        assert_eq!(root.open_files(), 0, "nothing read in the last round stays open");
        check(&["b", "d"], 1);
        assert_eq!(root.open_files(), 2);
    }

    #[test]
    fn a_kept_open_tree_is_read_without_touching_access_times() {
        use std::os::unix::fs::MetadataExt;
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        fs::write(&path, "cpu 1\n").unwrap();
        // An access time older than the modification: relatime would update it on a read.
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_times(fs::FileTimes::new().set_accessed(old).set_modified(SystemTime::now()))
            .unwrap();
        drop(f);
        let root = Root::at(dir.path()).keep_open();
        for _ in 0..2 {
            assert_eq!(root.read_trimmed("/stat").unwrap(), "cpu 1");
        }
        assert_eq!(fs::metadata(&path).unwrap().atime(), 1_000_000);
    }
}
