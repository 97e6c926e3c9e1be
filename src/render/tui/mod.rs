//! The live view of `rxpath watch`: the state (`App`) that successive Reports and key presses
//! change, and `draw`, which paints it. Nothing here reads the kernel or the terminal: the event
//! loop (src/watch.rs) feeds Reports and keys in, so tests drive the same code with crafted
//! Reports and ratatui's `TestBackend`.

mod draw;
#[cfg(test)]
mod tests;

pub use draw::draw;

use crate::path::StageId;
use crate::report::Report;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::VecDeque;
use std::time::Duration;

/// Refreshes remembered for the sparklines: wider than any terminal shows, and fixed so that a
/// watch left running for days uses the memory it used after five minutes.
pub const HISTORY: usize = 512;

/// The lower pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Cpus,
    Queues,
    Sockets,
    Findings,
}

impl View {
    pub const ALL: [View; 4] = [View::Cpus, View::Queues, View::Sockets, View::Findings];

    pub fn title(self) -> &'static str {
        match self {
            View::Cpus => "CPUs",
            View::Queues => "queues",
            View::Sockets => "sockets",
            View::Findings => "findings",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    /// The columns `s` cycles through, the first the default; numbers sort largest first,
    /// names and ids smallest first. Findings keep their order (most severe first).
    pub fn sort_keys(self) -> &'static [&'static str] {
        match self {
            View::Cpus => &["dropped", "squeezed", "processed", "NET_RX", "irq", "si%", "cpu"],
            View::Queues => &["drops", "packets", "queue"],
            View::Sockets => &["drops", "rx_queue", "local"],
            View::Findings => &[],
        }
    }
}

/// What the event loop does after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Quit,
}

/// Per-stage dropped/s of the last `HISTORY` refreshes, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    rows: VecDeque<[u64; StageId::ALL.len()]>,
}

impl History {
    fn push(&mut self, report: &Report) {
        let mut row = [0u64; StageId::ALL.len()];
        for (slot, id) in row.iter_mut().zip(StageId::ALL) {
            let s = report.path.stage(id);
            // Rounded up so that a trickle (0.3/s) still shows as a bar, not as silence.
            *slot = s.dropped.per_sec.map_or(s.dropped.count, |p| p.max(0.0).ceil() as u64);
        }
        if self.rows.len() >= HISTORY {
            self.rows.pop_front();
        }
        self.rows.push_back(row);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The last `n` values of one stage, oldest first.
    pub fn stage(&self, id: StageId, n: usize) -> Vec<u64> {
        let i = StageId::ALL.iter().position(|s| *s == id).unwrap_or(0);
        let skip = self.rows.len().saturating_sub(n);
        self.rows.iter().skip(skip).map(|r| r[i]).collect()
    }
}

#[derive(Clone, Debug)]
pub struct App {
    /// The report on screen; none until the first interval has passed.
    pub report: Option<Report>,
    pub history: History,
    pub view: View,
    /// Per view, the position in its `sort_keys`.
    sort: [usize; View::ALL.len()],
    /// Reports that arrive while frozen are dropped, so the screen stays as it was.
    pub frozen: bool,
    pub help: bool,
    /// Lines the findings view is scrolled down by (findings can outgrow the pane).
    pub scroll: u16,
    /// Reports shown so far.
    pub updates: u64,
    pub interval: Duration,
}

impl App {
    pub fn new(interval: Duration) -> App {
        App {
            report: None,
            history: History::default(),
            view: View::Cpus,
            sort: [0; View::ALL.len()],
            frozen: false,
            help: false,
            scroll: 0,
            updates: 0,
            interval,
        }
    }

    /// Shows a new report, unless frozen.
    pub fn update(&mut self, report: Report) {
        if self.frozen {
            return;
        }
        self.history.push(&report);
        self.report = Some(report);
        self.updates = self.updates.saturating_add(1);
    }

    /// The column the current view is sorted by; none for findings.
    pub fn sort_key(&self) -> Option<&'static str> {
        self.sort_key_of(self.view)
    }

    pub fn sort_key_of(&self, view: View) -> Option<&'static str> {
        let keys = view.sort_keys();
        keys.get(self.sort[view.index()] % keys.len().max(1)).copied()
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        // Terminals that report releases would otherwise act twice per key.
        if key.kind == KeyEventKind::Release {
            return Action::Continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let view = self.view;
        match key.code {
            // Raw mode turns Ctrl-C into a key instead of SIGINT.
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Tab => self.view = View::ALL[(self.view.index() + 1) % View::ALL.len()],
            KeyCode::BackTab => {
                self.view = View::ALL[(self.view.index() + View::ALL.len() - 1) % View::ALL.len()]
            }
            KeyCode::Char(c @ '1'..='4') => {
                let i = (c as usize).saturating_sub('1' as usize);
                self.view = View::ALL.get(i).copied().unwrap_or(self.view);
            }
            KeyCode::Char('s') => {
                let n = self.view.sort_keys().len();
                if n > 0 {
                    let i = self.view.index();
                    self.sort[i] = (self.sort[i] + 1) % n;
                }
            }
            KeyCode::Char('f') | KeyCode::Char(' ') => self.frozen = !self.frozen,
            KeyCode::Char('?') | KeyCode::Char('h') => self.help = !self.help,
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = 0,
            _ => {}
        }
        if self.view != view {
            self.scroll = 0;
        }
        Action::Continue
    }
}
