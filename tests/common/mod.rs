//! Helpers for tests that touch the kernel: root checks that skip visibly, network namespaces that
//! are always deleted, and running code inside a namespace.
//!
//! Safety rules (KERNEL.md §11): only loopback or veth pairs between namespaces the test creates,
//! addresses from 198.18.0.0/15 inside them, everything created is deleted — in a Drop guard, and
//! namespaces left by a killed run are swept at the next start.
#![allow(dead_code)]

pub mod scenes;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};

const PREFIX: &str = "rxpath-t-";

/// True when the test may touch the kernel; prints a visible SKIP line otherwise.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP {test}: needs root (network namespaces); CI runs it as root");
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("SKIP {test}: needs the `ip` tool (Debian package iproute2) to build the scene");
        return false;
    }
    true
}

/// Runs a command, panicking with its output if it fails: a scene that cannot be built is a failed
/// test, not a silent pass.
pub fn run(args: &[&str]) -> Output {
    let out =
        Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace that exists for the life of the value.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        sweep_stale();
        let name = format!("{PREFIX}{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        // No IPv6 inside: router solicitations and DAD would add packets the counters must not see.
        // (Per-namespace sysctls: the host's own settings are untouched.)
        ns.exec_status(&[
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; \
             echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// Runs a command inside the namespace (with /sys remounted for it, as `ip netns exec` does).
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Like `exec` but returns the output whatever the exit status.
    pub fn exec_status(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Runs `f` on a thread that has entered the namespace: sockets, ioctls and netlink it opens
    /// belong to the namespace.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.enter_then(false, f)
    }

    /// As `enter`, with /sys mounted again for the namespace in a mount namespace of the thread's
    /// own (as `ip netns exec` does), so /sys/class/net lists the namespace's interfaces too.
    pub fn enter_with_sysfs<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.enter_then(true, f)
    }

    fn enter_then<T: Send + 'static>(
        &self,
        sysfs: bool,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: setns on a valid namespace fd affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            if sysfs {
                remount_sysfs();
            }
            f()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth ends inside it too.
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Gives the calling thread a mount namespace of its own, where /sys is a sysfs mounted from the
/// thread's network namespace; the host's mounts are not touched (the new namespace is a slave).
fn remount_sysfs() {
    let check = |rc: libc::c_int, what: &str| {
        assert_eq!(rc, 0, "{what}: {}", std::io::Error::last_os_error());
    };
    // SAFETY: plain syscalls on constant C strings; they affect only this thread's mount namespace.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS), "unshare(CLONE_NEWNS)");
        check(
            libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ),
            "make / a slave mount",
        );
        check(libc::umount2(c"/sys".as_ptr(), libc::MNT_DETACH), "umount /sys");
        check(
            libc::mount(
                c"sysfs".as_ptr(),
                c"/sys".as_ptr(),
                c"sysfs".as_ptr(),
                0,
                std::ptr::null(),
            ),
            "mount sysfs on /sys",
        );
    }
}

/// Deletes namespaces left by earlier runs whose process is gone (killed before Drop ran).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some(pid) = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

/// The path of the rxpath binary built for these tests.
pub fn rxpath_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rxpath")
}
