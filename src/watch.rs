//! `rxpath watch`: the thin loop around the live view. A sampler thread reads the host every
//! interval and sends one Report per interval; the terminal thread feeds them and the keys to
//! `render::tui::App` and draws it. Keys and signals are answered within `TICK`, even while a
//! sample is being read.
//!
//! The terminal is restored on every way out: a key or an error returns through `Restore`'s
//! drop, a panic goes through the hook `ratatui::try_init` installs (restore first, then the
//! usual message), and SIGTERM, SIGINT and SIGHUP only set a flag the loop checks, so they too
//! leave through the same return. In raw mode Ctrl-C is a key, not SIGINT.

use crate::render::tui::{self, Action, App};
use crate::report::Report;
use crate::root::Root;
use crate::sample::Sampler;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread;
use std::time::Duration;

/// The longest a key or a signal waits for an answer.
const TICK: Duration = Duration::from_millis(50);

/// The shortest interval: below it sampling a large host would take most of a CPU.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How a watch ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `q`, Esc or Ctrl-C.
    Quit,
    /// SIGTERM, SIGINT or SIGHUP, by number.
    Signal(i32),
}

/// The last terminating signal received; 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    SIGNAL.store(sig, Ordering::SeqCst);
}

fn catch_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the handler only stores
        // to an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Leaves raw mode and the alternate screen when dropped, whichever way `run` returns.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the live view of `root` (the live host) until a quit key or a signal. Errors name what
/// failed and what to do.
pub fn run(root: Root, interval: Duration) -> Result<Stop, String> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err("watch draws on a terminal and reads keys from it, but standard input or \
                    output is not one; for a stream of reports use `rxpath report --count N` \
                    (with --json for one JSON line per interval)"
            .into());
    }
    catch_signals().map_err(|e| format!("cannot catch SIGTERM/SIGINT/SIGHUP: {e}"))?;
    // A bounded channel: if drawing falls behind, the sampler waits instead of piling up reports.
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("rxpath-sampler".into())
        .spawn(move || sample_loop(root, interval, &tx))
        .map_err(|e| format!("cannot start the sampling thread: {e}"))?;
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        format!("cannot set up the terminal (raw mode, alternate screen): {e}")
    })?;
    let _restore = Restore;
    event_loop(&mut terminal, &rx, interval)
}

/// A baseline sample, then one report per interval over the interval before it. The Sampler keeps
/// the kernel files open on this thread (and in its network namespace) for the whole run.
fn sample_loop(root: Root, interval: Duration, tx: &SyncSender<Report>) {
    let mut sampler = Sampler::new(root);
    let mut earlier = Arc::new(sampler.take());
    loop {
        thread::sleep(interval);
        let later = sampler.take();
        let report = Report::over(&earlier, later, Some(sampler.root()));
        earlier = Arc::clone(&report.sample);
        if tx.send(report).is_err() {
            return;
        }
    }
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    rx: &Receiver<Report>,
    interval: Duration,
) -> Result<Stop, String> {
    let mut app = App::new(interval);
    let mut dirty = true;
    let term_err = |e: io::Error| format!("terminal: {e}");
    loop {
        let sig = SIGNAL.load(Ordering::SeqCst);
        if sig != 0 {
            return Ok(Stop::Signal(sig));
        }
        // Before drawing: a sampler that panicked has already restored the terminal.
        match rx.try_recv() {
            Ok(report) => {
                app.update(report);
                dirty = true;
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => {
                return Err("the sampling thread stopped (see the message above)".into());
            }
        }
        if dirty {
            terminal.draw(|f| tui::draw(f, &app)).map_err(term_err)?;
            dirty = false;
        }
        if event::poll(TICK).map_err(term_err)? {
            match event::read().map_err(term_err)? {
                Event::Key(key) => {
                    if app.handle_key(key) == Action::Quit {
                        return Ok(Stop::Quit);
                    }
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}
