//! `rxpath watch` end to end in a real terminal: tmux runs it in a detached pane of fixed size on
//! a private server, the test reads the screen, sends keys or a signal, and checks the exit code
//! and that the terminal came back (main screen, cooked mode, cursor shown).
//! Skips visibly when tmux is missing (CI installs it in .ci/run).

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of its own, on a socket in a temporary directory: killed, and its socket
/// removed, when the test ends however it ends.
struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(tag: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIP watch_tmux {tag}: needs tmux (Debian package tmux); CI installs it");
            return None;
        }
        let t = Tmux { dir: tempfile::tempdir().expect("a temporary directory") };
        // `-f /dev/null` keeps the user's tmux.conf out.
        t.ok(&["-f", "/dev/null", "new-session", "-d", "-s", "w", "-x", "100", "-y", "30"]);
        Some(t)
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("socket"))
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap_or_else(|e| panic!("tmux {args:?}: {e}"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn format(&self, f: &str) -> String {
        self.ok(&["display-message", "-p", "-t", "w", f]).trim().to_string()
    }

    fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "w"])
    }

    /// Polls until `done` holds, for at most `secs`; panics with the screen otherwise.
    fn wait(&self, secs: u64, what: &str, done: impl Fn(&Tmux) -> bool) {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("waited {secs} s for {what}; the pane shows:\n{}", self.screen());
    }

    /// Starts `rxpath watch` under a shell that prints its exit status and then keeps the pane
    /// alive (a dead pane's modes are not the program's: tmux writes its own "Pane is dead"),
    /// and waits until a report is drawn.
    fn watch(&self) {
        let cmd = format!(
            "{} watch --interval 0.2; echo rxpath-exit=$?; exec sleep 600",
            common::rxpath_bin()
        );
        self.ok(&["respawn-pane", "-k", "-t", "w", &cmd]);
        self.wait(15, "the first report", |t| {
            let s = t.screen();
            s.contains("Where packets die")
                && s.contains("socket receive buffers")
                && s.contains("refresh")
        });
        assert_eq!(self.format("#{alternate_on}"), "1", "watch draws on the alternate screen");
    }

    /// Waits for rxpath to exit; returns its exit status.
    fn exit_status(&self) -> i32 {
        self.wait(5, "rxpath to exit", |t| t.screen().contains("rxpath-exit="));
        let screen = self.screen();
        let after = screen.split("rxpath-exit=").nth(1).unwrap_or("");
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().unwrap_or_else(|| panic!("no exit status on screen:\n{screen}"))
    }

    /// The pid of rxpath: the child of the pane's shell.
    fn rxpath_pid(&self) -> i32 {
        let shell: i32 = self.format("#{pane_pid}").parse().expect("pane pid");
        let entries = std::fs::read_dir("/proc").expect("/proc");
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .find(|pid| {
                // /proc/<pid>/stat: `pid (comm) state ppid ...`; comm may hold spaces.
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
                ppid == Some(shell) && stat.contains("(rxpath)")
            })
            .expect("rxpath runs under the pane's shell")
    }

    /// The terminal as rxpath found it: main screen, cursor shown, line discipline cooked.
    fn assert_restored(&self) {
        assert_eq!(self.format("#{alternate_on}"), "0", "left the alternate screen");
        assert_eq!(self.format("#{cursor_flag}"), "1", "cursor shown again");
        let tty = self.format("#{pane_tty}");
        let out = Command::new("stty").args(["-F", &tty, "-a"]).output().expect("stty runs");
        let modes = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "stty -F {tty}: {}", String::from_utf8_lossy(&out.stderr));
        let set: Vec<&str> = modes.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
            assert!(set.contains(&mode), "raw mode left on {tty} ({mode} off): {modes}");
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn watch_draws_switches_views_and_quits_clean() {
    let Some(t) = Tmux::start("quit") else { return };
    t.watch();
    for id in ["1 NIC / driver ring", "5 IP", "8 socket receive buffers"] {
        assert!(t.screen().contains(id), "{id} not on screen:\n{}", t.screen());
    }
    t.ok(&["send-keys", "-t", "w", "4"]);
    t.wait(5, "the findings view", |t| t.screen().contains("┌ findings "));
    t.ok(&["send-keys", "-t", "w", "q"]);
    assert_eq!(t.exit_status(), 0, "q is a normal end");
    t.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(t) = Tmux::start("term") else { return };
    t.watch();
    let pid = t.rxpath_pid();
    // SAFETY: kill(2) on the rxpath this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(t.exit_status(), 128 + libc::SIGTERM, "128 + the signal, as shells report it");
    t.assert_restored();
}
